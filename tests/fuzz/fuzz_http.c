/* fuzz_http.c - libFuzzer target for the server's HTTP request path
 * without sockets: the bytes a client sends go through srv_proto_parse
 * whole and as they would arrive in two reads, then through what the
 * request threads do with a parsed request (arguments, Host check, token
 * comparison, log escaping, UTF-8 repair). Seeds: tests/fuzz/corpus/fuzz_http. */
#include "server.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void use(const srv_req *r)
{
    static const char *const allow[] = {"omnidex.lan", ".corp.example"};
    static const char *const keys[] = {"q", "k", "format", "max_chars", "lang"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        const char *v = srv_req_arg(r, keys[i]);
        long n;
        if (v) {
            srv_parse_long(v, 1, 1000, &n);
            char *f = srv_utf8_fix(v, strlen(v));
            free(f);
        }
    }
    srv_host_allowed(r->host, "127.0.0.1", allow, 2);
    if (r->authorization)
        srv_token_equal(r->authorization, strlen(r->authorization), "Bearer s3cret");
    char out[256];
    srv_escape(r->target, out, sizeof out);
    srv_escape(r->path, out, sizeof out);
    for (int i = 0; i < r->n_args; i++)
        srv_escape(r->key[i], out, sizeof out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a copy of exactly size bytes, so reading past the end is caught */
    char *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    srv_req r;
    srv_perr e;
    /* first read: half of it (must never claim a complete request that
     * the whole would parse differently) */
    int half = srv_proto_parse(buf, size / 2, &r, &e);
    if (half > 0) {
        use(&r);
        srv_req_free(&r);
    }
    int rc = srv_proto_parse(buf, size, &r, &e);
    if (rc > 0) {
        if ((size_t)rc > size)
            abort(); /* consumed more than it was given */
        use(&r);
        srv_req_free(&r);
    } else if (rc < 0) {
        if (e.status < 400 || e.status > 599 || !e.code || !e.msg[0])
            abort(); /* every refusal must say how */
    }
    if (half > 0 && rc != half)
        abort(); /* a complete head is the same head with more bytes behind it */
    char *tok = malloc(size + 1);
    if (tok) {
        memcpy(tok, data, size);
        tok[size] = 0;
        srv_token_ok(tok);
        free(tok);
    }
    free(buf);
    return 0;
}

/* test_srv_proto.c - the server's own HTTP/1.1 request parser, Host check,
 * log escaping, SHA-256 and thumbnail cache: each request below is one
 * that libmicrohttpd answered with HTML, with nothing, or twice. */
#include "check.h"
#include "server.h"

#include <stdlib.h>
#include <string.h>

/* Parses the whole of s; returns rc, fills r/e. */
static int parse(const char *s, srv_req *r, srv_perr *e)
{
    memset(e, 0, sizeof *e);
    return srv_proto_parse(s, strlen(s), r, e);
}

/* A request that must be refused with status and code. */
static void refused(const char *what, const char *s, int status, const char *code)
{
    srv_req r;
    srv_perr e;
    int rc = parse(s, &r, &e);
    CHECK_MSG(rc == -1 && e.status == status && e.code && strcmp(e.code, code) == 0 &&
                  e.msg[0],
              "%s: rc %d status %d code %s", what, rc, e.status, e.code ? e.code : "-");
    srv_req_free(&r);
}

static char *repeat(const char *prefix, char c, size_t n, const char *suffix)
{
    size_t pn = strlen(prefix), sn = strlen(suffix);
    char *s = malloc(pn + n + sn + 1);
    memcpy(s, prefix, pn);
    memset(s + pn, c, n);
    memcpy(s + pn + n, suffix, sn + 1);
    return s;
}

static void test_good(void)
{
    srv_req r;
    srv_perr e;
    const char *s = "GET /search?q=bar+chart&k=3&lang=%E4%B8%AD&flag HTTP/1.1\r\n"
                    "Host: 127.0.0.1:8080\r\nAuthorization:   Bearer x  \r\n"
                    "If-None-Match: \"abc\"\r\n\r\nGET /next";
    int rc = parse(s, &r, &e);
    CHECK(rc > 0 && (size_t)rc == strlen(s) - strlen("GET /next"));
    CHECK_STR(r.method, "GET");
    CHECK_STR(r.path, "/search");
    CHECK_STR(r.target, "/search?q=bar+chart&k=3&lang=%E4%B8%AD&flag");
    CHECK(r.n_args == 4);
    CHECK_STR(srv_req_arg(&r, "q"), "bar chart");
    CHECK_STR(srv_req_arg(&r, "lang"), "中");
    CHECK_STR(srv_req_arg(&r, "flag"), "");
    CHECK(srv_req_arg(&r, "nope") == NULL);
    CHECK_STR(r.host, "127.0.0.1:8080");
    CHECK_STR(r.authorization, "Bearer x");
    CHECK_STR(r.if_none_match, "\"abc\"");
    CHECK(r.keep_alive && r.minor == 1 && r.content_length == -1);
    CHECK(r.range == NULL && r.if_range == NULL);
    srv_req_free(&r);

    /* Range and If-Range are kept; two Range headers: neither counts */
    const char *rg = "GET /images/1/file HTTP/1.1\r\nHost: a\r\nRange: bytes=0-9\r\n"
                     "If-Range: \"h\"\r\n\r\n";
    CHECK(parse(rg, &r, &e) > 0);
    CHECK(r.range && strcmp(r.range, "bytes=0-9") == 0);
    CHECK(r.if_range && strcmp(r.if_range, "\"h\"") == 0);
    srv_req_free(&r);
    const char *rg2 = "GET /images/1/file HTTP/1.1\r\nHost: a\r\nRange: bytes=0-9\r\n"
                      "Range: bytes=5-6\r\nRange: bytes=7-8\r\n\r\n";
    CHECK(parse(rg2, &r, &e) > 0);
    CHECK(r.range == NULL);
    srv_req_free(&r);

    /* incomplete: more bytes needed, no error */
    CHECK(parse("GET /healthz HTTP/1.1\r\nHost: x\r\n", &r, &e) == 0);
    CHECK(parse("GET /heal", &r, &e) == 0);
    /* bare LF lines, HTTP/1.0 without Host, Connection: close */
    CHECK(parse("GET /healthz HTTP/1.0\n\n", &r, &e) > 0 && !r.keep_alive && !r.host);
    srv_req_free(&r);
    CHECK(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: x, Close\r\n\r\n", &r, &e) > 0 &&
          !r.keep_alive);
    srv_req_free(&r);
    /* leading empty lines are skipped; absolute-form gives the Host */
    CHECK(parse("\r\nGET http://localhost:9/stats?x=1 HTTP/1.1\r\nHost: evil\r\n\r\n", &r, &e) >
          0);
    CHECK_STR(r.path, "/stats");
    CHECK_STR(r.host, "localhost:9");
    CHECK_STR(srv_req_arg(&r, "x"), "1");
    srv_req_free(&r);
    CHECK(parse("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
                &r, &e) > 0 &&
          r.content_length == 5);
    srv_req_free(&r);
}

static void test_refused(void)
{
    char *s = repeat("GET /search?q=", 'a', SRV_MAX_LINE + 10, " HTTP/1.1\r\nHost: x\r\n\r\n");
    refused("long request line", s, 414, "too_large");
    s[SRV_MAX_LINE + 5] = 0; /* also while it is still arriving */
    refused("long request line, incomplete", s, 414, "too_large");
    free(s);
    s = repeat("GET / HTTP/1.1\r\nHost: x\r\nX-Big: ", 'b', SRV_MAX_FIELD + 1, "\r\n\r\n");
    refused("long header field", s, 431, "too_large");
    free(s);
    /* 1000 query arguments: MHD ran out of pool memory and answered nothing */
    char *many = malloc(8000);
    strcpy(many, "GET /search?q=x");
    for (int i = 0; i < 1000; i++)
        strcat(many, "&a=1");
    strcat(many, " HTTP/1.1\r\nHost: x\r\n\r\n");
    refused("1000 arguments", many, 414, "too_large");
    free(many);
    /* many headers */
    char *hs = malloc(SRV_MAX_HEADERS * 16 + 64);
    strcpy(hs, "GET / HTTP/1.1\r\nHost: x\r\n");
    for (int i = 0; i < SRV_MAX_HEADERS; i++)
        strcat(hs, "X-A: 1\r\n");
    strcat(hs, "\r\n");
    refused("too many headers", hs, 431, "too_large");
    free(hs);

    refused("Content-Length -1 (MHD sent two status lines)",
            "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 400, "bad_request");
    refused("Content-Length +5", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\n", 400,
            "bad_request");
    refused("Content-Length list", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1, 1\r\n\r\n",
            400, "bad_request");
    refused("two lengths", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            400, "bad_request");
    refused("chunked + length (smuggling)",
            "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n",
            400, "bad_request");
    refused("space before the colon", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length : 4\r\n\r\n",
            400, "bad_request");
    refused("folded header", "GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  2\r\n\r\n", 400,
            "bad_request");
    refused("bare CR", "GET / HTTP/1.1\rHost: x\r\n\r\n", 400, "bad_request");
    refused("NUL in a header", "GET / HTTP/1.1\r\nHost: x\r\nX: a\001b\r\n\r\n", 400,
            "bad_request");
    refused("no Host in HTTP/1.1", "GET / HTTP/1.1\r\n\r\n", 400, "bad_request");
    refused("two Host headers", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400,
            "bad_request");
    refused("HTTP/2.0", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505, "version_not_supported");
    refused("HTTP/0.9 style", "GET /\r\n\r\n", 400, "bad_request");
    refused("garbage", "\x16\x03\x01\x02\xfc\x03\x03\r\n\r\n", 400, "bad_request");
    refused("a TLS hello, no line end yet", "\x16\x03\x01\x02", 400, "bad_request");
    refused("two spaces", "GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad_request");
    refused("ESC in the target", "GET /\033[2J HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad_request");
    refused("dot-dot", "GET /images/../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", 400,
            "bad_request");
    refused("encoded dot-dot", "GET /images/%2e%2e/x HTTP/1.1\r\nHost: x\r\n\r\n", 400,
            "bad_request");
    refused("double slash", "GET //stats HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad_request");
    refused("%00 in the path", "GET /st%00ats HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad_request");
    refused("%00 in an argument", "GET /search?q=a%00b HTTP/1.1\r\nHost: x\r\n\r\n", 400,
            "bad_request");
    refused("bad escape", "GET /search?q=%zz HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad_request");
    refused("truncated escape", "GET /search?q=%4 HTTP/1.1\r\nHost: x\r\n\r\n", 400,
            "bad_request");
    refused("not UTF-8", "GET /search?q=%FF%FE HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad_request");
    refused("relative target", "GET search HTTP/1.1\r\nHost: x\r\n\r\n", 400, "bad_request");
    refused("Expect other", "GET / HTTP/1.1\r\nHost: x\r\nExpect: magic\r\n\r\n", 417,
            "expectation_failed");
}

static void test_host(void)
{
    const char *allow[] = {"omnidex.lan", ".corp.example"};
    CHECK(srv_host_allowed("localhost:8080", "127.0.0.1", NULL, 0));
    CHECK(srv_host_allowed("LOCALHOST.", "127.0.0.1", NULL, 0));
    CHECK(srv_host_allowed("127.0.0.1:1", "127.0.0.1", NULL, 0));
    CHECK(srv_host_allowed("[::1]:8080", "127.0.0.1", NULL, 0));
    CHECK(srv_host_allowed("192.168.1.9", "0.0.0.0", NULL, 0));
    CHECK(srv_host_allowed(NULL, "127.0.0.1", NULL, 0));
    CHECK(!srv_host_allowed("evil.example", "127.0.0.1", NULL, 0));
    CHECK(!srv_host_allowed("evil.example:8080", "127.0.0.1", NULL, 0));
    CHECK(!srv_host_allowed("localhost.evil.example", "127.0.0.1", NULL, 0));
    CHECK(!srv_host_allowed("127.0.0.1.nip.io", "127.0.0.1", NULL, 0));
    CHECK(!srv_host_allowed("localhost:80:80", "127.0.0.1", NULL, 0));
    CHECK(!srv_host_allowed("localhost:8x", "127.0.0.1", NULL, 0));
    CHECK(!srv_host_allowed("", "127.0.0.1", NULL, 0));
    CHECK(srv_host_allowed("omnidex.lan:80", "127.0.0.1", allow, 2));
    CHECK(srv_host_allowed("a.corp.example", "127.0.0.1", allow, 2));
    CHECK(!srv_host_allowed("corp.example", "127.0.0.1", allow, 2));
    CHECK(!srv_host_allowed("xomnidex.lan", "127.0.0.1", allow, 2));
    const char *star[] = {"*"};
    CHECK(srv_host_allowed("anything.example", "127.0.0.1", star, 1));
}

static void test_escape_token(void)
{
    char out[64];
    CHECK_STR(srv_escape("a\033[31mb\r\n\\", out, sizeof out), "a\\x1b[31mb\\x0d\\x0a\\\\");
    CHECK_STR(srv_escape("plain /search?q=x", out, sizeof out), "plain /search?q=x");
    char small[8];
    srv_escape("\033\033\033\033", small, sizeof small);
    CHECK(strlen(small) < sizeof small && strchr(small, '\033') == NULL);

    CHECK(srv_token_ok("s3cret-t0ken"));
    CHECK(srv_token_ok("pässwort mit leer"));
    CHECK(!srv_token_ok("a\033b"));
    CHECK(!srv_token_ok("a\nb"));
    CHECK(!srv_token_ok("tab\there"));
    CHECK(!srv_token_ok("del\177"));
    CHECK(!srv_token_ok("c1\302\233x"));
    CHECK(!srv_token_ok(" lead"));
    CHECK(!srv_token_ok("trail "));
    CHECK(!srv_token_ok("\377bad"));
    CHECK(!srv_token_ok(""));
}

static void test_sha_cache(void)
{
    char hex[65];
    srv_sha256_hex("abc", 3, hex);
    CHECK_STR(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    srv_sha256_hex("", 0, hex);
    CHECK_STR(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    srv_sha256_hex(m, strlen(m), hex);
    CHECK_STR(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");

    srv_tcache *c = srv_tcache_new(3000);
    unsigned char a[1000], b[1000];
    memset(a, 'a', sizeof a);
    memset(b, 'b', sizeof b);
    srv_tcache_put(c, "ka", ODX_OK, NULL, a, sizeof a);
    srv_tcache_put(c, "kb", ODX_OK, NULL, b, sizeof b);
    unsigned char *got = NULL;
    size_t len = 0;
    odx_status st;
    char msg[64];
    CHECK(srv_tcache_get(c, "ka", &st, msg, sizeof msg, &got, &len) && st == ODX_OK &&
          len == sizeof a && got[0] == 'a');
    free(got);
    /* a third entry evicts the least recently used: kb (ka was just read) */
    srv_tcache_put(c, "kc", ODX_OK, NULL, a, sizeof a);
    CHECK(srv_tcache_bytes(c) <= 3000);
    CHECK(!srv_tcache_get(c, "kb", &st, msg, sizeof msg, &got, &len));
    CHECK(srv_tcache_get(c, "ka", &st, msg, sizeof msg, &got, &len));
    free(got);
    /* failures are remembered with their message */
    srv_tcache_put(c, "kf", ODX_ERR_LIMIT, "too many scans", NULL, 0);
    CHECK(srv_tcache_get(c, "kf", &st, msg, sizeof msg, &got, &len) && st == ODX_ERR_LIMIT &&
          got == NULL && strcmp(msg, "too many scans") == 0);
    /* bigger than the whole cache: not kept */
    unsigned char *huge = calloc(1, 5000);
    srv_tcache_put(c, "kh", ODX_OK, NULL, huge, 5000);
    CHECK(!srv_tcache_get(c, "kh", &st, msg, sizeof msg, &got, &len));
    free(huge);
    srv_tcache_free(c);
    srv_tcache_free(NULL);
    CHECK(!srv_tcache_get(NULL, "ka", &st, msg, sizeof msg, &got, &len));
}

int main(void)
{
    test_good();
    test_refused();
    test_host();
    test_escape_token();
    test_sha_cache();
    return check_result("test_srv_proto");
}

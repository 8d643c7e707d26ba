/* test_srv_ask.c - the request side of /ask (srv_ask.c): a POST body's JSON
 * becomes odx_ask parameters, checked like the other
 * endpoints' (k, max_chars, the /search filters through the library's
 * parser), and everything else is refused with its status and a message
 * that names the field. */
#include "check.h"
#include "server.h"

#include <stdlib.h>
#include <string.h>

static bool parse(const char *body, srv_ask_req *r, srv_perr *e)
{
    memset(e, 0, sizeof *e);
    return srv_ask_parse_json(body, strlen(body), r, e);
}

static void test_json_ok(void)
{
    srv_ask_req r;
    srv_perr e;
    CHECK(parse("{\"question\": \"which city is largest?\"}", &r, &e));
    CHECK(strcmp(r.question, "which city is largest?") == 0);
    CHECK(r.think && !r.p.with_images);
    odx_ask_params d = odx_ask_params_default();
    CHECK(r.p.context.search.k == d.context.search.k);
    CHECK(r.p.context.max_chars == d.context.max_chars);
    srv_ask_req_clear(&r);

    CHECK(parse("{\"question\":\"rain\",\"k\":3,\"max_chars\":5000,\"max_tokens\":64,"
                "\"think\":false,\"with_images\":true,\"domain\":\"chart\",\"lang\":\"en\","
                "\"min_width\":100,\"after\":\"2020-01-01\",\"min_size\":\"200K\","
                "\"max_size\":5000000}",
                &r, &e));
    CHECK_MSG(e.status == 0, "%d %s", e.status, e.msg);
    CHECK(r.p.context.search.k == 3);
    CHECK(r.p.context.max_chars == 5000);
    CHECK(r.p.max_tokens == 64);
    CHECK(!r.think && r.p.with_images);
    CHECK(r.p.context.search.min_width == 100);
    CHECK(r.p.context.search.min_size == 204800 && r.p.context.search.max_size == 5000000);
    CHECK(r.p.context.search.lang && strcmp(r.p.context.search.lang, "en") == 0);
    srv_ask_req_clear(&r);

    /* a question of exactly SRV_MAX_Q bytes */
    char *big = malloc(SRV_MAX_Q + 64);
    strcpy(big, "{\"question\":\"");
    size_t at = strlen(big);
    memset(big + at, 'y', SRV_MAX_Q);
    strcpy(big + at + SRV_MAX_Q, "\"}");
    CHECK(parse(big, &r, &e));
    CHECK(strlen(r.question) == SRV_MAX_Q);
    srv_ask_req_clear(&r);
    free(big);
}

static void test_json_refused(void)
{
    static const struct {
        const char *body;
        int status;
        const char *in_msg;
    } cases[] = {
        {"", 400, "JSON body"},
        {"not json", 400, "not a JSON object"},
        {"[1,2]", 400, "not a JSON object"},
        {"{\"question\":\"a\"", 400, "not a JSON object"},
        {"{}", 400, "missing field question"},
        {"{\"question\":\"\"}", 400, "empty"},
        {"{\"question\":7}", 400, "question must be a string"},
        {"{\"question\":\"a\",\"k\":0}", 400, "k must be an integer from 1 to 100"},
        {"{\"question\":\"a\",\"k\":101}", 400, "from 1 to 100"},
        {"{\"question\":\"a\",\"k\":2.5}", 400, "k must be an integer"},
        {"{\"question\":\"a\",\"k\":\"3\"}", 400, "k must be an integer"},
        {"{\"question\":\"a\",\"max_chars\":10}", 400, "max_chars"},
        {"{\"question\":\"a\",\"max_tokens\":-1}", 400, "max_tokens"},
        {"{\"question\":\"a\",\"think\":\"no\"}", 400, "think must be true or false"},
        {"{\"question\":\"a\",\"domain\":\"cats\"}", 400, "cats"},
        {"{\"question\":\"a\",\"after\":\"2024-02-30\"}", 400, "2024-02-30"},
        {"{\"question\":\"a\",\"domain\":[1]}", 400, "string or a number"},
        {"{\"question\":\"a\",\"qestion\":\"b\"}", 400, "unknown field 'qestion'"},
        {"{\"question\":\"a\",\"question\":\"b\"}", 400, "given twice"},
        {"{\"question\":\"a\",\"llm_url\":\"http://evil/\"}", 400, "unknown field 'llm_url'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        srv_ask_req r;
        srv_perr e;
        bool ok = parse(cases[i].body, &r, &e);
        CHECK_MSG(!ok && e.status == cases[i].status && strstr(e.msg, cases[i].in_msg),
                  "%s -> %d %s", cases[i].body, e.status, e.msg);
        srv_ask_req_clear(&r);
    }
    /* too long a question: 413 */
    char *big = malloc(SRV_MAX_Q + 64);
    strcpy(big, "{\"question\":\"");
    size_t at = strlen(big);
    memset(big + at, 'x', SRV_MAX_Q + 1);
    strcpy(big + at + SRV_MAX_Q + 1, "\"}");
    srv_ask_req r;
    srv_perr e;
    CHECK(!parse(big, &r, &e) && e.status == 413 && strcmp(e.code, "too_large") == 0);
    srv_ask_req_clear(&r);
    free(big);
    /* not UTF-8, and a NUL inside */
    CHECK(!srv_ask_parse_json("{\"question\":\"\xff\"}", 16, &r, &e) && e.status == 400 &&
          strstr(e.msg, "UTF-8"));
    srv_ask_req_clear(&r);
    CHECK(!srv_ask_parse_json("{\"question\":\"a\0b\"}", 18, &r, &e) && e.status == 400);
    srv_ask_req_clear(&r);
}

/* The head parser keeps what /ask needs: Content-Type and Accept. */
static void test_proto_fields(void)
{
    static const char head[] = "POST /ask HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                               "Content-Type: application/json\r\n"
                               "Accept: text/event-stream\r\nContent-Length: 20\r\n\r\n";
    srv_req q;
    srv_perr pe;
    memset(&q, 0, sizeof q);
    CHECK(srv_proto_parse(head, sizeof head - 1, &q, &pe) > 0);
    CHECK(q.content_type && strcmp(q.content_type, "application/json") == 0);
    CHECK(q.accept && strcmp(q.accept, "text/event-stream") == 0);
    CHECK(q.content_length == 20 && strcmp(q.method, "POST") == 0);
    srv_req_free(&q);
}

/* A stream piece ending inside a UTF-8 sequence holds its start back. */
static void test_utf8_tail(void)
{
    CHECK(srv_utf8_tail("", 0) == 0);
    CHECK(srv_utf8_tail("abc", 3) == 0);
    CHECK(srv_utf8_tail("a\xe9\x9b\xa8", 4) == 0); /* 雨 whole */
    CHECK(srv_utf8_tail("a\xe9\x9b", 3) == 2);     /* 雨 cut after 2 of 3 */
    CHECK(srv_utf8_tail("a\xe9", 2) == 1);         /* after 1 of 3 */
    CHECK(srv_utf8_tail("\xc3", 1) == 1);          /* é's lead alone */
    CHECK(srv_utf8_tail("\xc3\xa9", 2) == 0);
    CHECK(srv_utf8_tail("\xf0\x9f\x98", 3) == 3);  /* an emoji, 3 of 4 */
    CHECK(srv_utf8_tail("\xf0\x9f\x98\x80", 4) == 0);
    /* not a sequence to wait for: stray continuation bytes, bad leads */
    CHECK(srv_utf8_tail("\x80\x80\x80\x80", 4) == 0);
    CHECK(srv_utf8_tail("a\xff", 2) == 0);
    CHECK(srv_utf8_tail("a\xc0", 2) == 0);
    /* every cut of a mixed string: what is not held back is whole */
    const char *s = "bar \xe5\x9b\xbe\xe8\xa1\xa8 \xf0\x9f\x93\x8a ok";
    size_t n = strlen(s);
    for (size_t cut = 0; cut <= n; cut++) {
        size_t t = srv_utf8_tail(s, cut);
        CHECK(t <= cut && t <= 3 && srv_utf8_valid(s, cut - t));
        CHECK(cut != n || t == 0);
    }
}

/* The event stream is chosen by Accept as a client means it: named, with
 * a weight above 0 and not below JSON's (before: any mention of
 * text/event-stream chose it, q=0 too). */
static void test_accept(void)
{
    double q = -1;
    CHECK(srv_accept_match("text/event-stream", "text/event-stream", &q) == 3 && q == 1);
    CHECK(srv_accept_match("TEXT/Event-Stream;q=0.5", "text/event-stream", &q) == 3 && q == 0.5);
    CHECK(srv_accept_match("text/*;q=0.2, */*;q=0.1", "text/event-stream", &q) == 2 && q == 0.2);
    CHECK(srv_accept_match("*/*;q=0.1", "text/event-stream", &q) == 1 && q == 0.1);
    CHECK(srv_accept_match("application/json", "text/event-stream", &q) == 0);
    CHECK(srv_accept_match(NULL, "text/event-stream", &q) == 0);
    CHECK(srv_accept_match("", "text/event-stream", &q) == 0);
    /* the most specific range decides, wherever it stands */
    CHECK(srv_accept_match("text/event-stream;q=0, */*", "text/event-stream", &q) == 3 && q == 0);
    CHECK(srv_accept_match("*/*, text/event-stream ; q=0.25", "text/event-stream", &q) == 3 &&
          q == 0.25);
    /* other parameters, quoted ones holding , and ; too */
    CHECK(srv_accept_match("text/event-stream;charset=utf-8;q=0.3", "text/event-stream", &q) == 3 &&
          q == 0.3);
    CHECK(srv_accept_match("a/b;x=\"1,2;q=0\", text/event-stream", "text/event-stream", &q) == 3 &&
          q == 1);
    /* not the type: longer names, a prefix, a type in a parameter */
    CHECK(srv_accept_match("text/event-streams", "text/event-stream", &q) == 0);
    CHECK(srv_accept_match("text/event", "text/event-stream", &q) == 0);
    CHECK(srv_accept_match("a/b;x=text/event-stream", "text/event-stream", &q) == 0);
    CHECK(srv_accept_match("texts/*", "text/event-stream", &q) == 0);
    /* a malformed weight leaves its range out */
    CHECK(srv_accept_match("text/event-stream;q=2", "text/event-stream", &q) == 0);
    CHECK(srv_accept_match("text/event-stream;q=0.5555", "text/event-stream", &q) == 0);
    CHECK(srv_accept_match("text/event-stream;q=x", "text/event-stream", &q) == 0);
    CHECK(srv_accept_match("text/event-stream;q=", "text/event-stream", &q) == 0);
    CHECK(srv_accept_match("text/event-stream;q=1.0", "text/event-stream", &q) == 3 && q == 1);

    CHECK(srv_ask_wants_sse("text/event-stream"));
    CHECK(srv_ask_wants_sse("application/json, text/event-stream"));
    CHECK(srv_ask_wants_sse("text/event-stream;q=0.5, */*;q=0.1"));
    CHECK(!srv_ask_wants_sse("text/event-stream;q=0"));
    CHECK(!srv_ask_wants_sse("text/event-stream;q=0.000, application/json"));
    CHECK(!srv_ask_wants_sse("application/json, text/event-stream;q=0.5"));
    CHECK(!srv_ask_wants_sse("*/*"));
    CHECK(!srv_ask_wants_sse("text/*"));
    CHECK(!srv_ask_wants_sse(NULL));
    CHECK(!srv_ask_wants_sse("application/x-text/event-stream"));
}

int main(void)
{
    test_accept();
    test_utf8_tail();
    test_json_ok();
    test_json_refused();
    test_proto_fields();
    return check_result("test_srv_ask");
}

/* test_rmt_client.c - the OpenAI-compatible client against the fake server
 * (tests/fake_oai): answers, retries on 500/429 (Retry-After honoured),
 * timeouts, truncated JSON, the circuit breaker, SSE streaming with
 * reasoning split off, answer caps; and the VLM prompt table and parser. */
#include "check.h"

#include <math.h>
#include "remote.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *g_fake;
static char g_dir[256];

typedef struct fake {
    pid_t pid;
    int port;
    char url[64], log[300];
} fake;

/* Starts the fake with extra arguments; waits (10 s at most) for its port. */
static bool fake_start(fake *f, const char *name, const char *const *extra)
{
    memset(f, 0, sizeof *f);
    char pf[300];
    snprintf(pf, sizeof pf, "%s/%s.port", g_dir, name);
    snprintf(f->log, sizeof f->log, "%s/%s.log", g_dir, name);
    unlink(pf);
    unlink(f->log);
    const char *args[32] = {g_fake, "--port-file", pf, "--log", f->log, "--lifetime", "120"};
    int n = 7;
    for (int i = 0; extra && extra[i] && n < 30; i++)
        args[n++] = extra[i];
    args[n] = NULL;
    f->pid = fork();
    if (f->pid == 0) {
        execv(g_fake, (char *const *)args);
        _exit(127);
    }
    for (int i = 0; i < 200; i++) {
        FILE *p = fopen(pf, "r");
        if (p) {
            int ok = fscanf(p, "%d", &f->port);
            fclose(p);
            if (ok == 1 && f->port > 0) {
                snprintf(f->url, sizeof f->url, "http://127.0.0.1:%d/v1", f->port);
                return true;
            }
        }
        struct timespec ts = {0, 50000000};
        nanosleep(&ts, NULL);
    }
    return false;
}

static void fake_stop(fake *f)
{
    if (f->pid > 0) {
        kill(f->pid, SIGTERM);
        waitpid(f->pid, NULL, 0);
    }
    f->pid = 0;
}

static int log_count(const fake *f, const char *needle)
{
    FILE *p = fopen(f->log, "r");
    if (!p)
        return 0;
    char line[4096];
    int n = 0;
    while (fgets(line, sizeof line, p))
        n += strstr(line, needle) != NULL;
    fclose(p);
    return n;
}

static rmt_client *client(const char *url, double timeout, int retries)
{
    rmt_config c = rmt_config_default();
    c.base_url = url;
    c.timeout_s = timeout;
    c.max_retries = retries;
    c.backoff_s = 0.05;
    c.breaker_failures = 50;
    rmt_client *cl = NULL;
    odx_err e = {0};
    if (rmt_client_new(&c, &cl, &e) != ODX_OK)
        fprintf(stderr, "client: %s\n", e.msg);
    return cl;
}

static const rmt_chat_req ASK = {.model = "m1", .system = "be brief",
                                 .user = "Question?\n\n### [1] /x/a.png\n- caption: a cat\n",
                                 .temperature = -1};

static void test_plain_and_retries(void)
{
    fake f;
    CHECK(fake_start(&f, "plain", (const char *const[]){"--script", "ok,500,ok,429:2,ok,trunc,ok", NULL}));
    rmt_client *c = client(f.url, 10, 3);
    rmt_chat_resp r;
    odx_err e = {0};
    CHECK(rmt_chat(c, &ASK, NULL, NULL, &r, &e) == ODX_OK);
    CHECK(r.content && strstr(r.content, "image [1]"));
    CHECK(r.attempts == 1);
    CHECK(r.finish_reason && !strcmp(r.finish_reason, "stop"));
    rmt_chat_resp_clear(&r);

    /* 500 then ok */
    CHECK(rmt_chat(c, &ASK, NULL, NULL, &r, &e) == ODX_OK);
    CHECK(r.attempts == 2);
    rmt_chat_resp_clear(&r);

    /* 429 with Retry-After: 2 is waited for, although the backoff is 0.05 s */
    double t0 = core_now();
    CHECK(rmt_chat(c, &ASK, NULL, NULL, &r, &e) == ODX_OK);
    CHECK(r.attempts == 2);
    CHECK_MSG(core_now() - t0 >= 1.9, "waited %.2f s", core_now() - t0);
    rmt_chat_resp_clear(&r);

    /* truncated JSON: retried */
    CHECK(rmt_chat(c, &ASK, NULL, NULL, &r, &e) == ODX_OK);
    CHECK(r.attempts == 2);
    rmt_chat_resp_clear(&r);
    CHECK(log_count(&f, "system=1") == 7);
    CHECK(log_count(&f, "BAD") == 0);
    rmt_client_free(c);
    fake_stop(&f);
}

static void test_failures(void)
{
    fake f;
    CHECK(fake_start(&f, "fail", (const char *const[]){"--script", "hang,trunc,500,500,notjson,long", NULL}));
    rmt_client *c = client(f.url, 1, 0);
    rmt_chat_resp r;
    odx_err e = {0};
    /* no answer within the timeout */
    CHECK(rmt_chat(c, &ASK, NULL, NULL, &r, &e) == ODX_ERR_REMOTE);
    CHECK_MSG(strstr(e.msg, "imeout") || strstr(e.msg, "timed out"), "%s", e.msg);
    CHECK(strstr(e.msg, f.url) != NULL);
    rmt_chat_resp_clear(&r);
    /* truncated JSON, no retries left */
    memset(&e, 0, sizeof e);
    CHECK(rmt_chat(c, &ASK, NULL, NULL, &r, &e) == ODX_ERR_REMOTE);
    CHECK_MSG(strstr(e.msg, "malformed"), "%s", e.msg);
    rmt_chat_resp_clear(&r);
    /* 500 twice with one retry: the server's message is kept */
    rmt_client_free(c);
    c = client(f.url, 5, 1);
    memset(&e, 0, sizeof e);
    CHECK(rmt_chat(c, &ASK, NULL, NULL, &r, &e) == ODX_ERR_REMOTE);
    CHECK(r.attempts == 2 && r.http_status == 500);
    CHECK_MSG(strstr(e.msg, "HTTP 500") && strstr(e.msg, "fake internal error"), "%s", e.msg);
    rmt_chat_resp_clear(&r);
    /* not JSON, then the retry gets 200 KiB of content: cut to the cap */
    rmt_client_free(c);
    rmt_config cfg = rmt_config_default();
    cfg.base_url = f.url;
    cfg.backoff_s = 0.05;
    cfg.max_answer_bytes = 1000;
    CHECK(rmt_client_new(&cfg, &c, &e) == ODX_OK);
    memset(&e, 0, sizeof e);
    CHECK(rmt_chat(c, &ASK, NULL, NULL, &r, &e) == ODX_OK);
    CHECK(r.attempts == 2 && r.truncated && r.content && strlen(r.content) == 1000);
    rmt_chat_resp_clear(&r);
    /* a request the server refuses (400): not retried */
    rmt_chat_req bad = ASK;
    bad.model = "";
    memset(&e, 0, sizeof e);
    CHECK(rmt_chat(c, &bad, NULL, NULL, &r, &e) == ODX_ERR_REMOTE);
    CHECK(r.attempts == 1 && r.http_status == 400);
    CHECK_MSG(strstr(e.msg, "no model"), "%s", e.msg);
    rmt_chat_resp_clear(&r);
    rmt_client_free(c);
    fake_stop(&f);
}

static void test_breaker(void)
{
    /* a port nobody listens on: the fake's, after it stopped */
    fake f;
    CHECK(fake_start(&f, "dead", NULL));
    char url[64];
    snprintf(url, sizeof url, "%s", f.url);
    fake_stop(&f);
    rmt_config cfg = rmt_config_default();
    cfg.base_url = url;
    cfg.max_retries = 0;
    cfg.breaker_failures = 2;
    cfg.breaker_cooldown_s = 60;
    rmt_client *c = NULL;
    odx_err e = {0};
    CHECK(rmt_client_new(&cfg, &c, &e) == ODX_OK);
    rmt_chat_resp r;
    CHECK(rmt_chat(c, &ASK, NULL, NULL, &r, &e) == ODX_ERR_REMOTE);
    CHECK(!rmt_client_down(c));
    rmt_chat_resp_clear(&r);
    memset(&e, 0, sizeof e);
    CHECK(rmt_chat(c, &ASK, NULL, NULL, &r, &e) == ODX_ERR_REMOTE);
    CHECK(rmt_client_down(c));
    rmt_chat_resp_clear(&r);
    memset(&e, 0, sizeof e);
    CHECK(rmt_chat(c, &ASK, NULL, NULL, &r, &e) == ODX_ERR_REMOTE);
    CHECK_MSG(strstr(e.msg, "is down"), "%s", e.msg);
    CHECK(r.http_status == 0);
    rmt_chat_resp_clear(&r);
    rmt_client_free(c);
    /* not a URL omnidex calls */
    cfg.base_url = "file:///etc/passwd";
    memset(&e, 0, sizeof e);
    CHECK(rmt_client_new(&cfg, &c, &e) == ODX_ERR_INVALID);
}

typedef struct pieces {
    core_buf content, reasoning;
    int n;
} pieces;

static void on_piece(void *user, const char *p, size_t n, bool reasoning)
{
    pieces *x = user;
    core_buf_append(reasoning ? &x->reasoning : &x->content, p, n);
    x->n++;
}

static void test_stream(const char *think)
{
    fake f;
    CHECK(fake_start(&f, think, (const char *const[]){"--think", think, "--script", "ok,slow,err", NULL}));
    rmt_client *c = client(f.url, 10, 0);
    rmt_chat_req q = ASK;
    q.stream = true;
    pieces x;
    memset(&x, 0, sizeof x);
    core_buf_init(&x.content, 1 << 20);
    core_buf_init(&x.reasoning, 1 << 20);
    rmt_chat_resp r;
    odx_err e = {0};
    CHECK(rmt_chat(c, &q, on_piece, &x, &r, &e) == ODX_OK);
    CHECK(x.n > 3);
    CHECK(r.content && x.content.data && !strcmp(r.content, x.content.data));
    CHECK(r.content && strstr(r.content, "image [1]") && !strstr(r.content, "think>"));
    CHECK(r.content && !strncmp(r.content, "Step 1", 6));
    CHECK_MSG(r.reasoning && strstr(r.reasoning, "captions say enough") &&
                  !strstr(r.reasoning, "think>"),
              "%s", r.reasoning ? r.reasoning : "(none)");
    CHECK(r.finish_reason && !strcmp(r.finish_reason, "stop"));
    rmt_chat_resp_clear(&r);
    CHECK(log_count(&f, "stream=1") == 1);
    /* silent for 3 s between pieces, with a 1 s limit on silence */
    rmt_client_free(c);
    c = client(f.url, 1, 0);
    memset(&e, 0, sizeof e);
    CHECK(rmt_chat(c, &q, NULL, NULL, &r, &e) == ODX_ERR_REMOTE);
    rmt_chat_resp_clear(&r);
    /* an error event in the stream */
    memset(&e, 0, sizeof e);
    CHECK(rmt_chat(c, &q, NULL, NULL, &r, &e) == ODX_ERR_REMOTE);
    CHECK_MSG(strstr(e.msg, "fake failure"), "%s", e.msg);
    rmt_chat_resp_clear(&r);
    core_buf_free(&x.content);
    core_buf_free(&x.reasoning);
    rmt_client_free(c);
    fake_stop(&f);
}

static void test_vlm_request(void)
{
    /* a 1x1 PNG */
    static const unsigned char png[] = {
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44,
        0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00, 0x90,
        0x77, 0x53, 0xde, 0x00, 0x00, 0x00, 0x0c, 0x49, 0x44, 0x41, 0x54, 0x08, 0xd7, 0x63, 0xf8,
        0xcf, 0xc0, 0x00, 0x00, 0x03, 0x01, 0x01, 0x00, 0x18, 0xdd, 0x8d, 0xb0, 0x00, 0x00, 0x00,
        0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82};
    fake f;
    CHECK(fake_start(&f, "vlm", (const char *const[]){"--think", "tag", NULL}));
    rmt_client *c = client(f.url, 10, 0);
    char *b64 = core_base64(png, sizeof png);
    char *url = core_sprintf("data:image/png;base64,%s", b64);
    const char *ver = NULL;
    rmt_chat_req q = {.model = "vlm-a", .system = rmt_vlm_system(),
                      .user = rmt_vlm_prompt("chart", &ver), .image_url = url,
                      .max_tokens = 800, .temperature = 0.2};
    rmt_chat_resp r;
    odx_err e = {0};
    CHECK(rmt_chat(c, &q, NULL, NULL, &r, &e) == ODX_OK);
    CHECK(r.reasoning && !strcmp(r.reasoning, "Thinking about the picture."));
    rmt_caption *cap = NULL;
    int n = 0;
    CHECK(rmt_vlm_parse(r.content, 4000, &cap, &n, &e) == ODX_OK);
    CHECK(n == 6);
    char sha[65];
    core_sha256_hex(png, sizeof png, sha);
    char word[11] = "zq";
    for (int i = 0; i < 8; i++)
        word[2 + i] = (char)('a' + (sha[i] <= '9' ? sha[i] - '0' : sha[i] - 'a' + 10));
    bool en = false, zh = false;
    for (int i = 0; i < n; i++) {
        if (!strcmp(cap[i].kind, "detailed") && !strcmp(cap[i].lang, "en"))
            en = strstr(cap[i].text, word) && strstr(cap[i].text, "vlm-a") &&
                 strstr(cap[i].text, "chart");
        if (!strcmp(cap[i].kind, "short") && !strcmp(cap[i].lang, "zh"))
            zh = strstr(cap[i].text, "标记") != NULL;
    }
    CHECK(en);
    CHECK(zh);
    rmt_captions_free(cap, n);
    rmt_chat_resp_clear(&r);
    CHECK(log_count(&f, "BAD") == 0);
    CHECK(log_count(&f, word) == 1);
    free(url);
    free(b64);
    rmt_client_free(c);
    fake_stop(&f);
}

static void test_prompts_and_parse(void)
{
    const char *doms[] = {"photo", "poster", "screenshot", "chart", "table", "document", "diagram"};
    const char *p[7], *v[7];
    for (int i = 0; i < 7; i++) {
        p[i] = rmt_vlm_prompt(doms[i], &v[i]);
        CHECK(p[i] && strstr(p[i], "DETAILED_ZH:"));
        CHECK(v[i] && !strncmp(v[i], "1-", 2));
    }
    for (int i = 0; i < 7; i++)
        for (int j = i + 1; j < 7; j++) {
            CHECK(strcmp(p[i], p[j]) != 0);
            CHECK(strcmp(v[i], v[j]) != 0);
        }
    CHECK(strstr(p[3], "Markdown table") != NULL);
    CHECK(strstr(p[6], "LaTeX") != NULL);
    const char *vu = NULL;
    CHECK(rmt_vlm_prompt("nonsense", &vu) == p[0] && vu == v[0]);
    CHECK(strstr(rmt_vlm_system(), "search index") != NULL);

    rmt_caption *c = NULL;
    int n = 0;
    odx_err e = {0};
    /* no sections: one English detailed caption */
    CHECK(rmt_vlm_parse("  A red bicycle.  ", 100, &c, &n, &e) == ODX_OK);
    CHECK(n == 1 && !strcmp(c[0].kind, "detailed") && !strcmp(c[0].text, "A red bicycle."));
    rmt_captions_free(c, n);
    /* markdown headers, a Chinese section in English (dropped), a cap */
    CHECK(rmt_vlm_parse("**Detailed:** a long text here\nmore\n## SHORT: bike\n"
                        "Short_ZH: a bike\nTAGS:\n- bike\n- red\nDETAILED ZH: 一辆红色自行车",
                        12, &c, &n, &e) == ODX_OK);
    int seen = 0;
    for (int i = 0; i < n; i++) {
        if (!strcmp(c[i].kind, "detailed") && !strcmp(c[i].lang, "en"))
            seen += !strcmp(c[i].text, "a long text") ? 1 : 100;
        if (!strcmp(c[i].kind, "short") && !strcmp(c[i].lang, "en"))
            seen += !strcmp(c[i].text, "bike") ? 1 : 100;
        if (!strcmp(c[i].kind, "short") && !strcmp(c[i].lang, "zh"))
            seen += 100; /* not Chinese: must be dropped */
        if (!strcmp(c[i].kind, "tags"))
            seen += strstr(c[i].text, "bike") && !strchr(c[i].text, '\n') ? 1 : 100;
        if (!strcmp(c[i].kind, "detailed") && !strcmp(c[i].lang, "zh"))
            seen += !strcmp(c[i].text, "一辆红色") ? 1 : 100; /* 12 bytes: 4 characters */
    }
    CHECK_MSG(seen == 4 && n == 4, "seen %d n %d", seen, n);
    rmt_captions_free(c, n);
    CHECK(rmt_vlm_parse("   \n ", 100, &c, &n, &e) == ODX_OK);
    CHECK(n == 0 && c == NULL);
}

/* The stream parser alone: however the body is cut, the same content and
 * reasoning (the white space after </think> came in a later piece and was
 * kept as content before the fix; a short content after white space read
 * past the buffer). */
static void test_sse_cuts(void)
{
    const char *body =
        "data: {\"choices\":[{\"delta\":{\"content\":\"<think>why\"}}]}\n\n"
        "data: {\"choices\":[{\"delta\":{\"content\":\"</think>\"}}]}\n\n"
        "data: {\"choices\":[{\"delta\":{\"content\":\"\\n\\nAnswer [1] \u4e2d\"}}]}\n\n"
        ": keep-alive\r\n\r\ndata: [DONE]\n\n";
    size_t len = strlen(body);
    char *r0 = NULL;
    char *c0 = rmt_sse_parse(body, len, len, 1000, &r0);
    CHECK(c0 && !strcmp(c0, "Answer [1] \xe4\xb8\xad"));
    CHECK(r0 && !strcmp(r0, "why"));
    for (size_t piece = 1; piece < 40; piece++) {
        char *r = NULL;
        char *c = rmt_sse_parse(body, len, piece, 1000, &r);
        CHECK_MSG(c && c0 && !strcmp(c, c0), "piece %zu: '%s'", piece, c ? c : "(null)");
        CHECK_MSG(r && r0 && !strcmp(r, r0), "piece %zu: reasoning '%s'", piece, r ? r : "(null)");
        free(c);
        free(r);
    }
    /* the cap cuts on a UTF-8 boundary whatever the pieces */
    for (size_t piece = 1; piece < 8; piece++) {
        char *r = NULL;
        char *c = rmt_sse_parse(body, len, piece, 12, &r);
        CHECK_MSG(c && !strcmp(c, "Answer [1] "), "piece %zu: '%s'", piece, c ? c : "(null)");
        free(c);
        free(r);
    }
    const char *shortb = "data: {\"choices\":[{\"delta\":{\"content\":\"\\nHi\"}}]}\n\ndata: [DONE]\n";
    char *r = NULL;
    char *c = rmt_sse_parse(shortb, strlen(shortb), 1000, 1000, &r);
    CHECK(c && !strcmp(c, "\nHi") && !r);
    free(c);
    free(r);
    free(c0);
    free(r0);
}

static void test_config_file(void)
{
    char path[300];
    snprintf(path, sizeof path, "%s/config", g_dir);
    FILE *f = fopen(path, "w");
    fputs("# settings\nvlm_url = http://127.0.0.1:1/v1\n  vlm_model=qwen2-vl\nvlm_url = "
          "http://127.0.0.1:2/v1\nempty =\n",
          f);
    fclose(f);
    char *v = rmt_config_file_get(g_dir, "vlm_url");
    CHECK(v && !strcmp(v, "http://127.0.0.1:2/v1"));
    free(v);
    v = rmt_config_file_get(g_dir, "vlm_model");
    CHECK(v && !strcmp(v, "qwen2-vl"));
    free(v);
    CHECK(rmt_config_file_get(g_dir, "empty") == NULL);
    CHECK(rmt_config_file_get(g_dir, "vlm") == NULL);
    CHECK(rmt_config_file_get("/nonexistent-dir", "vlm_url") == NULL);
}

/* rmt_embed: the vectors in input order, the same retries as a chat
 * (429 + Retry-After, 500, a body that is not JSON), a well-formed wrong
 * answer refused at once, dim_want enforced, the API key sent. */
static void test_embed(void)
{
    fake f;
    setenv("FAKE_OAI_KEY", "sekrit", 1);
    CHECK(fake_start(&f, "embed", (const char *const[]){"--embed-script",
                                                         "ok,429,500,ok,notjson,ok,count,wide,str",
                                                         NULL}));
    rmt_config cfg = rmt_config_default();
    cfg.base_url = f.url;
    cfg.api_key = "sekrit";
    cfg.backoff_s = 0.05;
    cfg.breaker_failures = 50;
    rmt_client *c = NULL;
    odx_err e = {0};
    CHECK(rmt_client_new(&cfg, &c, &e) == ODX_OK);
    const char *texts[] = {"red apple", "elppa der", "blue sky"};
    rmt_embed_resp r = {0};
    CHECK(rmt_embed(c, "emb-16", texts, 3, 0, &r, &e) == ODX_OK);
    CHECK(r.n == 3 && r.dim == 16 && r.attempts == 1);
    if (r.v && r.dim == 16) {
        /* anagrams are the same words to the fake: the same vector */
        double d01 = 0, d02 = 0;
        for (int j = 0; j < 16; j++) {
            d01 += fabs(r.v[j] - r.v[16 + j]);
            d02 += fabs(r.v[j] - r.v[32 + j]);
        }
        CHECK(d01 < 1e-6 && d02 > 0.5);
    }
    rmt_embed_resp_clear(&r);
    double t0 = core_now();
    CHECK(rmt_embed(c, "emb-16", texts, 2, 16, &r, &e) == ODX_OK);
    CHECK_MSG(r.attempts == 3 && core_now() - t0 >= 0.9, "attempts %d, %.2f s", r.attempts,
              core_now() - t0);
    rmt_embed_resp_clear(&r);
    CHECK(rmt_embed(c, "emb-16", texts, 2, 16, &r, &e) == ODX_OK && r.attempts == 2);
    rmt_embed_resp_clear(&r);
    memset(&e, 0, sizeof e);
    CHECK(rmt_embed(c, "emb-16", texts, 2, 16, &r, &e) == ODX_ERR_REMOTE);
    CHECK(r.attempts == 1 && strstr(e.msg, "1 vectors for 2 inputs"));
    memset(&e, 0, sizeof e);
    CHECK(rmt_embed(c, "emb-16", texts, 2, 16, &r, &e) == ODX_ERR_REMOTE);
    CHECK(r.attempts == 1 && strstr(e.msg, "dimension 24, expected 16"));
    memset(&e, 0, sizeof e);
    CHECK(rmt_embed(c, "emb-16", texts, 2, 16, &r, &e) == ODX_ERR_REMOTE);
    CHECK(strstr(e.msg, "embedding[1] is not a number") != NULL);
    CHECK(!r.v);
    CHECK(rmt_embed(c, "emb-16", texts, 0, 0, &r, &e) == ODX_ERR_INVALID);
    CHECK(log_count(&f, "BAD") == 0);
    CHECK(log_count(&f, "embed n=") == 9);
    rmt_client_free(c);
    fake_stop(&f);
    unsetenv("FAKE_OAI_KEY");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: test_rmt_client FAKE_OAI\n");
        return 2;
    }
    g_fake = argv[1];
    snprintf(g_dir, sizeof g_dir, "/tmp/odx_rmt_%d", (int)getpid());
    mkdir(g_dir, 0755);
    core_log_set(NULL, NULL, 0);
    test_prompts_and_parse();
    test_config_file();
    test_sse_cuts();
    test_plain_and_retries();
    test_failures();
    test_breaker();
    test_stream("field");
    test_stream("tag");
    test_vlm_request();
    test_embed();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", g_dir);
    return check_result("test_rmt_client");
}

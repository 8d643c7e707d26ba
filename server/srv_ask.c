/* srv_ask.c - /ask on `omnidex serve`: a question (POST with a JSON body;
 * other methods are refused, srv_http.c's route says why) goes to odx_ask,
 * the caption-then-reason loop, with the LLM configured for the server (serve --llm/--llm-model, else the variables
 * and DBDIR/config `omnidex ask` reads); the answer leaves as JSON or, when
 * the client accepts text/event-stream, as Server-Sent Events while the
 * model writes it. A question holds a request thread for as long as the
 * model takes, so at most `jobs` are answered at once (more get 503) and
 * search keeps threads of its own. */
#include "server.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct srv_ask {
    char *llm_url, *llm_model; /* NULL: the environment, then DBDIR/config */
    double timeout_s;
    int jobs, active;
    pthread_mutex_t mu;
    /* set by srv_stop's thread, read by the request threads answering:
     * C11 atomic, not volatile (volatile orders nothing between threads) */
    atomic_bool stopping;
};

srv_ask *srv_ask_new(const char *llm_url, const char *llm_model, int jobs, double timeout_s)
{
    srv_ask *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    pthread_mutex_init(&a->mu, NULL);
    atomic_init(&a->stopping, false);
    a->jobs = jobs > 0 ? jobs : 1;
    a->timeout_s = timeout_s > 0 ? timeout_s : 120;
    if ((llm_url && !(a->llm_url = strdup(llm_url))) ||
        (llm_model && !(a->llm_model = strdup(llm_model)))) {
        srv_ask_free(a);
        return NULL;
    }
    return a;
}

void srv_ask_stop(srv_ask *a)
{
    if (a)
        atomic_store(&a->stopping, true);
}

void srv_ask_free(srv_ask *a)
{
    if (!a)
        return;
    pthread_mutex_destroy(&a->mu);
    free(a->llm_url);
    free(a->llm_model);
    free(a);
}

/* ------------------------------------------------------- the request ---- */

void srv_ask_req_clear(srv_ask_req *r)
{
    if (!r)
        return;
    for (int i = 0; i < r->n_owned; i++)
        free(r->owned[i]);
    r->n_owned = 0;
}

static bool perr_set(srv_perr *e, int status, const char *code, const char *fmt, const char *arg)
{
    e->status = status;
    e->code = code;
    snprintf(e->msg, sizeof e->msg, fmt, arg ? arg : "");
    return false;
}

/* The search filters /ask takes, by the names of /search. */
static const char *const FILTERS[] = {"lang",  "text_lang", "domain",    "path",
                                      "ext",   "after",     "before",    "min_width",
                                      "min_height", "min_size", "max_size", "min_score",
                                      "mode"};

static bool is_filter(const char *k)
{
    for (size_t i = 0; i < sizeof FILTERS / sizeof *FILTERS; i++)
        if (strcmp(k, FILTERS[i]) == 0)
            return true;
    return false;
}

/* Sets one search parameter through the library's parser; v is kept in
 * r (the parameters borrow strings). */
static bool set_search(srv_ask_req *r, const char *key, const char *v, srv_perr *e)
{
    if (r->n_owned >= (int)(sizeof r->owned / sizeof *r->owned))
        return perr_set(e, 400, "bad_request", "too many parameters%s", "");
    char *copy = strdup(v);
    if (!copy)
        return perr_set(e, 500, "internal", "no memory%s", "");
    r->owned[r->n_owned++] = copy;
    odx_err oe = {0};
    if (odx_search_params_set(&r->p.context.search, key, copy, &oe) == ODX_OK)
        return true;
    /* the library's message, cut to fit (send_error repairs a cut UTF-8) */
    e->status = 400;
    e->code = "bad_request";
    size_t n = strnlen(oe.msg, sizeof oe.msg);
    if (n >= sizeof e->msg)
        n = sizeof e->msg - 1;
    memcpy(e->msg, oe.msg, n);
    e->msg[n] = 0;
    return false;
}

static bool set_question(srv_ask_req *r, const char *q, srv_perr *e)
{
    size_t n = strlen(q);
    if (n == 0)
        return perr_set(e, 400, "bad_request", "the question is empty%s", "");
    if (n > SRV_MAX_Q) {
        char m[32];
        snprintf(m, sizeof m, "%d", SRV_MAX_Q);
        return perr_set(e, 413, "too_large", "the question is longer than %s bytes", m);
    }
    memcpy(r->question, q, n + 1);
    return true;
}

static bool set_int(const char *name, const char *v, long min, long max, long *out, srv_perr *e)
{
    if (srv_parse_long(v, min, max, out))
        return true;
    e->status = 400;
    e->code = "bad_request";
    snprintf(e->msg, sizeof e->msg, "%s must be an integer from %ld to %ld", name, min, max);
    return false;
}

static void req_init(srv_ask_req *r)
{
    memset(r, 0, sizeof *r);
    r->p = odx_ask_params_default();
    r->think = true;
}

/* k, max_chars, max_tokens, given as integers. */
static bool set_number(srv_ask_req *r, const char *key, const char *v, srv_perr *e)
{
    long n;
    if (strcmp(key, "k") == 0) {
        if (!set_int("k", v, 1, SRV_ASK_MAX_K, &n, e))
            return false;
        r->p.context.search.k = (int)n;
    } else if (strcmp(key, "max_chars") == 0) {
        if (!set_int("max_chars", v, 200, 1000000, &n, e))
            return false;
        r->p.context.max_chars = (int)n;
    } else {
        if (!set_int("max_tokens", v, 1, 1000000, &n, e))
            return false;
        r->p.max_tokens = (int)n;
    }
    return true;
}

bool srv_ask_parse_json(const char *body, size_t len, srv_ask_req *r, srv_perr *e)
{
    req_init(r);
    if (len == 0)
        return perr_set(e, 400, "bad_request",
                        "POST /ask needs a JSON body: {\"question\": \"...\"}%s", "");
    if (len > SRV_MAX_BODY)
        return perr_set(e, 413, "too_large", "the body is over 64 KiB%s", "");
    if (!srv_utf8_valid(body, len))
        return perr_set(e, 400, "bad_request", "the body is not UTF-8 text%s", "");
    cJSON *o = cJSON_ParseWithLength(body, len);
    bool ok = false;
    if (!cJSON_IsObject(o)) {
        perr_set(e, 400, "bad_request", "the body is not a JSON object%s", "");
        goto done;
    }
    bool have_q = false;
    for (const cJSON *it = o->child; it; it = it->next) {
        const char *k = it->string ? it->string : "";
        for (const cJSON *j = o->child; j != it; j = j->next)
            if (j->string && strcmp(j->string, k) == 0) {
                perr_set(e, 400, "bad_request", "field '%s' is given twice", k);
                goto done;
            }
        if (strcmp(k, "question") == 0) {
            if (!cJSON_IsString(it)) {
                perr_set(e, 400, "bad_request", "question must be a string%s", "");
                goto done;
            }
            if (!set_question(r, it->valuestring, e))
                goto done;
            have_q = true;
        } else if (!strcmp(k, "k") || !strcmp(k, "max_chars") || !strcmp(k, "max_tokens")) {
            double d = cJSON_IsNumber(it) ? it->valuedouble : -1;
            char num[32];
            if (!cJSON_IsNumber(it) || d != (double)(long long)d || d < -1e12 || d > 1e12) {
                perr_set(e, 400, "bad_request", "%s must be an integer", k);
                goto done;
            }
            snprintf(num, sizeof num, "%lld", (long long)d);
            if (!set_number(r, k, num, e))
                goto done;
        } else if (is_filter(k)) {
            char num[40];
            const char *v;
            if (cJSON_IsString(it)) {
                v = it->valuestring;
            } else if (cJSON_IsNumber(it)) {
                double d = it->valuedouble;
                if (d == (double)(long long)d && d > -1e15 && d < 1e15)
                    snprintf(num, sizeof num, "%lld", (long long)d);
                else
                    snprintf(num, sizeof num, "%.17g", d);
                v = num;
            } else {
                perr_set(e, 400, "bad_request", "%s must be a string or a number", k);
                goto done;
            }
            if (!set_search(r, k, v, e))
                goto done;
        } else if (!strcmp(k, "think") || !strcmp(k, "with_images")) {
            if (!cJSON_IsBool(it)) {
                perr_set(e, 400, "bad_request", "%s must be true or false", k);
                goto done;
            }
            if (!strcmp(k, "think"))
                r->think = cJSON_IsTrue(it);
            else
                r->p.with_images = cJSON_IsTrue(it);
        } else {
            char kk[48];
            snprintf(kk, sizeof kk, "%s", k);
            perr_set(e, 400, "bad_request",
                     "unknown field '%s' (question, k, max_chars, max_tokens, think, "
                     "with_images and the /search filters)", kk);
            goto done;
        }
    }
    if (!have_q) {
        perr_set(e, 400, "bad_request", "missing field question%s", "");
        goto done;
    }
    ok = true;
done:
    cJSON_Delete(o);
    return ok;
}

/* ---------------------------------------------------------- answers ---- */

static const char CT_JSON[] = "application/json; charset=utf-8";

/* {"error": code, "message": msg} as a whole response. */
static void send_error(srv_conn *c, int status, const char *code, const char *msg)
{
    char *m = srv_utf8_fix(msg ? msg : "", msg ? strlen(msg) : 0);
    cJSON *j = cJSON_CreateObject();
    char *s = NULL;
    if (j && m && cJSON_AddStringToObject(j, "error", code) &&
        cJSON_AddStringToObject(j, "message", m))
        s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    free(m);
    const char *extra = status == 503 ? "Retry-After: 1\r\nCache-Control: no-store\r\n"
                                      : "Cache-Control: no-store\r\n";
    if (s) {
        size_t n = strlen(s);
        s[n] = '\n';
        srv_send(c, status, CT_JSON, extra, s, n + 1, false);
    } else {
        static const char oom[] = "{\"error\":\"internal\",\"message\":\"no memory\"}\n";
        srv_send(c, 500, CT_JSON, extra, oom, sizeof oom - 1, false);
    }
    free(s);
}

/* An event stream on c, begun at the first piece (so that a failure before
 * it is still an ordinary HTTP error), chunked on HTTP/1.1. */
typedef struct sse {
    srv_conn *c;
    srv_ask *a;
    bool started, chunked, think, failed;
    /* odx_ask's cancel flag (volatile int by its API): set and read on this
     * request's thread only, by on_piece and the writers below */
    volatile int cancel;
    char carry[2][4];    /* [reasoning]: an incomplete UTF-8 sequence held back */
    size_t n_carry[2];
} sse;

size_t srv_utf8_tail(const char *s, size_t len)
{
    /* back over at most 3 continuation bytes to the sequence's lead */
    size_t i = len, k = 0;
    while (i > 0 && k < 3 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
        i--, k++;
    if (i == 0)
        return 0;
    unsigned char lead = (unsigned char)s[i - 1];
    size_t need = lead >= 0xF0 && lead <= 0xF4   ? 4
                  : lead >= 0xE0 && lead < 0xF0 ? 3
                  : lead >= 0xC2 && lead < 0xE0 ? 2
                                                : 1;
    size_t have = len - (i - 1);
    return need > 1 && have < need ? have : 0;
}

static bool sse_write(sse *x, const char *s, size_t n)
{
    if (x->failed)
        return false;
    bool ok;
    if (x->chunked) {
        char h[24];
        int hn = snprintf(h, sizeof h, "%zx\r\n", n);
        ok = srv_write(x->c, h, (size_t)hn) && srv_write(x->c, s, n) &&
             srv_write(x->c, "\r\n", 2);
    } else {
        ok = srv_write(x->c, s, n);
    }
    if (!ok) {
        x->failed = true;
        x->cancel = 1; /* nobody reads the answer: stop the model */
    }
    return ok;
}

static bool sse_start(sse *x)
{
    if (x->started)
        return !x->failed;
    x->started = true;
    srv_conn *c = x->c;
    x->chunked = c->req.minor >= 1;
    if (!x->chunked || !c->req.keep_alive)
        c->close_after = true; /* HTTP/1.0: the end of the stream is the end of the connection */
    char head[512];
    int hn = snprintf(head, sizeof head,
                      "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream; charset=utf-8\r\n"
                      "Cache-Control: no-store\r\nX-Accel-Buffering: no\r\n"
                      "X-Content-Type-Options: nosniff\r\n%sConnection: %s\r\n\r\n",
                      x->chunked ? "Transfer-Encoding: chunked\r\n" : "",
                      c->close_after ? "close" : "keep-alive");
    c->status = 200;
    if (!srv_write(c, head, (size_t)hn)) {
        x->failed = true;
        x->cancel = 1;
        return false;
    }
    return true;
}

/* "event: NAME\ndata: JSON\n\n"; json is one line (cJSON unformatted). */
static void sse_event(sse *x, const char *name, const char *json)
{
    if (!sse_start(x))
        return;
    size_t n = strlen(name) + strlen(json) + 17;
    char *s = malloc(n);
    if (!s) {
        x->failed = true;
        x->cancel = 1;
        return;
    }
    int k = snprintf(s, n, "event: %s\ndata: %s\n\n", name, json);
    sse_write(x, s, (size_t)k);
    free(s);
}

static void sse_end(sse *x)
{
    if (x->chunked && !x->failed && srv_write(x->c, "0\r\n\r\n", 5))
        return;
    x->c->close_after = true;
}

/* One "answer" or "reasoning" event with text[0..len) as {"text"}. */
static void sse_text(sse *x, bool reasoning, const char *text, size_t len)
{
    char *t = srv_utf8_fix(text, len);
    cJSON *o = cJSON_CreateObject();
    char *s = t && o && cJSON_AddStringToObject(o, "text", t) ? cJSON_PrintUnformatted(o) : NULL;
    if (s)
        sse_event(x, reasoning ? "reasoning" : "answer", s);
    else
        x->cancel = 1, x->failed = true;
    free(s);
    cJSON_Delete(o);
    free(t);
}

/* A piece as the model sends it; a UTF-8 sequence split across pieces is
 * held back until the rest comes, so each event's text is whole. */
static void on_piece(const char *piece, size_t len, bool reasoning, void *user)
{
    sse *x = user;
    if (atomic_load(&x->a->stopping))
        x->cancel = 1;
    if (x->failed || (reasoning && !x->think) || len == 0)
        return;
    int r = reasoning ? 1 : 0;
    size_t n = x->n_carry[r] + len;
    char *buf = malloc(n);
    if (!buf) {
        x->cancel = 1, x->failed = true;
        return;
    }
    memcpy(buf, x->carry[r], x->n_carry[r]);
    memcpy(buf + x->n_carry[r], piece, len);
    size_t tail = srv_utf8_tail(buf, n);
    memcpy(x->carry[r], buf + n - tail, tail);
    x->n_carry[r] = tail;
    if (n > tail)
        sse_text(x, reasoning, buf, n - tail);
    free(buf);
}

/* What is still held back at the end (a sequence that never completed). */
static void sse_flush(sse *x)
{
    for (int r = 0; r < 2; r++)
        if (x->n_carry[r] && !x->failed) {
            sse_text(x, r == 1, x->carry[r], x->n_carry[r]);
            x->n_carry[r] = 0;
        }
}

/* odx_ask's JSON without the reasoning when think is off; UTF-8 made sure
 * (paths may hold any bytes). malloc'd, with a newline. */
static char *final_json(const char *json, bool think)
{
    cJSON *o = cJSON_Parse(json);
    if (!o)
        return NULL;
    if (!think)
        cJSON_DeleteItemFromObjectCaseSensitive(o, "reasoning");
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!s)
        return NULL;
    size_t n = strlen(s);
    char *fixed = srv_utf8_valid(s, n) ? s : srv_utf8_fix(s, n);
    if (fixed != s)
        free(s);
    if (!fixed)
        return NULL;
    n = strlen(fixed);
    char *out = realloc(fixed, n + 2);
    if (!out) {
        free(fixed);
        return NULL;
    }
    memcpy(out + n, "\n", 2);
    return out;
}

/* The status and code of a failed odx_ask. */
static void ask_error(srv_conn *c, sse *x, odx_status st, const odx_err *e)
{
    int status = 500;
    const char *code = "internal";
    const char *msg = e->msg[0] ? e->msg : odx_status_str(st);
    if (st == ODX_ERR_REMOTE) {
        status = 502, code = "bad_gateway";
    } else if (st == ODX_ERR_NOT_CONFIGURED) {
        status = 503, code = "not_configured";
    } else if (st == ODX_ERR_INVALID) {
        status = 400, code = "bad_request";
    } else if (st == ODX_ERR_NOT_FOUND) {
        status = 404, code = "not_found";
    } else if (st == ODX_ERR_INTERRUPTED) {
        status = 503, code = "unavailable";
        msg = "the server is stopping";
    }
    if (!x->started) {
        send_error(c, status, code, msg);
        return;
    }
    /* the stream has begun: the failure is its last event */
    sse_flush(x);
    char *m = srv_utf8_fix(msg, strlen(msg));
    cJSON *o = cJSON_CreateObject();
    char *s = NULL;
    if (m && o && cJSON_AddStringToObject(o, "error", code) && cJSON_AddStringToObject(o, "message", m))
        s = cJSON_PrintUnformatted(o);
    if (s)
        sse_event(x, "error", s);
    free(s);
    cJSON_Delete(o);
    free(m);
    sse_end(x);
}

bool srv_ask_wants_sse(const char *accept)
{
    double q_sse = 0, q_json = 0;
    if (srv_accept_match(accept, "text/event-stream", &q_sse) != 3 || q_sse <= 0)
        return false;
    return srv_accept_match(accept, "application/json", &q_json) == 0 || q_sse >= q_json;
}

static bool is_json_type(const char *ct)
{
    if (!ct)
        return false;
    size_t n = strlen("application/json");
    return strncasecmp(ct, "application/json", n) == 0 &&
           (ct[n] == 0 || ct[n] == ';' || ct[n] == ' ');
}

void srv_ask_handle(srv_ask *a, odx_db *db, srv_conn *c)
{
    const srv_req *rq = &c->req; /* a POST (route refuses other methods) */
    srv_ask_req r;
    srv_perr pe = {0};
    bool ok;
    if (!is_json_type(rq->content_type)) {
        req_init(&r);
        ok = perr_set(&pe, 415, "unsupported_media_type",
                      "POST /ask takes Content-Type: application/json%s", "");
    } else {
        ok = srv_ask_parse_json(c->body, c->body_len, &r, &pe);
    }
    if (!ok) {
        send_error(c, pe.status, pe.code, pe.msg);
        srv_ask_req_clear(&r);
        return;
    }
    pthread_mutex_lock(&a->mu);
    bool room = a->active < a->jobs && !atomic_load(&a->stopping);
    if (room)
        a->active++;
    pthread_mutex_unlock(&a->mu);
    if (!room) {
        char m[160];
        snprintf(m, sizeof m, "%d questions are being answered (serve --ask-jobs); "
                 "try again shortly", a->jobs);
        send_error(c, 503, "unavailable", m);
        srv_ask_req_clear(&r);
        return;
    }
    sse x = {.c = c, .a = a, .think = r.think};
    bool stream = srv_ask_wants_sse(rq->accept);
    odx_ask_params p = r.p;
    p.llm_url = a->llm_url;
    p.llm_model = a->llm_model;
    p.timeout_s = a->timeout_s;
    p.stream = stream;
    p.cancel = &x.cancel;
    odx_err e = {0};
    char *json = NULL;
    odx_status st = odx_ask(db, r.question, &p, stream ? on_piece : NULL, &x, &json, &e);
    if (st != ODX_OK && x.failed) {
        c->close_after = true; /* the client is gone */
    } else if (st != ODX_OK) {
        ask_error(c, &x, st, &e);
    } else {
        char *body = final_json(json, r.think);
        if (!body) {
            odx_err ne = {0};
            snprintf(ne.msg, sizeof ne.msg, "no memory for the answer");
            ask_error(c, &x, ODX_ERR_NOMEM, &ne);
        } else if (stream) {
            body[strlen(body) - 1] = 0;
            sse_flush(&x);
            sse_event(&x, "done", body);
            sse_end(&x);
        } else {
            srv_send(c, 200, CT_JSON, "Cache-Control: no-store\r\n", body, strlen(body), false);
        }
        free(body);
    }
    odx_free(json);
    pthread_mutex_lock(&a->mu);
    a->active--;
    pthread_mutex_unlock(&a->mu);
    srv_ask_req_clear(&r);
}

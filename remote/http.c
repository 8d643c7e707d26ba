/* http.c - the OpenAI-compatible chat client over libcurl: one easy handle
 * per call, bounded bodies, retries with backoff (Retry-After honoured),
 * a circuit breaker shared by the threads of one client, SSE parsing, and
 * the <think>/reasoning_content split of reasoning models. */
#define _GNU_SOURCE /* memmem */
#include "remote.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct rmt_client {
    rmt_config cfg;
    char *base_url, *api_key, *chat_url, *embed_url;
    pthread_mutex_t mu;  /* breaker state */
    int fails;           /* consecutive failed attempts */
    double open_until;   /* circuit open until this time (core_now) */
    bool probing;        /* half-open: one call is trying the endpoint */
};

rmt_config rmt_config_default(void)
{
    rmt_config c;
    memset(&c, 0, sizeof c);
    c.timeout_s = 120;
    c.connect_timeout_s = 10;
    c.max_retries = 3;
    c.backoff_s = 1;
    c.max_wait_s = 30;
    c.max_response_bytes = 8u << 20;
    c.max_answer_bytes = 64u << 10;
    c.breaker_failures = 4;
    c.breaker_cooldown_s = 30;
    return c;
}

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static CURLcode g_init_rc;
static void global_init(void)
{
    g_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

odx_status rmt_client_new(const rmt_config *cfg, rmt_client **out, odx_err *err)
{
    if (!cfg || !cfg->base_url || !*cfg->base_url)
        return core_err(err, ODX_ERR_INVALID, "no endpoint URL given");
    if (strncasecmp(cfg->base_url, "http://", 7) != 0 &&
        strncasecmp(cfg->base_url, "https://", 8) != 0)
        return core_err(err, ODX_ERR_INVALID,
                        "endpoint '%s' is not an http:// or https:// URL", cfg->base_url);
    pthread_once(&g_once, global_init);
    if (g_init_rc != CURLE_OK)
        return core_err(err, ODX_ERR_REMOTE, "libcurl: %s", curl_easy_strerror(g_init_rc));
    rmt_client *c = calloc(1, sizeof *c);
    if (!c)
        return core_err(err, ODX_ERR_NOMEM, "no memory for the client");
    c->cfg = *cfg;
    rmt_config d = rmt_config_default();
    if (c->cfg.timeout_s <= 0)
        c->cfg.timeout_s = d.timeout_s;
    if (c->cfg.connect_timeout_s <= 0)
        c->cfg.connect_timeout_s = d.connect_timeout_s;
    if (c->cfg.max_retries < 0)
        c->cfg.max_retries = 0;
    if (c->cfg.max_response_bytes == 0)
        c->cfg.max_response_bytes = d.max_response_bytes;
    if (c->cfg.max_answer_bytes == 0)
        c->cfg.max_answer_bytes = d.max_answer_bytes;
    if (c->cfg.breaker_failures <= 0)
        c->cfg.breaker_failures = d.breaker_failures;
    size_t n = strlen(cfg->base_url);
    while (n > 0 && cfg->base_url[n - 1] == '/')
        n--;
    c->base_url = strndup(cfg->base_url, n);
    c->api_key = cfg->api_key && *cfg->api_key ? core_strdup(cfg->api_key) : NULL;
    c->chat_url = c->base_url ? core_sprintf("%s/chat/completions", c->base_url) : NULL;
    c->embed_url = c->base_url ? core_sprintf("%s/embeddings", c->base_url) : NULL;
    c->cfg.base_url = c->base_url;
    c->cfg.api_key = c->api_key;
    pthread_mutex_init(&c->mu, NULL);
    if (!c->base_url || !c->chat_url || !c->embed_url || (cfg->api_key && *cfg->api_key && !c->api_key)) {
        rmt_client_free(c);
        return core_err(err, ODX_ERR_NOMEM, "no memory for the client");
    }
    *out = c;
    return ODX_OK;
}

void rmt_client_free(rmt_client *c)
{
    if (!c)
        return;
    pthread_mutex_destroy(&c->mu);
    free(c->base_url);
    free(c->api_key);
    free(c->chat_url);
    free(c->embed_url);
    free(c);
}

bool rmt_client_down(rmt_client *c)
{
    if (!c)
        return false;
    pthread_mutex_lock(&c->mu);
    bool down = c->fails >= c->cfg.breaker_failures && core_now() < c->open_until;
    pthread_mutex_unlock(&c->mu);
    return down;
}

/* Breaker: may this attempt go out? Closed: yes. Open: no until the
 * cooldown passes; then one attempt (half-open) probes the endpoint while
 * the others still fail at once. */
static bool breaker_admit(rmt_client *c, double *retry_in)
{
    pthread_mutex_lock(&c->mu);
    bool ok = true;
    if (c->fails >= c->cfg.breaker_failures) {
        double now = core_now();
        if (now < c->open_until || c->probing) {
            ok = false;
            *retry_in = c->open_until > now ? c->open_until - now : 0;
        } else {
            c->probing = true;
        }
    }
    pthread_mutex_unlock(&c->mu);
    return ok;
}

static void breaker_report(rmt_client *c, bool success)
{
    pthread_mutex_lock(&c->mu);
    c->probing = false;
    if (success) {
        c->fails = 0;
    } else if (++c->fails >= c->cfg.breaker_failures) {
        c->open_until = core_now() + c->cfg.breaker_cooldown_s;
        if (c->fails == c->cfg.breaker_failures)
            core_log(CORE_LOG_WARN, "%s: %d failures in a row: not calling it for %.0f s",
                     c->base_url, c->fails, c->cfg.breaker_cooldown_s);
    }
    pthread_mutex_unlock(&c->mu);
}

/* ------------------------------------------------------------ answer ---- */

/* The answer being assembled: content and reasoning, the <think> split,
 * the cap on the content. */
typedef struct answer {
    core_buf content, reasoning;
    int think;          /* 0 undecided (start of the content), 1 inside <think>,
                           3 just after it (white space skipped), 2 content */
    core_buf pending;   /* bytes held back while a tag may be split */
    bool truncated;
    size_t max;
    rmt_piece_fn fn;
    void *user;
    bool emitted;       /* something reached fn (no retry after that) */
} answer;

static void answer_init(answer *a, size_t max, rmt_piece_fn fn, void *user)
{
    memset(a, 0, sizeof *a);
    core_buf_init(&a->content, max + 16);
    core_buf_init(&a->reasoning, max + 16);
    core_buf_init(&a->pending, 0); /* bounded by the body caps upstream */
    a->max = max;
    a->fn = fn;
    a->user = user;
}

static void answer_free(answer *a)
{
    core_buf_free(&a->content);
    core_buf_free(&a->reasoning);
    core_buf_free(&a->pending);
}

/* Drops an incomplete UTF-8 sequence at the end of b (after a cut). */
static void trim_utf8_tail(core_buf *b)
{
    size_t i = b->len, back = 0;
    while (i > 0 && back < 4 && ((unsigned char)b->data[i - 1] & 0xC0) == 0x80)
        i--, back++;
    if (i == 0)
        return;
    unsigned char lead = (unsigned char)b->data[i - 1];
    size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    if (need > 1 && b->len - (i - 1) < need) {
        b->len = i - 1;
        b->data[b->len] = 0;
    }
}

static void emit(answer *a, const char *s, size_t n, bool reasoning)
{
    if (!n)
        return;
    core_buf *b = reasoning ? &a->reasoning : &a->content;
    bool cut = false;
    if (b->len + n > a->max) {
        n = b->len < a->max ? a->max - b->len : 0;
        a->truncated = cut = true;
    }
    if (n) {
        core_buf_append(b, s, n);
        if (a->fn) {
            a->fn(a->user, s, n, reasoning);
            a->emitted = true;
        }
    }
    /* the cut is on the whole text, so it does not depend on how the
     * answer was split into pieces */
    if (cut)
        trim_utf8_tail(b);
}

static const char OPEN_TAG[] = "<think>", CLOSE_TAG[] = "</think>";

/* Content text in arrival order. A leading <think>...</think> block (after
 * white space) goes to the reasoning; tags split across pieces are held
 * back until they can be told apart from text. */
static void answer_content(answer *a, const char *s, size_t n)
{
    core_buf_append(&a->pending, s, n);
    for (;;) {
        const char *p = a->pending.data ? a->pending.data : "";
        size_t len = a->pending.len, used = 0;
        if (a->think == 0) {
            size_t ws = 0;
            while (ws < len && (p[ws] == ' ' || p[ws] == '\n' || p[ws] == '\r' || p[ws] == '\t'))
                ws++;
            size_t rest = len - ws, tl = sizeof OPEN_TAG - 1;
            if (rest < tl && memcmp(p + ws, OPEN_TAG, rest) == 0)
                return; /* could still become <think> */
            if (rest >= tl && memcmp(p + ws, OPEN_TAG, tl) == 0) {
                a->think = 1;
                used = ws + tl;
            } else {
                a->think = 2;
            }
        } else if (a->think == 1) {
            const char *e = memmem(p, len, CLOSE_TAG, sizeof CLOSE_TAG - 1);
            if (e) {
                emit(a, p, (size_t)(e - p), true);
                used = (size_t)(e - p) + sizeof CLOSE_TAG - 1;
                a->think = 3;
            } else {
                size_t keep = sizeof CLOSE_TAG - 2, out = len > keep ? len - keep : 0;
                while (out > 0 && ((unsigned char)p[out] & 0xC0) == 0x80)
                    out--;
                emit(a, p, out, true);
                used = out;
                if (!used)
                    return;
            }
        } else if (a->think == 3) {
            /* the white space after the block is not content (it may come
             * in later pieces) */
            while (used < len && (p[used] == '\n' || p[used] == ' ' || p[used] == '\r' ||
                                  p[used] == '\t'))
                used++;
            if (used < len)
                a->think = 2;
        } else {
            emit(a, p, len, false);
            used = len;
        }
        /* drop what was used */
        memmove(a->pending.data, a->pending.data + used, len - used);
        a->pending.len = len - used;
        a->pending.data[a->pending.len] = 0;
        if (a->pending.len == 0)
            return;
        if (used == 0 && a->think != 2)
            return;
    }
}

/* End of the answer: whatever is held back is content (an unclosed
 * <think> block stays reasoning). */
static void answer_finish(answer *a)
{
    if (a->pending.len) {
        if (a->think == 1)
            emit(a, a->pending.data, a->pending.len, true);
        else
            emit(a, a->pending.data, a->pending.len, false);
        a->pending.len = 0;
    }
}

/* The text of a message "content": a string or an array of text parts. */
static void add_content_value(answer *a, const cJSON *v)
{
    if (cJSON_IsString(v)) {
        answer_content(a, v->valuestring, strlen(v->valuestring));
    } else if (cJSON_IsArray(v)) {
        const cJSON *it;
        cJSON_ArrayForEach(it, v) {
            const cJSON *t = cJSON_GetObjectItem(it, "text");
            if (cJSON_IsString(t))
                answer_content(a, t->valuestring, strlen(t->valuestring));
        }
    }
}

static void add_reasoning_value(answer *a, const cJSON *o)
{
    const cJSON *r = cJSON_GetObjectItem(o, "reasoning_content");
    if (!cJSON_IsString(r))
        r = cJSON_GetObjectItem(o, "reasoning");
    if (cJSON_IsString(r))
        emit(a, r->valuestring, strlen(r->valuestring), true);
}

/* ---------------------------------------------------------- transfer ---- */

typedef struct xfer {
    rmt_client *c;
    core_buf body;       /* non-streaming body, or the SSE line buffer */
    bool over;           /* body over the cap */
    bool stream, sse_done, sse_bad;
    double retry_after;  /* seconds from the Retry-After header, -1 none */
    answer *a;
    char finish[32];
    char err_msg[256];   /* an error event inside the stream */
    double last_rx;      /* when bytes last came (streams: the silence bound) */
    bool idle;           /* stopped for silence */
} xfer;

static size_t on_header(char *buf, size_t size, size_t n, void *ud)
{
    xfer *x = ud;
    size_t len = size * n;
    if (len > 12 && strncasecmp(buf, "retry-after:", 12) == 0) {
        char tmp[64];
        size_t m = len - 12 < sizeof tmp - 1 ? len - 12 : sizeof tmp - 1;
        memcpy(tmp, buf + 12, m);
        tmp[m] = 0;
        char *end;
        double v = strtod(tmp, &end);
        if (end != tmp && v >= 0)
            x->retry_after = v;
        /* an HTTP date is not parsed: the backoff applies instead */
    }
    return len;
}

/* One SSE line (without its line end). */
static void sse_line(xfer *x, const char *line, size_t len)
{
    if (len < 5 || strncmp(line, "data:", 5) != 0)
        return; /* comments (':'), event:, id:, retry: lines */
    line += 5;
    len -= 5;
    if (len && *line == ' ')
        line++, len--;
    if (len == 6 && strncmp(line, "[DONE]", 6) == 0) {
        x->sse_done = true;
        return;
    }
    cJSON *o = cJSON_ParseWithLength(line, len);
    if (!o) {
        x->sse_bad = true;
        return;
    }
    const cJSON *e = cJSON_GetObjectItem(o, "error");
    if (e) {
        const cJSON *m = cJSON_GetObjectItem(e, "message");
        snprintf(x->err_msg, sizeof x->err_msg, "%s",
                 cJSON_IsString(m) ? m->valuestring : cJSON_IsString(e) ? e->valuestring
                                                                         : "error event");
    }
    const cJSON *ch = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "choices"), 0);
    const cJSON *d = cJSON_GetObjectItem(ch, "delta");
    if (!d)
        d = cJSON_GetObjectItem(ch, "message");
    if (d) {
        add_reasoning_value(x->a, d);
        add_content_value(x->a, cJSON_GetObjectItem(d, "content"));
    }
    const cJSON *fr = cJSON_GetObjectItem(ch, "finish_reason");
    if (cJSON_IsString(fr))
        snprintf(x->finish, sizeof x->finish, "%s", fr->valuestring);
    cJSON_Delete(o);
}

static size_t on_body(char *buf, size_t size, size_t n, void *ud)
{
    xfer *x = ud;
    size_t len = size * n;
    if (x->c->cfg.cancel && *x->c->cfg.cancel)
        return 0;
    x->last_rx = core_now();
    if (!x->stream) {
        if (x->body.len + len > x->c->cfg.max_response_bytes || !core_buf_append(&x->body, buf, len)) {
            x->over = true;
            return 0; /* curl stops with CURLE_WRITE_ERROR */
        }
        return len;
    }
    /* SSE: complete lines are handled as they come; the rest waits */
    if (!core_buf_append(&x->body, buf, len)) {
        x->over = true; /* one line over the cap */
        return 0;
    }
    size_t start = 0;
    for (size_t i = 0; i < x->body.len; i++) {
        if (x->body.data[i] != '\n')
            continue;
        size_t e = i;
        if (e > start && x->body.data[e - 1] == '\r')
            e--;
        sse_line(x, x->body.data + start, e - start);
        start = i + 1;
    }
    memmove(x->body.data, x->body.data + start, x->body.len - start);
    x->body.len -= start;
    x->body.data[x->body.len] = 0;
    return len;
}

static int on_progress(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
    (void)dt, (void)dn, (void)ut, (void)un;
    xfer *x = ud;
    if (x->c->cfg.cancel && *x->c->cfg.cancel)
        return 1;
    /* libcurl calls this at least once a second, also while nothing comes */
    if (x->stream && core_now() - x->last_rx > x->c->cfg.timeout_s) {
        x->idle = true;
        return 1;
    }
    return 0;
}

static char *build_body(const rmt_chat_req *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "model", r->model ? r->model : "");
    cJSON *msgs = cJSON_AddArrayToObject(o, "messages");
    if (r->system) {
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "role", "system");
        cJSON_AddStringToObject(m, "content", r->system);
        cJSON_AddItemToArray(msgs, m);
    }
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "role", "user");
    if (r->image_url || r->n_image_urls > 0) {
        cJSON *parts = cJSON_AddArrayToObject(m, "content");
        for (int i = -1; i < r->n_image_urls; i++) {
            const char *u = i < 0 ? r->image_url : r->image_urls[i];
            if (!u)
                continue;
            cJSON *img = cJSON_CreateObject();
            cJSON_AddStringToObject(img, "type", "image_url");
            cJSON *iu = cJSON_AddObjectToObject(img, "image_url");
            cJSON_AddStringToObject(iu, "url", u);
            cJSON_AddItemToArray(parts, img);
        }
        cJSON *txt = cJSON_CreateObject();
        cJSON_AddStringToObject(txt, "type", "text");
        cJSON_AddStringToObject(txt, "text", r->user ? r->user : "");
        cJSON_AddItemToArray(parts, txt);
    } else {
        cJSON_AddStringToObject(m, "content", r->user ? r->user : "");
    }
    cJSON_AddItemToArray(msgs, m);
    if (r->max_tokens > 0)
        cJSON_AddNumberToObject(o, "max_tokens", r->max_tokens);
    if (r->temperature >= 0)
        cJSON_AddNumberToObject(o, "temperature", r->temperature);
    if (r->stream)
        cJSON_AddBoolToObject(o, "stream", true);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

/* The server's own error message from a JSON error body, into buf. */
static void error_message(const char *body, char *buf, size_t len)
{
    buf[0] = 0;
    cJSON *o = body ? cJSON_Parse(body) : NULL;
    const cJSON *e = cJSON_GetObjectItem(o, "error");
    const cJSON *m = cJSON_IsObject(e) ? cJSON_GetObjectItem(e, "message") : e;
    if (cJSON_IsString(m))
        snprintf(buf, len, ": %s", m->valuestring);
    else if (body && *body && !o)
        snprintf(buf, len, ": %.120s", body);
    cJSON_Delete(o);
}

enum { TRY_OK, TRY_RETRY, TRY_FAIL };

/* What an embeddings call expects and gets: n_want vectors of one
 * dimension (dim_want, or any when 0); v holds n_want * dim floats, in
 * input order. */
typedef struct emb_out {
    int n_want, dim_want;
    float *v;
    int dim;
} emb_out;

/* Checks an /embeddings body and fills eo. Not JSON, or JSON without a
 * "data" array, is retried (a proxy's error page, a cut body); a well
 * formed answer with the wrong content (count, dimension, a value that
 * is not a finite number, an all-zero vector) is refused at once: asking
 * again would get the same. */
static int parse_embeddings(const char *url, const char *body, size_t len, emb_out *eo,
                            odx_err *err)
{
    cJSON *o = cJSON_ParseWithLength(body ? body : "", len);
    const cJSON *data = cJSON_GetObjectItem(o, "data");
    int res = TRY_FAIL, n = cJSON_GetArraySize(data), dim = 0;
    float *v = NULL;
    bool *seen = NULL;
    if (!o || !cJSON_IsArray(data)) {
        core_err(err, ODX_ERR_REMOTE, "%s: malformed answer (%s, %zu bytes)", url,
                 o ? "no data array" : "not JSON", len);
        res = TRY_RETRY;
        goto done;
    }
    if (n != eo->n_want) {
        core_err(err, ODX_ERR_REMOTE, "%s: %d vectors for %d inputs: batch refused", url, n,
                 eo->n_want);
        goto done;
    }
    seen = calloc((size_t)(n ? n : 1), sizeof *seen);
    if (!seen) {
        core_err(err, ODX_ERR_NOMEM, "no memory for the embeddings");
        goto done;
    }
    const cJSON *it;
    int i = 0;
    cJSON_ArrayForEach(it, data) {
        const cJSON *e = cJSON_GetObjectItem(it, "embedding");
        const cJSON *ix = cJSON_GetObjectItem(it, "index");
        int at = i;
        if (ix && (!cJSON_IsNumber(ix) || ix->valuedouble != (double)(int)ix->valuedouble ||
                   ix->valueint < 0 || ix->valueint >= n || seen[ix->valueint])) {
            core_err(err, ODX_ERR_REMOTE, "%s: data[%d] has a bad or repeated index: batch refused",
                     url, i);
            goto done;
        }
        if (ix)
            at = ix->valueint;
        seen[at] = true;
        int d = cJSON_GetArraySize(e);
        if (!cJSON_IsArray(e) || d < 1 || d > RMT_EMBED_MAX_DIM) {
            core_err(err, ODX_ERR_REMOTE,
                     "%s: data[%d].embedding is %s: batch refused (base64 answers are not read)",
                     url, i, cJSON_IsArray(e) ? "empty or too long" : "not an array of numbers");
            goto done;
        }
        if (!v) {
            dim = d;
            if (eo->dim_want > 0 && dim != eo->dim_want) {
                core_err(err, ODX_ERR_REMOTE,
                         "%s: vectors of dimension %d, expected %d: batch refused", url, dim,
                         eo->dim_want);
                goto done;
            }
            if (!(v = malloc(sizeof *v * (size_t)n * (size_t)dim))) {
                core_err(err, ODX_ERR_NOMEM, "no memory for the embeddings");
                goto done;
            }
        } else if (d != dim) {
            core_err(err, ODX_ERR_REMOTE,
                     "%s: data[%d] has dimension %d, data[0] %d: batch refused", url, i, d, dim);
            goto done;
        }
        const cJSON *x;
        int j = 0;
        double norm = 0;
        cJSON_ArrayForEach(x, e) {
            double f = cJSON_IsNumber(x) ? x->valuedouble : NAN;
            if (!cJSON_IsNumber(x) || !isfinite(f) || !isfinite((float)f)) {
                core_err(err, ODX_ERR_REMOTE, "%s: data[%d].embedding[%d] is %s: batch refused",
                         url, i, j, cJSON_IsNumber(x) ? "not a finite float" : "not a number");
                goto done;
            }
            v[(size_t)at * (size_t)dim + (size_t)j++] = (float)f;
            norm += f * f;
        }
        if (!(norm > 0)) {
            core_err(err, ODX_ERR_REMOTE, "%s: data[%d].embedding is all zeros: batch refused",
                     url, i);
            goto done;
        }
        i++;
    }
    eo->v = v;
    eo->dim = dim;
    v = NULL;
    res = TRY_OK;
done:
    free(v);
    free(seen);
    cJSON_Delete(o);
    return res;
}

/* One attempt. Returns TRY_OK, TRY_RETRY (transient: counted by the
 * breaker) or TRY_FAIL (the request itself is wrong: no retry). */
static int attempt(rmt_client *c, const char *url, const char *body, bool stream, answer *a,
                   emb_out *eo, rmt_chat_resp *out, double *retry_after, odx_err *err)
{
    xfer x;
    memset(&x, 0, sizeof x);
    x.c = c;
    x.stream = stream;
    x.retry_after = -1;
    x.a = a;
    core_buf_init(&x.body, stream ? 1u << 20 : c->cfg.max_response_bytes + 1);
    int res = TRY_FAIL;
    CURL *h = curl_easy_init();
    struct curl_slist *hd = NULL;
    if (!h) {
        core_err(err, ODX_ERR_NOMEM, "libcurl: cannot make a transfer");
        goto done;
    }
    hd = curl_slist_append(hd, "Content-Type: application/json");
    hd = curl_slist_append(hd, stream ? "Accept: text/event-stream" : "Accept: application/json");
    hd = curl_slist_append(hd, "Expect:");
    char *auth = c->api_key ? core_sprintf("Authorization: Bearer %s", c->api_key) : NULL;
    if (auth)
        hd = curl_slist_append(hd, auth);
    free(auth);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(c->cfg.connect_timeout_s * 1000));
    if (stream) {
        /* a stream may run long: what is bounded is the silence
         * (on_progress), and the wait for the answer to start */
        x.last_rx = core_now();
    } else {
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(c->cfg.timeout_s * 1000));
    }
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &x);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, &x);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "omnidex/" ODX_VERSION);
    char cerr[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);

    CURLcode rc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    out->http_status = (int)status;
    *retry_after = x.retry_after;
    if (c->cfg.cancel && *c->cfg.cancel) {
        core_err(err, ODX_ERR_INTERRUPTED, "%s: stopped", url);
        goto done;
    }
    if (x.over) {
        core_err(err, ODX_ERR_REMOTE, "%s: the answer is over %zu bytes: refused", url,
                 x.stream ? (size_t)1 << 20 : c->cfg.max_response_bytes);
        res = TRY_FAIL;
        goto done;
    }
    if (x.idle) {
        core_err(err, ODX_ERR_REMOTE, "%s: timed out: nothing came for %.0f s", url,
                 c->cfg.timeout_s);
        res = TRY_RETRY;
        goto done;
    }
    if (rc != CURLE_OK && !(x.stream && x.sse_done)) {
        core_err(err, ODX_ERR_REMOTE, "%s: %s", url, cerr[0] ? cerr : curl_easy_strerror(rc));
        res = TRY_RETRY;
        goto done;
    }
    if (status == 429 || status >= 500 || status < 200 || status >= 300) {
        char m[200];
        error_message(x.stream ? x.body.data : x.body.data, m, sizeof m);
        core_err(err, ODX_ERR_REMOTE, "%s: HTTP %ld%s", url, status, m);
        res = status == 429 || status >= 500 || status == 408 ? TRY_RETRY : TRY_FAIL;
        goto done;
    }
    if (x.stream) {
        if (x.body.len)
            sse_line(&x, x.body.data, x.body.len); /* a last line without its newline */
        if (x.err_msg[0]) {
            core_err(err, ODX_ERR_REMOTE, "%s: error in the stream: %s", url, x.err_msg);
            res = TRY_FAIL;
            goto done;
        }
        if (!x.sse_done && !x.finish[0]) {
            core_err(err, ODX_ERR_REMOTE, "%s: the stream ended before its end (no [DONE])",
                     url);
            res = TRY_RETRY;
            goto done;
        }
    } else if (eo) {
        res = parse_embeddings(url, x.body.data, x.body.len, eo, err);
        goto done;
    } else {
        cJSON *o = cJSON_ParseWithLength(x.body.data ? x.body.data : "", x.body.len);
        const cJSON *ch = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "choices"), 0);
        const cJSON *m = cJSON_GetObjectItem(ch, "message");
        if (!o || !cJSON_IsObject(m)) {
            core_err(err, ODX_ERR_REMOTE, "%s: malformed answer (%s, %zu bytes)", url,
                     o ? "no choices[0].message" : "not JSON", x.body.len);
            cJSON_Delete(o);
            res = TRY_RETRY;
            goto done;
        }
        add_reasoning_value(a, m);
        add_content_value(a, cJSON_GetObjectItem(m, "content"));
        const cJSON *fr = cJSON_GetObjectItem(ch, "finish_reason");
        if (cJSON_IsString(fr))
            snprintf(x.finish, sizeof x.finish, "%s", fr->valuestring);
        cJSON_Delete(o);
    }
    answer_finish(a);
    free(out->finish_reason);
    out->finish_reason = x.finish[0] ? core_strdup(x.finish) : NULL;
    res = TRY_OK;
done:
    curl_slist_free_all(hd);
    if (h)
        curl_easy_cleanup(h);
    core_buf_free(&x.body);
    return res;
}

/* Sleeps s seconds in short steps; false when cancelled. */
static bool nap(rmt_client *c, double s)
{
    double end = core_now() + s;
    for (;;) {
        if (c->cfg.cancel && *c->cfg.cancel)
            return false;
        double left = end - core_now();
        if (left <= 0)
            return true;
        double step = left < 0.1 ? left : 0.1;
        struct timespec ts = {(time_t)step, (long)((step - (double)(time_t)step) * 1e9)};
        nanosleep(&ts, NULL);
    }
}

void rmt_chat_resp_clear(rmt_chat_resp *r)
{
    if (!r)
        return;
    free(r->content);
    free(r->reasoning);
    free(r->finish_reason);
    memset(r, 0, sizeof *r);
}

/* The calls' common loop: the breaker, attempts, retries with backoff
 * (Retry-After replaces it), the error of the last attempt. A chat (eo
 * NULL) fills out's content; an embeddings call fills eo. */
static odx_status call(rmt_client *c, const char *url, const char *body, bool stream,
                       rmt_piece_fn fn, void *user, emb_out *eo, rmt_chat_resp *out, odx_err *err)
{
    odx_status st = ODX_ERR_REMOTE;
    double wait = c->cfg.backoff_s > 0 ? c->cfg.backoff_s : 0;
    for (int i = 0; i <= c->cfg.max_retries; i++) {
        double retry_in = 0;
        if (!breaker_admit(c, &retry_in)) {
            core_err_clear(err);
            st = core_err(err, ODX_ERR_REMOTE,
                          "%s is down (%d failures in a row): not called, next try in %.0f s",
                          c->base_url, c->cfg.breaker_failures, retry_in);
            break;
        }
        answer a;
        answer_init(&a, c->cfg.max_answer_bytes, fn, user);
        odx_err e = {0};
        double ra = -1;
        out->attempts = i + 1;
        int r = attempt(c, url, body, stream, &a, eo, out, &ra, &e);
        if (r == TRY_OK) {
            breaker_report(c, true);
            if (eo) {
                answer_free(&a);
                st = ODX_OK;
                break;
            }
            out->content = core_buf_steal(&a.content);
            out->reasoning = a.reasoning.len ? core_buf_steal(&a.reasoning) : NULL;
            out->truncated = a.truncated;
            answer_free(&a);
            if (!out->content)
                out->content = core_strdup("");
            st = out->content ? ODX_OK : core_err(err, ODX_ERR_NOMEM, "no memory");
            break;
        }
        bool emitted = a.emitted;
        answer_free(&a);
        /* a wrong request says nothing about the endpoint's health */
        breaker_report(c, r == TRY_FAIL && out->http_status >= 400 && out->http_status < 500 &&
                              out->http_status != 429 && out->http_status != 408);
        core_err_clear(err);
        st = core_err(err, e.code, "%s", e.msg);
        if (r == TRY_FAIL || e.code == ODX_ERR_INTERRUPTED || emitted || i == c->cfg.max_retries)
            break;
        double w = ra >= 0 ? ra : wait;
        if (w > c->cfg.max_wait_s)
            w = c->cfg.max_wait_s;
        core_log(CORE_LOG_INFO, "%s; retrying in %.1f s", e.msg, w);
        if (!nap(c, w)) {
            core_err_clear(err);
            st = core_err(err, ODX_ERR_INTERRUPTED, "%s: stopped", url);
            break;
        }
        wait *= 2;
    }
    return st;
}

odx_status rmt_chat(rmt_client *c, const rmt_chat_req *req, rmt_piece_fn fn, void *user,
                    rmt_chat_resp *out, odx_err *err)
{
    if (!c || !req || !out)
        return core_err(err, ODX_ERR_INVALID, "rmt_chat: bad arguments");
    memset(out, 0, sizeof *out);
    char *body = build_body(req);
    if (!body)
        return core_err(err, ODX_ERR_NOMEM, "no memory for the request");
    odx_status st = call(c, c->chat_url, body, req->stream, fn, user, NULL, out, err);
    free(body);
    return st;
}

odx_status rmt_embed(rmt_client *c, const char *model, const char *const *texts, int n,
                     int dim_want, rmt_embed_resp *out, odx_err *err)
{
    if (!c || !model || !*model || !texts || n < 1 || n > RMT_EMBED_MAX_BATCH || !out)
        return core_err(err, ODX_ERR_INVALID, "rmt_embed: bad arguments");
    memset(out, 0, sizeof *out);
    cJSON *o = cJSON_CreateObject();
    cJSON *in = o ? cJSON_AddArrayToObject(o, "input") : NULL;
    bool ok = in && cJSON_AddStringToObject(o, "model", model);
    for (int i = 0; ok && i < n; i++)
        ok = texts[i] && cJSON_AddItemToArray(in, cJSON_CreateString(texts[i]));
    char *body = ok ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    if (!body)
        return core_err(err, ODX_ERR_NOMEM, "no memory for the request");
    emb_out eo = {.n_want = n, .dim_want = dim_want};
    rmt_chat_resp r;
    memset(&r, 0, sizeof r);
    odx_status st = call(c, c->embed_url, body, false, NULL, NULL, &eo, &r, err);
    free(body);
    out->http_status = r.http_status;
    out->attempts = r.attempts;
    rmt_chat_resp_clear(&r);
    if (st == ODX_OK) {
        out->v = eo.v;
        out->n = n;
        out->dim = eo.dim;
    } else {
        free(eo.v);
    }
    return st;
}

void rmt_embed_resp_clear(rmt_embed_resp *r)
{
    if (!r)
        return;
    free(r->v);
    memset(r, 0, sizeof *r);
}

#ifdef ODX_TESTING
/* The stream parser alone, for tests and fuzzing: body fed to the transfer
 * callback in pieces of `piece` bytes, as libcurl would. */
char *rmt_sse_parse(const char *body, size_t len, size_t piece, size_t max, char **reasoning)
{
    rmt_client c;
    memset(&c, 0, sizeof c);
    c.cfg = rmt_config_default();
    answer a;
    answer_init(&a, max, NULL, NULL);
    xfer x;
    memset(&x, 0, sizeof x);
    x.c = &c;
    x.stream = true;
    x.a = &a;
    core_buf_init(&x.body, 1u << 20);
    if (piece == 0)
        piece = 1;
    for (size_t i = 0; i < len; i += piece) {
        size_t n = len - i < piece ? len - i : piece;
        if (on_body((char *)body + i, 1, n, &x) != n)
            break;
    }
    if (x.body.len && !x.over)
        sse_line(&x, x.body.data, x.body.len);
    answer_finish(&a);
    core_buf_free(&x.body);
    char *content = core_buf_steal(&a.content);
    if (!content)
        content = core_strdup("");
    *reasoning = a.reasoning.len ? core_buf_steal(&a.reasoning) : NULL;
    answer_free(&a);
    return content;
}
#endif

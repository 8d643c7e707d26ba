/* fake_oai.c - a fake OpenAI-compatible server for the tests: loopback
 * only, bounded (connections, head and body sizes, run time), checks the
 * shape of every chat request, answers deterministically and injects the
 * failures a real endpoint has (timeouts, 500, 429 + Retry-After, truncated
 * JSON, dropped connections, slow or held SSE streams).
 *
 *   fake_oai --port-file F --log F [--script A,B,...] [--delay-ms N]
 *            [--hold FILE] [--think field|tag] [--lifetime S]
 *
 * The script gives the action of each chat request in arrival order (then
 * "ok"): ok, 500, 429 (Retry-After: 1), 429:N, hang (no answer for 30 s),
 * close (drop the connection), trunc (cut JSON), notjson, empty (content
 * ""), long (200 KiB of content), slow (SSE with 3 s pauses), err (an
 * error event in the stream). An image request answers six caption
 * sections naming a marker word made from the SHA-256 of the image bytes
 * (letters a-p); a text request answers from the context block it was
 * sent, citing its images. One log line per request: what was asked.
 *
 * POST .../embeddings ({"model", "input": string or [strings]}) answers a
 * deterministic "learned" vector per input: a bag of words hashed into
 * DIM buckets (DIM 256, or N for a model named "...-N"; a word weighs its
 * length squared), the bucket of a word chosen by its letters sorted (so
 * an anagram of a word means the same to this model, and to no native
 * path) and by the model name (so models differ). --embed-script gives the action of each embeddings
 * request (then "ok"): ok, 500, 429, hang, close, notjson, count (one
 * vector too few), dim (the last vector one shorter), nan (a NaN
 * literal), inf (1e999), str (a string for a number), zero (an all-zero
 * vector), wide (every vector 8 wider). */
#include "core.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONN 32
#define MAX_HEAD (64 << 10)
#define MAX_BODY (64 << 20)

static const char *g_log_path, *g_hold;
static char **g_script;
static int g_n_script, g_next, g_req_no, g_conns;
static int g_delay_ms = 20;
static const char *g_think; /* NULL, "field" or "tag" */
static char **g_escript;
static int g_n_escript, g_enext, g_ereq_no;
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv = PTHREAD_COND_INITIALIZER;

static void logf_(const char *fmt, ...) CORE_PRINTF(1, 2);
static void logf_(const char *fmt, ...)
{
    pthread_mutex_lock(&g_mu);
    FILE *f = fopen(g_log_path, "a");
    if (f) {
        va_list ap;
        va_start(ap, fmt);
        vfprintf(f, fmt, ap);
        va_end(ap);
        fputc('\n', f);
        fclose(f);
    }
    pthread_mutex_unlock(&g_mu);
}

static void msleep(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static bool send_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w <= 0) {
            if (w < 0 && errno == EINTR)
                continue;
            return false;
        }
        c += w;
        n -= (size_t)w;
    }
    return true;
}

static void reply(int fd, int status, const char *extra, const char *ctype, const char *body,
                  size_t len)
{
    char head[512];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d X\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s"
                     "Connection: close\r\n\r\n",
                     status, ctype, len, extra ? extra : "");
    send_all(fd, head, (size_t)n);
    send_all(fd, body, len);
}

static void reply_error(int fd, int status, const char *extra, const char *msg)
{
    char *b = core_sprintf("{\"error\":{\"message\":\"%s\",\"type\":\"fake\"}}", msg);
    reply(fd, status, extra, "application/json", b, strlen(b));
    free(b);
}

/* ------------------------------------------------------------ base64 ---- */

static int b64v(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

static unsigned char *b64dec(const char *s, size_t *n)
{
    size_t len = strlen(s);
    unsigned char *o = malloc(len / 4 * 3 + 3);
    if (!o)
        return NULL;
    size_t k = 0;
    unsigned v = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '=')
            break;
        int d = b64v((unsigned char)s[i]);
        if (d < 0) {
            free(o);
            return NULL;
        }
        v = (v << 6) | (unsigned)d;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            o[k++] = (unsigned char)(v >> bits);
        }
    }
    *n = k;
    return o;
}

/* -------------------------------------------------------- the answer ---- */

typedef struct req {
    int no;
    const char *action;
    bool stream;
    char model[128];
    char image_sha[65];
    char word[16];
    char prompt_head[80];
    const char *mime;        /* of the image sent: "png", "jpeg" or "-" */
    int n_images;
    const char *user_text;   /* borrowed from the parsed body */
    bool has_system;
    char bad[200];
} req;

/* Checks the request's shape; fills r. False (r->bad says why) when wrong. */
static bool check_request(cJSON *o, req *r)
{
    const cJSON *m = cJSON_GetObjectItem(o, "model");
    if (!cJSON_IsString(m) || !*m->valuestring) {
        snprintf(r->bad, sizeof r->bad, "no model");
        return false;
    }
    snprintf(r->model, sizeof r->model, "%s", m->valuestring);
    const cJSON *st = cJSON_GetObjectItem(o, "stream");
    r->stream = cJSON_IsTrue(st);
    const cJSON *msgs = cJSON_GetObjectItem(o, "messages"), *it;
    if (!cJSON_IsArray(msgs) || cJSON_GetArraySize(msgs) == 0) {
        snprintf(r->bad, sizeof r->bad, "no messages");
        return false;
    }
    cJSON_ArrayForEach(it, msgs) {
        const cJSON *role = cJSON_GetObjectItem(it, "role");
        const cJSON *c = cJSON_GetObjectItem(it, "content");
        if (!cJSON_IsString(role) || (strcmp(role->valuestring, "system") &&
                                      strcmp(role->valuestring, "user") &&
                                      strcmp(role->valuestring, "assistant"))) {
            snprintf(r->bad, sizeof r->bad, "bad role");
            return false;
        }
        if (!strcmp(role->valuestring, "system"))
            r->has_system = true;
        if (cJSON_IsString(c)) {
            if (!strcmp(role->valuestring, "user"))
                r->user_text = c->valuestring;
            continue;
        }
        if (!cJSON_IsArray(c)) {
            snprintf(r->bad, sizeof r->bad, "content neither string nor array");
            return false;
        }
        const cJSON *part;
        cJSON_ArrayForEach(part, c) {
            const char *type = cJSON_GetStringValue(cJSON_GetObjectItem(part, "type"));
            if (type && !strcmp(type, "text")) {
                r->user_text = cJSON_GetStringValue(cJSON_GetObjectItem(part, "text"));
            } else if (type && !strcmp(type, "image_url")) {
                const char *url = cJSON_GetStringValue(
                    cJSON_GetObjectItem(cJSON_GetObjectItem(part, "image_url"), "url"));
                const char *png = "data:image/png;base64,", *jpg = "data:image/jpeg;base64,";
                const char *b64 = NULL;
                if (url && !strncmp(url, png, strlen(png)))
                    b64 = url + strlen(png), r->mime = "png";
                else if (url && !strncmp(url, jpg, strlen(jpg)))
                    b64 = url + strlen(jpg), r->mime = "jpeg";
                size_t n = 0;
                unsigned char *img = b64 ? b64dec(b64, &n) : NULL;
                bool magic = img && n > 8 &&
                             ((img[0] == 0x89 && img[1] == 'P') || (img[0] == 0xFF && img[1] == 0xD8));
                if (!magic) {
                    free(img);
                    snprintf(r->bad, sizeof r->bad, "image_url is not a PNG/JPEG data URL");
                    return false;
                }
                core_sha256_hex(img, n, r->image_sha);
                r->n_images++;
                free(img);
                memcpy(r->word, "zq", 2);
                for (int i = 0; i < 8; i++) {
                    int v = r->image_sha[i] <= '9' ? r->image_sha[i] - '0' : r->image_sha[i] - 'a' + 10;
                    r->word[2 + i] = (char)('a' + v);
                }
                r->word[10] = 0;
            } else {
                snprintf(r->bad, sizeof r->bad, "unknown content part");
                return false;
            }
        }
    }
    if (!r->user_text) {
        snprintf(r->bad, sizeof r->bad, "no user text");
        return false;
    }
    size_t k = 0;
    for (const char *p = r->user_text; *p && *p != '\n' && k < sizeof r->prompt_head - 1; p++)
        r->prompt_head[k++] = *p == '\t' ? ' ' : *p;
    r->prompt_head[k] = 0;
    return true;
}

/* The answer text (content) for a request. */
static char *answer_text(const req *r)
{
    if (r->word[0] && !strstr(r->user_text, "### [")) {
        return core_sprintf("DETAILED: A test picture carrying the marker %s, described by %s.\n"
                            "It was asked: %s\n"
                            "SHORT: Marker %s.\n"
                            "TAGS: %s, fixture, test\n"
                            "DETAILED_ZH: 测试图片，标记 %s。\n"
                            "SHORT_ZH: 标记 %s\n"
                            "TAGS_ZH: 测试, %s\n",
                            r->word, r->model, r->prompt_head, r->word, r->word, r->word,
                            r->word, r->word);
    }
    /* a question with a context block: cite the images it lists */
    core_buf b;
    core_buf_init(&b, 1 << 16);
    core_buf_puts(&b, "Step 1: I read the captions of the images.\nStep 2: ");
    int n = 0;
    for (const char *p = strstr(r->user_text, "### ["); p; p = strstr(p + 1, "### [")) {
        int num = atoi(p + 5);
        if (num > 0 && n < 2) {
            core_buf_printf(&b, "%simage [%d]", n ? " and " : "", num);
            n++;
        }
    }
    if (n)
        core_buf_puts(&b, " match the question.\nAnswer: see the images cited above.");
    else
        core_buf_puts(&b, "no image matches.\nAnswer: I do not know.");
    return core_buf_steal(&b);
}

static char *chunk_json(const char *piece, bool reasoning, const char *finish)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "object", "chat.completion.chunk");
    cJSON *ch = cJSON_AddArrayToObject(o, "choices");
    cJSON *c = cJSON_CreateObject();
    cJSON_AddNumberToObject(c, "index", 0);
    cJSON *d = cJSON_AddObjectToObject(c, "delta");
    if (piece)
        cJSON_AddStringToObject(d, reasoning ? "reasoning_content" : "content", piece);
    if (finish)
        cJSON_AddStringToObject(c, "finish_reason", finish);
    else
        cJSON_AddNullToObject(c, "finish_reason");
    cJSON_AddItemToArray(ch, c);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

static bool sse_send(int fd, const char *json)
{
    char *s = core_sprintf("data: %s\n\n", json);
    bool ok = send_all(fd, s, strlen(s));
    free(s);
    return ok;
}

static void answer_stream(int fd, const req *r, const char *text)
{
    const char *head = "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                       "Cache-Control: no-cache\r\nConnection: close\r\n\r\n";
    if (!send_all(fd, head, strlen(head)))
        return;
    int delay = !strcmp(r->action, "slow") ? 3000 : g_delay_ms;
    const char *think = "The question asks about the images; the captions say enough.";
    if (g_think && !strcmp(g_think, "field")) {
        char *j = chunk_json(think, true, NULL);
        sse_send(fd, j);
        free(j);
    } else if (g_think && !strcmp(g_think, "tag")) {
        /* the tag split across pieces, as token streams do */
        const char *pieces[] = {"<thi", "nk>", think, "</th", "ink>\n"};
        for (int i = 0; i < 5; i++) {
            char *j = chunk_json(pieces[i], false, NULL);
            sse_send(fd, j);
            free(j);
        }
    }
    /* the answer in pieces of about 12 bytes, cut on UTF-8 boundaries */
    size_t len = strlen(text), at = 0;
    int k = 0;
    while (at < len) {
        size_t n = len - at < 12 ? len - at : 12;
        while (at + n < len && ((unsigned char)text[at + n] & 0xC0) == 0x80)
            n++;
        char *piece = strndup(text + at, n);
        char *j = chunk_json(piece, false, NULL);
        free(piece);
        bool ok = sse_send(fd, j);
        free(j);
        if (!ok)
            return;
        at += n;
        if (k++ == 0 && g_hold) {
            /* held after the first piece until the test says so (60 s at most) */
            for (int i = 0; i < 600 && access(g_hold, F_OK) != 0; i++)
                msleep(100);
        }
        if (!strcmp(r->action, "err") && k == 2) {
            sse_send(fd, "{\"error\":{\"message\":\"fake failure in the stream\"}}");
            return;
        }
        msleep(delay);
    }
    char *j = chunk_json(NULL, false, "stop");
    sse_send(fd, j);
    free(j);
    send_all(fd, "data: [DONE]\n\n", 14);
}

static void answer_json(int fd, const req *r, const char *text)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "object", "chat.completion");
    cJSON_AddStringToObject(o, "model", r->model);
    cJSON *ch = cJSON_AddArrayToObject(o, "choices");
    cJSON *c = cJSON_CreateObject();
    cJSON_AddNumberToObject(c, "index", 0);
    cJSON *m = cJSON_AddObjectToObject(c, "message");
    cJSON_AddStringToObject(m, "role", "assistant");
    if (g_think && !strcmp(g_think, "field"))
        cJSON_AddStringToObject(m, "reasoning_content", "Thinking about the picture.");
    char *content = NULL;
    if (g_think && !strcmp(g_think, "tag"))
        content = core_sprintf("<think>Thinking about the picture.</think>\n%s", text);
    cJSON_AddStringToObject(m, "content", content ? content : text);
    free(content);
    cJSON_AddStringToObject(c, "finish_reason", "stop");
    cJSON_AddItemToArray(ch, c);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    size_t n = strlen(s);
    if (!strcmp(r->action, "trunc"))
        n /= 2;
    reply(fd, 200, NULL, "application/json", s, n);
    free(s);
}

/* ------------------------------------------------------- embeddings ---- */

static int model_dim(const char *model)
{
    const char *d = strrchr(model, '-');
    int n = d ? atoi(d + 1) : 0;
    return n >= 2 && n <= 4096 ? n : 256;
}

static int cmp_char(const void *a, const void *b)
{
    return *(const unsigned char *)a - *(const unsigned char *)b;
}

/* The bag of words of text in dim buckets (see the head comment). */
static void bag(const char *model, const char *text, int dim, double *v)
{
    memset(v, 0, sizeof *v * (size_t)dim);
    const unsigned char *p = (const unsigned char *)text;
    while (*p) {
        while (*p && !(isalnum(*p) || *p >= 0x80))
            p++;
        char w[64];
        size_t n = 0;
        while (*p && (isalnum(*p) || *p >= 0x80)) {
            if (n < sizeof w - 1)
                w[n++] = (char)tolower(*p);
            p++;
        }
        if (!n)
            continue;
        w[n] = 0;
        qsort(w, n, 1, cmp_char);
        uint64_t h = 1469598103934665603ULL;
        for (const char *m = model; *m; m++)
            h = (h ^ (unsigned char)*m) * 1099511628211ULL;
        for (size_t i = 0; i < n; i++)
            h = (h ^ (unsigned char)w[i]) * 1099511628211ULL;
        /* longer words are rarer: a word weighs its length in characters
         * squared, a crude stand-in for what a trained model learns */
        double chars = 0;
        for (size_t i = 0; i < n; i++)
            chars += ((unsigned char)w[i] & 0xC0) != 0x80;
        v[h % (uint64_t)dim] += ((h >> 40) & 1 ? 1.0 : -1.0) * chars * chars;
    }
    bool any = false;
    for (int i = 0; i < dim; i++)
        any |= v[i] != 0;
    if (!any)
        v[0] = 1;
}

static void handle_embeddings(int fd, cJSON *o)
{
    pthread_mutex_lock(&g_mu);
    int no = ++g_ereq_no;
    const char *a = g_enext < g_n_escript ? g_escript[g_enext++] : "ok";
    pthread_mutex_unlock(&g_mu);
    const char *model = cJSON_GetStringValue(cJSON_GetObjectItem(o, "model"));
    const cJSON *in = cJSON_GetObjectItem(o, "input");
    int n = cJSON_IsString(in) ? 1 : cJSON_IsArray(in) ? cJSON_GetArraySize(in) : 0;
    bool ok = model && *model && n > 0;
    for (int i = 0; ok && cJSON_IsArray(in) && i < n; i++)
        ok = cJSON_IsString(cJSON_GetArrayItem(in, i));
    if (!ok) {
        logf_("BAD embed n=%d no model or input", no);
        reply_error(fd, 400, NULL, "bad embeddings request");
        return;
    }
    const char *first = cJSON_IsString(in) ? in->valuestring
                                           : cJSON_GetArrayItem(in, 0)->valuestring;
    logf_("embed n=%d action=%s model=%s inputs=%d first=%.60s", no, a, model, n, first);
    if (!strcmp(a, "500")) {
        reply_error(fd, 500, NULL, "fake internal error");
        return;
    } else if (!strcmp(a, "429")) {
        reply_error(fd, 429, "Retry-After: 1\r\n", "slow down");
        return;
    } else if (!strcmp(a, "hang")) {
        msleep(30000);
        return;
    } else if (!strcmp(a, "close")) {
        return;
    } else if (!strcmp(a, "notjson")) {
        reply(fd, 200, NULL, "text/html", "<html>oops</html>", 17);
        return;
    }
    int dim = model_dim(model) + (!strcmp(a, "wide") ? 8 : 0);
    double *v = malloc(sizeof *v * (size_t)dim);
    core_buf b;
    core_buf_init(&b, 0);
    core_buf_puts(&b, "{\"object\":\"list\",\"data\":[");
    int n_out = !strcmp(a, "count") ? n - 1 : n;
    for (int i = 0; v && i < n_out; i++) {
        const char *t = cJSON_IsString(in) ? in->valuestring
                                           : cJSON_GetArrayItem(in, i)->valuestring;
        bag(model, t, dim, v);
        int d = !strcmp(a, "dim") && i == n_out - 1 ? dim - 1 : dim;
        core_buf_printf(&b, "%s{\"object\":\"embedding\",\"index\":%d,\"embedding\":[",
                        i ? "," : "", i);
        for (int j = 0; j < d; j++) {
            const char *sep = j ? "," : "";
            if (i == 0 && j == 1 && !strcmp(a, "nan"))
                core_buf_printf(&b, "%sNaN", sep);
            else if (i == 0 && j == 1 && !strcmp(a, "inf"))
                core_buf_printf(&b, "%s1e999", sep);
            else if (i == 0 && j == 1 && !strcmp(a, "str"))
                core_buf_printf(&b, "%s\"0.5\"", sep);
            else
                core_buf_printf(&b, "%s%g", sep, !strcmp(a, "zero") && i == 0 ? 0.0 : v[j]);
        }
        core_buf_puts(&b, "]}");
    }
    core_buf_printf(&b, "],\"model\":\"%s\",\"usage\":{\"prompt_tokens\":%d}}", model, n);
    reply(fd, 200, NULL, "application/json", b.data ? b.data : "", b.len);
    core_buf_free(&b);
    free(v);
}

static void handle(int fd)
{
    char *head = malloc(MAX_HEAD + 1);
    size_t hl = 0;
    char *end = NULL;
    while (head && hl < MAX_HEAD) {
        ssize_t r = recv(fd, head + hl, MAX_HEAD - hl, 0);
        if (r <= 0)
            break;
        hl += (size_t)r;
        head[hl] = 0;
        if ((end = strstr(head, "\r\n\r\n")))
            break;
    }
    if (!end) {
        free(head);
        return;
    }
    *end = 0;
    size_t have = hl - (size_t)(end + 4 - head);
    char method[8] = "", path[256] = "";
    sscanf(head, "%7s %255s", method, path);
    long clen = -1;
    const char *auth = NULL, *ctype = NULL;
    for (char *l = strstr(head, "\r\n"); l; l = strstr(l + 2, "\r\n")) {
        char *h = l + 2;
        if (!strncasecmp(h, "content-length:", 15))
            clen = strtol(h + 15, NULL, 10);
        else if (!strncasecmp(h, "authorization:", 14))
            auth = h + 14;
        else if (!strncasecmp(h, "content-type:", 13))
            ctype = h + 13;
    }
    bool embeddings = !strcmp(method, "POST") && strlen(path) >= 11 &&
                      !strcmp(path + strlen(path) - 11, "/embeddings");
    if (!embeddings && (strcmp(method, "POST") || strlen(path) < 17 ||
                        strcmp(path + strlen(path) - 17, "/chat/completions"))) {
        logf_("other %s %s", method, path);
        reply_error(fd, 404, NULL, "not found");
        free(head);
        return;
    }
    if (clen < 0 || clen > MAX_BODY) {
        logf_("BAD no or huge Content-Length");
        reply_error(fd, 400, NULL, "bad length");
        free(head);
        return;
    }
    char *body = malloc((size_t)clen + 1);
    size_t bl = have < (size_t)clen ? have : (size_t)clen;
    memcpy(body, end + 4, bl);
    while (bl < (size_t)clen) {
        ssize_t r = recv(fd, body + bl, (size_t)clen - bl, 0);
        if (r <= 0)
            break;
        bl += (size_t)r;
    }
    body[bl] = 0;
    if (embeddings) {
        const char *key = getenv("FAKE_OAI_KEY");
        cJSON *eo = cJSON_Parse(body);
        if (!ctype || !strstr(ctype, "application/json") || !eo ||
            (key && (!auth || !strstr(auth, "Bearer ") ||
                     strncmp(strstr(auth, "Bearer ") + 7, key, strlen(key))))) {
            logf_("BAD embed: bad content type, key or body");
            reply_error(fd, 400, NULL, "bad embeddings request");
        } else {
            handle_embeddings(fd, eo);
        }
        cJSON_Delete(eo);
        free(body);
        free(head);
        return;
    }
    req r;
    memset(&r, 0, sizeof r);
    pthread_mutex_lock(&g_mu);
    r.no = ++g_req_no;
    r.action = g_next < g_n_script ? g_script[g_next++] : "ok";
    pthread_mutex_unlock(&g_mu);
    const char *key = getenv("FAKE_OAI_KEY");
    cJSON *o = cJSON_Parse(body);
    bool ok = true;
    if (!ctype || !strstr(ctype, "application/json")) {
        snprintf(r.bad, sizeof r.bad, "Content-Type is not application/json");
        ok = false;
    } else if (key && (!auth || !strstr(auth, "Bearer ") || strncmp(strstr(auth, "Bearer ") + 7, key, strlen(key)))) {
        snprintf(r.bad, sizeof r.bad, "no or wrong API key");
        ok = false;
    } else if (!o) {
        snprintf(r.bad, sizeof r.bad, "body is not JSON");
        ok = false;
    } else {
        ok = check_request(o, &r);
    }
    if (!ok) {
        logf_("BAD n=%d %s", r.no, r.bad);
        reply_error(fd, 400, NULL, r.bad);
    } else {
        bool ctx = r.user_text && strstr(r.user_text, "### [1]");
        logf_("chat n=%d action=%s model=%s stream=%d system=%d image=%s word=%s ctx=%d "
              "mime=%s images=%d prompt=%s",
              r.no, r.action, r.model, r.stream, r.has_system, r.image_sha[0] ? r.image_sha : "-",
              r.word[0] ? r.word : "-", ctx, r.mime ? r.mime : "-", r.n_images, r.prompt_head);
        const char *a = r.action;
        if (!strcmp(a, "500")) {
            reply_error(fd, 500, NULL, "fake internal error");
        } else if (!strncmp(a, "429", 3)) {
            char extra[64];
            snprintf(extra, sizeof extra, "Retry-After: %d\r\n", a[3] == ':' ? atoi(a + 4) : 1);
            reply_error(fd, 429, extra, "slow down");
        } else if (!strcmp(a, "hang")) {
            msleep(30000);
        } else if (!strcmp(a, "close")) {
            /* nothing: the connection is closed */
        } else if (!strcmp(a, "notjson")) {
            reply(fd, 200, NULL, "text/html", "<html>oops</html>", 17);
        } else {
            char *text = !strcmp(a, "empty") ? core_strdup("") : answer_text(&r);
            if (!strcmp(a, "long")) {
                free(text);
                text = malloc(200 * 1024 + 1);
                memset(text, 'x', 200 * 1024);
                text[200 * 1024] = 0;
            }
            if (r.stream)
                answer_stream(fd, &r, text);
            else
                answer_json(fd, &r, text);
            free(text);
        }
    }
    cJSON_Delete(o);
    free(body);
    free(head);
}

static void *conn_main(void *arg)
{
    int fd = (int)(intptr_t)arg;
    handle(fd);
    close(fd);
    pthread_mutex_lock(&g_mu);
    g_conns--;
    pthread_cond_signal(&g_cv);
    pthread_mutex_unlock(&g_mu);
    return NULL;
}

static void on_alarm(int sig)
{
    (void)sig;
    _exit(3); /* the lifetime bound: a test that forgot us */
}

int main(int argc, char **argv)
{
    const char *port_file = NULL;
    int lifetime = 600;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--port-file"))
            port_file = argv[i + 1];
        else if (!strcmp(argv[i], "--log"))
            g_log_path = argv[i + 1];
        else if (!strcmp(argv[i], "--delay-ms"))
            g_delay_ms = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--hold"))
            g_hold = argv[i + 1];
        else if (!strcmp(argv[i], "--think"))
            g_think = argv[i + 1];
        else if (!strcmp(argv[i], "--lifetime"))
            lifetime = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--embed-script")) {
            char *s = strdup(argv[i + 1]);
            for (char *t = strtok(s, ","); t; t = strtok(NULL, ",")) {
                g_escript = realloc(g_escript, (size_t)(g_n_escript + 1) * sizeof *g_escript);
                g_escript[g_n_escript++] = t;
            }
        } else if (!strcmp(argv[i], "--script")) {
            char *s = strdup(argv[i + 1]);
            for (char *t = strtok(s, ","); t; t = strtok(NULL, ",")) {
                g_script = realloc(g_script, (size_t)(g_n_script + 1) * sizeof *g_script);
                g_script[g_n_script++] = t;
            }
        } else {
            fprintf(stderr, "fake_oai: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (!port_file || !g_log_path) {
        fprintf(stderr, "usage: fake_oai --port-file F --log F [--script A,B] [--delay-ms N]"
                        " [--hold FILE] [--think field|tag] [--lifetime S]\n");
        return 2;
    }
    signal(SIGALRM, on_alarm);
    alarm((unsigned)lifetime);
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (bind(ls, (struct sockaddr *)&a, sizeof a) != 0 || listen(ls, 64) != 0 ||
        getsockname(ls, (struct sockaddr *)&a, &al) != 0) {
        perror("fake_oai: bind");
        return 1;
    }
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", port_file);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return 1;
    fprintf(f, "%d\n", ntohs(a.sin_port));
    fclose(f);
    rename(tmp, port_file);
    for (;;) {
        int fd = accept(ls, NULL, NULL);
        if (fd < 0) {
            if (errno == EINTR)
                continue;
            return 1;
        }
        struct timeval tv = {60, 0};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        pthread_mutex_lock(&g_mu);
        while (g_conns >= MAX_CONN)
            pthread_cond_wait(&g_cv, &g_mu);
        g_conns++;
        pthread_mutex_unlock(&g_mu);
        pthread_t t;
        if (pthread_create(&t, NULL, conn_main, (void *)(intptr_t)fd) != 0) {
            close(fd);
            pthread_mutex_lock(&g_mu);
            g_conns--;
            pthread_mutex_unlock(&g_mu);
            continue;
        }
        pthread_detach(t);
    }
}

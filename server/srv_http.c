/* srv_http.c - the libmicrohttpd daemon and the request handlers of
 * `omnidex serve`: validates each request (size, method, arguments, token),
 * calls the public API (search, context, show, stats) and writes JSON. */
#include "server.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <ctype.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

/* A database handle shared by the requests that use it. When the index
 * directory is replaced (a fresh rebuild swaps it in), a new handle becomes
 * current and the old one is closed by whichever request drops it last. */
typedef struct dbref {
    odx_db *db;
    int refs; /* requests using it, +1 while current */
} dbref;

struct srv_server {
    struct MHD_Daemon *d;
    char *token; /* NULL: open */
    bool access_log;
    char *db_dir;       /* NULL: never reopen */
    char *models_dir;
    pthread_mutex_t mu; /* guards cur, refs, the directory identity, checks */
    dbref *cur;
    dev_t dir_dev;
    ino_t dir_ino;
    double last_check;
    bool reopening;
};

/* ---------------------------------------------------------- helpers ---- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

bool srv_token_equal(const char *given, size_t given_len, const char *expected)
{
    size_t n = strlen(expected);
    /* Walk the whole expected token whatever the input, so the time taken
     * says nothing about how many leading bytes were right. */
    unsigned diff = given_len != n;
    for (size_t i = 0; i < n; i++) {
        unsigned char g = i < given_len ? (unsigned char)given[i] : 0;
        diff |= g ^ (unsigned char)expected[i];
    }
    return diff == 0;
}

bool srv_parse_long(const char *s, long min, long max, long *out)
{
    if (!s)
        return false;
    const char *p = s;
    bool neg = false;
    if (*p == '-' || *p == '+')
        neg = *p++ == '-';
    if (!*p)
        return false;
    long v = 0;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            return false;
        if (v > (1L << 40)) /* far beyond every range we accept */
            return false;
        v = v * 10 + (*p - '0');
    }
    if (neg)
        v = -v;
    if (v < min || v > max)
        return false;
    *out = v;
    return true;
}

bool srv_parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"", "1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    if (!s)
        s = "";
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
        if (strcasecmp(s, yes[i]) == 0)
            return *out = true, true;
    for (size_t i = 0; i < sizeof no / sizeof *no; i++)
        if (strcasecmp(s, no[i]) == 0)
            return *out = false, true;
    return false;
}

bool srv_valid_date(const char *s)
{
    if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return false;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && !isdigit((unsigned char)s[i]))
            return false;
    int m = (s[5] - '0') * 10 + (s[6] - '0');
    int d = (s[8] - '0') * 10 + (s[9] - '0');
    return m >= 1 && m <= 12 && d >= 1 && d <= 31;
}

bool srv_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        unsigned c = p[i];
        if (c == 0)
            return false;
        if (c < 0x80) {
            i++;
            continue;
        }
        int n;
        uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) {
            n = 1;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 2;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (len - i < (size_t)n + 1)
            return false;
        for (int k = 1; k <= n; k++) {
            if ((p[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i + k] & 0x3F);
        }
        /* overlong, surrogates, beyond U+10FFFF */
        if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += (size_t)n + 1;
    }
    return true;
}

char *srv_utf8_fix(const char *s, size_t n)
{
    char *o = malloc(n + 1);
    if (!o)
        return NULL;
    size_t j = 0;
    for (size_t i = 0; i < n;) {
        size_t k = 1;
        while (k <= 4 && i + k <= n && !srv_utf8_valid(s + i, k))
            k++;
        if (k <= 4 && i + k <= n) {
            memcpy(o + j, s + i, k);
            j += k;
            i += k;
        } else {
            o[j++] = '?';
            i++;
        }
    }
    o[j] = 0;
    return o;
}

/* --------------------------------------------------------- responses ---- */

static const char *const CT_JSON = "application/json; charset=utf-8";

static enum MHD_Result send_buf(struct MHD_Connection *c, unsigned status, const char *ctype,
                                const void *body, size_t len)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"omnidex\"");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *code,
                                  const char *msg)
{
    char *m = srv_utf8_fix(msg ? msg : "", msg ? strlen(msg) : 0);
    cJSON *o = cJSON_CreateObject();
    char *s = NULL;
    if (o && m && cJSON_AddStringToObject(o, "error", code) &&
        cJSON_AddStringToObject(o, "message", m))
        s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    free(m);
    enum MHD_Result ret;
    if (s) {
        size_t n = strlen(s);
        s[n] = '\n'; /* replaces the NUL; the buffer is copied by length */
        ret = send_buf(c, status, CT_JSON, s, n + 1);
    } else {
        static const char oom[] = "{\"error\":\"internal\",\"message\":\"no memory\"}\n";
        ret = send_buf(c, MHD_HTTP_INTERNAL_SERVER_ERROR, CT_JSON, oom, sizeof oom - 1);
    }
    free(s);
    return ret;
}

static enum MHD_Result send_status(struct MHD_Connection *c, odx_status st, const odx_err *e)
{
    const char *msg = e->msg[0] ? e->msg : odx_status_str(st);
    switch (st) {
    case ODX_ERR_INVALID:
        return send_error(c, MHD_HTTP_BAD_REQUEST, "bad_request", msg);
    case ODX_ERR_NOT_FOUND:
        return send_error(c, MHD_HTTP_NOT_FOUND, "not_found", msg);
    case ODX_ERR_LIMIT:
        return send_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "too_large", msg);
    default:
        return send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", msg);
    }
}

/* Sends a 200 with body, replacing bytes that are not UTF-8 (a file name
 * may hold any bytes; a JSON or Markdown body must not). */
static enum MHD_Result send_text(struct MHD_Connection *c, const char *ctype, const char *body)
{
    size_t n = strlen(body);
    if (srv_utf8_valid(body, n))
        return send_buf(c, MHD_HTTP_OK, ctype, body, n);
    char *fixed = srv_utf8_fix(body, n);
    if (!fixed)
        return send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "no memory");
    enum MHD_Result r = send_buf(c, MHD_HTTP_OK, ctype, fixed, strlen(fixed));
    free(fixed);
    return r;
}

/* Sends a string owned by the library (freed with odx_free). */
static enum MHD_Result send_odx(struct MHD_Connection *c, const char *ctype, char *body)
{
    enum MHD_Result r = send_text(c, ctype, body);
    odx_free(body);
    return r;
}

/* --------------------------------------------------------- arguments ---- */

typedef struct args {
    const char *key[SRV_MAX_ARGS], *val[SRV_MAX_ARGS];
    int n;
    size_t bytes;
    bool too_many, bad_utf8;
} args;

static enum MHD_Result collect_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                   size_t key_size, const char *value, size_t value_size)
{
    (void)kind;
    args *a = cls;
    a->bytes += key_size + value_size + 2;
    if (a->n >= SRV_MAX_ARGS || a->bytes > SRV_MAX_ARGS_BYTES) {
        a->too_many = true;
        return MHD_NO;
    }
    if (!srv_utf8_valid(key, key_size) || (value && !srv_utf8_valid(value, value_size))) {
        a->bad_utf8 = true;
        return MHD_NO;
    }
    a->key[a->n] = key;
    a->val[a->n] = value ? value : "";
    a->n++;
    return MHD_YES;
}

/* The first value of key, or NULL. */
static const char *arg(const args *a, const char *key)
{
    for (int i = 0; i < a->n; i++)
        if (strcmp(a->key[i], key) == 0)
            return a->val[i];
    return NULL;
}

/* Fills the search parameters shared by /search and /context through the
 * library's parser (the same one as CLI flags and inline filters). On a
 * bad value writes its message into msg and returns false. */
static bool parse_search(const args *a, odx_search_params *p, char *msg, size_t msg_len)
{
    static const char *const KEYS[] = {"k",        "lang",      "text_lang",  "domain",
                                       "path",     "ext",       "after",      "before",
                                       "min_width", "min_height", "min_score", "mode",
                                       "all",      "explain"};
    for (size_t i = 0; i < sizeof KEYS / sizeof *KEYS; i++) {
        const char *v = arg(a, KEYS[i]);
        odx_err e = {0};
        if (v && odx_search_params_set(p, KEYS[i], v, &e) != ODX_OK) {
            snprintf(msg, msg_len, "%s", e.msg);
            return false;
        }
    }
    if (p->k > SRV_MAX_K) {
        snprintf(msg, msg_len, "k must be an integer from 1 to %d", SRV_MAX_K);
        return false;
    }
    return true;
}

/* q is required; its length is limited before it reaches the library. */
static enum MHD_Result need_q(struct MHD_Connection *c, const args *a, const char **q)
{
    *q = arg(a, "q");
    if (!*q)
        return send_error(c, MHD_HTTP_BAD_REQUEST, "bad_request", "missing parameter q");
    if (strlen(*q) > SRV_MAX_Q) {
        char m[96];
        snprintf(m, sizeof m, "q is longer than %d bytes", SRV_MAX_Q);
        return send_error(c, MHD_HTTP_URI_TOO_LONG, "too_large", m);
    }
    return MHD_YES;
}

/* ---------------------------------------------------------- handlers ---- */

static enum MHD_Result h_search(odx_db *db, struct MHD_Connection *c, const args *a)
{
    const char *q;
    enum MHD_Result r = need_q(c, a, &q);
    if (!q || strlen(q) > SRV_MAX_Q)
        return r;
    odx_search_params p = odx_search_params_default();
    char msg[512];
    if (!parse_search(a, &p, msg, sizeof msg))
        return send_error(c, MHD_HTTP_BAD_REQUEST, "bad_request", msg);
    odx_err e = {0};
    odx_results *res = NULL;
    odx_status st = odx_search(db, q, &p, &res, &e);
    if (st != ODX_OK)
        return send_status(c, st, &e);
    char *rj = odx_results_json(res);
    int count = odx_results_count(res);
    odx_results_free(res);
    cJSON *qs = cJSON_CreateString(q);
    char *qj = qs ? cJSON_PrintUnformatted(qs) : NULL;
    cJSON_Delete(qs);
    char *body = NULL;
    if (rj && qj) {
        size_t n = strlen(rj) + strlen(qj) + 64;
        body = malloc(n);
        if (body)
            snprintf(body, n, "{\"query\":%s,\"count\":%d,\"results\":%s}\n", qj, count, rj);
    }
    odx_free(rj);
    free(qj);
    if (!body) {
        e.code = ODX_ERR_NOMEM;
        snprintf(e.msg, sizeof e.msg, "no memory for the results");
        return send_status(c, ODX_ERR_NOMEM, &e);
    }
    r = send_text(c, CT_JSON, body);
    free(body);
    return r;
}

static enum MHD_Result h_context(odx_db *db, struct MHD_Connection *c, const args *a)
{
    const char *q;
    enum MHD_Result r = need_q(c, a, &q);
    if (!q || strlen(q) > SRV_MAX_Q)
        return r;
    odx_context_params p = odx_context_params_default();
    char msg[512];
    if (!parse_search(a, &p.search, msg, sizeof msg))
        return send_error(c, MHD_HTTP_BAD_REQUEST, "bad_request", msg);
    const char *v;
    long n;
    if ((v = arg(a, "max_chars"))) {
        if (!srv_parse_long(v, 200, 1000000, &n))
            return send_error(c, MHD_HTTP_BAD_REQUEST, "bad_request",
                              "max_chars must be an integer from 200 to 1000000");
        p.max_chars = (int)n;
    }
    if ((v = arg(a, "format"))) {
        if (strcmp(v, "json") == 0)
            p.json = true;
        else if (strcmp(v, "md") == 0 || strcmp(v, "markdown") == 0)
            p.json = false;
        else
            return send_error(c, MHD_HTTP_BAD_REQUEST, "bad_request", "format must be md or json");
    }
    odx_err e = {0};
    char *out = NULL;
    odx_status st = odx_context(db, q, &p, &out, &e);
    if (st != ODX_OK)
        return send_status(c, st, &e);
    return send_odx(c, p.json ? CT_JSON : "text/markdown; charset=utf-8", out);
}

/* /images/{id}[/thumb]: id is a positive decimal number. */
static bool parse_id(const char *s, size_t len, long long *id)
{
    if (len == 0 || len > 18)
        return false;
    long long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    if (v <= 0)
        return false;
    *id = v;
    return true;
}

static enum MHD_Result h_image(odx_db *db, struct MHD_Connection *c, long long id, bool thumb)
{
    char key[32];
    snprintf(key, sizeof key, "#%lld", id);
    odx_err e = {0};
    char *json = NULL;
    odx_status st = odx_show_json(db, key, &json, &e);
    if (st != ODX_OK)
        return send_status(c, st, &e);
    if (!thumb)
        return send_odx(c, CT_JSON, json);
    cJSON *o = cJSON_Parse(json);
    odx_free(json);
    const cJSON *path = cJSON_GetObjectItemCaseSensitive(o, "path");
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(o, "status");
    const cJSON *desc = cJSON_GetObjectItemCaseSensitive(o, "description");
    const cJSON *exif = cJSON_GetObjectItemCaseSensitive(desc, "exif");
    const cJSON *ori = cJSON_GetObjectItemCaseSensitive(exif, "orientation");
    enum MHD_Result r;
    if (!cJSON_IsString(path)) {
        r = send_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "image record has no path");
        goto done;
    }
    if (cJSON_IsString(status) && strcmp(status->valuestring, "ok") != 0) {
        r = send_error(c, MHD_HTTP_UNPROCESSABLE_CONTENT, "unprocessable",
                       "the image failed to index; there is no thumbnail");
        goto done;
    }
    unsigned char *jpg = NULL;
    size_t len = 0;
    odx_err te = {0};
    st = srv_thumb_file(path->valuestring, SRV_THUMB_SIDE,
                        cJSON_IsNumber(ori) ? ori->valueint : 1, &jpg, &len, &te);
    if (st == ODX_OK) {
        r = send_buf(c, MHD_HTTP_OK, "image/jpeg", jpg, len);
        free(jpg);
    } else if (st == ODX_ERR_NOT_FOUND) {
        r = send_error(c, MHD_HTTP_NOT_FOUND, "not_found", te.msg);
    } else if (st == ODX_ERR_DECODE || st == ODX_ERR_UNSUPPORTED || st == ODX_ERR_LIMIT) {
        r = send_error(c, MHD_HTTP_UNPROCESSABLE_CONTENT, "unprocessable", te.msg);
    } else {
        r = send_status(c, st, &te);
    }
done:
    cJSON_Delete(o);
    return r;
}

/* ----------------------------------------------- index replacement ---- */

/* A rebuild that builds a fresh database beside the old one and swaps the
 * directories leaves this process on the old files for ever; the directory's
 * identity tells us, at the cost of one stat() a second. */
static void maybe_reopen(srv_server *s)
{
    if (!s->db_dir)
        return;
    double now = now_s();
    pthread_mutex_lock(&s->mu);
    if (s->reopening || now - s->last_check < 1.0) {
        pthread_mutex_unlock(&s->mu);
        return;
    }
    s->last_check = now;
    struct stat sb;
    if (stat(s->db_dir, &sb) != 0 || (sb.st_dev == s->dir_dev && sb.st_ino == s->dir_ino)) {
        pthread_mutex_unlock(&s->mu);
        return;
    }
    s->reopening = true;
    pthread_mutex_unlock(&s->mu);

    odx_db_params dp = odx_db_params_default();
    dp.read_only = true;
    dp.models_dir = s->models_dir;
    odx_db *db = NULL;
    odx_err e = {0};
    dbref *n = NULL;
    if (odx_db_open(s->db_dir, &dp, &db, &e) != ODX_OK || !(n = calloc(1, sizeof *n))) {
        /* keep serving the old one; try again in a second */
        fprintf(stderr, "omnidex: the index directory changed but cannot be opened: %s\n",
                e.msg[0] ? e.msg : "no memory");
        odx_db_close(db);
        pthread_mutex_lock(&s->mu);
        s->reopening = false;
        pthread_mutex_unlock(&s->mu);
        return;
    }
    n->db = db;
    n->refs = 1;
    pthread_mutex_lock(&s->mu);
    dbref *old = s->cur;
    s->cur = n;
    s->dir_dev = sb.st_dev;
    s->dir_ino = sb.st_ino;
    s->reopening = false;
    bool last = --old->refs == 0;
    pthread_mutex_unlock(&s->mu);
    if (last) {
        odx_db_close(old->db);
        free(old);
    }
    fprintf(stderr, "omnidex: the index directory %s was replaced; reopened it\n", s->db_dir);
}

static dbref *db_acquire(srv_server *s)
{
    maybe_reopen(s);
    pthread_mutex_lock(&s->mu);
    dbref *r = s->cur;
    r->refs++;
    pthread_mutex_unlock(&s->mu);
    return r;
}

static void db_release(srv_server *s, dbref *r)
{
    pthread_mutex_lock(&s->mu);
    bool last = --r->refs == 0;
    pthread_mutex_unlock(&s->mu);
    if (last) {
        odx_db_close(r->db);
        free(r);
    }
}

/* ----------------------------------------------------------- routing ---- */

static enum MHD_Result dispatch(odx_db *db, struct MHD_Connection *c, const char *url,
                                const args *a)
{
    if (strcmp(url, "/search") == 0)
        return h_search(db, c, a);
    if (strcmp(url, "/context") == 0)
        return h_context(db, c, a);
    if (strcmp(url, "/stats") == 0) {
        odx_err e = {0};
        char *json = NULL;
        odx_status st = odx_stats_json(db, &json, &e);
        return st == ODX_OK ? send_odx(c, CT_JSON, json) : send_status(c, st, &e);
    }
    if (strncmp(url, "/images/", 8) == 0) {
        const char *id = url + 8;
        const char *slash = strchr(id, '/');
        size_t idn = slash ? (size_t)(slash - id) : strlen(id);
        bool thumb = slash && strcmp(slash, "/thumb") == 0;
        long long v;
        if (slash && !thumb)
            return send_error(c, MHD_HTTP_NOT_FOUND, "not_found", "no such endpoint");
        if (!parse_id(id, idn, &v))
            return send_error(c, MHD_HTTP_BAD_REQUEST, "bad_request",
                              "image id must be a positive integer");
        return h_image(db, c, v, thumb);
    }
    return send_error(c, MHD_HTTP_NOT_FOUND, "not_found",
                      "no such endpoint (/search, /context, /images/{id}, /images/{id}/thumb, "
                      "/stats, /healthz)");
}

static bool authorised(const srv_server *s, struct MHD_Connection *c)
{
    if (!s->token)
        return true;
    const char *h = NULL;
    size_t hn = 0;
    if (MHD_lookup_connection_value_n(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION,
                                      strlen(MHD_HTTP_HEADER_AUTHORIZATION), &h, &hn) != MHD_YES ||
        !h)
        return false;
    if (hn < 7 || strncasecmp(h, "Bearer ", 7) != 0)
        return false;
    h += 7;
    hn -= 7;
    while (hn && *h == ' ')
        h++, hn--;
    return srv_token_equal(h, hn, s->token);
}

static enum MHD_Result route(srv_server *s, struct MHD_Connection *c, const char *url,
                             const char *method)
{
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl) {
        long n;
        if (!srv_parse_long(cl, 0, SRV_MAX_BODY, &n))
            return send_error(c, MHD_HTTP_CONTENT_TOO_LARGE, "too_large",
                              "request bodies are limited to 64 KiB (and none is needed)");
    }
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return send_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
                          "only GET and HEAD are supported");
    if (strcmp(url, "/healthz") == 0)
        return send_buf(c, MHD_HTTP_OK, CT_JSON, "{\"status\":\"ok\"}\n", 16);
    if (strcmp(url, "/") == 0) /* static page, no data: open like /healthz */
        return send_buf(c, MHD_HTTP_OK, "text/html; charset=utf-8", srv_ui_html,
                        srv_ui_html_len);
    args a;
    memset(&a, 0, sizeof a);
    MHD_get_connection_values_n(c, MHD_GET_ARGUMENT_KIND, collect_arg, &a);
    if (a.too_many)
        return send_error(c, MHD_HTTP_URI_TOO_LONG, "too_large",
                          "too many or too long query-string arguments");
    if (a.bad_utf8)
        return send_error(c, MHD_HTTP_BAD_REQUEST, "bad_request",
                          "query-string arguments must be UTF-8 text");
    if (!authorised(s, c))
        return send_error(c, MHD_HTTP_UNAUTHORIZED, "unauthorized",
                          "missing or wrong bearer token (Authorization: Bearer ...)");
    dbref *ref = db_acquire(s);
    enum MHD_Result r = dispatch(ref->db, c, url, &a);
    db_release(s, ref);
    return r;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **req_cls)
{
    (void)version;
    (void)upload_data;
    (void)req_cls;
    srv_server *s = cls;
    /* Every request is answered on its first call, before any body is
     * read: no endpoint takes one, so a body is never buffered. */
    (void)upload_data_size;
    double t0 = s->access_log ? now_s() : 0;
    enum MHD_Result r = route(s, c, url, method);
    if (s->access_log) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_HTTP_STATUS);
        fprintf(stderr, "omnidex: %s %s %u %.1f ms\n", method, url,
                ci ? ci->http_status : 0u, (now_s() - t0) * 1e3);
    }
    return r;
}

/* ------------------------------------------------------------ daemon ---- */

static void server_free(srv_server *s)
{
    if (!s)
        return;
    if (s->d)
        MHD_stop_daemon(s->d); /* waits for the requests in flight */
    if (s->cur) {
        odx_db_close(s->cur->db);
        free(s->cur);
    }
    pthread_mutex_destroy(&s->mu);
    free(s->token);
    free(s->db_dir);
    free(s->models_dir);
    free(s);
}

odx_status srv_start(odx_db *db, const srv_config *cfg, srv_server **out, int *port,
                     odx_err *err)
{
    if (!db || !cfg || !out) {
        odx_db_close(db);
        return srv_err(err, ODX_ERR_INVALID, "server: missing argument");
    }
    struct sockaddr_in a4;
    struct sockaddr_in6 a6;
    memset(&a4, 0, sizeof a4);
    memset(&a6, 0, sizeof a6);
    const char *addr = cfg->listen ? cfg->listen : "127.0.0.1";
    const struct sockaddr *sa;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG | MHD_USE_AUTO;
    if (inet_pton(AF_INET, addr, &a4.sin_addr) == 1) {
        a4.sin_family = AF_INET;
        a4.sin_port = htons((uint16_t)cfg->port);
        sa = (const struct sockaddr *)&a4;
    } else if (inet_pton(AF_INET6, addr, &a6.sin6_addr) == 1) {
        a6.sin6_family = AF_INET6;
        a6.sin6_port = htons((uint16_t)cfg->port);
        sa = (const struct sockaddr *)&a6;
        flags |= MHD_USE_IPv6;
    } else {
        odx_db_close(db);
        return srv_err(err, ODX_ERR_INVALID, "'%s' is not a numeric IPv4 or IPv6 address", addr);
    }
    srv_server *s = calloc(1, sizeof *s);
    if (!s) {
        odx_db_close(db);
        return srv_err(err, ODX_ERR_NOMEM, "no memory");
    }
    pthread_mutex_init(&s->mu, NULL);
    s->access_log = cfg->access_log;
    s->cur = calloc(1, sizeof *s->cur);
    if (!s->cur) {
        odx_db_close(db);
        server_free(s);
        return srv_err(err, ODX_ERR_NOMEM, "no memory");
    }
    s->cur->db = db;
    s->cur->refs = 1;
    struct stat sb;
    if ((cfg->token && !(s->token = strdup(cfg->token))) ||
        (cfg->db_dir && !(s->db_dir = strdup(cfg->db_dir))) ||
        (cfg->models_dir && !(s->models_dir = strdup(cfg->models_dir)))) {
        server_free(s);
        return srv_err(err, ODX_ERR_NOMEM, "no memory");
    }
    if (s->db_dir && stat(s->db_dir, &sb) == 0) {
        s->dir_dev = sb.st_dev;
        s->dir_ino = sb.st_ino;
    }
    s->last_check = now_s();
    unsigned threads = cfg->threads > 0 ? (unsigned)cfg->threads : 4;
    s->d = MHD_start_daemon(flags, (uint16_t)cfg->port, NULL, NULL, on_request, s,
                            MHD_OPTION_SOCK_ADDR, sa,
                            MHD_OPTION_THREAD_POOL_SIZE, threads,
                            MHD_OPTION_CONNECTION_LIMIT, (unsigned)512,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
                            /* holds the request line and headers: big enough
                             * that an over-long q reaches our own 414 */
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
                            MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)256,
                            MHD_OPTION_END);
    if (!s->d) {
        server_free(s);
        return srv_err(err, ODX_ERR_IO, "cannot listen on %s port %d (in use, or not allowed)",
                       addr, cfg->port);
    }
    if (port) {
        const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
        *port = di ? di->port : cfg->port;
    }
    *out = s;
    return ODX_OK;
}

void srv_stop(srv_server *s)
{
    server_free(s);
}

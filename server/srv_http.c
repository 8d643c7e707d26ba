/* srv_http.c - the request handlers of `omnidex serve`: checks each parsed
 * request (method, Host, token), calls the public API (search, similar,
 * context, show, stats) and answers JSON; thumbnails and original files go
 * to their own bounded pool (with a thumbnail cache), so they cannot take
 * the search threads. Sockets and parsing live in srv_net.c and
 * srv_proto.c, Range and file-name helpers in srv_file.c. */
#include "server.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <pthread.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A database handle shared by the requests that use it. When the index
 * directory is replaced (a fresh rebuild swaps it in), a new handle becomes
 * current and the old one is closed by whichever request drops it last. */
typedef struct dbref {
    odx_db *db;
    int refs; /* requests using it, +1 while current */
} dbref;

struct srv_server {
    srv_net *net;
    srv_pool *thumbs;      /* thumbnail threads */
    srv_tcache *tcache;    /* NULL: no cache */
    srv_ask *ask;          /* /ask (srv_ask.c) */
    char *token; /* NULL: open */
    bool access_log;
    char *listen;
    char *allow_host[SRV_MAX_ALLOW_HOSTS];
    int n_allow_host;
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

/* --------------------------------------------------------- responses ---- */

static const char *const CT_JSON = "application/json; charset=utf-8";

/* One answer, built by a handler and written by finish(). */
typedef struct out {
    int status;
    const char *ctype;
    const char *body; /* owned when own */
    size_t len;
    bool own;
    bool cacheable;   /* extra carries its own Cache-Control */
    bool sent;        /* the handler wrote the response itself (/ask) */
    char extra[1536]; /* header lines */
} out;

static void out_static(out *o, int status, const char *ctype, const char *body, size_t len)
{
    o->status = status;
    o->ctype = ctype;
    o->body = body;
    o->len = len;
    o->own = false;
}

/* Takes body (malloc'd). */
static void out_owned(out *o, int status, const char *ctype, char *body, size_t len)
{
    out_static(o, status, ctype, body, len);
    o->own = true;
}

static void out_error(out *o, int status, const char *code, const char *msg)
{
    char *m = srv_utf8_fix(msg ? msg : "", msg ? strlen(msg) : 0);
    cJSON *j = cJSON_CreateObject();
    char *s = NULL;
    if (j && m && cJSON_AddStringToObject(j, "error", code) &&
        cJSON_AddStringToObject(j, "message", m))
        s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    free(m);
    o->extra[0] = 0;
    if (status == 405)
        snprintf(o->extra, sizeof o->extra, "Allow: GET, HEAD\r\n");
    else if (status == 401)
        snprintf(o->extra, sizeof o->extra, "WWW-Authenticate: Bearer realm=\"omnidex\"\r\n");
    else if (status == 503)
        snprintf(o->extra, sizeof o->extra, "Retry-After: 1\r\n");
    if (s) {
        size_t n = strlen(s);
        s[n] = '\n'; /* replaces the NUL; the length is what counts */
        out_owned(o, status, CT_JSON, s, n + 1);
    } else {
        static const char oom[] = "{\"error\":\"internal\",\"message\":\"no memory\"}\n";
        out_static(o, 500, CT_JSON, oom, sizeof oom - 1);
    }
}

static void out_status(out *o, odx_status st, const odx_err *e)
{
    const char *msg = e->msg[0] ? e->msg : odx_status_str(st);
    switch (st) {
    case ODX_ERR_INVALID:
        out_error(o, 400, "bad_request", msg);
        break;
    case ODX_ERR_NOT_FOUND:
        out_error(o, 404, "not_found", msg);
        break;
    case ODX_ERR_LIMIT:
        out_error(o, 413, "too_large", msg);
        break;
    case ODX_ERR_UNINDEXED: /* /similar of an image that failed to index */
        out_error(o, 422, "unprocessable", msg);
        break;
    default:
        out_error(o, 500, "internal", msg);
        break;
    }
}

/* A 200 with body, bytes that are not UTF-8 replaced (a file name may hold
 * any bytes; a JSON or Markdown body must not). */
static void out_text(out *o, const char *ctype, const char *body)
{
    size_t n = strlen(body);
    char *copy = srv_utf8_valid(body, n) ? strdup(body) : srv_utf8_fix(body, n);
    if (!copy) {
        out_error(o, 500, "internal", "no memory");
        return;
    }
    out_owned(o, 200, ctype, copy, strlen(copy));
}

/* Same with a string owned by the library (freed with odx_free). */
static void out_odx(out *o, const char *ctype, char *body)
{
    out_text(o, ctype, body);
    odx_free(body);
}

/* Writes o, logs the request, hands the connection back. Any thread. */
static void finish(srv_server *s, srv_conn *c, out *o)
{
    bool head = !c->bad && strcmp(c->req.method, "HEAD") == 0;
    char extra[sizeof o->extra + 32];
    snprintf(extra, sizeof extra, "%s%s", o->extra,
             o->cacheable ? "" : "Cache-Control: no-store\r\n");
    if (!o->sent)
        srv_send(c, o->status, o->ctype, extra, o->body, o->len, head);
    if (s->access_log) {
        /* control characters in what the client sent must not reach a
         * terminal as escape sequences */
        char method[40], target[600];
        srv_escape(c->bad ? "-" : c->req.method, method, sizeof method);
        srv_escape(c->bad ? "-" : c->req.target, target, sizeof target);
        fprintf(stderr, "omnidex: %s %s %s %d %zu %.1f ms\n", c->peer, method, target,
                c->status, c->bytes_out, (srv_now() - c->t0) * 1e3);
    }
    if (o->own)
        free((void *)o->body);
    srv_conn_done(c);
}

/* --------------------------------------------------------- arguments ---- */

/* Fills the search parameters shared by /search and /context through the
 * library's parser (the same one as CLI flags and inline filters). On a
 * bad value writes its message into msg and returns false. */
static bool parse_search(const srv_req *a, odx_search_params *p, char *msg, size_t msg_len)
{
    static const char *const KEYS[] = {"k",        "lang",      "text_lang",  "domain",
                                       "path",     "ext",       "after",      "before",
                                       "min_width", "min_height", "min_size", "max_size",
                                       "min_score", "mode",     "all",        "explain"};
    for (size_t i = 0; i < sizeof KEYS / sizeof *KEYS; i++) {
        const char *v = srv_req_arg(a, KEYS[i]);
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

/* q is required; its length is limited before it reaches the library.
 * Returns NULL after filling o with the error. */
static const char *need_q(out *o, const srv_req *a)
{
    const char *q = srv_req_arg(a, "q");
    if (!q) {
        out_error(o, 400, "bad_request", "missing parameter q");
        return NULL;
    }
    if (strlen(q) > SRV_MAX_Q) {
        char m[96];
        snprintf(m, sizeof m, "q is longer than %d bytes", SRV_MAX_Q);
        out_error(o, 414, "too_large", m);
        return NULL;
    }
    return q;
}

/* ---------------------------------------------------------- handlers ---- */

/* The URLs of an image's thumbnail and original as the results carry
 * them: ?v= names the content (SRV_URL_HASH_CHARS hex digits of its hash),
 * so the answer to such a URL never changes and may be cached for good. */
#define SRV_URL_HASH_CHARS 16
#define IMMUTABLE "Cache-Control: private, max-age=31536000, immutable\r\n"
#define REVALIDATE "Cache-Control: private, no-cache\r\n"

/* Does the request's v= name this content? Then its answer is immutable. */
static bool v_matches(const srv_req *a, const char *hash)
{
    const char *v = srv_req_arg(a, "v");
    size_t n = v ? strlen(v) : 0;
    return n >= SRV_URL_HASH_CHARS && n <= 64 && strncmp(v, hash, n) == 0;
}

/* The library's JSON object of the results (odx_results_json_object: what
 * was asked, "count", "results", the shape `search --json` prints) with
 * thumb_url and file_url added to every result. NULL on no memory. */
static char *results_body(const odx_results *res)
{
    char *rj = odx_results_json_object(res);
    cJSON *o = rj ? cJSON_Parse(rj) : NULL;
    odx_free(rj);
    cJSON *arr = cJSON_GetObjectItemCaseSensitive(o, "results");
    char *body = NULL;
    if (!cJSON_IsArray(arr))
        goto done;
    int i = 0;
    for (cJSON *it = arr->child; it; it = it->next, i++) {
        const odx_result *r = odx_results_get(res, i);
        if (!r)
            break;
        char u[128];
        snprintf(u, sizeof u, "/images/%lld/thumb?v=%.*s", (long long)r->image_id,
                 SRV_URL_HASH_CHARS, r->hash ? r->hash : "");
        cJSON_AddStringToObject(it, "thumb_url", u);
        snprintf(u, sizeof u, "/images/%lld/file?v=%.*s", (long long)r->image_id,
                 SRV_URL_HASH_CHARS, r->hash ? r->hash : "");
        cJSON_AddStringToObject(it, "file_url", u);
    }
    char *s = cJSON_PrintUnformatted(o);
    if (s) {
        size_t len = strlen(s);
        body = malloc(len + 2);
        if (body) {
            memcpy(body, s, len);
            memcpy(body + len, "\n", 2);
        }
        free(s);
    }
done:
    cJSON_Delete(o);
    return body;
}

static void h_search(odx_db *db, out *o, const srv_req *a)
{
    const char *q = need_q(o, a);
    if (!q)
        return;
    odx_search_params p = odx_search_params_default();
    char msg[512];
    if (!parse_search(a, &p, msg, sizeof msg)) {
        out_error(o, 400, "bad_request", msg);
        return;
    }
    odx_err e = {0};
    odx_results *res = NULL;
    odx_status st = odx_search(db, q, &p, &res, &e);
    if (st != ODX_OK) {
        out_status(o, st, &e);
        return;
    }
    char *body = results_body(res);
    odx_results_free(res);
    if (!body) {
        out_error(o, 500, "internal", "no memory for the results");
        return;
    }
    out_text(o, CT_JSON, body);
    free(body);
}

/* /similar/{id}?[k=N][&lang=][filters]: the images most like image id
 * (odx_similar), as {"similar_to": id, "count", "results"} in the shape
 * of /search. */
static void h_similar(odx_db *db, out *o, const srv_req *a, long long id)
{
    odx_search_params p = odx_search_params_default();
    char msg[512];
    if (!parse_search(a, &p, msg, sizeof msg)) {
        out_error(o, 400, "bad_request", msg);
        return;
    }
    char ref[32];
    snprintf(ref, sizeof ref, "#%lld", id);
    odx_err e = {0};
    odx_results *res = NULL;
    odx_status st = odx_similar(db, ref, &p, &res, &e);
    if (st != ODX_OK) {
        out_status(o, st, &e);
        return;
    }
    char *body = results_body(res);
    odx_results_free(res);
    if (!body) {
        out_error(o, 500, "internal", "no memory for the results");
        return;
    }
    out_text(o, CT_JSON, body);
    free(body);
}

static void h_context(odx_db *db, out *o, const srv_req *a)
{
    const char *q = need_q(o, a);
    if (!q)
        return;
    odx_context_params p = odx_context_params_default();
    char msg[512];
    if (!parse_search(a, &p.search, msg, sizeof msg)) {
        out_error(o, 400, "bad_request", msg);
        return;
    }
    const char *v;
    long n;
    if ((v = srv_req_arg(a, "max_chars"))) {
        if (!srv_parse_long(v, 200, 1000000, &n)) {
            out_error(o, 400, "bad_request", "max_chars must be an integer from 200 to 1000000");
            return;
        }
        p.max_chars = (int)n;
    }
    if ((v = srv_req_arg(a, "format"))) {
        if (strcmp(v, "json") == 0) {
            p.json = true;
        } else if (strcmp(v, "md") == 0 || strcmp(v, "markdown") == 0) {
            p.json = false;
        } else {
            out_error(o, 400, "bad_request", "format must be md or json");
            return;
        }
    }
    odx_err e = {0};
    char *res = NULL;
    odx_status st = odx_context(db, q, &p, &res, &e);
    if (st != ODX_OK) {
        out_status(o, st, &e);
        return;
    }
    out_odx(o, p.json ? CT_JSON : "text/markdown; charset=utf-8", res);
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

/* ------------------------------------------------------- thumbnails ---- */

/* What a thumbnail request needs once the index has been asked: the
 * thumbnail threads never touch the database. */
typedef struct thumb_job {
    bool file;     /* the original (/file), not a thumbnail */
    bool immutable; /* the URL's v= names this content */
    char format[16]; /* indexed format, for the original's media type */
    char *path;
    char hash[65]; /* SHA-256 hex of the indexed content */
    long long size;
    int64_t mtime_ns;
    int orientation;
    char key[96];  /* cache key and ETag body */
} thumb_job;

static void job_free(thumb_job *j)
{
    if (j) {
        free(j->path);
        free(j);
    }
}

/* True when the If-None-Match list holds our ETag (or "*"); entity tags
 * are quoted, weak ones (W/"...") compare alike for GET (RFC 9110 13.1.2:
 * the weak comparison; If-Range takes the strong one, srv_if_range_matches). */
static bool etag_matches(const char *inm, const char *key)
{
    if (!inm)
        return false;
    size_t kn = strlen(key);
    for (const char *p = inm; *p;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '*')
            return true;
        if (strncmp(p, "W/", 2) == 0)
            p += 2;
        if (*p == '"') {
            const char *q = strchr(p + 1, '"');
            if (!q)
                return false;
            if ((size_t)(q - p - 1) == kn && strncmp(p + 1, key, kn) == 0)
                return true;
            p = q + 1;
        }
        while (*p && *p != ',')
            p++;
    }
    return false;
}

static void out_thumb(out *o, const thumb_job *j, const unsigned char *jpg, size_t len,
                      bool hit)
{
    snprintf(o->extra, sizeof o->extra, "ETag: \"%s\"\r\n%sX-Thumb-Cache: %s\r\n", j->key,
             j->immutable ? IMMUTABLE : REVALIDATE, hit ? "hit" : "miss");
    o->cacheable = true;
    char *copy = malloc(len ? len : 1);
    if (!copy) {
        out_error(o, 500, "internal", "no memory");
        return;
    }
    memcpy(copy, jpg, len);
    out_owned(o, 200, "image/jpeg", copy, len);
}

static void out_not_modified(out *o, const thumb_job *j)
{
    out_static(o, 304, NULL, "", 0);
    snprintf(o->extra, sizeof o->extra, "ETag: \"%s\"\r\n%s", j->file ? j->hash : j->key,
             j->immutable ? IMMUTABLE : REVALIDATE);
    o->cacheable = true;
}

/* The file's mtime in nanoseconds, exactly as the indexer stores it. */
static int64_t mtime_ns_of(const struct stat *sb)
{
    return (int64_t)sb->st_mtim.tv_sec * 1000000000 + (int64_t)sb->st_mtim.tv_nsec;
}

/* Does the open file still hold what was indexed? Size and mtime first
 * (one fstat); when either differs, the content hash decides, so a file
 * only touched still works and one replaced (by a symlink to something
 * else, or new bytes) is refused. */
static bool same_content(int fd, const struct stat *sb, const thumb_job *j, char *why,
                         size_t why_len)
{
    if ((long long)sb->st_size == j->size && mtime_ns_of(sb) == j->mtime_ns)
        return true;
    char hex[65];
    odx_err e = {0};
    if (srv_sha256_fd(fd, hex, &e) != ODX_OK) {
        snprintf(why, why_len, "%s", e.msg);
        return false;
    }
    if (strcmp(hex, j->hash) != 0) {
        snprintf(why, why_len,
                 "the file at this path is no longer the indexed content (run 'omnidex index')");
        return false;
    }
    return true;
}

static void thumb_result(out *o, const thumb_job *j, odx_status st, const odx_err *e,
                         const unsigned char *jpg, size_t len, bool hit)
{
    if (st == ODX_OK)
        out_thumb(o, j, jpg, len, hit);
    else if (st == ODX_ERR_DECODE || st == ODX_ERR_UNSUPPORTED || st == ODX_ERR_LIMIT)
        out_error(o, 422, "unprocessable", e->msg);
    else
        out_status(o, st, e);
}

/* A cached result for j: true (and o filled) on a hit. */
static bool from_cache(srv_server *s, out *o, const thumb_job *j)
{
    unsigned char *jpg = NULL;
    size_t len = 0;
    odx_status st;
    odx_err e = {0};
    if (!srv_tcache_get(s->tcache, j->key, &st, e.msg, sizeof e.msg, &jpg, &len))
        return false;
    e.code = st;
    thumb_result(o, j, st, &e, jpg, len, true);
    free(jpg);
    return true;
}

/* Reads fd to its end into one buffer of want + 1 bytes (malloc'd): more
 * than want bytes sets *too_big (the file grew), fewer are returned as
 * read (the hash check then refuses them). */
static unsigned char *read_all(int fd, size_t want, size_t *len, bool *too_big)
{
    size_t cap = want + 1, n = 0;
    unsigned char *b = malloc(cap);
    *too_big = false;
    while (b && n < cap) {
        ssize_t r = read(fd, b + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            free(b);
            return NULL;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    if (b && n > want) {
        *too_big = true;
        free(b);
        return NULL;
    }
    *len = n;
    return b;
}

static void out_gone(out *o)
{
    out_error(o, 410, "gone",
              "the file at this path no longer holds the indexed content (run 'omnidex "
              "index' to index what is there now)");
}

/* On a file thread: the original of an image, only while the file holds
 * the indexed content. The bytes are read once, hashed and the same bytes
 * sent, so what goes out is exactly what was indexed even if the file
 * changes meanwhile. A single byte range (Range, If-Range by the ETag) is
 * answered with 206; the ETag is the content hash. */
static void serve_file(srv_conn *c, const thumb_job *j, int fd, const struct stat *sb, out *o)
{
    const srv_req *a = &c->req;
    if (sb->st_size > SRV_MAX_FILE_BYTES) {
        char m[128];
        snprintf(m, sizeof m, "the file is larger than the %lld MiB the server sends",
                 SRV_MAX_FILE_BYTES >> 20);
        out_error(o, 413, "too_large", m);
        return;
    }
    /* a size other than the indexed one is other content: no need to read
     * and hash it (and the buffer is sized by the indexed size) */
    if (sb->st_size != j->size) {
        out_gone(o);
        return;
    }
    size_t n = 0;
    bool too_big = false;
    unsigned char *buf = read_all(fd, (size_t)j->size, &n, &too_big);
    if (!buf) {
        if (too_big)
            out_error(o, 413, "too_large", "the file grew past what the server sends");
        else
            out_error(o, 500, "internal", errno ? strerror(errno) : "cannot read the file");
        return;
    }
    char hex[65];
    srv_sha256_hex(buf, n, hex);
    if (strcmp(hex, j->hash) != 0) {
        free(buf);
        out_gone(o);
        return;
    }
    if (etag_matches(a->if_none_match, j->hash)) {
        free(buf);
        out_not_modified(o, j);
        return;
    }
    long long first = 0, last = (long long)n - 1;
    int rr = srv_range_parse(a->range, (long long)n, &first, &last);
    /* If-Range: the range only if the client's copy is this content, by
     * the strong comparison (a weak tag, a list or "*" never match) */
    if (rr != 0 && a->if_range && !srv_if_range_matches(a->if_range, j->hash))
        rr = 0;
    char disp[SRV_DISPOSITION_MAX];
    srv_content_disposition(j->path, disp, sizeof disp);
    if (rr < 0) {
        free(buf);
        out_error(o, 416, "range_not_satisfiable", "the range asks for bytes the file lacks");
        snprintf(o->extra, sizeof o->extra, "Content-Range: bytes */%zu\r\n", n);
        return;
    }
    int status = 200;
    char range_hdr[96] = "";
    if (rr > 0) {
        status = 206;
        snprintf(range_hdr, sizeof range_hdr, "Content-Range: bytes %lld-%lld/%zu\r\n", first,
                 last, n);
        memmove(buf, buf + first, (size_t)(last - first + 1));
        n = (size_t)(last - first + 1);
    }
    out_owned(o, status, srv_format_mime(j->format), (char *)buf, n);
    /* sandbox: opened on its own, the file is never a document that runs
     * in the page's origin (nosniff is on every answer) */
    snprintf(o->extra, sizeof o->extra,
             "ETag: \"%s\"\r\n%sAccept-Ranges: bytes\r\n%sContent-Disposition: %s\r\n"
             "Content-Security-Policy: default-src 'none'; sandbox\r\n",
             j->hash, j->immutable ? IMMUTABLE : REVALIDATE, range_hdr, disp);
    o->cacheable = true;
}

/* On a thumbnail thread: check the file, decode (within its budget),
 * remember the result, answer; or send the original (serve_file). */
static void on_thumb(void *user, srv_conn *c)
{
    srv_server *s = user;
    thumb_job *j = c->user;
    out o;
    memset(&o, 0, sizeof o);
    if (j->file) {
        int fd = open(j->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        struct stat sb;
        if (fd < 0 && (errno == ENOENT || errno == ENOTDIR))
            out_error(&o, 404, "not_found",
                      "the indexed file is gone (run 'omnidex index' to update the index)");
        else if (fd < 0)
            out_error(&o, 500, "internal", strerror(errno));
        else if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))
            out_error(&o, 410, "gone", "the path no longer names a regular file");
        else
            serve_file(c, j, fd, &sb, &o);
        if (fd >= 0)
            close(fd);
        job_free(j);
        c->user = NULL;
        finish(s, c, &o);
        return;
    }
    int fd = open(j->path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    struct stat sb;
    char why[sizeof ((odx_err *)0)->msg];
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            out_error(&o, 404, "not_found", "the indexed file is gone");
        else
            out_error(&o, 500, "internal", strerror(errno));
    } else if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        out_error(&o, 409, "conflict", "the path no longer names a regular file");
    } else if (!same_content(fd, &sb, j, why, sizeof why)) {
        out_error(&o, 409, "conflict", why);
    } else if (etag_matches(c->req.if_none_match, j->key)) {
        out_not_modified(&o, j);
    } else if (from_cache(s, &o, j)) {
        /* decoded meanwhile for a request queued before this one */
    } else {
        FILE *f = lseek(fd, 0, SEEK_SET) == 0 ? fdopen(fd, "rb") : NULL;
        if (!f) {
            out_error(&o, 500, "internal", "cannot read the file");
        } else {
            fd = -1; /* f owns it */
            unsigned char *jpg = NULL;
            size_t len = 0;
            odx_err e = {0};
            srv_thumb_limits lim = srv_thumb_limits_default();
            odx_status st = srv_thumb_decode(f, &lim, SRV_THUMB_SIDE, j->orientation, &jpg,
                                             &len, &e);
            fclose(f);
            if (st == ODX_OK || st == ODX_ERR_DECODE || st == ODX_ERR_UNSUPPORTED ||
                st == ODX_ERR_LIMIT)
                srv_tcache_put(s->tcache, j->key, st, e.msg, jpg, len);
            thumb_result(&o, j, st, &e, jpg, len, false);
            free(jpg);
        }
    }
    if (fd >= 0)
        close(fd);
    job_free(j);
    c->user = NULL;
    finish(s, c, &o);
}

/* On a request thread, for a thumbnail or the original (file): the
 * index's record of image id as a job, and the file's stat in *sb. NULL
 * when the answer is already in o (not indexed, failed to index, gone). */
static thumb_job *job_from_record(odx_db *db, out *o, const srv_conn *c, long long id, bool file,
                                  struct stat *sb)
{
    char key[32];
    snprintf(key, sizeof key, "#%lld", id);
    odx_err e = {0};
    odx_image *im = NULL;
    odx_status st = odx_image_get(db, key, &im, &e);
    if (st != ODX_OK) {
        out_status(o, st, &e);
        return NULL;
    }
    const odx_image_info *r = odx_image_info_get(im);
    thumb_job *j = NULL;
    if (!r->ok) {
        out_error(o, 422, "unprocessable",
                  file ? "the image failed to index; its file is not served"
                       : "the image failed to index; there is no thumbnail");
        goto fail;
    }
    if (!r->path || !r->hash || strlen(r->hash) != 64) {
        out_error(o, 500, "internal", "image record lacks path or hash");
        goto fail;
    }
    j = calloc(1, sizeof *j);
    if (!j || !(j->path = strdup(r->path))) { /* byte-exact, whatever the bytes */
        out_error(o, 500, "internal", "no memory");
        goto fail;
    }
    j->file = file;
    snprintf(j->hash, sizeof j->hash, "%s", r->hash);
    snprintf(j->format, sizeof j->format, "%s", r->format ? r->format : "");
    j->size = (long long)r->size;
    j->mtime_ns = r->mtime_ns;
    j->orientation = r->orientation; /* 1..8 */
    snprintf(j->key, sizeof j->key, "%.32s-o%d-%d", j->hash, j->orientation, SRV_THUMB_SIDE);
    j->immutable = v_matches(&c->req, j->hash);
    if (stat(j->path, sb) != 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            out_error(o, 404, "not_found",
                      file ? "the indexed file is gone (run 'omnidex index' to update the index)"
                           : "the indexed file is gone");
        else
            out_error(o, 500, "internal", strerror(errno));
        goto fail;
    }
    odx_image_free(im);
    return j;
fail:
    job_free(j);
    odx_image_free(im);
    return NULL;
}

/* The job to a file thread; false (and a 503 in o) when the queue is full. */
static bool job_hand(srv_server *s, out *o, srv_conn *c, thumb_job *j)
{
    c->user = j;
    if (srv_pool_push(s->thumbs, c))
        return true;
    c->user = NULL;
    out_error(o, 503, "unavailable",
              j->file ? "the file queue is full; try again shortly"
                      : "the thumbnail queue is full; try again shortly");
    job_free(j);
    return false;
}

/* The file unchanged by size and mtime since it was indexed (one stat). */
static bool job_unchanged(const thumb_job *j, const struct stat *sb)
{
    return S_ISREG(sb->st_mode) && (long long)sb->st_size == j->size &&
           mtime_ns_of(sb) == j->mtime_ns;
}

/* On a request thread: what the index knows, then the cheap answers (304,
 * the cache) here and the decoding on a thumbnail thread. Returns true
 * when the connection went to the thumbnail pool. */
static bool h_thumb(srv_server *s, odx_db *db, out *o, srv_conn *c, long long id)
{
    struct stat sb;
    thumb_job *j = job_from_record(db, o, c, id, false, &sb);
    if (!j)
        return false;
    if (job_unchanged(j, &sb)) {
        bool answered = true;
        if (etag_matches(c->req.if_none_match, j->key))
            out_not_modified(o, j);
        else
            answered = from_cache(s, o, j);
        if (answered) {
            job_free(j);
            return false;
        }
    }
    return job_hand(s, o, c, j);
}

/* /images/{id}/file on a request thread: the index's record, the cheap
 * 304 (file unchanged by size and mtime, the client holds this content),
 * then the reading and hashing on a file thread (the thumbnail pool).
 * Returns true when the connection went to the pool. */
static bool h_file(srv_server *s, odx_db *db, out *o, srv_conn *c, long long id)
{
    struct stat sb;
    thumb_job *j = job_from_record(db, o, c, id, true, &sb);
    if (!j)
        return false;
    if (job_unchanged(j, &sb) && etag_matches(c->req.if_none_match, j->hash)) {
        out_not_modified(o, j);
        job_free(j);
        return false;
    }
    return job_hand(s, o, c, j);
}

/* ----------------------------------------------- index replacement ---- */

/* A rebuild that builds a fresh database beside the old one and swaps the
 * directories leaves this process on the old files for ever; the directory's
 * identity tells us, at the cost of one stat() a second. */
static void maybe_reopen(srv_server *s)
{
    if (!s->db_dir)
        return;
    double now = srv_now();
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
        char m[600];
        fprintf(stderr, "omnidex: the index directory changed but cannot be opened: %s\n",
                srv_escape(e.msg[0] ? e.msg : "no memory", m, sizeof m));
        odx_db_close(db);
        pthread_mutex_lock(&s->mu);
        s->reopening = false;
        pthread_mutex_unlock(&s->mu);
        return;
    }
    odx_err we = {0};
    if (odx_db_warm(db, &we) != ODX_OK)
        fprintf(stderr, "omnidex: %s\n", we.msg);
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
    char m[600];
    fprintf(stderr, "omnidex: the index directory %s was replaced; reopened it\n",
            srv_escape(s->db_dir, m, sizeof m));
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

/* Returns true when the connection was handed on (thumbnails). */
static bool dispatch(srv_server *s, odx_db *db, out *o, srv_conn *c)
{
    const srv_req *a = &c->req;
    const char *url = a->path;
    if (strcmp(url, "/search") == 0) {
        h_search(db, o, a);
        return false;
    }
    if (strcmp(url, "/context") == 0) {
        h_context(db, o, a);
        return false;
    }
    if (strcmp(url, "/ask") == 0) { /* POST only (route); srv_ask.c answers */
        srv_ask_handle(s->ask, db, c);
        o->sent = true;
        return false;
    }
    if (strcmp(url, "/stats") == 0) {
        odx_err e = {0};
        char *json = NULL;
        odx_status st = odx_stats_json(db, &json, &e);
        if (st == ODX_OK)
            out_odx(o, CT_JSON, json);
        else
            out_status(o, st, &e);
        return false;
    }
    if (strncmp(url, "/images/", 8) == 0) {
        const char *id = url + 8;
        const char *slash = strchr(id, '/');
        size_t idn = slash ? (size_t)(slash - id) : strlen(id);
        bool thumb = slash && strcmp(slash, "/thumb") == 0;
        bool file = slash && strcmp(slash, "/file") == 0;
        long long v;
        if (slash && !thumb && !file) {
            out_error(o, 404, "not_found", "no such endpoint");
            return false;
        }
        if (!parse_id(id, idn, &v)) {
            out_error(o, 400, "bad_request", "image id must be a positive integer");
            return false;
        }
        if (thumb)
            return h_thumb(s, db, o, c, v);
        if (file)
            return h_file(s, db, o, c, v);
        char key[32];
        snprintf(key, sizeof key, "#%lld", v);
        odx_err e = {0};
        char *json = NULL;
        odx_status st = odx_show_json(db, key, &json, &e);
        if (st == ODX_OK)
            out_odx(o, CT_JSON, json);
        else
            out_status(o, st, &e);
        return false;
    }
    if (strncmp(url, "/similar/", 9) == 0) {
        long long v;
        if (!parse_id(url + 9, strlen(url + 9), &v)) {
            out_error(o, 400, "bad_request", "image id must be a positive integer");
            return false;
        }
        h_similar(db, o, a, v);
        return false;
    }
    out_error(o, 404, "not_found",
              "no such endpoint (/search, /similar/{id}, /context, /ask, /images/{id}, "
              "/images/{id}/thumb, /images/{id}/file, /stats, /healthz)");
    return false;
}

static bool authorised(const srv_server *s, const srv_req *r)
{
    if (!s->token)
        return true;
    const char *h = r->authorization;
    if (!h)
        return false;
    size_t hn = strlen(h);
    if (hn < 7 || strncasecmp(h, "Bearer ", 7) != 0)
        return false;
    h += 7;
    hn -= 7;
    while (hn && *h == ' ')
        h++, hn--;
    return srv_token_equal(h, hn, s->token);
}

/* Returns true when the connection was handed on. */
static bool route(srv_server *s, srv_conn *c, out *o)
{
    const srv_req *r = &c->req;
    /* /ask is POST only: a question costs an LLM call, which no safe method
     * may (RFC 9110 9.2.1). Any web page a browser visits can make it send
     * a GET here (an <img src>, a link), token or not; a cross-site POST
     * with Content-Type application/json needs a CORS preflight that this
     * server never grants (no OPTIONS, no Access-Control-* headers), and
     * srv_ask refuses any other type with 415. HEAD would ask the model and
     * throw the answer away. */
    if (strcmp(r->path, "/ask") == 0 && strcmp(r->method, "POST") != 0) {
        out_error(o, 405, "method_not_allowed",
                  "/ask takes POST with a JSON body {\"question\": ...} and Content-Type: "
                  "application/json (a GET could be sent by any web page)");
        snprintf(o->extra, sizeof o->extra, "Allow: POST\r\n");
        return false;
    }
    if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0 &&
        strcmp(r->path, "/ask") != 0) {
        out_error(o, 405, "method_not_allowed", "only GET and HEAD are supported (and POST /ask)");
        return false;
    }
    if (!srv_host_allowed(r->host, s->listen, (const char *const *)s->allow_host,
                          s->n_allow_host)) {
        out_error(o, 421, "misdirected",
                  "this server does not answer to that Host name (start it with "
                  "--allow-host NAME to allow it)");
        return false;
    }
    if (strcmp(r->path, "/healthz") == 0) {
        static const char ok[] = "{\"status\":\"ok\"}\n";
        out_static(o, 200, CT_JSON, ok, sizeof ok - 1);
        return false;
    }
    if (strcmp(r->path, "/") == 0) { /* static page, no data: open like /healthz */
        out_static(o, 200, "text/html; charset=utf-8", srv_ui_html, srv_ui_html_len);
        /* the page's own script and style only; it talks to this server
         * alone and shows images it fetched as blobs */
        snprintf(o->extra, sizeof o->extra,
                 "Content-Security-Policy: default-src 'none'; script-src 'unsafe-inline'; "
                 "style-src 'unsafe-inline'; img-src 'self' blob: data:; connect-src 'self'; "
                 "base-uri 'none'; form-action 'self'; frame-ancestors 'none'\r\n"
                 "Referrer-Policy: no-referrer\r\n");
        return false;
    }
    if (!authorised(s, r)) {
        out_error(o, 401, "unauthorized",
                  "missing or wrong bearer token (Authorization: Bearer ...)");
        return false;
    }
    dbref *ref = db_acquire(s);
    bool handed = dispatch(s, ref->db, o, c);
    db_release(s, ref);
    return handed;
}

/* On a request thread, for every complete request (or refused one). */
static void on_request(void *user, srv_conn *c)
{
    srv_server *s = user;
    out o;
    memset(&o, 0, sizeof o);
    if (c->bad)
        out_error(&o, c->perr.status, c->perr.code, c->perr.msg);
    else if (route(s, c, &o))
        return; /* a thumbnail thread answers */
    finish(s, c, &o);
}

/* ------------------------------------------------------------ server ---- */

static void server_free(srv_server *s)
{
    if (!s)
        return;
    srv_ask_stop(s->ask);      /* answers being written stop at their next piece */
    srv_net_stop(s->net);      /* no new requests; request threads joined */
    srv_pool_stop(s->thumbs);  /* thumbnails in flight finish */
    srv_net_free(s->net);
    srv_tcache_free(s->tcache);
    srv_ask_free(s->ask);
    if (s->cur) {
        odx_db_close(s->cur->db);
        free(s->cur);
    }
    pthread_mutex_destroy(&s->mu);
    free(s->token);
    free(s->listen);
    for (int i = 0; i < s->n_allow_host; i++)
        free(s->allow_host[i]);
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
    const char *addr = cfg->listen ? cfg->listen : "127.0.0.1";
    bool nomem = (cfg->token && !(s->token = strdup(cfg->token))) ||
                 !(s->listen = strdup(addr)) ||
                 (cfg->db_dir && !(s->db_dir = strdup(cfg->db_dir))) ||
                 (cfg->models_dir && !(s->models_dir = strdup(cfg->models_dir)));
    for (int i = 0; !nomem && i < cfg->n_allow_host && i < SRV_MAX_ALLOW_HOSTS; i++) {
        if (!(s->allow_host[i] = strdup(cfg->allow_host[i])))
            nomem = true;
        else
            s->n_allow_host++;
    }
    if (nomem) {
        server_free(s);
        return srv_err(err, ODX_ERR_NOMEM, "no memory");
    }
    struct stat sb;
    if (s->db_dir && stat(s->db_dir, &sb) == 0) {
        s->dir_dev = sb.st_dev;
        s->dir_ino = sb.st_ino;
    }
    s->last_check = srv_now();
    int tt = cfg->thumb_threads > 0 ? cfg->thumb_threads : 2;
    if (cfg->thumb_cache_mib > 0 &&
        !(s->tcache = srv_tcache_new((size_t)cfg->thumb_cache_mib << 20))) {
        server_free(s);
        return srv_err(err, ODX_ERR_NOMEM, "no memory for the thumbnail cache");
    }
    /* a bounded queue: beyond it a thumbnail gets 503 + Retry-After at
     * once instead of waiting behind work it cannot overtake */
    int threads = cfg->threads > 0 ? cfg->threads : 4;
    int jobs = cfg->ask_jobs > 0 ? cfg->ask_jobs : (threads / 2 > 0 ? threads / 2 : 1);
    if (!(s->ask = srv_ask_new(cfg->llm_url, cfg->llm_model, jobs, 120))) {
        server_free(s);
        return srv_err(err, ODX_ERR_NOMEM, "no memory");
    }
    s->thumbs = srv_pool_start(tt, tt * SRV_THUMB_QUEUE_PER_THREAD, on_thumb, s);
    if (!s->thumbs) {
        server_free(s);
        return srv_err(err, ODX_ERR_NOMEM, "cannot start %d thumbnail threads", tt);
    }
    odx_status st = srv_net_start(addr, cfg->port, cfg->threads > 0 ? cfg->threads : 4,
                                  on_request, s, &s->net, port, err);
    if (st != ODX_OK) {
        server_free(s);
        return st;
    }
    *out = s;
    return ODX_OK;
}

void srv_stop(srv_server *s)
{
    server_free(s);
}

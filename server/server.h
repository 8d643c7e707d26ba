/* server.h - `omnidex serve`: the HTTP JSON API over the public API
 * (include/omnidex.h). Sits after the retriever in the data flow: queries
 * arrive over HTTP, results and context blocks leave as JSON/Markdown. */
#ifndef ODX_SERVER_H
#define ODX_SERVER_H

#include "omnidex.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Runs `omnidex serve`: parses its own options from argv (argv[0] == "serve"),
 * serves until SIGINT/SIGTERM, returns a process exit code (0 ok, 2 usage, 3 fatal). */
int srv_main(const char *db_dir, const char *models_dir, int argc, char **argv);

/* ------------------------------------------------- internal to server/ ----
 * Declared here (the folder's only header) so srv_main.c and the unit tests
 * reach them; the CLI needs only srv_main. */

/* Limits the server enforces on every request. */
#define SRV_MAX_BODY (64 * 1024)     /* any larger body: 413 */
#define SRV_MAX_Q 2048               /* bytes of q: longer is 414 */
#define SRV_MAX_ARGS_BYTES (8 * 1024) /* all query-string arguments together */
#define SRV_MAX_ARGS 64
#define SRV_MAX_K 1000
#define SRV_THUMB_SIDE 256

/* Limits on the request head (srv_proto.c) and on connections (srv_net.c). */
#define SRV_MAX_LINE (16 * 1024)  /* request line: longer is 414 */
#define SRV_MAX_FIELD (8 * 1024)  /* one header field: longer is 431 */
#define SRV_MAX_HEAD (32 * 1024)  /* request line + headers: more is 431 */
#define SRV_MAX_HEADERS 64        /* header fields: more is 431 */
#define SRV_MAX_CONNS 512         /* open connections: more get 503 */
#define SRV_HEAD_TIMEOUT_S 10.0   /* whole request head (slowloris): else 408 */
#define SRV_IDLE_TIMEOUT_S 15.0   /* keep-alive connection with no request */
#define SRV_WRITE_TIMEOUT_S 30.0  /* writing one response */
#define SRV_MAX_ALLOW_HOSTS 32    /* --allow-host names */

typedef struct srv_config {
    const char *listen; /* numeric IPv4/IPv6 address */
    int port;           /* 0: any free port */
    int threads;        /* request (search) threads */
    int thumb_threads;  /* thumbnail threads, apart from the request threads */
    int thumb_cache_mib; /* thumbnail cache size; 0: no cache */
    const char *token;  /* NULL: no authentication */
    bool access_log;    /* one line per request on stderr */
    const char *db_dir; /* when set, a replaced directory is reopened */
    const char *models_dir;
    const char *allow_host[SRV_MAX_ALLOW_HOSTS]; /* Host names accepted besides loopback */
    int n_allow_host;
    const char *llm_url, *llm_model; /* /ask; NULL: $OMNIDEX_LLM_URL/_MODEL, DBDIR/config */
    int ask_jobs;       /* questions answered at once (0: half the threads, at least 1) */
} srv_config;

typedef struct srv_server srv_server;

/* Starts the daemon on db, which it takes over (closed by srv_stop, or at
 * once on failure). *port gets the bound port. On success *out owns the
 * server until srv_stop(). When cfg->db_dir is set and that directory is
 * later replaced (a fresh rebuild swapping it in), the server opens the new
 * one read-only and closes the old one when its last request ends. */
odx_status srv_start(odx_db *db, const srv_config *cfg, srv_server **out,
                     int *port, odx_err *err);
void srv_stop(srv_server *s); /* NULL is fine */

/* Helpers with no HTTP in them (unit-tested). */
/* Constant-time (in the length of expected) comparison. */
bool srv_token_equal(const char *given, size_t given_len, const char *expected);
/* A token --token / $OMNIDEX_TOKEN may be: 1..1024 bytes of UTF-8 without
 * control characters (C0, DEL, C1) and without outer spaces or tabs. */
bool srv_token_ok(const char *t);
/* Strict decimal integer in [min, max]; false on anything else. */
bool srv_parse_long(const char *s, long min, long max, long *out);
/* "", 1, true, yes, on -> true; 0, false, no, off -> false; else false return. */
bool srv_parse_bool(const char *s, bool *out);
/* Strict YYYY-MM-DD with a plausible month and day. */
bool srv_valid_date(const char *s);
/* True when s[0..len) is well-formed UTF-8 without NUL bytes. */
bool srv_utf8_valid(const char *s, size_t len);

#define SRV_THUMB_QUEUE_PER_THREAD 4 /* waiting thumbnails per thumbnail thread */

/* Work one thumbnail may cost. A progressive JPEG is decoded once per scan
 * over the whole coefficient buffer: 3000 scans took 60 s here. */
typedef struct srv_thumb_limits {
    int max_scans;   /* JPEG scans: more is ODX_ERR_LIMIT (libjpeg-turbo's advice: 100) */
    double cpu_s;    /* CPU seconds of this thread for one decode: more is ODX_ERR_LIMIT */
} srv_thumb_limits;
srv_thumb_limits srv_thumb_limits_default(void); /* 100 scans, 2 s */

/* Thumbnail: decodes a PNG or JPEG from f (limits on pixels, errors caught),
 * box-filters it to a long side <= max_side (never upscales), applies EXIF
 * orientation 1..8 (others: as stored), and encodes a JPEG. WebP, GIF,
 * TIFF, BMP, HEIC and AVIF are decoded upright by odx_image_decode
 * (orientation is then ignored). On success *jpeg is malloc'd (caller
 * frees). ODX_ERR_UNSUPPORTED for other formats (or an empty file),
 * ODX_ERR_DECODE for corrupt data, ODX_ERR_LIMIT over the limits. */
odx_status srv_thumb_stream(FILE *f, int max_side, int orientation,
                            unsigned char **jpeg, size_t *jpeg_len,
                            int *out_w, int *out_h, odx_err *err);
/* srv_thumb_stream within lim (NULL: defaults): ODX_ERR_LIMIT when over. */
odx_status srv_thumb_decode(FILE *f, const srv_thumb_limits *lim, int max_side,
                            int orientation, unsigned char **jpeg, size_t *jpeg_len,
                            odx_err *err);
/* Same from a file path; ODX_ERR_NOT_FOUND when the file is gone. */
odx_status srv_thumb_file(const char *path, int max_side, int orientation,
                          unsigned char **jpeg, size_t *jpeg_len, odx_err *err);

/* -------------------------------------- srv_file.c: original files ---- */

#define SRV_MAX_FILE_BYTES (256LL << 20) /* originals served (the indexer's
                                            default max_file_bytes) */
#define SRV_FILENAME_MAX 160             /* bytes of a name in Content-Disposition */
/* room for srv_content_disposition's longest answer (the name twice, once
 * percent-encoded: 18 + 160 + 20 + 3 * 160 + 1 = 679 bytes) */
#define SRV_DISPOSITION_MAX (4 * SRV_FILENAME_MAX + 64)

/* The Range header h (NULL: none) for a file of size bytes: 1 with the
 * inclusive span in *first..*last when it asks for one satisfiable range
 * of bytes (a-b, a-, -suffix); -1 when it asks for bytes the file lacks
 * (the answer is 416); 0 when it is to be ignored and the whole file sent
 * (no header, another unit, several ranges, a malformed or reversed one). */
int srv_range_parse(const char *h, long long size, long long *first, long long *last);
/* If-Range h (NULL: none) against our entity tag tag (unquoted): true only
 * when h is that one strong tag, "tag" (RFC 9110 13.1.5: the strong
 * comparison; a weak W/"tag" never matches). A date, a list, "*" or
 * anything malformed is false: the Range is ignored and the whole file
 * sent (we send no Last-Modified a date could be checked against). */
bool srv_if_range_matches(const char *h, const char *tag);
/* Media type of an indexed format name (png, jpeg, webp, gif, tiff, bmp,
 * heic, heif, avif); application/octet-stream for anything else. */
const char *srv_format_mime(const char *format);
/* "inline; filename=...; filename*=UTF-8''..." for the last component of
 * path (RFC 6266), cut at SRV_FILENAME_MAX bytes and back to a UTF-8
 * character boundary; always NUL-terminated (SRV_DISPOSITION_MAX bytes
 * hold the longest). */
void srv_content_disposition(const char *path, char *out, size_t out_len);

/* ------------------------------------------ srv_proto.c: parsing ---- */

/* Why a request cannot be served: HTTP status, JSON error code, message. */
typedef struct srv_perr {
    int status;
    const char *code; /* static string */
    char msg[160];
} srv_perr;

/* A parsed request head. Every string points into store (owned). */
typedef struct srv_req {
    char method[16];
    char *target; /* as sent, for the log */
    char *path;   /* percent-decoded; no '.', '..' or empty segments */
    char *key[SRV_MAX_ARGS], *val[SRV_MAX_ARGS]; /* decoded, UTF-8 */
    int n_args;
    const char *host;          /* Host (or the authority of an absolute target), NULL if none */
    const char *authorization; /* NULL if none */
    const char *if_none_match; /* NULL if none */
    const char *range;         /* Range, NULL if none (or sent twice) */
    const char *content_type;  /* Content-Type, NULL if none */
    const char *accept;        /* Accept, NULL if none */
    const char *if_range;      /* If-Range, NULL if none */
    long long content_length;  /* -1: none */
    size_t head_len;           /* bytes of the head, blank line included */
    int minor;                 /* HTTP/1.minor */
    bool keep_alive, expect_continue;
    bool range_twice; /* a second Range header: both ignored */
    char *store;
} srv_req;

/* Parses the request head at the start of buf[0..len). Returns the head's
 * length (> 0) when it is complete and valid (*r then owns memory: call
 * srv_req_free), 0 when more bytes are needed (the limits are checked on
 * what is there), -1 when the request must be refused: *e says how (the
 * connection is then closed after the answer). Never reads past len. */
int srv_proto_parse(const char *buf, size_t len, srv_req *r, srv_perr *e);
void srv_req_free(srv_req *r); /* NULL is fine */
/* The first value of an argument, or NULL. */
const char *srv_req_arg(const srv_req *r, const char *key);
/* How the Accept header h (NULL: none) takes the media type type
 * ("text/event-stream"): 3 when a range names it exactly, 2 by its kind
 * with a star for subtype (text/ and a star), 1 by star/star, 0 when no
 * range matches; *q gets the weight (q=, 0..1,
 * 1 without one) of the most specific matching range. Parameters other
 * than q are skipped; a range with a malformed q is left out. */
int srv_accept_match(const char *h, const char *type, double *q);
/* DNS-rebinding guard: true when the Host value names this server: any
 * address literal, localhost, the listen address, or a name in allow
 * ("*" admits all, ".example.org" every name under it). NULL host: true. */
bool srv_host_allowed(const char *host, const char *listen, const char *const *allow,
                      int n_allow);
/* Copies s into out (always NUL-terminated, cut at out_len) with control
 * characters written as \xHH and backslashes doubled, for log lines. */
char *srv_escape(const char *s, char *out, size_t out_len);

/* -------------------------------------------- srv_net.c: sockets ---- */

typedef struct srv_net srv_net;
typedef struct srv_pool srv_pool;

/* One client connection. The event thread owns it while a request
 * arrives; then exactly one worker owns it until srv_conn_done(). */
typedef struct srv_conn {
    struct srv_net *net;
    int fd;
    char *buf; /* received, not yet parsed */
    size_t len, cap;
    long long discard; /* body bytes still to skip */
    double deadline;   /* monotonic seconds */
    double t0;         /* when the request was complete */
    srv_req req;       /* valid unless bad */
    char *body;        /* a POST's body (NUL-terminated), NULL for other methods */
    size_t body_len, body_want;
    srv_perr perr;     /* why, when bad */
    bool bad, started, close_after, lingering, write_failed;
    int status;        /* last status sent */
    size_t bytes_out;
    char peer[48];
    void *user;        /* the handler's, while it owns the connection */
    struct srv_conn *next;
} srv_conn;

typedef void (*srv_job_fn)(void *user, srv_conn *c);

/* A fixed pool of threads taking connections from a queue of at most cap
 * (0: unbounded); fn owns each connection it is given. */
srv_pool *srv_pool_start(int threads, int cap, srv_job_fn fn, void *user);
/* false when the queue is full or the pool stops (c stays the caller's). */
bool srv_pool_push(srv_pool *p, srv_conn *c);
/* Joins the threads; connections still queued are closed. NULL is fine. */
void srv_pool_stop(srv_pool *p);

/* Listens on addr:port (numeric IPv4/IPv6; port 0: any, *bound_port gets
 * it) and calls fn on one of threads workers for each complete request. */
odx_status srv_net_start(const char *addr, int port, int threads, srv_job_fn fn, void *user,
                         srv_net **out, int *bound_port, odx_err *err);
/* Stops accepting and reading, waits for the request threads. NULL is fine. */
void srv_net_stop(srv_net *n);
/* After srv_net_stop and after every other pool that held connections. */
void srv_net_free(srv_net *n);
/* Writes one response (status line, Content-Type unless NULL, extra:
 * complete "Name: value\r\n" lines, Content-Length, Connection). head_only:
 * the headers of a HEAD answer. Sets close_after unless the connection can
 * stay open. False when the client could not be written to. */
bool srv_send(srv_conn *c, int status, const char *ctype, const char *extra, const void *body,
              size_t len, bool head_only);
/* Writes raw bytes of a response the caller frames itself (a stream),
 * within the write timeout; counted in bytes_out. False (and the
 * connection closes after) when the client could not be written to. */
bool srv_write(srv_conn *c, const void *buf, size_t len);
/* The worker is done: the connection goes back for its next request, or
 * is closed. Any thread. */
void srv_conn_done(srv_conn *c);
const char *srv_status_reason(int status);
double srv_now(void); /* monotonic seconds */

/* Thumbnail cache: LRU of encoded thumbnails and of decode failures (both
 * follow from the content alone), keyed by content hash + orientation +
 * size, at most cap bytes. Thread-safe. */
typedef struct srv_tcache srv_tcache;
srv_tcache *srv_tcache_new(size_t cap);
void srv_tcache_free(srv_tcache *c); /* NULL is fine */
/* Stores a copy (jpg may be NULL for a failure st with its msg). NULL c: nothing. */
void srv_tcache_put(srv_tcache *c, const char *key, odx_status st, const char *msg,
                    const unsigned char *jpg, size_t len);
/* On a hit true, *st and msg set, *jpg a malloc'd copy (NULL for a failure). */
bool srv_tcache_get(srv_tcache *c, const char *key, odx_status *st, char *msg, size_t msg_len,
                    unsigned char **jpg, size_t *len);
/* Bytes held (for tests). */
size_t srv_tcache_bytes(srv_tcache *c);

/* SHA-256 of everything readable from fd (from its start), as 64 hex digits. */
odx_status srv_sha256_fd(int fd, char hex[65], odx_err *err);
void srv_sha256_hex(const void *data, size_t len, char hex[65]);

/* ------------------------------------------------ srv_ask.c: /ask ---- */

#define SRV_ASK_MAX_K 100 /* images in an /ask context, as `omnidex ask -k` */

/* The /ask endpoint's state: the LLM settings and the count of questions
 * being answered (each holds a request thread while the model writes). */
typedef struct srv_ask srv_ask;
/* llm_url/llm_model: NULL for odx_ask's own order (environment, then
 * DBDIR/config); copied. jobs: at most that many at once. NULL on no memory. */
srv_ask *srv_ask_new(const char *llm_url, const char *llm_model, int jobs, double timeout_s);
/* Answers in flight stop at their next piece (the server is stopping). */
void srv_ask_stop(srv_ask *a);
void srv_ask_free(srv_ask *a); /* NULL is fine */
/* POST /ask with a JSON body (route refuses other methods), on a request thread:
 * writes the whole response itself (JSON; SSE when Accept names
 * text/event-stream). */
void srv_ask_handle(srv_ask *a, odx_db *db, srv_conn *c);

/* A parsed question (unit-tested). The search parameters borrow owned[]. */
typedef struct srv_ask_req {
    odx_ask_params p;
    char question[SRV_MAX_Q + 1];
    bool think; /* pass the model's reasoning on (default true) */
    char *owned[16];
    int n_owned;
} srv_ask_req;
/* The JSON body {"question", "k", "max_chars", "max_tokens", "think",
 * "with_images", and the /search filters}: false with *e (status, code,
 * message naming the field) for anything else. Clear r either way. */
bool srv_ask_parse_json(const char *body, size_t len, srv_ask_req *r, srv_perr *e);
void srv_ask_req_clear(srv_ask_req *r);
/* True when an Accept header (NULL: none) asks /ask for Server-Sent
 * Events: it names text/event-stream itself with a q above 0 and not
 * below the q it gives application/json (text/event-stream;q=0 refuses
 * the stream; star/star alone never picks it). */
bool srv_ask_wants_sse(const char *accept);
/* Bytes at the end of s[0..len) that begin a UTF-8 sequence not complete
 * there (0..3): a stream holds them back for its next piece. */
size_t srv_utf8_tail(const char *s, size_t len);

/* The web UI page served at GET / (static; it calls the JSON API): the
 * bytes of server/ui/index.html, NUL-terminated, embedded by the build
 * (server/embed.cmake). */
extern const char srv_ui_html[];
extern const size_t srv_ui_html_len;

/* Copy of s with every byte that is not part of well-formed UTF-8 replaced
 * by '?' (JSON must be UTF-8; file paths need not be). malloc'd. */
char *srv_utf8_fix(const char *s, size_t len);

/* Records the first error in err (like core_err, which the server may not
 * use: it sees only the public API). Returns code. */
odx_status srv_err(odx_err *err, odx_status code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#endif

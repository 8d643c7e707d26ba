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

typedef struct srv_config {
    const char *listen; /* numeric IPv4/IPv6 address */
    int port;           /* 0: any free port */
    int threads;        /* MHD thread pool size */
    const char *token;  /* NULL: no authentication */
    bool access_log;    /* one line per request on stderr */
    const char *db_dir; /* when set, a replaced directory is reopened */
    const char *models_dir;
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
/* Strict decimal integer in [min, max]; false on anything else. */
bool srv_parse_long(const char *s, long min, long max, long *out);
/* "", 1, true, yes, on -> true; 0, false, no, off -> false; else false return. */
bool srv_parse_bool(const char *s, bool *out);
/* Strict YYYY-MM-DD with a plausible month and day. */
bool srv_valid_date(const char *s);
/* True when s[0..len) is well-formed UTF-8 without NUL bytes. */
bool srv_utf8_valid(const char *s, size_t len);

/* Thumbnail: decodes a PNG or JPEG from f (limits on pixels, errors caught),
 * box-filters it to a long side <= max_side (never upscales), applies EXIF
 * orientation 1..8 (others: as stored), and encodes a JPEG. On success
 * *jpeg is malloc'd (caller frees). ODX_ERR_UNSUPPORTED for other formats,
 * ODX_ERR_DECODE for corrupt data, ODX_ERR_LIMIT over the limits. */
odx_status srv_thumb_stream(FILE *f, int max_side, int orientation,
                            unsigned char **jpeg, size_t *jpeg_len,
                            int *out_w, int *out_h, odx_err *err);
/* Same from a file path; ODX_ERR_NOT_FOUND when the file is gone. */
odx_status srv_thumb_file(const char *path, int max_side, int orientation,
                          unsigned char **jpeg, size_t *jpeg_len, odx_err *err);

/* The web UI page served at GET / (static; it calls the JSON API). */
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

/* srv_main.c - `omnidex serve`: options, opening the index read-only, and
 * the wait for SIGINT/SIGTERM. The HTTP side lives in srv_http.c; the
 * index is opened once and shared by every request thread. */
#include "server.h"

#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { SRV_EXIT_OK = 0, SRV_EXIT_USAGE = 2, SRV_EXIT_FATAL = 3 };

static void help(FILE *f)
{
    fprintf(f,
            "Usage: omnidex [--db DIR] serve [OPTIONS]\n"
            "Serves the index over HTTP (JSON, UTF-8) until SIGINT/SIGTERM. The index is\n"
            "opened read-only; updates made meanwhile by 'omnidex index' are seen without\n"
            "a restart, and a database directory replaced by a fresh rebuild is reopened.\n\n"
            "Options:\n"
            "  --port N       TCP port (default 8080; 0 picks a free port, printed on start)\n"
            "  --listen ADDR  numeric IPv4/IPv6 address to bind (default 127.0.0.1)\n"
            "  --token T      require 'Authorization: Bearer T' on every endpoint except\n"
            "                 /healthz (default: $OMNIDEX_TOKEN; unset or empty: no token)\n"
            "  --threads N    request (search) threads (default 4, at most 256)\n"
            "  --thumb-threads N  thumbnail threads, apart from the request threads\n"
            "                 (default 2, at most 64); %d thumbnails may wait per thread,\n"
            "                 more get 503 with Retry-After\n"
            "  --thumb-cache MIB  memory for finished thumbnails, keyed by content hash\n"
            "                 (default 32; 0: no cache)\n"
            "  --allow-host NAME  also answer requests whose Host header is NAME\n"
            "                 (repeatable; '.example.org' allows every name under it,\n"
            "                 '*' any name). By default only address literals, localhost\n"
            "                 and the --listen address are answered (others get 421):\n"
            "                 a web page cannot reach the API through DNS rebinding\n"
            "  --llm URL      the OpenAI-compatible endpoint /ask sends questions to\n"
            "                 (URL/chat/completions; default: $OMNIDEX_LLM_URL, else\n"
            "                 'llm_url = URL' in DBDIR/config, as for 'omnidex ask')\n"
            "  --llm-model NAME  its model ($OMNIDEX_LLM_MODEL, 'llm_model');\n"
            "                 $OMNIDEX_API_KEY ('api_key') is sent as a Bearer token\n"
            "  --ask-jobs N   questions answered at once, each holding a request thread\n"
            "                 while the model writes (default half of --threads, at\n"
            "                 least 1; at most --threads); more get 503 with Retry-After\n"
            "  --access-log   one line per request on stderr (control characters escaped)\n"
            "  -h, --help     this help\n\n"
            "Endpoints (GET or HEAD; /ask also POST):\n"
            "  /search?q=&k=&lang=&domain=&text_lang=&path=&ext=&after=&before=\n"
            "          &min_score=&min_width=&min_height=&min_size=&max_size=&mode=\n"
            "          &all=&explain=&w_embed=&embed= (sizes in bytes or with K/M/G:\n"
            "          200K, 1.5M)\n"
            "                 {\"query\":..., \"count\":N, \"results\":[...]}: the object\n"
            "                 'search --json' prints, thumb_url and file_url added to\n"
            "                 each result. With $OMNIDEX_EMBED_URL or 'embed_url' in\n"
            "                 DBDIR/config (index --embed) the query is embedded there\n"
            "                 too and \"embed\" says whether that ranking was used\n"
            "  /similar/{id}?k=&lang= (+ the /search filters): images like image id\n"
            "                 (stored caption/tag/text vectors; near-identical pictures\n"
            "                 first), {\"similar_to\":id, \"count\":N, \"results\":[...]}\n"
            "  /context?q=&max_chars=&k=&lang=&format=md|json (+ the /search filters)\n"
            "  POST /ask with a JSON body (GET is 405: any web page can send a GET)\n"
            "      {\"question\", \"k\", \"max_chars\", \"max_tokens\", \"think\", \"with_images\",\n"
            "      + the /search filters} (Content-Type: application/json): the answer\n"
            "      of the LLM (--llm) from the images' captions, as JSON (answer,\n"
            "      citations with paths, context); with 'Accept: text/event-stream' as\n"
            "      Server-Sent Events while it is written: 'reasoning' and 'answer'\n"
            "      events ({\"text\"}), then 'done' (the JSON answer) or 'error'.\n"
            "      502 when the LLM fails before answering, 503 when none is set\n"
            "  /images/{id}        everything stored for one image\n"
            "  /images/{id}/thumb  JPEG, long side <= %d\n"
            "  /images/{id}/file   the original, only while the file holds the indexed\n"
            "                 content (SHA-256 of the bytes sent; else 410); its media\n"
            "                 type; one byte range (Range, If-Range) -> 206, 416\n"
            "  /stats, /healthz (/healthz needs no token)\n"
            "  /                   the search page (static, embedded, no external assets;\n"
            "                 state in the URL: /?q=bar+chart&domain=chart&page=2&id=ID;\n"
            "                 English or Chinese by the browser's language, ?ui=zh|en)\n"
            "\nThumbnails and originals carry an ETag (answered 304 on If-None-Match);\n"
            "with ?v= naming the content (the first 16 hex digits of its hash, as in\n"
            "thumb_url/file_url) they are sent Cache-Control immutable, else no-cache.\n"
            "Thumbnails are decoded within a budget (at most 100 JPEG scans, 2 CPU\n"
            "seconds; else 422). The shapes: docs/http-api.md.\n\n"
            "Every error, the HTTP layer's own included, is {\"error\": CODE, \"message\":\n"
            "TEXT} with CODE one of bad_request (400: malformed request, Transfer-Encoding,\n"
            "a bad Content-Length, '.'/'..' path segments), unauthorized (401), not_found\n"
            "(404), method_not_allowed (405), timeout (408: the request head took over\n"
            "%.0f s), conflict (409: a thumbnail's file is no longer the indexed content),\n"
            "gone (410: an original's file is no longer the indexed content),\n"
            "too_large (413: a body over 64 KiB; 414: request line over %d KiB, q over %d\n"
            "bytes or over %d arguments; 431: a header over %d KiB, over %d headers; 413:\n"
            "an original over 256 MiB; /ask: a question over %d bytes),\n"
            "unsupported_media_type (415: POST /ask without application/json),\n"
            "range_not_satisfiable (416), expectation_failed\n"
            "(417), misdirected (421: Host not allowed), unprocessable\n"
            "(422: no thumbnail possible, or the image failed to index), internal (500),\n"
            "bad_gateway (502: the LLM of /ask failed), not_configured (503: no LLM set),\n"
            "unavailable (503: too many connections, thumbnails/files waiting, or\n"
            "--ask-jobs questions being answered),\n"
            "version_not_supported (505). k is 1..%d (1..%d for /ask).\n\n"
            "Exit codes: 0 stopped by a signal; 2 usage error; 3 fatal (index cannot be\n"
            "opened, address cannot be bound).\n",
            SRV_THUMB_QUEUE_PER_THREAD, SRV_THUMB_SIDE, SRV_HEAD_TIMEOUT_S, SRV_MAX_LINE / 1024,
            SRV_MAX_Q, SRV_MAX_ARGS, SRV_MAX_FIELD / 1024, SRV_MAX_HEADERS, SRV_MAX_Q, SRV_MAX_K,
            SRV_ASK_MAX_K);
}

/* "--name VALUE" or "--name=VALUE"; advances *i past what it used. */
static bool opt_value(int argc, char **argv, int *i, const char *name, const char **val)
{
    size_t n = strlen(name);
    const char *a = argv[*i];
    if (strncmp(a, name, n) != 0)
        return false;
    if (a[n] == '=') {
        *val = a + n + 1;
        return true;
    }
    if (a[n] != 0)
        return false;
    *val = *i + 1 < argc ? argv[++*i] : NULL;
    return true;
}

static int usage(const char *fmt, const char *arg)
{
    fprintf(stderr, "omnidex serve: ");
    fprintf(stderr, fmt, arg ? arg : "");
    fprintf(stderr, "\nTry 'omnidex serve --help'.\n");
    return SRV_EXIT_USAGE;
}

int srv_main(const char *db_dir, const char *models_dir, int argc, char **argv)
{
    srv_config cfg = {.listen = "127.0.0.1", .port = 8080, .threads = 4, .thumb_threads = 2,
                      .thumb_cache_mib = 32};
    const char *env_token = getenv("OMNIDEX_TOKEN");
    if (env_token && *env_token)
        cfg.token = env_token;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        long n;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            help(stdout);
            return SRV_EXIT_OK;
        } else if (opt_value(argc, argv, &i, "--port", &v)) {
            if (!v || !srv_parse_long(v, 0, 65535, &n))
                return usage("--port needs a number from 0 to 65535 (got '%s')", v);
            cfg.port = (int)n;
        } else if (opt_value(argc, argv, &i, "--listen", &v)) {
            if (!v || !*v)
                return usage("--listen needs an address%s", "");
            cfg.listen = strcmp(v, "localhost") == 0 ? "127.0.0.1" : v;
        } else if (opt_value(argc, argv, &i, "--token", &v)) {
            if (!v || !*v)
                return usage("--token needs a non-empty value%s", "");
            cfg.token = v;
        } else if (opt_value(argc, argv, &i, "--threads", &v)) {
            if (!v || !srv_parse_long(v, 1, 256, &n))
                return usage("--threads needs a number from 1 to 256 (got '%s')", v);
            cfg.threads = (int)n;
        } else if (opt_value(argc, argv, &i, "--thumb-threads", &v)) {
            if (!v || !srv_parse_long(v, 1, 64, &n))
                return usage("--thumb-threads needs a number from 1 to 64 (got '%s')", v);
            cfg.thumb_threads = (int)n;
        } else if (opt_value(argc, argv, &i, "--thumb-cache", &v)) {
            if (!v || !srv_parse_long(v, 0, 65536, &n))
                return usage("--thumb-cache needs MiB from 0 to 65536 (got '%s')", v);
            cfg.thumb_cache_mib = (int)n;
        } else if (opt_value(argc, argv, &i, "--allow-host", &v)) {
            if (!v || !*v || strlen(v) > 253 || strpbrk(v, ":/[] \t"))
                return usage("--allow-host needs a host name without port (got '%s')", v);
            if (cfg.n_allow_host >= SRV_MAX_ALLOW_HOSTS)
                return usage("at most 32 --allow-host names%s", "");
            cfg.allow_host[cfg.n_allow_host++] = v;
        } else if (opt_value(argc, argv, &i, "--llm", &v)) {
            if (!v || (strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0))
                return usage("--llm needs an http:// or https:// URL (got '%s')", v);
            cfg.llm_url = v;
        } else if (opt_value(argc, argv, &i, "--llm-model", &v)) {
            if (!v || !*v)
                return usage("--llm-model needs a name%s", "");
            cfg.llm_model = v;
        } else if (opt_value(argc, argv, &i, "--ask-jobs", &v)) {
            if (!v || !srv_parse_long(v, 1, 256, &n))
                return usage("--ask-jobs needs a number from 1 to 256 (got '%s')", v);
            cfg.ask_jobs = (int)n;
        } else if (strcmp(argv[i], "--access-log") == 0) {
            cfg.access_log = true;
        } else {
            return usage("unknown option or argument '%s'", argv[i]);
        }
    }
    if (cfg.ask_jobs > cfg.threads)
        return usage("--ask-jobs may not exceed --threads (searches need a thread too)%s", "");
    if (cfg.token && !srv_token_ok(cfg.token))
        return usage("the token must be printable text of at most 1024 bytes (UTF-8, no "
                     "control characters, no leading or trailing space)%s",
                     "");

    char dir[PATH_MAX];
    odx_err e = {0};
    odx_db *db = NULL;
    srv_server *s = NULL;
    int rc = SRV_EXIT_FATAL, port = 0;
    if (odx_db_dir_resolve(db_dir, dir, sizeof dir, &e) != ODX_OK) {
        fprintf(stderr, "omnidex: %s\n", e.msg);
        return SRV_EXIT_FATAL;
    }
    odx_db_params dp = odx_db_params_default();
    dp.read_only = true;
    dp.models_dir = models_dir;
    odx_status st = odx_db_open(dir, &dp, &db, &e);
    if (st != ODX_OK) {
        fprintf(stderr, "omnidex: cannot open the index in %s: %s (run 'omnidex index' first?)\n",
                dir, e.msg[0] ? e.msg : odx_status_str(st));
        return st == ODX_ERR_INVALID ? SRV_EXIT_USAGE : SRV_EXIT_FATAL;
    }
    /* a server lives long: its lexical index is built at once, in the
     * background (FTS5 answers meanwhile) */
    if (odx_db_warm(db, &e) != ODX_OK)
        fprintf(stderr, "omnidex: %s (searches build the index when they need it)\n", e.msg);

    /* Block the stop signals before MHD starts its threads (they inherit
     * the mask), so only sigwait below ever sees them. A peer hanging up
     * must not kill the process either. */
    sigset_t stop, old;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, &old);
    signal(SIGPIPE, SIG_IGN);

    cfg.db_dir = dir;
    cfg.models_dir = models_dir;
    st = srv_start(db, &cfg, &s, &port, &e);
    db = NULL; /* the server owns it now */
    if (st != ODX_OK) {
        fprintf(stderr, "omnidex: %s\n", e.msg);
        rc = st == ODX_ERR_INVALID ? SRV_EXIT_USAGE : SRV_EXIT_FATAL;
        goto done;
    }
    bool v6 = strchr(cfg.listen, ':') != NULL;
    fprintf(stderr, "omnidex: serving %s on http://%s%s%s:%d\n", dir, v6 ? "[" : "", cfg.listen,
            v6 ? "]" : "", port);
    fflush(stderr);
    int sig = 0;
    while (sigwait(&stop, &sig) != 0)
        ;
    fprintf(stderr, "omnidex: %s received, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    rc = SRV_EXIT_OK;
done:
    srv_stop(s);
    odx_db_close(db);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc;
}

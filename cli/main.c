/* main.c - the `omnidex` command: one table of subcommands, each a thin
 * client of include/omnidex.h (parse flags, call the library, print). */
#include "omnidex.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef ODX_WITH_SERVER
#include "server.h"
#endif

/* Exit codes (documented in --help and README). */
enum {
    EXIT_OK = 0,
    EXIT_SOME_FAILED = 1, /* index: some files could not be indexed */
    EXIT_USAGE = 2,       /* bad command line or bad query */
    EXIT_FATAL = 3,       /* database unusable, I/O error, ... */
    EXIT_LOCKED = 4,      /* another index run holds the lock */
    EXIT_NOT_FOUND = 5,   /* show/caption: no such image */
    EXIT_INTERRUPTED = 6, /* stopped by SIGINT/SIGTERM (work so far kept) */
    EXIT_DAMAGED = 7,     /* the database is damaged (see 'omnidex check') */
    EXIT_REMOTE = 8       /* ask: the LLM endpoint failed */
};

typedef struct global {
    const char *db;
    const char *models;
    bool quiet;
} global;

/* Set by on_signal, the only thing it does: a signal handler may write
 * nothing but a volatile sig_atomic_t (C11 7.14.1.1). The library's cancel
 * flags are volatile int *, which this is where sig_atomic_t is int (glibc,
 * musl); the build stops where it is not. */
static volatile sig_atomic_t g_cancel;
_Static_assert(_Generic((sig_atomic_t)0, int: 1, default: 0),
               "the cancel flags (volatile int *) need sig_atomic_t to be int");

static int exit_for(odx_status st)
{
    switch (st) {
    case ODX_OK: return EXIT_OK;
    case ODX_ERR_INVALID:
    case ODX_ERR_NOT_CONFIGURED: /* ask without an LLM: give --llm */
    case ODX_ERR_UNINDEXED:      /* search --like an image that failed */
        return EXIT_USAGE;
    case ODX_ERR_LOCKED: return EXIT_LOCKED;
    case ODX_ERR_NOT_FOUND: return EXIT_NOT_FOUND;
    case ODX_ERR_INTERRUPTED: return EXIT_INTERRUPTED;
    case ODX_ERR_CORRUPT: return EXIT_DAMAGED;
    case ODX_ERR_REMOTE: return EXIT_REMOTE;
    default: return EXIT_FATAL;
    }
}

/* Untrusted text (file names, OCR text, captions, error reasons) made safe
 * for a terminal by the library's one rule (odx_text_escape). The result
 * lives until ESC_RING more calls, enough for one printf line. */
#define ESC_RING 8
static const char *esc_any(const char *s, bool multiline)
{
    static char *ring[ESC_RING];
    static int next;
    odx_free(ring[next]);
    ring[next] = odx_text_escape(s ? s : "", multiline);
    const char *r = ring[next] ? ring[next] : "?";
    next = (next + 1) % ESC_RING;
    return r;
}
static const char *esc(const char *s) { return esc_any(s, false); }
static const char *esc_lines(const char *s) { return esc_any(s, true); }

static int fail(const odx_err *e, odx_status st)
{
    fprintf(stderr, "omnidex: %s\n", esc(e->msg[0] ? e->msg : odx_status_str(st)));
    return exit_for(st);
}

static int usage_error(const char *cmd, const char *fmt, const char *arg)
{
    fprintf(stderr, "omnidex %s: ", cmd);
    fprintf(stderr, fmt, esc(arg ? arg : ""));
    fprintf(stderr, "\nTry 'omnidex %s --help'.\n", cmd);
    return EXIT_USAGE;
}

/* A bad query (inline filter, empty text) reads like a bad flag: same
 * message, same exit code 2. */
static int fail_query(const char *cmd, const odx_err *e, odx_status st)
{
    if (st == ODX_ERR_INVALID)
        return usage_error(cmd, "%s", e->msg);
    return fail(e, st);
}

static bool parse_int(const char *s, long lo, long hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || end == s || v < lo || v > hi)
        return false;
    *out = (int)v;
    return true;
}

static odx_status open_db(const global *g, bool read_only, odx_db **db, odx_err *e)
{
    odx_db_params dp = odx_db_params_default();
    dp.models_dir = g->models;
    dp.read_only = read_only;
    odx_status st = odx_db_open(g->db, &dp, db, e);
    if (st == ODX_ERR_NOT_FOUND && read_only) {
        /* No index there yet: exit 3 with what to do (README's table), not
         * 5, which says that one image is not in an index that exists. */
        size_t n = strlen(e->msg);
        snprintf(e->msg + n, sizeof e->msg - n, ": run 'omnidex index FOLDER' first");
        e->code = ODX_ERR_IO;
        st = ODX_ERR_IO;
    }
    return st;
}

/* ------------------------------------------------------------- index ---- */

typedef struct progress_ui {
    bool tty, json, quiet;
    double last;
} progress_ui;

static void on_progress(const odx_progress *p, void *user)
{
    progress_ui *ui = user;
    bool is_error = strcmp(p->event, "error") == 0;
    bool vlm = strncmp(p->event, "vlm", 3) == 0;
    bool emb = strncmp(p->event, "embed", 5) == 0;
    if (ui->json) {
        char *line = odx_progress_json(p);
        if (line)
            puts(line);
        odx_free(line);
        fflush(stdout);
        return;
    }
    if (!strcmp(p->event, "skipped"))
        return; /* named in --log-json; counted by 'omnidex errors --skipped' */
    if (!strcmp(p->event, "vlm_error")) {
        /* not a file error: the image is indexed, only its VLM caption waits */
        if (ui->quiet)
            return;
        if (ui->tty)
            fputs("\r\033[K", stderr);
        fprintf(stderr, "omnidex: %s: no VLM caption (native captions kept, retried next run): %s\n",
                esc(p->path ? p->path : "?"), esc(p->reason ? p->reason : "unknown error"));
        return;
    }
    if (!strcmp(p->event, "embed_error")) {
        /* a batch of learned vectors waits; the images are indexed */
        if (ui->quiet)
            return;
        if (ui->tty)
            fputs("\r\033[K", stderr);
        fprintf(stderr, "omnidex: embeddings: %s (native index complete; retried next run)\n",
                esc(p->reason ? p->reason : "unknown error"));
        return;
    }
    if (is_error) {
        if (ui->tty && !ui->quiet)
            fputs("\r\033[K", stderr);
        fprintf(stderr, "omnidex: %s: %s failed: %s\n", esc(p->path ? p->path : "?"),
                esc(p->stage ? p->stage : "index"), esc(p->reason ? p->reason : "unknown error"));
        return;
    }
    if (!ui->tty || ui->quiet)
        return;
    bool final = strcmp(p->event, "done") == 0 || strcmp(p->event, "vlm_done") == 0 ||
                 strcmp(p->event, "embed_done") == 0;
    if (!final && p->elapsed_s - ui->last < 0.1)
        return;
    ui->last = p->elapsed_s;
    double rate = p->elapsed_s > 0 ? (double)p->done / p->elapsed_s : 0;
    int width = 30, fill = p->total > 0 ? (int)(width * p->done / p->total) : 0;
    if (fill > width)
        fill = width;
    char bar[64];
    for (int i = 0; i < width; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[width] = 0;
    double eta = rate > 0 && p->total > p->done ? (double)(p->total - p->done) / rate : 0;
    fprintf(stderr, "\r\033[K%s[%s] %lld/%lld  %.1f img/s  ETA %dm%02ds",
            vlm ? "VLM " : emb ? "embed " : "", bar,
            (long long)p->done, (long long)p->total, rate, (int)eta / 60, (int)eta % 60);
    if (final)
        fputc('\n', stderr);
    fflush(stderr);
}

static void on_signal(int sig)
{
    (void)sig;
    g_cancel = 1;
}

static const char INDEX_HELP[] =
    "Usage: omnidex index [OPTIONS] [PATH...]\n"
    "Caption, embed and store every image under the given files or folders\n"
    "(recursively): PNG, JPEG, WebP, GIF (first frame), TIFF (first page), BMP,\n"
    "HEIC and AVIF, chosen by name (.png .jpg .jpeg .jpe .jfif .webp .gif .tif\n"
    ".tiff .bmp .dib .heic .heif .hif .avif) and decoded by content. Without\n"
    "PATH, re-indexes the folders indexed before.\n"
    "Unchanged files (size + mtime) are skipped; moved or copied files reuse\n"
    "their captions; vanished files are removed from the index.\n\n"
    "  -j, --workers N     worker threads (default: number of cores)\n"
    "      --no-ocr        do not read text (faster, weaker for documents)\n"
    "      --no-detect     do not run the object detector\n"
    "      --no-prune      keep images whose files disappeared\n"
    "      --retry-errors  retry files that failed before even if unchanged\n"
    "      --include GLOB  only index paths matching GLOB (repeatable)\n"
    "      --exclude GLOB  skip paths matching GLOB (repeatable)\n"
    "      --hidden        include hidden files and folders\n"
    "      --no-follow     do not follow symbolic links\n"
    "      --max-pixels N  refuse images larger than N pixels (default 100000000)\n"
    "      --max-bytes N   refuse files larger than N bytes (default 268435456)\n"
    "      --wait[=SECONDS] wait for another running index to finish instead of\n"
    "                      failing (at most SECONDS, then exit 4; default: no limit)\n"
    "      --vlm URL       also caption with a vision-language model at this\n"
    "                      OpenAI-compatible endpoint (URL/chat/completions; e.g.\n"
    "                      http://127.0.0.1:8080/v1), the prompt chosen by the native\n"
    "                      domain; native captions are always kept. Default:\n"
    "                      $OMNIDEX_VLM_URL, else 'vlm_url = URL' in DBDIR/config\n"
    "      --vlm-model NAME  the model to ask ($OMNIDEX_VLM_MODEL, 'vlm_model');\n"
    "                      $OMNIDEX_API_KEY ('api_key') is sent as a Bearer token\n"
    "      --vlm-jobs N    VLM requests at a time (default 2)\n"
    "      --vlm-timeout S seconds one VLM request may take (default 120)\n"
    "      --vlm-max-side N  long side of the image sent; larger images are sent\n"
    "                      as JPEG at this size (default 1280)\n"
    "      --no-vlm        no VLM captions this run, whatever env/config say\n"
    "                      A failed VLM call never fails the run: the image keeps\n"
    "                      its native captions and is asked again next run.\n"
    "      --embed URL     also give every image a learned text vector from its\n"
    "                      captions at this OpenAI-compatible endpoint\n"
    "                      (URL/embeddings), stored beside the native one and used\n"
    "                      by searches. Default: $OMNIDEX_EMBED_URL, else\n"
    "                      'embed_url = URL' in DBDIR/config\n"
    "      --embed-model NAME  the model ($OMNIDEX_EMBED_MODEL, 'embed_model'); a\n"
    "                      new model or dimension re-embeds from stored captions\n"
    "      --embed-batch N texts per request (default 32, 1..256)\n"
    "      --embed-timeout S  seconds one request may take (default 60)\n"
    "      --no-embed      no embeddings this run, whatever env/config say\n"
    "                      A failed or malformed batch never fails the run: its\n"
    "                      images are found natively and asked again next run.\n"
    "  -q, --quiet         print nothing but errors\n"
    "      --log-json      one JSON line per event on stdout (for log collectors):\n"
    "                      failed files (\"error\"), files skipped unread\n"
    "                      (\"skipped\", path and reason; counts by reason:\n"
    "                      'omnidex errors --skipped'), ending with a summary\n"
    "                      whose status is ok (exit 0),\n"
    "                      partial (exit 1), interrupted (6) or failed (2, 3, 4, 7)\n"
    "Exit: 0 all indexed, 1 some files failed (see 'omnidex errors'), 2 bad\n"
    "      option, or a PATH that does not exist or is neither a folder nor an\n"
    "      image name (as above), or no PATH and none remembered,\n"
    "      3 fatal error, 4 another index run holds the lock (at once, or after\n"
    "      --wait=SECONDS), 6 interrupted, 7 database damaged.\n";

static const char REBUILD_HELP[] =
    "Usage: omnidex rebuild [--fresh] [OPTIONS]\n"
    "Re-caption and re-embed every image under the indexed folders now (the\n"
    "index does this by itself when the engine changes). With --fresh, build a\n"
    "complete new index beside the old one and swap it in when done; searches\n"
    "answer from the old index until the swap. VLM captions are kept (only a\n"
    "VLM run replaces them).\n"
    "Takes the options of 'omnidex index' (workers, OCR, limits, --quiet, ...).\n"
    "      --vlm-only      ask the VLM again for every image (after a prompt or\n"
    "                      server change) and leave the native captions as they\n"
    "                      are; the endpoint as for 'index --vlm'\n"
    "Exit: as for index.\n";

static int cmd_index_common(const global *g, int argc, char **argv, bool rebuild)
{
    odx_index_params p = odx_index_params_default();
    progress_ui ui = {.tty = isatty(2) != 0, .quiet = g->quiet};
    const char *inc[64], *exc[64];
    int n_inc = 0, n_exc = 0;
    static const struct option opts[] = {
        {"workers", 1, 0, 'j'}, {"no-ocr", 0, 0, 1},     {"no-detect", 0, 0, 2},
        {"no-prune", 0, 0, 3},  {"retry-errors", 0, 0, 4}, {"include", 1, 0, 5},
        {"exclude", 1, 0, 6},   {"hidden", 0, 0, 7},     {"no-follow", 0, 0, 8},
        {"max-pixels", 1, 0, 9}, {"max-bytes", 1, 0, 10}, {"wait", 2, 0, 11},
        {"quiet", 0, 0, 'q'},   {"log-json", 0, 0, 12},  {"help", 0, 0, 'h'},
        {"fresh", 0, 0, 13},    {"vlm", 1, 0, 20},       {"vlm-model", 1, 0, 21},
        {"vlm-jobs", 1, 0, 22}, {"vlm-timeout", 1, 0, 23}, {"vlm-max-side", 1, 0, 24},
        {"no-vlm", 0, 0, 25},   {"vlm-only", 0, 0, 26},  {"embed", 1, 0, 27},
        {"embed-model", 1, 0, 28}, {"embed-batch", 1, 0, 29}, {"embed-timeout", 1, 0, 30},
        {"no-embed", 0, 0, 31}, {0, 0, 0, 0}};
    bool fresh = false, vlm_only = false;
    const char *name = rebuild ? "rebuild" : "index";
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "j:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'j':
            if (!parse_int(optarg, 0, 256, &p.n_workers))
                return usage_error(name, "bad worker count '%s'", optarg);
            break;
        case 1: p.ocr = false; break;
        case 2: p.detect = false; break;
        case 3: p.prune = false; break;
        case 4: p.retry_errors = true; break;
        case 5:
            if (n_inc == 64)
                return usage_error(name, "too many --include patterns%s", "");
            inc[n_inc++] = optarg;
            break;
        case 6:
            if (n_exc == 64)
                return usage_error(name, "too many --exclude patterns%s", "");
            exc[n_exc++] = optarg;
            break;
        case 7: p.include_hidden = true; break;
        case 8: p.follow_symlinks = false; break;
        case 9:
        case 10: {
            char *end;
            long long v = strtoll(optarg, &end, 10);
            if (*end || v <= 0)
                return usage_error(name, "bad limit '%s'", optarg);
            if (c == 9)
                p.max_pixels = v;
            else
                p.max_file_bytes = v;
            break;
        }
        case 11:
            p.wait_lock = true;
            if (optarg) {
                char *end;
                errno = 0;
                p.wait_lock_s = strtod(optarg, &end);
                if (errno || *end || end == optarg || !(p.wait_lock_s > 0 && p.wait_lock_s <= 1e9))
                    return usage_error(name, "bad --wait seconds '%s'", optarg);
            }
            break;
        case 'q': ui.quiet = true; break;
        case 12: ui.json = true; break;
        case 13:
            if (!rebuild)
                return usage_error(name, "--fresh is an option of rebuild%s", "");
            fresh = true;
            break;
        case 20: p.vlm_url = optarg; break;
        case 21: p.vlm_model = optarg; break;
        case 22:
            if (!parse_int(optarg, 1, 16, &p.vlm_jobs))
                return usage_error(name, "bad --vlm-jobs '%s' (1..16)", optarg);
            break;
        case 23: {
            char *end;
            errno = 0;
            p.vlm_timeout_s = strtod(optarg, &end);
            if (errno || *end || end == optarg || !(p.vlm_timeout_s >= 1 && p.vlm_timeout_s <= 86400))
                return usage_error(name, "bad --vlm-timeout seconds '%s' (1..86400)", optarg);
            break;
        }
        case 24:
            if (!parse_int(optarg, 64, 8192, &p.vlm_max_side))
                return usage_error(name, "bad --vlm-max-side '%s' (64..8192)", optarg);
            break;
        case 25: p.no_vlm = true; break;
        case 26:
            if (!rebuild)
                return usage_error(name, "--vlm-only is an option of rebuild%s", "");
            vlm_only = true;
            break;
        case 27: p.embed_url = optarg; break;
        case 28: p.embed_model = optarg; break;
        case 29:
            if (!parse_int(optarg, 1, 256, &p.embed_batch))
                return usage_error(name, "bad --embed-batch '%s' (1..256)", optarg);
            break;
        case 30: {
            char *end;
            errno = 0;
            p.embed_timeout_s = strtod(optarg, &end);
            if (errno || *end || end == optarg ||
                !(p.embed_timeout_s >= 1 && p.embed_timeout_s <= 86400))
                return usage_error(name, "bad --embed-timeout seconds '%s' (1..86400)", optarg);
            break;
        }
        case 31: p.no_embed = true; break;
        case 'h': fputs(rebuild ? REBUILD_HELP : INDEX_HELP, stdout); return EXIT_OK;
        default: return usage_error(name, "bad option%s", "");
        }
    }
    p.include = inc;
    p.n_include = n_inc;
    p.exclude = exc;
    p.n_exclude = n_exc;
    p.progress = on_progress;
    p.progress_user = &ui;
    p.cancel = &g_cancel;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    if (rebuild && optind < argc)
        return usage_error(name, "rebuild takes no paths (it rebuilds the indexed roots)%s", "");
    odx_err e = {0};
    odx_db *db = NULL;
    odx_index_stats s;
    memset(&s, 0, sizeof s);
    odx_status st;
    if (fresh) {
        odx_db_params dp = odx_db_params_default();
        dp.models_dir = g->models;
        st = odx_rebuild_fresh(g->db, &dp, &p, &s, &e);
    } else {
        /* The index lock is taken inside odx_db_open, before SQLite. */
        odx_db_params dp = odx_db_params_default();
        dp.models_dir = g->models;
        dp.wait_lock = p.wait_lock;
        dp.wait_lock_s = p.wait_lock_s;
        dp.cancel = &g_cancel;
        st = odx_db_open(g->db, &dp, &db, &e);
        if (st == ODX_OK && rebuild && vlm_only) {
            p.vlm_force = true;
            st = odx_index(db, NULL, 0, &p, &s, &e);
        } else if (st == ODX_OK && rebuild)
            st = odx_rebuild(db, &p, &s, &e);
        else if (st == ODX_OK)
            st = odx_index(db, (const char *const *)argv + optind, argc - optind, &p, &s, &e);
        odx_db_close(db); /* --log-json ends with a summary even when the open failed */
    }
    if (ui.json) {
        char *line = odx_index_summary_json(st, &s, &e);
        if (line)
            puts(line);
        odx_free(line);
    } else if (ui.tty && !ui.quiet && (st == ODX_OK || st == ODX_ERR_INTERRUPTED)) {
        fprintf(stderr,
                "%lld new, %lld changed, %lld reused, %lld re-embedded, %lld removed, "
                "%lld failed, %lld skipped, %lld unchanged in %.1f s\n",
                (long long)s.n_new, (long long)s.n_changed, (long long)s.n_reused,
                (long long)s.n_reembedded, (long long)s.n_removed, (long long)s.n_failed,
                (long long)s.n_skipped, (long long)s.n_unchanged, s.elapsed_s);
        if (s.n_vlm_captioned || s.n_vlm_failed || s.n_vlm_pending)
            fprintf(stderr, "VLM: %lld captioned, %lld failed, %lld left for the next run\n",
                    (long long)s.n_vlm_captioned, (long long)s.n_vlm_failed,
                    (long long)s.n_vlm_pending);
        if (s.n_embedded || s.n_embed_failed || s.n_embed_pending)
            fprintf(stderr, "embeddings: %lld embedded, %lld failed, %lld left for the next run\n",
                    (long long)s.n_embedded, (long long)s.n_embed_failed,
                    (long long)s.n_embed_pending);
    }
    if (st != ODX_OK)
        return fail(&e, st);
    return s.n_failed ? EXIT_SOME_FAILED : EXIT_OK;
}

static int cmd_index(const global *g, int argc, char **argv)
{
    return cmd_index_common(g, argc, argv, false);
}

static int cmd_rebuild(const global *g, int argc, char **argv)
{
    return cmd_index_common(g, argc, argv, true);
}

/* ------------------------------------------------------------ search ---- */

static const char SEARCH_FILTERS_HELP[] =
    "  -k N                number of images (default %d)\n"
    "      --lang en|zh    caption language to print (default: the query's)\n"
    "      --domain D      photo, document, table, chart, screenshot, poster, diagram\n"
    "      --text-lang L   only images whose visible text is in L (en, zh)\n"
    "      --path S        only paths containing S\n"
    "      --ext E         only files with extension E (png, jpg, webp, gif, tif,\n"
    "                      bmp, heic, avif; jpg/jpeg, tif/tiff, heic/heif alike)\n"
    "      --after DATE    taken (EXIF) or modified on/after DATE (YYYY-MM-DD,\n"
    "                      YYYY-MM or YYYY; a real calendar date)\n"
    "      --before DATE   ... before DATE\n"
    "      --min-width N, --min-height N\n"
    "      --min-size S, --max-size S   file size, bounds included: bytes or with a\n"
    "                      unit K, M, G (1024-based): 200K, 1.5M, 2G\n"
    "      --min-score S   drop results under relevance S (0..1)\n"
    "      --all           list exact copies separately\n"
    "      --explain       show which words and fields matched\n"
    "      --dense-only, --lexical-only   one search path only (for comparison)\n"
    "      --w-dense W, --w-lexical W     fusion weights (default 1, 1)\n"
    "      --embed URL     embed the query at this OpenAI-compatible endpoint\n"
    "                      (URL/embeddings) with the model the index was embedded\n"
    "                      with (index --embed) and fuse the learned vectors' ranking\n"
    "                      too. Default: $OMNIDEX_EMBED_URL, else 'embed_url' in\n"
    "                      DBDIR/config. If the endpoint fails (5 s), the answer\n"
    "                      comes from the native paths and --json (\"embed\") and\n"
    "                      --explain say why\n"
    "      --embed-model NAME  must name the index's model ($OMNIDEX_EMBED_MODEL)\n"
    "      --w-embed W     fusion weight of the learned vectors (default 1)\n"
    "      --no-embed      native paths only, whatever env/config say\n"
    "Filters can also be written in the query: domain:chart lang:zh (the text's\n"
    "language, as --text-lang) after:2024-01-01 before:2025-01-01 path:photos/2023\n"
    "ext:png minw:800 minh:600 minsize:200K maxsize:5M. Flags, inline filters and\n"
    "the HTTP API share one parser: a bad value is refused the same way (exit 2)\n"
    "wherever it is written.\n"
    "Dense search scans every vector below 50,000 vectors and uses an IVF index\n"
    "above (recall@10 >= 0.95 against the scan); OMNIDEX_DENSE=exact always scans.\n";

enum { O_LANG = 300, O_DOMAIN, O_TLANG, O_PATH, O_EXT, O_AFTER, O_BEFORE, O_MINW, O_MINH,
       O_MINSCORE, O_ALL, O_EXPLAIN, O_DENSE, O_LEX, O_WD, O_WL, O_JSON, O_MAXCH, O_LIKE,
       O_JSON_ARRAY, O_MINSIZE, O_MAXSIZE, O_EMBED, O_EMBED_MODEL, O_WE, O_NO_EMBED };

static const struct option SEARCH_OPTS[] = {
    {"lang", 1, 0, O_LANG},      {"domain", 1, 0, O_DOMAIN},   {"text-lang", 1, 0, O_TLANG},
    {"path", 1, 0, O_PATH},      {"ext", 1, 0, O_EXT},         {"after", 1, 0, O_AFTER},
    {"before", 1, 0, O_BEFORE},  {"min-width", 1, 0, O_MINW},  {"min-height", 1, 0, O_MINH},
    {"min-score", 1, 0, O_MINSCORE}, {"all", 0, 0, O_ALL},     {"explain", 0, 0, O_EXPLAIN},
    {"dense-only", 0, 0, O_DENSE}, {"lexical-only", 0, 0, O_LEX}, {"w-dense", 1, 0, O_WD},
    {"w-lexical", 1, 0, O_WL},   {"json", 0, 0, O_JSON},       {"max-chars", 1, 0, O_MAXCH},
    {"like", 1, 0, O_LIKE},      {"json-array", 0, 0, O_JSON_ARRAY},
    {"min-size", 1, 0, O_MINSIZE}, {"max-size", 1, 0, O_MAXSIZE},
    {"embed", 1, 0, O_EMBED},    {"embed-model", 1, 0, O_EMBED_MODEL}, {"w-embed", 1, 0, O_WE},
    {"no-embed", 0, 0, O_NO_EMBED},
    {"help", 0, 0, 'h'},         {0, 0, 0, 0}};

/* How search prints its results. */
enum { OUT_TEXT, OUT_JSON, OUT_JSON_ARRAY };

/* Parses search flags shared by search and context (like, for search
 * only, is NULL for context). *out: OUT_JSON for --json, OUT_JSON_ARRAY
 * for search's --json-array. Returns -1 to go on, else an exit code. */
static int parse_search_flags(const char *cmd, int argc, char **argv, odx_search_params *p,
                              int *out, int *max_chars, const char **like, const char *help)
{
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "k:h", SEARCH_OPTS, NULL)) != -1) {
        const char *key = NULL, *val = optarg;
        switch (c) {
        case 'k': key = "k"; break;
        case O_LANG: key = "lang"; break;
        case O_DOMAIN: key = "domain"; break;
        case O_TLANG: key = "text_lang"; break;
        case O_PATH: key = "path"; break;
        case O_EXT: key = "ext"; break;
        case O_AFTER: key = "after"; break;
        case O_BEFORE: key = "before"; break;
        case O_MINW: key = "min_width"; break;
        case O_MINH: key = "min_height"; break;
        case O_MINSIZE: key = "min_size"; break;
        case O_MAXSIZE: key = "max_size"; break;
        case O_MINSCORE: key = "min_score"; break;
        case O_ALL: key = "all", val = "true"; break;
        case O_EXPLAIN: key = "explain", val = "true"; break;
        case O_DENSE: key = "mode", val = "dense"; break;
        case O_LEX: key = "mode", val = "lexical"; break;
        case O_WD: key = "w_dense"; break;
        case O_WL: key = "w_lexical"; break;
        case O_WE: key = "w_embed"; break;
        case O_NO_EMBED: key = "embed", val = "false"; break;
        case O_EMBED:
            if (strncmp(optarg, "http://", 7) && strncmp(optarg, "https://", 8))
                return usage_error(cmd, "--embed needs an http:// or https:// URL (got '%s')",
                                   optarg);
            p->embed_url = optarg;
            break;
        case O_EMBED_MODEL: p->embed_model = optarg; break;
        case O_JSON: *out = OUT_JSON; break;
        case O_JSON_ARRAY:
            if (!like)
                return usage_error(cmd, "--json-array is an option of 'search'%s", "");
            *out = OUT_JSON_ARRAY;
            break;
        case O_MAXCH:
            if (!max_chars || !parse_int(optarg, 200, 10000000, max_chars))
                return usage_error(cmd, "bad --max-chars '%s' (200..10000000)", optarg);
            break;
        case O_LIKE:
            if (!like)
                return usage_error(cmd, "--like is an option of 'search'%s", "");
            *like = optarg;
            break;
        case 'h': fprintf(stdout, help, p->k); return EXIT_OK;
        default: return usage_error(cmd, "bad option%s", "");
        }
        /* the library's parser, shared with inline filters and HTTP */
        odx_err e = {0};
        if (key && odx_search_params_set(p, key, val, &e) != ODX_OK)
            return usage_error(cmd, "%s", e.msg);
    }
    if (like && *like && optind < argc)
        return usage_error(cmd, "--like takes no query words (images like one, or a text "
                                "query: not both yet)%s", "");
    if (optind >= argc && !(like && *like))
        return usage_error(cmd, "no query given%s", "");
    return -1;
}

/* Joins the remaining arguments into one query (quotes are optional). */
static char *join_args(int argc, char **argv)
{
    size_t n = 1;
    for (int i = optind; i < argc; i++)
        n += strlen(argv[i]) + 1;
    char *q = calloc(1, n);
    if (!q)
        return NULL;
    for (int i = optind; i < argc; i++) {
        if (i > optind)
            strcat(q, " ");
        strcat(q, argv[i]);
    }
    return q;
}

static char *help_with_filters(const char *head, const char *tail)
{
    size_t n = strlen(head) + strlen(SEARCH_FILTERS_HELP) + strlen(tail) + 1;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s%s%s", head, SEARCH_FILTERS_HELP, tail);
    return s;
}

static int cmd_search(const global *g, int argc, char **argv)
{
    odx_search_params p = odx_search_params_default();
    int out = OUT_TEXT;
    char *help = help_with_filters(
        "Usage: omnidex search [OPTIONS] QUERY...\n"
        "       omnidex search [OPTIONS] --like IMAGE\n"
        "Ranked images for a text query in English or Chinese: score (0..1), path,\n"
        "domain and short caption. Hybrid: dense vectors + BM25, fused by rank.\n\n"
        "      --like IMAGE    images like IMAGE: an indexed one (its path, or #ID as\n"
        "                      'show' prints it: its stored caption, tag and text\n"
        "                      vectors) or any image file (described now, not indexed:\n"
        "                      the models load, seconds); near-identical pictures\n"
        "                      (re-encoded, resized, slightly cropped) first; the image\n"
        "                      itself left out. No query words with it; the filters\n"
        "                      below apply\n"
        "      --json          one JSON object, as GET /search answers it: \"query\"\n"
        "                      (--like: \"similar_to\", the example's id, or \"like\", the\n"
        "                      path of a file not indexed), \"count\", \"results\" (rank,\n"
        "                      path, id, score, domain, captions, tags, text, ...)\n"
        "      --json-array    the \"results\" array alone (what --json printed before\n"
        "                      JSON version 2), for scripts written against it\n",
        "Exit: 0 ok (also with no results), 2 bad query or option, 3 no index\n"
        "yet (run 'omnidex index FOLDER') or fatal error, 5 --like: neither in the\n"
        "index nor a file.\n");
    const char *like = NULL;
    int rc = parse_search_flags("search", argc, argv, &p, &out, NULL, &like, help ? help : "");
    free(help);
    if (rc >= 0)
        return rc;
    char *q = join_args(argc, argv);
    odx_err e = {0};
    odx_db *db = NULL;
    odx_results *r = NULL;
    odx_status st = open_db(g, true, &db, &e);
    if (st == ODX_OK && like)
        st = odx_similar(db, like, &p, &r, &e);
    else if (st == ODX_OK)
        st = odx_search(db, q, &p, &r, &e);
    if (st == ODX_OK) {
        if (out != OUT_TEXT) {
            char *s = out == OUT_JSON ? odx_results_json_object(r) : odx_results_json(r);
            if (s)
                puts(s);
            else {
                st = ODX_ERR_NOMEM;
                snprintf(e.msg, sizeof e.msg, "no memory for the JSON");
            }
            odx_free(s);
        } else {
            int n = odx_results_count(r);
            for (int i = 0; i < n; i++) {
                const odx_result *x = odx_results_get(r, i);
                printf("%.3f\t%s\t%s\t%s\n", x->score, esc(x->path),
                       esc(x->domain ? x->domain : "-"), esc(x->short_caption));
                if (p.explain && x->explain)
                    printf("\t  matched: %s\n\t  %s\n", esc(x->matched ? x->matched : "-"),
                           esc(x->explain));
            }
            if (n == 0 && isatty(1))
                fprintf(stderr, "no results\n");
        }
    }
    odx_results_free(r);
    odx_db_close(db);
    free(q);
    return st == ODX_OK ? EXIT_OK : fail_query("search", &e, st);
}

static int cmd_context(const global *g, int argc, char **argv)
{
    odx_context_params p = odx_context_params_default();
    int fmt = OUT_TEXT;
    char *help = help_with_filters(
        "Usage: omnidex context [OPTIONS] QUERY...\n"
        "A context block for an LLM prompt: for the top images, number, path,\n"
        "domain, score, detailed caption, table/chart structure and the text read\n"
        "in the image, within a character budget; ends with an instruction to cite\n"
        "images by number.\n\n"
        "      --max-chars N   budget (default 12000, about 3k tokens)\n"
        "      --json          JSON instead of Markdown\n",
        "Exit: 0 ok, 2 bad query or option, 3 no index yet or fatal error.\n");
    int rc = parse_search_flags("context", argc, argv, &p.search, &fmt, &p.max_chars, NULL,
                                help ? help : "");
    free(help);
    if (rc >= 0)
        return rc;
    p.json = fmt == OUT_JSON;
    char *q = join_args(argc, argv);
    odx_err e = {0};
    odx_db *db = NULL;
    char *out = NULL;
    odx_status st = open_db(g, true, &db, &e);
    if (st == ODX_OK)
        st = odx_context(db, q, &p, &out, &e);
    if (st == ODX_OK)
        fputs(out, stdout); /* the library escaped the Markdown already */
    odx_free(out);
    odx_db_close(db);
    free(q);
    return st == ODX_OK ? EXIT_OK : fail_query("context", &e, st);
}

/* --------------------------------------------------------------- ask ---- */

static const char ASK_HELP[] =
    "Usage: omnidex ask [OPTIONS] QUESTION...\n"
    "Answer a question from the index with an LLM: the hybrid search finds the\n"
    "images, their context block (as 'omnidex context' prints it) goes with the\n"
    "question to an OpenAI-compatible chat endpoint (URL/chat/completions) with a\n"
    "system prompt asking for step-by-step reasoning and citations by image number.\n"
    "The answer streams to the terminal; then the cited images are listed with\n"
    "their paths. Filters may be written in the question (domain:chart ...).\n\n"
    "      --llm URL       the endpoint (default: $OMNIDEX_LLM_URL, else\n"
    "                      'llm_url = URL' in DBDIR/config), e.g. http://127.0.0.1:8080/v1\n"
    "      --llm-model NAME  the model ($OMNIDEX_LLM_MODEL, 'llm_model');\n"
    "                      $OMNIDEX_API_KEY ('api_key') is sent as a Bearer token\n"
    "  -k N                images in the context (default 5)\n"
    "      --max-chars N   budget of the context block (default 12000)\n"
    "      --json          one JSON object: answer, citations (number, path),\n"
    "                      the context sent, reasoning (no streaming)\n"
    "      --no-think      hide the model's reasoning (reasoning_content or a\n"
    "                      <think> block); otherwise it is shown dimmed on stderr\n"
    "      --timeout S     longest silence of the endpoint (default 120)\n"
    "      --max-tokens N  cap on the answer's tokens (default: the server's)\n"
    "      --with-images   send the top images themselves too (3, at 1024 px), for\n"
    "                      visual questions: the model must be a VLM\n"
    "Exit: 0 ok, 2 usage or no endpoint/model configured, 3 no index yet or\n"
    "      fatal error, 6 interrupted, 8 the endpoint failed (unreachable,\n"
    "      timeout, HTTP error, malformed answer).\n";

static char *json_path_bytes(const cJSON *o, const char *key);
static const char *str_or(const char *a, const char *b);

typedef struct ask_ui {
    bool think, tty_err, in_reasoning, any;
    char carry[8]; /* an incomplete UTF-8 sequence held for the next piece */
    size_t n_carry;
} ask_ui;

/* Prints a piece of the answer (stdout) or of the reasoning (stderr,
 * dimmed on a terminal), escaped like every untrusted text. A UTF-8
 * sequence split across pieces is held until it is complete. */
static void on_ask_piece(const char *piece, size_t len, bool reasoning, void *user)
{
    ask_ui *ui = user;
    if (reasoning && !ui->think)
        return;
    char buf[4096 + 8];
    size_t n = 0;
    if (ui->n_carry && !reasoning) {
        memcpy(buf, ui->carry, ui->n_carry);
        n = ui->n_carry;
        ui->n_carry = 0;
    }
    while (len > 0) {
        size_t take = len < 4096 ? len : 4096;
        memcpy(buf + n, piece, take);
        n += take;
        piece += take;
        len -= take;
        size_t keep = 0;
        if (!reasoning && len == 0) {
            /* hold a trailing incomplete sequence */
            size_t i = n;
            while (i > 0 && n - i < 4 && ((unsigned char)buf[i - 1] & 0xC0) == 0x80)
                i--;
            if (i > 0) {
                unsigned char lead = (unsigned char)buf[i - 1];
                size_t need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
                if (need > 1 && n - (i - 1) < need)
                    keep = n - (i - 1);
            }
        }
        buf[n - keep] = 0;
        char *t = odx_text_escape(buf, true);
        if (reasoning) {
            if (ui->tty_err && !ui->in_reasoning)
                fputs("\033[2m", stderr);
            ui->in_reasoning = true;
            fputs(t ? t : "", stderr);
            fflush(stderr);
        } else {
            if (ui->in_reasoning) {
                fputs(ui->tty_err ? "\033[0m\n" : "\n", stderr);
                ui->in_reasoning = false;
            }
            fputs(t ? t : "", stdout);
            fflush(stdout);
            ui->any = true;
        }
        odx_free(t);
        memcpy(ui->carry, buf + n - keep, keep);
        ui->n_carry = keep;
        n = 0;
    }
}

static int cmd_ask(const global *g, int argc, char **argv)
{
    static const struct option opts[] = {
        {"llm", 1, 0, 1},         {"llm-model", 1, 0, 2}, {"max-chars", 1, 0, 3},
        {"json", 0, 0, 4},        {"no-think", 0, 0, 5},  {"timeout", 1, 0, 6},
        {"max-tokens", 1, 0, 7},  {"with-images", 0, 0, 8}, {"help", 0, 0, 'h'},
        {0, 0, 0, 0}};
    odx_ask_params p = odx_ask_params_default();
    ask_ui ui = {.think = true, .tty_err = isatty(2) != 0};
    bool json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "k:h", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            if (!parse_int(optarg, 1, 100, &p.context.search.k))
                return usage_error("ask", "bad -k '%s' (1..100)", optarg);
            break;
        case 1: p.llm_url = optarg; break;
        case 2: p.llm_model = optarg; break;
        case 3:
            if (!parse_int(optarg, 200, 10000000, &p.context.max_chars))
                return usage_error("ask", "bad --max-chars '%s' (200..10000000)", optarg);
            break;
        case 4: json = true; break;
        case 5: ui.think = false; break;
        case 6: {
            char *end;
            errno = 0;
            p.timeout_s = strtod(optarg, &end);
            if (errno || *end || end == optarg || !(p.timeout_s >= 1 && p.timeout_s <= 86400))
                return usage_error("ask", "bad --timeout seconds '%s' (1..86400)", optarg);
            break;
        }
        case 7:
            if (!parse_int(optarg, 1, 1000000, &p.max_tokens))
                return usage_error("ask", "bad --max-tokens '%s'", optarg);
            break;
        case 8: p.with_images = true; break;
        case 'h': fputs(ASK_HELP, stdout); return EXIT_OK;
        default: return usage_error("ask", "bad option%s", "");
        }
    }
    if (optind >= argc)
        return usage_error("ask", "no question given%s", "");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    p.cancel = &g_cancel;
    p.stream = !json;
    char *q = join_args(argc, argv);
    odx_err e = {0};
    odx_db *db = NULL;
    char *out = NULL;
    odx_status st = open_db(g, true, &db, &e);
    if (st == ODX_OK)
        st = odx_ask(db, q, &p, json ? NULL : on_ask_piece, &ui, &out, &e);
    if (ui.in_reasoning)
        fputs(ui.tty_err ? "\033[0m\n" : "\n", stderr);
    if (st == ODX_OK && json) {
        cJSON *o = cJSON_Parse(out);
        if (o && !ui.think)
            cJSON_DeleteItemFromObject(o, "reasoning");
        char *s = o ? cJSON_PrintUnformatted(o) : NULL;
        puts(s ? s : out);
        free(s);
        cJSON_Delete(o);
    } else if (st == ODX_OK) {
        if (ui.n_carry) {
            char tail[8];
            memcpy(tail, ui.carry, ui.n_carry);
            tail[ui.n_carry] = 0;
            fputs(esc_lines(tail), stdout);
        }
        cJSON *o = cJSON_Parse(out), *it;
        cJSON *cites = cJSON_GetObjectItem(o, "citations");
        printf("\n\n");
        if (cJSON_GetArraySize(cites) > 0)
            printf("Images cited:\n");
        else
            printf("No image cited.\n");
        cJSON_ArrayForEach(it, cites) {
            char *raw = json_path_bytes(it, "path");
            printf("[%.0f] %s (%s)\n", cJSON_GetNumberValue(cJSON_GetObjectItem(it, "number")),
                   esc(raw ? raw : "?"),
                   esc(str_or(cJSON_GetStringValue(cJSON_GetObjectItem(it, "domain")), "?")));
            free(raw);
        }
        cJSON_Delete(o);
    }
    odx_free(out);
    odx_db_close(db);
    free(q);
    if (st == ODX_ERR_INVALID || st == ODX_ERR_NOT_CONFIGURED)
        return usage_error("ask", "%s", e.msg);
    return st == ODX_OK ? EXIT_OK : fail(&e, st);
}

/* ------------------------------------------------------- inspection ---- */

/* Flags of the small commands (show, caption, stats, errors): each name in
 * names[] sets *on[i]; -h/--help prints help; "--" ends the flags. An
 * unknown option or a wrong number of arguments is a usage error (exit 2),
 * never ignored. Returns -1 to go on (*arg: the one argument when n_args
 * is 1), else the exit code. */
static int small_opts(const char *cmd, int argc, char **argv, const char *const *names,
                      bool **on, int n_names, int n_args, const char **arg, const char *help)
{
    int got = 0;
    bool flags = true;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (flags && !strcmp(a, "--")) {
            flags = false;
            continue;
        }
        if (flags && a[0] == '-' && a[1]) {
            if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
                fputs(help, stdout);
                return EXIT_OK;
            }
            int k = 0;
            while (k < n_names && strcmp(a, names[k]))
                k++;
            if (k == n_names)
                return usage_error(cmd, "unknown option '%s'", a);
            *on[k] = true;
            continue;
        }
        if (got++ == 0 && arg)
            *arg = a;
    }
    if (got != n_args)
        return usage_error(cmd, n_args ? "give exactly one %s" : "takes no arguments%s",
                           n_args ? (strcmp(cmd, "show") ? "FILE" : "PATH or #ID") : "");
    return -1;
}

static const char *str_or(const char *a, const char *b) { return a ? a : b; }

/* show / caption as text, from the typed record (odx_image). */
static void print_image(const odx_image *im, bool indexed)
{
    const odx_image_info *in = odx_image_info_get(im);
    printf("%-12s %s\n", "path", esc(in->path)); /* bytes shown as \xHH */
    if (indexed) {
        printf("%-12s %s\n", "status", in->ok ? "ok" : "error");
        if (in->error_stage)
            printf("%-12s %s\n", "error_stage", esc(in->error_stage));
        if (in->error)
            printf("%-12s %s\n", "error", esc(in->error));
        if (in->hash)
            printf("%-12s %s\n", "hash", esc(in->hash));
        printf("%-12s %lld\n", "size", (long long)in->size);
    }
    if (in->engine)
        printf("%-12s %s\n", "engine", esc(in->engine));
    if (in->domain != ODX_DOMAIN_UNKNOWN) {
        printf("%-12s %s%s%s (confidence %.2f)\n", "domain", esc(odx_domain_name(in->domain)),
               in->chart_type ? "/" : "", esc(in->chart_type ? in->chart_type : ""),
               in->domain_conf);
        printf("%-12s %dx%d %s\n", "image", in->width, in->height, esc(str_or(in->format, "")));
        printf("%-12s ", "colours");
        for (int i = 0; i < in->n_colors; i++) {
            const odx_color *c = odx_image_color(im, i);
            printf("%s%s %.0f%%", i ? ", " : "", esc(c->name), 100 * c->share);
        }
        putchar('\n');
        const char *langs[] = {"en", "zh"};
        for (int l = 0; l < 2; l++) {
            const char *sh = odx_image_caption(im, ODX_CAPTION_SHORT, langs[l]);
            const char *de = odx_image_caption(im, ODX_CAPTION_DETAILED, langs[l]);
            const char *tg = odx_image_caption(im, ODX_CAPTION_TAGS, langs[l]);
            if (sh)
                printf("short (%s):    %s\n", langs[l], esc(sh));
            if (de)
                printf("detailed (%s): %s\n", langs[l], esc(de));
            if (tg)
                printf("tags (%s):     %s\n", langs[l], esc(tg));
        }
        const char *txt = odx_image_caption(im, ODX_CAPTION_OCR, NULL);
        if (txt)
            printf("text (%s):\n%s\n", esc(str_or(odx_image_ocr_lang(im), "?")), esc_lines(txt));
        if (in->table_markdown)
            printf("table:\n%s\n", esc_lines(in->table_markdown));
        for (int i = 0; i < in->n_objects; i++) {
            const odx_object *o = odx_image_object(im, i);
            printf("object: %s %.2f\n", esc(o->label), o->score);
        }
    }
    for (int i = 0; i < in->n_vlm; i++) {
        const odx_vlm_caption *v = odx_image_vlm(im, i);
        printf("vlm %s (%s, %s): %s\n", esc(str_or(v->kind, "?")), esc(str_or(v->lang, "?")),
               esc(str_or(v->model, "?")),
               esc_any(str_or(v->text, ""), v->kind && !strcmp(v->kind, "detailed")));
    }
    if (in->n_copies > 1)
        for (int i = 0; i < in->n_copies; i++)
            printf("copy: %s\n", esc(odx_image_copy(im, i)));
}

/* The raw bytes of a path from JSON: "KEY_b64" decoded when present (the
 * name is not UTF-8), else "KEY". malloc'd; NULL when neither is there. */
static char *json_path_bytes(const cJSON *o, const char *key)
{
    char k64[64];
    snprintf(k64, sizeof k64, "%s_b64", key);
    const char *b = cJSON_GetStringValue(cJSON_GetObjectItem(o, k64));
    const char *plain = cJSON_GetStringValue(cJSON_GetObjectItem(o, key));
    if (!b)
        return plain ? strdup(plain) : NULL;
    char *out = malloc(strlen(b) / 4 * 3 + 1);
    if (!out)
        return NULL;
    size_t n = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (const char *c = b; *c && *c != '='; c++) {
        const char *T = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        const char *at = strchr(T, *c);
        if (!at) {
            free(out);
            return plain ? strdup(plain) : NULL;
        }
        acc = (acc << 6) | (uint32_t)(at - T);
        if ((bits += 6) >= 8) {
            bits -= 8;
            out[n++] = (char)((acc >> bits) & 0xFF);
        }
    }
    out[n] = 0;
    return out;
}

/* Opens the index read-only, asks one JSON question, closes. */
typedef odx_status (*json_fn)(odx_db *db, const char *arg, char **json, odx_err *e);

static odx_status stats_fn(odx_db *db, const char *arg, char **json, odx_err *e)
{
    (void)arg;
    return odx_stats_json(db, json, e);
}

static odx_status errors_fn(odx_db *db, const char *arg, char **json, odx_err *e)
{
    (void)arg;
    return odx_errors_json(db, json, e);
}

static odx_status skipped_fn(odx_db *db, const char *arg, char **json, odx_err *e)
{
    (void)arg;
    return odx_skipped_json(db, json, e);
}

static odx_status db_json(const global *g, json_fn fn, const char *arg, char **json, odx_err *e)
{
    odx_db *db = NULL;
    odx_status st = open_db(g, true, &db, e);
    if (st == ODX_OK)
        st = fn(db, arg, json, e);
    odx_db_close(db);
    return st;
}

static int cmd_show(const global *g, int argc, char **argv)
{
    bool json_out = false;
    const char *path = NULL;
    int rc = small_opts("show", argc, argv, (const char *const[]){"--json"},
                        (bool *[]){&json_out}, 1, 1, &path,
                        "Usage: omnidex show [--json] PATH|#ID\n"
                        "Everything stored for one indexed image: status, captions (en/zh), tags,\n"
                        "text, structure, objects, features.\n"
                        "Exit: 0 ok, 2 usage, 3 no index or fatal error, 5 not in the index.\n");
    if (rc >= 0)
        return rc;
    odx_err e = {0};
    if (!json_out) {
        odx_db *db = NULL;
        odx_image *im = NULL;
        odx_status st = open_db(g, true, &db, &e);
        if (st == ODX_OK)
            st = odx_image_get(db, path, &im, &e);
        odx_db_close(db);
        if (st != ODX_OK)
            return fail(&e, st);
        print_image(im, true);
        odx_image_free(im);
        return EXIT_OK;
    }
    char *json = NULL;
    odx_status st = db_json(g, odx_show_json, path, &json, &e);
    if (st != ODX_OK)
        return fail(&e, st);
    puts(json);
    odx_free(json);
    return EXIT_OK;
}

static int cmd_caption(const global *g, int argc, char **argv)
{
    bool json_out = false, no_ocr = false, no_detect = false;
    const char *path = NULL;
    int rc = small_opts("caption", argc, argv,
                        (const char *const[]){"--json", "--no-ocr", "--no-detect"},
                        (bool *[]){&json_out, &no_ocr, &no_detect}, 3, 1, &path,
                        "Usage: omnidex caption [--json] [--no-ocr] [--no-detect] FILE\n"
                        "Describe one image with the native engine without touching any index:\n"
                        "domain, features, text, structure, objects and captions.\n"
                        "Exit: 0 ok, 2 usage, 3 the file could not be read or decoded.\n");
    if (rc >= 0)
        return rc;
    odx_caption_params p = odx_caption_params_default();
    p.models_dir = g->models;
    p.ocr = !no_ocr;
    p.detect = !no_detect;
    odx_err e = {0};
    if (!json_out) {
        odx_image *im = NULL;
        odx_status st = odx_caption_image(path, &p, &im, &e);
        if (st != ODX_OK)
            return fail(&e, st == ODX_ERR_NOT_FOUND || st == ODX_ERR_INVALID ? ODX_ERR_IO : st);
        print_image(im, false);
        odx_image_free(im);
        return EXIT_OK;
    }
    char *json = NULL;
    odx_status st = odx_caption_file(path, &p, &json, &e);
    if (st != ODX_OK)
        return fail(&e, st == ODX_ERR_NOT_FOUND || st == ODX_ERR_INVALID ? ODX_ERR_IO : st);
    puts(json);
    odx_free(json);
    return EXIT_OK;
}

static int cmd_stats(const global *g, int argc, char **argv)
{
    bool json_out = false;
    int rc = small_opts("stats", argc, argv, (const char *const[]){"--json"},
                        (bool *[]){&json_out}, 1, 0, NULL,
                        "Usage: omnidex stats [--json]\n"
                        "Images, errors, vectors, index type, sizes, images per domain.\n"
                        "Exit: 0 ok, 2 usage, 3 no index or fatal error.\n");
    if (rc >= 0)
        return rc;
    odx_err e = {0};
    char *json = NULL;
    odx_status st = db_json(g, stats_fn, NULL, &json, &e);
    if (st != ODX_OK)
        return fail(&e, st);
    if (json_out) {
        puts(json);
    } else {
        cJSON *o = cJSON_Parse(json), *it;
        cJSON_ArrayForEach(it, o) {
            if (cJSON_IsString(it))
                printf("%-14s %s\n", it->string, esc(it->valuestring));
            else if (cJSON_IsNumber(it))
                printf("%-14s %.0f\n", it->string, it->valuedouble);
            else if (cJSON_IsObject(it)) {
                cJSON *d;
                printf("%-14s", it->string);
                cJSON_ArrayForEach(d, it) printf(" %s=%.0f", d->string, d->valuedouble);
                putchar('\n');
            }
        }
        cJSON_Delete(o);
    }
    odx_free(json);
    return EXIT_OK;
}

static int cmd_errors(const global *g, int argc, char **argv)
{
    bool json_out = false, skipped = false;
    int rc = small_opts("errors", argc, argv, (const char *const[]){"--json", "--skipped"},
                        (bool *[]){&json_out, &skipped}, 2, 0, NULL,
                        "Usage: omnidex errors [--json] [--skipped]\n"
                        "Files that could not be indexed: path, stage, reason. They are retried\n"
                        "when they change, or with 'omnidex index --retry-errors'.\n"
                        "      --skipped  instead: the files the last index run skipped unread,\n"
                        "                 counted by reason (not an image name, image format\n"
                        "                 not read, hidden, excluded, symlinks), with a few\n"
                        "                 examples each; 'index --log-json' names every one\n"
                        "Exit: 0 ok (also with no errors), 2 usage, 3 no index or fatal error.\n");
    if (rc >= 0)
        return rc;
    odx_err e = {0};
    char *json = NULL;
    odx_status st = db_json(g, skipped ? skipped_fn : errors_fn, NULL, &json, &e);
    if (st != ODX_OK)
        return fail(&e, st);
    if (json_out) {
        puts(json);
    } else if (skipped) {
        cJSON *o = cJSON_Parse(json), *it;
        printf("%.0f skipped by the last index run\n",
               cJSON_GetNumberValue(cJSON_GetObjectItem(o, "total")));
        cJSON_ArrayForEach(it, cJSON_GetObjectItem(o, "reasons")) {
            printf("%8.0f  %s\n", cJSON_GetNumberValue(cJSON_GetObjectItem(it, "count")),
                   esc(str_or(cJSON_GetStringValue(cJSON_GetObjectItem(it, "reason")), "-")));
            cJSON *x;
            cJSON_ArrayForEach(x, cJSON_GetObjectItem(it, "examples")) {
                char *raw = json_path_bytes(x, "path");
                printf("          %s\n", esc(raw ? raw : "?"));
                free(raw);
            }
        }
        cJSON_Delete(o);
    } else {
        cJSON *a = cJSON_Parse(json), *it;
        cJSON_ArrayForEach(it, a) {
            char *raw = json_path_bytes(it, "path");
            printf("%s\t%s\t%s\n", esc(raw ? raw : "?"),
                   esc(str_or(cJSON_GetStringValue(cJSON_GetObjectItem(it, "stage")), "-")),
                   esc(str_or(cJSON_GetStringValue(cJSON_GetObjectItem(it, "reason")), "-")));
            free(raw);
        }
        cJSON_Delete(a);
    }
    odx_free(json);
    return EXIT_OK;
}

#ifdef ODX_WITH_SERVER
static int cmd_serve(const global *g, int argc, char **argv)
{
    return srv_main(g->db, g->models, argc, argv);
}
#endif

/* -------------------------------------------------------------- table ---- */

typedef struct command {
    const char *name;
    int (*fn)(const global *g, int argc, char **argv);
    const char *summary;
} command;

/* ------------------------------------------------------------- check ---- */

static const char CHECK_HELP[] =
    "Usage: omnidex check [--json] [--wait[=SECONDS]]\n"
    "Verify the index: SQLite's integrity check, the full-text index against\n"
    "the captions, the rows against each other, and the vector index (FAISS\n"
    "file) against the vectors stored in SQLite. Takes the index lock, so it\n"
    "does not run while 'omnidex index' does (see --wait).\n\n"
    "      --json          the findings as JSON ({ok, problems: [{part, detail}]})\n"
    "      --wait[=SECONDS] wait for a running index to finish (at most SECONDS)\n"
    "A damaged database: restore it from a backup, or build it anew from the\n"
    "indexed folders with 'omnidex rebuild --fresh'; a damaged FAISS file alone\n"
    "is rebuilt by the next 'omnidex index'.\n"
    "Exit: 0 no damage, 2 usage, 3 no index yet (run 'omnidex index FOLDER') or\n"
    "      the check could not run, 4 an index run holds the lock, 7 damage found\n"
    "      (listed).\n";

static int cmd_check(const global *g, int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", 0, 0, 1}, {"wait", 2, 0, 2}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    odx_db_params dp = odx_db_params_default();
    dp.models_dir = g->models;
    dp.cancel = &g_cancel;
    bool json = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 1: json = true; break;
        case 2:
            dp.wait_lock = true;
            if (optarg) {
                char *end;
                errno = 0;
                dp.wait_lock_s = strtod(optarg, &end);
                if (errno || *end || end == optarg || !(dp.wait_lock_s > 0 && dp.wait_lock_s <= 1e9))
                    return usage_error("check", "bad --wait seconds '%s'", optarg);
            }
            break;
        case 'h': fputs(CHECK_HELP, stdout); return EXIT_OK;
        default: return usage_error("check", "bad option%s", "");
        }
    }
    if (optind < argc)
        return usage_error("check", "unexpected argument '%s'", argv[optind]);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    odx_err e = {0};
    char *out = NULL;
    odx_status st = odx_check(g->db, &dp, &out, &e);
    if (out && json) {
        puts(out);
    } else if (out) {
        cJSON *o = cJSON_Parse(out);
        const cJSON *pr = cJSON_GetObjectItem(o, "problems");
        const cJSON *x;
        cJSON_ArrayForEach(x, pr) {
            const cJSON *part = cJSON_GetObjectItem(x, "part");
            const cJSON *det = cJSON_GetObjectItem(x, "detail");
            printf("damaged: %s: %s\n", esc(cJSON_IsString(part) ? part->valuestring : "?"),
                   esc(cJSON_IsString(det) ? det->valuestring : ""));
        }
        if (st == ODX_OK)
            printf("ok: %.0f images, %.0f captions, %.0f vectors, %.0f in FAISS\n",
                   cJSON_GetNumberValue(cJSON_GetObjectItem(o, "images")),
                   cJSON_GetNumberValue(cJSON_GetObjectItem(o, "captions")),
                   cJSON_GetNumberValue(cJSON_GetObjectItem(o, "vectors")),
                   cJSON_GetNumberValue(cJSON_GetObjectItem(o, "faiss_ntotal")));
        cJSON_Delete(o);
    }
    odx_free(out);
    if (st == ODX_ERR_NOT_FOUND) {
        /* no index: 3 with what to do, as for every other command */
        fprintf(stderr, "omnidex: %s: run 'omnidex index FOLDER' first\n", esc(e.msg));
        return EXIT_FATAL;
    }
    return st == ODX_OK ? EXIT_OK : fail(&e, st);
}

static const char COMPACT_HELP[] =
    "Usage: omnidex compact [--wait[=SECONDS]]\n"
    "Give back now the space deleted and re-indexed images left: the vector\n"
    "file saved, removed vectors dropped, the full-text index merged, free\n"
    "pages returned to the file system. 'omnidex index' does this by itself at\n"
    "the end of a run once that waste passes a quarter of the database; run\n"
    "compact after a large prune or to convert a database made by an older\n"
    "omnidex to 16 KiB pages (done only while no search server has it open).\n"
    "Takes the index lock, so it does not run while 'omnidex index' does.\n\n"
    "      --wait[=SECONDS] wait for a running index to finish (at most SECONDS)\n"
    "Prints the database's size before and after.\n"
    "Exit: 0 ok, 2 usage, 3 no index yet (run 'omnidex index FOLDER') or fatal\n"
    "      error, 4 an index run holds the lock.\n";

static int cmd_compact(const global *g, int argc, char **argv)
{
    static const struct option opts[] = {{"wait", 2, 0, 1}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    odx_db_params dp = odx_db_params_default();
    dp.models_dir = g->models;
    dp.cancel = &g_cancel;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 1:
            dp.wait_lock = true;
            if (optarg) {
                char *end;
                errno = 0;
                dp.wait_lock_s = strtod(optarg, &end);
                if (errno || *end || end == optarg || !(dp.wait_lock_s > 0 && dp.wait_lock_s <= 1e9))
                    return usage_error("compact", "bad --wait seconds '%s'", optarg);
            }
            break;
        case 'h': fputs(COMPACT_HELP, stdout); return EXIT_OK;
        default: return usage_error("compact", "bad option%s", "");
        }
    }
    if (optind < argc)
        return usage_error("compact", "unexpected argument '%s'", argv[optind]);
    odx_err e = {0};
    /* a writer's open would create an empty index: there must be one */
    odx_db *db = NULL;
    odx_status st = open_db(g, true, &db, &e);
    odx_db_close(db);
    db = NULL;
    if (st != ODX_OK && st != ODX_ERR_SCHEMA)
        return fail(&e, st);
    memset(&e, 0, sizeof e);
    int64_t before = 0, after = 0;
    if ((st = odx_db_open(g->db, &dp, &db, &e)) == ODX_OK)
        st = odx_compact(db, &before, &after, &e);
    odx_db_close(db);
    if (st != ODX_OK)
        return fail(&e, st);
    if (!g->quiet)
        printf("compacted: %lld -> %lld bytes\n", (long long)before, (long long)after);
    return EXIT_OK;
}

static const command COMMANDS[] = {
    {"index", cmd_index, "caption + embed + store the images under folders (incremental)"},
    {"search", cmd_search, "ranked images for a text query (en/zh)"},
    {"context", cmd_context, "a Markdown/JSON context block for an LLM prompt"},
    {"ask", cmd_ask, "answer a question with an LLM from the images' captions, citing them"},
    {"show", cmd_show, "everything stored for one image"},
    {"caption", cmd_caption, "describe one image file without indexing it"},
    {"stats", cmd_stats, "images, errors, vectors, index type, sizes"},
    {"errors", cmd_errors, "files that failed, with stage and reason"},
    {"rebuild", cmd_rebuild, "re-caption and re-embed every indexed image"},
    {"check", cmd_check, "verify the index for damage (exit 7 if damaged)"},
    {"compact", cmd_compact, "give back the space deleted images left"},
#ifdef ODX_WITH_SERVER
    {"serve", cmd_serve, "HTTP JSON API (search, context, images, stats)"},
#endif
};

static void main_help(FILE *f)
{
    fprintf(f,
            "Usage: omnidex [--db DIR] [--models DIR] COMMAND [OPTIONS] [ARGS]\n"
            "omnidex %s - index image folders with native bilingual captions and search\n"
            "them by text (hybrid dense + BM25), or build LLM context blocks.\n\n"
            "Commands:\n",
            ODX_VERSION);
    for (size_t i = 0; i < sizeof COMMANDS / sizeof *COMMANDS; i++)
        fprintf(f, "  %-9s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
    fprintf(f,
            "\nGlobal options:\n"
            "  --db DIR       database directory (default: $OMNIDEX_DB, else\n"
            "                 $XDG_DATA_HOME/omnidex or ~/.local/share/omnidex)\n"
            "  --models DIR   detector model files (default: $OMNIDEX_MODELS, then the\n"
            "                 data dir's models/, then PREFIX/share/omnidex/models\n"
            "                 beside the installed binary)\n"
            "  -q, --quiet    only errors\n"
            "  -h, --help     this help; 'omnidex COMMAND --help' for a command\n"
            "  --version\n\n"
            "Exit codes: 0 ok; 1 some files failed to index; 2 usage error, bad query\n"
            "or bad path to index; 3 fatal error (no index yet, database unusable,\n"
            "I/O); 4 index lock held by another run; 5 show: image not in the index;\n"
            "6 interrupted; 7 database damaged (see 'omnidex check'); 8 ask: the LLM\n"
            "endpoint failed.\n");
}

/* Tesseract asks libgomp for 4 threads per call, which is slower on every
 * machine we measured (FACTS.md); libgomp reads the limit only at load, so
 * set it and re-execute once. */
static void limit_openmp(char **argv)
{
    if (getenv("OMP_THREAD_LIMIT"))
        return;
    setenv("OMP_THREAD_LIMIT", "1", 1);
    if (!getenv("OMP_WAIT_POLICY"))
        setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
    execv("/proc/self/exe", argv);
    /* exec failed: go on with the environment we have */
}

int main(int argc, char **argv)
{
    limit_openmp(argv);
    global g = {0};
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--db") || !strcmp(a, "--models")) {
            if (i + 1 >= argc) {
                fprintf(stderr, "omnidex: %s needs a directory\n", a);
                return EXIT_USAGE;
            }
            if (a[2] == 'd')
                g.db = argv[++i];
            else
                g.models = argv[++i];
        } else if (!strncmp(a, "--db=", 5)) {
            g.db = a + 5;
        } else if (!strncmp(a, "--models=", 9)) {
            g.models = a + 9;
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            g.quiet = true;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help") || !strcmp(a, "help")) {
            main_help(stdout);
            return EXIT_OK;
        } else if (!strcmp(a, "--version")) {
            printf("omnidex %s\n", ODX_VERSION);
            return EXIT_OK;
        } else if (a[0] == '-') {
            fprintf(stderr, "omnidex: unknown option '%s'\n", esc(a));
            main_help(stderr);
            return EXIT_USAGE;
        } else {
            break;
        }
    }
    if (i >= argc) {
        main_help(stderr);
        return EXIT_USAGE;
    }
    if (g.quiet)
        odx_log_set(NULL, NULL, 0);
    for (size_t c = 0; c < sizeof COMMANDS / sizeof *COMMANDS; c++)
        if (!strcmp(argv[i], COMMANDS[c].name))
            return COMMANDS[c].fn(&g, argc - i, argv + i);
    fprintf(stderr, "omnidex: unknown command '%s'\nTry 'omnidex --help'.\n", esc(argv[i]));
    return EXIT_USAGE;
}

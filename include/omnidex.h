/* omnidex.h - the public C API of omnidex, a multimodal RAG indexer.
 *
 * This header is the contract: the `omnidex` CLI and the HTTP server use
 * nothing else. Handles are opaque; parameters are passed as structs filled
 * from *_default(); every call that can fail returns odx_status and takes an
 * odx_err * last (NULL allowed) that keeps the first error message.
 * Every *_free / *_close accepts NULL. Strings are UTF-8 except file paths,
 * which are kept byte-exact as the file system gives them.
 *
 * Threads. Calls that take no handle (names, defaults, odx_version,
 * odx_text_escape, the *_json printers of a record you own) run on any
 * thread at any time. One odx_db may be shared by many threads for the
 * reading calls (odx_search, odx_context, odx_image_get, odx_show_json,
 * odx_stats_json, odx_errors_json); odx_index / odx_rebuild take the
 * handle for themselves (one at a time per handle, not concurrently with
 * odx_db_close). A record you receive (odx_results, odx_image) is yours: read it
 * from any thread, free it once; it stays valid after odx_db_close.
 * Callbacks (progress, log) run on the thread that made the call, or for
 * the log hook on whichever thread logs (index workers too): they must
 * not call back into omnidex on the same handle.
 *
 * Growing. Structs are only ever extended at their end and values of the
 * enums only appended. Start every params struct from its *_default() (a
 * field added later then gets its default when you recompile); a release
 * that adds a field to a struct you allocate (the params) changes the
 * library's soname major version, so a program built against the old
 * header never passes a shorter struct to a newer library. Records the
 * library allocates (odx_result, odx_image_info, ...) may grow within one
 * major version: read them only through the pointers it gives you.
 */
#ifndef OMNIDEX_H
#define OMNIDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(ODX_BUILDING) && defined(__GNUC__)
#define ODX_API __attribute__((visibility("default")))
#else
#define ODX_API
#endif

#define ODX_VERSION "0.1.0"
/* The version of the JSON omnidex writes (docs/schema/omnidex-v<N>.schema.json):
 * within a version fields are only added; a change of type or meaning, or
 * a removal, makes the next one. 2: `search --json` is one object, the
 * shape of GET /search (odx_results_json_object), not a bare array. */
#define ODX_JSON_VERSION 2

/* The version of the library actually loaded (ODX_VERSION is the header's);
 * a static string. Any thread. */
ODX_API const char *odx_version(void);

/* Status codes. Append-only: values never change meaning. */
typedef enum odx_status {
    ODX_OK = 0,
    ODX_ERR_INVALID = 1,     /* bad argument or bad query */
    ODX_ERR_NOMEM = 2,       /* allocation failed */
    ODX_ERR_IO = 3,          /* file system error (errno text in message) */
    ODX_ERR_DB = 4,          /* SQLite error */
    ODX_ERR_FAISS = 5,       /* FAISS error */
    ODX_ERR_DECODE = 6,      /* image could not be decoded */
    ODX_ERR_LIMIT = 7,       /* input over a configured limit */
    ODX_ERR_UNSUPPORTED = 8, /* not an image format omnidex reads */
    ODX_ERR_LOCKED = 9,      /* another writer holds the index lock */
    ODX_ERR_NOT_FOUND = 10,  /* no such image / file / model */
    ODX_ERR_MODEL = 11,      /* model file malformed */
    ODX_ERR_OCR = 12,        /* OCR engine failure */
    ODX_ERR_INTERRUPTED = 13,/* stopped by a signal / cancel flag */
    ODX_ERR_SCHEMA = 14,     /* database from a newer omnidex */
    ODX_ERR_INTERNAL = 15,
    ODX_ERR_CORRUPT = 16,    /* database damaged (SQLite says so, or the
                                SQLite/FTS/FAISS parts disagree): run
                                `omnidex check` */
    ODX_ERR_REMOTE = 17,     /* a remote endpoint (VLM, LLM) failed: no
                                connection, timeout, HTTP error, bad answer */
    ODX_ERR_NOT_CONFIGURED = 18, /* a setting the call needs is not given
                                    (odx_ask: no LLM endpoint or model) */
    ODX_ERR_UNINDEXED = 19   /* the image is in the index as a failure (it
                                failed to index): it has no description or
                                vectors to use (odx_similar) */
} odx_status;

/* Caller-owned error record. The first failure is kept. */
typedef struct odx_err {
    odx_status code;
    char msg[512];
} odx_err;

/* A short name for a status ("index locked"). Static; any thread. */
ODX_API const char *odx_status_str(odx_status s);

/* ------------------------------------------------------ vocabularies ---- */

/* The kinds of image the captioner tells apart. Append-only. */
typedef enum odx_domain {
    ODX_DOMAIN_UNKNOWN = -1, /* not indexed, or failed */
    ODX_DOMAIN_PHOTO = 0,
    ODX_DOMAIN_DOCUMENT,
    ODX_DOMAIN_TABLE,
    ODX_DOMAIN_CHART,
    ODX_DOMAIN_SCREENSHOT,
    ODX_DOMAIN_POSTER,
    ODX_DOMAIN_DIAGRAM,
    ODX_N_DOMAINS
} odx_domain;
/* "photo", "document", ... as in JSON and the domain: filter; NULL for a
 * value out of range. odx_domain_name_zh: "照片", ... Static; any thread. */
ODX_API const char *odx_domain_name(odx_domain d);
ODX_API const char *odx_domain_name_zh(odx_domain d);
/* The domain a name spells (any case), ODX_DOMAIN_UNKNOWN if none. */
ODX_API odx_domain odx_domain_from_name(const char *name);

/* The kinds of text stored (and searched) per image. Append-only. */
typedef enum odx_caption_kind {
    ODX_CAPTION_DETAILED = 0, /* a paragraph, en and zh */
    ODX_CAPTION_SHORT,        /* one sentence, en and zh */
    ODX_CAPTION_TAGS,         /* keywords, ", " between them, en and zh */
    ODX_CAPTION_OCR,          /* the text read in the image */
    ODX_CAPTION_STRUCTURE,    /* table Markdown / chart facts as lines */
    ODX_N_CAPTION_KINDS
} odx_caption_kind;
/* "detailed", "short", "tags", "ocr", "structure"; NULL out of range. */
ODX_API const char *odx_caption_kind_name(odx_caption_kind k);

/* Which search paths a search uses (odx_search_params.mode). */
typedef enum odx_search_mode {
    ODX_MODE_HYBRID = 0, /* dense + lexical, fused */
    ODX_MODE_DENSE = 1,
    ODX_MODE_LEXICAL = 2,
    ODX_N_SEARCH_MODES
} odx_search_mode;
/* "hybrid", "dense", "lexical"; NULL out of range. */
ODX_API const char *odx_search_mode_name(odx_search_mode m);

/* Output rules, kept by everything omnidex writes:
 * - JSON: a file path is "path": valid UTF-8 text in which bytes that are
 *   not UTF-8 are replaced by U+FFFD, plus "path_b64": the standard base64
 *   of the raw bytes, present only when the path is not valid UTF-8 (the
 *   same for other path fields: "db_dir"/"db_dir_b64", and "copies" with
 *   "copies_b64", one entry per copy, null where not needed). Every other
 *   string is valid UTF-8.
 * - Text for people: odx_text_escape makes untrusted text (file names,
 *   OCR text, captions, error reasons) safe for a terminal: C0 controls
 *   (ESC, CR, LF, ...), DEL and bytes that are not UTF-8 become \xHH, C1
 *   controls and the bidirectional override/isolate marks \uHHHH; other
 *   text, backslashes included, is unchanged. multiline keeps newline and
 *   tab (blocks of OCR text); otherwise they are escaped, so a field stays
 *   on its line. Returns text freed with odx_free (NULL s gives ""), NULL
 *   on no memory. */
ODX_API char *odx_text_escape(const char *s, bool multiline);

/* Logging hook. level: 0 error, 1 warning, 2 info, 3 debug. The default
 * prints warnings and errors to stderr. Call before opening handles. */
typedef void (*odx_log_fn)(int level, const char *msg, void *user);
ODX_API void odx_log_set(odx_log_fn fn, void *user, int max_level);

/* Frees memory returned by omnidex (JSON strings, context blocks). */
ODX_API void odx_free(void *p);

/* ---------------------------------------------------------------- db ---- */

typedef struct odx_db odx_db;

typedef struct odx_db_params {
    const char *models_dir; /* NULL: $OMNIDEX_MODELS, then data dirs */
    bool read_only;         /* open for search only (no writer lock) */
    /* Writers only: the index lock (<dir>/lock) is taken before the
     * database is touched and held until odx_db_close. */
    bool wait_lock;         /* wait for it instead of ODX_ERR_LOCKED */
    double wait_lock_s;     /* with wait_lock: give up after this many
                               seconds (ODX_ERR_LOCKED); 0: no limit */
    volatile int *cancel;   /* set non-zero (signal handler) to stop waiting
                               (ODX_ERR_INTERRUPTED); may be NULL */
} odx_db_params;

ODX_API odx_db_params odx_db_params_default(void);

/* Resolves the database directory: dir if non-NULL, else $OMNIDEX_DB, else
 * $XDG_DATA_HOME/omnidex (or ~/.local/share/omnidex). Writes into buf. */
ODX_API odx_status odx_db_dir_resolve(const char *dir, char *buf, size_t len,
                                      odx_err *err);

/* Opens (creating if needed, unless read_only) the index in directory dir
 * (NULL: resolved as above). On success *out owns the handle until
 * odx_db_close(). One odx_db may be used from many threads for searches.
 * A writer takes the index lock first: held by another process ->
 * ODX_ERR_LOCKED at once, naming the holder's pid (see wait_lock). A
 * database SQLite finds damaged -> ODX_ERR_CORRUPT. */
ODX_API odx_status odx_db_open(const char *dir, const odx_db_params *p,
                               odx_db **out, odx_err *err);
ODX_API void odx_db_close(odx_db *db);
/* Starts building the in-memory lexical index of db now, on a thread and a
 * database connection of its own, and returns at once: searches meanwhile
 * answer from SQLite's FTS5 (the same results, slower at scale). For
 * long-lived handles such as a server's; without it the index is built
 * once the handle's searches have spent about what the build costs
 * (OMNIDEX_LEXICAL). Nothing when the index exists or is being built.
 * odx_db_close stops and waits for it (not while odx_db_warm runs on the
 * same handle in another thread). */
ODX_API odx_status odx_db_warm(odx_db *db, odx_err *err);

/* ------------------------------------------------------------- index ---- */

typedef struct odx_progress {
    const char *event; /* "scan", "file", "error", "batch", "done" */
    const char *path;  /* file for "file"/"error" events, else NULL */
    const char *stage; /* for "error": read, decode, caption, embed, store */
    const char *reason;/* for "error" */
    int64_t done, total;
    double elapsed_s;
} odx_progress;

typedef void (*odx_progress_fn)(const odx_progress *p, void *user);

typedef struct odx_index_params {
    int n_workers;            /* 0: number of cores */
    int batch_size;           /* files per transaction (default 64) */
    int64_t max_pixels;       /* default 100 Mpx */
    int64_t max_file_bytes;   /* default 256 MiB */
    const char *const *include; /* glob patterns on the relative path */
    int n_include;
    const char *const *exclude;
    int n_exclude;
    odx_progress_fn progress; /* may be NULL */
    void *progress_user;
    volatile int *cancel;     /* set non-zero to stop after the batch */
    bool ocr;                 /* default true */
    bool detect;              /* default true (when model files exist) */
    bool prune;               /* remove vanished files (default true) */
    bool retry_errors;        /* retry failed files even if unchanged */
    bool include_hidden;      /* default false */
    bool follow_symlinks;     /* default true, loops detected */
    bool wait_lock;           /* wait for the writer lock instead of failing */
    bool recaption;           /* re-caption everything (rebuild) */
    double wait_lock_s;       /* with wait_lock: give up after this many
                                 seconds (ODX_ERR_LOCKED); 0: no limit */
    /* Remote VLM captions (OpenAI-compatible endpoint). NULL vlm_url:
     * $OMNIDEX_VLM_URL, else "vlm_url" in DBDIR/config, else none (the same
     * for vlm_model: $OMNIDEX_VLM_MODEL / vlm_model, vlm_api_key:
     * $OMNIDEX_API_KEY / api_key, and vlm_max_side, vlm_jobs). */
    const char *vlm_url;      /* base URL, e.g. "http://127.0.0.1:8080/v1" */
    const char *vlm_model;    /* required with a URL */
    const char *vlm_api_key;  /* sent as a Bearer token; NULL: none */
    int vlm_jobs;             /* requests at a time (default 2) */
    double vlm_timeout_s;     /* per request (default 120) */
    int vlm_max_side;         /* long side of the image sent (default 1280) */
    bool vlm_force;           /* ask again for every image (rebuild --vlm) */
    bool no_vlm;              /* no VLM pass, whatever env/config say */
    /* Remote text embeddings (OpenAI-compatible POST URL/embeddings): a
     * learned vector per image from its captions, beside the native one.
     * NULL embed_url: $OMNIDEX_EMBED_URL, else "embed_url" in
     * DBDIR/config, else none (the same for embed_model:
     * $OMNIDEX_EMBED_MODEL / embed_model, embed_api_key: $OMNIDEX_API_KEY
     * / api_key, and embed_batch). */
    const char *embed_url;
    const char *embed_model;  /* required with a URL */
    const char *embed_api_key;
    int embed_batch;          /* texts per request (default 32, at most 256) */
    double embed_timeout_s;   /* per request (default 60) */
    bool no_embed;            /* no embeddings pass, whatever env/config say */
} odx_index_params;

ODX_API odx_index_params odx_index_params_default(void);

typedef struct odx_index_stats {
    int64_t n_seen, n_new, n_changed, n_reused, n_removed, n_failed,
        n_skipped, n_unchanged, n_reembedded;
    double elapsed_s;
    /* VLM pass: contents captioned, calls that failed, contents still
     * without current VLM captions (retried by the next run) */
    int64_t n_vlm_captioned, n_vlm_failed, n_vlm_pending;
    /* Embeddings pass: contents given a learned vector, contents of
     * batches that failed, contents still without a current one */
    int64_t n_embedded, n_embed_failed, n_embed_pending;
} odx_index_stats;

/* Indexes the given roots (files or folders, recursively). n_roots == 0
 * re-indexes the roots remembered from earlier runs. A given root that
 * does not exist, or is a file without an image name (.png .jpg .jpeg
 * .jpe .jfif .webp .gif .tif .tiff .bmp .dib .heic .heif .hif .avif; the
 * content then picks the decoder), is refused before any work with
 * ODX_ERR_INVALID. Per-file
 * failures are recorded and counted in stats->n_failed; the call still
 * returns ODX_OK.
 * Returns ODX_ERR_LOCKED when another writer runs. */
ODX_API odx_status odx_index(odx_db *db, const char *const *roots, int n_roots,
                             const odx_index_params *p, odx_index_stats *stats,
                             odx_err *err);

/* One progress event as a single-line JSON object (no newline): event,
 * path (see "Output rules" below), stage, reason, done, total, elapsed_s.
 * Freed with odx_free; NULL on no memory. */
ODX_API char *odx_progress_json(const odx_progress *p);

/* The closing summary of an index run as a single-line JSON object:
 * "event":"summary", "status" = "ok" (every file indexed), "partial" (the
 * run finished but stats->n_failed files failed), "interrupted" (st is
 * ODX_ERR_INTERRUPTED) or "failed" (the run stopped on an error: "error"
 * holds err's message and "code" odx_status_str(st)), then the counters.
 * Freed with odx_free. */
ODX_API char *odx_index_summary_json(odx_status st, const odx_index_stats *stats,
                                     const odx_err *err);

/* Re-captions (and re-embeds) every indexed image now. */
ODX_API odx_status odx_rebuild(odx_db *db, const odx_index_params *p,
                               odx_index_stats *stats, odx_err *err);

/* Builds a complete new index of the remembered roots beside the one in
 * dir (NULL: resolved as for odx_db_open) and swaps it in atomically when
 * done; searches answer from the old index until the swap. No odx_db may
 * be open for writing on dir meanwhile. Takes the writer lock. */
ODX_API odx_status odx_rebuild_fresh(const char *dir, const odx_db_params *dp,
                                     const odx_index_params *p,
                                     odx_index_stats *stats, odx_err *err);

/* ------------------------------------------------------------ search ---- */

typedef struct odx_search_params {
    int k;                 /* images to return (default 10) */
    const char *lang;      /* caption language to return: "en", "zh" or NULL
                              (NULL: the query's language) */
    const char *domain;    /* filter: photo|document|table|chart|... or NULL */
    const char *text_lang; /* filter on the language of the visible text:
                              "en", "zh" (zh includes mixed) or NULL */
    const char *path_prefix; /* filter on path prefix, or NULL */
    const char *ext;       /* filter on extension ("png"), or NULL */
    const char *after;     /* filter: taken (EXIF) or modified on or after
                              YYYY-MM-DD */
    const char *before;
    int min_width, min_height;
    double min_score;      /* drop results under this relevance (0..1) */
    double w_dense, w_lexical; /* fusion weights (default 1, 1) */
    odx_search_mode mode;  /* ODX_MODE_HYBRID (default), _DENSE, _LEXICAL */
    bool all;              /* keep near-duplicates */
    bool explain;          /* fill odx_result.explain */
    int64_t min_size, max_size; /* filter on the file's size in bytes as
                              indexed, both bounds included; 0: no bound */
    /* The learned-vector path (index --embed): the query is embedded at
     * embed_url (NULL: $OMNIDEX_EMBED_URL, else "embed_url" in
     * DBDIR/config; none: no such path) with the model the index holds
     * (embed_model, $OMNIDEX_EMBED_MODEL or "embed_model", when set, must
     * name it) within embed_timeout_s, and its ranking joins the fusion
     * with weight w_embed. When the endpoint fails or the index has no
     * such vectors the search answers from the native paths and says why
     * (odx_results_json_object "embed", and explain). odx_search,
     * odx_context and odx_ask use it; odx_similar does not. */
    const char *embed_url;
    const char *embed_model;
    const char *embed_api_key; /* NULL: $OMNIDEX_API_KEY, else "api_key" */
    double embed_timeout_s;    /* default 5 */
    double w_embed;            /* fusion weight (default 1, as w_dense) */
    bool no_embed;             /* native paths only, whatever env/config say */
} odx_search_params;

ODX_API odx_search_params odx_search_params_default(void);

/* Sets one search parameter from its text form: the one parser that the
 * CLI's flags, inline query filters and the HTTP arguments share, so a
 * value is accepted or refused the same way everywhere. Keys ('-' and '_'
 * alike, any case): k, lang, text_lang, domain, path, ext, after, before,
 * min_width (or minw), min_height (or minh), min_size (or minsize),
 * max_size (or maxsize), min_score, w_dense, w_lexical, mode
 * (hybrid|dense|lexical), all, explain (true|false|1|0|yes|no).
 * Dates are YYYY, YYYY-MM or YYYY-MM-DD and must name a real calendar day
 * (2024-02-30 is refused, 2024-02-29 is not). Sizes are a number of bytes,
 * whole or with a fraction before a unit K, M or G (1024, 1024^2, 1024^3;
 * any case, an optional B or iB after it: 200K, 1.5M, 2MiB, 500000), at
 * most 1 PiB; 0 clears the bound. A search whose max_size is below its
 * min_size is refused (ODX_ERR_INVALID). A string value is borrowed
 * (it must outlive the search); an empty one clears that filter. Returns
 * ODX_ERR_INVALID with a message naming the value and what is allowed (an
 * unknown domain lists the valid ones), ODX_ERR_NOT_FOUND for an unknown
 * key; p is unchanged on failure. */
ODX_API odx_status odx_search_params_set(odx_search_params *p, const char *key,
                                         const char *value, odx_err *err);

typedef struct odx_result {
    int64_t image_id;
    const char *path;
    double score;          /* relevance 0..1 */
    const char *domain;
    const char *short_caption;
    const char *detailed_caption;
    const char *tags;      /* comma separated */
    const char *ocr_text;  /* may be NULL */
    const char *structure; /* table Markdown / chart facts, may be NULL */
    const char *matched;   /* e.g. "caption, OCR text" */
    const char *explain;   /* with explain=true */
    int width, height;
    const char *vlm_caption; /* detailed caption by a VLM (query's language
                                first), or NULL */
    const char *vlm_model;   /* the model that wrote it */
    const char *hash;        /* SHA-256 of the content, 64 hex digits (a
                                cache key: it changes when the file does) */
    int64_t size;            /* of the file in bytes, as indexed */
} odx_result;

typedef struct odx_results odx_results;

/* Runs a hybrid search. Filters may also be written inline in the query
 * (domain:chart lang:zh after:2024-01-01 before: path: ext:). On success
 * *out owns the results until odx_results_free(). Thread-safe per odx_db. */
ODX_API odx_status odx_search(odx_db *db, const char *query,
                              const odx_search_params *p, odx_results **out,
                              odx_err *err);
ODX_API int odx_results_count(const odx_results *r);
/* Borrowed; valid until odx_results_free(r). */
ODX_API const odx_result *odx_results_get(const odx_results *r, int i);
/* JSON array text of the results (the "results" member below, JSON
 * version 1's `search --json`); caller frees with odx_free(). */
ODX_API char *odx_results_json(const odx_results *r);
/* The results as the one JSON object that `omnidex search --json` prints
 * and GET /search and GET /similar/{id} answer (docs/schema: search_cli,
 * similar_cli): what was asked, "count" and "results" (the array of
 * odx_results_json). What was asked: "query", the query as odx_search was
 * given it; for odx_similar "similar_to", the example's image id, or for
 * an example file that is not indexed "like", its path (with "like_b64"
 * when not UTF-8). Caller frees with odx_free(); NULL on no memory. */
ODX_API char *odx_results_json_object(const odx_results *r);
ODX_API void odx_results_free(odx_results *r);

/* Search by example: the images most like an indexed one (ref: a path as
 * for odx_show_json, or "#ID"), or like an image file that is not indexed
 * (described now with the engines loaded for this call, embedded as the
 * indexer embeds, not stored; seconds), by its caption, tag and text
 * vectors against the same vectors of every other image; a near-identical
 * picture (re-encoded, resized, slightly cropped: a fitted model over the
 * closest distance of the two pictures' difference hashes, whole or
 * cropped, their caption cosine and how many bits the hashes set; found
 * by a scan of every picture's hashes as well) ranks first. The example
 * and its exact copies are left out.
 * p: k, lang (caption language, default en), the filters, min_score,
 * all and explain as for odx_search; mode and fusion weights are ignored.
 * odx_result.matched says "similar caption, tags" or "near-identical
 * picture"; score 0..1. On success *out owns the results until
 * odx_results_free. ODX_ERR_NOT_FOUND: ref neither indexed nor a file;
 * a file's read and decode errors as for odx_caption_file;
 * ODX_ERR_UNINDEXED: the image is indexed as a failure (nothing to compare
 * by); ODX_ERR_INVALID: it has no vectors. Thread-safe per odx_db. */
ODX_API odx_status odx_similar(odx_db *db, const char *ref, const odx_search_params *p,
                               odx_results **out, odx_err *err);

typedef struct odx_context_params {
    odx_search_params search;
    int max_chars;         /* budget for the block (default 12000) */
    bool json;             /* JSON instead of Markdown */
} odx_context_params;

ODX_API odx_context_params odx_context_params_default(void);

/* Renders a context block for an LLM prompt. *out is freed with odx_free. */
ODX_API odx_status odx_context(odx_db *db, const char *query,
                               const odx_context_params *p, char **out,
                               odx_err *err);

/* --------------------------------------------------------------- ask ---- */

typedef struct odx_ask_params {
    odx_context_params context; /* retrieval and the block's budget (k 5) */
    const char *llm_url;   /* NULL: $OMNIDEX_LLM_URL, else "llm_url" in DBDIR/config */
    const char *llm_model; /* NULL: $OMNIDEX_LLM_MODEL, else "llm_model" */
    const char *api_key;   /* NULL: $OMNIDEX_API_KEY, else "api_key"; may be none */
    double timeout_s;      /* longest silence of the endpoint (default 120) */
    int max_tokens;        /* 0: the server's default */
    volatile int *cancel;  /* set non-zero to stop (ODX_ERR_INTERRUPTED) */
    int max_images;        /* with_images: how many of the top images (default 3) */
    int image_max_side;    /* with_images: long side sent (default 1024) */
    bool stream;           /* SSE (default true) */
    bool with_images;      /* send the top images themselves too (the model
                              must be a VLM), for visual questions */
} odx_ask_params;

ODX_API odx_ask_params odx_ask_params_default(void);

/* A piece of the answer as it streams in; reasoning: of the model's
 * reasoning (reasoning_content or a leading <think> block), not the answer.
 * Called on the calling thread. */
typedef void (*odx_ask_fn)(const char *piece, size_t len, bool reasoning, void *user);

/* Answers a question from the index: hybrid search, the context block
 * (odx_context), then a chat completion at llm_url/chat/completions with a
 * system prompt asking for step-by-step reasoning from the captions and
 * citations by image number. fn (may be NULL) gets the answer as it
 * arrives. *json (freed with odx_free; may be NULL) is {"question",
 * "answer", "reasoning" (when any), "citations": [{"number", "path",
 * "image_id", "domain", "score"}] (the images cited as [N], in order of
 * first citation), "context" (the block sent), "model", "finish_reason",
 * "truncated"}. Errors: ODX_ERR_INVALID (no question),
 * ODX_ERR_NOT_CONFIGURED (no endpoint or model given by p, the variables
 * or DBDIR/config), ODX_ERR_REMOTE (endpoint unreachable, timed out, HTTP error,
 * malformed answer), search errors. */
ODX_API odx_status odx_ask(odx_db *db, const char *question, const odx_ask_params *p,
                           odx_ask_fn fn, void *user, char **json, odx_err *err);

/* ------------------------------------------------------- inspection ---- */

/* One indexed image as a typed record: what odx_show_json prints, without
 * JSON. The strings are borrowed from the odx_image and live until
 * odx_image_free; NULL where the image has no such thing. */
typedef struct odx_image odx_image;

typedef struct odx_color {
    const char *name, *name_zh; /* "dark blue", "深蓝色" */
    double share;               /* of the pixels, 0..1 */
    const char *rgb;            /* "#1f3a93" */
} odx_color;

typedef struct odx_object {
    const char *label, *label_zh; /* COCO class: "dog", "狗" */
    double score;                 /* detector confidence 0..1 */
    double x0, y0, x1, y1;        /* box in the image's pixels */
} odx_object;

typedef struct odx_image_info {
    int64_t id;
    const char *path;        /* byte-exact, as indexed */
    int64_t size, mtime_ns;  /* of the file when indexed */
    int64_t indexed_at;      /* unix seconds */
    const char *hash;        /* SHA-256 of the content, 64 hex digits; NULL
                                for a file that failed */
    bool ok;                 /* false: the file failed to index (below) */
    const char *error_stage, *error; /* for a failed file */
    const char *engine;      /* caption engine version ("native-10") */
    const char *embedder;
    /* the description (all below empty / 0 / NULL without one) */
    const char *format;      /* "png", "jpeg" */
    int width, height;
    odx_domain domain;       /* odx_domain_name() for its name */
    double domain_conf;      /* 0..1 */
    const char *chart_type;  /* "bar", "line", "pie", "scatter" or NULL */
    const char *text_lang;   /* language of the visible text: "en", "zh",
                                "mixed" or NULL */
    bool has_exif;
    int orientation;         /* EXIF 1..8 (1 without EXIF) */
    const char *taken_at;    /* EXIF date-time or NULL */
    const char *camera;      /* EXIF make and model or NULL */
    const char *table_markdown; /* a table read as Markdown, or NULL */
    const char *title;       /* of a chart or table, or NULL */
    const char *x_label, *y_label;
    int n_colors, n_objects, n_copies;
    int n_vlm;               /* captions by a remote VLM (odx_image_vlm) */
} odx_image_info;

/* A caption written by a remote vision-language model (index --vlm). */
typedef struct odx_vlm_caption {
    const char *kind, *lang, *text;
    const char *model, *prompt; /* the model and prompt version behind it */
} odx_vlm_caption;

/* Looks an image up by path (as given, then its realpath) or, when ref is
 * "#ID", by id. On success *out owns the record until odx_image_free.
 * ODX_ERR_NOT_FOUND if not indexed; ODX_ERR_CORRUPT for a damaged row.
 * Thread-safe per odx_db. */
ODX_API odx_status odx_image_get(odx_db *db, const char *ref, odx_image **out,
                                 odx_err *err);
ODX_API void odx_image_free(odx_image *im);
/* Borrowed, valid until odx_image_free(im); never NULL for a record. */
ODX_API const odx_image_info *odx_image_info_get(const odx_image *im);
/* A caption of the image: kind ODX_CAPTION_DETAILED, _SHORT or _TAGS in
 * lang "en" or "zh"; _OCR (lang NULL: whatever was read; else only when
 * the text is in that language) and _STRUCTURE (lang ignored). NULL when
 * the image has none. Borrowed like the info. */
ODX_API const char *odx_image_caption(const odx_image *im, odx_caption_kind kind,
                                      const char *lang);
/* The language of the OCR text ("en", "zh", "mixed", "und") or NULL. */
ODX_API const char *odx_image_ocr_lang(const odx_image *im);
/* Item i (0 <= i < n_colors / n_objects / n_copies) or NULL. Copies are
 * the paths holding the same content (this one included), by path bytes. */
ODX_API const odx_color *odx_image_color(const odx_image *im, int i);
ODX_API const odx_object *odx_image_object(const odx_image *im, int i);
ODX_API const char *odx_image_copy(const odx_image *im, int i);
/* VLM caption i (0 <= i < n_vlm) or NULL, in the order written. */
ODX_API const odx_vlm_caption *odx_image_vlm(const odx_image *im, int i);

/* Everything stored for one image (path as given, or its id as "#ID"), as
 * JSON (docs/schema: "show"). *json is freed with odx_free.
 * ODX_ERR_NOT_FOUND if not indexed. */
ODX_API odx_status odx_show_json(odx_db *db, const char *path, char **json,
                                 odx_err *err);
/* Index statistics as JSON. */
ODX_API odx_status odx_stats_json(odx_db *db, char **json, odx_err *err);
/* Recorded per-file errors as a JSON array. */
ODX_API odx_status odx_errors_json(odx_db *db, char **json, odx_err *err);
/* What the last complete index run skipped without reading, by reason, as
 * a JSON object: "total" and "reasons", an array of {"reason", "count",
 * "examples": [{"path"...}]} (at most 5 example paths a reason; the
 * reasons: "not an image name", "image format not read" (.svg, .psd,
 * camera raw...), "hidden", "excluded", "symlink (not followed)",
 * "dangling symlink", "directory already walked (symlink loop or second
 * link)"). Every skipped path is named as it happens by the "skipped"
 * progress events of odx_index. Before any run: total 0. Freed with
 * odx_free. */
ODX_API odx_status odx_skipped_json(odx_db *db, char **json, odx_err *err);

/* Decodes the bytes of an image file of any format odx_index reads (PNG,
 * JPEG, WebP, GIF first frame, TIFF first page, BMP, HEIC, AVIF; chosen by
 * content) to 8-bit RGB, upright (EXIF/TIFF orientation and HEIF
 * transforms applied, so a caller must not apply the indexed orientation
 * again), transparency on white, its long side reduced to max_side or a
 * little above (a JPEG is DCT-scaled: up to 2x; 0: full size). The
 * declared size is checked against max_pixels (<= 0: 100 Mpx) before
 * anything is allocated. On success *rgb holds w*h*3 bytes, freed with
 * odx_free. Thread-safe. ODX_ERR_UNSUPPORTED: no format above;
 * ODX_ERR_DECODE: corrupt or truncated; ODX_ERR_LIMIT: over max_pixels. */
ODX_API odx_status odx_image_decode(const void *data, size_t len, int max_side,
                                    int64_t max_pixels, unsigned char **rgb, int *w, int *h,
                                    odx_err *err);

/* Checks the index in dir (NULL: resolved as for odx_db_open) for damage:
 * SQLite's integrity_check, the full-text index against the captions, the
 * rows against each other, the FAISS file and index against the vectors
 * table, the remote embeddings (embed_vectors) and their cache file
 * embed.vec against each other. Takes the index lock meanwhile (p->wait_lock, p->wait_lock_s and
 * p->cancel as for a writer; p may be NULL). *json (freed with odx_free)
 * is {"db_dir", "ok", "problems": [{"part", "detail"}], "images",
 * "captions", "vectors", "faiss_ntotal"}, written whenever the check ran.
 * Returns ODX_OK when nothing was found, ODX_ERR_CORRUPT when something
 * was (json says what), other codes when the check could not run
 * (ODX_ERR_NOT_FOUND: no index, ODX_ERR_LOCKED: an index run holds it). */
ODX_API odx_status odx_check(const char *dir, const odx_db_params *p, char **json,
                             odx_err *err);

/* Gives back now the space that deleted and re-indexed images left, what
 * an index run does by itself once that waste passes a quarter of the
 * database: the FAISS file saved, the tombstones it reflects dropped, the
 * full-text index's segments merged, free pages returned to the file
 * system, and a database made with smaller pages than new ones get
 * rewritten with them (only while no other process has it open). db must
 * be open for writing (it holds the index lock). *bytes_before and
 * *bytes_after (may be NULL): the database's size. Each step is its own
 * transaction: a kill loses only that step's savings. */
ODX_API odx_status odx_compact(odx_db *db, int64_t *bytes_before, int64_t *bytes_after,
                               odx_err *err);

typedef struct odx_caption_params {
    const char *models_dir;
    int64_t max_pixels, max_file_bytes;
    bool ocr, detect;
} odx_caption_params;

ODX_API odx_caption_params odx_caption_params_default(void);

/* Captions one file without touching any index; *json is the full
 * description (domain, features, text, structure, objects, captions).
 * Loads the engines for this one call. Any thread. */
ODX_API odx_status odx_caption_file(const char *path,
                                    const odx_caption_params *p, char **json,
                                    odx_err *err);
/* The same as a typed record (see odx_image_get): id 0, hash NULL, no
 * copies, engine the captioner's version. Freed with odx_image_free. */
ODX_API odx_status odx_caption_image(const char *path, const odx_caption_params *p,
                                     odx_image **out, odx_err *err);

#ifdef __cplusplus
}
#endif
#endif /* OMNIDEX_H */

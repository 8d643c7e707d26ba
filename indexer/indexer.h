/* indexer.h - the indexing pass: walks roots, detects changes, fans files out
 * to captioning workers and funnels their results into one writer that owns
 * the store. Sits between the file system and captioner/embedder/storage. */
#ifndef ODX_INDEXER_H
#define ODX_INDEXER_H

#include "captioner.h"
#include "storage.h"

/* Runs one index pass over roots (n_roots == 0: the roots remembered in storage).
 * db_dir is the database directory (the lock file lives there). cap holds the
 * captioner config (models dir, limits, ocr/detect switches) derived from p by the lead. */
odx_status idx_run(store *s, const char *db_dir, const cap_config *cap,
                   const char *const *roots, int n_roots,
                   const odx_index_params *p, odx_index_stats *st, odx_err *err);

/* Semantics of idx_run, in detail:
 * - Takes db_dir/lock (flock, pid written inside) for the whole pass; held by
 *   someone else -> ODX_ERR_LOCKED naming the holder pid, unless p->wait_lock
 *   (then at most p->wait_lock_s seconds when that is > 0). odx_db_open takes
 *   it already, before store_open; here it is then a nested no-op.
 * - Files: images chosen by extension (IDX_IMAGE_EXTS: .png .jpg .jpeg .jpe
 *   .jfif .webp .gif .tif .tiff .bmp .dib .heic .heif .hif .avif, any case);
 *   other files are counted in n_skipped, reported to p->progress as
 *   "skipped" events (path and reason) and never read; the counts by reason
 *   of a pass that completes are kept in storage (IDX_SKIPPED_KEY). The decoder is chosen by
 *   the content (magic bytes), not the name; a file with an image extension
 *   whose content is no format omnidex reads gets an error row (stage
 *   "decode"). Hidden entries (name starts with '.') are skipped unless
 *   p->include_hidden; include/exclude globs are fnmatch()ed (no FNM_PATHNAME,
 *   so '*' crosses '/') on the path relative to the root; excludes also prune
 *   directories. Symlinks are followed (p->follow_symlinks) with a
 *   device+inode set of visited directories: a loop or a second link to a
 *   directory already walked is skipped. Paths are stored byte-exact under the
 *   realpath() of the root.
 * - Counters (all files with an image name that pass the filters are n_seen):
 *   n_seen = n_unchanged + n_new + n_changed (new: no row before; changed: a
 *   row whose size/mtime moved, or forced by retry_errors/recaption/engine).
 *   Of new+changed files, each is exactly one of: n_failed, n_reused (content
 *   hash known, nothing recomputed), n_reembedded (vectors recomputed from
 *   stored captions), or captioned (the rest). Walk errors (unreadable
 *   directories, symlink loops) are error rows too, counted like files
 *   (unchanged while the same error recurs, unless p->retry_errors).
 *   An unchanged file whose content only lacks the current embedder
 *   (emb_model_id(): EMB_ID + lexicon hash) is re-embedded from stored
 *   captions without being read: counted n_unchanged, and n_reembedded
 *   once per content.
 * - Per-file failures become error rows (stage read/decode/caption/embed) and
 *   do not fail the call. Store failures are fatal: the batch is rolled back.
 * - Batches: one transaction per p->batch_size written files (or 5 s of work).
 *   *p->cancel set -> stops dispatching, finishes running files, commits, and
 *   returns ODX_ERR_INTERRUPTED (no prune then).
 * - Prune (p->prune): rows under the walked roots that the walk did not see
 *   are deleted, except under directories that could not be read and under
 *   remembered roots that are missing (an unmounted disk is not a deletion);
 *   then store_content_gc and store_save.
 * - An explicit root that does not exist: ODX_ERR_NOT_FOUND, nothing done.
 * - st may be NULL. Not thread-safe on one store: one pass at a time. */

/* Re-captions and re-embeds every image under the remembered roots in place
 * (idx_run with p->recaption set and no roots). */
odx_status idx_rebuild(store *s, const char *db_dir, const cap_config *cap,
                       const odx_index_params *p, odx_index_stats *st,
                       odx_err *err);

/* `rebuild --fresh`: builds a complete new database in the sibling directory
 * "<db_dir>.fresh" (a leftover of a killed rebuild is removed first) from
 * the remembered roots of the database in db_dir
 * (read with a read-only store_open), then swaps the two directories
 * atomically (renameat2 RENAME_EXCHANGE; where the file system refuses it,
 * two renames with a short window) and deletes the old one. The lock of
 * db_dir is held throughout; searches keep answering from the old database
 * until the swap. The caller must NOT hold db_dir open as a writer store
 * (a reader may stay open: it keeps the old files). */
odx_status idx_rebuild_fresh(const char *db_dir, const cap_config *cap,
                             const odx_index_params *p, odx_index_stats *st,
                             odx_err *err);

/* The writer lock alone, for callers that want it before store_open.
 * On success *fd_out is the open lock fd; release with idx_lock_release. */
odx_status idx_lock_acquire(const char *db_dir, bool wait,
                            volatile int *cancel, int *fd_out, odx_err *err);
/* The same with a bound: with wait and max_wait_s > 0, gives up after
 * max_wait_s seconds with ODX_ERR_LOCKED (naming the holder's pid);
 * max_wait_s <= 0 waits as long as it takes. *cancel set (by a signal
 * handler) while waiting: ODX_ERR_INTERRUPTED. */
odx_status idx_lock_acquire_for(const char *db_dir, bool wait, double max_wait_s,
                                volatile int *cancel, int *fd_out, odx_err *err);
void idx_lock_release(int fd); /* -1 is fine */

/* The VLM pass (vlm.c), run by idx_run after the native pass when
 * p->vlm_url is set: every content lacking VLM captions by p->vlm_model and
 * the current prompt version of its domain (or all, p->vlm_force) is sent
 * to p->vlm_url with p->vlm_jobs requests at a time; answers are stored as
 * captions with source 'vlm' and the content is re-embedded from all its
 * captions. Failed calls are counted (st->n_vlm_failed) and logged, and
 * leave the content as it was; once the endpoint's circuit opens the rest
 * is left for the next run (st->n_vlm_pending). Returns ODX_OK unless the
 * store fails, the run is interrupted or the settings are wrong. */
odx_status idx_vlm_pass(store *s, const odx_index_params *p, odx_index_stats *st,
                        odx_err *err);

/* The embeddings pass (embed_pass.c), run by idx_run after the VLM pass
 * when p->embed_url is set: every content whose learned vector is
 * missing, of another model or dimension, or made from captions that have
 * changed since (a hash of the text is kept) is embedded from its stored
 * detailed and short captions (every language and source, 2 KiB at most)
 * in batches of p->embed_batch, one request at a time; a stored vector is
 * probed once per run, so a server that now answers another dimension or
 * other vectors under the same model name re-embeds everything. A failed
 * or malformed batch writes nothing, is logged and recorded (meta
 * embed_error) and counted (st->n_embed_failed); once the circuit opens
 * the rest waits for the next run (st->n_embed_pending). Returns ODX_OK
 * unless the store fails, the run is interrupted or the settings are
 * wrong. */
odx_status idx_embed_pass(store *s, const odx_index_params *p, odx_index_stats *st,
                          odx_err *err);

/* An image file as a data URL for a VLM: the file itself when it is a PNG
 * or JPEG of at most max_side px (width/height as indexed, 0 unknown) and
 * 6 MiB, else decoded within lim and sent as a JPEG of max_side px.
 * malloc'd; NULL with err on failure. */
char *idx_image_data_url(const char *path, int width, int height, int max_side,
                         const cap_limits *lim, odx_err *err);

/* The vectors of one content from its texts (all sources; vectors.c):
 * "caption" (detailed + short), "tags", "text" (ocr + structure), at most
 * IDX_N_FIELDS. *vec owns the floats vecs[] point into. */
#define IDX_N_FIELDS 3
odx_status idx_make_vectors(const store_text *t, int n, float **vec, store_vec *vecs,
                            int *n_vecs, odx_err *err);

/* ------------------------------------------------ internals (tests) ---- */

/* idx_run without the lock. remembered: the roots come from storage, so a
 * missing one is skipped (nothing under it pruned) rather than an error.
 * A content captioned natively keeps its VLM captions: those s holds, else
 * (vlm_from, may be NULL: rebuild --fresh's old index) those vlm_from
 * holds, copied into s; its vectors embed them. */
odx_status idx_pass(store *s, store *vlm_from, const cap_config *cap, const char *const *roots,
                    int n_roots, bool remembered, const odx_index_params *p,
                    odx_index_stats *st, odx_err *err);

/* A set of 64-bit keys (hashes of paths, of dev+inode). Zero-initialise. */
typedef struct idx_set {
    uint64_t *slots;
    size_t cap, n;
} idx_set;
/* True when k was not in the set (now added). Out of memory also answers
 * true: callers then lose dedup, never correctness of what they emit. */
bool idx_set_add(idx_set *s, uint64_t k);
bool idx_set_has(const idx_set *s, uint64_t k);
void idx_set_free(idx_set *s);

enum { IDX_E_IMAGE = 0, IDX_E_SKIPPED = 1, IDX_E_ERROR = 2 };

typedef struct idx_entry {
    int kind;              /* IDX_E_* */
    const char *path;      /* full path, byte-exact */
    const char *rel;       /* relative to the root (base name for a file root) */
    int64_t size, mtime_ns;/* IMAGE only (0 in count_only mode) */
    const char *reason;    /* SKIPPED/ERROR: why */
    bool is_dir;           /* ERROR on a directory (its files not walked) */
} idx_entry;

typedef struct idx_walk_opts {
    const char *const *include;
    int n_include;
    const char *const *exclude;
    int n_exclude;
    bool include_hidden, follow_symlinks;
    bool count_only;       /* pre-scan: no stat of regular files */
    volatile int *cancel;
} idx_walk_opts;

typedef struct idx_walker idx_walker; /* visited-directory set across roots */
odx_status idx_walker_new(const idx_walk_opts *o, idx_walker **out,
                          odx_err *err);
void idx_walker_free(idx_walker *w);
/* Walks one root (file or directory), calling fn for every entry in sorted
 * byte order; fn returns non-zero to stop (then ODX_ERR_INTERRUPTED). */
odx_status idx_walk(idx_walker *w, const char *root,
                    int (*fn)(void *ctx, const idx_entry *e), void *ctx,
                    odx_err *err);

/* True for names with an image extension the indexer reads. */
extern const char *const IDX_IMAGE_EXTS[]; /* NULL-terminated, lower case */
bool idx_has_image_ext(const char *name);
/* Why a file without an image extension is skipped: IDX_SKIP_UNSUPPORTED
 * for image kinds omnidex does not read (.svg, .psd, camera raw, .jxl...),
 * else IDX_SKIP_NOT_IMAGE. The walk's other reasons: "hidden", "excluded",
 * "symlink (not followed)", "dangling symlink", "directory already walked
 * (symlink loop or second link)". */
#define IDX_SKIP_NOT_IMAGE "not an image name"
#define IDX_SKIP_UNSUPPORTED "image format not read"
const char *idx_skip_reason(const char *name);
/* storage meta key: what the last complete index pass skipped, as JSON
 * {"total":N,"reasons":[{"reason":R,"count":n,"examples":[{"path":..}]}]}
 * (at most IDX_SKIP_EXAMPLES paths a reason); written only when it
 * changed, read by odx_skipped_json ('omnidex errors --skipped'). */
#define IDX_SKIPPED_KEY "idx_skipped"
#define IDX_SKIP_EXAMPLES 5
/* The format of a file from its first bytes (cap_sniff) or NULL. */
const char *idx_sniff(const uint8_t *data, size_t len);

#endif

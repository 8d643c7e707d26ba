/* storage.h - SQLite (the truth), FTS5 (lexical) and FAISS (dense, a
 * rebuildable cache) behind one handle. Derived data (captions, vectors)
 * is keyed by content hash, so renamed or copied files reuse it.
 * One writer at a time (the indexer holds the lock); readers may run
 * concurrently (WAL) and catch up when the generation moves. */
#ifndef ODX_STORAGE_H
#define ODX_STORAGE_H

#include "core.h"

#define STORE_SCHEMA_VERSION 7

/* Difference hashes kept per content beside the whole picture's: those of
 * its crops (CAP_N_DHASH_CROPS in captioner.h, the same number), for
 * near-duplicates of cropped copies (content.dhash_crops). */
#define STORE_N_DHASH_CROPS 8
/* content.grey: the picture's mean grey in 16 x 16 cells (cap_grey_grid) */
#define STORE_GREY_N 256

typedef struct store store;

/* Opens or creates the database in directory dir (created if missing,
 * unless read_only). Loads the FAISS file, rebuilding or catching it up
 * from the vectors table when it is missing, corrupt or behind.
 * Errors: ODX_ERR_NOT_FOUND (read_only and no index), ODX_ERR_SCHEMA (a
 * database from a newer omnidex, or read_only on one needing migration),
 * ODX_ERR_DB, ODX_ERR_IO, ODX_ERR_FAISS. A writer opened on a database made
 * with another EMB_DIM drops the old vectors and sets content.embedder to
 * "" so everything is re-embedded.
 * Thread safety: all functions may be called from several threads on one
 * store (searches typically); batches belong to one writer thread. */
odx_status store_open(const char *dir, bool read_only, store **out,
                      odx_err *err);
/* store_open with flags: STORE_OPEN_NO_QUICK_CHECK skips the cheap check
 * on open (store_check runs the full one). Without it, a database whose
 * PRAGMA quick_check fails is refused with ODX_ERR_CORRUPT; the check runs
 * on every open of a small database (readers up to 8 MiB, writers up to
 * 64 MiB), and on a bigger one when a writer opens it and the last check
 * is a week old. */
#define STORE_OPEN_NO_QUICK_CHECK 1
odx_status store_open_ex(const char *dir, bool read_only, int flags, store **out,
                         odx_err *err);
void store_close(store *s);
/* `omnidex check` (the caller holds the index lock): PRAGMA
 * integrity_check, foreign keys, rows against each other (images without
 * content, orphan captions/vectors, duplicate vectors, invalid description
 * JSON, embeddings of the wrong size or non-finite), FTS5 'integrity-check'
 * of the caption index, the FAISS file (usable?) and the index against the
 * vectors table (same ids, same floats). problem() is called once per
 * finding (what: the part, detail: one line). Returns ODX_OK when the
 * check ran, whatever it found (r->n_problems); ODX_ERR_NOT_FOUND when
 * there is no database. */
typedef struct store_check_report {
    int64_t n_problems;
    int64_t n_images, n_captions, n_vectors, faiss_ntotal;
} store_check_report;
odx_status store_check(const char *dir,
                       void (*problem)(void *ctx, const char *what, const char *detail),
                       void *ctx, store_check_report *r, odx_err *err);

/* mkdir -p dir (mode 0755); an existing non-directory is ODX_ERR_IO. */
odx_status store_make_dirs(const char *dir, odx_err *err);

/* No SQLite, FAISS or other foreign type leaves storage: other folders
 * read and write through the typed calls below. Errors read from SQLite
 * carry store_sqlite_status's code (ODX_ERR_LOCKED, ODX_ERR_CORRUPT with
 * "run 'omnidex check'", ODX_ERR_NOMEM, ODX_ERR_DB); a damaged page met
 * while reading rows is such an error, never the end of the rows. */
const char *store_dir(const store *s);
int store_dim(const store *s);

/* *val is malloc'd, or NULL when the key is absent (still ODX_OK). */
odx_status store_meta_get(store *s, const char *key, char **val, odx_err *err);
odx_status store_meta_set(store *s, const char *key, const char *val,
                          odx_err *err);

/* ------------------------------------------------------------ writes ---- */

/* One batch = one transaction. store_commit bumps the generation when
 * vectors changed, applies vector adds/removes to the in-memory FAISS
 * index, and saves the FAISS file at most every save_every_s seconds
 * (store_save forces it). A write call made outside a batch runs in a
 * batch of its own; a write call that fails inside a batch is undone
 * alone (savepoint) and leaves the rest of the batch intact. If FAISS
 * fails after the SQLite COMMIT, store_commit returns the error but the
 * batch stays committed; the next commit/refresh/open catches FAISS up. */
odx_status store_begin(store *s, odx_err *err);
odx_status store_commit(store *s, odx_err *err);
void store_rollback(store *s);
odx_status store_save(store *s, odx_err *err);

/* Dense search chosen by size (store_ann.c): below a measured number of
 * vectors a search scans them all (exact); above it an IVF index (the
 * ANN index, file vectors.ivf beside vectors.faiss) answers, with the
 * number of probed lists tuned on the collection for recall >= 0.95
 * against exact. Writer, no batch open: (re)trains it when the
 * collection has reached the threshold without one, or grown or shrunk
 * by a factor since its training (or always with force), tunes it,
 * saves it (generation + checksum, temp file + rename) and swaps it in;
 * between trainings commits and refreshes keep it caught up like the
 * exact index. A missing, damaged or stale ANN file only means exact
 * search (with a warning). OMNIDEX_DENSE=exact skips it. Slow (k-means):
 * run at the end of an index run. *did (may be NULL) says whether it
 * trained. */
odx_status store_ann_update(store *s, bool force, bool *did, odx_err *err);

/* Space an index leaves behind: free pages (deleted rows), tombstones. */
typedef struct store_waste {
    int64_t page_size, pages, free_pages, tombstones, vectors;
    int auto_vacuum; /* SQLite's: 0 none, 1 full, 2 incremental */
} store_waste;
odx_status store_waste_get(store *s, store_waste *w, odx_err *err);
/* True when w passes the compaction threshold (storage_int.h). */
bool store_waste_over(const store_waste *w);
/* Writer, no batch open. When the waste passes the threshold (or force):
 * saves FAISS if behind, drops the tombstones the saved file reflects
 * (tomb_floor moves: older readers rebuild instead of catching up),
 * merges the FTS5 segments, and frees pages (incremental vacuum; one
 * VACUUM first for a database made without auto_vacuum). Each step is a
 * transaction: a kill loses only that step's savings. FAISS needs no
 * rebuild: remove_ids on IDMap2,Flat shifts the stored vectors down.
 * *did (may be NULL) says whether it ran. */
odx_status store_compact(store *s, bool force, bool *did, odx_err *err);
/* `omnidex compact`: store_compact whatever the waste, then a database
 * with pages of another size than new ones get (storage_int.h) is
 * rewritten with them, when no other connection is open. *before and
 * *after (may be NULL): the database's bytes (pages x page size). */
odx_status store_compact_all(store *s, int64_t *before, int64_t *after, odx_err *err);
/* The bytes of every table and index (SQLite's dbstat: pages x page
 * size), biggest first, to fn (measurements: bench_query).
 * ODX_ERR_UNSUPPORTED when SQLite lacks dbstat. */
odx_status store_table_bytes(store *s, void (*fn)(void *ctx, const char *name, int64_t bytes),
                             void *ctx, odx_err *err);

typedef struct store_image {
    int64_t id;
    char *path;          /* byte-exact */
    int64_t size, mtime_ns;
    char hash[65];       /* "" for errors without content */
    bool ok;             /* false: failed, see err_* */
    char *err_stage, *err_reason;
} store_image;
void store_image_clear(store_image *im);

odx_status store_image_get(store *s, const char *path, store_image *out,
                           bool *found, odx_err *err);
odx_status store_image_put_ok(store *s, const char *path, int64_t size,
                              int64_t mtime_ns, const char *hash,
                              odx_err *err);
odx_status store_image_put_error(store *s, const char *path, int64_t size,
                                 int64_t mtime_ns, const char *stage,
                                 const char *reason, odx_err *err);
/* Deleting an id that does not exist is not an error. Content no image
 * refers to any more stays until store_content_gc. */
odx_status store_image_delete(store *s, int64_t id, odx_err *err);
/* Calls fn for every image row (ok and failed); fn returns non-zero to
 * stop. Do not write from inside fn. */
odx_status store_images_each(store *s, int (*fn)(void *ctx, const store_image *im),
                             void *ctx, odx_err *err);

typedef struct store_text {
    const char *kind; /* detailed, short, tags, ocr, structure */
    const char *lang;
    const char *text;
} store_text;

typedef struct store_vec {
    const char *field; /* e.g. "caption", "tags", "text" */
    const float *v;    /* store_dim floats */
} store_vec;

typedef struct store_content {
    const char *desc_json;
    const char *format, *domain, *chart_type, *text_lang, *taken_at;
    float domain_conf;
    int width, height;
    const char *engine_version, *embedder;
    const store_text *texts;
    int n_texts;
    const store_vec *vecs;
    int n_vecs;
    bool has_dhash_crops; /* the hashes of the picture's crops */
    uint64_t dhash_crops[STORE_N_DHASH_CROPS];
    bool has_grey; /* its grey grid */
    uint8_t grey[STORE_GREY_N];
} store_content;

/* Looks up content by hash: engine version and embedder it was made with. */
odx_status store_content_get(store *s, const char *hash, char engine[32],
                             char embedder[32], bool *found, odx_err *err);
/* Inserts or replaces the native derived data of one content hash
 * (description, native captions + FTS rows, vectors). Its VLM captions
 * (source 'vlm', store_vlm.c) are left as they are: only store_vlm_put
 * replaces them, so c->vecs should embed them too (run.c does). */
odx_status store_content_put(store *s, const char *hash,
                             const store_content *c, odx_err *err);
/* Stored captions of a content hash (for re-embedding), every source: the
 * native ones first, then the VLM ones, each in the order written (the
 * order vectors are made in). Free with store_texts_free. */
odx_status store_content_texts(store *s, const char *hash, store_text **out,
                               int *n, odx_err *err);
void store_texts_free(store_text *t, int n);
/* Replaces only the vectors of a content hash; records embedder (if not
 * NULL) in content.embedder. ODX_ERR_NOT_FOUND when the content is absent. */
odx_status store_vectors_replace(store *s, const char *hash,
                                 const store_vec *v, int n,
                                 const char *embedder, odx_err *err);
/* Deletes content no image refers to; *n_removed may be NULL. */
odx_status store_content_gc(store *s, int64_t *n_removed, odx_err *err);

odx_status store_root_add(store *s, const char *path, odx_err *err);
/* NULL-terminated malloc'd array of malloc'd strings. */
odx_status store_roots(store *s, char ***out, odx_err *err);

/* ------------------------------------------------------------- reads ---- */

typedef struct store_hit {
    char hash[65];
    char field[16];  /* vector field or caption kind */
    char lang[8];
    double score;    /* inner product (dense) or -bm25 (lexical): higher better */
} store_hit;

/* Reloads / catches up FAISS if another process moved the generation.
 * Cheap when nothing changed; call before searches in long-lived readers. */
odx_status store_refresh(store *s, odx_err *err);
/* Top-k by inner product; q has store_dim() floats. *hits malloc'd (NULL
 * when *n is 0); lang is "" for dense hits. */
odx_status store_dense_search(store *s, const float *q, int k,
                              store_hit **hits, int *n, odx_err *err);
/* FTS5 MATCH (expression built by emb_query_fts), best first by bm25.
 * A malformed expression gives ODX_ERR_INVALID with SQLite's reason. */
odx_status store_fts_search(store *s, const char *match, int limit,
                            store_hit **hits, int *n, odx_err *err);
/* The same search by the in-memory lexical index (store_lex.c, lexidx.h):
 * the terms emb_query_terms gives (the MATCH "t1" OR "t2" ... of
 * store_fts_search), the same rows in the same order with the same scores
 * (-bm25; equal scores by caption row id, as FTS5 orders them), top-k
 * found with early termination. The index is built from every caption
 * row and caught up from the caption log afterwards. STORE_LEX_INDEX
 * builds it on the first call; STORE_LEX_AUTO answers from FTS5 (same
 * results) until this handle's FTS5 searches have cost about what the
 * build costs, so one-shot searches of a large index do not pay for it.
 * Calls may run concurrently. */
typedef enum store_lex_policy { STORE_LEX_AUTO, STORE_LEX_INDEX } store_lex_policy;
/* Builds the lexical index now, on a thread and a read-only connection of
 * its own (about 25 us a caption row); STORE_LEX_AUTO searches answer from
 * FTS5 until it is there. For long-lived handles (the server). Not
 * concurrently with store_close, which stops and joins it.
 * Returns at once; nothing when the index exists or is being built. */
odx_status store_lex_warm(store *s, odx_err *err);
/* Whether that build is still running. */
bool store_lex_warming(store *s);
odx_status store_lex_search(store *s, const char *const *terms, int n_terms, int limit,
                            store_lex_policy policy, store_hit **hits, int *n, odx_err *err);

/* n_images counts images with status ok, n_errors the failed ones. */
/* Document frequencies of n_terms terms (a phrase: its rarest token) in
 * the caption index into df[], and an estimate of the number of caption
 * rows. Lets the retriever weight words and drop very common ones from
 * MATCH at scale (FTS5 scores every match). One call per query. */
odx_status store_terms_df(store *s, const char *const *terms, int n_terms,
                          int64_t *df, int64_t *n_docs, odx_err *err);

/* ----------------------------------------- reads for search and show ---- */


/* What the retriever filters and shows on, for one content. Strings are
 * malloc'd, NULL where the column is NULL; store_content_info_clear frees. */
typedef struct store_content_info {
    char *domain, *chart_type, *text_lang, *taken_at;
    int width, height;
    bool has_dhash;   /* the description holds a difference hash */
    uint64_t dhash;
    bool has_dhash_crops; /* and the hashes of its crops (cap_dhash_crops) */
    uint64_t dhash_crops[STORE_N_DHASH_CROPS];
    bool has_grey; /* and its grey grid (cap_grey_grid) */
    uint8_t grey[STORE_GREY_N];
    bool desc_valid;  /* no description, or a description record whose
                         header is sound (store_desc.c; show and check
                         unpack it): false means damage */
} store_content_info;
odx_status store_content_info_get(store *s, const char *hash, store_content_info *out,
                                  bool *found, odx_err *err);

/* Search by example's candidates by picture (ret_similar_to): every
 * content with a difference hash is shown to rank(), which returns a key
 * (smaller is closer) or a negative number to pass it over; the at most
 * max rows of smallest key come back in *out (malloc'd, *n of them, in
 * key order). rank runs under the store's lock and must not call the
 * store. The hashes are kept in memory after the first scan (88 bytes a
 * content; above 4 million contents they are read from SQLite each time)
 * and reloaded when the database changed, by this connection or another.
 * bench_query --n 100000: 3.0 ms a scan (38 ms from SQLite). */
typedef struct store_dhash_row {
    char hash[65];
    int64_t id; /* the content's rowid */
    int key;
    uint64_t dhash;
    bool has_crops;
    uint64_t crops[STORE_N_DHASH_CROPS];
} store_dhash_row;
typedef int (*store_dhash_rank)(void *ctx, uint64_t dhash, bool has_crops,
                                const uint64_t *crops);
odx_status store_dhash_scan(store *s, store_dhash_rank rank, void *ctx, int max,
                            store_dhash_row **out, int *n, odx_err *err);
void store_content_info_clear(store_content_info *ci);
/* The domain of one content into buf; *found false when the content is
 * absent or has no domain. Cheaper than store_content_info_get. */
odx_status store_content_domain(store *s, const char *hash, char *buf, size_t len,
                                bool *found, odx_err *err);
/* Calls fn for content hashes, newest first: every content (domain NULL;
 * ties by hash), or those of a domain (and chart type, if not NULL);
 * at most limit (<= 0: all). fn returns non-zero to stop; it may call
 * the reading functions of this header. */
odx_status store_contents_each(store *s, const char *domain, const char *chart_type, int limit,
                               int (*fn)(void *ctx, const char *hash), void *ctx,
                               odx_err *err);

/* The images showing one content: STORE_BY_LENGTH: ok images, shortest
 * path first (the retriever's order: copies collapse into the first);
 * STORE_BY_PATH: every image, by path bytes (show's "copies"). *out is
 * malloc'd (NULL when *n is 0); free with store_images_free. */
enum { STORE_BY_LENGTH = 0, STORE_BY_PATH = 1 };
odx_status store_images_of(store *s, const char *hash, int order, store_image **out, int *n,
                           odx_err *err);
void store_images_free(store_image *v, int n);

/* The stored vectors of one content (one per field: "caption", "tags",
 * "text"), in the order written: field[i] and v + i * dim. A row whose
 * embedding is not dim floats is ODX_ERR_CORRUPT. n is 0 (and both
 * pointers NULL) for a content without vectors. store_vecs_clear frees. */
typedef struct store_vecs {
    int n, dim;
    char (*field)[16];
    float *v;
} store_vecs;
odx_status store_content_vectors(store *s, const char *hash, store_vecs *out, odx_err *err);
void store_vecs_clear(store_vecs *v); /* NULL is fine */

/* One image row with its content's stored description (show). */
typedef struct store_image_detail {
    store_image im;
    int64_t indexed_at;     /* unix seconds */
    bool has_content;       /* a content row exists for im.hash */
    char *desc_json;        /* NULL: none */
    char *engine_version, *embedder; /* NULL without content */
} store_image_detail;
/* By path (byte-exact) when path is not NULL, else by id. *found false
 * when there is no such image. */
odx_status store_image_detail_get(store *s, const char *path, int64_t id,
                                  store_image_detail *out, bool *found, odx_err *err);
void store_image_detail_clear(store_image_detail *d);
/* Failed images (status error), by path; only the image fields and
 * indexed_at are set. Free with store_image_details_free. */
odx_status store_images_failed(store *s, store_image_detail **out, int *n, odx_err *err);
void store_image_details_free(store_image_detail *v, int n);

/* Images (status ok) per domain, most first; has_domain false for
 * content without one. */
typedef struct store_domain_count {
    char domain[32];
    bool has_domain;
    int64_t n;
} store_domain_count;
odx_status store_domain_counts(store *s, store_domain_count **out, int *n, odx_err *err);

typedef struct store_stats {
    int64_t n_images, n_errors, n_content, n_vectors, faiss_ntotal, generation;
    int64_t db_bytes, faiss_bytes;
    char index_type[64];
    int64_t free_bytes, n_tombstones; /* waste compaction gives back */
    /* The ANN index: what a search uses now ("exact" or "ivf"), and the
     * loaded index (0s when none). */
    char dense_search[8];
    int64_t ann_ntotal, ann_nlist, ann_nprobe, ann_bytes;
} store_stats;
odx_status store_get_stats(store *s, store_stats *st, odx_err *err);

/* ------------------------------------------------------- VLM captions ---- */
/* Captions from a remote vision-language model (store_vlm.c): caption rows
 * with source 'vlm' plus the model and prompt version that made them. They
 * sit beside the native ones (never replacing them), in the FTS index like
 * them, and outlive a native re-caption (store_content_put replaces only
 * the native rows): only a new VLM answer (store_vlm_put) replaces them,
 * and they go only with their content (prune, gc). */

/* One content for the VLM pass: its shortest path among the images that
 * hold it, its native domain and size, and the model/prompt of its VLM
 * captions ("" when it has none). */
typedef struct store_vlm_item {
    char hash[65];
    char domain[16];
    char format[8];
    int width, height;
    char *path;
    char model[128], prompt[64];
    bool has_vlm;
} store_vlm_item;
/* Every content held by an ok image. Free with store_vlm_todo_free. */
odx_status store_vlm_list(store *s, store_vlm_item **out, int *n, odx_err *err);
void store_vlm_todo_free(store_vlm_item *v, int n);
/* Replaces the VLM captions of a content (inside the writer's batch, or a
 * batch of its own). Content that is gone meanwhile is left alone. */
odx_status store_vlm_put(store *s, const char *hash, const char *model, const char *prompt,
                         const store_text *t, int n, odx_err *err);
typedef struct store_vlm_text {
    char *kind, *lang, *text, *model, *prompt;
} store_vlm_text;
/* The VLM captions of a content, in the order written. */
odx_status store_vlm_texts(store *s, const char *hash, store_vlm_text **out, int *n,
                           odx_err *err);
void store_vlm_texts_free(store_vlm_text *v, int n);
/* Contents that have VLM captions. */
odx_status store_vlm_count(store *s, int64_t *n_content, odx_err *err);

/* ------------------------------------------------- remote embeddings ---- */
/* Learned text vectors from a remote /embeddings endpoint (store_embed.c),
 * one per content, beside the native vectors and never mixed with them:
 * table embed_vectors (hash, model, dim, text_sha, embedding) is the
 * truth; meta embed_model / embed_dim name the current model (the one
 * queries must be embedded with) and embed_gen moves with every change;
 * the file embed.vec caches the current model's vectors with that
 * generation and a checksum (written whole to a temp file, fsynced,
 * renamed), so a crash leaves the old file, which readers see is stale
 * and replace by reading the table. A content that goes (prune, gc)
 * takes its vector with it. */
#define STORE_EMBED_MODEL_MAX 128
#define STORE_EMBED_MAX_DIM 16384
#define STORE_EMBED_SHA_LEN 16 /* hex digits of the text's SHA-256 kept */

/* One content held by an ok image, with its stored vector's model,
 * dimension and text hash (has false: none). */
typedef struct store_embed_item {
    char hash[65];
    char model[STORE_EMBED_MODEL_MAX];
    int dim;
    char text_sha[STORE_EMBED_SHA_LEN + 1];
    bool has;
} store_embed_item;
odx_status store_embed_list(store *s, store_embed_item **out, int *n, odx_err *err);
void store_embed_items_free(store_embed_item *v, int n);
/* The current model ("" none) and dimension (0 none). */
odx_status store_embed_current(store *s, char model[STORE_EMBED_MODEL_MAX], int *dim,
                               odx_err *err);
/* Writes n vectors (v: n * dim floats, stored at unit length) of model
 * for the contents hashes[i], made from texts hashed text_shas[i]; content
 * that is gone is skipped. When model or dim differ from the current ones
 * they become current and the vectors of any other model or dimension are
 * deleted in the same transaction. Moves embed_gen. Inside the writer's
 * batch (store_begin): ODX_ERR_INVALID without one. */
odx_status store_embed_put(store *s, const char *model, int dim, const char *const *hashes,
                           const char *const *text_shas, const float *v, int n, odx_err *err);
/* The stored vector of one content (unit length, malloc'd into *v, dim
 * floats); *v NULL when it has none. */
odx_status store_embed_vector(store *s, const char *hash, float **v, int *dim, odx_err *err);
/* rebuild --fresh: the current model's vectors of from (read-only) copied
 * into to (inside its batch) for the contents to holds, with their text
 * hashes, so the next embeddings pass asks only for contents whose
 * captions changed. Nothing when from has none. */
odx_status store_embed_copy(store *to, store *from, odx_err *err);
/* Records the last failure of the embeddings pass (meta embed_error; ""
 * clears it). */
odx_status store_embed_note(store *s, const char *msg, odx_err *err);
/* Writer: writes embed.vec from the table unless it is current already. */
odx_status store_embed_save(store *s, odx_err *err);
/* Top-k contents by cosine with q (dim floats, any length) among the
 * current model's vectors, best first (field "embed", score the cosine).
 * model and dim must be the current ones, else ODX_ERR_INVALID saying
 * what the index holds. Reloads the cache when the generation moved (the
 * file when current, else the table). Safe from many threads. */
odx_status store_embed_search(store *s, const char *model, const float *q, int dim, int k,
                              store_hit **hits, int *n, odx_err *err);
typedef struct store_embed_stats {
    char model[STORE_EMBED_MODEL_MAX];
    int dim;
    int64_t n_rows, n_current; /* rows; rows of the current model */
    char last_error[512];      /* meta embed_error, "" none */
} store_embed_stats;
odx_status store_embed_stats_get(store *s, store_embed_stats *st, odx_err *err);

#endif

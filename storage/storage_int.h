/* storage_int.h - names shared between the files of storage/: the store
 * struct, the prepared-statement cache, and the FAISS sync helpers that
 * sit between SQLite (truth) and the in-memory FAISS index (cache). */
#ifndef ODX_STORAGE_INT_H
#define ODX_STORAGE_INT_H

#include "storage.h"

#include <sqlite3.h>

#include "ivf_int.h"

#include <faiss/c_api/Index_c.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>

#define STORE_DB_NAME "omnidex.db"
#define STORE_FAISS_NAME "vectors.faiss"
#define STORE_ANN_NAME "vectors.ivf"
#define STORE_DEFAULT_FACTORY "IDMap2,Flat"
/* A commit saves vectors.faiss (a cache: SQLite holds the vectors, and an
 * older file is caught up) at most every STORE_SAVE_EVERY_S, and never
 * sooner than STORE_SAVE_COST_RATIO times what the last save took: at 1M
 * images the file grows to 4 GB, and saving it every 30 s meant some 30
 * saves in a 17-minute build; saves now take under a tenth of a run. */
#define STORE_SAVE_EVERY_S 30.0
/* Extra read connections of a read-only handle (store_rd_begin). */
#define STORE_READ_LANES 3
#define STORE_SAVE_COST_RATIO 10.0
/* SQLite's busy handler. The writer holds the index lock (indexer/lock.c)
 * before it opens the store, so it can only meet a busy database from a
 * process outside that rule. Readers (WAL) wait only for brief exclusive
 * moments (WAL recovery, the last connection's checkpoint): let them wait
 * long rather than fail a search. */
#define STORE_BUSY_TIMEOUT_MS 10000
#define STORE_READER_BUSY_TIMEOUT_MS 120000
/* quick_check on open (store_db.c): where it costs little. SQLite's
 * quick_check reads every page once; up to these sizes that is a few
 * milliseconds for a reader and well under a second for an index run. */
#define STORE_QUICK_CHECK_READER_BYTES (8LL << 20)
#define STORE_QUICK_CHECK_WRITER_BYTES (64LL << 20)
#define STORE_QUICK_CHECK_EVERY_S (7LL * 24 * 3600)
/* Compaction at the end of an index run (store_compact.c) once free pages
 * are a quarter of the file (and at least 1 MiB), or tombstones a quarter
 * of the vectors (at least 1000). Measured: 300 images indexed, then all
 * edited twice, left 834 of 1854 pages free (1.96x a clean index); after
 * compaction the file is within 1.1x of a clean one. */
#define STORE_COMPACT_MIN_FREE_BYTES (1LL << 20)
#define STORE_COMPACT_FREE_PCT 25
#define STORE_COMPACT_MIN_TOMBS 1000
#define STORE_COMPACT_TOMB_PCT 25
/* The WAL is cut back to this after a checkpoint (a VACUUM grows it to the
 * size of the database). */
#define STORE_WAL_LIMIT_BYTES (64LL << 20)
/* Tombstones are pruned only once they are this many generations older
 * than the saved FAISS file, so readers a little behind still catch up
 * incrementally instead of rebuilding. */
#define STORE_TOMB_KEEP_GENS 100
/* Page size of new databases. A vector row (dim 512: 2 KiB of floats)
 * does not fit twice in a 4 KiB page, so at SQLite's default every vector
 * took a page of its own: measured on the dev set (130 images, 355
 * vectors), the vectors table held 11.2 KB per image for 5.8 KB of rows;
 * in 16 KiB pages 6.6 KB (7 rows a page). */
#define STORE_PAGE_SIZE 16384
#define STORE_MAX_HASH 64
#define STORE_MAX_FIELD 15 /* store_hit.field[16] */
#define STORE_MAX_LANG 7   /* store_hit.lang[8] */
#define STORE_MAX_K 10000

/* How dense search is answered (OMNIDEX_DENSE, read once by store_open):
 * auto (the default) uses the ANN index when one is loaded and current
 * and the collection has at least store_ann_defaults.min_vectors
 * vectors; exact never uses (nor builds) one; ann uses a loaded one
 * whatever the size (tests, measurements). */
enum { STORE_DENSE_AUTO, STORE_DENSE_EXACT, STORE_DENSE_ANN };

/* The ANN index (store_ann.c): an IVF-Flat over inner product beside the
 * exact IDMap2,Flat index, over the same vectors. Values measured with
 * bench_query (see store_ann.c for the numbers). */
typedef struct store_ann_params {
    int64_t min_vectors;   /* exact search below this many vectors */
    double regrow;         /* retrain once the collection has grown (or
                              shrunk) by this factor since training */
    double lists_per_sqrt; /* nlist = lists_per_sqrt * sqrt(n) ... */
    int min_lists, max_lists; /* ... within these bounds */
    int train_per_list;    /* k-means sample: vectors per list (>= 39, or
                              FAISS prints a warning on stdout) */
    int niter;             /* k-means iterations */
    int tune_queries;      /* sampled database vectors that tune nprobe */
    int tune_k;            /* recall measured at this depth: the
                              retriever's dense fetch for k <= 20 */
    double tune_recall;    /* the smallest nprobe that reaches this */
    int tune_mask;         /* tuning queries keep 1 in tune_mask of a
                              database vector's coordinates */
    double max_probe_share; /* no IVF when recall needs more lists than
                              this share (it would cost about the scan) */
} store_ann_params;
extern const store_ann_params store_ann_defaults;
/* store_ann_update (storage.h) with other parameters (tests). */
odx_status store_ann_update_with(store *s, const store_ann_params *p, bool force, bool *did,
                                 odx_err *err);

/* Cached prepared statements (SQL text in store_sql.c). */
enum store_stmt_id {
    ST_META_GET,
    ST_META_SET,
    ST_IMAGE_GET,
    ST_IMAGE_PUT_OK,
    ST_IMAGE_PUT_ERR,
    ST_IMAGE_DEL,
    ST_CONTENT_GET,
    ST_CONTENT_UPSERT,
    ST_CONTENT_EXISTS,
    ST_CONTENT_SET_EMB,
    ST_CAPTIONS_DEL,
    ST_CAPTION_INS,
    ST_CAPTIONS_OF,
    ST_VEC_TOMB,
    ST_VEC_DEL,
    ST_VEC_INS,
    ST_VEC_LOOKUP,
    ST_FTS_SEARCH,
    ST_ROOT_ADD,
    ST_ROOTS,
    ST_CONTENT_INFO,
    ST_CONTENT_DOMAIN,
    ST_IMAGES_OF,
    ST_IMAGES_OF_BY_PATH,
    ST_IMAGES_FAILED,
    ST_IMAGE_DETAIL_PATH,
    ST_IMAGE_DETAIL_ID,
    ST_VECS_OF,
    ST_NATIVE_TEXTS,
    ST_DHASH_SCAN,
    ST_DATA_VERSION,
    ST_CONTENT_HASH_OF,
    ST_CAPTION_ROWS,
    ST__COUNT
};

struct store {
    char *dir;
    char *db_path;
    char *faiss_path;
    bool read_only;
    sqlite3 *db;
    sqlite3_stmt *stmt[ST__COUNT];
    /* Read-only handles: more connections for the reads of search (a
     * query spent about 45% of its time in SQLite, all under mu, so a
     * second thread could add little); opened on first use. */
    struct store_lane {
        pthread_mutex_t mu;
        sqlite3 *db;
        sqlite3_stmt *stmt[ST__COUNT];
        bool failed; /* could not be opened: not tried again */
    } lanes[STORE_READ_LANES];
    /* The database file the handle's connection opened: a lane opened
     * later must find the same one (a rebuild may have swapped it in the
     * meantime; the server then reopens the whole handle). */
    dev_t db_dev;
    ino_t db_ino;
    /* Guards the statement cache and transaction state: one SQLite
     * connection is shared by the writer and search threads. Lock order:
     * idx_lock before mu, never the other way. */
    pthread_mutex_t mu;
    /* Guards the FAISS index: searches read, refresh/commit write. */
    pthread_rwlock_t idx_lock;

    int dim;
    char factory[64];
    FaissIndex *index;
    char faiss_note[256]; /* why the FAISS file was unusable on open, or "" */
    int64_t index_gen;  /* generation the in-memory index reflects */
    int64_t file_gen;   /* generation of the FAISS file on disk, -1 none */
    double last_save;   /* core_now() of the last save (or open) */
    double last_save_cost; /* seconds the last save took */

    /* The ANN index (store_ann.c), under idx_lock like index. NULL: dense
     * search is exact. It reflects ann_gen; it is searched only while
     * ann_gen == index_gen (both are caught up together). */
    char *ann_path;
    FaissIndex *ann;
    int64_t ann_gen;       /* generation the in-memory ANN index reflects */
    int64_t ann_file_gen;  /* generation of the ANN file it came from or
                              was saved to, -1 none */
    int64_t ann_trained_n; /* vectors when it was trained */
    size_t ann_nlist, ann_nprobe;
    int dense_mode;        /* STORE_DENSE_* */
    char ann_note[256];    /* why the ANN file was unusable, or "" */
    /* The file last loaded or written (a reader reloads a newer one). */
    dev_t ann_dev;
    ino_t ann_ino;
    int64_t ann_mtime_ns;
    pthread_mutex_t ann_reload_mu;

    /* The lexical index over the captions (store_lex.c): searches read,
     * a catch-up writes. Lock order: lex_lock before mu. */
    pthread_rwlock_t lex_lock;
    struct lex_index *lex;
    int64_t lex_seq;    /* caption_log sequence the index reflects */
    double lex_fts_spent; /* seconds of FTS5 searches before it (under mu) */
    /* store_lex_warm: the index built on a thread and connection of its
     * own; automatic searches stay on FTS5 meanwhile */
    pthread_t lex_thread;
    bool lex_thread_on;      /* started, not joined (owner's thread only) */
    atomic_bool lex_building; /* the thread has not finished */
    atomic_bool lex_cancel;   /* store_close asks it to stop */

    /* Remote embeddings (store_embed.c): their cache and its lock. */
    struct store_embed_idx *embed;

    /* Every content's picture hashes (store_dhash_scan), loaded on the
     * first scan and again when the database changed: by another
     * connection (PRAGMA data_version) or by this one
     * (sqlite3_total_changes64). Under mu. */
    struct store_dhash_cache *dh;
    void (*dh_free)(struct store_dhash_cache *); /* set with dh; store_close
                                                    calls it (no link-time tie) */
    int64_t dh_version, dh_changes;
    bool dh_too_big; /* past DH_CACHE_MAX once: scans read SQLite from then on */

    bool in_txn;
    bool txn_vec_changed;
    int64_t txn_gen;    /* generation this batch's vectors are written at */
};

/* The odx_status for a SQLite result code: busy/locked -> ODX_ERR_LOCKED
 * (another process holds SQLite's write lock: not a fatal error), corrupt
 * or not-a-database -> ODX_ERR_CORRUPT, out of memory -> ODX_ERR_NOMEM,
 * anything else ODX_ERR_DB. */
odx_status store_sqlite_status(int sqlite_rc);
/* A hint to append to the message of such a status ("" for others). */
const char *store_sqlite_hint(int sqlite_rc);

/* The connection, for storage's own tests (test_store_*): every other
 * folder reads through the typed calls of storage.h. Borrowed. */
sqlite3 *store_sqlite(store *s);

/* Statement i, reset and with bindings cleared; s->mu must be held. */
sqlite3_stmt *store_stmt(store *s, int i, odx_err *err);

/* One read on a connection of its own where the handle is read-only and
 * one of its extra connections is free (opened on first use), else on the
 * handle's (s->mu held from begin to end). Only for reads that need no
 * snapshot shared with other statements and no write of this handle. */
typedef struct store_rd {
    store *s;
    struct store_lane *lane; /* NULL: the handle's own connection */
    sqlite3 *db;
} store_rd;
void store_rd_begin(store *s, store_rd *r);
void store_rd_end(store_rd *r);
/* store_stmt on the read's connection. */
sqlite3_stmt *store_rd_stmt(store_rd *r, int i, odx_err *err);
/* store_db_err and store_db_status of the read's connection. */
odx_status store_rd_err(store_rd *r, odx_err *err, const char *what);
odx_status store_rd_status(store_rd *r);
/* Closes the extra connections (store_close). */
void store_lanes_close(store *s);
/* Records the connection's last SQLite error (status by
 * store_sqlite_status, with its message and hint). */
odx_status store_db_err(store *s, odx_err *err, const char *what);
/* The same for another connection db of this store. */
odx_status store_conn_err(store *s, sqlite3 *db, odx_err *err, const char *what);
/* store_sqlite_status of the connection's last error. */
odx_status store_db_status(store *s);
/* Runs SQL without results (no bindings). */
odx_status store_exec(store *s, const char *sql, odx_err *err);
/* Reads an integer meta value; def when absent. s->mu must be held. */
odx_status store_meta_int(store *s, const char *key, int64_t def, int64_t *out,
                          odx_err *err);
odx_status store_meta_set_int(store *s, const char *key, int64_t v, odx_err *err);

/* Opens a batch; s->mu must be held (store_begin without the lock). */
odx_status store_begin_locked(store *s, odx_err *err);

/* Schema creation / migration (store_schema.c). Called with no
 * transaction open. */
odx_status store_schema_init(store *s, odx_err *err);

/* The cheap check on open (store_db.c); ODX_ERR_CORRUPT when failed. */
odx_status store_quick_check(store *s, odx_err *err);

/* FTS5 tokenizer "odx" over emb_tokenize (store_fts.c). */
odx_status store_fts_register(sqlite3 *db, odx_err *err);

/* FAISS (store_faiss.c). store_faiss_load is called once from store_open.
 * store_faiss_sync brings the in-memory index to meta.generation, with
 * idx_lock NOT held by the caller; it rebuilds when an incremental catch-up
 * is impossible. store_faiss_save writes the file (writer only). */
odx_status store_faiss_load(store *s, odx_err *err);
odx_status store_faiss_sync(store *s, odx_err *err);
odx_status store_faiss_save(store *s, odx_err *err);
void store_faiss_free(store *s);

/* Files of FAISS indexes (store_faiss.c): our header, then FAISS's
 * payload, written to a temp file and renamed. STORE_FILE_FLAT is
 * vectors.faiss, STORE_FILE_ANN vectors.ivf (its header also carries aux:
 * the number of vectors it was trained on). store_index_read reports any
 * problem in why ("" when the file is simply missing) and sets *out only
 * for a file whose checksum, size, dimension and metric are right. */
enum { STORE_FILE_FLAT, STORE_FILE_ANN };
void store_index_read(store *s, int kind, FaissIndex **out, int64_t *gen, int64_t *aux,
                      char *why, size_t why_len);
/* idx_lock held (read). */
odx_status store_index_write(store *s, int kind, const FaissIndex *idx, int64_t gen,
                             int64_t aux, odx_err *err);
/* Adds to idx the vectors with from < gen <= to (training an untrained
 * index on all of them), removes from idx the ids tombstoned with
 * from < gen <= to. mu held, inside a read snapshot. */
odx_status store_faiss_add(store *s, FaissIndex *idx, int64_t from, int64_t to, odx_err *err);
odx_status store_faiss_remove(store *s, FaissIndex *idx, int64_t from, int64_t to,
                              odx_err *err);
/* The FAISS error just returned (frc) as an ODX_ERR_FAISS message. */
odx_status store_faiss_fail(odx_err *err, int frc, const char *what, const char *where);

/* ANN (store_ann.c). store_ann_load reads the file at open (before the
 * first sync). store_ann_sync_locked brings a loaded ANN index to gen
 * after the exact one got there (idx_lock write + mu held, inside the
 * sync's snapshot); one it cannot catch up is dropped with a warning.
 * store_ann_search_locked (idx_lock read) answers k <= ntotal from the
 * ANN index when the mode and size say so: true with k labels; false
 * when the caller must scan exactly (no usable index, or fewer than k
 * hits within the probed lists). store_ann_save writes the file when the
 * index moved since (writer; idx_lock NOT held). store_ann_reload (no
 * lock held) loads a newer file another process wrote. */
void store_ann_load(store *s);
/* Whether a search now would be answered by the ANN index (for k within
 * its probed lists). idx_lock held. */
bool store_ann_active_locked(const store *s);
void store_ann_sync_locked(store *s, int64_t gen, int64_t floor);
bool store_ann_search_locked(store *s, const float *q, idx_t k, float *dist, idx_t *lab);
odx_status store_ann_save(store *s, odx_err *err);
void store_ann_reload(store *s);
void store_ann_free(store *s);

/* Descriptions as content.desc_z holds them (store_desc.c). pack: json
 * (valid JSON, else ODX_ERR_INVALID) with the texts that are caption rows
 * of texts (the content's native rows, in id order) taken out, deflated;
 * *out (malloc'd) is written on success, with the "dhash" member of the
 * description parsed (hex). pack_raw: text kept whole and marked as not
 * JSON (a damaged row a migration met). unpack: the very bytes given to
 * pack, the rows put back from texts; ODX_ERR_CORRUPT for a damaged
 * record, one marked not JSON, or one naming a row texts lacks.
 * header_ok: the cheap test search makes per hit (magic, format, flags,
 * length); check and show unpack. */
#define STORE_DESC_MAX_BYTES (16 << 20)
odx_status store_desc_pack(const char *json, const store_text *texts, int n_texts,
                           unsigned char **out, size_t *out_len, bool *has_dhash,
                           uint64_t *dhash, odx_err *err);
odx_status store_desc_pack_raw(const char *text, size_t n, unsigned char **out, size_t *out_len,
                               odx_err *err);
odx_status store_desc_unpack(const void *blob, size_t len, const store_text *texts, int n_texts,
                             char **json, odx_err *err);
bool store_desc_header_ok(const void *blob, size_t len);

/* Remote embeddings (store_embed.c): store_embed_init after the schema
 * (a writer creates their tables), store_embed_free at close. */
odx_status store_embed_init(store *s, odx_err *err);
void store_embed_free(store *s);
/* store_check's look at them: rows of another model or dimension than
 * meta names, of the wrong size, not finite or not of unit length, of
 * content that is gone; an embed.vec whose header says it is current but
 * that does not read (checksum, size) or holds other vectors than the
 * table. One bad(ctx, what, detail) call per kind of problem. A stale
 * file is no problem: readers replace it from the table. */
void store_embed_check(store *s, void (*bad)(void *ctx, const char *what, const char *detail),
                       void *ctx);

/* Drops the lexical index (store_lex.c), at close; stops a warm-up. */
void store_lex_free(store *s);
/* store_terms_df by FTS5's vocabulary (fts5vocab scans each term's whole
 * doclist: milliseconds for a common word at 100k images); store_lex.c
 * answers from its index when the handle has one. Arguments checked. */
odx_status store_fts_terms_df(store *s, const char *const *terms, int n_terms, int64_t *df,
                              int64_t *n_docs, odx_err *err);
/* df[i] = the smallest fn(token) over term i's tokens (emb_tokenize, not
 * colocated; a phrase counts by its rarest token), 0 for a term without
 * tokens: store_terms_df's rule, whatever answers per token. */
typedef int64_t (*store_token_df_fn)(void *ctx, const char *tok, int len);
void store_min_token_df(const char *const *terms, int n_terms, store_token_df_fn fn,
                        void *ctx, int64_t *df);
/* Caption rows as max(id) (ids are never reused: an estimate once rows
 * were deleted); 0 when it cannot be read. s->mu held. */
int64_t store_caption_rows_locked(store *s);

/* Streaming 64-bit checksum used in the FAISS file header. */
typedef struct store_sum {
    uint64_t h;
    uint8_t tail[8];
    int n_tail;
    uint64_t n;
} store_sum;
void store_sum_init(store_sum *c);
void store_sum_update(store_sum *c, const void *p, size_t n);
uint64_t store_sum_final(store_sum *c);

#endif

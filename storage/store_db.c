/* store_db.c - opening and closing the store (with the cheap check on
 * open), batches (transactions) and statistics. The entry point of
 * storage/: everything else in the folder hangs off the store made here;
 * the SQL plumbing every file shares is store_sql.c. */
#include "storage_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* mkdir -p with mode 0755 for the parts that are missing. */
odx_status store_make_dirs(const char *dir, odx_err *err)
{
    odx_status rc = ODX_OK;
    char *p = core_strdup(dir);
    if (!p)
        return core_err(err, ODX_ERR_NOMEM, "out of memory");
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/')
        p[--n] = 0;
    for (char *q = p + 1;; q++) {
        bool last = *q == 0;
        if (*q == '/' || last) {
            char c = *q;
            *q = 0;
            if (mkdir(p, 0755) != 0 && errno != EEXIST) {
                rc = core_err_errno(err, ODX_ERR_IO, "creating directory '%s'", p);
                goto done;
            }
            *q = c;
        }
        if (last)
            break;
    }
    struct stat sb;
    if (stat(p, &sb) != 0 || !S_ISDIR(sb.st_mode))
        rc = core_err(err, ODX_ERR_IO, "'%s' is not a directory", p);
done:
    free(p);
    return rc;
}

odx_status store_open(const char *dir, bool read_only, store **out, odx_err *err)
{
    return store_open_ex(dir, read_only, 0, out, err);
}

/* OMNIDEX_DENSE: auto (the default), exact or ann. */
static int dense_mode_env(void)
{
    const char *e = getenv("OMNIDEX_DENSE");
    if (!e || !*e || strcmp(e, "auto") == 0)
        return STORE_DENSE_AUTO;
    if (strcmp(e, "exact") == 0)
        return STORE_DENSE_EXACT;
    if (strcmp(e, "ann") == 0)
        return STORE_DENSE_ANN;
    core_log(CORE_LOG_WARN, "OMNIDEX_DENSE='%s' is not auto, exact or ann: using auto", e);
    return STORE_DENSE_AUTO;
}

odx_status store_open_ex(const char *dir, bool read_only, int oflags, store **out,
                         odx_err *err)
{
    odx_status rc = ODX_OK;
    store *s = NULL;
    struct stat sb;

    if (!dir || !*dir || !out)
        return core_err(err, ODX_ERR_INVALID, "store_open: no directory given");
    if (read_only) {
        if (stat(dir, &sb) != 0)
            return core_err_errno(err, ODX_ERR_NOT_FOUND, "index directory '%s'", dir);
    } else if ((rc = store_make_dirs(dir, err)) != ODX_OK) {
        return rc;
    }

    s = calloc(1, sizeof *s);
    if (!s)
        return core_err(err, ODX_ERR_NOMEM, "out of memory");
    pthread_mutex_init(&s->mu, NULL);
    for (int i = 0; i < STORE_READ_LANES; i++)
        pthread_mutex_init(&s->lanes[i].mu, NULL);
    pthread_rwlock_init(&s->idx_lock, NULL);
    pthread_rwlock_init(&s->lex_lock, NULL);
    pthread_mutex_init(&s->ann_reload_mu, NULL);
    s->read_only = read_only;
    s->file_gen = -1;
    s->ann_file_gen = -1;
    s->dense_mode = dense_mode_env();
    s->dir = core_strdup(dir);
    s->db_path = core_sprintf("%s/%s", dir, STORE_DB_NAME);
    s->faiss_path = core_sprintf("%s/%s", dir, STORE_FAISS_NAME);
    s->ann_path = core_sprintf("%s/%s", dir, STORE_ANN_NAME);
    if (!s->dir || !s->db_path || !s->faiss_path || !s->ann_path) {
        rc = core_err(err, ODX_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (read_only && stat(s->db_path, &sb) != 0) {
        rc = core_err(err, ODX_ERR_NOT_FOUND, "no index in '%s' (no %s)", dir, STORE_DB_NAME);
        goto done;
    }

    /* FULLMUTEX: the HTTP server searches from many threads on one store. */
    int flags = SQLITE_OPEN_FULLMUTEX |
                (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    if (sqlite3_open_v2(s->db_path, &s->db, flags, NULL) != SQLITE_OK) {
        int code = s->db ? sqlite3_extended_errcode(s->db) : SQLITE_NOMEM;
        rc = core_err(err, store_sqlite_status(code), "opening '%s': %s%s", s->db_path,
                      s->db ? sqlite3_errmsg(s->db) : "out of memory", store_sqlite_hint(code));
        goto done;
    }
    sqlite3_busy_timeout(s->db, read_only ? STORE_READER_BUSY_TIMEOUT_MS : STORE_BUSY_TIMEOUT_MS);
    if (stat(s->db_path, &sb) == 0) {
        s->db_dev = sb.st_dev;
        s->db_ino = sb.st_ino;
    }
    /* A new database frees pages incrementally (store_compact) and has
     * STORE_PAGE_SIZE pages; both can only be chosen before the first
     * table. Harmless on an old one (WAL keeps its page size). */
    if (!read_only) {
        char ps[64];
        snprintf(ps, sizeof ps, "PRAGMA page_size=%d; PRAGMA auto_vacuum=INCREMENTAL",
                 STORE_PAGE_SIZE);
        if ((rc = store_exec(s, ps, err)) != ODX_OK)
            goto done;
    }
    if (!read_only && (rc = store_exec(s, "PRAGMA journal_mode=WAL", err)) != ODX_OK)
        goto done;
    if (!read_only) {
        char lim[64];
        snprintf(lim, sizeof lim, "PRAGMA journal_size_limit=%lld", STORE_WAL_LIMIT_BYTES);
        if ((rc = store_exec(s, lim, err)) != ODX_OK)
            goto done;
    }
    /* cell_size_check: a damaged b-tree cell is reported as SQLITE_CORRUPT
     * when its page is read, instead of being followed (a few % of reads). */
    if ((rc = store_exec(s, "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"
                            " PRAGMA cell_size_check=ON", err)) != ODX_OK)
        goto done;
    if ((rc = store_fts_register(s->db, err)) != ODX_OK)
        goto done;
    if ((rc = store_schema_init(s, err)) != ODX_OK ||
        (rc = store_embed_init(s, err)) != ODX_OK)
        goto done;
    if (!(oflags & STORE_OPEN_NO_QUICK_CHECK) && (rc = store_quick_check(s, err)) != ODX_OK)
        goto done;

    int64_t dim = 0;
    if ((rc = store_meta_int(s, "dim", 0, &dim, err)) != ODX_OK)
        goto done;
    if (dim <= 0 || dim > 65536) {
        rc = core_err(err, ODX_ERR_SCHEMA, "database '%s': bad dimension %" PRId64,
                      s->db_path, dim);
        goto done;
    }
    s->dim = (int)dim;
    char *factory = NULL;
    if ((rc = store_meta_get(s, "faiss_factory", &factory, err)) != ODX_OK)
        goto done;
    snprintf(s->factory, sizeof s->factory, "%s",
             factory && *factory ? factory : STORE_DEFAULT_FACTORY);
    free(factory);

    rc = store_faiss_load(s, err);
done:
    if (rc != ODX_OK) {
        /* Nothing to save: do not let store_close write a half-made file. */
        if (s)
            s->read_only = true;
        store_close(s);
        return rc;
    }
    *out = s;
    return ODX_OK;
}

void store_close(store *s)
{
    if (!s)
        return;
    if (s->in_txn)
        store_rollback(s);
    if (!s->read_only) {
        odx_err e = {0};
        if (store_ann_save(s, &e) != ODX_OK)
            core_log(CORE_LOG_WARN, "saving the ANN index on close: %s (it will be"
                                    " caught up on the next open)", e.msg);
    }
    if (!s->read_only && s->index && s->index_gen != s->file_gen) {
        odx_err e = {0};
        if (store_faiss_save(s, &e) != ODX_OK)
            core_log(CORE_LOG_WARN, "saving the FAISS index on close: %s (it will be"
                                    " caught up on the next open)", e.msg);
    }
    for (int i = 0; i < ST__COUNT; i++)
        sqlite3_finalize(s->stmt[i]);
    store_lanes_close(s);
    if (s->db)
        sqlite3_close_v2(s->db);
    store_faiss_free(s);
    store_ann_free(s);
    store_lex_free(s);
    store_embed_free(s);
    if (s->dh && s->dh_free)
        s->dh_free(s->dh);
    pthread_rwlock_destroy(&s->lex_lock);
    pthread_rwlock_destroy(&s->idx_lock);
    pthread_mutex_destroy(&s->mu);
    for (int i = 0; i < STORE_READ_LANES; i++)
        pthread_mutex_destroy(&s->lanes[i].mu);
    pthread_mutex_destroy(&s->ann_reload_mu);
    free(s->ann_path);
    free(s->dir);
    free(s->db_path);
    free(s->faiss_path);
    free(s);
}

/* ----------------------------------------------------------- batches ---- */

odx_status store_begin_locked(store *s, odx_err *err)
{
    if (s->read_only)
        return core_err(err, ODX_ERR_INVALID, "store '%s' is open read-only", s->dir);
    if (s->in_txn)
        return core_err(err, ODX_ERR_INVALID, "store_begin: a batch is already open");
    /* IMMEDIATE takes the write lock now, so busy_timeout covers the wait
     * instead of a later statement failing half-way through the batch. */
    odx_status rc = store_exec(s, "BEGIN IMMEDIATE", err);
    if (rc != ODX_OK)
        return rc;
    int64_t gen = 0;
    if ((rc = store_meta_int(s, "generation", 0, &gen, err)) != ODX_OK) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return rc;
    }
    s->in_txn = true;
    s->txn_vec_changed = false;
    s->txn_gen = gen + 1;
    return ODX_OK;
}

odx_status store_begin(store *s, odx_err *err)
{
    if (!s)
        return core_err(err, ODX_ERR_INVALID, "store_begin: no store");
    pthread_mutex_lock(&s->mu);
    odx_status rc = store_begin_locked(s, err);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

odx_status store_commit(store *s, odx_err *err)
{
    if (!s)
        return core_err(err, ODX_ERR_INVALID, "store_commit: no store");
    odx_status rc = ODX_OK;
    pthread_mutex_lock(&s->mu);
    if (!s->in_txn) {
        pthread_mutex_unlock(&s->mu);
        return core_err(err, ODX_ERR_INVALID, "store_commit: no batch is open");
    }
    bool changed = s->txn_vec_changed;
    /* The generation moves inside the transaction, so a reader sees the
     * new vectors and the new generation together or not at all. */
    if (changed)
        rc = store_meta_set_int(s, "generation", s->txn_gen, err);
    if (rc == ODX_OK)
        rc = store_exec(s, "COMMIT", err);
    if (rc != ODX_OK)
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    s->in_txn = false;
    s->txn_vec_changed = false;
    pthread_mutex_unlock(&s->mu);
    if (rc != ODX_OK)
        return rc;

    if (changed && (rc = store_faiss_sync(s, err)) != ODX_OK)
        return rc;
    /* index_gen may move under a concurrent store_refresh: read it locked. */
    pthread_rwlock_rdlock(&s->idx_lock);
    bool dirty = s->index_gen != s->file_gen;
    pthread_rwlock_unlock(&s->idx_lock);
    double every = STORE_SAVE_COST_RATIO * s->last_save_cost;
    if (every < STORE_SAVE_EVERY_S)
        every = STORE_SAVE_EVERY_S;
    if (dirty && core_now() - s->last_save >= every)
        rc = store_faiss_save(s, err);
    return rc;
}

void store_rollback(store *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    if (s->in_txn)
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    s->in_txn = false;
    s->txn_vec_changed = false;
    pthread_mutex_unlock(&s->mu);
}

odx_status store_save(store *s, odx_err *err)
{
    if (!s)
        return core_err(err, ODX_ERR_INVALID, "store_save: no store");
    if (s->read_only)
        return core_err(err, ODX_ERR_INVALID, "store '%s' is open read-only", s->dir);
    /* The ANN file first: tombstones are pruned only as far as both files
     * reach. */
    odx_status rc = store_ann_save(s, err);
    return rc == ODX_OK ? store_faiss_save(s, err) : rc;
}

/* ------------------------------------------------------------- stats ---- */

static int64_t file_bytes(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? (int64_t)sb.st_size : 0;
}

odx_status store_get_stats(store *s, store_stats *st, odx_err *err)
{
    if (!s || !st)
        return core_err(err, ODX_ERR_INVALID, "store_get_stats: bad arguments");
    static const char sql[] =
        "SELECT (SELECT count(*) FROM images WHERE status='ok'),"
        " (SELECT count(*) FROM images WHERE status='error'),"
        " (SELECT count(*) FROM content), (SELECT count(*) FROM vectors),"
        " (SELECT value FROM meta WHERE key='generation')";
    sqlite3_stmt *q = NULL;
    odx_status rc = ODX_OK;
    store_stats out = {0};
    if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK ||
        sqlite3_step(q) != SQLITE_ROW) {
        rc = store_db_err(s, err, "reading statistics");
        goto done;
    }
    out.n_images = sqlite3_column_int64(q, 0);
    out.n_errors = sqlite3_column_int64(q, 1);
    out.n_content = sqlite3_column_int64(q, 2);
    out.n_vectors = sqlite3_column_int64(q, 3);
    out.generation = sqlite3_column_int64(q, 4);
    pthread_rwlock_rdlock(&s->idx_lock);
    out.faiss_ntotal = s->index ? (int64_t)faiss_Index_ntotal(s->index) : 0;
    snprintf(out.dense_search, sizeof out.dense_search, "%s",
             store_ann_active_locked(s) ? "ivf" : "exact");
    if (s->ann) {
        out.ann_ntotal = (int64_t)faiss_Index_ntotal(s->ann);
        out.ann_nlist = (int64_t)s->ann_nlist;
        out.ann_nprobe = (int64_t)s->ann_nprobe;
    }
    pthread_rwlock_unlock(&s->idx_lock);
    out.ann_bytes = file_bytes(s->ann_path);
    char *wal = core_sprintf("%s-wal", s->db_path);
    out.db_bytes = file_bytes(s->db_path) + (wal ? file_bytes(wal) : 0);
    free(wal);
    out.faiss_bytes = file_bytes(s->faiss_path);
    store_waste w;
    if (store_waste_get(s, &w, NULL) == ODX_OK) {
        out.free_bytes = w.free_pages * w.page_size;
        out.n_tombstones = w.tombstones;
    }
    snprintf(out.index_type, sizeof out.index_type, "%s", s->factory);
    *st = out;
done:
    sqlite3_finalize(q);
    return rc;
}

/* ------------------------------------------------------ on open ---- */

/* The cheap check on open: PRAGMA quick_check (structure of every page,
 * not index-vs-table agreement) where it costs little: databases up to
 * STORE_QUICK_CHECK_*_BYTES, and for a writer on a bigger one at most once
 * per STORE_QUICK_CHECK_EVERY_S (recorded in meta.quick_check_at).
 * s->mu need not be held: called from store_open before the store is
 * shared. */
odx_status store_quick_check(store *s, odx_err *err)
{
    struct stat sb;
    int64_t bytes = stat(s->db_path, &sb) == 0 ? (int64_t)sb.st_size : 0;
    int64_t now = (int64_t)time(NULL), last = 0;
    bool small = bytes <= (s->read_only ? STORE_QUICK_CHECK_READER_BYTES
                                        : STORE_QUICK_CHECK_WRITER_BYTES);
    if (!small) {
        if (s->read_only)
            return ODX_OK;
        odx_status rc = store_meta_int(s, "quick_check_at", 0, &last, err);
        if (rc != ODX_OK)
            return rc;
        if (now - last < STORE_QUICK_CHECK_EVERY_S)
            return ODX_OK;
    }
    sqlite3_stmt *st = NULL;
    odx_status rc = ODX_OK;
    if (sqlite3_prepare_v2(s->db, "PRAGMA quick_check(1)", -1, &st, NULL) != SQLITE_OK)
        return store_db_err(s, err, "running quick_check");
    int r = sqlite3_step(st);
    if (r == SQLITE_ROW) {
        const char *m = (const char *)sqlite3_column_text(st, 0);
        if (!m || strcmp(m, "ok") != 0)
            rc = core_err(err, ODX_ERR_CORRUPT,
                          "database '%s' is damaged (quick_check: %.200s): run 'omnidex check'",
                          s->db_path, m ? m : "?");
    } else {
        rc = store_db_err(s, err, "running quick_check");
    }
    sqlite3_finalize(st);
    if (rc == ODX_OK && !small)
        rc = store_meta_set_int(s, "quick_check_at", now, err);
    return rc;
}

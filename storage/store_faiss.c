/* store_faiss.c - the FAISS side of the store: the in-memory exact index,
 * its file (store_faiss_file.c writes and reads it), keeping it and the
 * ANN index (store_ann.c) in step with the vectors/tombstones tables,
 * which are the truth, and dense search. */
#include "storage_int.h"

#include <faiss/c_api/error_c.h>
#include <faiss/c_api/impl/AuxIndexStructures_c.h>
#include <faiss/c_api/index_factory_c.h>
#include <faiss/c_api/index_io_c.h>
#include <faiss/c_api/IndexFlat_c.h>
#include <faiss/c_api/MetaIndexes_c.h>

#include <cblas.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ----------------------------------------------------------- helpers ---- */

static odx_status new_index(store *s, FaissIndex **out, odx_err *err)
{
    FaissIndex *idx = NULL;
    int frc = faiss_index_factory(&idx, s->dim, s->factory, METRIC_INNER_PRODUCT);
    if (frc != 0 || !idx)
        return store_faiss_fail(err, frc, "creating FAISS index", s->factory);
    *out = idx;
    return ODX_OK;
}

void store_faiss_free(store *s)
{
    if (s && s->index) {
        faiss_Index_free(s->index);
        s->index = NULL;
    }
}

/* ----------------------------------------------------- sync with SQL ---- */

/* idx_lock (write) and mu held, inside a read snapshot. */
static odx_status rebuild_locked(store *s, int64_t gen, odx_err *err)
{
    FaissIndex *idx = NULL;
    odx_status rc = new_index(s, &idx, err);
    if (rc != ODX_OK)
        return rc;
    if ((rc = store_faiss_add(s, idx, INT64_MIN, gen, err)) != ODX_OK) {
        faiss_Index_free(idx);
        return rc;
    }
    store_faiss_free(s);
    s->index = idx;
    s->index_gen = gen;
    return ODX_OK;
}

static odx_status sync_locked(store *s, odx_err *err)
{
    odx_status rc = ODX_OK;
    /* A snapshot, so the generation and the rows read agree even while
     * another process commits. Inside the writer's own batch the batch is
     * the snapshot; its uncommitted rows are above meta.generation. */
    bool own_read = !s->in_txn;
    if (own_read && (rc = store_exec(s, "BEGIN", err)) != ODX_OK)
        return rc;
    int64_t gen = 0, floor = 0;
    if ((rc = store_meta_int(s, "generation", 0, &gen, err)) != ODX_OK ||
        (rc = store_meta_int(s, "tomb_floor", 0, &floor, err)) != ODX_OK)
        goto done;
    if (s->index && s->index_gen == gen)
        goto done;
    bool incremental = s->index && s->index_gen < gen && s->index_gen >= floor &&
                       faiss_Index_is_trained(s->index);
    if (incremental) {
        odx_err e = {0};
        if (store_faiss_remove(s, s->index, s->index_gen, gen, &e) == ODX_OK &&
            store_faiss_add(s, s->index, s->index_gen, gen, &e) == ODX_OK) {
            s->index_gen = gen;
            goto done;
        }
        /* Half-applied: the index can no longer be trusted. */
        core_log(CORE_LOG_WARN, "FAISS catch-up failed (%s): rebuilding", e.msg);
        store_faiss_free(s);
    }
    rc = rebuild_locked(s, gen, err);
done:
    if (rc == ODX_OK)
        store_ann_sync_locked(s, gen, floor);
    if (own_read)
        sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
    return rc;
}

odx_status store_faiss_sync(store *s, odx_err *err)
{
    pthread_rwlock_wrlock(&s->idx_lock);
    pthread_mutex_lock(&s->mu);
    odx_status rc = sync_locked(s, err);
    pthread_mutex_unlock(&s->mu);
    pthread_rwlock_unlock(&s->idx_lock);
    return rc;
}

odx_status store_faiss_load(store *s, odx_err *err)
{
    char why[256];
    int64_t gen = -1;
    FaissIndex *idx = NULL;
    odx_status rc = ODX_OK;
    s->last_save = core_now();
    store_ann_load(s);
    store_index_read(s, STORE_FILE_FLAT, &idx, &gen, NULL, why, sizeof why);
    if (idx) {
        s->index = idx;
        s->index_gen = gen;
        s->file_gen = gen;
    } else if (why[0]) {
        core_log(CORE_LOG_WARN, "FAISS file '%s' unusable (%s): rebuilding from the database",
                 s->faiss_path, why);
        snprintf(s->faiss_note, sizeof s->faiss_note, "unusable (%.200s)", why);
    }
    if ((rc = store_faiss_sync(s, err)) != ODX_OK)
        return rc;
    /* A file that claims more than the database holds (a restored backup
     * of one but not the other) shows up as a count mismatch. */
    pthread_rwlock_wrlock(&s->idx_lock);
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, "SELECT count(*) FROM vectors WHERE gen <= ?1", -1, &st,
                           NULL) != SQLITE_OK) {
        rc = store_db_err(s, err, "counting vectors");
    } else {
        sqlite3_bind_int64(st, 1, s->index_gen);
        if (sqlite3_step(st) != SQLITE_ROW) {
            rc = store_db_err(s, err, "counting vectors");
        } else if (!s->index ||
                   sqlite3_column_int64(st, 0) != (int64_t)faiss_Index_ntotal(s->index)) {
            sqlite3_finalize(st);
            st = NULL;
            if (s->index) {
                core_log(CORE_LOG_WARN, "FAISS index '%s' disagrees with the database:"
                                        " rebuilding", s->faiss_path);
                snprintf(s->faiss_note, sizeof s->faiss_note,
                         "holds another number of vectors than the database");
            }
            store_faiss_free(s);
            s->file_gen = -1; /* the file is wrong too: save the rebuilt index */
            rc = sync_locked(s, err);
        }
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    pthread_rwlock_unlock(&s->idx_lock);
    if (rc == ODX_OK && !s->read_only && s->file_gen < 0)
        rc = store_faiss_save(s, err);
    return rc;
}

/* -------------------------------------------------------------- save ---- */

/* Tombstones already in the saved file, and far enough behind the current
 * generation, are dropped; tomb_floor tells readers older than that to
 * rebuild rather than catch up. Best effort: a failure only costs space. */
static void prune_tombstones(store *s, int64_t saved_gen)
{
    pthread_rwlock_rdlock(&s->idx_lock); /* before mu (lock order) */
    int64_t ann_file_gen = s->ann ? s->ann_file_gen : -1;
    pthread_rwlock_unlock(&s->idx_lock);
    pthread_mutex_lock(&s->mu);
    int64_t gen = 0, floor = 0;
    odx_err e = {0};
    if (s->in_txn || store_meta_int(s, "generation", 0, &gen, &e) != ODX_OK ||
        store_meta_int(s, "tomb_floor", 0, &floor, &e) != ODX_OK)
        goto done;
    int64_t bound = saved_gen < gen - STORE_TOMB_KEEP_GENS ? saved_gen
                                                           : gen - STORE_TOMB_KEEP_GENS;
    /* The ANN file this writer keeps must stay within reach too (it is
     * saved at the end of a run, less often than vectors.faiss). */
    if (ann_file_gen >= 0 && ann_file_gen < bound)
        bound = ann_file_gen;
    if (bound <= floor)
        goto done;
    char sql[160];
    snprintf(sql, sizeof sql,
             "BEGIN IMMEDIATE; DELETE FROM tombstones WHERE gen <= %" PRId64 ";", bound);
    if (store_exec(s, sql, &e) != ODX_OK || store_meta_set_int(s, "tomb_floor", bound, &e) != ODX_OK ||
        store_exec(s, "COMMIT", &e) != ODX_OK) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        core_log(CORE_LOG_DEBUG, "pruning tombstones: %s", e.msg);
    }
done:
    pthread_mutex_unlock(&s->mu);
}

odx_status store_faiss_save(store *s, odx_err *err)
{
    if (s->read_only)
        return core_err(err, ODX_ERR_INVALID, "store '%s' is open read-only", s->dir);
    int64_t saved = -1;
    odx_status rc = ODX_OK;
    double t0 = core_now();
    pthread_rwlock_rdlock(&s->idx_lock);
    if (!s->index) {
        rc = core_err(err, ODX_ERR_FAISS, "no FAISS index to save in '%s'", s->dir);
    } else {
        saved = s->index_gen;
        rc = store_index_write(s, STORE_FILE_FLAT, s->index, saved, 0, err);
    }
    pthread_rwlock_unlock(&s->idx_lock);
    if (rc != ODX_OK)
        return rc;
    s->file_gen = saved;
    s->last_save = core_now();
    s->last_save_cost = s->last_save - t0;
    prune_tombstones(s, saved);
    return ODX_OK;
}

/* ----------------------------------------------------------- reading ---- */

odx_status store_refresh(store *s, odx_err *err)
{
    if (!s)
        return core_err(err, ODX_ERR_INVALID, "store_refresh: no store");
    int64_t gen = 0;
    pthread_mutex_lock(&s->mu);
    odx_status rc = store_meta_int(s, "generation", 0, &gen, err);
    pthread_mutex_unlock(&s->mu);
    if (rc != ODX_OK)
        return rc;
    if (s->read_only)
        store_ann_reload(s);
    pthread_rwlock_rdlock(&s->idx_lock);
    bool current = s->index && s->index_gen == gen && (!s->ann || s->ann_gen == gen);
    pthread_rwlock_unlock(&s->idx_lock);
    return current ? ODX_OK : store_faiss_sync(s, err);
}

/* One query against an IDMap2,Flat index scanned with OpenBLAS sgemv
 * instead of FAISS's per-vector loop (Debian's FAISS has no AVX kernels and
 * runs one query on one thread; FACTS.md). Same results: exact inner
 * products, best first. Returns false when the index is of another type. */
typedef struct heap_item {
    float v;
    idx_t id;
} heap_item;

static void heap_down(heap_item *h, int n, int i)
{
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && h[l].v < h[m].v)
            m = l;
        if (r < n && h[r].v < h[m].v)
            m = r;
        if (m == i)
            return;
        heap_item t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

static int cmp_item_desc(const void *a, const void *b)
{
    const heap_item *x = a, *y = b;
    if (x->v != y->v)
        return x->v < y->v ? 1 : -1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static bool flat_scan(store *s, const float *q, idx_t k, float *dist, idx_t *lab)
{
    FaissIndexIDMap2 *m = faiss_IndexIDMap2_cast(s->index);
    if (!m)
        return false;
    FaissIndexFlat *f = faiss_IndexFlat_cast(faiss_IndexIDMap2_sub_index(m));
    if (!f)
        return false;
    float *xb = NULL;
    size_t n_floats = 0, n_ids = 0;
    idx_t *ids = NULL;
    faiss_IndexFlat_xb(f, &xb, &n_floats);
    faiss_IndexIDMap2_id_map(m, &ids, &n_ids);
    size_t n = n_floats / (size_t)s->dim;
    if (n != n_ids || n == 0 || n > (size_t)INT32_MAX)
        return false;
    float *sc = malloc(sizeof(float) * n);
    heap_item *h = malloc(sizeof *h * (size_t)k);
    if (!sc || !h) {
        free(sc);
        free(h);
        return false;
    }
    cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)n, s->dim, 1.0f, xb, s->dim, q, 1, 0.0f,
                sc, 1);
    int hn = 0;
    for (size_t i = 0; i < n; i++) {
        if (hn < k) {
            h[hn++] = (heap_item){sc[i], ids[i]};
            if (hn == k)
                for (int j = hn / 2 - 1; j >= 0; j--)
                    heap_down(h, hn, j);
        } else if (sc[i] > h[0].v) {
            h[0] = (heap_item){sc[i], ids[i]};
            heap_down(h, hn, 0);
        }
    }
    qsort(h, (size_t)hn, sizeof *h, cmp_item_desc);
    for (idx_t i = 0; i < k; i++) {
        dist[i] = i < hn ? h[i].v : -INFINITY;
        lab[i] = i < hn ? h[i].id : -1;
    }
    free(sc);
    free(h);
    return true;
}

odx_status store_dense_search(store *s, const float *q, int k, store_hit **hits, int *n,
                              odx_err *err)
{
    if (!s || !q || !hits || !n || k <= 0)
        return core_err(err, ODX_ERR_INVALID, "store_dense_search: bad arguments");
    for (int i = 0; i < s->dim; i++)
        if (!isfinite(q[i]))
            return core_err(err, ODX_ERR_INVALID, "store_dense_search: query not finite");
    if (k > STORE_MAX_K)
        k = STORE_MAX_K;
    odx_status rc = ODX_OK;
    float *dist = malloc(sizeof(float) * (size_t)k);
    idx_t *lab = malloc(sizeof(idx_t) * (size_t)k);
    store_hit *h = NULL;
    int n_h = 0;
    if (!dist || !lab) {
        rc = core_err(err, ODX_ERR_NOMEM, "out of memory");
        goto done;
    }
    pthread_rwlock_rdlock(&s->idx_lock);
    idx_t kk = 0;
    if (!s->index) {
        rc = core_err(err, ODX_ERR_FAISS, "FAISS index of '%s' is unavailable", s->dir);
    } else {
        idx_t nt = faiss_Index_ntotal(s->index);
        kk = nt < k ? nt : k;
        /* The ANN index when it answers (size, mode, enough hits in the
         * probed lists), else every vector. */
        int frc = kk > 0 && !store_ann_search_locked(s, q, kk, dist, lab) &&
                          !flat_scan(s, q, kk, dist, lab)
                      ? faiss_Index_search(s->index, 1, q, kk, dist, lab)
                      : 0;
        if (frc != 0)
            rc = store_faiss_fail(err, frc, "searching FAISS index of", s->dir);
    }
    pthread_rwlock_unlock(&s->idx_lock);
    if (rc != ODX_OK)
        goto done;
    if (kk > 0 && !(h = calloc((size_t)kk, sizeof *h))) {
        rc = core_err(err, ODX_ERR_NOMEM, "out of memory");
        goto done;
    }
    store_rd rd;
    store_rd_begin(s, &rd);
    for (idx_t i = 0; i < kk; i++) {
        if (lab[i] < 0)
            continue;
        sqlite3_stmt *st = store_rd_stmt(&rd, ST_VEC_LOOKUP, err);
        if (!st) {
            rc = store_rd_status(&rd);
            break;
        }
        sqlite3_bind_int64(st, 1, lab[i]);
        int r = sqlite3_step(st);
        if (r == SQLITE_ROW) {
            /* A vector deleted since the last refresh simply drops out. */
            const char *hash = (const char *)sqlite3_column_text(st, 0);
            const char *field = (const char *)sqlite3_column_text(st, 1);
            store_hit *x = &h[n_h++];
            snprintf(x->hash, sizeof x->hash, "%s", hash ? hash : "");
            snprintf(x->field, sizeof x->field, "%s", field ? field : "");
            x->score = dist[i];
        } else if (r != SQLITE_DONE) {
            rc = store_rd_err(&rd, err, "mapping vector ids");
        }
        sqlite3_reset(st);
        if (rc != ODX_OK)
            break;
    }
    store_rd_end(&rd);
done:
    free(dist);
    free(lab);
    if (rc != ODX_OK) {
        free(h);
        return rc;
    }
    *hits = h;
    *n = n_h;
    return ODX_OK;
}

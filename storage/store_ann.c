/* store_ann.c - dense search chosen by size: the ANN index (IVF-Flat over
 * inner product, file vectors.ivf) beside the exact IDMap2,Flat index of
 * store_faiss.c, over the same vectors. Trained by the writer at the end
 * of an index run once the collection is past the threshold or has grown
 * by a factor since the last training, nprobe tuned on the collection;
 * caught up like the exact index between trainings; never trusted when it
 * cannot be (missing, damaged or stale means exact search). */
#include "storage_int.h"

#include <faiss/c_api/IndexFlat_c.h>
#include <faiss/c_api/MetaIndexes_c.h>
#include <faiss/c_api/error_c.h>

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* IVF rather than HNSW: HNSW cannot remove ids (our deletes and replaced
 * contents are tombstones applied with remove_ids), and FACTS.md measured
 * it at 422 s to build over 1M x 384 with R@10 0.75-0.91, against IVF4096
 * at 77 s and R@10 1.0. The numbers below are bench_query's (see
 * docs/ARCHITECTURE.md, "Dense search chosen by size").
 * min_vectors: exact p50 (k=100) is 4.4-6.4 ms at 20k vectors, 12.4 ms at
 * 50k; at 20k (the caption index of 10k images) the tuned IVF (10 of 141
 * lists) gave text queries dense recall@10 0.954 and needed 4x that nprobe
 * for 0.99 (2.2 ms): too little gain for the training and the margin.
 * From 50k the IVF is 10x+ faster, and at 200k caption vectors the tuned
 * one gave recall@10 0.997. */
const store_ann_params store_ann_defaults = {
    .min_vectors = 50000,
    .regrow = 2.0,
    .lists_per_sqrt = 1.0,
    .min_lists = 16,
    .max_lists = 8192,
    .train_per_list = 40,
    .niter = 10,
    .tune_queries = 200,
    .tune_k = 100,
    .tune_recall = 0.97,
    .tune_mask = 2,
    .max_probe_share = 0.25,
};

#define ADD_CHUNK 65536
/* Two float inner products of the same pair may differ in the last bits
 * (sgemm in the exact index, a dot product in the lists). */
#define SCORE_EPS 1e-5f

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void file_identity(const char *path, dev_t *dev, ino_t *ino, int64_t *mtime_ns)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        *dev = 0;
        *ino = 0;
        *mtime_ns = -1;
        return;
    }
    *dev = sb.st_dev;
    *ino = sb.st_ino;
    *mtime_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
}

void store_ann_free(store *s)
{
    if (s && s->ann) {
        faiss_Index_free(s->ann);
        s->ann = NULL;
    }
}

/* The index could not be kept: searches go exact. A writer removes the
 * file too, so readers stop loading it and the next run trains anew.
 * idx_lock held (write). */
static void drop(store *s, const char *why)
{
    core_log(CORE_LOG_WARN, "ANN index of '%s' %s: exact dense search until the next index"
                            " run rebuilds it", s->dir, why);
    snprintf(s->ann_note, sizeof s->ann_note, "%s", why);
    store_ann_free(s);
    if (!s->read_only && unlink(s->ann_path) == 0)
        s->ann_file_gen = -1;
}

/* ---------------------------------------------------------- loading ---- */

/* Reads the file into *out; false (why set, "" when missing) when it is
 * unusable. */
static bool read_ann(store *s, FaissIndex **out, int64_t *gen, int64_t *trained_n,
                     size_t *nlist, size_t *nprobe, char *why, size_t why_len)
{
    FaissIndex *idx = NULL;
    store_index_read(s, STORE_FILE_ANN, &idx, gen, trained_n, why, why_len);
    if (!idx)
        return false;
    if (store_ivf_info(idx, nlist, nprobe) != 0 || *nprobe == 0) {
        snprintf(why, why_len, "not a trained IVF index");
        faiss_Index_free(idx);
        return false;
    }
    *out = idx;
    return true;
}

void store_ann_load(store *s)
{
    if (s->dense_mode == STORE_DENSE_EXACT)
        return;
    char why[200];
    FaissIndex *idx = NULL;
    int64_t gen = -1, tn = 0;
    size_t nlist = 0, nprobe = 0;
    file_identity(s->ann_path, &s->ann_dev, &s->ann_ino, &s->ann_mtime_ns);
    if (!read_ann(s, &idx, &gen, &tn, &nlist, &nprobe, why, sizeof why)) {
        if (why[0]) {
            core_log(CORE_LOG_WARN, "ANN file '%s' unusable (%s): exact dense search until"
                                    " the next index run rebuilds it", s->ann_path, why);
            snprintf(s->ann_note, sizeof s->ann_note, "unusable (%s)", why);
        }
        return;
    }
    s->ann = idx;
    s->ann_gen = s->ann_file_gen = gen;
    s->ann_trained_n = tn;
    s->ann_nlist = nlist;
    s->ann_nprobe = nprobe;
}

void store_ann_reload(store *s)
{
    if (s->dense_mode == STORE_DENSE_EXACT || pthread_mutex_trylock(&s->ann_reload_mu) != 0)
        return; /* another thread is loading it */
    dev_t dev;
    ino_t ino;
    int64_t mt;
    file_identity(s->ann_path, &dev, &ino, &mt);
    if (mt < 0 || (dev == s->ann_dev && ino == s->ann_ino && mt == s->ann_mtime_ns))
        goto done; /* none (keep ours: it is caught up or drops itself), or the same */
    s->ann_dev = dev;
    s->ann_ino = ino;
    s->ann_mtime_ns = mt;
    /* Read without the index lock: searches go on with what is loaded. */
    char why[256];
    FaissIndex *idx = NULL;
    int64_t gen = -1, tn = 0;
    size_t nlist = 0, nprobe = 0;
    if (!read_ann(s, &idx, &gen, &tn, &nlist, &nprobe, why, sizeof why)) {
        if (why[0])
            core_log(CORE_LOG_WARN, "ANN file '%s' unusable (%s): keeping the loaded one",
                     s->ann_path, why);
        goto done;
    }
    pthread_rwlock_wrlock(&s->idx_lock);
    store_ann_free(s);
    s->ann = idx;
    s->ann_gen = s->ann_file_gen = gen;
    s->ann_trained_n = tn;
    s->ann_nlist = nlist;
    s->ann_nprobe = nprobe;
    s->ann_note[0] = 0;
    pthread_rwlock_unlock(&s->idx_lock);
    core_log(CORE_LOG_DEBUG, "loaded the newer ANN file '%s' (generation %" PRId64 ")",
             s->ann_path, gen);
done:
    pthread_mutex_unlock(&s->ann_reload_mu);
}

/* ------------------------------------------------------- keeping up ---- */

void store_ann_sync_locked(store *s, int64_t gen, int64_t floor)
{
    if (!s->ann)
        return;
    char why[200];
    if (s->ann_gen != gen) {
        if (s->ann_gen > gen || s->ann_gen < floor) {
            snprintf(why, sizeof why,
                     "is at generation %" PRId64 " and cannot be caught up to %" PRId64
                     " (tombstones pruned, or a database older than the file)",
                     s->ann_gen, gen);
            drop(s, why);
            return;
        }
        odx_err e = {0};
        if (store_faiss_remove(s, s->ann, s->ann_gen, gen, &e) != ODX_OK ||
            store_faiss_add(s, s->ann, s->ann_gen, gen, &e) != ODX_OK) {
            snprintf(why, sizeof why, "could not be caught up (%.160s)", e.msg);
            drop(s, why);
            return;
        }
        s->ann_gen = gen;
    }
    /* Both indexes at one generation hold the same vectors: a count that
     * differs means a file that does not belong to this database. */
    if (!s->index || faiss_Index_ntotal(s->ann) != faiss_Index_ntotal(s->index)) {
        snprintf(why, sizeof why, "holds %" PRId64 " vectors where the exact index holds %" PRId64,
                 (int64_t)faiss_Index_ntotal(s->ann),
                 s->index ? (int64_t)faiss_Index_ntotal(s->index) : 0);
        drop(s, why);
    }
}

/* ---------------------------------------------------------- search ---- */

bool store_ann_active_locked(const store *s)
{
    if (!s->ann || !s->index || s->ann_gen != s->index_gen ||
        s->dense_mode == STORE_DENSE_EXACT)
        return false;
    return s->dense_mode == STORE_DENSE_ANN ||
           faiss_Index_ntotal(s->index) >= store_ann_defaults.min_vectors;
}

typedef struct hit_pair {
    float v;
    idx_t id;
} hit_pair;

static int cmp_pair(const void *a, const void *b)
{
    const hit_pair *x = a, *y = b;
    if (x->v != y->v)
        return x->v < y->v ? 1 : -1;
    return x->id < y->id ? -1 : x->id > y->id;
}

bool store_ann_search_locked(store *s, const float *q, idx_t k, float *dist, idx_t *lab)
{
    if (!store_ann_active_locked(s))
        return false;
    /* nprobe was tuned for tune_k hits; a deeper fetch (the retriever
     * widening for filters) probes proportionally more lists. */
    idx_t tk = store_ann_defaults.tune_k;
    size_t np = s->ann_nprobe * (size_t)(k > tk ? (k + tk - 1) / tk : 1);
    if (np > s->ann_nlist)
        np = s->ann_nlist;
    int frc = store_ivf_search(s->ann, 1, q, k, np, dist, lab);
    if (frc != 0) {
        const char *m = frc == -2 ? faiss_get_last_error() : NULL;
        core_log(CORE_LOG_WARN, "ANN search of '%s' failed (%s): searching exactly", s->dir,
                 m ? m : "not an IVF index");
        return false;
    }
    /* Fewer than k vectors in the probed lists: the exact scan answers,
     * so a caller that asked for k never gets fewer than the index has. */
    for (idx_t i = 0; i < k; i++)
        if (lab[i] < 0)
            return false;
    /* Equal scores in the exact scan's order (by id). */
    hit_pair stackbuf[128];
    hit_pair *hp = k <= 128 ? stackbuf : malloc(sizeof *hp * (size_t)k);
    if (!hp)
        return true; /* already best first; only ties keep FAISS's order */
    for (idx_t i = 0; i < k; i++)
        hp[i] = (hit_pair){dist[i], lab[i]};
    qsort(hp, (size_t)k, sizeof *hp, cmp_pair);
    for (idx_t i = 0; i < k; i++) {
        dist[i] = hp[i].v;
        lab[i] = hp[i].id;
    }
    if (hp != stackbuf)
        free(hp);
    return true;
}

/* ------------------------------------------------------------ save ---- */

odx_status store_ann_save(store *s, odx_err *err)
{
    if (s->read_only)
        return ODX_OK;
    odx_status rc = ODX_OK;
    int64_t gen = -1;
    pthread_rwlock_rdlock(&s->idx_lock);
    if (s->ann && s->ann_gen != s->ann_file_gen) {
        gen = s->ann_gen;
        rc = store_index_write(s, STORE_FILE_ANN, s->ann, gen, s->ann_trained_n, err);
    }
    pthread_rwlock_unlock(&s->idx_lock);
    if (rc == ODX_OK && gen >= 0) {
        pthread_rwlock_wrlock(&s->idx_lock);
        s->ann_file_gen = gen;
        file_identity(s->ann_path, &s->ann_dev, &s->ann_ino, &s->ann_mtime_ns);
        pthread_rwlock_unlock(&s->idx_lock);
    }
    return rc;
}

/* ---------------------------------------------------------- training ---- */

/* Tie-aware recall of ann against exact for query j: the share of ann's
 * first kk hits (the query's own id left out of both lists) that score at
 * least exact's kk-th. Equal vectors (copies) make ids a poor measure. */
static double recall_of(const float *ed, const idx_t *el, const float *ad, const idx_t *al,
                        int kk1, int kk, idx_t self)
{
    float thr = -INFINITY;
    for (int i = 0, got = 0; i < kk1 && got < kk; i++)
        if (el[i] >= 0 && el[i] != self && ++got == kk)
            thr = ed[i];
    int hit = 0, got = 0;
    for (int i = 0; i < kk1 && got < kk; i++) {
        if (al[i] < 0 || al[i] == self)
            continue;
        got++;
        hit += ad[i] >= thr - SCORE_EPS;
    }
    return (double)hit / kk;
}

/* The smallest nprobe whose recall@tune_k against the exact index reaches
 * tune_recall (0 when none up to max_probe_share of the lists does), over
 * queries made from sampled database vectors with half of their
 * coordinates zeroed. Zeroing 7 of 8 made dense synthetic vectors (1M,
 * 1000 lists) need hundreds of lists: the queries were noise. Whole database vectors as queries
 * (their own id left out) overestimate: on bench_query's caption index
 * (20k vectors) the nprobe they chose (7 of 141 lists) gave text queries a
 * recall@100 of 0.877 and @10 of 0.948. A short text query shares only
 * some features of the captions it should find, which masking imitates.
 * idx_lock held (read). */
static odx_status tune(store *s, const store_ann_params *p, FaissIndex *ivf, size_t nlist,
                       const float *xb, size_t n, size_t *nprobe,
                       double *r_k, double *r_10, odx_err *err)
{
    odx_status rc = ODX_OK;
    int nq = p->tune_queries < (int)n ? p->tune_queries : (int)n;
    int kk = p->tune_k < (int)n - 1 ? p->tune_k : (int)n - 1;
    *nprobe = nlist;
    *r_k = *r_10 = 1;
    if (nq < 1 || kk < 1)
        return ODX_OK;
    int kk1 = kk + 1, k10 = kk < 10 ? kk : 10;
    size_t dim = (size_t)s->dim, cells = (size_t)nq * (size_t)kk1;
    float *qx = malloc(sizeof(float) * dim * (size_t)nq);
    idx_t *qid = malloc(sizeof(idx_t) * (size_t)nq);
    float *ed = malloc(sizeof(float) * cells), *ad = malloc(sizeof(float) * cells);
    idx_t *el = malloc(sizeof(idx_t) * cells), *al = malloc(sizeof(idx_t) * cells);
    if (!qx || !qid || !ed || !ad || !el || !al) {
        rc = core_err(err, ODX_ERR_NOMEM, "out of memory tuning the ANN index");
        goto done;
    }
    uint64_t seed = 0x51ab1e5ULL;
    for (int j = 0; j < nq; j++) {
        size_t r = (size_t)(splitmix(&seed) % n);
        float *qj = qx + (size_t)j * dim;
        double norm = 0;
        for (size_t i = 0; i < dim; i++) {
            qj[i] = splitmix(&seed) % (uint64_t)p->tune_mask == 0 ? xb[r * dim + i] : 0.0f;
            norm += (double)qj[i] * qj[i];
        }
        if (norm <= 0) { /* all zeroed: the whole vector */
            memcpy(qj, xb + r * dim, sizeof(float) * dim);
            norm = 1;
        }
        for (size_t i = 0; i < dim; i++)
            qj[i] = (float)(qj[i] / sqrt(norm));
        qid[j] = -1; /* not a database vector: nothing to leave out */
    }
    int frc = faiss_Index_search(s->index, nq, qx, kk1, ed, el);
    if (frc != 0) {
        rc = store_faiss_fail(err, frc, "searching the exact index of", s->dir);
        goto done;
    }
    /* Doubling, then bisection between the last two tries. */
    size_t lo = 0, hi = 0, np = 1;
    size_t limit = (size_t)(p->max_probe_share * (double)nlist);
    if (limit < 1)
        limit = 1;
    if (limit > nlist)
        limit = nlist;
    double rec_hi = 1, rec10_hi = 1;
    for (;;) {
        if ((frc = store_ivf_search(ivf, nq, qx, kk1, np, ad, al)) != 0) {
            rc = store_faiss_fail(err, frc, "tuning the ANN index of", s->dir);
            goto done;
        }
        double rec = 0, rec10 = 0;
        for (int j = 0; j < nq; j++) {
            size_t o = (size_t)j * (size_t)kk1;
            rec += recall_of(ed + o, el + o, ad + o, al + o, kk1, kk, qid[j]);
            rec10 += recall_of(ed + o, el + o, ad + o, al + o, kk1, k10, qid[j]);
        }
        rec /= nq;
        rec10 /= nq;
        if (rec >= p->tune_recall) {
            hi = np;
            rec_hi = rec;
            rec10_hi = rec10;
        } else {
            lo = np;
        }
        if (hi == 0 && lo >= limit) { /* not within the share: no IVF */
            *nprobe = 0;
            *r_k = rec;
            *r_10 = rec10;
            goto done;
        }
        if (hi == 0)
            np = np * 2 < limit ? np * 2 : limit;
        else if (hi - lo <= 1)
            break;
        else
            np = lo + (hi - lo) / 2;
    }
    *nprobe = hi;
    *r_k = rec_hi;
    *r_10 = rec10_hi;
done:
    free(qx);
    free(qid);
    free(ed);
    free(ad);
    free(el);
    free(al);
    return rc;
}

odx_status store_ann_update_with(store *s, const store_ann_params *p, bool force, bool *did,
                                 odx_err *err)
{
    if (did)
        *did = false;
    if (!s || !p)
        return core_err(err, ODX_ERR_INVALID, "store_ann_update: bad arguments");
    if (s->read_only)
        return core_err(err, ODX_ERR_INVALID, "store '%s' is open read-only", s->dir);
    if (s->in_txn)
        return core_err(err, ODX_ERR_INVALID, "store_ann_update: a batch is open");
    if (s->dense_mode == STORE_DENSE_EXACT)
        return ODX_OK;
    odx_status rc = ODX_OK;
    FaissIndex *ivf = NULL;
    float *train = NULL;
    double t0 = core_now(), t_train = 0, r_k = 0, r_10 = 0;
    size_t nprobe = 1;
    /* A collection on which no IVF paid (tune found no nprobe within
     * max_probe_share) is tried again only after growing or shrinking by
     * the factor: a no-change run must stay cheap. */
    char *refused_s = NULL;
    if ((rc = store_meta_get(s, "ann_refused_n", &refused_s, err)) != ODX_OK)
        return rc;
    double refused = refused_s ? atof(refused_s) : 0;
    free(refused_s);
    pthread_rwlock_rdlock(&s->idx_lock);
    size_t n = s->index ? (size_t)faiss_Index_ntotal(s->index) : 0;
    int64_t gen = s->index_gen;
    double tn = (double)s->ann_trained_n;
    bool due = force ? n >= (size_t)p->train_per_list
                     : (int64_t)n >= p->min_vectors &&
                           (!s->ann || (double)n >= tn * p->regrow || (double)n * p->regrow <= tn) &&
                           (s->ann || refused <= 0 || (double)n >= refused * p->regrow ||
                            (double)n * p->regrow <= refused);
    FaissIndexIDMap2 *m = due ? faiss_IndexIDMap2_cast(s->index) : NULL;
    FaissIndexFlat *f = m ? faiss_IndexFlat_cast(faiss_IndexIDMap2_sub_index(m)) : NULL;
    float *xb = NULL;
    idx_t *ids = NULL;
    size_t n_floats = 0, n_ids = 0, dim = (size_t)s->dim;
    if (f) {
        faiss_IndexFlat_xb(f, &xb, &n_floats);
        faiss_IndexIDMap2_id_map(m, &ids, &n_ids);
    }
    if (!f || n_ids != n || n_floats != n * dim) {
        if (due)
            core_log(CORE_LOG_INFO, "no ANN index over a '%s' index", s->factory);
        pthread_rwlock_unlock(&s->idx_lock);
        return ODX_OK;
    }
    size_t nlist = (size_t)(p->lists_per_sqrt * sqrt((double)n) + 0.5);
    if (nlist < (size_t)p->min_lists)
        nlist = (size_t)p->min_lists;
    if (nlist > (size_t)p->max_lists)
        nlist = (size_t)p->max_lists;
    if (nlist > n / (size_t)p->train_per_list)
        nlist = n / (size_t)p->train_per_list;
    if (nlist < 1)
        nlist = 1;
    size_t n_train = nlist * (size_t)p->train_per_list;
    if (n_train > n)
        n_train = n;
    if (!(train = malloc(sizeof(float) * dim * n_train))) {
        rc = core_err(err, ODX_ERR_NOMEM, "out of memory training the ANN index");
        goto unlock;
    }
    uint64_t seed = (uint64_t)n;
    for (size_t i = 0; i < n_train; i++)
        memcpy(train + i * dim, xb + (size_t)(splitmix(&seed) % n) * dim, sizeof(float) * dim);
    int frc = store_ivf_new(&ivf, s->dim, nlist, p->niter);
    if (frc != 0) {
        rc = core_err(err, ODX_ERR_FAISS, "creating the ANN index of '%s'", s->dir);
        goto unlock;
    }
    if ((frc = faiss_Index_train(ivf, (idx_t)n_train, train)) != 0) {
        rc = store_faiss_fail(err, frc, "training the ANN index of", s->dir);
        goto unlock;
    }
    free(train);
    train = NULL;
    t_train = core_now() - t0;
    for (size_t off = 0; off < n; off += ADD_CHUNK) {
        size_t c = n - off < ADD_CHUNK ? n - off : ADD_CHUNK;
        if ((frc = faiss_Index_add_with_ids(ivf, (idx_t)c, xb + off * dim, ids + off)) != 0) {
            rc = store_faiss_fail(err, frc, "filling the ANN index of", s->dir);
            goto unlock;
        }
    }
    if ((rc = tune(s, p, ivf, nlist, xb, n, &nprobe, &r_k, &r_10, err)) != ODX_OK)
        goto unlock;
    if (nprobe > 0)
        store_ivf_set_nprobe(ivf, nprobe);
unlock:
    pthread_rwlock_unlock(&s->idx_lock);
    if (rc != ODX_OK)
        goto done;
    char nbuf[32];
    if (nprobe == 0) {
        core_log(CORE_LOG_INFO,
                 "no ANN index over %zu vectors: %zu of %zu lists reach recall@%d %.3f only"
                 " (%.3f wanted); dense search stays exact",
                 n, (size_t)(p->max_probe_share * (double)nlist), nlist, p->tune_k, r_k,
                 p->tune_recall);
        snprintf(nbuf, sizeof nbuf, "%zu", n);
        rc = store_meta_set(s, "ann_refused_n", nbuf, err);
        goto done;
    }
    if (refused > 0 && (rc = store_meta_set(s, "ann_refused_n", "0", err)) != ODX_OK)
        goto done;

    /* Swap it in, caught up to what the exact index holds now (a refresh
     * may have moved it while the lock was shared). */
    pthread_rwlock_wrlock(&s->idx_lock);
    pthread_mutex_lock(&s->mu);
    if (s->index_gen != gen) {
        odx_err e = {0};
        if (store_faiss_remove(s, ivf, gen, s->index_gen, &e) != ODX_OK ||
            store_faiss_add(s, ivf, gen, s->index_gen, &e) != ODX_OK)
            rc = core_err(err, e.code, "catching up the new ANN index: %s", e.msg);
    }
    if (rc == ODX_OK && (!s->index || faiss_Index_ntotal(ivf) != faiss_Index_ntotal(s->index)))
        rc = core_err(err, ODX_ERR_FAISS, "the new ANN index of '%s' does not hold the exact"
                                          " index's vectors", s->dir);
    if (rc == ODX_OK) {
        store_ann_free(s);
        s->ann = ivf;
        ivf = NULL;
        s->ann_gen = s->index_gen;
        s->ann_trained_n = (int64_t)n;
        s->ann_nlist = nlist;
        s->ann_nprobe = nprobe;
        s->ann_note[0] = 0;
    }
    pthread_mutex_unlock(&s->mu);
    pthread_rwlock_unlock(&s->idx_lock);
    if (rc != ODX_OK || (rc = store_ann_save(s, err)) != ODX_OK)
        goto done;
    core_log(CORE_LOG_INFO,
             "ANN index: IVF%zu,Flat over %zu vectors, nprobe %zu (recall@%d %.3f, @10 %.3f"
             " against exact on %d sampled vectors); trained in %.1f s, built in %.1f s",
             nlist, n, nprobe, p->tune_k, r_k, r_10, p->tune_queries, t_train,
             core_now() - t0);
    if (did)
        *did = true;
done:
    free(train);
    if (ivf)
        faiss_Index_free(ivf);
    return rc;
}

odx_status store_ann_update(store *s, bool force, bool *did, odx_err *err)
{
    return store_ann_update_with(s, &store_ann_defaults, force, did, err);
}

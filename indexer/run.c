/* run.c - one index pass: the calling thread walks the roots, decides per
 * file (unchanged / new / changed), feeds a bounded job list to worker
 * threads (read, hash, caption, embed) and is the single writer that puts
 * their results into the store in batched transactions; then prunes. */
#include "indexer.h"
#include "embedder.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define RUN_MAX_WORKERS 64
#define RUN_BATCH_SECONDS 5.0
#define RUN_N_FIELDS IDX_N_FIELDS
#define RUN_SLOW_S 60.0 /* a file captioning this long is named in the log */

enum { JOB_FULL = 0, JOB_REEMBED = 1 };
enum { OUT_ERROR = 0, OUT_REUSE, OUT_REEMBED, OUT_CAPTION };

typedef struct run_job {
    struct run_job *next;
    char *path;
    int64_t size, mtime_ns;
    int mode;
    bool existed;   /* an image row was there before */
    bool unchanged; /* a REEMBED of a file not read (counted unchanged) */
    char hash[65];

    int out;
    const char *stage;
    char *reason;
    cap_desc *desc;
    char *desc_json;
    store_text *texts; /* FULL: views into ctexts, then into vlm; REEMBED: from storage */
    int n_texts;       /* FULL: the native ones only (what store_content_put writes) */
    cap_text *ctexts;
    int n_ctexts;
    store_vlm_text *vlm; /* FULL: the content's VLM captions, kept across the re-caption */
    int n_vlm;
    bool vlm_carry;    /* vlm came from run.vlm_from: written into this store too */
    float *vec;        /* RUN_N_FIELDS * EMB_DIM */
    store_vec vecs[RUN_N_FIELDS];
    int n_vecs;
    bool owns_hash;    /* registered in run.inflight while captioning */
    double t_start;    /* when a worker took it (under run.mu) */
    bool slow_logged;
} run_job;

typedef struct run {
    store *s;
    store *vlm_from;   /* rebuild --fresh: the old index, read for its VLM captions */
    const cap_config *cap;
    const odx_index_params *p;
    odx_index_stats *st;
    cap_engine *eng;

    pthread_mutex_t mu;       /* job/result lists, inflight, done */
    pthread_cond_t job_cv, res_cv, hash_cv;
    pthread_mutex_t store_mu; /* the one connection, shared with workers' reads */
    run_job *jq_head, *jq_tail, *rq_head, *rq_tail;
    int in_flight, max_in_flight, n_workers;
    bool closing;
    pthread_t *threads;
    int n_threads;
    run_job **running; /* per worker slot: the job in hand, for the slow log */
    int next_slot;
    odx_status worker_status;
    odx_err worker_err;
    uint64_t *inflight; /* content hashes being captioned now */
    int n_inflight;
    idx_set done;       /* content hashes captioned in this run */
    idx_set reembed;    /* content hashes sent to re-embed (writer only) */

    /* writer-only state */
    idx_set seen;       /* paths met by the walk */
    char **noprune;     /* directories that could not be read */
    int n_noprune;
    bool in_txn;
    bool txn_dirty;     /* this transaction wrote (gc flag set in it) */
    bool wrote;         /* this pass wrote anything */
    /* Files the walk skipped, by reason (the walk's reasons are static
     * strings, so a pointer or strcmp tells them apart). */
    struct run_skip {
        const char *reason;
        int64_t n;
        char *examples[IDX_SKIP_EXAMPLES];
        int n_ex;
    } skip[16];
    int n_skip;
    int n_in_batch;
    double batch_t0, t0;
    int64_t done_files, total;
    odx_status fatal;   /* first store failure: stops everything */
    odx_err *err;
} run;

/* ------------------------------------------------------------ helpers ---- */

static uint64_t key_of(const char *s)
{
    return core_hash64(s, strlen(s), 0x6f6478706174680aULL);
}

static void job_free(run_job *j)
{
    if (!j)
        return;
    free(j->path);
    free(j->reason);
    cap_desc_free(j->desc);
    free(j->desc_json);
    store_vlm_texts_free(j->vlm, j->n_vlm);
    if (j->ctexts) {
        cap_texts_free(j->ctexts, j->n_ctexts);
        free(j->texts); /* views only */
    } else if (j->texts) {
        store_texts_free(j->texts, j->n_texts);
    }
    free(j->vec);
    free(j);
}

static void progress(run *r, const char *event, const char *path,
                     const char *stage, const char *reason)
{
    if (!r->p->progress)
        return;
    if (r->done_files > r->total)
        r->total = r->done_files;
    odx_progress ev = {.event = event, .path = path, .stage = stage,
                       .reason = reason, .done = r->done_files,
                       .total = r->total, .elapsed_s = core_now() - r->t0};
    r->p->progress(&ev, r->p->progress_user);
}

static bool cancelled(const run *r)
{
    return r->p->cancel && *r->p->cancel;
}

static void set_error(run_job *j, const char *stage, const char *msg)
{
    j->out = OUT_ERROR;
    j->stage = stage;
    free(j->reason);
    j->reason = core_strdup(msg && *msg ? msg : "unknown error");
}

/* ------------------------------------------------------------ workers ---- */

static bool inflight_has(const run *r, uint64_t h)
{
    for (int i = 0; i < r->n_inflight; i++)
        if (r->inflight[i] == h)
            return true;
    return false;
}

static void inflight_del(run *r, uint64_t h)
{
    for (int i = 0; i < r->n_inflight; i++)
        if (r->inflight[i] == h) {
            r->inflight[i] = r->inflight[--r->n_inflight];
            break;
        }
}

/* Decides what a read+hashed file needs. Two copies of one new image may be
 * in flight at once: the second waits for the first to be written and then
 * reuses it instead of captioning it again. The pool lock is never held
 * while taking store_mu (the writer takes them in the other order). */
static int decide_content(run *r, run_job *j)
{
    uint64_t h = core_hash64(j->hash, 64, 0);
    for (;;) {
        pthread_mutex_lock(&r->mu);
        while (inflight_has(r, h) && !r->closing)
            pthread_cond_wait(&r->hash_cv, &r->mu);
        bool closing = r->closing, done = idx_set_has(&r->done, h);
        pthread_mutex_unlock(&r->mu);
        if (closing)
            return -1;
        if (done)
            return OUT_REUSE;

        char eng[32] = "", emb[32] = "";
        bool found = false;
        odx_err e = {0};
        pthread_mutex_lock(&r->store_mu);
        odx_status st = store_content_get(r->s, j->hash, eng, emb, &found, &e);
        pthread_mutex_unlock(&r->store_mu);
        if (st != ODX_OK)
            found = false; /* caption it; the writer will meet the store error */
        bool current = found && strcmp(eng, CAP_ENGINE_VERSION) == 0 &&
                       !r->p->recaption;

        pthread_mutex_lock(&r->mu);
        int out;
        if (inflight_has(r, h)) {
            out = -2; /* someone started it meanwhile: wait again */
        } else if (idx_set_has(&r->done, h)) {
            out = OUT_REUSE;
        } else if (current) {
            out = strcmp(emb, emb_model_id()) == 0 ? OUT_REUSE : OUT_REEMBED;
        } else {
            if (r->n_inflight < RUN_MAX_WORKERS * 8)
                r->inflight[r->n_inflight++] = h;
            j->owns_hash = true;
            out = OUT_CAPTION;
        }
        pthread_mutex_unlock(&r->mu);
        if (out != -2)
            return out;
    }
}

static void do_reembed(run *r, run_job *j)
{
    odx_err e = {0};
    pthread_mutex_lock(&r->store_mu);
    odx_status st = store_content_texts(r->s, j->hash, &j->texts, &j->n_texts, &e);
    pthread_mutex_unlock(&r->store_mu);
    if (st != ODX_OK) {
        set_error(j, "embed", e.msg);
        return;
    }
    if (idx_make_vectors(j->texts, j->n_texts, &j->vec, j->vecs, &j->n_vecs, &e)) {
        set_error(j, "embed", e.msg);
        return;
    }
    j->out = OUT_REEMBED;
}

/* The VLM captions a native re-caption keeps (store_content_put replaces
 * only native rows): this store's, else (rebuild --fresh) the old index's,
 * which the writer then copies in. Only a VLM run replaces them. One model
 * and prompt version per content (store_vlm_put writes them so); rows of
 * another are left out of a copy. */
static odx_status load_vlm(run *r, run_job *j, odx_err *e)
{
    pthread_mutex_lock(&r->store_mu);
    odx_status st = store_vlm_texts(r->s, j->hash, &j->vlm, &j->n_vlm, e);
    pthread_mutex_unlock(&r->store_mu);
    if (st != ODX_OK || j->n_vlm > 0 || !r->vlm_from)
        return st;
    if ((st = store_vlm_texts(r->vlm_from, j->hash, &j->vlm, &j->n_vlm, e)) != ODX_OK)
        return st;
    int k = 0;
    for (int i = 0; i < j->n_vlm; i++) {
        store_vlm_text *v = &j->vlm[i];
        bool same = v->model && v->prompt && j->vlm[0].model && j->vlm[0].prompt &&
                    !strcmp(v->model, j->vlm[0].model) && !strcmp(v->prompt, j->vlm[0].prompt);
        if (same) {
            store_vlm_text tmp = j->vlm[k];
            j->vlm[k++] = *v;
            *v = tmp;
        }
    }
    for (int i = k; i < j->n_vlm; i++) {
        store_vlm_text *v = &j->vlm[i];
        free(v->kind);
        free(v->lang);
        free(v->text);
        free(v->model);
        free(v->prompt);
    }
    j->n_vlm = k;
    j->vlm_carry = k > 0;
    return ODX_OK;
}

static void do_caption(run *r, cap_worker *cw, run_job *j, const uint8_t *data,
                       size_t len)
{
    odx_err e = {0};
    odx_status st = cap_describe(cw, data, len, j->path, &j->desc, &e);
    if (st != ODX_OK) {
        bool decode = st == ODX_ERR_UNSUPPORTED || st == ODX_ERR_DECODE ||
                      st == ODX_ERR_LIMIT || st == ODX_ERR_NOMEM;
        set_error(j, decode ? "decode" : "caption", e.msg);
        return;
    }
    if (cap_desc_texts(j->desc, &j->ctexts, &j->n_ctexts, &e) != ODX_OK) {
        set_error(j, "caption", e.msg);
        return;
    }
    if (load_vlm(r, j, &e) != ODX_OK) {
        set_error(j, "caption", e.msg);
        return;
    }
    j->texts = calloc((size_t)(j->n_ctexts + j->n_vlm + 1), sizeof *j->texts);
    if (!j->texts) {
        set_error(j, "caption", "no memory for caption records");
        return;
    }
    j->n_texts = j->n_ctexts;
    for (int i = 0; i < j->n_ctexts; i++) {
        j->texts[i].kind = j->ctexts[i].kind;
        j->texts[i].lang = j->ctexts[i].lang;
        j->texts[i].text = j->ctexts[i].text;
    }
    for (int i = 0; i < j->n_vlm; i++) {
        store_text *t = &j->texts[j->n_ctexts + i];
        t->kind = j->vlm[i].kind;
        t->lang = j->vlm[i].lang;
        t->text = j->vlm[i].text;
    }
    cJSON *js = cap_desc_to_json(j->desc);
    j->desc_json = js ? cJSON_PrintUnformatted(js) : NULL;
    cJSON_Delete(js);
    if (!j->desc_json) {
        set_error(j, "caption", "cannot render the description as JSON");
        return;
    }
    /* native then VLM, the order store_content_texts gives the VLM pass and
     * re-embedding, so every path makes the same vectors */
    if (idx_make_vectors(j->texts, j->n_ctexts + j->n_vlm, &j->vec, j->vecs, &j->n_vecs, &e)) {
        set_error(j, "embed", e.msg);
        return;
    }
    j->out = OUT_CAPTION;
}

static void process(run *r, cap_worker *cw, run_job *j)
{
    if (j->mode == JOB_REEMBED) {
        do_reembed(r, j);
        return;
    }
    uint8_t *data = NULL;
    size_t len = 0;
    odx_err e = {0};
    int64_t max = r->p->max_file_bytes > 0 ? r->p->max_file_bytes
                                           : r->cap->limits.max_file_bytes;
    if (core_read_file(j->path, max, &data, &len, &e) != ODX_OK) {
        set_error(j, "read", e.msg);
        return;
    }
    if (len == 0) {
        set_error(j, "decode", "empty file (0 bytes)");
    } else if (!idx_sniff(data, len)) {
        set_error(j, "decode",
                  "not an image format omnidex reads (PNG, JPEG, WebP, GIF, TIFF, BMP, "
                  "HEIC, AVIF): the content does not match its image name");
    } else if (!core_sha256_hex(data, len, j->hash)) {
        set_error(j, "read", "SHA-256 of the content failed (out of memory)");
    } else {
        switch (decide_content(r, j)) {
        case OUT_REUSE: j->out = OUT_REUSE; break;
        case OUT_REEMBED: do_reembed(r, j); break;
        case OUT_CAPTION: do_caption(r, cw, j, data, len); break;
        default: set_error(j, "caption", "stopped"); break;
        }
    }
    free(data);
}

static void *worker_main(void *arg)
{
    run *r = arg;
    cap_worker *cw = NULL;
    odx_err e = {0};
    odx_status st = cap_worker_new(r->eng, &cw, &e);
    if (st != ODX_OK) {
        pthread_mutex_lock(&r->mu);
        if (r->worker_status == ODX_OK) {
            r->worker_status = st;
            r->worker_err = e;
        }
        pthread_cond_broadcast(&r->res_cv);
        pthread_mutex_unlock(&r->mu);
        return NULL;
    }
    pthread_mutex_lock(&r->mu);
    int slot = r->next_slot++;
    pthread_mutex_unlock(&r->mu);
    for (;;) {
        pthread_mutex_lock(&r->mu);
        while (!r->jq_head && !r->closing)
            pthread_cond_wait(&r->job_cv, &r->mu);
        run_job *j = r->jq_head;
        if (!j) {
            pthread_mutex_unlock(&r->mu);
            break;
        }
        r->jq_head = j->next;
        if (!r->jq_head)
            r->jq_tail = NULL;
        j->t_start = core_now();
        r->running[slot] = j;
        pthread_mutex_unlock(&r->mu);

        j->next = NULL;
        process(r, cw, j);

        pthread_mutex_lock(&r->mu);
        r->running[slot] = NULL;
        if (r->rq_tail)
            r->rq_tail->next = j;
        else
            r->rq_head = j;
        r->rq_tail = j;
        pthread_cond_signal(&r->res_cv);
        pthread_mutex_unlock(&r->mu);
    }
    cap_worker_free(cw);
    return NULL;
}

static odx_status pool_start(run *r)
{
    odx_status st = cap_engine_new(r->cap, &r->eng, r->err);
    if (st != ODX_OK)
        return st;
    r->threads = calloc((size_t)r->n_workers, sizeof *r->threads);
    r->running = calloc((size_t)r->n_workers, sizeof *r->running);
    if (!r->threads || !r->running)
        return core_err(r->err, ODX_ERR_NOMEM, "no memory for worker threads");
    for (int i = 0; i < r->n_workers; i++) {
        if (pthread_create(&r->threads[i], NULL, worker_main, r) != 0) {
            if (r->n_threads == 0)
                return core_err(r->err, ODX_ERR_INTERNAL,
                                "cannot start worker threads: %s", strerror(errno));
            break; /* fewer workers still work */
        }
        r->n_threads++;
    }
    return ODX_OK;
}

static void pool_stop(run *r)
{
    pthread_mutex_lock(&r->mu);
    r->closing = true;
    run_job *q = r->jq_head;
    r->jq_head = r->jq_tail = NULL;
    pthread_cond_broadcast(&r->job_cv);
    pthread_cond_broadcast(&r->hash_cv);
    pthread_mutex_unlock(&r->mu);
    while (q) {
        run_job *n = q->next;
        job_free(q);
        q = n;
    }
    for (int i = 0; i < r->n_threads; i++)
        pthread_join(r->threads[i], NULL);
    r->n_threads = 0;
    for (run_job *j = r->rq_head; j;) {
        run_job *n = j->next;
        job_free(j);
        j = n;
    }
    r->rq_head = r->rq_tail = NULL;
    free(r->threads);
    r->threads = NULL;
    free(r->running);
    r->running = NULL;
    cap_engine_free(r->eng);
    r->eng = NULL;
}

/* ------------------------------------------------------------- writer ---- */

static odx_status fail(run *r, odx_status st)
{
    if (r->fatal == ODX_OK)
        r->fatal = st;
    return st;
}

static odx_status txn_begin(run *r)
{
    if (r->in_txn)
        return ODX_OK;
    pthread_mutex_lock(&r->store_mu);
    odx_status st = store_begin(r->s, r->err);
    pthread_mutex_unlock(&r->store_mu);
    if (st != ODX_OK)
        return fail(r, st);
    r->in_txn = true;
    r->txn_dirty = false;
    r->n_in_batch = 0;
    r->batch_t0 = core_now();
    return ODX_OK;
}

/* Any write may leave content without images (a path deleted, or now
 * pointing at other bytes). The flag is set in the same transaction, so
 * after a crash the next pass still knows a gc is due, and a pass that
 * wrote nothing skips the full-table gc. */
#define RUN_GC_KEY "idx_gc_pending"
static odx_status mark_dirty(run *r)
{
    if (r->txn_dirty)
        return ODX_OK;
    pthread_mutex_lock(&r->store_mu);
    odx_status st = store_meta_set(r->s, RUN_GC_KEY, "1", r->err);
    pthread_mutex_unlock(&r->store_mu);
    if (st != ODX_OK)
        return fail(r, st);
    r->txn_dirty = true;
    r->wrote = true;
    return ODX_OK;
}

static odx_status txn_commit(run *r)
{
    if (!r->in_txn)
        return ODX_OK;
    pthread_mutex_lock(&r->store_mu);
    odx_status st = store_commit(r->s, r->err);
    if (st != ODX_OK)
        store_rollback(r->s);
    pthread_mutex_unlock(&r->store_mu);
    r->in_txn = false;
    r->n_in_batch = 0;
    if (st != ODX_OK)
        return fail(r, st);
    progress(r, "batch", NULL, NULL, NULL);
    return ODX_OK;
}

static odx_status batch_tick(run *r)
{
    r->n_in_batch++;
    if (r->n_in_batch >= r->p->batch_size ||
        core_now() - r->batch_t0 >= RUN_BATCH_SECONDS)
        return txn_commit(r);
    return ODX_OK;
}

static odx_status put_error(run *r, const char *path, int64_t size,
                            int64_t mtime_ns, const char *stage,
                            const char *reason)
{
    odx_status st = txn_begin(r);
    if (st == ODX_OK)
        st = mark_dirty(r);
    if (st != ODX_OK)
        return st;
    pthread_mutex_lock(&r->store_mu);
    st = store_image_put_error(r->s, path, size, mtime_ns, stage, reason, r->err);
    pthread_mutex_unlock(&r->store_mu);
    if (st != ODX_OK)
        return fail(r, st);
    r->st->n_failed++;
    progress(r, "error", path, stage, reason);
    return batch_tick(r);
}

static odx_status write_result(run *r, run_job *j)
{
    odx_status st = ODX_OK;
    if (j->out == OUT_ERROR) {
        st = put_error(r, j->path, j->size, j->mtime_ns, j->stage, j->reason);
        goto release;
    }
    if ((st = txn_begin(r)) != ODX_OK || (st = mark_dirty(r)) != ODX_OK)
        goto release;
    pthread_mutex_lock(&r->store_mu);
    if (j->out == OUT_REEMBED) {
        st = store_vectors_replace(r->s, j->hash, j->vecs, j->n_vecs, emb_model_id(), r->err);
    } else if (j->out == OUT_CAPTION) {
        const cap_desc *d = j->desc;
        store_content c = {
            .desc_json = j->desc_json, .format = d->hdr.format,
            .domain = cap_domain_name(d->domain), .chart_type = d->chart_type,
            .text_lang = d->text_lang, .taken_at = d->hdr.taken_at,
            .domain_conf = d->domain_conf, .width = d->width, .height = d->height,
            /* the macro, not d->engine_version: reuse compares against it */
            .engine_version = CAP_ENGINE_VERSION, .embedder = emb_model_id(),
            .texts = j->texts, .n_texts = j->n_texts, .vecs = j->vecs,
            .n_vecs = j->n_vecs, .has_dhash_crops = d->has_dhash_crops};
        _Static_assert(STORE_N_DHASH_CROPS == CAP_N_DHASH_CROPS, "crop hash counts differ");
        memcpy(c.dhash_crops, d->dhash_crops, sizeof c.dhash_crops);
        _Static_assert(STORE_GREY_N == CAP_GREY_N, "grey grid sizes differ");
        c.has_grey = d->has_grey;
        memcpy(c.grey, d->grey, sizeof c.grey);
        st = store_content_put(r->s, j->hash, &c, r->err);
        if (st == ODX_OK && j->vlm_carry)
            st = store_vlm_put(r->s, j->hash, j->vlm[0].model, j->vlm[0].prompt,
                               j->texts + j->n_ctexts, j->n_vlm, r->err);
    }
    if (st == ODX_OK && !j->unchanged)
        st = store_image_put_ok(r->s, j->path, j->size, j->mtime_ns, j->hash, r->err);
    pthread_mutex_unlock(&r->store_mu);
    if (st != ODX_OK) {
        fail(r, st);
        goto release;
    }
    if (j->out == OUT_REUSE)
        r->st->n_reused++;
    else if (j->out == OUT_REEMBED)
        r->st->n_reembedded++;
    st = batch_tick(r);
release:
    if (j->owns_hash) {
        pthread_mutex_lock(&r->mu);
        if (j->out == OUT_CAPTION && st == ODX_OK)
            idx_set_add(&r->done, core_hash64(j->hash, 64, 0));
        inflight_del(r, core_hash64(j->hash, 64, 0));
        pthread_cond_broadcast(&r->hash_cv);
        pthread_mutex_unlock(&r->mu);
    }
    r->done_files++;
    progress(r, "file", j->path, NULL, NULL);
    return st;
}

/* Called with r->mu held. */
static void log_slow(run *r)
{
    double now = core_now();
    for (int i = 0; i < r->n_threads; i++) {
        run_job *j = r->running ? r->running[i] : NULL;
        if (j && !j->slow_logged && now - j->t_start > RUN_SLOW_S) {
            j->slow_logged = true;
            core_log(CORE_LOG_WARN, "'%s' has been in work for %.0f s", j->path,
                     now - j->t_start);
        }
    }
}

/* Writes results until fewer than `limit` jobs are in flight (limit 0: all
 * done). Blocks only while the limit is reached. */
static odx_status pump(run *r, int limit)
{
    for (;;) {
        pthread_mutex_lock(&r->mu);
        if (cancelled(r) && r->jq_head) {
            /* Jobs not started yet are dropped: the next run redoes them. */
            for (run_job *q = r->jq_head; q;) {
                run_job *n = q->next;
                if (q->owns_hash)
                    inflight_del(r, core_hash64(q->hash, 64, 0));
                job_free(q);
                r->in_flight--;
                q = n;
            }
            r->jq_head = r->jq_tail = NULL;
        }
        while (!r->rq_head && r->in_flight > 0 && r->in_flight >= limit &&
               r->worker_status == ODX_OK) {
            /* Timed, so a file that never finishes (a decoder or OCR stuck
             * on odd input) is at least named in the log of a cron run. */
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += 5;
            if (pthread_cond_timedwait(&r->res_cv, &r->mu, &ts) == ETIMEDOUT)
                log_slow(r);
        }
        run_job *list = r->rq_head;
        r->rq_head = r->rq_tail = NULL;
        odx_status wst = r->worker_status;
        for (run_job *j = list; j; j = j->next)
            r->in_flight--;
        pthread_mutex_unlock(&r->mu);
        if (!list && wst != ODX_OK) {
            core_err(r->err, wst, "%s", r->worker_err.msg);
            return fail(r, wst);
        }
        odx_status st = ODX_OK;
        while (list) {
            run_job *n = list->next;
            if (st == ODX_OK)
                st = write_result(r, list);
            job_free(list);
            list = n;
        }
        if (st != ODX_OK)
            return st;
        pthread_mutex_lock(&r->mu);
        bool more = r->rq_head || (r->in_flight > 0 && r->in_flight >= limit);
        pthread_mutex_unlock(&r->mu);
        if (!more)
            return ODX_OK;
    }
}

static odx_status dispatch(run *r, run_job *j)
{
    if (!r->threads) {
        odx_status st = pool_start(r);
        if (st != ODX_OK) {
            job_free(j);
            return fail(r, st);
        }
    }
    pthread_mutex_lock(&r->mu);
    if (r->jq_tail)
        r->jq_tail->next = j;
    else
        r->jq_head = j;
    r->jq_tail = j;
    r->in_flight++;
    pthread_cond_signal(&r->job_cv);
    pthread_mutex_unlock(&r->mu);
    return pump(r, r->max_in_flight);
}

static run_job *job_new(const idx_entry *e, bool existed, int mode)
{
    run_job *j = calloc(1, sizeof *j);
    if (!j)
        return NULL;
    j->path = strdup(e->path);
    if (!j->path) {
        free(j);
        return NULL;
    }
    j->size = e->size;
    j->mtime_ns = e->mtime_ns;
    j->existed = existed;
    j->mode = mode;
    return j;
}

/* Per-file decision on the writer thread: only the image row (and the
 * content's versions) are looked at; the file itself is not opened here. */
static odx_status on_image(run *r, const idx_entry *e)
{
    store_image im = {0};
    bool found = false, unchanged = false, reembed = false;
    char eng[32] = "", emb[32] = "";
    /* Lookups inside the batch transaction: one SQLite read lock for many
     * files instead of one per statement (a no-change run is all lookups). */
    odx_status st = txn_begin(r);
    if (st != ODX_OK)
        return st;
    pthread_mutex_lock(&r->store_mu);
    st = store_image_get(r->s, e->path, &im, &found, r->err);
    if (st == ODX_OK && found && im.size == e->size && im.mtime_ns == e->mtime_ns &&
        !r->p->recaption) {
        if (!im.ok) {
            unchanged = !r->p->retry_errors;
        } else {
            bool cfound = false;
            st = store_content_get(r->s, im.hash, eng, emb, &cfound, r->err);
            if (st == ODX_OK && cfound && !strcmp(eng, CAP_ENGINE_VERSION)) {
                if (!strcmp(emb, emb_model_id()))
                    unchanged = true;
                else
                    reembed = true;
            }
        }
    }
    pthread_mutex_unlock(&r->store_mu);
    if (st != ODX_OK) {
        store_image_clear(&im);
        return fail(r, st);
    }
    if (unchanged) {
        store_image_clear(&im);
        r->st->n_unchanged++;
        r->done_files++;
        progress(r, "file", e->path, NULL, NULL);
        return ODX_OK;
    }
    run_job *j = job_new(e, found, reembed ? JOB_REEMBED : JOB_FULL);
    if (!j) {
        store_image_clear(&im);
        return fail(r, core_err(r->err, ODX_ERR_NOMEM, "no memory for a job"));
    }
    if (reembed && !idx_set_add(&r->reembed, core_hash64(im.hash, 64, 0))) {
        /* another path with this content is already being re-embedded */
        store_image_clear(&im);
        free(j->path);
        free(j);
        r->st->n_unchanged++;
        r->done_files++;
        progress(r, "file", e->path, NULL, NULL);
        return ODX_OK;
    }
    if (reembed) {
        memcpy(j->hash, im.hash, sizeof j->hash);
        j->unchanged = true;
        r->st->n_unchanged++;
    } else if (found) {
        r->st->n_changed++;
    } else {
        r->st->n_new++;
    }
    store_image_clear(&im);
    return dispatch(r, j);
}

/* An entry the walk could not use (unreadable directory, symlink loop): an
 * error row like a failed file, and like one not re-recorded (nor counted
 * failed again) while it stays the same, so a nightly run stays quiet. */
static odx_status on_walk_error(run *r, const idx_entry *e)
{
    store_image im = {0};
    bool found = false;
    r->st->n_seen++;
    if (!e->is_dir)
        r->done_files++;
    pthread_mutex_lock(&r->store_mu);
    odx_status st = store_image_get(r->s, e->path, &im, &found, r->err);
    pthread_mutex_unlock(&r->store_mu);
    if (st != ODX_OK)
        return fail(r, st);
    bool same = found && !im.ok && im.err_stage && !strcmp(im.err_stage, "read") &&
                im.err_reason && e->reason && !strcmp(im.err_reason, e->reason);
    store_image_clear(&im);
    if (same && !r->p->retry_errors) {
        r->st->n_unchanged++;
        return ODX_OK;
    }
    if (found)
        r->st->n_changed++;
    else
        r->st->n_new++;
    return put_error(r, e->path, e->size, e->mtime_ns, "read", e->reason);
}

/* Counts a skipped entry under its reason and keeps the first few paths. */
static void skip_note(run *r, const idx_entry *e)
{
    const char *why = e->reason ? e->reason : "skipped";
    int i = 0;
    while (i < r->n_skip && strcmp(r->skip[i].reason, why))
        i++;
    if (i == r->n_skip) {
        if (r->n_skip == (int)(sizeof r->skip / sizeof *r->skip))
            i = r->n_skip - 1; /* more reasons than slots: the last absorbs them */
        else
            r->skip[r->n_skip++] = (struct run_skip){.reason = why};
    }
    struct run_skip *k = &r->skip[i];
    k->n++;
    if (k->n_ex < IDX_SKIP_EXAMPLES && (k->examples[k->n_ex] = strdup(e->path)))
        k->n_ex++;
}

/* Keeps this pass's skip counts for 'omnidex errors --skipped', in its own
 * small transaction and only when they differ from the stored ones (a
 * nightly run over an unchanged tree writes nothing). Best effort: a
 * failure is logged, the run's result stands. */
static void skip_save(run *r)
{
    cJSON *o = cJSON_CreateObject(), *a = cJSON_AddArrayToObject(o, "reasons");
    int64_t total = 0;
    for (int i = 0; i < r->n_skip; i++) {
        cJSON *x = cJSON_CreateObject(), *ex = NULL;
        core_json_add_text(x, "reason", r->skip[i].reason);
        cJSON_AddNumberToObject(x, "count", (double)r->skip[i].n);
        ex = cJSON_AddArrayToObject(x, "examples");
        for (int k = 0; k < r->skip[i].n_ex; k++) {
            cJSON *p = cJSON_CreateObject();
            core_json_add_path(p, "path", r->skip[i].examples[k], strlen(r->skip[i].examples[k]));
            cJSON_AddItemToArray(ex, p);
        }
        cJSON_AddItemToArray(a, x);
        total += r->skip[i].n;
    }
    cJSON_AddNumberToObject(o, "total", (double)total);
    char *txt = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    char *old = NULL;
    odx_err e = {0};
    pthread_mutex_lock(&r->store_mu);
    if (txt && !r->in_txn && store_meta_get(r->s, IDX_SKIPPED_KEY, &old, &e) == ODX_OK &&
        !(old && !strcmp(old, txt)) && store_begin(r->s, &e) == ODX_OK) {
        if (store_meta_set(r->s, IDX_SKIPPED_KEY, txt, &e) != ODX_OK ||
            store_commit(r->s, &e) != ODX_OK)
            store_rollback(r->s);
    }
    pthread_mutex_unlock(&r->store_mu);
    if (e.msg[0])
        core_log(CORE_LOG_WARN, "recording skipped files: %s", e.msg);
    free(old);
    free(txt);
}

static int on_entry(void *ctx, const idx_entry *e)
{
    run *r = ctx;
    if (r->fatal != ODX_OK || cancelled(r))
        return 1;
    odx_status st = ODX_OK;
    if (e->kind == IDX_E_SKIPPED) {
        r->st->n_skipped++;
        skip_note(r, e);
        progress(r, "skipped", e->path, NULL, e->reason);
        return 0;
    }
    if (!idx_set_add(&r->seen, key_of(e->path)))
        return 0; /* met twice (overlapping roots) */
    if (e->kind == IDX_E_ERROR) {
        if (e->is_dir) {
            char **nv = realloc(r->noprune, (size_t)(r->n_noprune + 1) * sizeof *nv);
            if (nv) {
                r->noprune = nv;
                if ((nv[r->n_noprune] = strdup(e->path)))
                    r->n_noprune++;
            }
        }
        st = on_walk_error(r, e);
    } else {
        r->st->n_seen++;
        st = on_image(r, e);
    }
    return st != ODX_OK || cancelled(r);
}

static int count_entry(void *ctx, const idx_entry *e)
{
    int64_t *n = ctx;
    if (e->kind == IDX_E_IMAGE || (e->kind == IDX_E_ERROR && !e->is_dir))
        (*n)++;
    return 0;
}

/* ------------------------------------------------------------- prune ---- */

static bool under(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    if (n == 1 && dir[0] == '/')
        return path[0] == '/';
    return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

typedef struct prune_ctx {
    run *r;
    char **roots;
    int n_roots;
    int64_t *ids;
    size_t n, cap;
    bool oom;
} prune_ctx;

static int prune_each(void *ctx, const store_image *im)
{
    prune_ctx *c = ctx;
    if (idx_set_has(&c->r->seen, key_of(im->path)))
        return 0;
    bool in_root = false;
    for (int i = 0; i < c->n_roots && !in_root; i++)
        in_root = under(im->path, c->roots[i]);
    if (!in_root)
        return 0;
    for (int i = 0; i < c->r->n_noprune; i++)
        if (under(im->path, c->r->noprune[i]))
            return 0;
    if (c->n == c->cap) {
        size_t nc = c->cap ? c->cap * 2 : 256;
        int64_t *nv = realloc(c->ids, nc * sizeof *nv);
        if (!nv) {
            c->oom = true;
            return 1;
        }
        c->ids = nv;
        c->cap = nc;
    }
    c->ids[c->n++] = im->id;
    return 0;
}

static odx_status prune(run *r, char **roots, int n_roots)
{
    prune_ctx c = {.r = r, .roots = roots, .n_roots = n_roots};
    odx_status st = store_images_each(r->s, prune_each, &c, r->err);
    if (st == ODX_OK && c.oom)
        st = core_err(r->err, ODX_ERR_NOMEM, "no memory listing vanished files");
    for (size_t i = 0; st == ODX_OK && i < c.n; i++) {
        if ((st = txn_begin(r)) != ODX_OK || (st = mark_dirty(r)) != ODX_OK)
            break;
        if ((st = store_image_delete(r->s, c.ids[i], r->err)) != ODX_OK)
            break;
        r->st->n_removed++;
        if (++r->n_in_batch >= 1000)
            st = txn_commit(r);
    }
    if (st == ODX_OK)
        st = txn_commit(r);
    free(c.ids);
    return st;
}

/* -------------------------------------------------------------- pass ---- */

static void free_strv(char **v, int n)
{
    for (int i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

/* The pass without the lock (idx_run and idx_rebuild_fresh hold it).
 * remembered: roots come from storage, so a missing one is skipped (and
 * nothing under it pruned) instead of failing the call. */
odx_status idx_pass(store *s, store *vlm_from, const cap_config *cap,
                               const char *const *roots_in, int n_roots_in,
                               bool remembered, const odx_index_params *pin,
                               odx_index_stats *st_out, odx_err *err)
{
    odx_status st = ODX_OK;
    odx_index_params p = *pin;
    odx_index_stats local = {0};
    odx_index_stats *stats = st_out ? st_out : &local;
    memset(stats, 0, sizeof *stats);
    char **roots = NULL;
    int n_roots = 0;
    idx_walker *w = NULL;
    run r = {0};
    bool pool_inited = false;

    if (p.batch_size <= 0)
        p.batch_size = 64;
    if (p.n_workers <= 0)
        p.n_workers = core_n_cpus();
    if (p.n_workers > RUN_MAX_WORKERS)
        p.n_workers = RUN_MAX_WORKERS;

    r.s = s;
    r.vlm_from = vlm_from;
    r.cap = cap;
    r.p = &p;
    r.st = stats;
    r.err = err;
    r.t0 = core_now();
    r.n_workers = p.n_workers;
    r.max_in_flight = p.n_workers * 4 < 8 ? 8 : p.n_workers * 4;
    r.inflight = calloc(RUN_MAX_WORKERS * 8, sizeof *r.inflight);
    if (!r.inflight) {
        st = core_err(err, ODX_ERR_NOMEM, "no memory for the index pass");
        goto done;
    }
    pthread_mutex_init(&r.mu, NULL);
    pthread_mutex_init(&r.store_mu, NULL);
    pthread_cond_init(&r.job_cv, NULL);
    pthread_cond_init(&r.res_cv, NULL);
    pthread_cond_init(&r.hash_cv, NULL);
    pool_inited = true;

    /* Roots: explicit ones are resolved (and must exist); remembered ones
     * come back as stored. */
    char **given = NULL;
    int n_given = 0;
    if (n_roots_in == 0) {
        char **v = NULL;
        if ((st = store_roots(s, &v, err)) != ODX_OK)
            goto done;
        while (v && v[n_given])
            n_given++;
        given = v;
        remembered = true;
        if (n_given == 0) {
            free(v);
            st = core_err(err, ODX_ERR_INVALID,
                          "no folders given and none remembered: name a folder to index");
            goto done;
        }
    }
    int n_src = n_roots_in ? n_roots_in : n_given;
    roots = calloc((size_t)n_src, sizeof *roots);
    if (!roots) {
        free_strv(given, n_given);
        st = core_err(err, ODX_ERR_NOMEM, "no memory for roots");
        goto done;
    }
    for (int i = 0; i < n_src; i++) {
        const char *src = n_roots_in ? roots_in[i] : given[i];
        char *rp = realpath(src, NULL);
        if (!rp) {
            if (!remembered) {
                st = core_err_errno(err, errno == ENOENT ? ODX_ERR_NOT_FOUND : ODX_ERR_IO,
                                    "cannot index '%s'", src);
                free_strv(given, n_given);
                goto done;
            }
            progress(&r, "error", src, "read",
                     "remembered folder is missing: skipped, nothing under it pruned");
            continue;
        }
        roots[n_roots++] = rp;
    }
    free_strv(given, n_given);

    if (!remembered || n_roots_in) {
        if ((st = txn_begin(&r)) != ODX_OK)
            goto done;
        for (int i = 0; i < n_roots && st == ODX_OK; i++)
            st = store_root_add(s, roots[i], err);
        if (st != ODX_OK) {
            fail(&r, st);
            goto done;
        }
        if ((st = txn_commit(&r)) != ODX_OK)
            goto done;
    }

    idx_walk_opts wo = {.include = p.include, .n_include = p.n_include,
                        .exclude = p.exclude, .n_exclude = p.n_exclude,
                        .include_hidden = p.include_hidden,
                        .follow_symlinks = p.follow_symlinks,
                        .count_only = true, .cancel = p.cancel};
    /* Pre-scan: names only (no stat of plain files), so the bar has a total. */
    if (p.progress) {
        if ((st = idx_walker_new(&wo, &w, err)) != ODX_OK)
            goto done;
        for (int i = 0; i < n_roots; i++)
            idx_walk(w, roots[i], count_entry, &r.total, NULL);
        idx_walker_free(w);
        w = NULL;
        progress(&r, "scan", NULL, NULL, NULL);
    }

    wo.count_only = false;
    if ((st = idx_walker_new(&wo, &w, err)) != ODX_OK)
        goto done;
    for (int i = 0; i < n_roots && r.fatal == ODX_OK && !cancelled(&r); i++) {
        odx_err we = {0};
        odx_status ws = idx_walk(w, roots[i], on_entry, &r, &we);
        if (ws != ODX_OK && ws != ODX_ERR_INTERRUPTED && r.fatal == ODX_OK) {
            /* the root vanished between realpath and walk */
            progress(&r, "error", roots[i], "read", we.msg);
            free(roots[i]);
            roots[i] = core_strdup("\x01"); /* matches no path: no prune */
        }
    }
    if (r.fatal == ODX_OK)
        pump(&r, 0);
    if (r.fatal == ODX_OK)
        txn_commit(&r);
    if (r.fatal != ODX_OK) {
        st = r.fatal;
        goto done;
    }
    if (cancelled(&r)) {
        st = core_err(err, ODX_ERR_INTERRUPTED,
                      "indexing stopped: finished files are saved, run again to continue");
        goto done;
    }
    if (p.prune && (st = prune(&r, roots, n_roots)) != ODX_OK)
        goto done;
    skip_save(&r);
    char *pending = NULL;
    if ((st = store_meta_get(s, RUN_GC_KEY, &pending, err)) != ODX_OK)
        goto done;
    bool gc = r.wrote || (pending && !strcmp(pending, "1"));
    free(pending);
    if (gc) {
        if ((st = txn_begin(&r)) != ODX_OK)
            goto done;
        if ((st = store_content_gc(s, NULL, err)) != ODX_OK ||
            (st = store_meta_set(s, RUN_GC_KEY, "0", err)) != ODX_OK) {
            fail(&r, st);
            goto done;
        }
        if ((st = txn_commit(&r)) != ODX_OK)
            goto done;
    }
    /* A pass that changed nothing leaves the FAISS file as it is (storage
     * catches a stale one up on open; the next writing pass saves it). */
    if (r.wrote || gc)
        st = store_save(s, err);
    /* Dense search by size: (re)train the ANN index once the collection
     * has passed the threshold or grown or shrunk by a factor since its
     * training (storage.h). Checked on every run, so one killed while
     * training trains again. Best effort: without it searches are exact. */
    if (st == ODX_OK) {
        odx_err ae = {0};
        if (store_ann_update(s, false, NULL, &ae) != ODX_OK)
            core_log(CORE_LOG_WARN, "building the ANN index: %s (searches stay exact)", ae.msg);
    }
    /* Deleted rows leave free pages, removed vectors tombstones: give
     * the space back once it passes the threshold. Measured on every
     * run, not only on one that wrote: a compaction killed half way (or a
     * run that finished its work just before a kill) is resumed by the
     * next run even when no file changed. Best effort: a failure costs
     * only space, never the run. */
    if (st == ODX_OK) {
        odx_err ce = {0};
        if (store_compact(s, false, NULL, &ce) != ODX_OK)
            core_log(CORE_LOG_WARN, "compacting the index: %s", ce.msg);
    }

done:
    if (pool_inited) {
        pool_stop(&r);
        if (r.in_txn) {
            if (r.fatal == ODX_OK && st == ODX_ERR_INTERRUPTED)
                txn_commit(&r);
            else
                store_rollback(s);
        }
        if (st == ODX_ERR_INTERRUPTED)
            store_save(s, NULL);
        pthread_mutex_destroy(&r.mu);
        pthread_mutex_destroy(&r.store_mu);
        pthread_cond_destroy(&r.job_cv);
        pthread_cond_destroy(&r.res_cv);
        pthread_cond_destroy(&r.hash_cv);
    }
    idx_walker_free(w);
    free_strv(roots, n_roots);
    free_strv(r.noprune, r.n_noprune);
    idx_set_free(&r.seen);
    idx_set_free(&r.done);
    idx_set_free(&r.reembed);
    free(r.inflight);
    for (int i = 0; i < r.n_skip; i++)
        for (int k = 0; k < r.skip[i].n_ex; k++)
            free(r.skip[i].examples[k]);
    stats->elapsed_s = core_now() - r.t0;
    if (pin->progress && r.t0 > 0)
        progress(&r, "done", NULL, NULL, NULL);
    return st;
}

odx_status idx_run(store *s, const char *db_dir, const cap_config *cap,
                   const char *const *roots, int n_roots,
                   const odx_index_params *p, odx_index_stats *st, odx_err *err)
{
    if (!s || !db_dir || !cap || !p || n_roots < 0 || (n_roots > 0 && !roots))
        return core_err(err, ODX_ERR_INVALID, "idx_run: bad arguments");
    int fd = -1;
    odx_status rc =
        idx_lock_acquire_for(db_dir, p->wait_lock, p->wait_lock_s, p->cancel, &fd, err);
    if (rc != ODX_OK)
        return rc;
    rc = idx_pass(s, NULL, cap, roots, n_roots, false, p, st, err);
    /* VLM captions once the native index is complete (indexer/vlm.c): an
     * endpoint that fails costs them, never the native index or the run */
    if (rc == ODX_OK && p->vlm_url && *p->vlm_url)
        rc = idx_vlm_pass(s, p, st, err);
    /* learned vectors last: they embed the VLM captions too */
    if (rc == ODX_OK && p->embed_url && *p->embed_url)
        rc = idx_embed_pass(s, p, st, err);
    idx_lock_release(fd);
    return rc;
}

odx_status idx_rebuild(store *s, const char *db_dir, const cap_config *cap,
                       const odx_index_params *p, odx_index_stats *st,
                       odx_err *err)
{
    if (!p)
        return core_err(err, ODX_ERR_INVALID, "idx_rebuild: no parameters");
    odx_index_params q = *p;
    q.recaption = true;
    return idx_run(s, db_dir, cap, NULL, 0, &q, st, err);
}

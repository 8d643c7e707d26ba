/* vlm.c - the VLM pass of an index run: after the native pass has made
 * the index complete, every content whose VLM captions are missing or were
 * made by another model or prompt version is sent (one file holding it,
 * resized when large) to the OpenAI-compatible endpoint with the prompt of
 * its native domain; the answer becomes captions with source 'vlm' and the
 * content is re-embedded from all its captions. A failed call changes
 * nothing stored: the native captions stay, and the next run asks again. */
#include "indexer.h"
#include "embedder.h"
#include "remote.h"

#include <stdio.h> /* before jpeglib.h, which needs FILE */
#include <jpeglib.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#define VLM_MAX_JOBS 16
#define VLM_RAW_MAX_BYTES (6u << 20) /* larger files are re-encoded */
#define VLM_TEXT_MAX 16384           /* one caption's bytes */
#define VLM_MAX_TOKENS 2048
#define VLM_BATCH 16                 /* results per transaction */

typedef struct vlm_res {
    struct vlm_res *next;
    int item;
    bool ok;
    char *reason;
    rmt_caption *caps;
    int n_caps;
    const char *prompt_version;
} vlm_res;

typedef struct vlm_run {
    store *s;
    const odx_index_params *p;
    odx_index_stats *st;
    rmt_client *cl;
    store_vlm_item *items;
    int *todo, n_todo, next;
    int max_side;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    vlm_res *head, *tail;
    int n_live;        /* workers still running */
    bool down_logged;
    cap_limits lim;
} vlm_run;

static bool stopped(const vlm_run *r)
{
    return r->p->cancel && *r->p->cancel;
}

/* ---------------------------------------------------------- the image ---- */

typedef struct jerr {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
} jerr;

static void jerr_exit(j_common_ptr ci)
{
    longjmp(((jerr *)ci->err)->jb, 1);
}

static void jerr_quiet(j_common_ptr ci, int level)
{
    (void)ci, (void)level;
}

/* RGB -> JPEG in memory. The jump never leaves this function. */
static odx_status encode_jpeg(const cap_image *im, unsigned char **out, size_t *len,
                              odx_err *err)
{
    struct jpeg_compress_struct ci;
    jerr e;
    unsigned char *buf = NULL;
    unsigned long n = 0;
    memset(&ci, 0, sizeof ci);
    ci.err = jpeg_std_error(&e.pub);
    e.pub.error_exit = jerr_exit;
    e.pub.emit_message = jerr_quiet;
    if (setjmp(e.jb)) {
        jpeg_destroy_compress(&ci);
        free(buf);
        return core_err(err, ODX_ERR_INTERNAL, "cannot encode the image for the VLM");
    }
    jpeg_create_compress(&ci);
    jpeg_mem_dest(&ci, &buf, &n);
    ci.image_width = (JDIMENSION)im->w;
    ci.image_height = (JDIMENSION)im->h;
    ci.input_components = 3;
    ci.in_color_space = JCS_RGB;
    jpeg_set_defaults(&ci);
    jpeg_set_quality(&ci, 88, TRUE);
    jpeg_start_compress(&ci, TRUE);
    while (ci.next_scanline < ci.image_height) {
        JSAMPROW row = im->rgb + (size_t)ci.next_scanline * (size_t)im->w * 3;
        jpeg_write_scanlines(&ci, &row, 1);
    }
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    *out = buf;
    *len = n;
    return ODX_OK;
}

/* The data URL of the image to send: the file itself when it is small
 * enough (PNG keeps text sharp for documents and charts), else decoded at
 * the target size and re-encoded as JPEG. width/height: as indexed (0:
 * unknown, then always decoded). */
char *idx_image_data_url(const char *path, int width, int height, int max_side,
                         const cap_limits *lim, odx_err *err)
{
    uint8_t *data = NULL;
    size_t len = 0;
    int64_t max = lim && lim->max_file_bytes > 0 ? lim->max_file_bytes : (int64_t)256 << 20;
    if (core_read_file(path, max, &data, &len, err) != ODX_OK)
        return NULL;
    const char *fmt = idx_sniff(data, len);
    bool raw = fmt && len <= VLM_RAW_MAX_BYTES && width > 0 && width <= max_side &&
               height <= max_side;
    char *b64 = NULL;
    const char *mime = NULL;
    if (raw) {
        b64 = core_base64(data, len);
        mime = !strcmp(fmt, "png") ? "image/png" : "image/jpeg";
    } else {
        cap_header h;
        cap_image im = {0}, fit = {0};
        unsigned char *jpg = NULL;
        size_t jl = 0;
        cap_limits dl = {0};
        if (lim)
            dl = *lim;
        if (dl.max_pixels <= 0)
            dl.max_pixels = 100LL * 1000 * 1000;
        if (dl.max_file_bytes <= 0)
            dl.max_file_bytes = max;
        if (cap_decode(data, len, path, &dl, max_side, &h, &im, err) == ODX_OK &&
            cap_image_fit(&im, max_side, &fit, err) == ODX_OK &&
            encode_jpeg(&fit, &jpg, &jl, err) == ODX_OK) {
            b64 = core_base64(jpg, jl);
            mime = "image/jpeg";
        }
        free(jpg);
        cap_image_free(&im);
        cap_image_free(&fit);
    }
    free(data);
    if (!b64) {
        if (!err || !err->code)
            core_err(err, ODX_ERR_NOMEM, "no memory for the image");
        return NULL;
    }
    char *url = core_sprintf("data:%s;base64,%s", mime, b64);
    free(b64);
    if (!url)
        core_err(err, ODX_ERR_NOMEM, "no memory for the image");
    return url;
}

/* ------------------------------------------------------------ workers ---- */

static void one(vlm_run *r, int idx, vlm_res *res)
{
    const store_vlm_item *it = &r->items[idx];
    odx_err e = {0};
    char *url = idx_image_data_url(it->path, it->width, it->height, r->max_side, &r->lim, &e);
    if (!url) {
        res->reason = core_sprintf("preparing the image: %s", e.msg);
        return;
    }
    const char *ver = NULL;
    rmt_chat_req q = {.model = r->p->vlm_model, .system = rmt_vlm_system(),
                      .user = rmt_vlm_prompt(it->domain, &ver), .image_url = url,
                      .max_tokens = VLM_MAX_TOKENS, .temperature = 0.2};
    res->prompt_version = ver;
    rmt_chat_resp a;
    odx_status st = rmt_chat(r->cl, &q, NULL, NULL, &a, &e);
    free(url);
    if (st == ODX_OK) {
        if (a.truncated)
            core_log(CORE_LOG_INFO, "'%s': the VLM answer was cut at its cap", it->path);
        st = rmt_vlm_parse(a.content, VLM_TEXT_MAX, &res->caps, &res->n_caps, &e);
        if (st == ODX_OK && res->n_caps == 0)
            res->reason = core_strdup("the VLM gave an empty answer");
        else if (st == ODX_OK)
            res->ok = true;
        else
            res->reason = core_strdup(e.msg);
    } else {
        res->reason = core_strdup(e.msg);
    }
    rmt_chat_resp_clear(&a);
}

static void *worker(void *arg)
{
    vlm_run *r = arg;
    for (;;) {
        pthread_mutex_lock(&r->mu);
        int idx = -1;
        if (r->next < r->n_todo && !stopped(r) && !rmt_client_down(r->cl))
            idx = r->todo[r->next++];
        pthread_mutex_unlock(&r->mu);
        if (idx < 0)
            break;
        vlm_res *res = calloc(1, sizeof *res);
        if (!res)
            break;
        res->item = idx;
        one(r, idx, res);
        pthread_mutex_lock(&r->mu);
        if (r->tail)
            r->tail->next = res;
        else
            r->head = res;
        r->tail = res;
        pthread_cond_signal(&r->cv);
        pthread_mutex_unlock(&r->mu);
    }
    pthread_mutex_lock(&r->mu);
    r->n_live--;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

/* ------------------------------------------------------------- writer ---- */

static void progress(vlm_run *r, const char *event, const char *path, const char *reason,
                     int64_t done, double t0)
{
    if (!r->p->progress)
        return;
    odx_progress ev = {.event = event, .path = path, .stage = reason ? "vlm" : NULL,
                       .reason = reason, .done = done, .total = r->n_todo,
                       .elapsed_s = core_now() - t0};
    r->p->progress(&ev, r->p->progress_user);
}

/* Stores one answer and re-embeds the content from all its captions. */
static odx_status write_one(vlm_run *r, const vlm_res *res, odx_err *err)
{
    const store_vlm_item *it = &r->items[res->item];
    store_text *t = calloc((size_t)res->n_caps, sizeof *t);
    if (!t)
        return core_err(err, ODX_ERR_NOMEM, "no memory for VLM captions");
    for (int i = 0; i < res->n_caps; i++) {
        t[i].kind = res->caps[i].kind;
        t[i].lang = res->caps[i].lang;
        t[i].text = res->caps[i].text;
    }
    odx_status st = store_vlm_put(r->s, it->hash, r->p->vlm_model, res->prompt_version, t,
                                  res->n_caps, err);
    free(t);
    store_text *all = NULL;
    int n_all = 0;
    if (st == ODX_OK)
        st = store_content_texts(r->s, it->hash, &all, &n_all, err);
    float *vec = NULL;
    store_vec vecs[IDX_N_FIELDS];
    int n_vecs = 0;
    if (st == ODX_OK && n_all > 0) {
        st = idx_make_vectors(all, n_all, &vec, vecs, &n_vecs, err);
        if (st == ODX_OK)
            st = store_vectors_replace(r->s, it->hash, vecs, n_vecs, emb_model_id(), err);
        if (st == ODX_ERR_NOT_FOUND) /* the content went meanwhile */
            st = ODX_OK;
    }
    free(vec);
    store_texts_free(all, n_all);
    return st;
}

odx_status idx_vlm_pass(store *s, const odx_index_params *p, odx_index_stats *stats,
                        odx_err *err)
{
    if (!p || !p->vlm_url || !*p->vlm_url)
        return ODX_OK;
    if (!p->vlm_model || !*p->vlm_model)
        return core_err(err, ODX_ERR_INVALID,
                        "a VLM endpoint needs a model name (--vlm-model or OMNIDEX_VLM_MODEL)");
    odx_index_stats local = {0};
    odx_index_stats *st_out = stats ? stats : &local;
    vlm_run r;
    memset(&r, 0, sizeof r);
    r.s = s;
    r.p = p;
    r.st = st_out;
    r.max_side = p->vlm_max_side > 0 ? p->vlm_max_side : 1280;
    r.lim.max_pixels = p->max_pixels > 0 ? p->max_pixels : 100LL * 1000 * 1000;
    r.lim.max_file_bytes = p->max_file_bytes > 0 ? p->max_file_bytes : 256LL << 20;
    double t0 = core_now();
    odx_status rc = ODX_OK;
    int n_items = 0;
    pthread_t th[VLM_MAX_JOBS];
    int n_th = 0;
    bool inited = false, in_txn = false;

    rmt_config cfg = rmt_config_default();
    cfg.base_url = p->vlm_url;
    cfg.api_key = p->vlm_api_key;
    if (p->vlm_timeout_s > 0)
        cfg.timeout_s = p->vlm_timeout_s;
    cfg.cancel = p->cancel;
    if ((rc = rmt_client_new(&cfg, &r.cl, err)) != ODX_OK)
        goto done;
    if ((rc = store_vlm_list(s, &r.items, &n_items, err)) != ODX_OK)
        goto done;
    r.todo = calloc((size_t)(n_items ? n_items : 1), sizeof *r.todo);
    if (!r.todo) {
        rc = core_err(err, ODX_ERR_NOMEM, "no memory for the VLM pass");
        goto done;
    }
    for (int i = 0; i < n_items; i++) {
        const char *ver = NULL;
        rmt_vlm_prompt(r.items[i].domain, &ver);
        bool current = r.items[i].has_vlm && !strcmp(r.items[i].model, p->vlm_model) &&
                       !strcmp(r.items[i].prompt, ver);
        if (!current || p->vlm_force)
            r.todo[r.n_todo++] = i;
    }
    st_out->n_vlm_pending = r.n_todo;
    if (r.n_todo == 0)
        goto done;
    progress(&r, "vlm_scan", NULL, NULL, 0, t0);
    pthread_mutex_init(&r.mu, NULL);
    pthread_cond_init(&r.cv, NULL);
    inited = true;
    int jobs = p->vlm_jobs > 0 ? p->vlm_jobs : 2;
    if (jobs > VLM_MAX_JOBS)
        jobs = VLM_MAX_JOBS;
    if (jobs > r.n_todo)
        jobs = r.n_todo;
    r.n_live = jobs;
    for (int i = 0; i < jobs; i++) {
        if (pthread_create(&th[n_th], NULL, worker, &r) != 0) {
            pthread_mutex_lock(&r.mu);
            r.n_live--;
            pthread_mutex_unlock(&r.mu);
            continue;
        }
        n_th++;
    }
    if (n_th == 0) {
        rc = core_err(err, ODX_ERR_INTERNAL, "cannot start VLM threads");
        goto done;
    }
    int64_t done_n = 0;
    int in_batch = 0;
    for (;;) {
        pthread_mutex_lock(&r.mu);
        while (!r.head && r.n_live > 0)
            pthread_cond_wait(&r.cv, &r.mu);
        vlm_res *list = r.head;
        r.head = r.tail = NULL;
        bool more = r.n_live > 0;
        pthread_mutex_unlock(&r.mu);
        while (list) {
            vlm_res *nx = list->next;
            const store_vlm_item *it = &r.items[list->item];
            done_n++;
            if (list->ok && rc == ODX_OK) {
                if (!in_txn && (rc = store_begin(s, err)) == ODX_OK)
                    in_txn = true;
                if (rc == ODX_OK && (rc = write_one(&r, list, err)) == ODX_OK) {
                    st_out->n_vlm_captioned++;
                    st_out->n_vlm_pending--;
                    progress(&r, "vlm", it->path, NULL, done_n, t0);
                    if (++in_batch >= VLM_BATCH) {
                        rc = store_commit(s, err);
                        in_txn = false;
                        in_batch = 0;
                    }
                }
            } else if (!list->ok) {
                st_out->n_vlm_failed++;
                core_log(CORE_LOG_INFO, "'%s': no VLM caption: %s", it->path,
                         list->reason ? list->reason : "?");
                progress(&r, "vlm_error", it->path, list->reason ? list->reason : "failed",
                         done_n, t0);
            }
            rmt_captions_free(list->caps, list->n_caps);
            free(list->reason);
            free(list);
            list = nx;
        }
        if (rc != ODX_OK) {
            /* a store failure: stop asking */
            pthread_mutex_lock(&r.mu);
            r.next = r.n_todo;
            pthread_mutex_unlock(&r.mu);
        }
        if (!more)
            break;
    }
    if (in_txn) {
        if (rc == ODX_OK)
            rc = store_commit(s, err);
        else
            store_rollback(s);
        in_txn = false;
    }
    if (rc == ODX_OK && st_out->n_vlm_captioned > 0)
        rc = store_save(s, err);
    if (rmt_client_down(r.cl))
        core_log(CORE_LOG_WARN, "%s is not answering: %lld images keep only their native "
                                "captions; the next index run asks again",
                 p->vlm_url, (long long)st_out->n_vlm_pending);
    else if (st_out->n_vlm_failed > 0)
        core_log(CORE_LOG_WARN, "%lld images got no VLM caption (kept native; retried next run)",
                 (long long)st_out->n_vlm_failed);
    if (rc == ODX_OK && stopped(&r))
        rc = core_err(err, ODX_ERR_INTERRUPTED,
                      "VLM captioning stopped: finished images are saved, run again to continue");
    progress(&r, "vlm_done", NULL, NULL, done_n, t0);

done:
    for (int i = 0; i < n_th; i++)
        pthread_join(th[i], NULL);
    if (inited) {
        for (vlm_res *x = r.head; x;) {
            vlm_res *nx = x->next;
            rmt_captions_free(x->caps, x->n_caps);
            free(x->reason);
            free(x);
            x = nx;
        }
        pthread_mutex_destroy(&r.mu);
        pthread_cond_destroy(&r.cv);
    }
    if (in_txn)
        store_rollback(s);
    free(r.todo);
    store_vlm_todo_free(r.items, n_items);
    rmt_client_free(r.cl);
    return rc;
}

/* embed_pass.c - the remote embeddings pass of an index run (index
 * --embed): after the native and VLM passes, every content whose learned
 * vector is missing, of another model or dimension, or made from other
 * captions is embedded from its stored captions in batches at the
 * OpenAI-compatible /embeddings endpoint, and the vector is stored beside
 * the native ones (storage/store_embed.c). A failed batch writes nothing
 * and is recorded; the native index is complete before the first request. */
#include "indexer.h"
#include "remote.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Bytes of caption text sent for one content, cut on a UTF-8 boundary:
 * about 500-700 tokens, within the one-batch input limit servers set
 * (llama-server: -ub; see docs/remote-models.md). */
#define EMBED_TEXT_MAX 2048
/* Bytes of text in one request, whatever the batch size. */
#define EMBED_BATCH_BYTES (256u << 10)
/* A re-probed stored vector whose cosine with its new embedding is under
 * this was made by another model behind the same name: re-embed all.
 * The same model gives the same vector up to float noise (> 0.999). */
#define EMBED_PROBE_MIN_COS 0.98

/* The text embedded for a content: its short captions, then its detailed
 * ones, every language and source (native, VLM) in stored order, cut at
 * EMBED_TEXT_MAX; "" when none. Short ones first: they say the most per
 * byte, so a long native description (a chart's facts) cannot crowd out
 * the other captions' short ones. */
static char *caption_text(const store_text *t, int n)
{
    core_buf b;
    core_buf_init(&b, EMBED_TEXT_MAX + 8);
    static const char *const kinds[] = {"short", "detailed"};
    for (int k = 0; k < 2; k++) {
        for (int i = 0; i < n && b.len < EMBED_TEXT_MAX; i++) {
            if (!t[i].kind || !t[i].text || !t[i].text[0] || strcmp(t[i].kind, kinds[k]) != 0)
                continue;
            if (b.len)
                core_buf_puts(&b, "\n");
            size_t room = EMBED_TEXT_MAX - b.len, len = strlen(t[i].text);
            if (len > room) {
                len = room;
                while (len > 0 && ((unsigned char)t[i].text[len] & 0xC0) == 0x80)
                    len--;
            }
            core_buf_append(&b, t[i].text, len);
        }
    }
    char *s = core_buf_steal(&b);
    core_buf_free(&b);
    return s ? s : core_strdup("");
}

typedef struct embed_run {
    store *s;
    const odx_index_params *p;
    odx_index_stats *st;
    rmt_client *cl;
    int dim;              /* established for this run (0: not yet) */
    double t0;
    int64_t total, done;
    char *last_error;
} embed_run;

static void progress(embed_run *r, const char *event, const char *reason)
{
    if (!r->p->progress)
        return;
    odx_progress ev = {.event = event, .stage = reason ? "embed" : NULL, .reason = reason,
                       .done = r->done, .total = r->total, .elapsed_s = core_now() - r->t0};
    r->p->progress(&ev, r->p->progress_user);
}

static void record_failure(embed_run *r, const char *msg, int n)
{
    char when[32] = "";
    time_t now = time(NULL);
    struct tm tm;
    if (gmtime_r(&now, &tm))
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &tm);
    char *line = core_sprintf("%s: %d contents not embedded: %s", when, n, msg);
    core_log(CORE_LOG_WARN, "embeddings: %s", line ? line : msg);
    free(r->last_error);
    r->last_error = line;
    r->st->n_embed_failed += n;
    progress(r, "embed_error", msg);
}

/* One batch: asked, checked, stored in one transaction. Returns a store
 * failure only; a remote failure is recorded and the batch left. */
static odx_status batch(embed_run *r, char **hashes, char **shas, char **texts, int n,
                        odx_err *err)
{
    rmt_embed_resp a = {0};
    odx_err e = {0};
    odx_status st = rmt_embed(r->cl, r->p->embed_model, (const char *const *)texts, n, r->dim,
                              &a, &e);
    if (st == ODX_ERR_INTERRUPTED)
        return core_err(err, st, "%s", e.msg);
    if (st != ODX_OK) {
        record_failure(r, e.msg, n);
        return ODX_OK;
    }
    st = store_begin(r->s, err);
    if (st == ODX_OK) {
        st = store_embed_put(r->s, r->p->embed_model, a.dim, (const char *const *)hashes,
                             (const char *const *)shas, a.v, n, err);
        if (st == ODX_OK)
            st = store_commit(r->s, err);
        else
            store_rollback(r->s);
    }
    if (st == ODX_OK) {
        r->dim = a.dim;
        r->st->n_embedded += n;
        r->done += n;
        progress(r, "embed", NULL);
    }
    rmt_embed_resp_clear(&a);
    return st;
}

/* Asks again for one stored vector: a server that now answers another
 * dimension, or a vector far from the stored one, has another model
 * behind the same name. True when everything must be embedded again. */
static bool model_moved(embed_run *r, const store_embed_item *it, const char *text)
{
    rmt_embed_resp a = {0};
    odx_err e = {0};
    if (rmt_embed(r->cl, r->p->embed_model, &text, 1, 0, &a, &e) != ODX_OK) {
        core_log(CORE_LOG_INFO, "embeddings: probe failed: %s", e.msg);
        return false; /* the batches will meet the same failure */
    }
    bool moved = false;
    if (a.dim != it->dim) {
        core_log(CORE_LOG_WARN, "embeddings: '%s' now gives %d dimensions, the index holds %d:"
                                " re-embedding everything", r->p->embed_model, a.dim, it->dim);
        moved = true;
    } else {
        float *v = NULL;
        int dim = 0;
        if (store_embed_vector(r->s, it->hash, &v, &dim, NULL) == ODX_OK && v && dim == a.dim) {
            double dot = 0, na = 0;
            for (int j = 0; j < dim; j++) {
                dot += (double)v[j] * a.v[j];
                na += (double)a.v[j] * a.v[j];
            }
            double cos = na > 0 ? dot / sqrt(na) : 0;
            if (cos < EMBED_PROBE_MIN_COS) {
                core_log(CORE_LOG_WARN, "embeddings: '%s' no longer gives the stored vectors"
                                        " (cosine %.3f): re-embedding everything",
                         r->p->embed_model, cos);
                moved = true;
            }
        }
        free(v);
    }
    if (!moved)
        r->dim = a.dim;
    rmt_embed_resp_clear(&a);
    return moved;
}

odx_status idx_embed_pass(store *s, const odx_index_params *p, odx_index_stats *stats,
                          odx_err *err)
{
    if (!p || !p->embed_url || !*p->embed_url)
        return ODX_OK;
    if (!p->embed_model || !*p->embed_model)
        return core_err(err, ODX_ERR_INVALID, "an embeddings endpoint needs a model name"
                                              " (--embed-model or OMNIDEX_EMBED_MODEL)");
    if (strlen(p->embed_model) >= STORE_EMBED_MODEL_MAX)
        return core_err(err, ODX_ERR_INVALID, "embedding model name over %d bytes",
                        STORE_EMBED_MODEL_MAX - 1);
    odx_index_stats local = {0};
    embed_run r;
    memset(&r, 0, sizeof r);
    r.s = s;
    r.p = p;
    r.st = stats ? stats : &local;
    r.t0 = core_now();
    int bmax = p->embed_batch > 0 ? p->embed_batch : 32;
    if (bmax > RMT_EMBED_MAX_BATCH)
        bmax = RMT_EMBED_MAX_BATCH;
    store_embed_item *items = NULL;
    int n_items = 0;
    char **hashes = calloc((size_t)bmax, sizeof *hashes);
    char **shas = calloc((size_t)bmax, sizeof *shas);
    char **texts = calloc((size_t)bmax, sizeof *texts);
    bool *stale = NULL;
    int nb = 0;
    size_t bytes = 0;
    odx_status rc = ODX_OK;
    if (!hashes || !shas || !texts) {
        rc = core_err(err, ODX_ERR_NOMEM, "no memory for the embeddings pass");
        goto done;
    }
    rmt_config cfg = rmt_config_default();
    cfg.base_url = p->embed_url;
    cfg.api_key = p->embed_api_key;
    cfg.timeout_s = p->embed_timeout_s > 0 ? p->embed_timeout_s : 60;
    cfg.cancel = p->cancel;
    if ((rc = rmt_client_new(&cfg, &r.cl, err)) != ODX_OK)
        goto done;
    char cur[STORE_EMBED_MODEL_MAX];
    int cur_dim = 0;
    if ((rc = store_embed_current(s, cur, &cur_dim, err)) != ODX_OK ||
        (rc = store_embed_list(s, &items, &n_items, err)) != ODX_OK)
        goto done;
    bool same = strcmp(cur, p->embed_model) == 0 && cur_dim > 0;
    if (!(stale = calloc((size_t)(n_items ? n_items : 1), sizeof *stale))) {
        rc = core_err(err, ODX_ERR_NOMEM, "no memory for the embeddings pass");
        goto done;
    }
    /* what is stale, and one current vector to probe the endpoint with */
    int probe = -1;
    char *probe_text = NULL;
    for (int i = 0; i < n_items && rc == ODX_OK; i++) {
        store_embed_item *it = &items[i];
        bool current = same && it->has && !strcmp(it->model, p->embed_model) &&
                       it->dim == cur_dim;
        store_text *t = NULL;
        int n_t = 0;
        if ((rc = store_content_texts(s, it->hash, &t, &n_t, err)) != ODX_OK)
            break;
        char *text = caption_text(t, n_t);
        store_texts_free(t, n_t);
        if (!text) {
            rc = core_err(err, ODX_ERR_NOMEM, "no memory for a caption");
            break;
        }
        char hex[65];
        core_sha256_hex(text, strlen(text), hex);
        hex[STORE_EMBED_SHA_LEN] = 0;
        if (!text[0]) {
            free(text); /* nothing to embed: found by the native paths */
            continue;
        }
        if (current && strcmp(it->text_sha, hex) != 0)
            current = false; /* its captions changed (a VLM answer, a re-caption) */
        stale[i] = !current;
        r.total += stale[i];
        if (current && probe < 0) {
            probe = i;
            probe_text = text;
        } else {
            free(text);
        }
    }
    if (rc != ODX_OK) {
        free(probe_text);
        goto done;
    }
    if (probe >= 0 && model_moved(&r, &items[probe], probe_text)) {
        /* every vector is stale; store_embed_put drops the old ones with
         * the first new batch (a new dimension) or overwrites them */
        r.total = 0;
        for (int i = 0; i < n_items; i++) {
            stale[i] = stale[i] || (items[i].has && !strcmp(items[i].model, p->embed_model));
            r.total += stale[i];
        }
    }
    free(probe_text);
    r.st->n_embed_pending = r.total;
    for (int i = 0; i <= n_items && rc == ODX_OK; i++) {
        bool last = i == n_items;
        bool stop = (p->cancel && *p->cancel) || rmt_client_down(r.cl);
        if (!last && !stop && stale[i]) {
            store_text *t = NULL;
            int n_t = 0;
            if ((rc = store_content_texts(s, items[i].hash, &t, &n_t, err)) != ODX_OK)
                break;
            char *text = caption_text(t, n_t);
            store_texts_free(t, n_t);
            char hex[65];
            if (!text || !(hashes[nb] = core_strdup(items[i].hash))) {
                free(text);
                rc = core_err(err, ODX_ERR_NOMEM, "no memory for a caption");
                break;
            }
            core_sha256_hex(text, strlen(text), hex);
            hex[STORE_EMBED_SHA_LEN] = 0;
            shas[nb] = core_strdup(hex);
            texts[nb] = text;
            bytes += strlen(text);
            nb++;
        }
        if (nb > 0 && (nb == bmax || bytes >= EMBED_BATCH_BYTES || last || stop)) {
            if (!stop)
                rc = batch(&r, hashes, shas, texts, nb, err);
            for (int j = 0; j < nb; j++) {
                free(hashes[j]);
                free(shas[j]);
                free(texts[j]);
                hashes[j] = shas[j] = texts[j] = NULL;
            }
            nb = 0;
            bytes = 0;
        }
        if (stop)
            break;
    }
    r.st->n_embed_pending = r.total - r.st->n_embedded;
    if (rc == ODX_OK || rc == ODX_ERR_INTERRUPTED) {
        odx_err e = {0};
        odx_status sv = store_embed_save(s, &e);
        if (sv != ODX_OK && rc == ODX_OK)
            rc = core_err(err, sv, "%s", e.msg);
        /* the last failure stays on record until a run that had none */
        if (rc == ODX_OK && (r.last_error || r.total > 0))
            rc = store_embed_note(s, r.last_error ? r.last_error : "", err);
    }
    if (rc == ODX_OK && rmt_client_down(r.cl))
        core_log(CORE_LOG_WARN, "%s is not answering: %lld images wait for their learned"
                                " vector (found by the native paths meanwhile); the next index"
                                " run asks again",
                 p->embed_url, (long long)r.st->n_embed_pending);
    if (rc == ODX_OK && p->cancel && *p->cancel)
        rc = core_err(err, ODX_ERR_INTERRUPTED,
                      "embedding stopped: finished batches are saved, run again to continue");
    if (r.total > 0)
        progress(&r, "embed_done", NULL);
done:
    for (int j = 0; j < nb; j++) {
        free(hashes[j]);
        free(shas[j]);
        free(texts[j]);
    }
    free(hashes);
    free(shas);
    free(texts);
    free(stale);
    free(r.last_error);
    store_embed_items_free(items, n_items);
    rmt_client_free(r.cl);
    return rc;
}

/* omnidex.c - the library behind include/omnidex.h: handle lifecycle,
 * parameter defaults and thin glue over indexer, retriever, captioner and
 * storage. No stage logic lives here. */
#define _GNU_SOURCE /* dladdr */
#include "omnidex.h"
#include "captioner.h"
#include "core.h"
#include "embedder.h"
#include "indexer.h"
#include "lib_int.h"
#include "retriever.h"
#include "storage.h"
#include "remote.h"

#include <cjson/cJSON.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>


struct odx_db {
    char *dir;
    char *models_dir;
    store *s;
    int lock_fd; /* writer: the index lock, held from before store_open */
    bool read_only;
    lib_embed *embed; /* the query side of remote embeddings */
};

const char *lib_db_dir(const odx_db *db)
{
    return db ? db->dir : NULL;
}

store *lib_db_store(odx_db *db)
{
    return db ? db->s : NULL;
}

const char *odx_version(void)
{
    return ODX_VERSION;
}

const char *odx_status_str(odx_status s)
{
    return core_status_str(s);
}

void odx_log_set(odx_log_fn fn, void *user, int max_level)
{
    core_log_set(fn, user, max_level);
}

void odx_free(void *p)
{
    free(p);
}

odx_db_params odx_db_params_default(void)
{
    odx_db_params p;
    memset(&p, 0, sizeof p);
    return p;
}

odx_index_params odx_index_params_default(void)
{
    odx_index_params p;
    memset(&p, 0, sizeof p);
    p.batch_size = 64;
    p.max_pixels = 100LL * 1000 * 1000;
    p.max_file_bytes = 256LL << 20;
    p.ocr = true;
    p.detect = true;
    p.prune = true;
    p.follow_symlinks = true;
    p.vlm_jobs = 2;
    p.vlm_timeout_s = 120;
    p.vlm_max_side = 1280;
    p.embed_batch = 32;
    p.embed_timeout_s = 60;
    return p;
}

odx_search_params odx_search_params_default(void)
{
    return ret_search_params_default();
}

odx_status odx_search_params_set(odx_search_params *p, const char *key, const char *value,
                                 odx_err *err)
{
    return ret_param_set(p, key, value, err);
}

odx_context_params odx_context_params_default(void)
{
    return ret_context_params_default();
}

odx_caption_params odx_caption_params_default(void)
{
    odx_caption_params p;
    memset(&p, 0, sizeof p);
    p.max_pixels = 100LL * 1000 * 1000;
    p.max_file_bytes = 256LL << 20;
    p.ocr = true;
    p.detect = true;
    return p;
}

odx_status odx_db_dir_resolve(const char *dir, char *buf, size_t len, odx_err *err)
{
    const char *env = getenv("OMNIDEX_DB");
    int n;
    if (dir && *dir) {
        n = snprintf(buf, len, "%s", dir);
    } else if (env && *env) {
        n = snprintf(buf, len, "%s", env);
    } else {
        const char *xdg = getenv("XDG_DATA_HOME");
        const char *home = getenv("HOME");
        if (xdg && *xdg)
            n = snprintf(buf, len, "%s/omnidex", xdg);
        else if (home && *home)
            n = snprintf(buf, len, "%s/.local/share/omnidex", home);
        else
            return core_err(err, ODX_ERR_INVALID,
                            "no database directory: pass --db DIR or set OMNIDEX_DB");
    }
    if (n < 0 || (size_t)n >= len)
        return core_err(err, ODX_ERR_INVALID, "database directory path too long");
    return ODX_OK;
}

static bool has_model(const char *dir)
{
    if (!dir || !*dir)
        return false;
    char p[PATH_MAX + 32];
    if ((size_t)snprintf(p, sizeof p, "%s/nanodet.json", dir) >= sizeof p)
        return false;
    return access(p, R_OK) == 0;
}

/* The folder of the module (libomnidex.so, or the executable this library
 * is linked into) holding this code, into buf; false if unknown. */
static bool module_dir(char *buf, size_t len)
{
    Dl_info info;
    char exe[PATH_MAX];
    const char *file = NULL;
    if (dladdr((void *)module_dir, &info) && info.dli_fname &&
        info.dli_fname[0] == '/' && strstr(info.dli_fname, ".so"))
        file = info.dli_fname;
    if (!file) {
        ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
        if (n <= 0)
            return false;
        exe[n] = 0;
        file = exe;
    }
    const char *slash = strrchr(file, '/');
    if (!slash || (size_t)(slash - file) >= len)
        return false;
    memcpy(buf, file, (size_t)(slash - file));
    buf[slash - file] = 0;
    return true;
}

/* --models, $OMNIDEX_MODELS, the data dir, then relative to the module:
 * DIR/../share/omnidex/models (an installed prefix), DIR/models and
 * DIR/../models (the build tree's link to the source tree's models). No path
 * fixed at build time: an installed tree can move. */
static char *resolve_models(const char *given)
{
    if (given && *given)
        return core_strdup(given);
    const char *env = getenv("OMNIDEX_MODELS");
    if (env && *env)
        return core_strdup(env);
    char buf[PATH_MAX];
    const char *xdg = getenv("XDG_DATA_HOME");
    const char *home = getenv("HOME");
    if (xdg && *xdg)
        snprintf(buf, sizeof buf, "%s/omnidex/models", xdg);
    else if (home && *home)
        snprintf(buf, sizeof buf, "%s/.local/share/omnidex/models", home);
    else
        buf[0] = 0;
    if (has_model(buf))
        return core_strdup(buf);
    char mod[PATH_MAX], cand[PATH_MAX];
    if (module_dir(mod, sizeof mod)) {
        const char *rel[] = {"/../share/omnidex/models", "/models", "/../models"};
        for (size_t i = 0; i < sizeof rel / sizeof *rel; i++) {
            if ((size_t)snprintf(cand, sizeof cand, "%s%s", mod, rel[i]) <
                    sizeof cand && has_model(cand))
                return core_strdup(cand);
        }
    }
    /* none found: the detector reports where it looked, in the first place */
    return core_strdup(buf[0] ? buf : "models");
}

odx_status odx_db_open(const char *dir, const odx_db_params *pin, odx_db **out,
                       odx_err *err)
{
    odx_db_params p = pin ? *pin : odx_db_params_default();
    char path[PATH_MAX];
    odx_status st = odx_db_dir_resolve(dir, path, sizeof path, err);
    if (st != ODX_OK)
        return st;
    odx_db *db = calloc(1, sizeof *db);
    if (!db)
        return core_err(err, ODX_ERR_NOMEM, "no memory");
    db->lock_fd = -1;
    db->dir = core_strdup(path);
    db->embed = lib_embed_new();
    db->models_dir = resolve_models(p.models_dir);
    db->read_only = p.read_only;
    /* The lock before anything touches SQLite: a second writer must learn
     * at once who holds the index, not wait in SQLite's busy handler for
     * a write transaction the first one keeps open all run long. */
    if (!p.read_only) {
        if (!db->dir) {
            odx_db_close(db);
            return core_err(err, ODX_ERR_NOMEM, "no memory");
        }
        if ((st = store_make_dirs(path, err)) != ODX_OK) {
            odx_db_close(db);
            return st;
        }
        st = idx_lock_acquire_for(path, p.wait_lock, p.wait_lock_s, p.cancel,
                                  &db->lock_fd, err);
        if (st != ODX_OK) {
            odx_db_close(db);
            return st;
        }
    }
    st = store_open(path, p.read_only, &db->s, err);
    if (st != ODX_OK) {
        odx_db_close(db);
        return st;
    }
    *out = db;
    return ODX_OK;
}

odx_status odx_db_warm(odx_db *db, odx_err *err)
{
    if (!db)
        return core_err(err, ODX_ERR_INVALID, "odx_db_warm: no database");
    return store_lex_warm(db->s, err);
}

void odx_db_close(odx_db *db)
{
    if (!db)
        return;
    store_close(db->s); /* may save FAISS: still under the lock */
    idx_lock_release(db->lock_fd);
    free(db->dir);
    free(db->models_dir);
    lib_embed_free(db->embed);
    free(db);
}

static cap_config cap_cfg_from(const odx_db *db, const odx_index_params *p)
{
    cap_config c = cap_config_default();
    c.models_dir = db->models_dir;
    c.limits.max_pixels = p->max_pixels;
    c.limits.max_file_bytes = p->max_file_bytes;
    c.ocr = p->ocr;
    c.detect = p->detect;
    return c;
}

odx_status odx_index(odx_db *db, const char *const *roots, int n_roots,
                     const odx_index_params *pin, odx_index_stats *stats, odx_err *err)
{
    if (!db)
        return core_err(err, ODX_ERR_INVALID, "no database handle");
    if (db->read_only)
        return core_err(err, ODX_ERR_INVALID, "database opened read-only");
    odx_index_params p = pin ? *pin : odx_index_params_default();
    odx_index_stats local;
    if (stats)
        memset(stats, 0, sizeof *stats);
    /* Roots given by the caller are checked before any work: a typo or a
     * file that is no image is a bad argument, not a silent no-op. */
    for (int i = 0; i < n_roots; i++) {
        struct stat sb;
        const char *r = roots[i];
        if (!r || !*r)
            return core_err(err, ODX_ERR_INVALID, "an empty path cannot be indexed");
        if (stat(r, &sb) != 0)
            return core_err_errno(err, errno == ENOENT || errno == ENOTDIR ? ODX_ERR_INVALID
                                                                           : ODX_ERR_IO,
                                  "cannot index '%s'", r);
        if (!S_ISDIR(sb.st_mode) && !idx_has_image_ext(r))
            return core_err(err, ODX_ERR_INVALID,
                            "cannot index '%s': not an image omnidex reads (by name: .png .jpg "
                            ".jpeg .jpe .jfif .webp .gif .tif .tiff .bmp .dib .heic .heif .hif "
                            ".avif) and not a folder", r);
    }
    /* VLM and embeddings settings: the caller's, else the environment's,
     * else the database directory's config file (cron runs need no flags) */
    char *own[9] = {0};
    const odx_index_params d = odx_index_params_default();
    if (p.no_vlm) {
        p.vlm_url = NULL;
    } else {
        p.vlm_url = lib_setting(p.vlm_url, "OMNIDEX_VLM_URL", db->dir, "vlm_url", &own[0]);
        p.vlm_model = lib_setting(p.vlm_model, "OMNIDEX_VLM_MODEL", db->dir, "vlm_model", &own[1]);
        p.vlm_api_key = lib_setting(p.vlm_api_key, "OMNIDEX_API_KEY", db->dir, "api_key", &own[2]);
        if ((own[3] = rmt_config_file_get(db->dir, "vlm_max_side")) &&
            (!pin || pin->vlm_max_side == d.vlm_max_side))
            p.vlm_max_side = atoi(own[3]);
        if ((own[4] = rmt_config_file_get(db->dir, "vlm_jobs")) &&
            (!pin || pin->vlm_jobs == d.vlm_jobs))
            p.vlm_jobs = atoi(own[4]);
    }
    if (p.no_embed) {
        p.embed_url = NULL;
    } else {
        p.embed_url = lib_setting(p.embed_url, "OMNIDEX_EMBED_URL", db->dir, "embed_url", &own[5]);
        p.embed_model =
            lib_setting(p.embed_model, "OMNIDEX_EMBED_MODEL", db->dir, "embed_model", &own[6]);
        p.embed_api_key =
            lib_setting(p.embed_api_key, "OMNIDEX_API_KEY", db->dir, "api_key", &own[7]);
        if ((own[8] = rmt_config_file_get(db->dir, "embed_batch")) &&
            (!pin || pin->embed_batch == d.embed_batch))
            p.embed_batch = atoi(own[8]);
    }
    odx_status rc = ODX_OK;
    if (p.vlm_url && *p.vlm_url && (!p.vlm_model || !*p.vlm_model))
        rc = core_err(err, ODX_ERR_INVALID,
                      "a VLM endpoint needs a model: give --vlm-model NAME, set "
                      "OMNIDEX_VLM_MODEL, or put 'vlm_model = NAME' in %s/config", db->dir);
    else if (p.vlm_url && *p.vlm_url && strncmp(p.vlm_url, "http://", 7) &&
             strncmp(p.vlm_url, "https://", 8))
        rc = core_err(err, ODX_ERR_INVALID, "VLM endpoint '%s' is not an http:// or https:// URL",
                      p.vlm_url);
    else if (p.embed_url && *p.embed_url && (!p.embed_model || !*p.embed_model))
        rc = core_err(err, ODX_ERR_INVALID,
                      "an embeddings endpoint needs a model: give --embed-model NAME, set "
                      "OMNIDEX_EMBED_MODEL, or put 'embed_model = NAME' in %s/config", db->dir);
    else if (p.embed_url && *p.embed_url && strncmp(p.embed_url, "http://", 7) &&
             strncmp(p.embed_url, "https://", 8))
        rc = core_err(err, ODX_ERR_INVALID,
                      "embeddings endpoint '%s' is not an http:// or https:// URL", p.embed_url);
    if (rc == ODX_OK) {
        cap_config cfg = cap_cfg_from(db, &p);
        rc = idx_run(db->s, db->dir, &cfg, roots, n_roots, &p, stats ? stats : &local, err);
    }
    for (int i = 0; i < 9; i++)
        free(own[i]);
    return rc;
}

odx_status odx_rebuild(odx_db *db, const odx_index_params *pin, odx_index_stats *stats,
                       odx_err *err)
{
    odx_index_params p = pin ? *pin : odx_index_params_default();
    p.recaption = true;
    return odx_index(db, NULL, 0, &p, stats, err);
}

odx_status odx_rebuild_fresh(const char *dir, const odx_db_params *dpin,
                             const odx_index_params *pin, odx_index_stats *stats, odx_err *err)
{
    odx_db_params dp = dpin ? *dpin : odx_db_params_default();
    odx_index_params p = pin ? *pin : odx_index_params_default();
    char path[PATH_MAX];
    odx_status st = odx_db_dir_resolve(dir, path, sizeof path, err);
    if (st != ODX_OK)
        return st;
    odx_db tmp = {.models_dir = resolve_models(dp.models_dir)};
    cap_config cfg = cap_cfg_from(&tmp, &p);
    odx_index_stats local;
    st = idx_rebuild_fresh(path, &cfg, &p, stats ? stats : &local, err);
    free(tmp.models_dir);
    return st;
}

char *odx_text_escape(const char *s, bool multiline)
{
    return core_text_escape(s, s ? strlen(s) : 0, multiline);
}

char *odx_progress_json(const odx_progress *p)
{
    if (!p)
        return NULL;
    cJSON *o = cJSON_CreateObject();
    core_json_add_text(o, "event", p->event ? p->event : "");
    if (p->path)
        core_json_add_path(o, "path", p->path, strlen(p->path));
    if (p->stage)
        core_json_add_text(o, "stage", p->stage);
    if (p->reason)
        core_json_add_text(o, "reason", p->reason);
    cJSON_AddNumberToObject(o, "done", (double)p->done);
    cJSON_AddNumberToObject(o, "total", (double)p->total);
    cJSON_AddNumberToObject(o, "elapsed_s", round(p->elapsed_s * 1000) / 1000);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

char *odx_index_summary_json(odx_status st, const odx_index_stats *stats, const odx_err *err)
{
    odx_index_stats z;
    memset(&z, 0, sizeof z);
    const odx_index_stats *s = stats ? stats : &z;
    const char *status = st == ODX_OK ? (s->n_failed ? "partial" : "ok")
                         : st == ODX_ERR_INTERRUPTED ? "interrupted"
                                                     : "failed";
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "event", "summary");
    cJSON_AddStringToObject(o, "status", status);
    if (st != ODX_OK) {
        cJSON_AddStringToObject(o, "code", odx_status_str(st));
        core_json_add_text(o, "error", err && err->msg[0] ? err->msg : odx_status_str(st));
    }
    const struct {
        const char *k;
        int64_t v;
    } n[] = {{"seen", s->n_seen},       {"new", s->n_new},         {"changed", s->n_changed},
             {"reused", s->n_reused},   {"reembedded", s->n_reembedded},
             {"removed", s->n_removed}, {"failed", s->n_failed},   {"skipped", s->n_skipped},
             {"unchanged", s->n_unchanged}, {"vlm_captioned", s->n_vlm_captioned},
             {"vlm_failed", s->n_vlm_failed}, {"vlm_pending", s->n_vlm_pending},
             {"embedded", s->n_embedded}, {"embed_failed", s->n_embed_failed},
             {"embed_pending", s->n_embed_pending}};
    for (size_t i = 0; i < sizeof n / sizeof *n; i++)
        cJSON_AddNumberToObject(o, n[i].k, (double)n[i].v);
    cJSON_AddNumberToObject(o, "elapsed_s", round(s->elapsed_s * 1000) / 1000);
    char *txt = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return txt;
}

odx_status odx_search(odx_db *db, const char *query, const odx_search_params *p,
                      odx_results **out, odx_err *err)
{
    if (!db || !out)
        return core_err(err, ODX_ERR_INVALID, "no database handle");
    odx_search_params d = ret_search_params_default();
    lib_qembed q;
    lib_query_embed(db->embed, db->s, db->dir, query, p ? p : &d, &q);
    odx_status st = ret_search_embed(db->s, query, p, &q.e, out, err);
    lib_qembed_clear(&q);
    return st;
}

typedef odx_status (*describe_fn)(const cap_desc *d, void *user, odx_err *err);
static odx_status describe_file(const char *path, const odx_caption_params *pin,
                                describe_fn fn, void *user, odx_err *err);

/* An example that is not in the index: its texts embedded as the indexer
 * embeds them (idx_make_vectors), then searched like a stored one. */
typedef struct unindexed {
    odx_db *db;
    const odx_search_params *p;
    odx_results **out;
} unindexed;

static odx_status similar_desc(const cap_desc *d, void *user, odx_err *err)
{
    unindexed *u = user;
    cap_text *ct = NULL;
    int n_ct = 0;
    store_text *t = NULL;
    float *v = NULL;
    store_vec sv[IDX_N_FIELDS];
    int n_sv = 0;
    store_vecs qv = {0};
    odx_status st = cap_desc_texts(d, &ct, &n_ct, err);
    if (st == ODX_OK && !(t = calloc((size_t)n_ct + 1, sizeof *t)))
        st = core_err(err, ODX_ERR_NOMEM, "no memory");
    for (int i = 0; st == ODX_OK && i < n_ct; i++) {
        t[i].kind = ct[i].kind;
        t[i].lang = ct[i].lang;
        t[i].text = ct[i].text;
    }
    if (st == ODX_OK)
        st = idx_make_vectors(t, n_ct, &v, sv, &n_sv, err);
    if (st == ODX_OK) {
        qv.n = n_sv;
        qv.dim = EMB_DIM;
        qv.field = calloc((size_t)n_sv + 1, sizeof *qv.field);
        qv.v = malloc(sizeof(float) * EMB_DIM * ((size_t)n_sv + 1));
        if (!qv.field || !qv.v)
            st = core_err(err, ODX_ERR_NOMEM, "no memory");
        for (int i = 0; st == ODX_OK && i < n_sv; i++) {
            snprintf(qv.field[i], sizeof qv.field[i], "%s", sv[i].field);
            memcpy(qv.v + (size_t)i * EMB_DIM, sv[i].v, sizeof(float) * EMB_DIM);
        }
    }
    if (st == ODX_OK) {
        ret_example ex = {.vecs = &qv, .has_dhash = true, .dhash = d->dhash,
                          .has_dhash_crops = d->has_dhash_crops,
                          .domain = cap_domain_name(d->domain), .exclude_hash = NULL};
        _Static_assert(STORE_N_DHASH_CROPS == CAP_N_DHASH_CROPS, "crop hash counts differ");
        memcpy(ex.dhash_crops, d->dhash_crops, sizeof ex.dhash_crops);
        _Static_assert(STORE_GREY_N == CAP_GREY_N, "grey grid sizes differ");
        ex.has_grey = d->has_grey;
        memcpy(ex.grey, d->grey, sizeof ex.grey);
        st = ret_similar_to(u->db->s, &ex, u->p, u->out, err);
    }
    store_vecs_clear(&qv);
    free(v);
    free(t);
    cap_texts_free(ct, n_ct);
    return st;
}

odx_status odx_similar(odx_db *db, const char *ref, const odx_search_params *p,
                       odx_results **out, odx_err *err)
{
    if (!db || !ref || !*ref || !out)
        return core_err(err, ODX_ERR_INVALID, "similar: missing argument");
    store_image_detail d;
    memset(&d, 0, sizeof d);
    bool found = false;
    char real[PATH_MAX];
    odx_status rc;
    if (ref[0] == '#') {
        char *end = NULL;
        long long id = strtoll(ref + 1, &end, 10);
        if (!end || *end || id <= 0)
            return core_err(err, ODX_ERR_INVALID, "similar: bad image id '%s'", ref);
        rc = store_image_detail_get(db->s, NULL, id, &d, &found, err);
    } else {
        rc = store_image_detail_get(db->s, ref, 0, &d, &found, err);
        if (rc == ODX_OK && !found && realpath(ref, real))
            rc = store_image_detail_get(db->s, real, 0, &d, &found, err);
    }
    struct stat sb;
    if (rc == ODX_OK && !found && ref[0] != '#' && stat(ref, &sb) == 0 && S_ISREG(sb.st_mode)) {
        /* not indexed but a file: described now (the models load for this call) */
        odx_caption_params cp = odx_caption_params_default();
        cp.models_dir = db->models_dir;
        odx_results *res = NULL;
        unindexed u = {db, p, &res};
        store_image_detail_clear(&d);
        rc = describe_file(ref, &cp, similar_desc, &u, err);
        if (rc == ODX_OK && (rc = ret_results_set_example(res, 0, ref, err)) == ODX_OK)
            *out = res;
        else
            ret_results_free(res);
        return rc;
    }
    if (rc == ODX_OK && !found)
        rc = core_err(err, ODX_ERR_NOT_FOUND, "'%s' is neither in the index nor a file", ref);
    else if (rc == ODX_OK && (!d.im.ok || !d.im.hash[0]))
        rc = core_err(err, ODX_ERR_UNINDEXED,
                      "'%s' failed to index, so there is nothing to compare it by", ref);
    else if (rc == ODX_OK) {
        odx_results *res = NULL;
        rc = ret_similar(db->s, d.im.hash, p, &res, err);
        if (rc == ODX_OK && (rc = ret_results_set_example(res, d.im.id, NULL, err)) == ODX_OK)
            *out = res;
        else
            ret_results_free(res);
    }
    store_image_detail_clear(&d);
    return rc;
}

int odx_results_count(const odx_results *r)
{
    return ret_results_count(r);
}

const odx_result *odx_results_get(const odx_results *r, int i)
{
    return ret_results_get(r, i);
}

char *odx_results_json(const odx_results *r)
{
    return ret_results_json(r);
}

char *odx_results_json_object(const odx_results *r)
{
    return ret_results_object_json(r);
}

void odx_results_free(odx_results *r)
{
    ret_results_free(r);
}

odx_status odx_context(odx_db *db, const char *query, const odx_context_params *p,
                       char **out, odx_err *err)
{
    if (!db || !out)
        return core_err(err, ODX_ERR_INVALID, "no database handle");
    odx_context_params d = ret_context_params_default();
    lib_qembed q;
    lib_query_embed(db->embed, db->s, db->dir, query, p ? &p->search : &d.search, &q);
    odx_status st = ret_context_embed(db->s, query, p, &q.e, out, err);
    lib_qembed_clear(&q);
    return st;
}

static char *print_json(cJSON *o, odx_err *err)
{
    char *s = o ? cJSON_Print(o) : NULL;
    cJSON_Delete(o);
    if (!s)
        core_err(err, ODX_ERR_NOMEM, "no memory");
    return s;
}

/* An integer written as the integer it is: a double (cJSON's numbers)
 * loses the last digits of mtime_ns (19 digits). */
static void add_int(cJSON *o, const char *k, int64_t v)
{
    char num[24];
    snprintf(num, sizeof num, "%lld", (long long)v);
    cJSON_AddRawToObject(o, k, num);
}

static void add_text_opt(cJSON *o, const char *k, const char *v)
{
    if (v)
        core_json_add_text(o, k, v);
}

/* The fields of an image row in show's and errors' order; NULL columns
 * are left out. Paths follow the one JSON rule for paths. */
static void add_image(cJSON *o, const store_image_detail *d, bool show)
{
    const store_image *im = &d->im;
    if (show)
        add_int(o, "id", im->id);
    core_json_add_path(o, "path", im->path, strlen(im->path));
    if (!show) {
        add_text_opt(o, "stage", im->err_stage);
        add_text_opt(o, "reason", im->err_reason);
    }
    add_int(o, "size", im->size);
    add_int(o, "mtime_ns", im->mtime_ns);
    if (show) {
        if (im->hash[0])
            core_json_add_text(o, "hash", im->hash);
        core_json_add_text(o, "status", im->ok ? "ok" : "error");
        add_text_opt(o, "error_stage", im->err_stage);
        add_text_opt(o, "error", im->err_reason);
        add_int(o, "indexed_at", d->indexed_at);
        add_text_opt(o, "engine", d->engine_version);
        add_text_opt(o, "embedder", d->embedder);
    } else {
        add_int(o, "at", d->indexed_at);
    }
}

odx_status odx_show_json(odx_db *db, const char *path, char **json, odx_err *err)
{
    if (!db || !path || !json)
        return core_err(err, ODX_ERR_INVALID, "show: missing argument");
    odx_status rc = ODX_OK;
    cJSON *o = NULL;
    char real[PATH_MAX];
    store_image_detail d;
    memset(&d, 0, sizeof d);
    bool found = false;
    if (path[0] == '#') {
        rc = store_image_detail_get(db->s, NULL, strtoll(path + 1, NULL, 10), &d, &found, err);
    } else {
        rc = store_image_detail_get(db->s, path, 0, &d, &found, err);
        if (rc == ODX_OK && !found && realpath(path, real))
            rc = store_image_detail_get(db->s, real, 0, &d, &found, err);
    }
    if (rc != ODX_OK)
        goto done;
    if (!found) {
        rc = core_err(err, ODX_ERR_NOT_FOUND, "'%s' is not in the index", path);
        goto done;
    }
    o = cJSON_CreateObject();
    add_image(o, &d, true);
    if (d.desc_json) {
        cJSON *desc = cJSON_Parse(d.desc_json);
        if (desc)
            cJSON_AddItemToObject(o, "description", desc);
    }
    /* captions by a VLM, beside the native ones in "description" */
    store_vlm_text *vt = NULL;
    int n_vt = 0;
    if (d.im.hash[0] && store_vlm_texts(db->s, d.im.hash, &vt, &n_vt, NULL) == ODX_OK && n_vt) {
        cJSON *a = cJSON_AddArrayToObject(o, "vlm");
        for (int i = 0; i < n_vt; i++) {
            cJSON *c = cJSON_CreateObject();
            cJSON_AddStringToObject(c, "kind", vt[i].kind);
            cJSON_AddStringToObject(c, "lang", vt[i].lang);
            core_json_add_text(c, "text", vt[i].text);
            core_json_add_text(c, "model", vt[i].model ? vt[i].model : "");
            core_json_add_text(c, "prompt", vt[i].prompt ? vt[i].prompt : "");
            cJSON_AddItemToArray(a, c);
        }
    }
    store_vlm_texts_free(vt, n_vt);
    /* other paths holding the same content */
    store_image *copies = NULL;
    int n_copies = 0;
    if (d.im.hash[0] &&
        store_images_of(db->s, d.im.hash, STORE_BY_PATH, &copies, &n_copies, NULL) == ODX_OK) {
        /* copies[i] follows the path rule as an array: copies_b64[i] is
         * the base64 of a copy that is not UTF-8 (null for the others),
         * and copies_b64 is there only when some copy needs it */
        cJSON *a = cJSON_AddArrayToObject(o, "copies");
        cJSON *b64 = cJSON_CreateArray();
        bool any_b64 = false;
        for (int i = 0; i < n_copies; i++) {
            const char *raw = copies[i].path;
            size_t n = strlen(raw);
            char *s = core_utf8_sanitize(raw, n);
            cJSON_AddItemToArray(a, cJSON_CreateString(s ? s : ""));
            free(s);
            if (!core_utf8_valid(raw, n)) {
                char *e = core_base64(raw, n);
                cJSON_AddItemToArray(b64, e ? cJSON_CreateString(e) : cJSON_CreateNull());
                free(e);
                any_b64 = true;
            } else {
                cJSON_AddItemToArray(b64, cJSON_CreateNull());
            }
        }
        if (any_b64)
            cJSON_AddItemToObject(o, "copies_b64", b64);
        else
            cJSON_Delete(b64);
        store_images_free(copies, n_copies);
    }
    *json = print_json(o, err);
    o = NULL;
    if (!*json)
        rc = ODX_ERR_NOMEM;
done:
    cJSON_Delete(o);
    store_image_detail_clear(&d);
    return rc;
}

odx_status odx_stats_json(odx_db *db, char **json, odx_err *err)
{
    if (!db || !json)
        return core_err(err, ODX_ERR_INVALID, "stats: missing argument");
    store_stats s;
    odx_status st = store_refresh(db->s, err);
    if (st == ODX_OK)
        st = store_get_stats(db->s, &s, err);
    if (st != ODX_OK)
        return st;
    cJSON *o = cJSON_CreateObject();
    core_json_add_path(o, "db_dir", db->dir, strlen(db->dir));
    cJSON_AddNumberToObject(o, "images", (double)s.n_images);
    cJSON_AddNumberToObject(o, "errors", (double)s.n_errors);
    cJSON_AddNumberToObject(o, "contents", (double)s.n_content);
    cJSON_AddNumberToObject(o, "vectors", (double)s.n_vectors);
    cJSON_AddNumberToObject(o, "faiss_ntotal", (double)s.faiss_ntotal);
    cJSON_AddStringToObject(o, "index_type", s.index_type);
    cJSON_AddNumberToObject(o, "generation", (double)s.generation);
    cJSON_AddNumberToObject(o, "db_bytes", (double)s.db_bytes);
    cJSON_AddNumberToObject(o, "faiss_bytes", (double)s.faiss_bytes);
    cJSON_AddNumberToObject(o, "free_bytes", (double)s.free_bytes);
    cJSON_AddNumberToObject(o, "tombstones", (double)s.n_tombstones);
    cJSON_AddStringToObject(o, "dense_search", s.dense_search);
    cJSON_AddNumberToObject(o, "ann_ntotal", (double)s.ann_ntotal);
    cJSON_AddNumberToObject(o, "ann_nlist", (double)s.ann_nlist);
    cJSON_AddNumberToObject(o, "ann_nprobe", (double)s.ann_nprobe);
    cJSON_AddNumberToObject(o, "ann_bytes", (double)s.ann_bytes);
    int64_t n_vlm = 0;
    if (store_vlm_count(db->s, &n_vlm, NULL) == ODX_OK)
        cJSON_AddNumberToObject(o, "vlm_contents", (double)n_vlm);
    store_embed_stats es;
    if (store_embed_stats_get(db->s, &es, NULL) == ODX_OK) {
        /* the learned vectors (index --embed): their model, dimension, how
         * many are current, and the last failure of an embeddings pass */
        if (es.model[0]) {
            core_json_add_text(o, "embed_model", es.model);
            cJSON_AddNumberToObject(o, "embed_dim", es.dim);
            cJSON_AddNumberToObject(o, "embed_vectors", (double)es.n_current);
        }
        if (es.last_error[0])
            core_json_add_text(o, "embed_error", es.last_error);
    }
    cJSON_AddStringToObject(o, "engine", CAP_ENGINE_VERSION);
    cJSON_AddStringToObject(o, "embedder", emb_model_id());
    cJSON_AddNumberToObject(o, "dim", EMB_DIM);
    core_json_add_path(o, "models_dir", db->models_dir, strlen(db->models_dir));
    /* images per domain */
    store_domain_count *dc = NULL;
    int n_dc = 0;
    if (store_domain_counts(db->s, &dc, &n_dc, NULL) == ODX_OK) {
        cJSON *d = cJSON_AddObjectToObject(o, "domains");
        for (int i = 0; i < n_dc; i++)
            cJSON_AddNumberToObject(d, dc[i].has_domain ? dc[i].domain : "unknown",
                                    (double)dc[i].n);
        free(dc);
    }
    *json = print_json(o, err);
    return *json ? ODX_OK : ODX_ERR_NOMEM;
}

odx_status odx_errors_json(odx_db *db, char **json, odx_err *err)
{
    if (!db || !json)
        return core_err(err, ODX_ERR_INVALID, "errors: missing argument");
    store_image_detail *v = NULL;
    int n = 0;
    odx_status rc = store_images_failed(db->s, &v, &n, err);
    if (rc != ODX_OK)
        return rc;
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        add_image(o, &v[i], false);
        cJSON_AddItemToArray(a, o);
    }
    store_image_details_free(v, n);
    *json = print_json(a, err);
    return *json ? ODX_OK : ODX_ERR_NOMEM;
}

odx_status odx_skipped_json(odx_db *db, char **json, odx_err *err)
{
    if (!db || !json)
        return core_err(err, ODX_ERR_INVALID, "errors --skipped: missing argument");
    char *val = NULL;
    odx_status st = store_meta_get(db->s, IDX_SKIPPED_KEY, &val, err);
    if (st != ODX_OK)
        return st;
    cJSON *o = val ? cJSON_Parse(val) : NULL;
    free(val);
    if (!cJSON_IsObject(o)) { /* no run yet (or an unreadable record) */
        cJSON_Delete(o);
        o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "total", 0);
        cJSON_AddArrayToObject(o, "reasons");
    }
    *json = print_json(o, err);
    return *json ? ODX_OK : ODX_ERR_NOMEM;
}

odx_status odx_image_decode(const void *data, size_t len, int max_side, int64_t max_pixels,
                            unsigned char **rgb, int *w, int *h, odx_err *err)
{
    if (!data || !rgb || !w || !h || max_side < 0)
        return core_err(err, ODX_ERR_INVALID, "odx_image_decode: bad arguments");
    cap_limits lim = {.max_pixels = max_pixels > 0 ? max_pixels : 100LL * 1000 * 1000};
    cap_image im = {0};
    odx_status st = cap_decode(data, len, "image", &lim, max_side, NULL, &im, err);
    if (st != ODX_OK)
        return st;
    *rgb = im.rgb;
    *w = im.w;
    *h = im.h;
    return ODX_OK;
}

static void check_problem(void *ctx, const char *what, const char *detail)
{
    cJSON *a = ctx, *o = cJSON_CreateObject();
    if (!o)
        return;
    cJSON_AddStringToObject(o, "part", what);
    char *d = core_utf8_sanitize(detail, strlen(detail));
    cJSON_AddStringToObject(o, "detail", d ? d : "");
    free(d);
    cJSON_AddItemToArray(a, o);
}

odx_status odx_compact(odx_db *db, int64_t *bytes_before, int64_t *bytes_after, odx_err *err)
{
    if (!db)
        return core_err(err, ODX_ERR_INVALID, "no database handle");
    if (db->read_only)
        return core_err(err, ODX_ERR_INVALID, "database opened read-only");
    return store_compact_all(db->s, bytes_before, bytes_after, err);
}

odx_status odx_check(const char *dir, const odx_db_params *pin, char **json, odx_err *err)
{
    odx_db_params p = pin ? *pin : odx_db_params_default();
    char path[PATH_MAX];
    struct stat sb;
    int fd = -1;
    if (!json)
        return core_err(err, ODX_ERR_INVALID, "check: missing argument");
    odx_status st = odx_db_dir_resolve(dir, path, sizeof path, err);
    if (st != ODX_OK)
        return st;
    if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return core_err(err, ODX_ERR_NOT_FOUND, "no index in '%s'", path);
    /* At rest: no batch half-written while the parts are compared. */
    if ((st = idx_lock_acquire_for(path, p.wait_lock, p.wait_lock_s, p.cancel, &fd, err)) !=
        ODX_OK)
        return st;
    cJSON *o = cJSON_CreateObject();
    cJSON *probs = cJSON_CreateArray();
    store_check_report r;
    if (!o || !probs) {
        st = core_err(err, ODX_ERR_NOMEM, "no memory");
        goto done;
    }
    st = store_check(path, check_problem, probs, &r, err);
    if (st != ODX_OK)
        goto done;
    cJSON_AddStringToObject(o, "db_dir", path);
    cJSON_AddBoolToObject(o, "ok", r.n_problems == 0);
    cJSON_AddItemToObject(o, "problems", probs);
    probs = NULL;
    cJSON_AddNumberToObject(o, "images", (double)r.n_images);
    cJSON_AddNumberToObject(o, "captions", (double)r.n_captions);
    cJSON_AddNumberToObject(o, "vectors", (double)r.n_vectors);
    cJSON_AddNumberToObject(o, "faiss_ntotal", (double)r.faiss_ntotal);
    *json = print_json(o, err);
    o = NULL;
    if (!*json)
        st = ODX_ERR_NOMEM;
    else if (r.n_problems > 0)
        st = core_err(err, ODX_ERR_CORRUPT, "database '%s' is damaged: %lld problem%s found",
                      path, (long long)r.n_problems, r.n_problems == 1 ? "" : "s");
done:
    cJSON_Delete(o);
    cJSON_Delete(probs);
    idx_lock_release(fd);
    return st;
}

/* Describes one file with engines loaded for this call and hands the
 * description to fn while they are alive; fn's status is returned. */
static odx_status describe_file(const char *path, const odx_caption_params *pin,
                                describe_fn fn, void *user, odx_err *err)
{
    odx_caption_params p = pin ? *pin : odx_caption_params_default();
    cap_config cfg = cap_config_default();
    char *models = resolve_models(p.models_dir);
    cfg.models_dir = models;
    cfg.limits.max_pixels = p.max_pixels;
    cfg.limits.max_file_bytes = p.max_file_bytes;
    cfg.ocr = p.ocr;
    cfg.detect = p.detect;
    cap_engine *e = NULL;
    cap_worker *w = NULL;
    cap_desc *d = NULL;
    uint8_t *data = NULL;
    size_t len = 0;
    odx_status st = core_read_file(path, p.max_file_bytes, &data, &len, err);
    if (st == ODX_OK)
        st = cap_engine_new(&cfg, &e, err);
    if (st == ODX_OK)
        st = cap_worker_new(e, &w, err);
    if (st == ODX_OK)
        st = cap_describe(w, data, len, path, &d, err);
    if (st == ODX_OK)
        st = fn(d, user, err);
    cap_desc_free(d);
    cap_worker_free(w);
    cap_engine_free(e);
    free(data);
    free(models);
    return st;
}

typedef struct caption_out {
    const char *path;
    cJSON **desc;
    char **structure;
} caption_out;

static odx_status caption_desc(const cap_desc *d, void *user, odx_err *err)
{
    caption_out *c = user;
    cJSON *o = cap_desc_to_json(d);
    if (!o)
        return core_err(err, ODX_ERR_NOMEM, "no memory");
    core_json_add_path(o, "path", c->path, strlen(c->path));
    cap_text *t = NULL;
    int n_t = 0;
    if (c->structure && cap_desc_texts(d, &t, &n_t, NULL) == ODX_OK) {
        for (int i = 0; i < n_t && !*c->structure; i++)
            if (strcmp(t[i].kind, "structure") == 0)
                *c->structure = core_strdup(t[i].text);
        cap_texts_free(t, n_t);
    }
    *c->desc = o;
    return ODX_OK;
}

odx_status lib_caption_desc(const char *path, const odx_caption_params *pin, cJSON **desc,
                            char **structure, odx_err *err)
{
    *desc = NULL;
    if (structure)
        *structure = NULL;
    caption_out c = {path, desc, structure};
    return describe_file(path, pin, caption_desc, &c, err);
}

odx_status odx_caption_file(const char *path, const odx_caption_params *p, char **json,
                            odx_err *err)
{
    cJSON *o = NULL;
    odx_status st = lib_caption_desc(path, p, &o, NULL, err);
    if (st == ODX_OK) {
        *json = print_json(o, err);
        if (!*json)
            st = ODX_ERR_NOMEM;
    }
    return st;
}

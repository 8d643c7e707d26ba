/* image.c - odx_image: one indexed image as a typed record (the image row,
 * its stored description and captions, its copies), so that clients never
 * parse odx_show_json; and the vocabularies' public names. Glue over
 * storage's typed reads and core's tables. */
#include "omnidex.h"
#include "core.h"
#include "lib_int.h"
#include "storage.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------ vocabularies ---- */

const char *odx_domain_name(odx_domain d) { return core_domain_name((int)d); }
const char *odx_domain_name_zh(odx_domain d) { return core_domain_name_zh((int)d); }

odx_domain odx_domain_from_name(const char *name)
{
    int d = core_domain_parse(name);
    return d < 0 ? ODX_DOMAIN_UNKNOWN : (odx_domain)d;
}

const char *odx_caption_kind_name(odx_caption_kind k) { return core_caption_kind_name((int)k); }
const char *odx_search_mode_name(odx_search_mode m) { return core_search_mode_name((int)m); }

/* ------------------------------------------------------------- image ---- */

enum { LANG_EN, LANG_ZH, N_LANGS };

struct odx_image {
    odx_image_info info;
    store_image_detail row; /* owns path, hash, errors, engine, embedder */
    cJSON *desc;            /* owns the description's strings */
    const char *caption[2][N_LANGS]; /* detailed, short (borrowed from desc) */
    char *tags[N_LANGS];    /* joined with ", " as stored */
    const char *ocr_text, *ocr_lang;
    char *structure;        /* the stored structure record */
    odx_color *colors;
    odx_object *objects;
    store_image *copies;
    char *own_path;         /* odx_caption_image: the file's path */
    store_vlm_text *vt;     /* VLM captions (owns the strings) */
    odx_vlm_caption *vlm;
};

static const char *str_at(const cJSON *o, const char *k)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, k));
}

static double num_at(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static char *join_tags(const cJSON *a)
{
    if (cJSON_GetArraySize(a) <= 0)
        return NULL;
    core_buf b;
    core_buf_init(&b, 1 << 20);
    const cJSON *it;
    int i = 0;
    cJSON_ArrayForEach(it, a) {
        if (cJSON_IsString(it))
            core_buf_printf(&b, "%s%s", i++ ? ", " : "", it->valuestring);
    }
    return core_buf_steal(&b);
}

/* The description's fields into the record (strings borrowed from it). */
static bool fill_desc(odx_image *im)
{
    odx_image_info *in = &im->info;
    const cJSON *d = im->desc;
    in->format = str_at(d, "format");
    in->width = (int)num_at(d, "width");
    in->height = (int)num_at(d, "height");
    const char *dom = str_at(d, "domain");
    in->domain = dom ? odx_domain_from_name(dom) : ODX_DOMAIN_UNKNOWN;
    in->domain_conf = num_at(d, "domain_conf");
    in->chart_type = str_at(d, "chart_type");
    const cJSON *ex = cJSON_GetObjectItemCaseSensitive(d, "exif");
    if (cJSON_IsObject(ex)) {
        in->has_exif = true;
        int o = (int)num_at(ex, "orientation");
        in->orientation = o >= 1 && o <= 8 ? o : 1;
        in->taken_at = str_at(ex, "taken_at");
        in->camera = str_at(ex, "camera");
    }
    const cJSON *ocr = cJSON_GetObjectItemCaseSensitive(d, "ocr");
    im->ocr_text = str_at(ocr, "text");
    im->ocr_lang = str_at(ocr, "lang");
    in->text_lang = im->ocr_text ? im->ocr_lang : NULL;
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(d, "structure");
    in->table_markdown = str_at(st, "table_markdown");
    in->title = str_at(st, "title");
    in->x_label = str_at(st, "x_label");
    in->y_label = str_at(st, "y_label");
    static const char *const langs[N_LANGS] = {"en", "zh"};
    const cJSON *caps = cJSON_GetObjectItemCaseSensitive(d, "captions");
    for (int l = 0; l < N_LANGS; l++) {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(caps, langs[l]);
        im->caption[0][l] = str_at(c, "detailed");
        im->caption[1][l] = str_at(c, "short");
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(c, "tags");
        if (cJSON_GetArraySize(t) > 0 && !(im->tags[l] = join_tags(t)))
            return false;
    }
    const cJSON *cols = cJSON_GetObjectItemCaseSensitive(d, "colors"), *c;
    int n = cJSON_GetArraySize(cols);
    if (n > 0) {
        if (!(im->colors = calloc((size_t)n, sizeof *im->colors)))
            return false;
        cJSON_ArrayForEach(c, cols) {
            odx_color *x = &im->colors[in->n_colors++];
            x->name = str_at(c, "name");
            x->name_zh = str_at(c, "name_zh");
            x->share = num_at(c, "share");
            x->rgb = str_at(c, "rgb");
        }
    }
    const cJSON *dets =
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(d, "objects"),
                                         "detections");
    n = cJSON_GetArraySize(dets);
    if (n > 0) {
        if (!(im->objects = calloc((size_t)n, sizeof *im->objects)))
            return false;
        cJSON_ArrayForEach(c, dets) {
            odx_object *x = &im->objects[in->n_objects++];
            x->label = str_at(c, "label");
            x->label_zh = str_at(c, "label_zh");
            x->score = num_at(c, "score");
            const cJSON *box = cJSON_GetObjectItemCaseSensitive(c, "box");
            double v[4] = {0, 0, 0, 0};
            for (int k = 0; k < 4 && k < cJSON_GetArraySize(box); k++)
                v[k] = cJSON_GetNumberValue(cJSON_GetArrayItem(box, k));
            x->x0 = v[0], x->y0 = v[1], x->x1 = v[2], x->y1 = v[3];
        }
    }
    return true;
}

void odx_image_free(odx_image *im)
{
    if (!im)
        return;
    store_image_detail_clear(&im->row);
    cJSON_Delete(im->desc);
    for (int l = 0; l < N_LANGS; l++)
        free(im->tags[l]);
    free(im->structure);
    free(im->colors);
    free(im->objects);
    store_images_free(im->copies, im->info.n_copies);
    free(im->own_path);
    store_vlm_texts_free(im->vt, im->info.n_vlm);
    free(im->vlm);
    free(im);
}

odx_status odx_image_get(odx_db *db, const char *ref, odx_image **out, odx_err *err)
{
    store *s = lib_db_store(db);
    if (!s || !ref || !*ref || !out)
        return core_err(err, ODX_ERR_INVALID, "image: missing argument");
    odx_image *im = calloc(1, sizeof *im);
    if (!im)
        return core_err(err, ODX_ERR_NOMEM, "no memory");
    bool found = false;
    odx_status rc;
    if (ref[0] == '#') {
        rc = store_image_detail_get(s, NULL, strtoll(ref + 1, NULL, 10), &im->row, &found, err);
    } else {
        rc = store_image_detail_get(s, ref, 0, &im->row, &found, err);
        char real[PATH_MAX];
        if (rc == ODX_OK && !found && realpath(ref, real))
            rc = store_image_detail_get(s, real, 0, &im->row, &found, err);
    }
    if (rc == ODX_OK && !found)
        rc = core_err(err, ODX_ERR_NOT_FOUND, "'%s' is not in the index", ref);
    if (rc != ODX_OK)
        goto fail;
    const store_image_detail *r = &im->row;
    odx_image_info *in = &im->info;
    in->id = r->im.id;
    in->path = r->im.path;
    in->size = r->im.size;
    in->mtime_ns = r->im.mtime_ns;
    in->indexed_at = r->indexed_at;
    in->hash = r->im.hash[0] ? r->im.hash : NULL;
    in->ok = r->im.ok;
    in->error_stage = r->im.err_stage;
    in->error = r->im.err_reason;
    in->engine = r->engine_version;
    in->embedder = r->embedder;
    in->domain = ODX_DOMAIN_UNKNOWN;
    in->orientation = 1;
    if (r->desc_json) {
        im->desc = cJSON_Parse(r->desc_json);
        if (!im->desc) {
            rc = core_err(err, ODX_ERR_CORRUPT,
                          "the description of '%s' is not valid JSON (the database is damaged:"
                          " run 'omnidex check')", ref);
            goto fail;
        }
        if (!fill_desc(im)) {
            rc = core_err(err, ODX_ERR_NOMEM, "no memory");
            goto fail;
        }
    }
    if (in->hash) {
        store_text *t = NULL;
        int n_t = 0;
        if ((rc = store_content_texts(s, in->hash, &t, &n_t, err)) != ODX_OK)
            goto fail;
        for (int i = 0; i < n_t && !im->structure; i++)
            if (strcmp(t[i].kind, "structure") == 0)
                im->structure = core_strdup(t[i].text);
        store_texts_free(t, n_t);
        if ((rc = store_images_of(s, in->hash, STORE_BY_PATH, &im->copies, &in->n_copies,
                                  err)) != ODX_OK)
            goto fail;
        /* as show: VLM captions are extra, a failure to read them is not */
        int n_vt = 0;
        if (store_vlm_texts(s, in->hash, &im->vt, &n_vt, NULL) == ODX_OK && n_vt > 0) {
            if (!(im->vlm = calloc((size_t)n_vt, sizeof *im->vlm))) {
                store_vlm_texts_free(im->vt, n_vt);
                im->vt = NULL;
                rc = core_err(err, ODX_ERR_NOMEM, "no memory");
                goto fail;
            }
            for (int i = 0; i < n_vt; i++)
                im->vlm[i] = (odx_vlm_caption){im->vt[i].kind, im->vt[i].lang, im->vt[i].text,
                                               im->vt[i].model ? im->vt[i].model : "",
                                               im->vt[i].prompt ? im->vt[i].prompt : ""};
            in->n_vlm = n_vt;
        } else {
            store_vlm_texts_free(im->vt, n_vt);
            im->vt = NULL;
        }
    }
    *out = im;
    return ODX_OK;
fail:
    odx_image_free(im);
    return rc;
}

odx_status odx_caption_image(const char *path, const odx_caption_params *p, odx_image **out,
                             odx_err *err)
{
    if (!path || !out)
        return core_err(err, ODX_ERR_INVALID, "caption: missing argument");
    odx_image *im = calloc(1, sizeof *im);
    if (!im)
        return core_err(err, ODX_ERR_NOMEM, "no memory");
    odx_status rc = lib_caption_desc(path, p, &im->desc, &im->structure, err);
    if (rc == ODX_OK && !(im->own_path = core_strdup(path)))
        rc = core_err(err, ODX_ERR_NOMEM, "no memory");
    if (rc != ODX_OK) {
        odx_image_free(im);
        return rc;
    }
    odx_image_info *in = &im->info;
    in->path = im->own_path;
    in->ok = true;
    in->engine = str_at(im->desc, "engine");
    in->domain = ODX_DOMAIN_UNKNOWN;
    in->orientation = 1;
    if (!fill_desc(im)) {
        odx_image_free(im);
        return core_err(err, ODX_ERR_NOMEM, "no memory");
    }
    *out = im;
    return ODX_OK;
}

const odx_image_info *odx_image_info_get(const odx_image *im)
{
    return im ? &im->info : NULL;
}

static int lang_index(const char *lang)
{
    if (!lang)
        return -1;
    return strcmp(lang, "en") == 0 ? LANG_EN : strcmp(lang, "zh") == 0 ? LANG_ZH : -1;
}

const char *odx_image_caption(const odx_image *im, odx_caption_kind kind, const char *lang)
{
    if (!im)
        return NULL;
    int l = lang_index(lang);
    switch (kind) {
    case ODX_CAPTION_DETAILED: return l >= 0 ? im->caption[0][l] : NULL;
    case ODX_CAPTION_SHORT: return l >= 0 ? im->caption[1][l] : NULL;
    case ODX_CAPTION_TAGS: return l >= 0 ? im->tags[l] : NULL;
    case ODX_CAPTION_OCR:
        if (lang && (!im->ocr_lang || strcmp(lang, im->ocr_lang) != 0))
            return NULL;
        return im->ocr_text;
    case ODX_CAPTION_STRUCTURE: return im->structure;
    default: return NULL;
    }
}

const char *odx_image_ocr_lang(const odx_image *im)
{
    return im && im->ocr_text ? im->ocr_lang : NULL;
}

const odx_color *odx_image_color(const odx_image *im, int i)
{
    return im && i >= 0 && i < im->info.n_colors ? &im->colors[i] : NULL;
}

const odx_object *odx_image_object(const odx_image *im, int i)
{
    return im && i >= 0 && i < im->info.n_objects ? &im->objects[i] : NULL;
}

const odx_vlm_caption *odx_image_vlm(const odx_image *im, int i)
{
    return im && i >= 0 && i < im->info.n_vlm ? &im->vlm[i] : NULL;
}

const char *odx_image_copy(const odx_image *im, int i)
{
    return im && i >= 0 && i < im->info.n_copies ? im->copies[i].path : NULL;
}

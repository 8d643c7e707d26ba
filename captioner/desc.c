/* desc.c - the description record: domain names, freeing, JSON form (what
 * `omnidex caption --json` prints and storage keeps), and the text records
 * (captions, tags, OCR text, structure) that feed FTS and the embedder. */
#include "captioner_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* cap_domain is odx_domain by value: the names are core's one table. */
_Static_assert(CAP_PHOTO == (int)ODX_DOMAIN_PHOTO && CAP_DOCUMENT == (int)ODX_DOMAIN_DOCUMENT &&
                   CAP_TABLE == (int)ODX_DOMAIN_TABLE && CAP_CHART == (int)ODX_DOMAIN_CHART &&
                   CAP_SCREENSHOT == (int)ODX_DOMAIN_SCREENSHOT &&
                   CAP_POSTER == (int)ODX_DOMAIN_POSTER && CAP_DIAGRAM == (int)ODX_DOMAIN_DIAGRAM &&
                   CAP_N_DOMAINS == (int)ODX_N_DOMAINS,
               "cap_domain and odx_domain differ");

const char *cap_domain_name(cap_domain d)
{
    const char *n = core_domain_name((int)d);
    return n ? n : "unknown";
}

const char *cap_domain_name_zh(cap_domain d)
{
    const char *n = core_domain_name_zh((int)d);
    return n ? n : "未知";
}

bool cap_domain_parse(const char *s, cap_domain *d)
{
    /* exact spelling: descriptions are written by cap_domain_name */
    int i = core_domain_parse(s);
    if (i < 0 || strcmp(s, core_domain_name(i)) != 0)
        return false;
    *d = (cap_domain)i;
    return true;
}

static void free_strv(char **v, int n)
{
    for (int i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

void cap_desc_free(cap_desc *d)
{
    if (!d)
        return;
    free(d->text);
    for (int i = 0; i < d->n_lines; i++)
        free(d->lines[i].text);
    free(d->lines);
    free(d->title);
    free(d->table_md);
    free_strv(d->row_sentences, d->n_rows);
    free(d->x_label);
    free(d->y_label);
    free_strv(d->legend, d->n_legend);
    free_strv(d->ticks, d->n_ticks);
    free_strv(d->values, d->n_values);
    free(d->lead);
    free_strv(d->ui_words, d->n_ui_words);
    free(d->objects);
    for (int k = 0; k < CAP_N_KINDS; k++)
        for (int l = 0; l < CAP_N_LANGS; l++)
            free(d->caption[k][l]);
    for (int l = 0; l < CAP_N_LANGS; l++)
        free_strv(d->tags[l], d->n_tags[l]);
    free(d);
}

static void add_str(cJSON *o, const char *k, const char *v)
{
    if (v && *v)
        cJSON_AddStringToObject(o, k, v);
}

static void add_strv(cJSON *o, const char *k, char **v, int n)
{
    if (n <= 0)
        return;
    cJSON *a = cJSON_AddArrayToObject(o, k);
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(v[i] ? v[i] : ""));
}

static double r3(double v) { return (double)(long long)(v * 1000 + (v < 0 ? -0.5 : 0.5)) / 1000; }

cJSON *cap_desc_to_json(const cap_desc *d)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "engine", d->engine_version);
    cJSON_AddStringToObject(o, "format", d->hdr.format);
    cJSON_AddNumberToObject(o, "width", d->width);
    cJSON_AddNumberToObject(o, "height", d->height);
    /* Only what differs from a plain 8-bit still image. */
    if (d->hdr.n_frames > 1)
        cJSON_AddNumberToObject(o, strcmp(d->hdr.format, "tiff") ? "frames" : "pages",
                                d->hdr.n_frames);
    if (d->hdr.animated)
        cJSON_AddBoolToObject(o, "animated", true);
    if (d->hdr.has_alpha)
        cJSON_AddBoolToObject(o, "alpha", true);
    if (d->hdr.bit_depth > 8)
        cJSON_AddNumberToObject(o, "bit_depth", d->hdr.bit_depth);
    if (d->hdr.has_exif) {
        cJSON *ex = cJSON_AddObjectToObject(o, "exif");
        cJSON_AddNumberToObject(ex, "orientation", d->hdr.orientation);
        add_str(ex, "taken_at", d->hdr.taken_at);
        add_str(ex, "camera", d->hdr.camera);
    }
    char dh[17];
    snprintf(dh, sizeof dh, "%016llx", (unsigned long long)d->dhash);
    cJSON_AddStringToObject(o, "dhash", dh);
    cJSON_AddStringToObject(o, "domain", cap_domain_name(d->domain));
    cJSON_AddNumberToObject(o, "domain_conf", r3(d->domain_conf));
    add_str(o, "chart_type", d->chart_type);

    const cap_features *f = &d->feat;
    cJSON *fj = cJSON_AddObjectToObject(o, "features");
#define F(name) cJSON_AddNumberToObject(fj, #name, r3(f->name))
    F(brightness); F(contrast); F(saturation); F(colourfulness); F(n_colors);
    F(white_share); F(black_share); F(gray_share); F(edge_density);
    F(h_rule_share); F(v_rule_share); F(n_h_rules); F(n_v_rules); F(grid_score);
    F(axis_score); F(text_likeness); F(n_text_lines); F(flat_share); F(noise);
    F(sector_score); F(aspect); F(sky); F(water); F(vegetation); F(snow);
    F(sunset); F(night);
#undef F
    cJSON *cj = cJSON_AddArrayToObject(o, "colors");
    for (int i = 0; i < d->n_colors; i++) {
        cJSON *c = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "name", d->colors[i].name);
        cJSON_AddStringToObject(c, "name_zh", d->colors[i].name_zh);
        cJSON_AddNumberToObject(c, "share", r3(d->colors[i].share));
        char hex[8];
        snprintf(hex, sizeof hex, "#%02x%02x%02x", d->colors[i].r, d->colors[i].g,
                 d->colors[i].b);
        cJSON_AddStringToObject(c, "rgb", hex);
        cJSON_AddItemToArray(cj, c);
    }

    cJSON *oj = cJSON_AddObjectToObject(o, "ocr");
    cJSON_AddBoolToObject(oj, "ran", d->ocr_ran);
    if (d->ocr_ran) {
        add_str(oj, "lang", d->text_lang);
        cJSON_AddNumberToObject(oj, "conf", r3(d->text_conf));
        add_str(oj, "text", d->text);
        cJSON *lj = cJSON_AddArrayToObject(oj, "lines");
        for (int i = 0; i < d->n_lines; i++) {
            cJSON *l = cJSON_CreateObject();
            cJSON_AddStringToObject(l, "text", d->lines[i].text ? d->lines[i].text : "");
            cJSON_AddNumberToObject(l, "conf", r3(d->lines[i].conf));
            cJSON *b = cJSON_AddArrayToObject(l, "box");
            int box[4] = {d->lines[i].x, d->lines[i].y, d->lines[i].w, d->lines[i].h};
            for (int k = 0; k < 4; k++)
                cJSON_AddItemToArray(b, cJSON_CreateNumber(box[k]));
            cJSON_AddItemToArray(lj, l);
        }
    }

    cJSON *sj = cJSON_AddObjectToObject(o, "structure");
    add_str(sj, "title", d->title);
    add_str(sj, "table_markdown", d->table_md);
    if (d->n_rows || d->n_cols) {
        cJSON_AddNumberToObject(sj, "rows", d->n_rows);
        cJSON_AddNumberToObject(sj, "columns", d->n_cols);
    }
    add_strv(sj, "row_sentences", d->row_sentences, d->row_sentences ? d->n_rows : 0);
    add_str(sj, "x_label", d->x_label);
    add_str(sj, "y_label", d->y_label);
    add_strv(sj, "legend", d->legend, d->n_legend);
    add_strv(sj, "ticks", d->ticks, d->n_ticks);
    if (d->n_bars)
        cJSON_AddNumberToObject(sj, "bars", d->n_bars);
    add_strv(sj, "values", d->values, d->n_values);
    if (d->n_values)
        cJSON_AddBoolToObject(sj, "values_estimated", d->values_estimated);
    if (d->n_text_columns)
        cJSON_AddNumberToObject(sj, "text_columns", d->n_text_columns);
    add_str(sj, "lead", d->lead);
    add_strv(sj, "ui_words", d->ui_words, d->n_ui_words);

    cJSON *dj = cJSON_AddObjectToObject(o, "objects");
    cJSON_AddBoolToObject(dj, "ran", d->det_ran);
    cJSON *dl = cJSON_AddArrayToObject(dj, "detections");
    for (int i = 0; i < d->n_objects; i++) {
        const cap_object *ob = &d->objects[i];
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "label", ob->label ? ob->label : "");
        cJSON_AddStringToObject(x, "label_zh", ob->label_zh ? ob->label_zh : "");
        cJSON_AddNumberToObject(x, "score", r3(ob->score));
        cJSON *b = cJSON_AddArrayToObject(x, "box");
        float box[4] = {ob->x0, ob->y0, ob->x1, ob->y1};
        for (int k = 0; k < 4; k++)
            cJSON_AddItemToArray(b, cJSON_CreateNumber(r3(box[k])));
        cJSON_AddItemToArray(dl, x);
    }

    static const char *const langs[CAP_N_LANGS] = {"en", "zh"};
    cJSON *cap = cJSON_AddObjectToObject(o, "captions");
    for (int l = 0; l < CAP_N_LANGS; l++) {
        cJSON *c = cJSON_AddObjectToObject(cap, langs[l]);
        add_str(c, "detailed", d->caption[CAP_DETAILED][l]);
        add_str(c, "short", d->caption[CAP_SHORT][l]);
        cJSON *t = cJSON_AddArrayToObject(c, "tags");
        for (int i = 0; i < d->n_tags[l]; i++)
            cJSON_AddItemToArray(t, cJSON_CreateString(d->tags[l][i]));
    }
    cJSON *tm = cJSON_AddObjectToObject(o, "timing_ms");
    cJSON_AddNumberToObject(tm, "decode", r3(d->ms_decode));
    cJSON_AddNumberToObject(tm, "features", r3(d->ms_features));
    cJSON_AddNumberToObject(tm, "ocr", r3(d->ms_ocr));
    cJSON_AddNumberToObject(tm, "detect", r3(d->ms_detect));
    cJSON_AddNumberToObject(tm, "total", r3(d->ms_total));
    return o;
}

/* The structure record: what a table or chart says, in plain lines, so
 * that it is both searchable and readable in an LLM context block. */
static char *structure_text(const cap_desc *d)
{
    core_buf b;
    core_buf_init(&b, 1 << 20);
    if (d->title)
        core_buf_printf(&b, "Title: %s\n", d->title);
    if (d->x_label)
        core_buf_printf(&b, "X axis: %s\n", d->x_label);
    if (d->y_label)
        core_buf_printf(&b, "Y axis: %s\n", d->y_label);
    for (int i = 0; i < d->n_legend; i++)
        core_buf_printf(&b, "%s%s", i ? ", " : "Legend: ", d->legend[i]);
    if (d->n_legend)
        core_buf_puts(&b, "\n");
    if (d->n_bars)
        core_buf_printf(&b, "Bars: %d\n", d->n_bars);
    for (int i = 0; i < d->n_values; i++)
        core_buf_printf(&b, "%s%s", i ? ", " : d->values_estimated ? "Values (read off the bars): "
                                                                    : "Values: ",
                        d->values[i]);
    if (d->n_values)
        core_buf_puts(&b, "\n");
    for (int i = 0; i < d->n_ticks && i < 40; i++)
        core_buf_printf(&b, "%s%s", i ? ", " : "Ticks: ", d->ticks[i]);
    if (d->n_ticks)
        core_buf_puts(&b, "\n");
    if (d->table_md)
        core_buf_printf(&b, "%s\n", d->table_md);
    for (int i = 0; d->row_sentences && i < d->n_rows; i++)
        if (d->row_sentences[i])
            core_buf_printf(&b, "%s\n", d->row_sentences[i]);
    for (int i = 0; i < d->n_ui_words; i++)
        core_buf_printf(&b, "%s%s", i ? ", " : "Controls: ", d->ui_words[i]);
    if (d->n_ui_words)
        core_buf_puts(&b, "\n");
    return core_buf_steal(&b);
}

static char *join_tags(char **v, int n)
{
    core_buf b;
    core_buf_init(&b, 1 << 16);
    for (int i = 0; i < n; i++)
        core_buf_printf(&b, "%s%s", i ? ", " : "", v[i]);
    return core_buf_steal(&b);
}

odx_status cap_desc_texts(const cap_desc *d, cap_text **out, int *n, odx_err *err)
{
    static const char *const langs[CAP_N_LANGS] = {"en", "zh"};
    cap_text *t = calloc(8, sizeof *t);
    int k = 0;
    if (!t)
        return core_err(err, ODX_ERR_NOMEM, "no memory");
    for (int l = 0; l < CAP_N_LANGS; l++) {
        if (d->caption[CAP_DETAILED][l] && *d->caption[CAP_DETAILED][l])
            t[k++] = (cap_text){"detailed", langs[l], core_strdup(d->caption[CAP_DETAILED][l])};
        if (d->caption[CAP_SHORT][l] && *d->caption[CAP_SHORT][l])
            t[k++] = (cap_text){"short", langs[l], core_strdup(d->caption[CAP_SHORT][l])};
        if (d->n_tags[l])
            t[k++] = (cap_text){"tags", langs[l], join_tags(d->tags[l], d->n_tags[l])};
    }
    if (d->text && *d->text)
        t[k++] = (cap_text){"ocr", d->text_lang[0] ? d->text_lang : "und", core_strdup(d->text)};
    char *s = structure_text(d);
    if (s && *s)
        t[k++] = (cap_text){"structure", "en", s};
    else
        free(s);
    for (int i = 0; i < k; i++) {
        if (!t[i].text) {
            cap_texts_free(t, k);
            return core_err(err, ODX_ERR_NOMEM, "no memory");
        }
    }
    *out = t;
    *n = k;
    return ODX_OK;
}

void cap_texts_free(cap_text *t, int n)
{
    for (int i = 0; t && i < n; i++)
        free(t[i].text);
    free(t);
}

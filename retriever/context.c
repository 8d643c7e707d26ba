/* context.c - the RAG context block: the top images of a search rendered
 * for an LLM prompt (Markdown or JSON) within a character budget, ending
 * with an instruction to cite images by number. */
#include "retriever.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#define CITE_EN "Cite the images you use by their number, e.g. [1]."

/* Cuts s to at most max bytes on a UTF-8 boundary, preferring a line or
 * word end, and marks the cut with an ellipsis. Returns malloc'd text. */
static char *trim_text(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n <= max)
        return core_strdup(s);
    if (max < 8)
        return core_strdup("");
    size_t cut = max - 3;
    while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
        cut--;
    size_t soft = cut;
    while (soft > cut * 2 / 3 && s[soft] != '\n' && s[soft] != ' ')
        soft--;
    if (soft > cut * 2 / 3)
        cut = soft;
    char *o = malloc(cut + 4);
    if (!o)
        return NULL;
    memcpy(o, s, cut);
    memcpy(o + cut, "...", 4);
    return o;
}

/* Appends untrusted text (a file name, OCR text) with its control
 * characters escaped: the block is read on terminals and by LLMs. */
static void put_safe(core_buf *b, const char *s, bool multiline)
{
    char *t = core_text_escape(s, s ? strlen(s) : 0, multiline);
    core_buf_puts(b, t ? t : "");
    free(t);
}

static void md_block(core_buf *b, int num, const odx_result *r, size_t text_budget)
{
    core_buf_printf(b, "### [%d] ", num);
    put_safe(b, r->path, false);
    core_buf_printf(b, "\n- domain: %s; size: %dx%d; relevance: %.2f\n",
                    r->domain ? r->domain : "unknown", r->width, r->height, r->score);
    const char *cap = r->detailed_caption ? r->detailed_caption : r->short_caption;
    if (cap) {
        core_buf_puts(b, "- caption: ");
        put_safe(b, cap, false);
        core_buf_puts(b, "\n");
    }
    size_t used = 0;
    /* a VLM's caption (store_vlm.c) is its own line: often the richer
     * one, it shares the text budget with the structure and OCR text */
    if (r->vlm_caption && *r->vlm_caption && text_budget > 40) {
        char *t = trim_text(r->vlm_caption, text_budget / 2 > 200 ? text_budget / 2 : text_budget);
        if (t && *t) {
            core_buf_puts(b, "- VLM caption (");
            put_safe(b, r->vlm_model ? r->vlm_model : "?", false);
            core_buf_puts(b, "): ");
            put_safe(b, t, true);
            core_buf_puts(b, "\n");
            used = strlen(t);
        }
        free(t);
    }
    if (r->structure && *r->structure && text_budget > used + 40) {
        size_t left = text_budget - used;
        char *t = trim_text(r->structure, left / 2 > 200 ? left / 2 : left);
        if (t) {
            core_buf_puts(b, "- structure:\n\n");
            put_safe(b, t, true);
            core_buf_puts(b, "\n\n");
            used += strlen(t);
            free(t);
        }
    }
    if (r->ocr_text && *r->ocr_text && text_budget > used + 40) {
        char *t = trim_text(r->ocr_text, text_budget - used);
        if (t && *t) {
            core_buf_puts(b, "- text in the image:\n\n```\n");
            put_safe(b, t, true);
            core_buf_puts(b, "\n```\n");
        }
        free(t);
    }
    core_buf_puts(b, "\n");
}

static cJSON *json_block(int num, const odx_result *r, size_t text_budget)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "number", num);
    core_json_add_path(o, "path", r->path, strlen(r->path));
    cJSON_AddStringToObject(o, "domain", r->domain ? r->domain : "unknown");
    cJSON_AddNumberToObject(o, "score", (double)(int)(r->score * 1000 + 0.5) / 1000);
    if (r->detailed_caption)
        core_json_add_text(o, "caption", r->detailed_caption);
    if (r->vlm_caption) {
        char *t = trim_text(r->vlm_caption, text_budget / 2 > 200 ? text_budget / 2 : text_budget);
        if (t && *t) {
            core_json_add_text(o, "vlm_caption", t);
            core_json_add_text(o, "vlm_model", r->vlm_model ? r->vlm_model : "");
        }
        free(t);
    }
    size_t used = 0;
    if (r->structure && *r->structure) {
        char *t = trim_text(r->structure, text_budget / 2 > 200 ? text_budget / 2 : text_budget);
        if (t) {
            core_json_add_text(o, "structure", t);
            used = strlen(t);
        }
        free(t);
    }
    if (r->ocr_text && *r->ocr_text && text_budget > used + 40) {
        char *t = trim_text(r->ocr_text, text_budget - used);
        if (t && *t)
            core_json_add_text(o, "text", t);
        free(t);
    }
    return o;
}

odx_context_params ret_context_params_default(void)
{
    odx_context_params p;
    memset(&p, 0, sizeof p);
    p.search = ret_search_params_default();
    p.search.k = 5;
    p.max_chars = 12000; /* about 3k tokens: fits a 4k window with a question */
    return p;
}

odx_status ret_context(store *s, const char *query, const odx_context_params *pin,
                       char **out, odx_err *err)
{
    return ret_context_embed(s, query, pin, NULL, out, err);
}

odx_status ret_context_embed(store *s, const char *query, const odx_context_params *pin,
                             const ret_embed *emb, char **out, odx_err *err)
{
    odx_context_params p = pin ? *pin : ret_context_params_default();
    if (p.max_chars < 200 || p.max_chars > 10000000)
        return core_err(err, ODX_ERR_INVALID, "max-chars must be between 200 and 10000000");
    odx_results *res = NULL;
    odx_status st = ret_search_embed(s, query, &p.search, emb, &res, err);
    if (st != ODX_OK)
        return st;
    int n = ret_results_count(res);
    size_t budget = (size_t)p.max_chars;
    core_buf b;
    core_buf_init(&b, budget * 2 + 4096);
    if (p.json) {
        cJSON *o = cJSON_CreateObject();
        core_json_add_text(o, "query", query);
        cJSON *a = cJSON_AddArrayToObject(o, "images");
        cJSON_AddStringToObject(o, "instruction", CITE_EN);
        size_t used = strlen(query) + 200;
        for (int i = 0; i < n; i++) {
            if (used >= budget)
                break;
            size_t share = (budget - used) / (size_t)(n - i);
            cJSON *blk = json_block(i + 1, ret_results_get(res, i), share > 300 ? share - 300 : 0);
            char *txt = cJSON_PrintUnformatted(blk);
            size_t bl = txt ? strlen(txt) : 0;
            free(txt);
            if (used + bl > budget && i > 0) {
                cJSON_Delete(blk);
                break;
            }
            used += bl;
            cJSON_AddItemToArray(a, blk);
        }
        char *txt = cJSON_Print(o);
        cJSON_Delete(o);
        ret_results_free(res);
        if (!txt)
            return core_err(err, ODX_ERR_NOMEM, "no memory");
        *out = txt;
        return ODX_OK;
    }
    core_buf_puts(&b, "## Images relevant to: ");
    put_safe(&b, query, false);
    core_buf_puts(&b, "\n\n");
    if (n == 0)
        core_buf_puts(&b, "No indexed image matches this query.\n\n");
    size_t tail = strlen(CITE_EN) + 2;
    for (int i = 0; i < n; i++) {
        if (b.len + tail >= budget)
            break;
        size_t left = budget - b.len - tail;
        size_t share = left / (size_t)(n - i);
        core_buf one;
        core_buf_init(&one, budget * 2 + 1024);
        const odx_result *r = ret_results_get(res, i);
        md_block(&one, i + 1, r, share > 400 ? share - 400 : 0);
        if (b.len + one.len + tail > budget) {
            /* too long even without text: keep at least the header + caption */
            core_buf_free(&one);
            md_block(&one, i + 1, r, 0);
            if (b.len + one.len + tail > budget) {
                core_buf_free(&one);
                break;
            }
        }
        core_buf_append(&b, one.data, one.len);
        core_buf_free(&one);
    }
    core_buf_puts(&b, CITE_EN "\n");
    ret_results_free(res);
    if (b.overflow) {
        core_buf_free(&b);
        return core_err(err, ODX_ERR_NOMEM, "context block too large");
    }
    *out = core_buf_steal(&b);
    return ODX_OK;
}

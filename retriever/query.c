/* query.c - splits a user query into free text and inline filters
 * (domain:chart lang:zh after:2024-01-01 before:... path:... ext:png
 * minw:800 minh:600 minsize:200K maxsize:5M). First stop of every search. */
#include "retriever.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* Inline filter words and the search parameter each one sets (the parser
 * of values is ret_param_set, shared with CLI flags and HTTP). lang: is
 * the language of the visible text, as it always was inline. */
static const struct {
    const char *word, *param;
} INLINE_KEYS[] = {{"domain", "domain"}, {"lang", "text_lang"}, {"after", "after"},
                   {"before", "before"}, {"path", "path"},     {"ext", "ext"},
                   {"minw", "min_width"}, {"minh", "min_height"},
                   {"minsize", "min_size"}, {"maxsize", "max_size"}};

static odx_status set_once(char **slot, const char *v, size_t n, odx_err *err)
{
    free(*slot);
    *slot = malloc(n + 1);
    if (!*slot)
        return core_err(err, ODX_ERR_NOMEM, "no memory");
    memcpy(*slot, v, n);
    (*slot)[n] = '\0';
    return ODX_OK;
}

odx_status ret_query_parse(const char *q, ret_query *out, odx_err *err)
{
    memset(out, 0, sizeof *out);
    if (!q)
        return core_err(err, ODX_ERR_INVALID, "no query given");
    size_t qlen = strlen(q);
    if (qlen > RET_MAX_QUERY_BYTES)
        return core_err(err, ODX_ERR_INVALID, "query is %zu bytes, over the limit of %d",
                        qlen, RET_MAX_QUERY_BYTES);
    char *clean = core_utf8_sanitize(q, qlen);
    core_buf text;
    core_buf_init(&text, RET_MAX_QUERY_BYTES * 3 + 16);
    odx_status st = ODX_OK;
    const char *p = clean;
    while (*p) {
        while (*p && isspace((unsigned char)*p))
            p++;
        if (!*p)
            break;
        const char *w = p;
        while (*p && !isspace((unsigned char)*p))
            p++;
        size_t wn = (size_t)(p - w);
        const char *colon = memchr(w, ':', wn);
        bool is_filter = false;
        if (colon && colon > w && colon + 1 < w + wn) {
            size_t kn = (size_t)(colon - w);
            const char *v = colon + 1;
            size_t vn = wn - kn - 1;
            char key[16], val[512];
            if (kn < sizeof key && vn < sizeof val) {
                memcpy(key, w, kn);
                key[kn] = 0;
                memcpy(val, v, vn);
                val[vn] = 0;
                for (char *c = key; *c; c++)
                    *c = (char)tolower((unsigned char)*c);
                const char *param = NULL;
                for (size_t i = 0; i < sizeof INLINE_KEYS / sizeof *INLINE_KEYS && !param; i++)
                    if (strcmp(key, INLINE_KEYS[i].word) == 0)
                        param = INLINE_KEYS[i].param;
                is_filter = param != NULL;
                if (param) {
                    odx_search_params f;
                    memset(&f, 0, sizeof f);
                    st = ret_param_set(&f, param, val, err);
                    if (st != ODX_OK)
                        goto done;
                    const char *sv = NULL;
                    char **slot = NULL;
                    if (f.domain)
                        sv = f.domain, slot = &out->domain;
                    else if (f.text_lang)
                        sv = f.text_lang, slot = &out->lang;
                    else if (f.after)
                        sv = f.after, slot = &out->after;
                    else if (f.before)
                        sv = f.before, slot = &out->before;
                    else if (f.path_prefix)
                        sv = f.path_prefix, slot = &out->path_prefix;
                    else if (f.ext)
                        sv = f.ext, slot = &out->ext;
                    else if (strcmp(param, "min_width") == 0)
                        out->min_width = f.min_width;
                    else if (strcmp(param, "min_height") == 0)
                        out->min_height = f.min_height;
                    else if (strcmp(param, "min_size") == 0)
                        out->min_size = f.min_size;
                    else
                        out->max_size = f.max_size;
                    if (slot)
                        st = set_once(slot, sv, strlen(sv), err);
                }
                if (st != ODX_OK)
                    goto done;
            }
        }
        if (!is_filter) {
            if (text.len)
                core_buf_puts(&text, " ");
            core_buf_append(&text, w, wn);
        }
    }
    out->text = core_buf_steal(&text);
done:
    core_buf_free(&text);
    free(clean);
    if (st != ODX_OK)
        ret_query_free(out);
    return st;
}

void ret_query_free(ret_query *q)
{
    if (!q)
        return;
    free(q->text);
    free(q->domain);
    free(q->lang);
    free(q->path_prefix);
    free(q->ext);
    free(q->after);
    free(q->before);
    memset(q, 0, sizeof *q);
}

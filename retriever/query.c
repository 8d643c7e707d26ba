/* query.c - splits a user query into free text and inline filters
 * (domain:chart lang:zh after:2024-01-01 before:... path:... ext:png
 * minw:800 minh:600). First stop of every search. */
#include "retriever.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static const char *const DOMAINS[] = {"photo", "document", "table", "chart",
                                      "screenshot", "poster", "diagram", NULL};

static bool valid_date(const char *s)
{
    /* YYYY-MM-DD, or YYYY-MM, or YYYY */
    size_t n = strlen(s);
    if (n != 4 && n != 7 && n != 10)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (i == 4 || i == 7) {
            if (s[i] != '-')
                return false;
        } else if (!isdigit((unsigned char)s[i])) {
            return false;
        }
    }
    if (n >= 7) {
        int m = atoi(s + 5);
        if (m < 1 || m > 12)
            return false;
    }
    if (n == 10) {
        int d = atoi(s + 8);
        if (d < 1 || d > 31)
            return false;
    }
    return true;
}

static bool in_list(const char *v, const char *const *list)
{
    for (int i = 0; list[i]; i++)
        if (strcmp(v, list[i]) == 0)
            return true;
    return false;
}

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
                is_filter = true;
                if (strcmp(key, "domain") == 0) {
                    for (char *c = val; *c; c++)
                        *c = (char)tolower((unsigned char)*c);
                    if (!in_list(val, DOMAINS)) {
                        st = core_err(err, ODX_ERR_INVALID,
                                      "unknown domain '%s' (photo, document, table, chart, "
                                      "screenshot, poster, diagram)", val);
                        goto done;
                    }
                    st = set_once(&out->domain, val, vn, err);
                } else if (strcmp(key, "lang") == 0) {
                    if (strcmp(val, "en") != 0 && strcmp(val, "zh") != 0) {
                        st = core_err(err, ODX_ERR_INVALID, "unknown language '%s' (en, zh)", val);
                        goto done;
                    }
                    st = set_once(&out->lang, val, vn, err);
                } else if (strcmp(key, "after") == 0 || strcmp(key, "before") == 0) {
                    if (!valid_date(val)) {
                        st = core_err(err, ODX_ERR_INVALID,
                                      "bad date '%s' for %s: (use YYYY-MM-DD)", val, key);
                        goto done;
                    }
                    st = set_once(key[0] == 'a' ? &out->after : &out->before, val, vn, err);
                } else if (strcmp(key, "path") == 0) {
                    st = set_once(&out->path_prefix, val, vn, err);
                } else if (strcmp(key, "ext") == 0) {
                    const char *e = val[0] == '.' ? val + 1 : val;
                    st = set_once(&out->ext, e, strlen(e), err);
                } else if (strcmp(key, "minw") == 0 || strcmp(key, "minh") == 0) {
                    char *end;
                    long n = strtol(val, &end, 10);
                    if (*end || n < 0 || n > 1000000) {
                        st = core_err(err, ODX_ERR_INVALID, "bad size '%s' for %s:", val, key);
                        goto done;
                    }
                    if (key[3] == 'w')
                        out->min_width = (int)n;
                    else
                        out->min_height = (int)n;
                } else {
                    is_filter = false;
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

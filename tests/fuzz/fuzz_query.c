/* fuzz_query.c - libFuzzer target: the query parser with its inline filters
 * (ret_query_parse) and the one parameter parser behind CLI flags, inline
 * filters and HTTP arguments (ret_param_set, ret_params_check).
 * Input: the first line is a query; each further line is "key=value" for
 * ret_param_set. Invariants: a parsed query's text is valid UTF-8 no longer
 * than three times the input, accepted dates are real calendar dates, a
 * refusal carries a message and leaves the parameters as they were.
 * Seeds: corpus/fuzz_query. */
#include "fuzz.h"
#include "retriever.h"

#include <string.h>

static bool valid_utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int n = *p < 0x80 ? 0 : (*p & 0xE0) == 0xC0 ? 1 : (*p & 0xF0) == 0xE0 ? 2
              : (*p & 0xF8) == 0xF0 ? 3 : -1;
        if (n < 0) return false;
        p++;
        for (int i = 0; i < n; i++, p++)
            if ((*p & 0xC0) != 0x80) return false;
    }
    return true;
}

static void check_date(const char *d, const char *what)
{
    if (!d) return;
    char why[128];
    FUZZ_CHECK(ret_date_valid(d, why, sizeof why), "%s '%s' accepted: %s", what, d, why);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = malloc(size + 1);
    if (!in) return 0;
    memcpy(in, data, size);
    in[size] = 0;
    char *nl = strchr(in, '\n');
    if (nl) *nl = 0;

    ret_query q;
    odx_err err = {0};
    odx_status st = ret_query_parse(in, &q, &err);
    FUZZ_NOTE("query: %s", st == ODX_OK ? q.text : err.msg);
    if (st == ODX_OK) {
        FUZZ_CHECK(q.text, "no text");
        FUZZ_CHECK(strlen(q.text) <= 3 * strlen(in), "text grew: %zu", strlen(q.text));
        FUZZ_CHECK(valid_utf8(q.text), "text is not UTF-8");
        check_date(q.after, "after");
        check_date(q.before, "before");
        FUZZ_CHECK(q.min_width >= 0 && q.min_width <= RET_MAX_SIDE, "minw %d", q.min_width);
        FUZZ_CHECK(q.min_height >= 0 && q.min_height <= RET_MAX_SIDE, "minh %d", q.min_height);
        ret_query_free(&q);
    } else {
        FUZZ_CHECK(err.msg[0], "query refused (%d) without a message", st);
        FUZZ_CHECK(!q.text, "text left after a refusal");
    }

    odx_search_params p = ret_search_params_default();
    char *line = nl ? nl + 1 : NULL;
    while (line && *line) {
        char *next = strchr(line, '\n');
        if (next) *next++ = 0;
        char *eq = strchr(line, '=');
        if (eq) {
            *eq = 0;
            odx_search_params before;
            memcpy(&before, &p, sizeof p);
            odx_err e = {0};
            st = ret_param_set(&p, line, eq + 1, &e);
            if (st != ODX_OK) {
                FUZZ_CHECK(e.msg[0], "'%s' refused (%d) without a message", line, st);
                FUZZ_CHECK(memcmp(&before, &p, sizeof p) == 0, "'%s' changed params on failure",
                           line);
            } else {
                check_date(p.after, "after");
                check_date(p.before, "before");
                FUZZ_CHECK(p.k >= 1 && p.k <= RET_MAX_K, "k %d", p.k);
            }
        }
        line = next;
    }
    odx_err e = {0};
    st = ret_params_check(&p, &e);
    FUZZ_CHECK(st == ODX_OK || e.msg[0], "check refused without a message");
    free(in);
    return 0;
}

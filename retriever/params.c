/* params.c - the one parser of search parameters: CLI flags, inline query
 * filters (query.c) and HTTP arguments all set odx_search_params through
 * ret_param_set, so a value is accepted or refused the same way, with the
 * same message, wherever it is written. */
#include "retriever.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>


static bool is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int ret_days_in_month(int year, int month)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month < 1 || month > 12)
        return 0;
    return month == 2 && is_leap(year) ? 29 : days[month - 1];
}

static bool digits(const char *s, int n)
{
    for (int i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return true;
}

/* YYYY, YYYY-MM or YYYY-MM-DD naming a real day of the Gregorian calendar
 * (year 0001-9999). On failure writes why into why[why_len]. */
bool ret_date_valid(const char *s, char *why, size_t why_len)
{
    static const char *const MONTHS[] = {"January", "February", "March",     "April",
                                         "May",     "June",     "July",      "August",
                                         "September", "October", "November", "December"};
    size_t n = s ? strlen(s) : 0;
    bool shape = (n == 4 || n == 7 || n == 10) && digits(s, 4) &&
                 (n < 7 || (s[4] == '-' && digits(s + 5, 2))) &&
                 (n < 10 || (s[7] == '-' && digits(s + 8, 2)));
    if (!shape) {
        snprintf(why, why_len, "use YYYY-MM-DD, YYYY-MM or YYYY");
        return false;
    }
    int y = atoi(s);
    if (y < 1) {
        snprintf(why, why_len, "there is no year 0000");
        return false;
    }
    if (n >= 7) {
        int m = (s[5] - '0') * 10 + (s[6] - '0');
        if (m < 1 || m > 12) {
            snprintf(why, why_len, "month %02d does not exist", m);
            return false;
        }
        if (n == 10) {
            int d = (s[8] - '0') * 10 + (s[9] - '0');
            int dim = ret_days_in_month(y, m);
            if (d < 1 || d > dim) {
                snprintf(why, why_len, "%s %d has %d days", MONTHS[m - 1], y, dim);
                return false;
            }
        }
    }
    return true;
}

static bool parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    if (!*s || isspace((unsigned char)*s))
        return false;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

static bool parse_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    if (!*s || isspace((unsigned char)*s))
        return false;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || !(v >= lo && v <= hi))
        return false;
    *out = v;
    return true;
}

bool ret_size_parse(const char *s, int64_t *out)
{
    static const struct {
        char c;
        double mul;
    } UNITS[] = {{'k', 1024.0}, {'m', 1048576.0}, {'g', 1073741824.0}};
    if (!s || !isdigit((unsigned char)*s))
        return false;
    const char *p = s;
    double v = 0;
    while (isdigit((unsigned char)*p) && v <= (double)RET_MAX_SIZE)
        v = v * 10 + (*p++ - '0');
    bool frac = *p == '.';
    if (frac) {
        p++;
        if (!isdigit((unsigned char)*p))
            return false;
        for (double scale = 0.1; isdigit((unsigned char)*p); p++, scale /= 10)
            v += (*p - '0') * scale;
    }
    double mul = 1;
    for (size_t i = 0; i < sizeof UNITS / sizeof *UNITS; i++)
        if (tolower((unsigned char)*p) == UNITS[i].c) {
            mul = UNITS[i].mul;
            p++;
            if (*p == 'i' || *p == 'I') { /* KiB, MiB: the same */
                if (p[1] != 'b' && p[1] != 'B')
                    return false;
                p++;
            }
            break;
        }
    if (*p == 'b' || *p == 'B')
        p++;
    if (*p || (frac && mul == 1))
        return false;
    v *= mul;
    if (!(v <= (double)RET_MAX_SIZE))
        return false;
    *out = (int64_t)v;
    return true;
}

static bool parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"", "1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    for (size_t i = 0; i < sizeof yes / sizeof *yes; i++)
        if (strcasecmp(s, yes[i]) == 0)
            return *out = true, true;
    for (size_t i = 0; i < sizeof no / sizeof *no; i++)
        if (strcasecmp(s, no[i]) == 0)
            return *out = false, true;
    return false;
}

/* "en"/"zh" as static strings, so the params never borrow the caller's. */
static const char *lang_of(const char *v)
{
    if (strcasecmp(v, "en") == 0)
        return "en";
    if (strcasecmp(v, "zh") == 0)
        return "zh";
    return NULL;
}

/* Keys compare with '-' and '_' alike and case-insensitively, so the CLI's
 * --min-width, HTTP's min_width and the inline minw: meet here. */
static bool key_is(const char *key, const char *name)
{
    for (; *key && *name; key++, name++) {
        char a = *key == '-' ? '_' : (char)tolower((unsigned char)*key);
        if (a != *name)
            return false;
    }
    return *key == 0 && *name == 0;
}

odx_status ret_param_set(odx_search_params *p, const char *key, const char *value,
                         odx_err *err)
{
    if (!p || !key)
        return core_err(err, ODX_ERR_INVALID, "search parameter: missing argument");
    const char *v = value ? value : "";
    char why[96];
    long n;
    double d;
    if (key_is(key, "k")) {
        if (!parse_long(v, 1, RET_MAX_K, &n))
            return core_err(err, ODX_ERR_INVALID,
                            "bad k '%s' (a whole number from 1 to %d)", v, RET_MAX_K);
        p->k = (int)n;
    } else if (key_is(key, "lang") || key_is(key, "text_lang")) {
        bool text = key_is(key, "text_lang");
        const char *l = *v ? lang_of(v) : NULL;
        if (*v && !l)
            return core_err(err, ODX_ERR_INVALID, "unknown %s '%s' (en or zh)",
                            text ? "text language" : "caption language", v);
        if (text)
            p->text_lang = l;
        else
            p->lang = l;
    } else if (key_is(key, "domain")) {
        const char *dom = *v ? core_domain_name(core_domain_parse(v)) : NULL;
        if (*v && !dom) {
            char list[256] = "";
            for (int i = 0; i < ODX_N_DOMAINS; i++) {
                size_t l = strlen(list);
                snprintf(list + l, sizeof list - l, "%s%s", i ? ", " : "", core_domain_name(i));
            }
            return core_err(err, ODX_ERR_INVALID, "unknown domain '%s' (one of: %s)", v, list);
        }
        p->domain = dom; /* core's static string */
    } else if (key_is(key, "path") || key_is(key, "path_prefix")) {
        p->path_prefix = *v ? v : NULL;
    } else if (key_is(key, "ext")) {
        const char *e = v[0] == '.' ? v + 1 : v;
        if (v[0] == '.' && !*e)
            return core_err(err, ODX_ERR_INVALID, "bad ext '%s' (an extension such as png)", v);
        p->ext = *e ? e : NULL;
    } else if (key_is(key, "after") || key_is(key, "before")) {
        bool after = key_is(key, "after");
        if (*v && !ret_date_valid(v, why, sizeof why))
            return core_err(err, ODX_ERR_INVALID, "bad date '%s' for %s: %s", v,
                            after ? "after" : "before", why);
        if (after)
            p->after = *v ? v : NULL;
        else
            p->before = *v ? v : NULL;
    } else if (key_is(key, "min_width") || key_is(key, "minw") || key_is(key, "min_height") ||
               key_is(key, "minh")) {
        bool w = key_is(key, "min_width") || key_is(key, "minw");
        if (!parse_long(v, 0, RET_MAX_SIDE, &n))
            return core_err(err, ODX_ERR_INVALID,
                            "bad %s '%s' (a whole number of pixels from 0 to %d)",
                            w ? "min-width" : "min-height", v, RET_MAX_SIDE);
        if (w)
            p->min_width = (int)n;
        else
            p->min_height = (int)n;
    } else if (key_is(key, "min_size") || key_is(key, "minsize") || key_is(key, "max_size") ||
               key_is(key, "maxsize")) {
        bool min = key_is(key, "min_size") || key_is(key, "minsize");
        int64_t b = 0;
        if (*v && !ret_size_parse(v, &b))
            return core_err(err, ODX_ERR_INVALID,
                            "bad %s '%s' (a file size in bytes, or with a unit: 200K, 1.5M, "
                            "2G; at most 1 PiB)", min ? "min-size" : "max-size", v);
        if (min)
            p->min_size = b;
        else
            p->max_size = b;
    } else if (key_is(key, "min_score")) {
        if (!parse_double(v, 0, 1, &d))
            return core_err(err, ODX_ERR_INVALID, "bad min-score '%s' (a number from 0 to 1)", v);
        p->min_score = d;
    } else if (key_is(key, "w_embed")) {
        if (!parse_double(v, 0, 100, &d))
            return core_err(err, ODX_ERR_INVALID, "bad w-embed '%s' (a number from 0 to 100)", v);
        p->w_embed = d;
    } else if (key_is(key, "embed")) {
        bool on;
        if (!parse_bool(v, &on))
            return core_err(err, ODX_ERR_INVALID, "bad embed '%s' (true or false)", v);
        p->no_embed = !on;
    } else if (key_is(key, "w_dense") || key_is(key, "w_lexical")) {
        bool dense = key_is(key, "w_dense");
        if (!parse_double(v, 0, 100, &d))
            return core_err(err, ODX_ERR_INVALID, "bad %s '%s' (a number from 0 to 100)",
                            dense ? "w-dense" : "w-lexical", v);
        if (dense)
            p->w_dense = d;
        else
            p->w_lexical = d;
    } else if (key_is(key, "mode")) {
        int m = core_search_mode_parse(v);
        if (m < 0)
            return core_err(err, ODX_ERR_INVALID, "bad mode '%s' (hybrid, dense or lexical)", v);
        p->mode = (odx_search_mode)m;
    } else if (key_is(key, "all") || key_is(key, "explain")) {
        bool all = key_is(key, "all");
        if (!parse_bool(v, all ? &p->all : &p->explain))
            return core_err(err, ODX_ERR_INVALID, "bad %s '%s' (true or false)",
                            all ? "all" : "explain", v);
    } else {
        return core_err(err, ODX_ERR_NOT_FOUND, "unknown search parameter '%s'", key);
    }
    return ODX_OK;
}

odx_status ret_size_range_check(int64_t min_size, int64_t max_size, odx_err *err)
{
    if (min_size && max_size && max_size < min_size)
        return core_err(err, ODX_ERR_INVALID,
                        "max-size (%lld bytes) is below min-size (%lld bytes): nothing can match",
                        (long long)max_size, (long long)min_size);
    return ODX_OK;
}

odx_status ret_params_check(odx_search_params *p, odx_err *err)
{
    odx_search_params t = *p;
    char num[64];
    odx_status st = ODX_OK;
    const struct {
        const char *key, *v;
    } strs[] = {{"lang", p->lang},     {"text_lang", p->text_lang}, {"domain", p->domain},
                {"after", p->after},   {"before", p->before}};
    for (size_t i = 0; i < sizeof strs / sizeof *strs && st == ODX_OK; i++)
        if (strs[i].v)
            st = ret_param_set(&t, strs[i].key, strs[i].v, err);
    if (st != ODX_OK)
        return st;
    snprintf(num, sizeof num, "%d", p->k);
    if ((st = ret_param_set(&t, "k", num, err)) != ODX_OK)
        return st;
    snprintf(num, sizeof num, "%d", p->min_width);
    if ((st = ret_param_set(&t, "min_width", num, err)) != ODX_OK)
        return st;
    snprintf(num, sizeof num, "%d", p->min_height);
    if ((st = ret_param_set(&t, "min_height", num, err)) != ODX_OK)
        return st;
    const struct {
        const char *name;
        int64_t v;
    } sizes[] = {{"min-size", p->min_size}, {"max-size", p->max_size}};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
        if (sizes[i].v < 0 || sizes[i].v > RET_MAX_SIZE)
            return core_err(err, ODX_ERR_INVALID, "bad %s %lld (bytes, from 0 to 1 PiB)",
                            sizes[i].name, (long long)sizes[i].v);
    if ((st = ret_size_range_check(p->min_size, p->max_size, err)) != ODX_OK)
        return st;
    if (!(p->min_score >= 0 && p->min_score <= 1))
        return core_err(err, ODX_ERR_INVALID, "bad min-score %g (a number from 0 to 1)",
                        p->min_score);
    if (!(p->w_dense >= 0 && p->w_dense <= 100) || !(p->w_lexical >= 0 && p->w_lexical <= 100) ||
        !(p->w_embed >= 0 && p->w_embed <= 100))
        return core_err(err, ODX_ERR_INVALID, "bad fusion weight (a number from 0 to 100)");
    if ((int)p->mode < 0 || (int)p->mode >= ODX_N_SEARCH_MODES)
        return core_err(err, ODX_ERR_INVALID, "bad mode %d (0 hybrid, 1 dense, 2 lexical)",
                        p->mode);
    /* canonical spellings: "Chart" filters as "chart", "" as no filter */
    p->lang = t.lang;
    p->text_lang = t.text_lang;
    p->domain = t.domain;
    p->after = t.after;
    p->before = t.before;
    return ODX_OK;
}

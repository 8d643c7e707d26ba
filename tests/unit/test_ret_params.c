/* test_ret_params.c - the one parser of search parameters (ret_param_set):
 * calendar dates, domains, numbers, file sizes, key spellings, and inline filters
 * refusing a value with the same message as a flag. */
#include "check.h"
#include "retriever.h"

#include <stdlib.h>

static void test_dates(void)
{
    char why[96];
    CHECK(ret_date_valid("2024-02-29", why, sizeof why)); /* leap year */
    CHECK(!ret_date_valid("2023-02-29", why, sizeof why));
    CHECK(strstr(why, "February 2023 has 28 days") != NULL);
    CHECK(!ret_date_valid("2024-02-30", why, sizeof why));
    CHECK(strstr(why, "29 days") != NULL);
    CHECK(!ret_date_valid("1900-02-29", why, sizeof why)); /* century, not leap */
    CHECK(ret_date_valid("2000-02-29", why, sizeof why));  /* 400th year, leap */
    CHECK(!ret_date_valid("2024-04-31", why, sizeof why));
    CHECK(ret_date_valid("2024-12-31", why, sizeof why));
    CHECK(!ret_date_valid("2024-13-01", why, sizeof why));
    CHECK(!ret_date_valid("2024-00", why, sizeof why));
    CHECK(!ret_date_valid("2024-01-00", why, sizeof why));
    CHECK(ret_date_valid("2024-07", why, sizeof why));
    CHECK(ret_date_valid("1999", why, sizeof why));
    CHECK(!ret_date_valid("0000", why, sizeof why));
    CHECK(!ret_date_valid("notadate", why, sizeof why));
    CHECK(!ret_date_valid("2024-1-01", why, sizeof why));
    CHECK(!ret_date_valid("2024-01-01x", why, sizeof why));
    CHECK(!ret_date_valid("", why, sizeof why));
    CHECK(ret_days_in_month(2024, 2) == 29 && ret_days_in_month(2100, 2) == 28);
    CHECK(ret_days_in_month(2024, 13) == 0);
}

static void test_values(void)
{
    odx_search_params p = ret_search_params_default();
    odx_err e = {0};
    CHECK(ret_param_set(&p, "domain", "bogus", &e) == ODX_ERR_INVALID);
    CHECK(strstr(e.msg, "'bogus'") && strstr(e.msg, "photo") && strstr(e.msg, "diagram"));
    CHECK(p.domain == NULL); /* unchanged on failure */
    CHECK(ret_param_set(&p, "domain", "Chart", NULL) == ODX_OK);
    CHECK_STR(p.domain, "chart");
    CHECK(ret_param_set(&p, "domain", "", NULL) == ODX_OK && p.domain == NULL);

    CHECK(ret_param_set(&p, "after", "2024-13-45", NULL) == ODX_ERR_INVALID);
    CHECK(ret_param_set(&p, "after", "notadate", NULL) == ODX_ERR_INVALID);
    CHECK(p.after == NULL);
    CHECK(ret_param_set(&p, "before", "2024-02-29", NULL) == ODX_OK);
    CHECK_STR(p.before, "2024-02-29");

    CHECK(ret_param_set(&p, "k", "0", NULL) == ODX_ERR_INVALID);
    CHECK(ret_param_set(&p, "k", "10001", NULL) == ODX_ERR_INVALID);
    CHECK(ret_param_set(&p, "k", " 5", NULL) == ODX_ERR_INVALID);
    CHECK(ret_param_set(&p, "k", "", NULL) == ODX_ERR_INVALID);
    CHECK(p.k == 10);
    CHECK(ret_param_set(&p, "k", "25", NULL) == ODX_OK && p.k == 25);

    /* --min-width, min_width and minw are one key */
    CHECK(ret_param_set(&p, "min-width", "800", NULL) == ODX_OK && p.min_width == 800);
    CHECK(ret_param_set(&p, "minw", "801", NULL) == ODX_OK && p.min_width == 801);
    CHECK(ret_param_set(&p, "MIN_HEIGHT", "600", NULL) == ODX_OK && p.min_height == 600);
    CHECK(ret_param_set(&p, "minh", "-1", NULL) == ODX_ERR_INVALID && p.min_height == 600);

    CHECK(ret_param_set(&p, "lang", "fr", NULL) == ODX_ERR_INVALID);
    CHECK(ret_param_set(&p, "text-lang", "ZH", NULL) == ODX_OK);
    CHECK_STR(p.text_lang, "zh");
    CHECK(ret_param_set(&p, "ext", ".png", NULL) == ODX_OK);
    CHECK_STR(p.ext, "png");
    CHECK(ret_param_set(&p, "ext", ".", NULL) == ODX_ERR_INVALID);
    CHECK(ret_param_set(&p, "min_score", "1.5", NULL) == ODX_ERR_INVALID);
    CHECK(ret_param_set(&p, "min_score", "0.25", NULL) == ODX_OK && p.min_score == 0.25);
    CHECK(ret_param_set(&p, "mode", "lexical", NULL) == ODX_OK && p.mode == 2);
    CHECK(ret_param_set(&p, "mode", "fast", NULL) == ODX_ERR_INVALID && p.mode == 2);
    CHECK(ret_param_set(&p, "all", "maybe", NULL) == ODX_ERR_INVALID && !p.all);
    CHECK(ret_param_set(&p, "all", "yes", NULL) == ODX_OK && p.all);
    CHECK(ret_param_set(&p, "w_dense", "101", NULL) == ODX_ERR_INVALID);

    odx_err e2 = {0};
    CHECK(ret_param_set(&p, "colour", "red", &e2) == ODX_ERR_NOT_FOUND);
    CHECK(strstr(e2.msg, "colour") != NULL);
}

/* File sizes: bytes, or a number with a 1024-based unit K/M/G, in any
 * case, with an optional B or iB; a fraction only before a unit; at most
 * 1 PiB. */
static void test_sizes(void)
{
    const struct {
        const char *s;
        int64_t v;
    } ok[] = {{"0", 0},          {"1", 1},           {"500000", 500000}, {"512B", 512},
              {"200K", 204800},  {"200k", 204800},   {"200KB", 204800},  {"200KiB", 204800},
              {"1.5M", 1572864}, {"2mib", 2097152},  {"2G", 2147483648LL},
              {"0.5k", 512},     {"1.0001K", 1024},  {"1024G", 1099511627776LL},
              {"1048576G", 1LL << 50}};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        int64_t v = -1;
        CHECK_MSG(ret_size_parse(ok[i].s, &v) && v == ok[i].v, "%s -> %lld", ok[i].s,
                  (long long)v);
    }
    const char *bad[] = {"",    "-1",   "K",     "1.5",  "1.", ".5K",   "1 K",  " 1",
                         "1K ", "1KX",  "1Ki",   "1T",   "1e3", "1,5M", "0x10", "1048577G",
                         "99999999999999999999", "1125899906842625"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int64_t v = 7;
        CHECK_MSG(!ret_size_parse(bad[i], &v) && v == 7, "'%s' accepted", bad[i]);
    }
    odx_search_params p = ret_search_params_default();
    odx_err e = {0};
    CHECK(ret_param_set(&p, "min-size", "200K", NULL) == ODX_OK && p.min_size == 204800);
    CHECK(ret_param_set(&p, "MAXSIZE", "1.5M", NULL) == ODX_OK && p.max_size == 1572864);
    CHECK(ret_param_set(&p, "max_size", "lots", &e) == ODX_ERR_INVALID && p.max_size == 1572864);
    CHECK(strstr(e.msg, "max-size 'lots'") && strstr(e.msg, "200K"));
    CHECK(ret_param_set(&p, "min_size", "", NULL) == ODX_OK && p.min_size == 0);
    /* both bounds: max below min is refused, equal is one size */
    p = ret_search_params_default();
    p.min_size = 2000;
    p.max_size = 1000;
    odx_err e2 = {0};
    CHECK(ret_params_check(&p, &e2) == ODX_ERR_INVALID && strstr(e2.msg, "below min-size"));
    p.max_size = 2000;
    CHECK(ret_params_check(&p, NULL) == ODX_OK);
    p.max_size = 0; /* no upper bound */
    CHECK(ret_params_check(&p, NULL) == ODX_OK);
    p.min_size = -1;
    CHECK(ret_params_check(&p, NULL) == ODX_ERR_INVALID);
    p.min_size = (1LL << 50) + 1;
    CHECK(ret_params_check(&p, NULL) == ODX_ERR_INVALID);
}

/* Library callers that fill the struct directly meet the same rules. */
static void test_check(void)
{
    odx_search_params p = ret_search_params_default();
    p.domain = "spaceship";
    odx_err e = {0};
    CHECK(ret_params_check(&p, &e) == ODX_ERR_INVALID && strstr(e.msg, "spaceship"));
    p = ret_search_params_default();
    p.after = "2023-02-29";
    CHECK(ret_params_check(&p, NULL) == ODX_ERR_INVALID);
    p = ret_search_params_default();
    p.domain = "TABLE";
    p.lang = "";
    CHECK(ret_params_check(&p, NULL) == ODX_OK);
    CHECK_STR(p.domain, "table");
    CHECK(p.lang == NULL);
}

/* An inline filter is refused with the very message of the flag. */
static void test_inline_same_message(void)
{
    const char *cases[][3] = {{"domain", "bogus", "x domain:bogus"},
                              {"after", "2024-02-30", "after:2024-02-30 x"},
                              {"before", "2024-13-45", "x before:2024-13-45"},
                              {"text_lang", "fr", "lang:fr x"},
                              {"min_width", "-5", "minw:-5"},
                              {"min_size", "5Q", "minsize:5Q x"},
                              {"max_size", "-1", "x maxsize:-1"}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        odx_search_params p = ret_search_params_default();
        odx_err ef = {0}, eq = {0};
        ret_query q;
        CHECK(ret_param_set(&p, cases[i][0], cases[i][1], &ef) == ODX_ERR_INVALID);
        CHECK(ret_query_parse(cases[i][2], &q, &eq) == ODX_ERR_INVALID);
        CHECK_STR(ef.msg, eq.msg);
    }
    ret_query q;
    CHECK(ret_query_parse("after:2024-02-29 minh:10 snow MINSIZE:1k maxsize:2M", &q, NULL) ==
          ODX_OK);
    CHECK_STR(q.after, "2024-02-29");
    CHECK(q.min_height == 10);
    CHECK(q.min_size == 1024 && q.max_size == 2097152);
    CHECK_STR(q.text, "snow");
    ret_query_free(&q);
}

int main(void)
{
    test_dates();
    test_values();
    test_check();
    test_sizes();
    test_inline_same_message();
    return check_result("test_ret_params");
}

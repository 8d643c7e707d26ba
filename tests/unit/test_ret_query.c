/* test_ret_query.c - inline filter parsing of search queries. */
#include "check.h"
#include "retriever.h"

#include <stdlib.h>

static void test_filters(void)
{
    ret_query q;
    odx_err e = {0};
    CHECK(ret_query_parse("revenue domain:chart lang:zh after:2024-01-01 by quarter ext:.PNG "
                          "path:photos/2023 minw:800",
                          &q, &e) == ODX_OK);
    CHECK_STR(q.text, "revenue by quarter");
    CHECK_STR(q.domain, "chart");
    CHECK_STR(q.lang, "zh");
    CHECK_STR(q.after, "2024-01-01");
    CHECK_STR(q.ext, "PNG");
    CHECK_STR(q.path_prefix, "photos/2023");
    CHECK(q.min_width == 800);
    CHECK(q.before == NULL);
    ret_query_free(&q);

    /* unknown keys stay text: a URL or "Note:" is not a filter */
    CHECK(ret_query_parse("Note: see http://example.org", &q, &e) == ODX_OK);
    CHECK_STR(q.text, "Note: see http://example.org");
    ret_query_free(&q);

    /* DOMAIN in upper case is accepted */
    CHECK(ret_query_parse("Domain:TABLE", &q, &e) == ODX_OK);
    CHECK_STR(q.domain, "table");
    CHECK_STR(q.text, "");
    ret_query_free(&q);
}

static void test_bad_filters(void)
{
    ret_query q;
    odx_err e = {0};
    CHECK(ret_query_parse("domain:spaceship", &q, &e) == ODX_ERR_INVALID);
    CHECK(strstr(e.msg, "spaceship") != NULL);
    odx_err e2 = {0};
    CHECK(ret_query_parse("after:2024-13-01 x", &q, &e2) == ODX_ERR_INVALID);
    odx_err e3 = {0};
    CHECK(ret_query_parse("lang:fr", &q, &e3) == ODX_ERR_INVALID);
    odx_err e4 = {0};
    CHECK(ret_query_parse("minw:-5", &q, &e4) == ODX_ERR_INVALID);
    odx_err e5 = {0};
    CHECK(ret_query_parse(NULL, &q, &e5) == ODX_ERR_INVALID);
    char *big = malloc(RET_MAX_QUERY_BYTES + 10);
    memset(big, 'a', RET_MAX_QUERY_BYTES + 9);
    big[RET_MAX_QUERY_BYTES + 9] = 0;
    odx_err e6 = {0};
    CHECK(ret_query_parse(big, &q, &e6) == ODX_ERR_INVALID);
    free(big);
}

static void test_utf8(void)
{
    ret_query q;
    odx_err e = {0};
    /* invalid UTF-8 is repaired, Chinese kept */
    CHECK(ret_query_parse("雪山 \xff domain:photo", &q, &e) == ODX_OK);
    CHECK(strncmp(q.text, "雪山 ", strlen("雪山 ")) == 0);
    CHECK(strstr(q.text, "\xEF\xBF\xBD") != NULL);
    CHECK_STR(q.domain, "photo");
    ret_query_free(&q);
}

int main(void)
{
    test_filters();
    test_bad_filters();
    test_utf8();
    return check_result("test_ret_query");
}

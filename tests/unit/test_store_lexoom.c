/* test_store_lexoom.c - the lexical index (storage/lexidx.c) when an
 * allocation fails inside lex_add: the row is not in the index, and the
 * index answers exactly as one that never saw the row (same rows, scores
 * bit for bit, no postings counted for it). The id map's growth is made to
 * fail through calloc, wrapped for this binary (-Wl,--wrap=calloc in
 * storage/CMakeLists.txt). Before: the map grew only after the row's
 * postings were appended, and a failure there left them counted as live
 * document frequency of their terms (idf changed for every later search). */
#include "check.h"
#include "lexidx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *__real_calloc(size_t n, size_t size);
void *__wrap_calloc(size_t n, size_t size);

/* While set, a calloc of the id map's table fails: 1024 or more slots of
 * 16 bytes (an int64 id and a uint32 docnum, padded) */
static int fail_map, n_failed;

void *__wrap_calloc(size_t n, size_t size)
{
    if (fail_map && size == 16 && n >= 1024) {
        n_failed++;
        return NULL;
    }
    return __real_calloc(n, size);
}

static odx_status add(lex_index *x, int64_t id, const char *text)
{
    odx_err e = {0};
    return lex_add(x, id, 0, text, (int)strlen(text), &e);
}

/* x and y give the same hits for terms, pruned and exhaustive. */
static void same_hits(const lex_index *x, const lex_index *y, const char *const *terms, int nt)
{
    for (int ex = 0; ex < 2; ex++) {
        lex_params p = {.k = 50, .exhaustive = ex == 1};
        lex_hit *a = NULL, *b = NULL;
        int na = -1, nb = -2;
        odx_err e = {0};
        CHECK(lex_search(x, terms, nt, &p, &a, &na, NULL, &e) == ODX_OK);
        CHECK(lex_search(y, terms, nt, &p, &b, &nb, NULL, &e) == ODX_OK);
        CHECK_MSG(na == nb && na > 0, "'%s': %d hits against %d", terms[0], na, nb);
        for (int i = 0; i < na && i < nb; i++)
            CHECK_MSG(a[i].id == b[i].id && a[i].score == b[i].score,
                      "'%s' hit %d: id %lld score %.17g against id %lld score %.17g", terms[0],
                      i, (long long)a[i].id, a[i].score, (long long)b[i].id, b[i].score);
        free(a);
        free(b);
    }
}

/* The first row's map allocation fails. */
static void test_first_row(void)
{
    lex_index *x = lex_new(), *y = lex_new();
    CHECK(x && y);
    fail_map = 1;
    CHECK(add(x, 1000, "apple banana apple") == ODX_ERR_NOMEM);
    fail_map = 0;
    CHECK(n_failed == 1); /* the failure was the map's */
    CHECK(!lex_has(x, 1000) && lex_rows(x) == 0);
    char row[64];
    for (int i = 1; i <= 20; i++) {
        snprintf(row, sizeof row, "%s cherry %d", i % 4 == 0 ? "apple" : "plum", i);
        CHECK(add(x, i, row) == ODX_OK);
        CHECK(add(y, i, row) == ODX_OK);
    }
    CHECK(lex_rows(x) == 20 && lex_dead_share(x) == lex_dead_share(y));
    const char *apple[] = {"apple"}, *banana[] = {"banana"}, *both[] = {"apple", "cherry"};
    same_hits(x, y, apple, 1);
    same_hits(x, y, both, 2);
    lex_params p = {.k = 5};
    lex_hit *h = NULL;
    int n = -1;
    odx_err e = {0};
    CHECK(lex_search(x, banana, 1, &p, &h, &n, NULL, &e) == ODX_OK && n == 0);
    free(h);
    odx_err ce = {0};
    CHECK(lex_compact(x, &ce) == ODX_OK);
    same_hits(x, y, apple, 1);
    lex_free(x);
    lex_free(y);
}

/* The map's growth past 3/4 full fails for a new row: the rows before
 * stay, the new one is not there, and it can be added once memory is back. */
static void test_growth(void)
{
    lex_index *x = lex_new(), *y = lex_new();
    CHECK(x && y);
    char row[64];
    int i = 1;
    for (; i <= 767; i++) { /* 768 of 1024 is the last the first table holds */
        snprintf(row, sizeof row, "%s row %d", i % 10 == 0 ? "apple" : "pear", i);
        CHECK(add(x, i, row) == ODX_OK);
        CHECK(add(y, i, row) == ODX_OK);
    }
    CHECK(add(x, i, "pear row filler") == ODX_OK); /* 768: still fits */
    CHECK(add(y, i, "pear row filler") == ODX_OK);
    int before = n_failed;
    fail_map = 1;
    CHECK(add(x, 5000, "apple apple apple quince") == ODX_ERR_NOMEM);
    fail_map = 0;
    CHECK(n_failed == before + 1);
    CHECK(!lex_has(x, 5000) && lex_has(x, 1) && lex_has(x, 768) && lex_rows(x) == 768);
    const char *apple[] = {"apple"}, *quince[] = {"quince"};
    same_hits(x, y, apple, 1);
    /* the same id added again once memory is back */
    CHECK(add(x, 5000, "apple apple apple quince") == ODX_OK);
    CHECK(add(y, 5000, "apple apple apple quince") == ODX_OK);
    same_hits(x, y, apple, 1);
    same_hits(x, y, quince, 1);
    lex_free(x);
    lex_free(y);
}

int main(void)
{
    /* the tokenizer's tables are made on first use: not while failing */
    lex_index *w = lex_new();
    CHECK(w && add(w, 1, "warm up 暖") == ODX_OK);
    lex_free(w);
    n_failed = 0;
    test_first_row();
    test_growth();
    return check_result("test_store_lexoom");
}

/* test_emb_query.c - unit tests for embedder/query.c: query groups with
 * their expansions, stop-word dropping, and FTS5 MATCH strings that are
 * run against a real in-memory FTS5 table (tokenised by emb_tokenize,
 * as storage does) so hostile queries are proven to be inert. */
#include "check.h"
#include "embedder_int.h"
#include "emb_fts_harness.h"

#include <sqlite3.h>
#include <stdlib.h>

static bool group_has(const emb_query *q, int g, const char *term)
{
    if (g < 0 || g >= q->n_groups)
        return false;
    for (int i = 0; i < q->groups[g].n_terms; i++)
        if (strcmp(q->groups[g].terms[i], term) == 0)
            return true;
    return false;
}

static int group_with(const emb_query *q, const char *term)
{
    for (int g = 0; g < q->n_groups; g++)
        if (group_has(q, g, term))
            return g;
    return -1;
}

static void test_groups(void)
{
    emb_query q;
    odx_err e = {0};
    CHECK(emb_query_parse("The red bar charts of dogs", &q, &e) == ODX_OK);
    int g_the = group_with(&q, "the");
    CHECK(g_the >= 0 && q.groups[g_the].stopword);
    int g_red = group_with(&q, "red");
    CHECK(g_red >= 0 && !q.groups[g_red].stopword);
    CHECK(group_has(&q, g_red, "红色"));
    int g_bar = group_with(&q, "bar charts");
    CHECK(g_bar >= 0);
    CHECK(group_has(&q, g_bar, "bar chart"));
    CHECK(group_has(&q, g_bar, "柱状图"));
    CHECK(group_has(&q, g_bar, "histogram"));
    /* a phrase is one group: its words get none of their own */
    CHECK(group_with(&q, "charts") < 0 && group_with(&q, "bar") < 0);
    CHECK(q.n_groups == 5); /* the, red, bar charts, of, dogs */
    int g_dog = group_with(&q, "dogs");
    CHECK(g_dog >= 0 && group_has(&q, g_dog, "dog") && group_has(&q, g_dog, "狗"));
    emb_query_free(&q);
    CHECK(q.n_groups == 0 && q.groups == NULL);
    emb_query_free(NULL);

    /* Chinese: lexicon words become phrase groups with English forms,
     * the rest bigrams; particles drop out */
    CHECK(emb_query_parse("红色的摩托车停在路边", &q, &e) == ODX_OK);
    int g_moto = group_with(&q, "摩托车");
    CHECK(g_moto >= 0 && group_has(&q, g_moto, "motorcycle"));
    CHECK(group_has(&q, group_with(&q, "红色"), "red"));
    char *f = emb_query_fts(&q);
    CHECK(f && strstr(f, "\"摩托车\"") && strstr(f, "\"motorcycle\""));
    CHECK(f && !strstr(f, "\"的\"") && !strstr(f, "\"色的\""));
    free(f);
    emb_query_free(&q);
    /* a lone character between lexicon words is kept, as a stop-word */
    CHECK(emb_query_parse("日落时湖边", &q, &e) == ODX_OK);
    int g_shi = group_with(&q, "时");
    CHECK(q.n_groups == 3 && g_shi == 1 && q.groups[g_shi].stopword);
    CHECK(group_has(&q, group_with(&q, "湖边"), "lake"));
    emb_query_free(&q);

    /* one CJK character alone: its unigram */
    CHECK(emb_query_parse("猫", &q, &e) == ODX_OK);
    CHECK(q.n_groups == 1 && group_has(&q, 0, "猫") && group_has(&q, 0, "cat"));
    emb_query_free(&q);
    /* unknown CJK text: bigrams */
    CHECK(emb_query_parse("甲乙丙", &q, &e) == ODX_OK);
    CHECK(q.n_groups == 2 && group_has(&q, 0, "甲乙") && group_has(&q, 1, "乙丙"));
    emb_query_free(&q);

    CHECK(emb_query_parse(NULL, &q, &e) == ODX_ERR_INVALID);
    CHECK(e.code == ODX_ERR_INVALID);
    char *huge = malloc(100001);
    memset(huge, 'a', 100000);
    huge[100000] = 0;
    odx_err e2 = {0};
    CHECK(emb_query_parse(huge, &q, &e2) == ODX_ERR_LIMIT);
    CHECK(q.n_groups == 0);
    free(huge);
}

static void test_fts_strings(void)
{
    char *f = fts_of("the of and");
    CHECK(f && strstr(f, "\"the\"")); /* only stop-words: kept */
    free(f);
    f = fts_of("the dog");
    CHECK(f && !strstr(f, "\"the\"") && strstr(f, "\"dog\""));
    free(f);
    CHECK(fts_of("") == NULL);
    CHECK(fts_of("!!! ??? ，。、 ---") == NULL);
    CHECK(fts_of("\"") == NULL);
    CHECK(emb_query_fts(NULL) == NULL);
    emb_query empty = {0};
    CHECK(emb_query_fts(&empty) == NULL);
    /* a term with a quote in it (built by hand) is doubled */
    char *t = (char *)"a\"b";
    emb_query_group g = {&t, 1, false};
    emb_query q = {&g, 1};
    f = emb_query_fts(&q);
    CHECK(f && strcmp(f, "\"a\"\"b\"") == 0);
    free(f);
    /* many words: bounded output */
    char big[4000] = "";
    for (int i = 0; i < 300; i++)
        strcat(big, i % 2 ? "dog " : "car ");
    f = fts_of(big);
    CHECK(f && strlen(f) <= 8192);
    free(f);
}

/* ---------------------------------------------- against real FTS5 ---- */

static const char *const docs[] = {
    "A bar chart of sales by year with a legend.",           /* 1 */
    "一张柱状图，显示各年份的销售额。",                       /* 2 */
    "A red motorcycle parked on the street.",                /* 3 */
    "一辆红色摩托车停在路边。",                               /* 4 */
    "A dog and a cat on the grass.",                         /* 5 */
    "Text reads: NEAR AND OR NOT title: \"quoted\" (paren) *", /* 6 */
};

static sqlite3 *open_fts(void) { return fts_open(docs, (int)(sizeof docs / sizeof *docs), true); }

static void test_fts5(void)
{
    sqlite3 *db = open_fts();
    CHECK(db != NULL);
    if (!db)
        return;
    /* cross-language through the lexicon, both directions */
    int r = run_match(db, "bar chart");
    CHECK_MSG(r > 0 && (r & (1 << 1)) && (r & (1 << 2)), "mask %d", r);
    r = run_match(db, "柱状图");
    CHECK_MSG(r > 0 && (r & (1 << 1)) && (r & (1 << 2)), "mask %d", r);
    r = run_match(db, "红色摩托车");
    CHECK_MSG(r > 0 && (r & (1 << 3)) && (r & (1 << 4)) && !(r & (1 << 5)), "mask %d", r);
    r = run_match(db, "motorcycles");
    CHECK_MSG(r > 0 && (r & (1 << 3)) && (r & (1 << 4)), "mask %d", r);
    /* hostile queries: never an FTS5 syntax error, operators are words */
    const char *hostile[] = {
        "\"unbalanced", "a\"b\"c", "dog*", "* *", "NEAR(dog cat)", "dog AND cat",
        "dog OR", "NOT dog", "^dog", "body:dog", "title:x", "{body title}: dog",
        "(dog", "dog)", "-dog", "+dog", "dog NEAR/2 cat", "'; DROP TABLE t; --",
        "\x01\x02\x7f", "rowid:1", "t:dog", "狗 AND 猫", "AND", "OR", "NOT", "NEAR",
        "a\xff\xfe" "b",
    };
    for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
        r = run_match(db, hostile[i]);
        CHECK_MSG(r >= 0, "query '%s' broke FTS5", hostile[i]);
    }
    /* operator words are searched as text: doc 6 contains them */
    r = run_match(db, "NEAR AND OR NOT");
    CHECK_MSG(r > 0 && (r & (1 << 6)), "mask %d", r);
    r = run_match(db, "title: quoted");
    CHECK_MSG(r > 0 && (r & (1 << 6)), "mask %d", r);
    /* "dog AND cat" is an OR of dog, cat (and "and" dropped) */
    r = run_match(db, "dog AND cat");
    CHECK_MSG(r == (1 << 5), "mask %d", r);
    sqlite3_stmt *st = NULL;
    CHECK(sqlite3_prepare_v2(db, "SELECT count(*) FROM t", -1, &st, NULL) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 6);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

int main(void)
{
    test_groups();
    test_fts_strings();
    test_fts5();
    return check_result("test_emb_query");
}

/* test_emb_pinyin.c - unit tests for the pinyin and traditional/simplified
 * side of embedder/query.c: Chinese query words gain their pinyin as
 * alternatives of their own group (never single syllables), the FTS5
 * MATCH string carries them, and a real FTS5 table (tokenised with
 * emb_tokenize, as storage does) finds romanised and traditional text. */
#include "check.h"
#include "embedder_int.h"
#include "emb_fts_harness.h"

#include <sqlite3.h>
#include <stdlib.h>

static int group_with(const emb_query *q, const char *term)
{
    for (int g = 0; g < q->n_groups; g++)
        for (int i = 0; i < q->groups[g].n_terms; i++)
            if (strcmp(q->groups[g].terms[i], term) == 0)
                return g;
    return -1;
}

static bool has_term(const emb_query *q, const char *term) { return group_with(q, term) >= 0; }

/* True when some term of the query is one pinyin syllable (plain ASCII
 * that is the reading of a single Han character in the query). */
static bool has_single_syllable(const emb_query *q, const char *text)
{
    for (size_t i = 0; text[i];) {
        int32_t cp;
        int k = core_utf8_next(text + i, strlen(text + i), &cp);
        const char *py = emb_pinyin(cp);
        if (py && has_term(q, py))
            return true;
        i += (size_t)k;
    }
    return false;
}

static void test_groups(void)
{
    emb_query q;
    odx_err e = {0};
    CHECK(emb_query_parse("霞鹜文楷", &q, &e) == ODX_OK);
    /* pairs go with the group of the characters they spell */
    int g_xw = group_with(&q, "霞鹜"), g_wk = group_with(&q, "文楷");
    CHECK(g_xw >= 0 && g_wk >= 0 && g_xw != g_wk);
    CHECK(group_with(&q, "xiawu") == g_xw);
    CHECK(group_with(&q, "wenkai") == g_wk);
    CHECK(group_with(&q, "wuwen") == group_with(&q, "鹜文"));
    /* the whole run belongs to every group of the run */
    int n_whole = 0;
    for (int g = 0; g < q.n_groups; g++)
        for (int i = 0; i < q.groups[g].n_terms; i++)
            n_whole += strcmp(q.groups[g].terms[i], "xiawuwenkai") == 0;
    CHECK(n_whole == 3);
    CHECK(!has_single_syllable(&q, "霞鹜文楷"));
    emb_query_free(&q);

    /* a traditional query is folded, its pinyin read from what was typed */
    CHECK(emb_query_parse("臺灣地圖", &q, &e) == ODX_OK);
    CHECK(has_term(&q, "taiwan"));
    CHECK(has_term(&q, "台湾") && !has_term(&q, "臺灣"));
    CHECK(!has_single_syllable(&q, "臺灣地圖"));
    emb_query_free(&q);

    /* u-umlaut in both spellings */
    CHECK(emb_query_parse("绿色女孩", &q, &e) == ODX_OK);
    CHECK(has_term(&q, "nvhai") && has_term(&q, "nuhai"));
    emb_query_free(&q);

    /* one character alone: no pinyin at all */
    CHECK(emb_query_parse("猫", &q, &e) == ODX_OK);
    CHECK(!has_term(&q, "mao"));
    emb_query_free(&q);
    /* Han characters split by Latin words are separate runs */
    CHECK(emb_query_parse("北 photo 京", &q, &e) == ODX_OK);
    CHECK(!has_term(&q, "beijing") && !has_term(&q, "bei") && !has_term(&q, "jing"));
    emb_query_free(&q);
    /* a long run: pairs only, no whole-run string */
    CHECK(emb_query_parse("中华人民共和国国歌", &q, &e) == ODX_OK);
    CHECK(has_term(&q, "zhonghua"));
    for (int g = 0; g < q.n_groups; g++)
        for (int i = 0; i < q.groups[g].n_terms; i++)
            CHECK_MSG(strlen(q.groups[g].terms[i]) <= 6 * 6,
                      "term '%s' too long", q.groups[g].terms[i]);
    CHECK(!has_single_syllable(&q, "中华人民共和国国歌"));
    emb_query_free(&q);
}

static void test_latin_unchanged(void)
{
    /* kana and hangul have no pinyin: their queries gain no ASCII term */
    const char *qs[] = {"ひらがなのポスター", "한국어 지도"};
    for (size_t k = 0; k < sizeof qs / sizeof qs[0]; k++) {
        emb_query q;
        odx_err e = {0};
        CHECK(emb_query_parse(qs[k], &q, &e) == ODX_OK);
        CHECK(q.n_groups > 0);
        for (int g = 0; g < q.n_groups; g++)
            for (int i = 0; i < q.groups[g].n_terms; i++) {
                const char *t = q.groups[g].terms[i];
                bool ascii = false;
                for (const char *c = t; *c; c++)
                    ascii = ascii || (*c >= 'a' && *c <= 'z');
                CHECK_MSG(!ascii, "'%s' gained '%s'", qs[k], t);
            }
        emb_query_free(&q);
    }
    /* romanised Latin queries are not turned back into Han */
    char *f = fts_of("Beijing");
    CHECK(f && strncmp(f, "\"beijing\"", 9) == 0 && !strstr(f, "北京"));
    free(f);
}

static void test_fts_strings(void)
{
    char *f = fts_of("霞鹜文楷");
    CHECK(f != NULL);
    if (f) {
        CHECK(strstr(f, "\"xiawuwenkai\"") != NULL);
        CHECK(strstr(f, "\"xiawu\"") != NULL);
        CHECK(strstr(f, "\"wuwen\"") != NULL);
        CHECK(strstr(f, "\"wenkai\"") != NULL);
        CHECK(strstr(f, "\"文楷\"") != NULL);
        /* single syllables never appear as terms */
        CHECK(strstr(f, "\"wen\"") == NULL && strstr(f, "\"kai\"") == NULL &&
              strstr(f, "\"xia\"") == NULL && strstr(f, "\"wu\"") == NULL);
        /* the Han terms come first: a cap cuts expansions, not what was typed */
        CHECK(strstr(f, "\"霞鹜\"") < strstr(f, "\"xiawu\""));
    }
    free(f);
    f = fts_of("北京");
    CHECK(f && strstr(f, "\"beijing\"") && strstr(f, "\"北京\"") && strstr(f, " OR "));
    free(f);
}

/* ---------------------------------------------- against real FTS5 ---- */

static const char *const docs[] = {
    "Font specimen: LXGW WenKai, a handwriting-style typeface.", /* 1 */
    "City map of Beijing with subway lines.",                    /* 2 */
    "海報：星圖進寶，臺灣圖書館年度展覽",                       /* 3 */
    "A man can long for the sea.",                               /* 4 */
    "WenQuanYi Micro Hei sample sheet",                          /* 5 */
};

static sqlite3 *open_fts(void) { return fts_open(docs, (int)(sizeof docs / sizeof *docs), false); }

static void test_fts5(void)
{
    sqlite3 *db = open_fts();
    CHECK(db != NULL);
    if (!db)
        return;
    int r = run_match(db, "霞鹜文楷");
    CHECK_MSG(r == (1 << 1), "mask %d", r);
    r = run_match(db, "北京");
    CHECK_MSG(r == (1 << 2), "mask %d", r);
    r = run_match(db, "文泉驿");
    CHECK_MSG(r == (1 << 5), "mask %d", r);
    /* simplified query, traditional text (and the reverse) */
    r = run_match(db, "星图");
    CHECK_MSG(r == (1 << 3), "mask %d", r);
    r = run_match(db, "台湾图书馆");
    CHECK_MSG(r == (1 << 3), "mask %d", r);
    r = run_match(db, "進寶");
    CHECK_MSG(r == (1 << 3), "mask %d", r);
    /* 满 man, 餐 can, 龙 long: single syllables would find doc 4's
     * English words; pairs and the whole run do not */
    emb_query q;
    odx_err e = {0};
    CHECK(emb_query_parse("满餐龙", &q, &e) == ODX_OK);
    CHECK(has_term(&q, "mancan") && has_term(&q, "mancanlong"));
    emb_query_free(&q);
    r = run_match(db, "满餐龙");
    CHECK_MSG(r == 0, "mask %d", r);
    sqlite3_close(db);
}

/* A long Han query (thousands of characters, runs split by spaces and
 * Latin words) parses within the caps, and its MATCH string stays bounded. */
static void test_long_query(void)
{
    size_t cap = 8000, n = 0;
    char *s = malloc(cap + 1);
    if (!s)
        return;
    uint32_t x = 7;
    while (n + 8 < cap) {
        x = x * 1103515245u + 12345u;
        int32_t cp = 0x4E00 + (int32_t)((x >> 8) % 0x5000);
        if ((x >> 4) % 17 == 0) {
            s[n++] = ' ';
            continue;
        }
        s[n++] = (char)(0xE0 | (cp >> 12));
        s[n++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        s[n++] = (char)(0x80 | (cp & 0x3F));
    }
    s[n] = 0;
    emb_query q;
    odx_err e = {0};
    CHECK(emb_query_parse(s, &q, &e) == ODX_OK);
    CHECK(q.n_groups > 10 && q.n_groups <= 128);
    char *f = emb_query_fts(&q);
    CHECK(f && strlen(f) <= 8192);
    free(f);
    emb_query_free(&q);
    free(s);
}

int main(void)
{
    test_long_query();
    test_groups();
    test_latin_unchanged();
    test_fts_strings();
    test_fts5();
    return check_result("test_emb_pinyin");
}

/* test_emb_tokenize.c - unit tests for embedder/tokenize.c: normalisation,
 * word and CJK tokens with their original offsets, stop-words, stemmer,
 * and robustness against invalid UTF-8. */
#include "check.h"
#include "embedder_int.h"

#include <stdlib.h>

typedef struct rec {
    char toks[64][80];
    int start[64], end[64];
    bool coloc[64];
    int n;
    int stop_after; /* return non-zero after this many tokens (0: never) */
} rec;

static int rec_fn(void *ctx, const char *tok, int len, int start, int end,
                  bool colocated)
{
    rec *r = ctx;
    if (r->n < 64 && len < 80) {
        memcpy(r->toks[r->n], tok, (size_t)len);
        r->toks[r->n][len] = 0;
        r->start[r->n] = start, r->end[r->n] = end, r->coloc[r->n] = colocated;
    }
    r->n++;
    return r->stop_after && r->n >= r->stop_after ? 7 : 0;
}

static rec run(const char *s)
{
    rec r;
    memset(&r, 0, sizeof r);
    emb_tokenize(s, (int)strlen(s), rec_fn, &r);
    return r;
}

static void test_normalize(void)
{
    char *s = emb_normalize("ＡＢＣ１２３ Hello ÉCOLE ﬁne", strlen("ＡＢＣ１２３ Hello ÉCOLE ﬁne"));
    CHECK(s != NULL);
    if (s)
        CHECK_STR(s, "abc123 hello école fine");
    free(s);
    s = emb_normalize("Straße", strlen("Straße"));
    CHECK(s && strcmp(s, "strasse") == 0);
    free(s);
    s = emb_normalize("", 0);
    CHECK(s && s[0] == 0);
    free(s);
    /* invalid UTF-8 is refused, not crashed on */
    CHECK(emb_normalize("a\xff\xfe", 3) == NULL);
    CHECK(emb_normalize(NULL, 3) == NULL);
}

static void test_words(void)
{
    rec r = run("The Bar-Chart, ＴＯＴＡＬ café's don't 2024");
    CHECK(r.n == 7);
    CHECK_STR(r.toks[0], "the");
    CHECK_STR(r.toks[1], "bar");
    CHECK_STR(r.toks[2], "chart");
    CHECK(r.start[2] == 8 && r.end[2] == 13);
    CHECK_STR(r.toks[3], "total"); /* fullwidth letters become ASCII */
    CHECK(r.start[3] == 15 && r.end[3] == 15 + 15);
    CHECK_STR(r.toks[4], "cafe"); /* accent stripped, possessive dropped */
    CHECK_STR(r.toks[5], "dont");
    CHECK_STR(r.toks[6], "2024");
    for (int i = 0; i < r.n && i < 64; i++)
        CHECK(!r.coloc[i]);
}

static void test_cjk(void)
{
    /* "红色摩托车 on 路上。" mixed with English */
    const char *s = "A 红色摩托车 on 路上。";
    rec r = run(s);
    /* a, 红, 红色, 色, 色摩, 摩, 摩托, 托, 托车, 车, on, 路, 路上, 上 */
    CHECK(r.n == 14);
    CHECK_STR(r.toks[0], "a");
    CHECK_STR(r.toks[1], "红");
    CHECK(!r.coloc[1] && r.start[1] == 2 && r.end[1] == 5);
    CHECK_STR(r.toks[2], "红色");
    CHECK(r.coloc[2] && r.start[2] == 2 && r.end[2] == 8);
    CHECK_STR(r.toks[3], "色");
    CHECK(!r.coloc[3] && r.start[3] == 5);
    CHECK_STR(r.toks[9], "车");
    CHECK(r.end[9] == 17);
    CHECK_STR(r.toks[10], "on");
    CHECK(r.start[10] == 18 && r.end[10] == 20);
    CHECK_STR(r.toks[11], "路");
    CHECK_STR(r.toks[12], "路上");
    CHECK(r.coloc[12]);
    CHECK_STR(r.toks[13], "上");
    CHECK(r.end[13] == (int)strlen(s) - 3); /* the full stop separates */

    /* one CJK character: a unigram only */
    r = run("狗");
    CHECK(r.n == 1 && strcmp(r.toks[0], "狗") == 0);
    /* CJK compatibility ideograph normalised (U+F900 -> U+8C48), then
     * folded to its simplified form (U+5C82) */
    r = run("\xEF\xA4\x80");
    CHECK(r.n == 1 && strcmp(r.toks[0], "\xE5\xB2\x82") == 0);
    /* OCR spaces between Chinese characters do not break bigrams, a line
     * break or a longer gap does */
    r = run("柱 状 图");
    CHECK(r.n == 5);
    CHECK_STR(r.toks[1], "柱状");
    CHECK(r.coloc[1] && r.start[1] == 0 && r.end[1] == 7);
    CHECK_STR(r.toks[4], "图");
    CHECK(r.start[4] == 8);
    r = run("图表\n分析");
    CHECK(r.n == 6); /* 图 图表 表 | 分 分析 析 */
    r = run("狗    猫");
    CHECK(r.n == 2);
    r = run("狗 cat");
    CHECK(r.n == 2 && strcmp(r.toks[1], "cat") == 0);
    /* CJK punctuation and the katakana middle dot separate */
    r = run("图表，数据・テスト");
    CHECK(r.n >= 9);
    CHECK_STR(r.toks[2], "表");
    CHECK_STR(r.toks[3], "数");
}

static void test_offsets_normalisation_changes_length(void)
{
    /* "ß" (2 bytes) becomes "ss"; offsets stay in the original text */
    const char *s = "große Straße";
    rec r = run(s);
    CHECK(r.n == 2);
    CHECK_STR(r.toks[0], "grosse");
    CHECK(r.start[0] == 0 && r.end[0] == 6);
    CHECK_STR(r.toks[1], "strasse");
    CHECK(r.start[1] == 7 && r.end[1] == (int)strlen(s));
}

static void test_invalid_and_limits(void)
{
    const char bad[] = "ab\xff\xfe" "cd\xe4\xb8" "\xc3(" "\xe7\x8b\x97";
    rec r = run(bad);
    CHECK(r.n == 3);
    CHECK_STR(r.toks[0], "ab");
    CHECK_STR(r.toks[1], "cd");
    CHECK_STR(r.toks[2], "狗");
    r = run("!!! ，。、 ... ---");
    CHECK(r.n == 0);
    /* a huge word is cut at the cap, offsets cover the whole run */
    char *big = malloc(100001);
    memset(big, 'x', 100000);
    big[100000] = 0;
    r = run(big);
    CHECK(r.n == 1);
    CHECK(strlen(r.toks[0]) == EMB_MAX_TOKEN);
    CHECK(r.end[0] == 100000);
    /* a long CJK run is cut into many tokens without trouble */
    free(big);
    /* the callback's non-zero return stops tokenisation */
    rec s;
    memset(&s, 0, sizeof s);
    s.stop_after = 2;
    CHECK(emb_tokenize("one two three", 13, rec_fn, &s) == 7);
    CHECK(s.n == 2);
    CHECK(emb_tokenize(NULL, 3, rec_fn, &s) == 0);
    /* truncated multibyte at the very end */
    r = run("abc\xe4");
    CHECK(r.n == 1 && strcmp(r.toks[0], "abc") == 0);
}

static void test_stopwords_and_stem(void)
{
    CHECK(emb_is_stopword("the", 3));
    CHECK(emb_is_stopword("of", 2));
    CHECK(emb_is_stopword("的", 3));
    CHECK(emb_is_stopword("一张", 6));
    CHECK(!emb_is_stopword("chart", 5));
    CHECK(!emb_is_stopword("狗", 3));
    CHECK(!emb_is_stopword("thee", 4));
    CHECK(!emb_is_stopword("", 0));
    char out[64];
    struct { const char *w, *s; } cases[] = {
        {"charts", "chart"}, {"chart", "chart"}, {"boxes", "box"},
        {"berries", "berry"}, {"running", "run"}, {"stopped", "stop"},
        {"glass", "glass"}, {"bus", "bus"}, {"women", "woman"},
        {"men", "man"}, {"plotted", "plot"}, {"2024s", "2024s"},
        {"series", "series"}, {"species", "species"}, {"cities", "city"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        emb_stem(cases[i].w, (int)strlen(cases[i].w), out, sizeof out);
        CHECK_STR(out, cases[i].s);
    }
}

static void test_toklist(void)
{
    emb_toklist l = {0};
    const char *s = "bar chart, pie 柱状图";
    emb_toklist_build(&l, s, strlen(s), 0);
    CHECK(l.n == 8 && !l.overflow);
    if (l.n == 8) {
        CHECK(l.toks[0].kind == EMB_TOK_WORD && !l.toks[0].joined);
        CHECK(l.toks[1].joined);  /* "bar chart" */
        CHECK(!l.toks[2].joined); /* comma between chart and pie */
        CHECK(l.toks[3].kind == EMB_TOK_CJK && !l.toks[3].joined);
        CHECK(l.toks[4].kind == EMB_TOK_BIGRAM);
        CHECK(l.toks[5].kind == EMB_TOK_CJK && l.toks[5].joined);
        CHECK(memcmp(l.text + l.toks[7].off, "图", 3) == 0);
    }
    emb_toklist_free(&l);
    emb_toklist_build(&l, "a b c d e", 9, 3);
    CHECK(l.n == 3 && l.overflow);
    emb_toklist_free(&l);
    emb_toklist_free(NULL);
}

typedef struct bounds {
    int len, last_start, bad, n;
} bounds;

static int bounds_fn(void *ctx, const char *tok, int len, int start, int end,
                     bool colocated)
{
    bounds *b = ctx;
    b->n++;
    if (len <= 0 || len > 2 * EMB_MAX_TOKEN + 8 || start < 0 || end > b->len ||
        start >= end || (!colocated && start < b->last_start))
        b->bad++;
    /* tokens are valid UTF-8 whatever the input was */
    for (int i = 0; i < len;) {
        int32_t cp;
        int k = core_utf8_next(tok + i, (size_t)(len - i), &cp);
        if (cp == 0xFFFD)
            b->bad++;
        i += k;
    }
    if (!colocated)
        b->last_start = start;
    return 0;
}

/* random bytes and random mixes of real characters: offsets stay inside
 * the text and ordered, tokens stay valid UTF-8, nothing crashes */
static void test_random(void)
{
    static const char *pieces[] = {"a", "Z", "9", " ", "狗", "图表", "\xff", "\xe4\xb8",
                                   "'", "’s", "é", "\xcc\x81", "ｆｕｌｌ", "。", "-",
                                   "\xef\xb8\x8f", "\xe3\x83\xbb", "\0", "ß", "①"};
    unsigned seed = 12345;
    char buf[512];
    int bad = 0, total = 0;
    for (int iter = 0; iter < 3000; iter++) {
        int n = 0;
        if (iter % 2) {
            int want = (int)((seed = seed * 1103515245u + 12345u) >> 16) % 300;
            for (int i = 0; i < want; i++)
                buf[n++] = (char)((seed = seed * 1103515245u + 12345u) >> 16);
        } else {
            int want = (int)((seed = seed * 1103515245u + 12345u) >> 16) % 60;
            for (int i = 0; i < want; i++) {
                const char *p = pieces[((seed = seed * 1103515245u + 12345u) >> 16) % 20];
                size_t pl = p[0] ? strlen(p) : 1;
                if (n + (int)pl >= (int)sizeof buf)
                    break;
                memcpy(buf + n, p, pl);
                n += (int)pl;
            }
        }
        bounds b = {n, 0, 0, 0};
        emb_tokenize(buf, n, bounds_fn, &b);
        bad += b.bad;
        total += b.n;
        char *norm = emb_normalize(buf, (size_t)n);
        free(norm);
    }
    CHECK_MSG(bad == 0, "%d bad tokens of %d", bad, total);
    CHECK(total > 1000);
}

int main(void)
{
    test_normalize();
    test_words();
    test_cjk();
    test_offsets_normalisation_changes_length();
    test_invalid_and_limits();
    test_stopwords_and_stem();
    test_toklist();
    test_random();
    return check_result("test_emb_tokenize");
}

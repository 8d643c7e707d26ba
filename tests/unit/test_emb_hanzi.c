/* test_emb_hanzi.c - unit tests for embedder/hanzi.c and the tokenizer's
 * Han folding: traditional text tokenises (and embeds) like its simplified
 * form with offsets into the original bytes, pinyin of known characters,
 * and that other scripts pass through unchanged. */
#include "check.h"
#include "embedder_int.h"

#include <stdlib.h>

typedef struct rec {
    char toks[64][80];
    int start[64], end[64];
    bool coloc[64];
    int n;
} rec;

static int rec_fn(void *ctx, const char *tok, int len, int start, int end, bool colocated)
{
    rec *r = ctx;
    if (r->n < 64 && len < 80) {
        memcpy(r->toks[r->n], tok, (size_t)len);
        r->toks[r->n][len] = 0;
        r->start[r->n] = start, r->end[r->n] = end, r->coloc[r->n] = colocated;
        r->n++;
    }
    return 0;
}

static rec run(const char *s)
{
    rec r;
    memset(&r, 0, sizeof r);
    emb_tokenize(s, (int)strlen(s), rec_fn, &r);
    return r;
}

/* tokens of a and b as one string each: "t1|t2|..." */
static void joined(const rec *r, char *out, size_t cap)
{
    out[0] = 0;
    for (int i = 0; i < r->n; i++) {
        size_t l = strlen(out);
        snprintf(out + l, cap - l, "%s%s", i ? "|" : "", r->toks[i]);
    }
}

static void test_fold_code_points(void)
{
    CHECK(emb_han_fold(0x5716) == 0x56FE); /* 圖 -> 图 */
    CHECK(emb_han_fold(0x9032) == 0x8FDB); /* 進 -> 进 */
    CHECK(emb_han_fold(0x81FA) == 0x53F0); /* 臺 -> 台 */
    CHECK(emb_han_fold(0x56FE) == 0x56FE); /* simplified stays */
    CHECK(emb_han_fold(0x4E2D) == 0x4E2D); /* 中: no variant */
    /* listed as "itself, 干": the first that differs */
    CHECK(emb_han_fold(0x4E7E) == 0x5E72);
    CHECK(emb_han_fold('A') == 'A');
    CHECK(emb_han_fold(0x3042) == 0x3042); /* hiragana */
    CHECK(emb_han_fold(0xAC00) == 0xAC00); /* hangul */
    /* folding never leaves something that folds again */
    int chains = 0;
    for (int32_t cp = 0x3400; cp < 0xA000; cp++) {
        int32_t f = emb_han_fold(cp);
        if (f != cp && emb_han_fold(f) != f)
            chains++;
    }
    CHECK_MSG(chains == 0, "%d folds are not final", chains);
}

static void test_fold_tokens(void)
{
    const char *trad = "星圖進寶，臺灣的圖書館";
    const char *simp = "星图进宝，台湾的图书馆";
    rec a = run(trad), b = run(simp);
    char ja[2048], jb[2048];
    joined(&a, ja, sizeof ja);
    joined(&b, jb, sizeof jb);
    CHECK(a.n > 10);
    CHECK_STR(ja, jb);
    /* offsets point into the original (traditional) bytes */
    bool found_bigram = false;
    for (int i = 0; i < a.n; i++) {
        CHECK(a.start[i] >= 0 && a.end[i] <= (int)strlen(trad) && a.start[i] < a.end[i]);
        if (strcmp(a.toks[i], "图") == 0)
            CHECK(memcmp(trad + a.start[i], "圖", 3) == 0 && a.end[i] - a.start[i] == 3);
        if (strcmp(a.toks[i], "星图") == 0) {
            found_bigram = true;
            CHECK(a.coloc[i]);
            CHECK(a.start[i] == 0 && a.end[i] == 6);
            CHECK(memcmp(trad + a.start[i], "星圖", 6) == 0);
        }
    }
    CHECK(found_bigram);
    CHECK(strstr(ja, "圖") == NULL && strstr(ja, "進") == NULL);
    /* OCR spaces between characters: still one run, still folded */
    rec c = run("圖 書");
    joined(&c, ja, sizeof ja);
    CHECK_STR(ja, "图|图书|书");
    CHECK(c.n == 3 && c.start[2] == 4 && c.end[2] == 7);
}

static void test_other_scripts(void)
{
    char j[2048];
    rec r = run("Hello Café 2024 ひらがな Москва 한국어");
    joined(&r, j, sizeof j);
    CHECK_STR(j, "hello|cafe|2024|ひ|ひら|ら|らが|が|がな|な|москва|한|한국|국|국어|어");
    r = run("WenKai LXGW Beijing");
    joined(&r, j, sizeof j);
    CHECK_STR(j, "wenkai|lxgw|beijing");
}

static void test_embed_folded(void)
{
    static float a[EMB_DIM], b[EMB_DIM], c[EMB_DIM];
    const char *trad = "臺灣地圖與進口統計";
    const char *simp = "台湾地图与进口统计";
    emb_embed(trad, strlen(trad), a);
    emb_embed(simp, strlen(simp), b);
    emb_embed("北京天气", strlen("北京天气"), c);
    double ab = 0, ac = 0;
    for (int i = 0; i < EMB_DIM; i++)
        ab += (double)a[i] * b[i], ac += (double)a[i] * c[i];
    CHECK_NEAR(ab, 1.0, 1e-5);
    CHECK(ac < 0.5);
}

static void test_pinyin(void)
{
    char out[128];
    CHECK(emb_pinyin_utf8("北京", strlen("北京"), out, sizeof out, false) == 7);
    CHECK_STR(out, "beijing");
    CHECK(emb_pinyin_utf8("文楷", strlen("文楷"), out, sizeof out, false) > 0);
    CHECK_STR(out, "wenkai");
    CHECK(emb_pinyin_utf8("霞鹜文楷", strlen("霞鹜文楷"), out, sizeof out, false) > 0);
    CHECK_STR(out, "xiawuwenkai");
    CHECK(emb_pinyin_utf8("文泉驿", strlen("文泉驿"), out, sizeof out, false) > 0);
    CHECK_STR(out, "wenquanyi");
    /* traditional characters read as themselves */
    CHECK(emb_pinyin_utf8("臺灣", strlen("臺灣"), out, sizeof out, false) > 0);
    CHECK_STR(out, "taiwan");
    CHECK(emb_pinyin_utf8("乾", strlen("乾"), out, sizeof out, false) > 0);
    CHECK_STR(out, "qian");
    /* u-umlaut: v, or u on request */
    CHECK(emb_pinyin_utf8("绿女", strlen("绿女"), out, sizeof out, false) > 0);
    CHECK_STR(out, "lvnv");
    CHECK(emb_pinyin_utf8("绿女", strlen("绿女"), out, sizeof out, true) > 0);
    CHECK_STR(out, "lunu");
    /* no reading, no pinyin; too small a buffer is refused */
    CHECK(emb_pinyin_utf8("北a", strlen("北a"), out, sizeof out, false) == -1);
    CHECK(emb_pinyin_utf8("ひら", strlen("ひら"), out, sizeof out, false) == -1);
    CHECK(emb_pinyin_utf8("", 0, out, sizeof out, false) == -1);
    CHECK(emb_pinyin_utf8("北京", strlen("北京"), out, 5, false) == -1);
    CHECK(emb_pinyin(0x4E2D) && strcmp(emb_pinyin(0x4E2D), "zhong") == 0);
    CHECK(emb_pinyin('a') == NULL);
    /* every syllable is plain lowercase ASCII */
    int bad = 0, n = 0;
    for (int32_t cp = 0x4E00; cp < 0xA000; cp++) {
        const char *p = emb_pinyin(cp);
        if (!p)
            continue;
        n++;
        for (const char *c = p; *c; c++)
            bad += *c < 'a' || *c > 'z';
    }
    CHECK(n > 20000);
    CHECK(bad == 0);
}

static void test_ids(void)
{
    const char *t = emb_tokenizer_id();
    CHECK(t && strncmp(t, "odx-tok-", 8) == 0 && strstr(t, "+unihan") != NULL);
    CHECK(emb_tokenizer_id() == t);
    const char *m = emb_model_id();
    /* content.embedder is read back into char[32] */
    CHECK_MSG(strlen(m) <= 31, "model id '%s' too long", m);
    CHECK(strncmp(m, EMB_ID "+lex", strlen(EMB_ID) + 4) == 0 && strstr(m, "+tk") != NULL);
}

int main(void)
{
    test_fold_code_points();
    test_fold_tokens();
    test_other_scripts();
    test_embed_folded();
    test_pinyin();
    test_ids();
    return check_result("test_emb_hanzi");
}

/* test_emb_embed.c - unit tests for embedder/embed.c: unit norm, zero for
 * empty text, determinism across threads, morphology, and cross-language
 * closeness through the lexicon for every kind of lexicon entry. */
#include "check.h"
#include "embedder_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

static float cos_of(const char *a, const char *b)
{
    float x[EMB_DIM], y[EMB_DIM];
    emb_embed(a, strlen(a), x);
    emb_embed(b, strlen(b), y);
    float d = 0;
    for (int i = 0; i < EMB_DIM; i++)
        d += x[i] * y[i];
    return d;
}

static double norm_of(const float *v)
{
    double n = 0;
    for (int i = 0; i < EMB_DIM; i++)
        n += (double)v[i] * v[i];
    return sqrt(n);
}

static void test_norm_and_empty(void)
{
    float v[EMB_DIM];
    const char *texts[] = {"bar chart", "一张红色摩托车的照片", "x", "2024",
                           "the of and", "ＡＢＣ", "a\xff\xfe broken \xe4 text"};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        emb_embed(texts[i], strlen(texts[i]), v);
        CHECK_NEAR(norm_of(v), 1.0, 1e-4);
    }
    for (int i = 0; i < EMB_DIM; i++)
        v[i] = 5;
    emb_embed("", 0, v);
    CHECK(norm_of(v) == 0);
    for (int i = 0; i < EMB_DIM; i++)
        v[i] = 5;
    emb_embed("!!! ，。 ...", strlen("!!! ，。 ..."), v);
    CHECK(norm_of(v) == 0);
    emb_embed(NULL, 10, v);
    CHECK(norm_of(v) == 0);
    emb_embed("text", 4, NULL); /* must not crash */
}

typedef struct th_arg {
    const char *text;
    float v[EMB_DIM];
} th_arg;

static void *th_embed(void *p)
{
    th_arg *a = p;
    for (int i = 0; i < 50; i++)
        emb_embed(a->text, strlen(a->text), a->v);
    return NULL;
}

static void test_deterministic(void)
{
    const char *t = "A line chart of population by year, 折线图 人口 年份";
    float a[EMB_DIM], b[EMB_DIM];
    emb_embed(t, strlen(t), a);
    emb_embed(t, strlen(t), b);
    CHECK(memcmp(a, b, sizeof a) == 0);
    th_arg args[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        args[i].text = t;
        pthread_create(&th[i], NULL, th_embed, &args[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK(memcmp(args[i].v, a, sizeof a) == 0);
    }
    /* a different text gives a different vector */
    emb_embed("pie chart", 9, b);
    CHECK(memcmp(a, b, sizeof a) != 0);
}

static void test_similarity(void)
{
    float bar_zh = cos_of("bar chart", "柱状图");
    float bar_moto = cos_of("bar chart", "红色摩托车");
    CHECK_MSG(bar_zh > 0.4f, "bar chart ~ 柱状图: %g", bar_zh);
    CHECK_MSG(bar_zh > bar_moto + 0.3f, "%g vs %g", bar_zh, bar_moto);
    /* morphology: plural and stem */
    float ch = cos_of("charts", "chart");
    CHECK_MSG(ch > 0.6f, "charts ~ chart: %g", ch);
    CHECK(cos_of("running dogs", "dog runs") > cos_of("running dogs", "cat sleeps"));
    /* a specific chart type is closer to "chart" than to an unrelated word */
    CHECK(cos_of("bar chart", "chart") > cos_of("bar chart", "dog") + 0.2f);
    /* captions: related beats unrelated */
    const char *cap = "A photo of a red motorcycle parked on the street.";
    CHECK(cos_of("red motorcycle", cap) > cos_of("bar chart of sales", cap) + 0.2f);
    CHECK(cos_of("红色摩托车", cap) > cos_of("柱状图", cap) + 0.2f);
}

/* one pair per kind of lexicon entry: the English word and the Chinese
 * word must be clearly closer to each other than to an unrelated word */
static void test_cross_language(void)
{
    struct {
        const char *kind, *en, *zh, *other;
    } pairs[] = {
        {"colour", "red", "红色", "狗"},
        {"colour", "blue", "蓝色", "表格"},
        {"object", "dog", "狗", "红色"},
        {"object", "motorcycle", "摩托车", "雪"},
        {"object", "kite", "风筝", "表格"},
        {"scene", "snow", "雪", "狗"},
        {"scene", "sunset", "夕阳", "表格"},
        {"scene", "mountain", "山", "饼图"},
        {"domain", "table", "表格", "狗"},
        {"domain", "screenshot", "截图", "雪"},
        {"domain", "document", "文档", "夕阳"},
        {"chart", "pie chart", "饼图", "狗"},
        {"chart", "line chart", "折线图", "雪"},
        {"chart", "legend", "图例", "狗"},
        {"synonym", "bike", "自行车", "狗"},
        {"synonym", "automobile", "汽车", "雪"},
        {"doc", "invoice", "发票", "雪"},
        {"ui", "button", "按钮", "夕阳"},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        float same = cos_of(pairs[i].en, pairs[i].zh);
        float diff = cos_of(pairs[i].en, pairs[i].other);
        CHECK_MSG(same > 0.4f && same > diff + 0.3f, "%s: %s~%s %g, vs %s %g",
                  pairs[i].kind, pairs[i].en, pairs[i].zh, same, pairs[i].other, diff);
    }
    /* synonyms within one language */
    CHECK(cos_of("automobile", "car") > 0.4f);
    CHECK(cos_of("photograph", "picture") > 0.4f);
}

static void test_stopwords_weigh_little(void)
{
    /* adding function words barely moves the vector */
    CHECK(cos_of("dog", "the dog of the") > 0.95f);
    CHECK(cos_of("狗", "一只狗的") > 0.9f);
}

static void test_large_and_speed(void)
{
    /* 2 MB of mixed text: bounded time, unit norm */
    size_t n = 2u << 20;
    char *big = malloc(n + 1);
    const char *chunk = "Bar chart of sales 销售额柱状图 2024 with legend. ";
    size_t cl = strlen(chunk), off = 0;
    while (off + cl <= n) {
        memcpy(big + off, chunk, cl);
        off += cl;
    }
    big[off] = 0;
    float v[EMB_DIM];
    double t0 = (double)clock() / CLOCKS_PER_SEC;
    emb_embed(big, off, v);
    double dt = (double)clock() / CLOCKS_PER_SEC - t0;
    CHECK_NEAR(norm_of(v), 1.0, 1e-4);
    fprintf(stderr, "embed: %.1f MB/s\n", (double)off / 1e6 / (dt > 0 ? dt : 1e-9));
    /* generous bound (sanitizer builds are slow); the target is > 5 MB/s */
    CHECK_MSG(dt < 10.0, "2 MB took %.2f s", dt);
    free(big);
}

int main(void)
{
    test_norm_and_empty();
    test_deterministic();
    test_similarity();
    test_cross_language();
    test_stopwords_weigh_little();
    test_large_and_speed();
    return check_result("test_emb_embed");
}

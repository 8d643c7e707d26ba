/* test_emb_words.c - unit tests for embedder/words.c, the concept layer
 * generated from WordNet, CLDR and Unihan: lemmas (morphy), sense choice
 * for ambiguous words, hypernym chains and their stopping point, the
 * en/zh bridge, Unihan glosses, and what query analysis and the embedding
 * make of them (including the ODX_WORDS_OFF ablation). */
#include "check.h"
#include "embedder_int.h"

#include <math.h>
#include <stdlib.h>

static int sense_of(const char *w)
{
    return emb_words_sense(emb_words_lemma(w, (int)strlen(w)));
}

/* true when some word of some synset of the chain of w is name */
static bool chain_has(const char *w, const char *name, float *weight)
{
    emb_wconcept c[EMB_MAX_CHAIN];
    int n = emb_words_en(w, (int)strlen(w), c, EMB_MAX_CHAIN);
    for (int i = 0; i < n; i++)
        for (int j = 0; emb_words_syn_word(c[i].syn, j); j++)
            if (strcmp(emb_words_syn_word(c[i].syn, j), name) == 0) {
                if (weight)
                    *weight = c[i].w;
                return true;
            }
    return false;
}

static void test_lemmas(void)
{
    CHECK(emb_words_lemma("mouse", 5) >= 0);
    CHECK(emb_words_lemma("mice", 4) == emb_words_lemma("mouse", 5));     /* exception */
    CHECK(emb_words_lemma("geese", 5) == emb_words_lemma("goose", 5));
    CHECK(emb_words_lemma("boxes", 5) == emb_words_lemma("box", 3));      /* -xes */
    CHECK(emb_words_lemma("ponies", 6) == emb_words_lemma("pony", 4));    /* -ies */
    CHECK(emb_words_lemma("firemen", 7) == emb_words_lemma("fireman", 7)); /* -men */
    CHECK(emb_words_lemma("dolphins", 8) == emb_words_lemma("dolphin", 7));
    CHECK(emb_words_lemma("wall clock", 10) >= 0); /* phrases as WordNet has them */
    CHECK(emb_words_lemma("qwxzv", 5) < 0);
    CHECK(emb_words_lemma("", 0) < 0);
}

static void test_senses(void)
{
    /* ambiguous words: the sense a picture shows, not the most abstract */
    int bank = sense_of("bank");
    CHECK_MSG(bank >= 0 && emb_words_syn_lexfile(bank) == 17, "bank: lexfile %d (%s)",
              emb_words_syn_lexfile(bank), emb_words_syn_word(bank, 0)); /* sloping land, noun.object */
    int mouse = sense_of("mouse");
    CHECK_MSG(mouse >= 0 && emb_words_syn_lexfile(mouse) == 5, "mouse: lexfile %d",
              emb_words_syn_lexfile(mouse)); /* the rodent, noun.animal */
    int crane = sense_of("crane");
    int lf = emb_words_syn_lexfile(crane);
    CHECK_MSG(lf == 6 || lf == 5, "crane: lexfile %d (%s)", lf, emb_words_syn_word(crane, 0));
    CHECK_MSG(emb_words_syn_word(crane, 0) && strcmp(emb_words_syn_word(crane, 0), "Crane") != 0,
              "crane is not the poet");
    int apple = sense_of("apple");
    CHECK(emb_words_syn_lexfile(apple) == 13 || emb_words_syn_lexfile(apple) == 20);
}

static void test_chains(void)
{
    float w1 = 0, w2 = 0;
    CHECK(chain_has("ostrich", "ostrich", &w1));
    CHECK_NEAR(w1, 1.0, 1e-6);
    CHECK(chain_has("ostrich", "bird", &w2));
    CHECK_MSG(w2 < w1 && w2 > 0.3f, "bird weight %g", w2);
    CHECK(chain_has("dolphin", "mammal", NULL));
    CHECK(chain_has("hedgehog", "mammal", NULL) || chain_has("hedgehog", "rodent", NULL));
    CHECK(chain_has("violin", "musical instrument", NULL) || chain_has("violin", "bowed stringed instrument", NULL));
    CHECK(chain_has("pineapple", "edible fruit", NULL) || chain_has("pineapple", "fruit", NULL));
    /* the chain stops before the uninformative top */
    CHECK(!chain_has("ostrich", "entity", NULL));
    CHECK(!chain_has("ostrich", "physical entity", NULL));
    CHECK(!chain_has("ostrich", "whole", NULL));
    CHECK(!chain_has("kettle", "artifact", NULL));
    emb_wconcept c[EMB_MAX_CHAIN];
    int n = emb_words_en("ostrich", 7, c, EMB_MAX_CHAIN);
    CHECK(n >= 3 && n <= EMB_MAX_CHAIN);
    for (int i = 1; i < n; i++)
        CHECK_NEAR(c[i].w, c[i - 1].w * 0.8, 1e-5);
    CHECK(emb_words_en("of", 2, c, EMB_MAX_CHAIN) == 0); /* too short */
}

static void test_bridge(void)
{
    const char *en = emb_words_zh_en("刺猬", (int)strlen("刺猬"));
    CHECK_MSG(en && strcmp(en, "hedgehog") == 0, "刺猬 -> %s", en ? en : "(null)");
    en = emb_words_zh_en("火箭", (int)strlen("火箭"));
    CHECK_MSG(en && strcmp(en, "rocket") == 0, "火箭 -> %s", en ? en : "(null)");
    en = emb_words_zh_en("宇航员", (int)strlen("宇航员"));
    CHECK_MSG(en && strcmp(en, "astronaut") == 0, "宇航员 -> %s", en ? en : "(null)");
    emb_wconcept c[EMB_MAX_CHAIN];
    CHECK(emb_words_zh("海豚", (int)strlen("海豚"), c, EMB_MAX_CHAIN) > 0);
    CHECK(emb_words_zh_en("不是词语", (int)strlen("不是词语")) == NULL);
    /* Unihan: 鸵 (U+9E35) is glossed "ostrich", a thing; 的 has no noun gloss */
    const char *g = emb_words_gloss(0x9E35);
    CHECK_MSG(g && strcmp(g, "ostrich") == 0, "鸵 -> %s", g ? g : "(null)");
    CHECK(emb_words_gloss_concepts(0x9E35, c, EMB_MAX_CHAIN) > 0);
    CHECK(emb_words_gloss_concepts(0x7684, c, EMB_MAX_CHAIN) == 0);
    /* longest match over a token list */
    emb_toklist l = {0};
    const char *t = "一只刺猬";
    emb_toklist_build(&l, t, strlen(t), 64);
    int first = -1, last = -1;
    for (int i = 0; i < l.n && first < 0; i++) {
        char key[64];
        int k = emb_words_zh_match(&l, i, &last, key, sizeof key);
        if (k == 2 && strcmp(key, "刺猬") == 0)
            first = i;
    }
    CHECK(first >= 0 && last > first);
    emb_toklist_free(&l);
}

static bool group_has(const emb_query *q, const char *term, bool *expansion)
{
    for (int i = 0; i < q->n_groups; i++)
        for (int j = 0; j < q->groups[i].n_terms; j++)
            if (strcmp(q->groups[i].terms[j], term) == 0) {
                if (expansion)
                    *expansion = j >= q->groups[i].n_own;
                return true;
            }
    return false;
}

static void test_query(void)
{
    emb_query q;
    bool exp = false;
    /* an English word the lexicon lacks reaches the lexicon's animal
     * concept (en and zh) through WordNet, as expansions */
    CHECK(emb_query_parse("hedgehog", &q, NULL) == ODX_OK);
    CHECK(group_has(&q, "hedgehog", &exp) && !exp);
    CHECK(group_has(&q, "animal", &exp) && exp);
    CHECK(group_has(&q, "动物", &exp) && exp);
    emb_query_free(&q);
    CHECK(emb_query_parse("ostrich", &q, NULL) == ODX_OK);
    CHECK(group_has(&q, "bird", &exp) && exp);
    CHECK(group_has(&q, "鸟", &exp) && exp);
    emb_query_free(&q);
    /* a Chinese word CLDR names: its English name and WordNet terms */
    CHECK(emb_query_parse("刺猬", &q, NULL) == ODX_OK);
    CHECK(group_has(&q, "刺猬", &exp) && !exp);
    CHECK(group_has(&q, "hedgehog", &exp) && exp);
    CHECK(group_has(&q, "animal", &exp) && exp);
    emb_query_free(&q);
    /* a Chinese word only Unihan knows: 鸵鸟 (ostrich) */
    CHECK(emb_query_parse("鸵鸟", &q, NULL) == ODX_OK);
    CHECK(group_has(&q, "ostrich", &exp) && exp);
    emb_query_free(&q);
    /* words the lexicon has keep their lexicon expansions only */
    CHECK(emb_query_parse("bar chart", &q, NULL) == ODX_OK);
    CHECK(q.n_groups == 1 && group_has(&q, "柱状图", NULL));
    emb_query_free(&q);
}

static float cosine(const float *a, const float *b)
{
    double d = 0;
    for (int i = 0; i < EMB_DIM; i++)
        d += (double)a[i] * b[i];
    return (float)d;
}

static void test_embedding(void)
{
    static float q[EMB_DIM], bird[EMB_DIM], table[EMB_DIM], zh[EMB_DIM];
    emb_embed("ostrich", 7, q);
    const char *c1 = "A photo of a bird.";
    const char *c2 = "A table with three rows.";
    const char *c3 = "一张有一只鸟的照片。";
    emb_embed(c1, strlen(c1), bird);
    emb_embed(c2, strlen(c2), table);
    emb_embed(c3, strlen(c3), zh);
    CHECK_MSG(cosine(q, bird) > cosine(q, table) + 0.05f, "ostrich~bird %g, ~table %g",
              cosine(q, bird), cosine(q, table));
    CHECK_MSG(cosine(q, zh) > 0.05f, "ostrich~鸟 caption %g", cosine(q, zh));
}

/* The hand lexicon is kept where the data lacks the link: for each kind of
 * entry, pairs whose Chinese form CLDR does not name (so without the
 * lexicon 饼图 would never reach "pie chart"), and the lexicon joins. */
static void test_lexicon_kept(void)
{
    static const char *const kept[][3] = {
        {"domain", "表格", "table"},        {"domain", "示意图", "diagram"},
        {"chart", "饼图", "pie chart"},     {"chart", "散点图", "scatter plot"},
        {"doc", "简历", "resume"},          {"doc", "代码", "code"},
        {"ui", "搜索框", "search bar"},     {"ui", "终端", "terminal"},
        {"colour", "紫色", "purple"},       {"colour", "棕色", "brown"},
        {"scene", "天空", "sky"},           {"scene", "湖", "lake"},
        {"object", "消防栓", "fire hydrant"}, {"object", "长椅", "bench"},
        {"synonym", "矩形", "rectangle"},   {"synonym", "多边形", "polygon"},
    };
    for (size_t i = 0; i < sizeof kept / sizeof kept[0]; i++) {
        const char *kind = kept[i][0], *zh = kept[i][1], *en = kept[i][2];
        CHECK_MSG(emb_words_zh_en(zh, (int)strlen(zh)) == NULL, "CLDR now names %s", zh);
        int a[EMB_MAX_IDS], b[EMB_MAX_IDS];
        int na = emb_concepts(zh, (int)strlen(zh), a, EMB_MAX_IDS);
        int nb = emb_concepts(en, (int)strlen(en), b, EMB_MAX_IDS);
        bool shared = false;
        for (int x = 0; x < na; x++)
            for (int y = 0; y < nb; y++)
                if (a[x] == b[y] && strcmp(emb_concept_kind(a[x]), kind) == 0)
                    shared = true;
        CHECK_MSG(shared, "lexicon %s: %s and %s share no concept", kind, zh, en);
    }
    /* WordNet lacks some English ones too */
    CHECK(emb_words_lemma("scatter plot", 12) < 0);
    CHECK(emb_words_lemma("search bar", 10) < 0);
}

int main(void)
{
    const char *off = getenv("ODX_WORDS_OFF");
    if (off && !strcmp(off, "hypernyms,cldr,unihan")) {
        /* ablation of the parts: WordNet's own senses stay */
        emb_wconcept c[EMB_MAX_CHAIN];
        CHECK(emb_words_enabled());
        CHECK(emb_words_en("ostrich", 7, c, EMB_MAX_CHAIN) == 1); /* no hypernyms */
        CHECK(emb_words_zh_en("刺猬", (int)strlen("刺猬")) == NULL); /* no CLDR */
        CHECK(emb_words_gloss(0x9E35) == NULL);                      /* 鸵: no Unihan */
        return check_result("test_emb_words (ODX_WORDS_OFF parts)");
    }
    if (off && !strcmp(off, "lexicon")) {
        /* ablation of the hand lexicon's everyday entries: the data's
         * words stay, and so do the kinds of image and their vocabulary */
        int ids[EMB_MAX_IDS];
        CHECK(emb_words_enabled());
        CHECK(emb_concepts("dog", 3, ids, EMB_MAX_IDS) == 0);
        CHECK(emb_concepts("sky", 3, ids, EMB_MAX_IDS) == 0);
        CHECK(emb_concepts("purple", 6, ids, EMB_MAX_IDS) == 0);
        CHECK(emb_concepts("pie chart", 9, ids, EMB_MAX_IDS) == 1);
        CHECK(emb_concepts("rectangle", 9, ids, EMB_MAX_IDS) == 1);
        CHECK(emb_lexicon_errors() == 0);
        const char *en = emb_words_zh_en("狗", (int)strlen("狗"));
        CHECK(en && !strcmp(en, "dog")); /* CLDR still bridges 狗 */
        emb_query q;
        CHECK(emb_query_parse("hedgehog", &q, NULL) == ODX_OK);
        CHECK(group_has(&q, "animal", NULL));
        emb_query_free(&q);
        return check_result("test_emb_words (ODX_WORDS_OFF lexicon)");
    }
    if (off && strcmp(off, "layer,lexicon") == 0) {
        /* both: the layer is off and so are the everyday entries */
        int ids[EMB_MAX_IDS];
        CHECK(!emb_words_enabled());
        CHECK(emb_concepts("dog", 3, ids, EMB_MAX_IDS) == 0);
        CHECK(emb_concepts("pie chart", 9, ids, EMB_MAX_IDS) == 1);
        return check_result("test_emb_words (ODX_WORDS_OFF layer,lexicon)");
    }
    if (off) {
        /* ablation: the layer adds nothing */
        emb_wconcept c[EMB_MAX_CHAIN];
        CHECK(!emb_words_enabled());
        CHECK(emb_words_en("ostrich", 7, c, EMB_MAX_CHAIN) == 0);
        CHECK(emb_words_zh_en("刺猬", (int)strlen("刺猬")) == NULL);
        emb_query q;
        CHECK(emb_query_parse("hedgehog", &q, NULL) == ODX_OK);
        CHECK(!group_has(&q, "animal", NULL));
        emb_query_free(&q);
        return check_result("test_emb_words (ODX_WORDS_OFF)");
    }
    CHECK(emb_words_enabled());
    CHECK(emb_words_syn_count() > 80000);
    test_lemmas();
    test_senses();
    test_chains();
    test_bridge();
    test_query();
    test_embedding();
    test_lexicon_kept();
    return check_result("test_emb_words");
}

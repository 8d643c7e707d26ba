/* test_emb_lexicon.c - unit tests for embedder/lexicon.c: the compiled-in
 * lexicon parses cleanly, has every kind of entry, resolves parents, maps
 * words, phrases, plurals and Chinese words to the same concepts, and
 * finds phrases in running text by longest match. */
#include "check.h"
#include "embedder_int.h"

#include <stdlib.h>

static int concept_of(const char *w)
{
    int ids[EMB_MAX_IDS];
    int n = emb_concepts(w, (int)strlen(w), ids, EMB_MAX_IDS);
    return n > 0 ? ids[0] : -1;
}

static bool has_concept(const char *w, int id)
{
    int ids[EMB_MAX_IDS];
    int n = emb_concepts(w, (int)strlen(w), ids, EMB_MAX_IDS);
    for (int i = 0; i < n; i++)
        if (ids[i] == id)
            return true;
    return false;
}

static void test_health(void)
{
    CHECK(emb_lexicon_errors() == 0);
    CHECK(emb_lexicon_unmatchable() == 0);
    int n = emb_concept_count();
    CHECK_MSG(n >= 300, "only %d concepts", n);
    const char *kinds[] = {"domain", "chart", "doc", "ui", "colour", "scene", "object",
                           "synonym"};
    int per_kind[8] = {0};
    for (int i = 0; i < n; i++) {
        const char *k = emb_concept_kind(i);
        CHECK(k != NULL);
        for (int j = 0; k && j < 8; j++)
            per_kind[j] += strcmp(k, kinds[j]) == 0;
        const char *const *w = emb_concept_words(i);
        CHECK(w && w[0]);
        for (int j = 0; w && w[j]; j++) {
            CHECK_MSG(!strchr(w[j], '|') && !strchr(w[j], '\t') && w[j][0] != ' ',
                      "form '%s'", w[j]);
            CHECK_MSG(emb_concept_key(i, j) != NULL, "form '%s' has no tokens", w[j]);
        }
        CHECK(emb_concept_name(i) != NULL);
        /* parents exist and chains end */
        int p = i, depth = 0;
        while (p >= 0 && depth < 10)
            p = emb_concept_parent(p), depth++;
        CHECK(depth < 10);
    }
    for (int j = 0; j < 8; j++)
        CHECK_MSG(per_kind[j] >= 8, "kind %s has %d concepts", kinds[j], per_kind[j]);
    CHECK(per_kind[6] >= 80); /* all COCO classes at least */
    CHECK(emb_concept_words(-1) == NULL && emb_concept_words(n) == NULL);
    CHECK(emb_concept_name(n) == NULL);
    CHECK(strncmp(emb_model_id(), EMB_ID "+lex", strlen(EMB_ID) + 4) == 0);
}

/* every COCO class is in the lexicon (as the detector names them) */
static void test_coco(void)
{
    const char *coco[] = {
        "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck",
        "boat", "traffic light", "fire hydrant", "stop sign", "parking meter", "bench",
        "bird", "cat", "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra",
        "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee",
        "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove",
        "skateboard", "surfboard", "tennis racket", "bottle", "wine glass", "cup",
        "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange",
        "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
        "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse",
        "remote", "keyboard", "cell phone", "microwave", "oven", "toaster", "sink",
        "refrigerator", "book", "clock", "vase", "scissors", "teddy bear",
        "hair drier", "toothbrush"};
    CHECK(sizeof coco / sizeof coco[0] == 80);
    for (size_t i = 0; i < sizeof coco / sizeof coco[0]; i++) {
        int id = concept_of(coco[i]);
        CHECK_MSG(id >= 0, "COCO class '%s' missing", coco[i]);
        /* and each has a Chinese form */
        bool zh = false;
        for (const char *const *w = emb_concept_words(id); id >= 0 && *w; w++)
            zh = zh || (unsigned char)(*w)[0] >= 0xE0;
        CHECK_MSG(zh, "COCO class '%s' has no Chinese form", coco[i]);
    }
}

/* one check per kind of entry: an English word and a Chinese word share
 * the concept; plurals and synonyms find it too */
static void test_kinds(void)
{
    struct {
        const char *a, *b;
    } same[] = {
        {"table", "表格"},         /* domain */
        {"screenshot", "截图"},    /* domain */
        {"bar chart", "柱状图"},   /* chart type (phrase) */
        {"bar graph", "条形图"},   /* chart type synonyms */
        {"legend", "图例"},        /* chart vocabulary */
        {"population", "人口"},    /* chart vocabulary */
        {"invoice", "发票"},       /* document vocabulary */
        {"button", "按钮"},        /* UI vocabulary */
        {"red", "红色"},           /* colour */
        {"grey", "gray"},          /* colour spelling */
        {"snow", "雪"},            /* scene */
        {"sunset", "夕阳"},        /* scene */
        {"dog", "狗"},             /* object */
        {"puppy", "dog"},          /* object synonym */
        {"motorbike", "摩托车"},   /* object synonym */
        {"people", "person"},      /* irregular plural */
        {"charts", "chart"},       /* plural through the stemmer */
        {"bar charts", "柱状图"},  /* plural phrase */
        {"ＤＯＧ", "狗"},          /* not normalised: must not match */
    };
    int n = (int)(sizeof same / sizeof same[0]);
    for (int i = 0; i < n - 1; i++) {
        int id = concept_of(same[i].b);
        CHECK_MSG(id >= 0 && has_concept(same[i].a, id), "'%s' vs '%s'", same[i].a,
                  same[i].b);
    }
    CHECK(concept_of("ＤＯＧ") < 0); /* lookups take normalised keys */
    CHECK(concept_of("glasses") != concept_of("glass")); /* exact beats stem */
    CHECK(concept_of("zzzqx") < 0);
    CHECK(concept_of("") < 0);
    int id = concept_of("bar chart");
    CHECK(id >= 0 && emb_concept_parent(id) == concept_of("chart"));
    CHECK(id >= 0 && strcmp(emb_concept_name(id), "bar chart") == 0);
}

static void test_matches(void)
{
    emb_toklist l = {0};
    const char *s = "A bar chart, a red 柱状图和红色摩托车 bar. chart";
    emb_toklist_build(&l, s, strlen(s), 0);
    emb_match m[16];
    int n = emb_find_matches(&l, m, 16);
    /* bar chart | red | 柱状图 | 红色 | 摩托车 | bar(restaurant) | chart */
    CHECK_MSG(n == 7, "%d matches", n);
    if (n == 7) {
        CHECK_STR(m[0].key, "bar chart");
        CHECK(m[0].n_units == 2 && m[0].start == 2 && m[0].end == 11);
        CHECK_STR(m[1].key, "red");
        CHECK_STR(m[2].key, "柱状图");
        CHECK(m[2].n_units == 3);
        CHECK_STR(m[3].key, "红色");
        CHECK_STR(m[4].key, "摩托车");
        /* "bar. chart": punctuation breaks the phrase */
        CHECK_STR(m[5].key, "bar");
        CHECK_STR(m[6].key, "chart");
        CHECK(m[0].ids[0] == concept_of("柱状图"));
    }
    emb_toklist_free(&l);
    /* longest match wins and contained words do not match again */
    s = "海报上的夕阳";
    emb_toklist_build(&l, s, strlen(s), 0);
    n = emb_find_matches(&l, m, 16);
    CHECK(n == 2);
    if (n == 2) {
        CHECK_STR(m[0].key, "海报"); /* poster, not 海 (sea) */
        CHECK_STR(m[1].key, "夕阳");
    }
    emb_toklist_free(&l);
    /* OCR'd Chinese with spaces between characters still matches */
    s = "柱 状 图";
    emb_toklist_build(&l, s, strlen(s), 0);
    n = emb_find_matches(&l, m, 16);
    CHECK(n == 1 && strcmp(m[0].key, "柱状图") == 0);
    emb_toklist_free(&l);
    CHECK(emb_find_matches(NULL, m, 16) == 0);
}

int main(void)
{
    test_health();
    test_coco();
    test_kinds();
    test_matches();
    return check_result("test_emb_lexicon");
}

/* test_emb_head.c - the head of a query's noun phrase and the concepts a
 * text names (emb_head_concepts, emb_text_concepts). */
#include "check.h"
#include "embedder.h"

static bool head_is(const char *q, const char *concept_id)
{
    int ids[16];
    int n = emb_head_concepts(q, strlen(q), ids, 16);
    for (int i = 0; i < n; i++)
        for (int up = ids[i], d = 0; up >= 0 && d < 3; up = emb_concept_parent(up), d++)
            if (strcmp(emb_concept_id(up), concept_id) == 0)
                return true;
    return false;
}

int main(void)
{
    CHECK(head_is("a table", "table"));
    CHECK(head_is("table with population by state", "table"));
    CHECK(!head_is("cup of espresso on a wooden table", "table"));
    CHECK(head_is("bar chart of death rates by age group", "bar_chart"));
    CHECK(head_is("bar chart of death rates by age group", "chart"));
    CHECK(head_is("package manager application screenshot", "screenshot"));
    CHECK(!head_is("two dogs looking out of a window", "screenshot"));
    CHECK(head_is("电路板设计软件截图", "screenshot"));
    /* a participle before a preposition ends the head; inside a compound not */
    CHECK(!head_is("two dogs looking out of a window", "screenshot"));
    CHECK(head_is("SSH local port forwarding diagram", "diagram"));
    CHECK(head_is("柱状图", "bar_chart"));
    CHECK(!head_is("雪地里的树林", "chart"));
    /* heads that are things or scenes (the retriever prefers photos) */
    int hk[16];
    int nk = emb_head_concepts("red motorcycle parked in a garage",
                               strlen("red motorcycle parked in a garage"), hk, 16);
    bool obj = false;
    for (int i = 0; i < nk; i++)
        obj |= strcmp(emb_concept_kind(hk[i]), "object") == 0;
    CHECK(obj);
    nk = emb_head_concepts("dark forest with a narrow footpath",
                           strlen("dark forest with a narrow footpath"), hk, 16);
    bool scene = false;
    for (int i = 0; i < nk; i++)
        scene |= strcmp(emb_concept_kind(hk[i]), "scene") == 0;
    CHECK(scene);
    int n = emb_head_concepts("", 0, (int[4]){0}, 4);
    CHECK(n == 0);
    /* heads the lexicon lacks, by WordNet (and CLDR for Chinese) */
    static const char *const things[] = {"pelican in flight", "an old zither", "praying mantis",
                                         "kettle on a stove", "宇航员", "一只刺猬"};
    static const char *const not_things[] = {"theory of relativity", "happiness",
                                             "annual growth of revenue", "", "zzqx"};
    for (size_t i = 0; i < sizeof things / sizeof *things; i++)
        CHECK_MSG(emb_head_is_thing(things[i], strlen(things[i])), "%s", things[i]);
    for (size_t i = 0; i < sizeof not_things / sizeof *not_things; i++)
        CHECK_MSG(!emb_head_is_thing(not_things[i], strlen(not_things[i])), "%s", not_things[i]);
    CHECK(!emb_head_is_thing(NULL, 3));

    int ids[32];
    n = emb_text_concepts("a red car next to a 猫", strlen("a red car next to a 猫"), ids, 32);
    bool red = false, car = false, cat = false;
    for (int i = 0; i < n; i++) {
        const char *id = emb_concept_id(ids[i]);
        red |= strcmp(id, "red") == 0;
        car |= strcmp(id, "car") == 0;
        cat |= strcmp(id, "cat") == 0;
    }
    CHECK(red && car && cat);
    return check_result("test_emb_head");
}

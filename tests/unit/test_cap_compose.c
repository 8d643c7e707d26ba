/* test_cap_compose.c - captions and tags from hand-built descriptions: a bar
 * chart with title and axes, a table, a photo with two dogs in the centre
 * that is mostly blue, an unsure case, and a photo with nothing detected. */
#include "captioner_int.h"
#include "check.h"

#include <stdlib.h>
#include <string.h>

static bool has_tag(const cap_desc *d, int lang, const char *t)
{
    for (int i = 0; i < d->n_tags[lang]; i++)
        if (strcmp(d->tags[lang][i], t) == 0)
            return true;
    return false;
}

#define CONTAINS(s, sub) CHECK_MSG((s) && strstr((s), (sub)), "'%s' not in '%s'", (sub), (s) ? (s) : "(null)")
#define LACKS(s, sub) CHECK_MSG(!(s) || !strstr((s), (sub)), "'%s' in '%s'", (sub), (s) ? (s) : "(null)")

static void check_common(const cap_desc *d)
{
    for (int l = 0; l < CAP_N_LANGS; l++) {
        CHECK(d->caption[CAP_DETAILED][l] && *d->caption[CAP_DETAILED][l]);
        CHECK(d->caption[CAP_SHORT][l] && *d->caption[CAP_SHORT][l]);
        CHECK_MSG(d->n_tags[l] >= 10 && d->n_tags[l] <= 25, "lang %d: %d tags", l, d->n_tags[l]);
        for (int i = 0; i < d->n_tags[l]; i++)
            for (int j = i + 1; j < d->n_tags[l]; j++)
                CHECK_MSG(strcmp(d->tags[l][i], d->tags[l][j]) != 0, "duplicate tag %s",
                          d->tags[l][i]);
    }
    /* the Chinese captions are Chinese: full-width stop, no English filler */
    CONTAINS(d->caption[CAP_DETAILED][CAP_ZH], "。");
    LACKS(d->caption[CAP_DETAILED][CAP_ZH], " the ");
}

static void test_bar_chart(void)
{
    cap_desc *d = calloc(1, sizeof *d);
    d->domain = CAP_CHART;
    d->domain_conf = 0.9f;
    strcpy(d->chart_type, "bar");
    d->title = strdup("Monthly airline passengers 1949-1960");
    d->x_label = strdup("Year");
    d->y_label = strdup("Passengers (thousands)");
    d->n_bars = 12;
    d->ocr_ran = true;
    strcpy(d->text_lang, "en");
    odx_err err = {0};
    CHECK(cap_compose(d, &err) == ODX_OK);
    const char *en = d->caption[CAP_DETAILED][CAP_EN], *zh = d->caption[CAP_DETAILED][CAP_ZH];
    CONTAINS(en, "A bar chart titled 'Monthly airline passengers 1949-1960'");
    CONTAINS(en, "x axis shows Year");
    CONTAINS(en, "Passengers (thousands)");
    CONTAINS(en, "12 bars");
    LACKS(en, "ossibly");
    CONTAINS(zh, "一张柱状图");
    CONTAINS(zh, "标题为“Monthly airline passengers 1949-1960”");
    CONTAINS(zh, "横轴为Year");
    CONTAINS(zh, "共12根柱子");
    LACKS(zh, "可能");
    CONTAINS(d->caption[CAP_SHORT][CAP_EN], "bar chart");
    CONTAINS(d->caption[CAP_SHORT][CAP_ZH], "柱状图");
    CHECK(has_tag(d, CAP_EN, "bar chart") && has_tag(d, CAP_EN, "bar graph"));
    CHECK(has_tag(d, CAP_EN, "chart"));
    CHECK(has_tag(d, CAP_ZH, "柱状图") && has_tag(d, CAP_ZH, "条形图") && has_tag(d, CAP_ZH, "图表"));
    check_common(d);
    /* composing twice replaces, it does not leak or append */
    CHECK(cap_compose(d, &err) == ODX_OK);
    CHECK(strstr(strstr(d->caption[CAP_DETAILED][CAP_EN], "12 bars") + 1, "12 bars") == NULL);
    cap_desc_free(d);
}

static void test_table(void)
{
    cap_desc *d = calloc(1, sizeof *d);
    d->domain = CAP_TABLE;
    d->domain_conf = 0.85f;
    d->table_md = strdup("| Name | Port | Proto |\n| --- | --- | --- |\n| ssh | 22 | tcp |\n"
                         "| http | 80 | tcp |");
    d->n_cols = 3;
    d->n_rows = 2;
    d->row_sentences = calloc(2, sizeof(char *));
    d->row_sentences[0] = strdup("Name: ssh; Port: 22; Proto: tcp");
    d->row_sentences[1] = strdup("Name: http; Port: 80; Proto: tcp");
    d->title = strdup("Network services");
    d->ocr_ran = true;
    strcpy(d->text_lang, "en");
    odx_err err = {0};
    CHECK(cap_compose(d, &err) == ODX_OK);
    const char *en = d->caption[CAP_DETAILED][CAP_EN], *zh = d->caption[CAP_DETAILED][CAP_ZH];
    CONTAINS(en, "A table with 3 columns (Name, Port, Proto) and 2 rows");
    CONTAINS(en, "'Network services'");
    CONTAINS(en, "Name: ssh; Port: 22; Proto: tcp");
    CONTAINS(zh, "表格");
    CONTAINS(zh, "共3列（Name、Port、Proto）");
    CONTAINS(zh, "2行");
    CONTAINS(zh, "Name: ssh");
    CHECK(has_tag(d, CAP_EN, "table") && has_tag(d, CAP_ZH, "表格"));
    CHECK(has_tag(d, CAP_EN, "Port"));
    check_common(d);
    cap_desc_free(d);
}

static void test_photo_dogs(void)
{
    cap_desc *d = calloc(1, sizeof *d);
    d->domain = CAP_PHOTO;
    d->domain_conf = 0.95f;
    d->feat.brightness = 0.7f;
    d->feat.sky = 0.6f;       /* the coarse score: not worded */
    d->feat.sunset = 0.9f;    /* warm colours are no sunset */
    d->feat.sc_clear_sky = 0.6f;
    d->n_colors = 2;
    d->colors[0] = (cap_color){"blue", "蓝色", 0.62f, 30, 60, 200};
    d->colors[1] = (cap_color){"white", "白色", 0.2f, 250, 250, 250};
    d->det_ran = true;
    d->n_objects = 2;
    d->objects = calloc(2, sizeof(cap_object));
    d->objects[0] = (cap_object){16, "dog", "狗", 0.88f, 0.38f, 0.40f, 0.50f, 0.62f};
    d->objects[1] = (cap_object){16, "dog", "狗", 0.81f, 0.50f, 0.42f, 0.62f, 0.60f};
    odx_err err = {0};
    CHECK(cap_compose(d, &err) == ODX_OK);
    const char *en = d->caption[CAP_DETAILED][CAP_EN], *zh = d->caption[CAP_DETAILED][CAP_ZH];
    CONTAINS(en, "photo");
    CONTAINS(en, "two dogs in the centre");
    CONTAINS(en, "mostly blue");
    CONTAINS(en, "a clear blue sky");
    CHECK(!strstr(en, "sunset") && !strstr(en, "The scene includes sky"));
    CONTAINS(zh, "照片");
    CONTAINS(zh, "画面中央有两只狗");
    CONTAINS(zh, "以蓝色为主");
    CONTAINS(zh, "晴朗的蓝天");
    CHECK(!strstr(zh, "夕阳"));
    CONTAINS(d->caption[CAP_SHORT][CAP_EN], "two dogs");
    CONTAINS(d->caption[CAP_SHORT][CAP_ZH], "两只狗");
    CHECK(has_tag(d, CAP_EN, "dog") && has_tag(d, CAP_EN, "dogs"));
    CHECK(has_tag(d, CAP_ZH, "狗"));
    /* COCO's supercategory beside the class: "animal" finds the dogs */
    CHECK(has_tag(d, CAP_EN, "animal") && has_tag(d, CAP_ZH, "动物"));
    CHECK(!has_tag(d, CAP_EN, "vehicle"));
    CHECK(has_tag(d, CAP_EN, "blue") && has_tag(d, CAP_ZH, "蓝色"));
    CHECK(has_tag(d, CAP_EN, "photo") && has_tag(d, CAP_ZH, "照片"));
    check_common(d);
    cap_desc_free(d);
}

/* A confident description of one domain with room for n objects. */
static cap_desc *desc_with_objects(cap_domain dom, int n)
{
    cap_desc *d = calloc(1, sizeof *d);
    d->domain = dom;
    d->domain_conf = 0.9f;
    d->feat.brightness = 0.5f;
    d->det_ran = true;
    d->n_objects = n;
    d->objects = calloc((size_t)n, sizeof(cap_object));
    return d;
}

static void test_unsure_and_people(void)
{
    cap_desc *d = calloc(1, sizeof *d);
    d->domain = CAP_CHART;
    d->domain_conf = 0.4f;
    strcpy(d->chart_type, "bar");
    odx_err err = {0};
    CHECK(cap_compose(d, &err) == ODX_OK);
    CONTAINS(d->caption[CAP_DETAILED][CAP_EN], "Possibly a bar chart");
    CONTAINS(d->caption[CAP_DETAILED][CAP_ZH], "可能是一张柱状图");
    CONTAINS(d->caption[CAP_SHORT][CAP_EN], "Possibly");
    CONTAINS(d->caption[CAP_SHORT][CAP_ZH], "可能");
    LACKS(d->caption[CAP_DETAILED][CAP_EN], "titled"); /* no title was found */
    LACKS(d->caption[CAP_DETAILED][CAP_ZH], "标题");
    check_common(d);
    cap_desc_free(d);

    /* a low-score object is hedged; people counted with 个 */
    d = desc_with_objects(CAP_PHOTO, 4);
    d->objects[0] = (cap_object){0, "person", "人", 0.9f, 0.05f, 0.3f, 0.25f, 0.9f};
    d->objects[1] = (cap_object){0, "person", "人", 0.8f, 0.10f, 0.3f, 0.30f, 0.9f};
    d->objects[2] = (cap_object){0, "person", "人", 0.7f, 0.02f, 0.4f, 0.20f, 0.8f};
    d->objects[3] = (cap_object){8, "boat", "船", 0.55f, 0.7f, 0.6f, 0.8f, 0.7f};
    CHECK(cap_compose(d, &err) == ODX_OK);
    CONTAINS(d->caption[CAP_DETAILED][CAP_EN], "three people on the left");
    CONTAINS(d->caption[CAP_DETAILED][CAP_EN], "possibly a boat");
    CONTAINS(d->caption[CAP_DETAILED][CAP_ZH], "左侧有三个人");
    CONTAINS(d->caption[CAP_DETAILED][CAP_ZH], "可能有一艘船");
    /* the short captions hedge the boat in both languages */
    CONTAINS(d->caption[CAP_SHORT][CAP_EN], "three people and possibly a boat");
    CONTAINS(d->caption[CAP_SHORT][CAP_ZH], "一张有三个人、可能还有一艘船的照片");
    cap_desc_free(d);

    /* only unsure objects: "可能有", nothing stated */
    d = desc_with_objects(CAP_PHOTO, 4);
    for (int i = 0; i < 4; i++)
        d->objects[i] = (cap_object){8, "boat", "船", 0.55f, 0.1f + 0.2f * i, 0.3f, 0.25f, 0.4f};
    CHECK(cap_compose(d, &err) == ODX_OK);
    CONTAINS(d->caption[CAP_SHORT][CAP_EN], "possibly four boats");
    CONTAINS(d->caption[CAP_SHORT][CAP_ZH], "一张可能有四艘船的照片");
    LACKS(d->caption[CAP_SHORT][CAP_ZH], "一张有");
    CONTAINS(d->caption[CAP_DETAILED][CAP_ZH], "可能有四艘船");
    cap_desc_free(d);

    /* a poster's objects: the same hedges */
    d = desc_with_objects(CAP_POSTER, 2);
    d->objects[0] = (cap_object){11, "stop sign", "停车标志", 0.7f, 0.1f, 0.1f, 0.4f, 0.4f};
    d->objects[1] = (cap_object){2, "car", "汽车", 0.55f, 0.5f, 0.5f, 0.9f, 0.9f};
    CHECK(cap_compose(d, &err) == ODX_OK);
    CONTAINS(d->caption[CAP_DETAILED][CAP_EN], "possibly a car and a stop sign");
    CONTAINS(d->caption[CAP_DETAILED][CAP_ZH], "图中有一个停车标志、可能还有一辆汽车");
    CONTAINS(d->caption[CAP_SHORT][CAP_ZH], "一张有一个停车标志、可能还有一辆汽车的海报");
    cap_desc_free(d);

    /* boxes under the naming cut-off (0.5) are not named, nor counted with
     * the named ones of their class; they stay in the tags, for search */
    d = desc_with_objects(CAP_PHOTO, 4);
    d->objects[0] = (cap_object){0, "person", "人", 0.9f, 0.05f, 0.3f, 0.25f, 0.9f};
    d->objects[1] = (cap_object){0, "person", "人", 0.45f, 0.10f, 0.3f, 0.30f, 0.9f};
    d->objects[2] = (cap_object){74, "clock", "时钟", 0.48f, 0.6f, 0.1f, 0.7f, 0.2f};
    d->objects[3] = (cap_object){74, "clock", "时钟", 0.31f, 0.7f, 0.1f, 0.8f, 0.2f};
    CHECK(cap_compose(d, &err) == ODX_OK);
    CONTAINS(d->caption[CAP_SHORT][CAP_EN], "a person");
    LACKS(d->caption[CAP_SHORT][CAP_EN], "two people");
    LACKS(d->caption[CAP_DETAILED][CAP_EN], "clock");
    LACKS(d->caption[CAP_DETAILED][CAP_ZH], "时钟");
    CHECK(has_tag(d, CAP_EN, "clock") && has_tag(d, CAP_ZH, "时钟"));
    CHECK(has_tag(d, CAP_EN, "person"));
    cap_desc_free(d);

    /* cut-offs by class (a bird needs 0.6: fishes read as birds), and an
     * animal under 0.7 named by the broader class, in both languages */
    d = desc_with_objects(CAP_PHOTO, 2);
    d->objects[0] = (cap_object){14, "bird", "鸟", 0.55f, 0.1f, 0.1f, 0.3f, 0.3f};
    d->objects[1] = (cap_object){16, "dog", "狗", 0.55f, 0.5f, 0.5f, 0.9f, 0.9f};
    CHECK(cap_compose(d, &err) == ODX_OK);
    CONTAINS(d->caption[CAP_SHORT][CAP_EN], "possibly an animal");
    CONTAINS(d->caption[CAP_SHORT][CAP_ZH], "可能有一只动物");
    LACKS(d->caption[CAP_DETAILED][CAP_EN], "bird");
    LACKS(d->caption[CAP_DETAILED][CAP_EN], "dog");
    CHECK(has_tag(d, CAP_EN, "bird") && has_tag(d, CAP_EN, "dog"));
    cap_desc_free(d);
    d = desc_with_objects(CAP_PHOTO, 1);
    d->objects[0] = (cap_object){16, "dog", "狗", 0.75f, 0.5f, 0.5f, 0.9f, 0.9f};
    CHECK(cap_compose(d, &err) == ODX_OK);
    CONTAINS(d->caption[CAP_SHORT][CAP_EN], "a dog");
    LACKS(d->caption[CAP_SHORT][CAP_EN], "possibly");
    cap_desc_free(d);
}

static void test_poster_objects(void)
{
    cap_desc *d = calloc(1, sizeof *d);
    d->domain = CAP_POSTER;
    d->domain_conf = 0.9f;
    d->det_ran = true;
    d->n_objects = 1;
    d->objects = calloc(1, sizeof(cap_object));
    d->objects[0] = (cap_object){11, "stop sign", "停车标志", 0.7f, 0.1f, 0.1f, 0.9f, 0.9f};
    odx_err err = {0};
    CHECK(cap_compose(d, &err) == ODX_OK);
    CONTAINS(d->caption[CAP_DETAILED][CAP_EN], "a stop sign");
    CONTAINS(d->caption[CAP_DETAILED][CAP_ZH], "停车标志");
    CONTAINS(d->caption[CAP_SHORT][CAP_EN], "poster showing a stop sign");
    CONTAINS(d->caption[CAP_SHORT][CAP_ZH], "停车标志的海报");
    CHECK(has_tag(d, CAP_EN, "stop sign") && has_tag(d, CAP_ZH, "停车标志"));
    /* COCO's "outdoor" supercategory says nothing: not tagged */
    CHECK(!has_tag(d, CAP_EN, "outdoor") && !has_tag(d, CAP_EN, "animal"));
    check_common(d);
    cap_desc_free(d);
}

/* fine-grained detector classes also carry their broader names: a
 * giraffe is an animal, a banana food and fruit (both languages) */
static void test_object_supers(void)
{
    cap_desc *d = calloc(1, sizeof *d);
    d->domain = CAP_PHOTO;
    d->domain_conf = 0.9f;
    d->det_ran = true;
    d->n_objects = 2;
    d->objects = calloc(2, sizeof(cap_object));
    d->objects[0] = (cap_object){23, "giraffe", "长颈鹿", 0.8f, 0.1f, 0.1f, 0.6f, 0.9f};
    d->objects[1] = (cap_object){46, "banana", "香蕉", 0.7f, 0.6f, 0.6f, 0.8f, 0.8f};
    odx_err err = {0};
    CHECK(cap_compose(d, &err) == ODX_OK);
    CHECK(has_tag(d, CAP_EN, "giraffe") && has_tag(d, CAP_ZH, "长颈鹿"));
    CHECK(has_tag(d, CAP_EN, "animal") && has_tag(d, CAP_ZH, "动物"));
    CHECK(has_tag(d, CAP_EN, "food") && has_tag(d, CAP_ZH, "食物"));
    CHECK(has_tag(d, CAP_EN, "fruit") && has_tag(d, CAP_ZH, "水果"));
    CHECK(!has_tag(d, CAP_EN, "vegetable") && !has_tag(d, CAP_EN, "furniture"));
    check_common(d);
    cap_desc_free(d);
}

static void test_photo_nothing(void)
{
    cap_desc *d = calloc(1, sizeof *d);
    d->domain = CAP_PHOTO;
    d->domain_conf = 0.9f;
    d->feat.brightness = 0.15f;
    d->det_ran = true; /* ran, found nothing */
    d->n_colors = 1;
    d->colors[0] = (cap_color){"black", "黑色", 0.7f, 5, 5, 5};
    odx_err err = {0};
    CHECK(cap_compose(d, &err) == ODX_OK);
    const char *en = d->caption[CAP_DETAILED][CAP_EN], *zh = d->caption[CAP_DETAILED][CAP_ZH];
    CONTAINS(en, "dark photo");
    CONTAINS(zh, "昏暗的照片");
    LACKS(en, "showing");
    LACKS(en, "person");
    LACKS(zh, "有一");
    LACKS(zh, "画面中央");
    check_common(d);
    cap_desc_free(d);
}

static void test_other_domains(void)
{
    const cap_domain doms[] = {CAP_DOCUMENT, CAP_SCREENSHOT, CAP_POSTER, CAP_DIAGRAM};
    const char *en_word[] = {"document", "screenshot", "poster", "diagram"};
    const char *zh_word[] = {"文档", "截图", "海报", "示意图"};
    for (int i = 0; i < 4; i++) {
        cap_desc *d = calloc(1, sizeof *d);
        d->domain = doms[i];
        d->domain_conf = 0.8f;
        d->title = strdup("Debian 管理员手册");
        d->ocr_ran = true;
        d->text = strdup("Debian 管理员手册\nline two");
        strcpy(d->text_lang, "mixed");
        odx_err err = {0};
        CHECK(cap_compose(d, &err) == ODX_OK);
        CONTAINS(d->caption[CAP_DETAILED][CAP_EN], en_word[i]);
        CONTAINS(d->caption[CAP_DETAILED][CAP_ZH], zh_word[i]);
        CONTAINS(d->caption[CAP_DETAILED][CAP_EN], "Debian 管理员手册");
        CHECK(has_tag(d, CAP_EN, en_word[i]));
        CHECK(has_tag(d, CAP_ZH, zh_word[i]));
        check_common(d);
        cap_desc_free(d);
    }
    /* a very long title is clipped, at a character boundary */
    cap_desc *d = calloc(1, sizeof *d);
    d->domain = CAP_DOCUMENT;
    d->domain_conf = 0.9f;
    char big[4000];
    for (int i = 0; i < 1000; i++)
        memcpy(big + 3 * i, "中", 3);
    big[3000] = 0;
    d->title = strdup(big);
    odx_err err = {0};
    CHECK(cap_compose(d, &err) == ODX_OK);
    CHECK(strlen(d->caption[CAP_DETAILED][CAP_EN]) < 600);
    char *clean = core_utf8_sanitize(d->caption[CAP_DETAILED][CAP_ZH],
                                     strlen(d->caption[CAP_DETAILED][CAP_ZH]));
    CHECK(clean && strcmp(clean, d->caption[CAP_DETAILED][CAP_ZH]) == 0);
    free(clean);
    cap_desc_free(d);
    CHECK(cap_compose(NULL, &err) == ODX_ERR_INVALID);
}

int main(void)
{
    test_bar_chart();
    test_table();
    test_photo_dogs();
    test_unsure_and_people();
    test_photo_nothing();
    test_poster_objects();
    test_object_supers();
    test_other_domains();
    return check_result("test_cap_compose");
}

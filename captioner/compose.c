/* compose.c - the last step of the captioner: turns a filled cap_desc into
 * captions (detailed, short) and tag lists, written natively in English and
 * Chinese. States only what earlier steps found; hedges when they were unsure. */
#include "captioner_int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CO_MAX_TAGS 25
#define CO_TITLE_MAX 120   /* bytes of a quoted title */
#define CO_EXCERPT_MAX 160 /* bytes of quoted OCR text */
#define CO_HEDGE_CONF 0.6f
/* Detections a caption names: a class when one of its boxes scores its
 * cut-off or more (0.5, or the class's own below), without a hedge from
 * 0.1 above it; an animal below CO_ANIMAL_SPECIES is named by the broader
 * class, "an animal" (动物): the detector knows ten animals and calls a
 * monkey a dog, a fish a bird. Fitted on the train rows of the
 * hand-labelled photographs (tests/eval/photo_objects.tsv; object_eval
 * prints the fit): the species cut-off is where the animal classes are
 * right 0.85 of the time; then a class named 3+ times at 0.5 gets the
 * lowest cut-off where it is right 0.85 of the time. Precision of what is
 * named, train / validation / check: 0.918 / 0.625 / 0.923 (at the
 * detector's own 0.3: 0.37 / 0.45 / 0.28). Weaker boxes stay in the
 * description's object list, with scores, and in the tags, so that search
 * still finds them (on dev, leaving them out of the tags too lost two photo
 * queries of 32 at Hit@5: "possibly two dogs" at 0.37 were two dogs). */
#define CO_OBJ_NAME 0.5f
#define CO_OBJ_MARGIN 0.1f /* cut-off + margin: named without a hedge */
#define CO_ANIMAL_SPECIES 0.7f
static const struct {
    const char *label;
    float cut;
} CO_OBJ_CUT[] = {{"airplane", 0.7f}, {"bird", 0.6f}, {"cup", 0.6f}, {"scissors", 0.6f}};

static float co_obj_cut(const char *label)
{
    for (size_t i = 0; i < sizeof CO_OBJ_CUT / sizeof *CO_OBJ_CUT; i++)
        if (!strcmp(CO_OBJ_CUT[i].label, label))
            return CO_OBJ_CUT[i].cut;
    return CO_OBJ_NAME;
}

/* ----------------------------------------------------------- helpers ---- */

/* Copies at most max bytes of s, cut at a code-point boundary, with the
 * text's line breaks turned into spaces. */
static char *clip(const char *s, size_t max)
{
    if (!s)
        return NULL;
    while (*s == ' ' || *s == '\n')
        s++;
    size_t n = strlen(s);
    bool cut = n > max;
    if (cut) {
        n = max;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    char *o = malloc(n + 4);
    if (!o)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i] == '\n' ? ' ' : s[i];
        if (c == ' ' && k > 0 && o[k - 1] == ' ')
            continue;
        o[k++] = c;
    }
    while (k > 0 && o[k - 1] == ' ')
        k--;
    if (cut) {
        memcpy(o + k, "\xE2\x80\xA6", 3); /* … */
        k += 3;
    }
    o[k] = 0;
    return o;
}

static const char *const EN_NUM[] = {"no", "one", "two", "three", "four", "five",
                               "six", "seven", "eight", "nine", "ten"};

static void en_count(core_buf *b, int n)
{
    if (n >= 0 && n <= 10)
        core_buf_puts(b, EN_NUM[n]);
    else
        core_buf_printf(b, "%d", n);
}

/* Chinese numerals for small counts: 两 before a measure word. */
static void zh_count(core_buf *b, int n)
{
    static const char *const D[] = {"零", "一", "两", "三", "四", "五", "六", "七", "八", "九", "十"};
    static const char *const U[] = {"", "一", "二", "三", "四", "五", "六", "七", "八", "九"};
    if (n >= 0 && n <= 10)
        core_buf_puts(b, D[n]);
    else if (n < 20)
        core_buf_printf(b, "十%s", U[n - 10]);
    else if (n < 100)
        core_buf_printf(b, "%s十%s", U[n / 10], U[n % 10]);
    else
        core_buf_printf(b, "%d", n);
}

static bool starts_vowel(const char *s)
{
    return s && strchr("aeiouAEIOU", s[0]) && strncmp(s, "uni", 3) != 0;
}

/* English plural of a COCO label ("person" -> "people", "bus" -> "buses"). */
static void en_plural(core_buf *b, const char *w)
{
    static const char *const irregular[][2] = {
        {"person", "people"}, {"mouse", "mice"}, {"knife", "knives"},
        {"sheep", "sheep"}, {"skis", "skis"}, {"scissors", "scissors"},
        {"wine glass", "wine glasses"}, {"potted plant", "potted plants"}};
    for (size_t i = 0; i < sizeof irregular / sizeof *irregular; i++)
        if (strcmp(w, irregular[i][0]) == 0) {
            core_buf_puts(b, irregular[i][1]);
            return;
        }
    size_t n = strlen(w);
    if (n >= 2 && (w[n - 1] == 's' || w[n - 1] == 'x' ||
                   (w[n - 1] == 'h' && (w[n - 2] == 'c' || w[n - 2] == 's'))))
        core_buf_printf(b, "%ses", w);
    else if (n >= 2 && w[n - 1] == 'y' && !strchr("aeiou", w[n - 2]))
        core_buf_printf(b, "%.*sies", (int)(n - 1), w);
    else
        core_buf_printf(b, "%ss", w);
}

/* The broader names of a detector class: COCO's own supercategories
 * (animal, vehicle, food, furniture, ...; "outdoor" and "indoor" say
 * nothing and are left out), and fruit/vegetable inside food. Tagged
 * beside the class, so a query for "animal" or 动物 finds the giraffe. */
typedef struct coco_super {
    const char *en, *zh;
} coco_super;

static int coco_supers(const char *label, coco_super *out)
{
    static const struct {
        const char *en, *zh;
        const char *const members[12];
    } T[] = {
        {"animal", "动物", {"bird", "cat", "dog", "horse", "sheep", "cow", "elephant", "bear",
                            "zebra", "giraffe", NULL}},
        {"vehicle", "交通工具", {"bicycle", "car", "motorcycle", "airplane", "bus", "train",
                                 "truck", "boat", NULL}},
        {"accessory", "配饰", {"backpack", "umbrella", "handbag", "tie", "suitcase", NULL}},
        {"sports equipment", "体育用品", {"frisbee", "skis", "snowboard", "sports ball",
                                          "kite", "baseball bat", "baseball glove",
                                          "skateboard", "surfboard", "tennis racket", NULL}},
        {"kitchenware", "餐具", {"bottle", "wine glass", "cup", "fork", "knife", "spoon",
                                 "bowl", NULL}},
        {"food", "食物", {"banana", "apple", "sandwich", "orange", "broccoli", "carrot",
                          "hot dog", "pizza", "donut", "cake", NULL}},
        {"fruit", "水果", {"banana", "apple", "orange", NULL}},
        {"vegetable", "蔬菜", {"broccoli", "carrot", NULL}},
        {"furniture", "家具", {"chair", "couch", "potted plant", "bed", "dining table",
                               "toilet", NULL}},
        {"electronics", "电子产品", {"tv", "laptop", "mouse", "remote", "keyboard",
                                     "cell phone", NULL}},
        {"appliance", "家电", {"microwave", "oven", "toaster", "sink", "refrigerator", NULL}},
    };
    int n = 0;
    for (size_t i = 0; label && i < sizeof T / sizeof T[0] && n < 2; i++)
        for (int j = 0; T[i].members[j]; j++)
            if (strcmp(label, T[i].members[j]) == 0) {
                out[n++] = (coco_super){T[i].en, T[i].zh};
                break;
            }
    return n;
}

/* One of COCO's animals? */
static bool co_is_animal(const char *label)
{
    coco_super sup[2];
    int n = coco_supers(label, sup);
    for (int i = 0; i < n; i++)
        if (!strcmp(sup[i].en, "animal"))
            return true;
    return false;
}

/* Chinese measure word for a COCO class name. */
static const char *zh_measure(const char *label)
{
    static const char *const animals[] = {"dog", "cat", "bird", "sheep", "bear", "zebra",
                                          "giraffe", "mouse", "teddy bear", "animal"};
    static const char *const vehicles[] = {"car", "truck", "bus", "bicycle", "motorcycle"};
    if (!label)
        return "个";
    for (size_t i = 0; i < sizeof animals / sizeof *animals; i++)
        if (strcmp(label, animals[i]) == 0)
            return "只";
    for (size_t i = 0; i < sizeof vehicles / sizeof *vehicles; i++)
        if (strcmp(label, vehicles[i]) == 0)
            return "辆";
    if (!strcmp(label, "horse"))
        return "匹";
    if (!strcmp(label, "cow") || !strcmp(label, "elephant"))
        return "头";
    if (!strcmp(label, "boat"))
        return "艘";
    if (!strcmp(label, "airplane"))
        return "架";
    if (!strcmp(label, "train"))
        return "列";
    if (!strcmp(label, "person"))
        return "个";
    if (!strcmp(label, "chair") || !strcmp(label, "knife") || !strcmp(label, "umbrella"))
        return "把";
    if (!strcmp(label, "bottle") || !strcmp(label, "cup") || !strcmp(label, "wine glass"))
        return "个";
    if (!strcmp(label, "bed") || !strcmp(label, "couch"))
        return "张";
    if (!strcmp(label, "book"))
        return "本";
    if (!strcmp(label, "tv") || !strcmp(label, "laptop") || !strcmp(label, "clock"))
        return "台";
    return "个";
}

/* Tag list with de-duplication and a cap. */
typedef struct taglist {
    char **v;
    int n;
    bool oom;
} taglist;

static void tag(taglist *t, const char *s)
{
    if (!s || !*s || t->n >= CO_MAX_TAGS || t->oom)
        return;
    if (strlen(s) > 48)
        return; /* a sentence, not a tag */
    for (int i = 0; i < t->n; i++)
        if (strcasecmp(t->v[i], s) == 0)
            return;
    char **nv = realloc(t->v, sizeof *nv * (size_t)(t->n + 1));
    if (!nv) {
        t->oom = true;
        return;
    }
    t->v = nv;
    if (!(nv[t->n] = core_strdup(s))) {
        t->oom = true;
        return;
    }
    t->n++;
}

static void tag_free(taglist *t)
{
    for (int i = 0; i < t->n; i++)
        free(t->v[i]);
    free(t->v);
    t->v = NULL;
    t->n = 0;
}

/* --------------------------------------------------------- positions ---- */

static int region_of(const cap_object *o)
{
    float cx = (o->x0 + o->x1) / 2, cy = (o->y0 + o->y1) / 2;
    int h = cx < 0.36f ? 0 : cx > 0.64f ? 2 : 1;
    int v = cy < 0.33f ? 0 : cy > 0.67f ? 2 : 1;
    return v * 3 + h;
}

static const char *const POS_EN[9] = {
    "at the top left", "at the top", "at the top right",
    "on the left", "in the centre", "on the right",
    "at the bottom left", "at the bottom", "at the bottom right"};
static const char *const POS_ZH[9] = {
    "左上方", "上方", "右上方", "左侧", "中央", "右侧", "左下方", "下方", "右下方"};

/* Objects of one class, for counting and placing. */
typedef struct obj_group {
    const char *label, *label_zh;
    int n;
    float best, area;
    int region; /* -1: spread over several regions */
} obj_group;

/* Groups by class the boxes a caption names (named: each scoring its
 * class's cut-off or more) or all of them. */
static int group_objects(const cap_desc *d, obj_group *g, int max, bool named)
{
    int n = 0;
    for (int i = 0; i < d->n_objects; i++) {
        const cap_object *o = &d->objects[i];
        if (!o->label || (named && o->score < co_obj_cut(o->label)))
            continue;
        const char *label = o->label, *label_zh = o->label_zh ? o->label_zh : o->label;
        if (named && o->score < CO_ANIMAL_SPECIES && co_is_animal(label))
            label = "animal", label_zh = "动物";
        int k = 0;
        while (k < n && strcmp(g[k].label, label) != 0)
            k++;
        if (k == n) {
            if (n == max)
                continue;
            g[n] = (obj_group){label, label_zh, 0, 0, 0, region_of(o)};
            n++;
        }
        g[k].n++;
        if (o->score > g[k].best)
            g[k].best = o->score;
        g[k].area += (o->x1 - o->x0) * (o->y1 - o->y0);
        if (g[k].region != region_of(o))
            g[k].region = -1;
    }
    /* biggest first: what the picture is mostly of */
    for (int a = 1; a < n; a++)
        for (int b = a; b > 0 && g[b].area > g[b - 1].area; b--) {
            obj_group t = g[b];
            g[b] = g[b - 1];
            g[b - 1] = t;
        }
    return n;
}

/* Named without a hedge? */
static bool obj_sure(const obj_group *g)
{
    return g->best >= co_obj_cut(g->label) + CO_OBJ_MARGIN;
}

/* Tags of a detected class and of its broader names. */
static void tag_object(taglist *en, taglist *zh, const obj_group *g)
{
    tag(en, g->label);
    tag(zh, g->label_zh);
    coco_super sup[2];
    int n = coco_supers(g->label, sup);
    for (int i = 0; i < n; i++) {
        tag(en, sup[i].en);
        tag(zh, sup[i].zh);
    }
}

static void en_objects(core_buf *b, const obj_group *g, int n, bool with_pos)
{
    for (int i = 0; i < n; i++) {
        if (i)
            core_buf_puts(b, i == n - 1 ? " and " : ", ");
        if (!obj_sure(&g[i]))
            core_buf_puts(b, "possibly ");
        if (g[i].n == 1)
            core_buf_printf(b, "%s %s", starts_vowel(g[i].label) ? "an" : "a", g[i].label);
        else {
            en_count(b, g[i].n);
            core_buf_puts(b, " ");
            en_plural(b, g[i].label);
        }
        if (with_pos)
            core_buf_printf(b, " %s", g[i].region >= 0 ? POS_EN[g[i].region]
                                                        : "across the picture");
    }
}

static void zh_object(core_buf *b, const obj_group *g)
{
    zh_count(b, g->n);
    core_buf_printf(b, "%s%s", zh_measure(g->label), g->label_zh);
}

/* The Chinese for "<where> has A, B and possibly C": the objects the
 * detector was sure of after 有, the others after 可能有 / 可能还有, so that
 * a hedge in the English caption is one in the Chinese too ("possibly four
 * birds" is not "有四只鸟"). where: "" or a place ("图中"). */
static void zh_objects(core_buf *b, const obj_group *g, int n, const char *where)
{
    for (int pass = 0; pass < 2; pass++) {
        bool sure = pass == 0;
        int m = 0, k = 0;
        for (int i = 0; i < n; i++)
            m += obj_sure(&g[i]) == sure;
        if (!m)
            continue;
        if (sure)
            core_buf_printf(b, "%s有", where);
        else if (n > m)
            core_buf_puts(b, "、可能还有");
        else
            core_buf_printf(b, "%s可能有", where);
        for (int i = 0; i < n; i++) {
            if (obj_sure(&g[i]) != sure)
                continue;
            if (k)
                core_buf_puts(b, k == m - 1 ? "和" : "、");
            zh_object(b, &g[i]);
            k++;
        }
    }
}

/* --------------------------------------------------------- by domain ---- */

typedef struct co_out {
    core_buf det[CAP_N_LANGS], brief[CAP_N_LANGS];
    taglist tags[CAP_N_LANGS];
} co_out;

static const char *chart_en(const char *t)
{
    if (!strcmp(t, "bar")) return "bar chart";
    if (!strcmp(t, "line")) return "line chart";
    if (!strcmp(t, "pie")) return "pie chart";
    if (!strcmp(t, "scatter")) return "scatter plot";
    return "chart";
}

static const char *chart_zh(const char *t)
{
    if (!strcmp(t, "bar")) return "柱状图";
    if (!strcmp(t, "line")) return "折线图";
    if (!strcmp(t, "pie")) return "饼图";
    if (!strcmp(t, "scatter")) return "散点图";
    return "图表";
}

static const char *lang_en(const char *l)
{
    if (!strcmp(l, "en")) return "English";
    if (!strcmp(l, "zh")) return "Chinese";
    if (!strcmp(l, "mixed")) return "English and Chinese";
    return NULL;
}

static const char *lang_zh(const char *l)
{
    if (!strcmp(l, "en")) return "英文";
    if (!strcmp(l, "zh")) return "中文";
    if (!strcmp(l, "mixed")) return "中英文";
    return NULL;
}

/* "A" / "Possibly a" + noun, and the Chinese "一张" / "可能是一张". */
static void opener(co_out *o, bool unsure, const char *noun_en, const char *noun_zh)
{
    const char *art = starts_vowel(noun_en) ? "an" : "a";
    if (unsure)
        core_buf_printf(&o->det[CAP_EN], "Possibly %s %s", art, noun_en);
    else
        core_buf_printf(&o->det[CAP_EN], "%s %s", art[1] ? "An" : "A",
                        noun_en);
    core_buf_printf(&o->det[CAP_ZH], "%s一张%s", unsure ? "可能是" : "", noun_zh);
}

static void colours_sentence(co_out *o, const cap_desc *d)
{
    if (d->n_colors <= 0)
        return;
    const cap_color *c = d->colors;
    if (c[0].share >= 0.4f) {
        core_buf_printf(&o->det[CAP_EN], " It is mostly %s.", c[0].name);
        core_buf_printf(&o->det[CAP_ZH], "整体以%s为主。", c[0].name_zh);
    } else if (d->n_colors >= 2 && c[1].share >= 0.12f) {
        core_buf_printf(&o->det[CAP_EN], " The main colours are %s and %s.", c[0].name,
                        c[1].name);
        core_buf_printf(&o->det[CAP_ZH], "主要颜色为%s和%s。", c[0].name_zh, c[1].name_zh);
    }
    for (int i = 0; i < d->n_colors && i < 3; i++)
        if (c[i].share >= 0.12f) {
            tag(&o->tags[CAP_EN], c[i].name);
            tag(&o->tags[CAP_ZH], c[i].name_zh);
        }
}

static void quote_text(co_out *o, const cap_desc *d, const char *skip)
{
    if (!d->text || !*d->text)
        return;
    char *ex = clip(d->text, CO_EXCERPT_MAX);
    if (ex && *ex && (!skip || strcmp(ex, skip) != 0)) {
        core_buf_printf(&o->det[CAP_EN], " The text reads: \"%s\".", ex);
        core_buf_printf(&o->det[CAP_ZH], "图中文字为：“%s”。", ex);
    }
    free(ex);
}

static void text_lang_sentence(co_out *o, const cap_desc *d)
{
    const char *le = lang_en(d->text_lang), *lz = lang_zh(d->text_lang);
    if (!le)
        return;
    core_buf_printf(&o->det[CAP_EN], " The text is in %s.", le);
    core_buf_printf(&o->det[CAP_ZH], "文字为%s。", lz);
    tag(&o->tags[CAP_EN], le);
    tag(&o->tags[CAP_ZH], lz);
}

static void co_chart(co_out *o, const cap_desc *d, bool unsure, const char *title)
{
    const char *ce = chart_en(d->chart_type), *cz = chart_zh(d->chart_type);
    opener(o, unsure, ce, cz);
    if (title) {
        core_buf_printf(&o->det[CAP_EN], " titled '%s'.", title);
        core_buf_printf(&o->det[CAP_ZH], "，标题为“%s”。", title);
    } else {
        core_buf_puts(&o->det[CAP_EN], ".");
        core_buf_puts(&o->det[CAP_ZH], "。");
    }
    char *xl = clip(d->x_label, 80), *yl = clip(d->y_label, 80);
    if (xl && yl) {
        core_buf_printf(&o->det[CAP_EN], " The x axis shows %s, the y axis %s.", xl, yl);
        core_buf_printf(&o->det[CAP_ZH], "横轴为%s，纵轴为%s。", xl, yl);
    } else if (xl) {
        core_buf_printf(&o->det[CAP_EN], " The x axis shows %s.", xl);
        core_buf_printf(&o->det[CAP_ZH], "横轴为%s。", xl);
    } else if (yl) {
        core_buf_printf(&o->det[CAP_EN], " The y axis shows %s.", yl);
        core_buf_printf(&o->det[CAP_ZH], "纵轴为%s。", yl);
    }
    if (d->n_bars > 0) {
        core_buf_printf(&o->det[CAP_EN], " %d bar%s.", d->n_bars, d->n_bars == 1 ? "" : "s");
        core_buf_printf(&o->det[CAP_ZH], "共%d根柱子。", d->n_bars);
    }
    bool pie = !strcmp(d->chart_type, "pie");
    if (d->n_values > 0 && !pie) {
        /* what the bars say: "Jan: 78" -> "Jan 78", hedged when read off
         * the bar lengths */
        bool est = d->values_estimated;
        core_buf_puts(&o->det[CAP_EN], est ? " Values, read off the bars:" : " Values:");
        core_buf_puts(&o->det[CAP_ZH], est ? "按柱长估读的数值：" : "数值：");
        for (int i = 0; i < d->n_values && i < 12; i++) {
            char *v = clip(d->values[i], 60);
            char *colon = v ? strstr(v, ": ") : NULL;
            if (colon)
                *colon = 0;
            const char *num = colon ? colon + 2 : "";
            core_buf_printf(&o->det[CAP_EN], "%s %s %s%s", i ? "," : "", v ? v : "",
                            est ? "about " : "", num);
            core_buf_printf(&o->det[CAP_ZH], "%s%s %s%s", i ? "、" : "", v ? v : "", num,
                            est ? "左右" : "");
            free(v);
        }
        core_buf_puts(&o->det[CAP_EN], ".");
        core_buf_puts(&o->det[CAP_ZH], "。");
    }
    if (d->n_legend > 0) {
        core_buf_puts(&o->det[CAP_EN], pie ? " Slices: " : " Labels: ");
        core_buf_puts(&o->det[CAP_ZH], pie ? "扇区：" : "标注：");
        for (int i = 0; i < d->n_legend && i < 8; i++) {
            /* a slice with the share printed in it: "苹果 44%" */
            const char *share = NULL;
            size_t ll = strlen(d->legend[i]);
            for (int k = 0; pie && k < d->n_values && !share; k++)
                if (!strncmp(d->values[k], d->legend[i], ll) && !strncmp(d->values[k] + ll, ": ", 2))
                    share = d->values[k] + ll + 2;
            char *l = clip(d->legend[i], 40);
            core_buf_printf(&o->det[CAP_EN], "%s%s%s%s", i ? ", " : "", l ? l : "",
                            share ? " " : "", share ? share : "");
            core_buf_printf(&o->det[CAP_ZH], "%s%s%s%s", i ? "、" : "", l ? l : "",
                            share ? " " : "", share ? share : "");
            free(l);
        }
        core_buf_puts(&o->det[CAP_EN], ".");
        core_buf_puts(&o->det[CAP_ZH], "。");
    }
    text_lang_sentence(o, d);
    /* short */
    if (title) {
        core_buf_printf(&o->brief[CAP_EN], "%s%s: '%s'.", unsure ? "Possibly a " : "A ",
                        ce, title);
        core_buf_printf(&o->brief[CAP_ZH], "%s%s：“%s”。", unsure ? "可能是" : "", cz, title);
    } else {
        core_buf_printf(&o->brief[CAP_EN], "%s%s.", unsure ? "Possibly a " : "A ", ce);
        core_buf_printf(&o->brief[CAP_ZH], "%s一张%s。", unsure ? "可能是" : "", cz);
    }
    static const char *const en_syn[][5] = {
        {"bar chart", "bar graph", "column chart", "histogram", "bars"},
        {"line chart", "line graph", "time series", "trend", "curve"},
        {"pie chart", "pie graph", "proportions", "percentage", "share"},
        {"scatter plot", "scatter chart", "scatter graph", "correlation", "data points"}};
    static const char *const zh_syn[][5] = {
        {"柱状图", "条形图", "柱形图", "直方图", "柱子"},
        {"折线图", "曲线图", "趋势图", "时间序列", "趋势"},
        {"饼图", "饼状图", "扇形图", "比例", "占比"},
        {"散点图", "散点", "分布图", "相关性", "数据点"}};
    int k = !strcmp(d->chart_type, "bar") ? 0 : !strcmp(d->chart_type, "line") ? 1
          : !strcmp(d->chart_type, "pie") ? 2 : !strcmp(d->chart_type, "scatter") ? 3 : -1;
    tag(&o->tags[CAP_EN], "chart");
    tag(&o->tags[CAP_ZH], "图表");
    for (int i = 0; k >= 0 && i < 5; i++) {
        tag(&o->tags[CAP_EN], en_syn[k][i]);
        tag(&o->tags[CAP_ZH], zh_syn[k][i]);
    }
    const char *gen_en[] = {"graph", "plot", "data visualization", "statistics", "figure",
                            "diagram of data", "axes", "values", "data"};
    const char *gen_zh[] = {"统计图", "数据可视化", "统计", "图形", "数据图", "坐标轴",
                            "数值", "数据", "统计图表"};
    for (int i = 0; i < 9; i++) {
        tag(&o->tags[CAP_EN], gen_en[i]);
        tag(&o->tags[CAP_ZH], gen_zh[i]);
    }
    if (title) {
        tag(&o->tags[core_has_cjk(title) ? CAP_ZH : CAP_EN], title);
    }
    if (xl)
        tag(&o->tags[core_has_cjk(xl) ? CAP_ZH : CAP_EN], xl);
    if (yl)
        tag(&o->tags[core_has_cjk(yl) ? CAP_ZH : CAP_EN], yl);
    for (int i = 0; i < d->n_legend && i < 6; i++)
        tag(&o->tags[core_has_cjk(d->legend[i]) ? CAP_ZH : CAP_EN], d->legend[i]);
    free(xl);
    free(yl);
}

static void co_table(co_out *o, const cap_desc *d, bool unsure, const char *title)
{
    opener(o, unsure, "table", "表格");
    if (d->n_cols > 0) {
        core_buf_printf(&o->det[CAP_EN], " with %d columns", d->n_cols);
        core_buf_printf(&o->det[CAP_ZH], "，共%d列", d->n_cols);
        /* header names from the first Markdown row */
        if (d->table_md && d->table_md[0] == '|') {
            const char *e = strchr(d->table_md, '\n');
            size_t n = e ? (size_t)(e - d->table_md) : strlen(d->table_md);
            char *hdr = clip(d->table_md, n < 200 ? n : 200);
            if (hdr) {
                /* "| a | b |" -> "a, b" */
                core_buf h, hz;
                core_buf_init(&h, 512);
                core_buf_init(&hz, 512);
                char *save = NULL;
                int n_hdr = 0;
                for (char *c = strtok_r(hdr, "|", &save); c; c = strtok_r(NULL, "|", &save)) {
                    while (*c == ' ')
                        c++;
                    size_t cl = strlen(c);
                    while (cl && c[cl - 1] == ' ')
                        c[--cl] = 0;
                    if (!*c || !strcmp(c, "\xE2\x80\xA6"))
                        continue;
                    core_buf_printf(&h, "%s%s", h.len ? ", " : "", c);
                    core_buf_printf(&hz, "%s%s", hz.len ? "、" : "", c);
                    if (strlen(c) < 40 && n_hdr++ < 8)
                        tag(&o->tags[core_has_cjk(c) ? CAP_ZH : CAP_EN], c);
                }
                if (h.len) {
                    core_buf_printf(&o->det[CAP_EN], " (%s)", h.data);
                    core_buf_printf(&o->det[CAP_ZH], "（%s）", hz.data);
                }
                core_buf_free(&h);
                core_buf_free(&hz);
                free(hdr);
            }
        }
        if (d->n_rows > 0) {
            core_buf_printf(&o->det[CAP_EN], " and %d rows", d->n_rows);
            core_buf_printf(&o->det[CAP_ZH], "、%d行", d->n_rows);
        }
    }
    if (title) {
        core_buf_printf(&o->det[CAP_EN], ", titled '%s'.", title);
        core_buf_printf(&o->det[CAP_ZH], "，标题为“%s”。", title);
    } else {
        core_buf_puts(&o->det[CAP_EN], ".");
        core_buf_puts(&o->det[CAP_ZH], "。");
    }
    if (d->row_sentences && d->n_rows > 0) {
        core_buf_puts(&o->det[CAP_EN], " First rows: ");
        core_buf_puts(&o->det[CAP_ZH], "前几行：");
        for (int i = 0; i < d->n_rows && i < 3; i++) {
            char *s = clip(d->row_sentences[i], 200);
            core_buf_printf(&o->det[CAP_EN], "%s%s", i ? " / " : "", s ? s : "");
            core_buf_printf(&o->det[CAP_ZH], "%s%s", i ? "；" : "", s ? s : "");
            free(s);
        }
        core_buf_puts(&o->det[CAP_EN], ".");
        core_buf_puts(&o->det[CAP_ZH], "。");
    }
    text_lang_sentence(o, d);
    if (title) {
        core_buf_printf(&o->brief[CAP_EN], "%stable: '%s'.", unsure ? "Possibly a " : "A ",
                        title);
        core_buf_printf(&o->brief[CAP_ZH], "%s表格：“%s”。", unsure ? "可能是" : "", title);
        tag(&o->tags[core_has_cjk(title) ? CAP_ZH : CAP_EN], title);
    } else if (d->n_cols > 0) {
        core_buf_printf(&o->brief[CAP_EN], "%stable with %d columns and %d rows.",
                        unsure ? "Possibly a " : "A ", d->n_cols, d->n_rows);
        core_buf_printf(&o->brief[CAP_ZH], "%s一张%d列%d行的表格。", unsure ? "可能是" : "",
                        d->n_cols, d->n_rows);
    } else {
        core_buf_printf(&o->brief[CAP_EN], "%stable.", unsure ? "Possibly a " : "A ");
        core_buf_printf(&o->brief[CAP_ZH], "%s一张表格。", unsure ? "可能是" : "");
    }
    const char *en[] = {"table", "data table", "tabular data", "rows", "columns",
                        "spreadsheet", "grid", "statistics", "data", "list"};
    const char *zh[] = {"表格", "数据表", "统计表", "表", "行", "列", "电子表格", "数据",
                        "列表", "清单"};
    for (int i = 0; i < 10; i++) {
        tag(&o->tags[CAP_EN], en[i]);
        tag(&o->tags[CAP_ZH], zh[i]);
    }
}

static void co_document(co_out *o, const cap_desc *d, bool unsure, const char *title)
{
    const char *le = lang_en(d->text_lang), *lz = lang_zh(d->text_lang);
    core_buf_printf(&o->det[CAP_EN], "%s document page", unsure ? "Possibly a" : "A");
    if (le)
        core_buf_printf(&o->det[CAP_EN], " in %s", le);
    core_buf_printf(&o->det[CAP_ZH], "%s一页%s文档", unsure ? "可能是" : "", lz ? lz : "");
    if (d->n_text_columns >= 2) {
        core_buf_printf(&o->det[CAP_EN], ", laid out in %d columns", d->n_text_columns);
        core_buf_printf(&o->det[CAP_ZH], "，分%d栏排版", d->n_text_columns);
    }
    if (title) {
        core_buf_printf(&o->det[CAP_EN], ", titled '%s'.", title);
        core_buf_printf(&o->det[CAP_ZH], "，标题为“%s”。", title);
    } else {
        core_buf_puts(&o->det[CAP_EN], ".");
        core_buf_puts(&o->det[CAP_ZH], "。");
    }
    char *lead = clip(d->lead, CO_EXCERPT_MAX);
    if (lead && *lead) {
        core_buf_printf(&o->det[CAP_EN], " It begins: \"%s\".", lead);
        core_buf_printf(&o->det[CAP_ZH], "正文开头：“%s”。", lead);
    } else if (!title) {
        quote_text(o, d, NULL);
    }
    free(lead);
    if (title) {
        core_buf_printf(&o->brief[CAP_EN], "%sdocument: '%s'.", unsure ? "Possibly a " : "A ",
                        title);
        core_buf_printf(&o->brief[CAP_ZH], "%s文档：“%s”。", unsure ? "可能是" : "", title);
        tag(&o->tags[core_has_cjk(title) ? CAP_ZH : CAP_EN], title);
    } else {
        core_buf_printf(&o->brief[CAP_EN], "%sdocument page.", unsure ? "Possibly a " : "A ");
        core_buf_printf(&o->brief[CAP_ZH], "%s一页文档。", unsure ? "可能是" : "");
    }
    if (le) {
        tag(&o->tags[CAP_EN], le);
        tag(&o->tags[CAP_ZH], lz);
    }
    const char *en[] = {"document", "page", "text", "article", "manual", "printed page",
                        "paragraphs", "reading", "documentation", "words"};
    const char *zh[] = {"文档", "页面", "文本", "文字", "文章", "手册", "段落", "资料",
                        "说明文档", "书页"};
    for (int i = 0; i < 10; i++) {
        tag(&o->tags[CAP_EN], en[i]);
        tag(&o->tags[CAP_ZH], zh[i]);
    }
}

static void co_screenshot(co_out *o, const cap_desc *d, bool unsure, const char *title)
{
    opener(o, unsure, "screenshot", "软件界面截图");
    if (title) {
        core_buf_printf(&o->det[CAP_EN], " of a window or page titled '%s'", title);
        core_buf_printf(&o->det[CAP_ZH], "，窗口或页面标题为“%s”", title);
    }
    if (d->n_ui_words > 0) {
        core_buf_puts(&o->det[CAP_EN], ", with controls such as ");
        core_buf_puts(&o->det[CAP_ZH], "，界面上有");
        for (int i = 0; i < d->n_ui_words && i < 8; i++) {
            core_buf_printf(&o->det[CAP_EN], "%s%s", i ? ", " : "", d->ui_words[i]);
            core_buf_printf(&o->det[CAP_ZH], "“%s”", d->ui_words[i]);
            if (i < 6)
                tag(&o->tags[core_has_cjk(d->ui_words[i]) ? CAP_ZH : CAP_EN], d->ui_words[i]);
        }
        core_buf_puts(&o->det[CAP_ZH], "等按钮和菜单");
    }
    core_buf_puts(&o->det[CAP_EN], ".");
    core_buf_puts(&o->det[CAP_ZH], "。");
    text_lang_sentence(o, d);
    if (title) {
        core_buf_printf(&o->brief[CAP_EN], "%sscreenshot: '%s'.",
                        unsure ? "Possibly a " : "A ", title);
        core_buf_printf(&o->brief[CAP_ZH], "%s截图：“%s”。", unsure ? "可能是" : "", title);
        tag(&o->tags[core_has_cjk(title) ? CAP_ZH : CAP_EN], title);
    } else {
        core_buf_printf(&o->brief[CAP_EN], "%sscreenshot of an application.",
                        unsure ? "Possibly a " : "A ");
        core_buf_printf(&o->brief[CAP_ZH], "%s一张软件界面截图。", unsure ? "可能是" : "");
    }
    const char *en[] = {"screenshot", "screen", "user interface", "UI", "window",
                        "application", "software", "desktop", "computer", "screen capture"};
    const char *zh[] = {"截图", "屏幕截图", "界面", "用户界面", "窗口", "软件", "应用程序",
                        "桌面", "电脑", "屏幕"};
    for (int i = 0; i < 10; i++) {
        tag(&o->tags[CAP_EN], en[i]);
        tag(&o->tags[CAP_ZH], zh[i]);
    }
}

/* What the drawing is made of (shapes.c): boxes joined by strokes read as a
 * flowchart, labelled points with triangles/circles as a geometry figure,
 * many long curves as contour lines. Counts below the thresholds are left
 * unsaid: a wrong shape misleads more than a missing one. */
static void co_diagram_shapes(co_out *o, const cap_desc *d)
{
    const cap_features *f = &d->feat;
    core_buf *en = &o->det[CAP_EN], *zh = &o->det[CAP_ZH];
    if (f->sh_boxes >= 3 && f->sh_geometry < 0.5f) {
        bool linked = f->sh_connected || f->sh_lines + f->sh_arrows >= f->sh_boxes - 1;
        bool arrows = f->sh_arrows >= 2;
        core_buf_puts(en, " It is drawn with ");
        en_count(en, f->sh_boxes);
        core_buf_puts(zh, "图中有");
        zh_count(zh, f->sh_boxes);
        core_buf_puts(zh, "个方框");
        tag(&o->tags[CAP_EN], "boxes");
        tag(&o->tags[CAP_ZH], "方框");
        if (linked) {
            core_buf_printf(en, " boxes connected by %s, like a flowchart.",
                            arrows ? "arrows" : "lines");
            core_buf_printf(zh, "，由%s相连，类似流程图。", arrows ? "箭头" : "线条");
            tag(&o->tags[CAP_EN], "flowchart");
            tag(&o->tags[CAP_EN], "block diagram");
            tag(&o->tags[CAP_ZH], "流程图");
            tag(&o->tags[CAP_ZH], "框图");
            if (arrows) {
                tag(&o->tags[CAP_EN], "arrows");
                tag(&o->tags[CAP_ZH], "箭头");
            }
        } else {
            core_buf_puts(en, " boxes.");
            core_buf_puts(zh, "。");
        }
    }
    if (f->sh_geometry >= 0.5f) {
        bool tri = f->sh_polygons > 0, circ = f->sh_circles > 0;
        core_buf_puts(en, " It looks like a geometry figure with ");
        core_buf_puts(zh, "看起来是几何图形：");
        if (tri) {
            core_buf_puts(en, "a triangle, ");
            core_buf_puts(zh, "三角形，");
        }
        if (circ) {
            core_buf_puts(en, "a circle, ");
            core_buf_puts(zh, "圆，");
        }
        core_buf_printf(en, "lines and labelled points %s.", f->sh_labels);
        core_buf_puts(zh, "线条，标有点 ");
        for (const char *p = f->sh_labels; *p; p++) {
            if (p[0] == ',' && p[1] == ' ') {
                core_buf_puts(zh, "、");
                p++;
            } else {
                core_buf_printf(zh, "%c", *p);
            }
        }
        core_buf_puts(zh, "。");
        const char *te[] = {"geometry", "geometry figure", "math figure", "labelled points"};
        const char *tz[] = {"几何", "几何图形", "数学图形", "标注点"};
        for (int i = 0; i < 4; i++) {
            tag(&o->tags[CAP_EN], te[i]);
            tag(&o->tags[CAP_ZH], tz[i]);
        }
        if (tri) {
            tag(&o->tags[CAP_EN], "triangle");
            tag(&o->tags[CAP_ZH], "三角形");
        }
        if (circ) {
            tag(&o->tags[CAP_EN], "circle");
            tag(&o->tags[CAP_ZH], "圆");
        }
    } else if (f->sh_circles >= 2 && f->sh_boxes < 3) {
        core_buf_puts(en, " It is drawn with circles.");
        core_buf_puts(zh, "图中有圆形。");
        tag(&o->tags[CAP_EN], "circles");
        tag(&o->tags[CAP_ZH], "圆形");
    }
    if (f->sh_curves >= 5) {
        core_buf_puts(en, " It shows many contour lines.");
        core_buf_puts(zh, "图中有许多等高线。");
        tag(&o->tags[CAP_EN], "contour lines");
        tag(&o->tags[CAP_EN], "contour plot");
        tag(&o->tags[CAP_ZH], "等高线");
        tag(&o->tags[CAP_ZH], "等高线图");
    } else if (f->sh_curves >= 1 && f->sh_boxes < 3) {
        core_buf_puts(en, " It shows smooth curves.");
        core_buf_puts(zh, "图中有曲线。");
        tag(&o->tags[CAP_EN], "curves");
        tag(&o->tags[CAP_ZH], "曲线");
    }
    if (f->sh_dashed > 0) {
        core_buf_puts(en, " Some lines are dashed.");
        core_buf_puts(zh, "部分线条为虚线。");
        tag(&o->tags[CAP_EN], "dashed lines");
        tag(&o->tags[CAP_ZH], "虚线");
    }
}

static void co_poster(co_out *o, const cap_desc *d, bool unsure, const char *title,
                      bool diagram)
{
    if (diagram)
        opener(o, unsure, "diagram", "示意图");
    else
        opener(o, unsure, "poster", "海报");
    if (title) {
        core_buf_printf(&o->det[CAP_EN], " with the text '%s'.", title);
        core_buf_printf(&o->det[CAP_ZH], "，上面写着“%s”。", title);
    } else {
        core_buf_puts(&o->det[CAP_EN], ".");
        core_buf_puts(&o->det[CAP_ZH], "。");
    }
    quote_text(o, d, title);
    /* objects the detector found on a poster (a sign, an animal, a car):
     * named like in photos, without positions */
    obj_group g[8], ga[8];
    int ng = d->det_ran ? group_objects(d, g, 8, true) : 0;
    int nga = d->det_ran ? group_objects(d, ga, 8, false) : 0;
    if (ng > 3)
        ng = 3;
    if (ng > 0) {
        core_buf_puts(&o->det[CAP_EN], " It shows ");
        en_objects(&o->det[CAP_EN], g, ng, false);
        core_buf_puts(&o->det[CAP_EN], ".");
        zh_objects(&o->det[CAP_ZH], g, ng, "图中");
        core_buf_puts(&o->det[CAP_ZH], "。");
    }
    for (int i = 0; i < nga && i < 3; i++)
        tag_object(&o->tags[CAP_EN], &o->tags[CAP_ZH], &ga[i]);
    if (diagram)
        co_diagram_shapes(o, d);
    colours_sentence(o, d);
    const char *ne = diagram ? "diagram" : "poster", *nz = diagram ? "示意图" : "海报";
    if (title) {
        core_buf_printf(&o->brief[CAP_EN], "%s%s: '%s'.", unsure ? "Possibly a " : "A ", ne,
                        title);
        core_buf_printf(&o->brief[CAP_ZH], "%s%s：“%s”。", unsure ? "可能是" : "", nz, title);
        tag(&o->tags[core_has_cjk(title) ? CAP_ZH : CAP_EN], title);
    } else if (ng > 0) {
        core_buf_printf(&o->brief[CAP_EN], "%s%s showing ", unsure ? "Possibly a " : "A ", ne);
        en_objects(&o->brief[CAP_EN], g, ng, false);
        core_buf_puts(&o->brief[CAP_EN], ".");
        core_buf_printf(&o->brief[CAP_ZH], "%s一张", unsure ? "可能是" : "");
        zh_objects(&o->brief[CAP_ZH], g, ng, "");
        core_buf_printf(&o->brief[CAP_ZH], "的%s。", nz);
    } else {
        core_buf_printf(&o->brief[CAP_EN], "%s%s.", unsure ? "Possibly a " : "A ", ne);
        core_buf_printf(&o->brief[CAP_ZH], "%s一张%s。", unsure ? "可能是" : "", nz);
    }
    if (diagram) {
        const char *en[] = {"diagram", "figure", "illustration", "drawing", "schematic",
                            "graphic", "line drawing", "flowchart", "sketch", "labels"};
        const char *zh[] = {"示意图", "图示", "图解", "插图", "简图", "线条图", "结构图",
                            "流程图", "草图", "标注"};
        for (int i = 0; i < 10; i++) {
            tag(&o->tags[CAP_EN], en[i]);
            tag(&o->tags[CAP_ZH], zh[i]);
        }
    } else {
        const char *en[] = {"poster", "sign", "logo", "lettering", "typography", "banner",
                            "text", "graphic design", "artwork", "font"};
        const char *zh[] = {"海报", "标志", "标识", "文字", "字体", "横幅", "招贴",
                            "平面设计", "艺术字", "标语"};
        for (int i = 0; i < 10; i++) {
            tag(&o->tags[CAP_EN], en[i]);
            tag(&o->tags[CAP_ZH], zh[i]);
        }
    }
}

/* Scene, texture and composition cues of scene.c (cap_features.sc_*):
 * stated from 0.5, hedged from 0.35, in the fixed order below (stable
 * across near-identical images). */
#define CO_SC_SURE 0.5f
#define CO_SC_MAYBE 0.35f
static void co_scene_cues(co_out *o, const cap_desc *d)
{
    const cap_features *f = &d->feat;
    struct {
        float v;
        const char *en, *zh;
        const char *ten[4], *tzh[4];
    } cue[] = {
        {f->sc_snow, "snow on the ground, a winter scene", "地面有积雪的冬季雪景",
         {"snow", "winter", "snowy landscape", "snow covered"}, {"雪景", "冬天", "积雪", "雪地"}},
        {f->sc_forest, "a dense forest", "茂密的森林",
         {"forest", "woods", "dense trees", NULL}, {"森林", "树林", "密林", NULL}},
        {f->sc_autumn, "autumn foliage in orange and red", "橙红色的秋天树叶",
         {"autumn", "fall", "autumn leaves", "autumn foliage"}, {"秋天", "秋叶", "秋天的树叶", "红叶"}},
        {f->sc_grass, "grass or a meadow", "草地",
         {"grass", "meadow", "field", NULL}, {"草地", "草坪", "草", NULL}},
        {f->sc_storm, "dark storm clouds", "乌云密布的天空",
         {"storm clouds", "dark clouds", "stormy sky", "clouds"}, {"乌云", "暴风雨", "阴沉的天空", "云"}},
        {f->sc_storm >= CO_SC_MAYBE ? 0 : f->sc_overcast, "an overcast grey sky", "阴天的灰色天空",
         {"overcast", "cloudy sky", "grey sky", NULL}, {"阴天", "多云", "灰色天空", NULL}},
        {f->sc_clouds, "white clouds in a blue sky", "蓝天白云",
         {"clouds", "white clouds", "blue sky", "cloudy"}, {"白云", "云", "蓝天", "多云"}},
        {f->sc_clear_sky, "a clear blue sky", "晴朗的蓝天",
         {"blue sky", "clear sky", NULL, NULL}, {"蓝天", "晴天", NULL, NULL}},
        {f->sc_sunset, "a warm sunset or sunrise sky", "日落或日出时的暖色天空",
         {"sunset", "sunrise", "dusk", "golden hour"}, {"日落", "夕阳", "黄昏", "日出"}},
        {f->sc_reflection, "a reflection in still water", "平静水面上的倒影",
         {"reflection", "still water", "lake", NULL}, {"倒影", "水面", "湖", NULL}},
        {f->sc_stars, "many small bright points on black, like stars or galaxies in space",
         "黑色背景上布满细小的亮点，像星空或太空中的星系",
         {"stars", "starry sky", "space", "galaxies"}, {"星空", "星星", "太空", "星系"}},
        {f->sc_stars >= CO_SC_MAYBE ? 0 : f->sc_night_lights, "lights in the dark", "黑暗中的灯光",
         {"night", "lights", "night scene", NULL}, {"夜景", "灯光", "夜晚", NULL}},
        {f->sc_macro, "a close-up with a blurred background", "背景虚化的特写",
         {"close-up", "macro", "bokeh", "shallow depth of field"}, {"特写", "微距", "背景虚化", "近景"}},
        {f->sc_white_bg, "a single subject cut out on a plain white background",
         "纯白背景上的单个主体（抠图或棚拍）",
         {"white background", "cut-out", "isolated on white", "studio shot"},
         {"白色背景", "白底", "抠图", "棚拍"}},
        {f->sc_black_bg, "a single subject on a plain black background",
         "纯黑背景上的单个主体",
         {"black background", "isolated on black", "studio shot", "dark background"},
         {"黑色背景", "黑底", "棚拍", "深色背景"}},
        {f->sc_pattern, "a regular repeating texture like bricks, tiles or paving",
         "砖墙或地砖般的规则重复纹理",
         {"texture", "pattern", "bricks", "tiles"}, {"纹理", "图案", "砖墙", "地砖纹理"}},
        {f->sc_mono, "in black and white", "黑白画面",
         {"black and white", "grayscale", "monochrome", NULL}, {"黑白", "灰度", "单色", NULL}},
        {f->sc_colourful, "very colourful", "色彩丰富",
         {"colourful", "colorful", "vivid colors", NULL}, {"色彩丰富", "多彩", "鲜艳", NULL}},
        {f->sc_panorama, "a wide panorama", "宽幅全景",
         {"panorama", "wide view", NULL, NULL}, {"全景", "宽幅", NULL, NULL}},
    };
    int n = 0;
    for (size_t i = 0; i < sizeof cue / sizeof *cue; i++) {
        if (cue[i].v < CO_SC_MAYBE)
            continue;
        bool sure = cue[i].v >= CO_SC_SURE;
        core_buf_printf(&o->det[CAP_EN], "%s%s%s", n ? "; " : " It shows ",
                        sure ? "" : "possibly ", cue[i].en);
        core_buf_printf(&o->det[CAP_ZH], "%s%s%s", n ? "；" : "画面特点：", sure ? "" : "疑似",
                        cue[i].zh);
        /* a hedged cue keeps only its first tag: a wrong tag costs more than
         * a missing one */
        for (int k = 0; k < (sure ? 4 : 1); k++) {
            tag(&o->tags[CAP_EN], cue[i].ten[k]);
            tag(&o->tags[CAP_ZH], cue[i].tzh[k]);
        }
        n++;
    }
    if (n) {
        core_buf_puts(&o->det[CAP_EN], ".");
        core_buf_puts(&o->det[CAP_ZH], "。");
    }
    if (f->sc_vertical > 0) {
        tag(&o->tags[CAP_EN], "vertical");
        tag(&o->tags[CAP_ZH], "竖幅");
    }
    const char *he = f->sc_hue_share >= 0.5f ? cap_scene_hue_name(f->sc_hue, CAP_EN) : NULL;
    if (he) {
        char t[48];
        snprintf(t, sizeof t, "mostly %s", he);
        tag(&o->tags[CAP_EN], t);
        snprintf(t, sizeof t, "以%s为主", cap_scene_hue_name(f->sc_hue, CAP_ZH));
        tag(&o->tags[CAP_ZH], t);
    }
}

static void co_photo(co_out *o, const cap_desc *d, bool unsure)
{
    const cap_features *f = &d->feat;
    /* the domain words first: later tags may hit the cap */
    const char *first_en[] = {"photo", "picture", "image", "photograph"};
    const char *first_zh[] = {"照片", "图片", "相片", "图像"};
    for (int i = 0; i < 4; i++) {
        tag(&o->tags[CAP_EN], first_en[i]);
        tag(&o->tags[CAP_ZH], first_zh[i]);
    }
    bool night = f->night > 0.5f;
    bool dark = !night && f->brightness < 0.3f;
    bool bright = f->brightness > 0.65f;
    const char *adj_en = night ? "night-time " : dark ? "dark " : bright ? "bright " : "";
    const char *adj_zh = night ? "夜晚的" : dark ? "昏暗的" : bright ? "明亮的" : "";
    core_buf_printf(&o->det[CAP_EN], "%s %s%s", unsure ? "Possibly a" : "A", adj_en,
                    "photo");
    core_buf_printf(&o->det[CAP_ZH], "%s一张%s照片", unsure ? "可能是" : "", adj_zh);

    obj_group g[8], ga[8];
    int ng = group_objects(d, g, 8, true);
    int nga = group_objects(d, ga, 8, false);
    if (ng > 5)
        ng = 5;
    if (nga > 5)
        nga = 5;
    if (ng > 0) {
        core_buf_puts(&o->det[CAP_EN], " showing ");
        en_objects(&o->det[CAP_EN], g, ng, true);
        for (int i = 0; i < ng; i++) {
            core_buf_printf(&o->det[CAP_ZH], "%s画面%s%s", i ? "，" : "：",
                            g[i].region >= 0 ? POS_ZH[g[i].region] : "各处",
                            !obj_sure(&g[i]) ? "可能有" : "有");
            zh_object(&o->det[CAP_ZH], &g[i]);
        }
    }
    core_buf_puts(&o->det[CAP_EN], ".");
    core_buf_puts(&o->det[CAP_ZH], "。");

    /* scene cues, strongest first would be nicer; fixed order keeps the
     * sentence stable across near-identical images. The coarse sky, snow
     * and sunset scores of features.c are not worded: scene.c's cues say
     * the same more precisely (measured on the dev photos, the coarse
     * "sunset" fired on 13 warm-coloured photos that were no sunsets:
     * coffee, fruit, flowers, a red poster). */
    struct { float v; const char *en, *zh, *ten, *tzh; } cue[] = {
        {f->water, "water", "水面", "water", "水"},
        {f->vegetation, "trees and greenery", "树木和绿色植物", "trees", "树木"},
    };
    int nc = 0, n_cues = 0;
    for (size_t i = 0; i < sizeof cue / sizeof *cue; i++)
        n_cues += cue[i].v >= 0.35f;
    for (size_t i = 0; i < sizeof cue / sizeof *cue; i++) {
        if (cue[i].v < 0.35f)
            continue;
        core_buf_printf(&o->det[CAP_EN], "%s%s",
                        nc == 0 ? " The scene includes " : nc == n_cues - 1 ? " and " : ", ",
                        cue[i].en);
        core_buf_printf(&o->det[CAP_ZH], "%s%s", nc ? "、" : "画面中可以看到", cue[i].zh);
        tag(&o->tags[CAP_EN], cue[i].ten);
        tag(&o->tags[CAP_ZH], cue[i].tzh);
        nc++;
    }
    if (f->vegetation >= 0.5f) {
        tag(&o->tags[CAP_EN], "nature");
        tag(&o->tags[CAP_ZH], "自然");
        tag(&o->tags[CAP_EN], "green plants");
        tag(&o->tags[CAP_ZH], "植物");
    }
    if (f->sky >= 0.35f && f->vegetation >= 0.35f) {
        tag(&o->tags[CAP_EN], "landscape");
        tag(&o->tags[CAP_ZH], "风景");
        tag(&o->tags[CAP_EN], "outdoor");
        tag(&o->tags[CAP_ZH], "户外");
    }
    if (nc) {
        core_buf_puts(&o->det[CAP_EN], ".");
        core_buf_puts(&o->det[CAP_ZH], "。");
    }
    co_scene_cues(o, d);
    if (night) {
        tag(&o->tags[CAP_EN], "night");
        tag(&o->tags[CAP_ZH], "夜晚");
    } else if (dark) {
        tag(&o->tags[CAP_EN], "dark");
        tag(&o->tags[CAP_ZH], "昏暗");
    } else if (bright) {
        tag(&o->tags[CAP_EN], "bright");
        tag(&o->tags[CAP_ZH], "明亮");
    }
    colours_sentence(o, d);
    if (d->text && *d->text && d->n_lines > 0)
        quote_text(o, d, NULL);

    /* short */
    if (ng > 0) {
        core_buf_printf(&o->brief[CAP_EN], "%s photo of ", unsure ? "Possibly a" : "A");
        en_objects(&o->brief[CAP_EN], g, ng < 3 ? ng : 3, false);
        core_buf_puts(&o->brief[CAP_EN], ".");
        core_buf_printf(&o->brief[CAP_ZH], "%s一张", unsure ? "可能是" : "");
        zh_objects(&o->brief[CAP_ZH], g, ng < 3 ? ng : 3, "");
        core_buf_puts(&o->brief[CAP_ZH], "的照片。");
    } else {
        const char *col_en = d->n_colors > 0 && d->colors[0].share >= 0.4f ? d->colors[0].name : NULL;
        const char *col_zh = col_en ? d->colors[0].name_zh : NULL;
        core_buf_printf(&o->brief[CAP_EN], "%s %sphoto%s%s.", unsure ? "Possibly a" : "A",
                        adj_en, col_en ? ", mostly " : "", col_en ? col_en : "");
        if (col_zh)
            core_buf_printf(&o->brief[CAP_ZH], "%s一张以%s为主的%s照片。",
                            unsure ? "可能是" : "", col_zh, adj_zh);
        else
            core_buf_printf(&o->brief[CAP_ZH], "%s一张%s照片。", unsure ? "可能是" : "", adj_zh);
    }
    for (int i = 0; i < nga; i++) {
        tag_object(&o->tags[CAP_EN], &o->tags[CAP_ZH], &ga[i]);
        if (ga[i].n > 1) {
            core_buf p;
            core_buf_init(&p, 64);
            en_plural(&p, ga[i].label);
            tag(&o->tags[CAP_EN], p.data);
            core_buf_free(&p);
        }
    }
    const char *en[] = {"photo", "photograph", "picture", "image", "photography", "scene",
                        "snapshot", "camera", "view", "real-world"};
    const char *zh[] = {"照片", "图片", "相片", "摄影", "图像", "场景", "实拍", "画面",
                        "影像", "景象"};
    for (int i = 0; i < 10; i++) {
        tag(&o->tags[CAP_EN], en[i]);
        tag(&o->tags[CAP_ZH], zh[i]);
    }
}

/* ------------------------------------------------------------- entry ---- */

static void set_caption(char **dst, core_buf *b)
{
    free(*dst);
    *dst = core_buf_steal(b);
}

odx_status cap_compose(cap_desc *d, odx_err *err)
{
    odx_status st = ODX_OK;
    if (!d)
        return core_err(err, ODX_ERR_INVALID, "no description to caption");
    co_out o;
    memset(&o, 0, sizeof o);
    for (int l = 0; l < CAP_N_LANGS; l++) {
        core_buf_init(&o.det[l], 16384);
        core_buf_init(&o.brief[l], 4096);
    }
    bool unsure = d->domain_conf < CO_HEDGE_CONF;
    char *title = clip(d->title, CO_TITLE_MAX);
    if (title && !*title) {
        free(title);
        title = NULL;
    }
    switch (d->domain) {
    case CAP_CHART:
        co_chart(&o, d, unsure, title);
        break;
    case CAP_TABLE:
        co_table(&o, d, unsure, title);
        break;
    case CAP_DOCUMENT:
        co_document(&o, d, unsure, title);
        break;
    case CAP_SCREENSHOT:
        co_screenshot(&o, d, unsure, title);
        break;
    case CAP_POSTER:
        co_poster(&o, d, unsure, title, false);
        break;
    case CAP_DIAGRAM:
        co_poster(&o, d, unsure, title, true);
        break;
    case CAP_PHOTO:
    default:
        co_photo(&o, d, unsure);
        break;
    }
    /* Colour tags help every domain ("a mostly blue image"). */
    for (int i = 0; i < d->n_colors && i < 2; i++)
        if (d->colors[i].share >= 0.25f) {
            tag(&o.tags[CAP_EN], d->colors[i].name);
            tag(&o.tags[CAP_ZH], d->colors[i].name_zh);
        }
    if (unsure) {
        tag(&o.tags[CAP_EN], "uncertain");
        tag(&o.tags[CAP_ZH], "不确定");
    }
    /* A caption over its cap stays cut (core_buf keeps what fit); only a
     * failed allocation fails the call. */
    for (int l = 0; l < CAP_N_LANGS; l++) {
        if (o.tags[l].oom) {
            st = core_err(err, ODX_ERR_NOMEM, "no memory composing captions");
            goto done;
        }
    }
    for (int l = 0; l < CAP_N_LANGS; l++) {
        set_caption(&d->caption[CAP_DETAILED][l], &o.det[l]);
        set_caption(&d->caption[CAP_SHORT][l], &o.brief[l]);
        for (int i = 0; i < d->n_tags[l]; i++)
            free(d->tags[l][i]);
        free(d->tags[l]);
        d->tags[l] = o.tags[l].v;
        d->n_tags[l] = o.tags[l].n;
        o.tags[l].v = NULL;
        o.tags[l].n = 0;
        if (!d->caption[CAP_DETAILED][l] || !d->caption[CAP_SHORT][l]) {
            st = core_err(err, ODX_ERR_NOMEM, "no memory composing captions");
            goto done;
        }
    }
done:
    for (int l = 0; l < CAP_N_LANGS; l++) {
        core_buf_free(&o.det[l]);
        core_buf_free(&o.brief[l]);
        tag_free(&o.tags[l]);
    }
    free(title);
    return st;
}

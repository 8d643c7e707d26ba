/* domain.c - domain classification, between features and OCR (and again
 * after OCR): a transparent scoring model. Each domain gets a score summed
 * from soft evidence terms over cap_features and cap_layout (dom_scores:
 * table rows sharing column gaps, a plot area with tick labels, large
 * lettering, margins, texture, rules...) and, once OCR ran, over the text
 * layout through the weight table dom_text_w; the best score wins and the
 * margin to the second gives the confidence. Measured with
 * tests/eval/domain_accuracy. */
#include "captioner_int.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Soft ramp: 0 at or below lo, 1 at or above hi. */
static float ramp(float x, float lo, float hi)
{
    if (x <= lo)
        return 0;
    if (x >= hi)
        return 1;
    return (x - lo) / (hi - lo);
}

/* Text layout from OCR lines, in fractions of the image. */
typedef struct dom_text {
    int n_lines;       /* lines with some confident text */
    float long_share;  /* lines wider than 45% of the image */
    float short_share; /* lines narrower than 15% */
    int n_xstarts;     /* distinct left edges used by >= 2 lines (columns) */
    float row_multi;   /* share of rows holding >= 3 separate lines (table rows) */
    float coverage;    /* text box area / image area */
    int n_prose;       /* long lines starting at one left edge (a paragraph) */
    int max_h;         /* tallest horizontal line of >= 3 characters, in
                          original pixels */
} dom_text;

/* Characters other than spaces and punctuation; Han count twice (one Han
 * character carries about a word). */
static int dom_word_chars(const char *s)
{
    int n = 0;
    size_t len = strlen(s);
    for (size_t i = 0; i < len;) {
        int32_t cp;
        int k = core_utf8_next(s + i, len - i, &cp);
        if (k <= 0)
            break;
        i += (size_t)k;
        if (core_is_cjk(cp))
            n += 2;
        else if (cp < 128 ? isalnum((unsigned char)cp) != 0 : cp > 0xFF)
            n++;
    }
    return n;
}

static void dom_text_layout(const cap_desc *d, dom_text *t)
{
    memset(t, 0, sizeof *t);
    int W = d->width > 0 ? d->width : 1, H = d->height > 0 ? d->height : 1;
    int n_long = 0, n_short = 0;
    enum { NX = 40 };
    int xs[NX] = {0};
    double area = 0;
    for (int i = 0; i < d->n_lines; i++) {
        const cap_text_line *l = &d->lines[i];
        if (!l->text || !l->text[0] || l->conf < 40 || l->w <= 0 || l->h <= 0)
            continue;
        t->n_lines++;
        float fw = (float)l->w / W;
        if (fw > 0.45f)
            n_long++;
        if (fw < 0.15f)
            n_short++;
        int b = l->x * NX / W;
        if (b >= 0 && b < NX)
            xs[b]++;
        area += (double)l->w * l->h;
        /* Rotated axis labels stand taller than wide; one or two stray
         * characters are as often a shape read as a letter. */
        if (l->h > t->max_h && l->w >= l->h && dom_word_chars(l->text) >= 3)
            t->max_h = l->h;
    }
    if (!t->n_lines)
        return;
    t->long_share = (float)n_long / t->n_lines;
    t->short_share = (float)n_short / t->n_lines;
    for (int b = 0; b < NX; b++)
        if (xs[b] >= 2 && xs[b] >= t->n_lines / 12)
            t->n_xstarts++;
    t->coverage = (float)(area / ((double)W * H));
    /* Prose: long lines flush with one left edge. Posters centre their
     * long lines; tables and charts have few long lines. */
    enum { NL = 100 };
    int left[NL] = {0};
    for (int i = 0; i < d->n_lines; i++) {
        const cap_text_line *l = &d->lines[i];
        if (!l->text || !l->text[0] || l->conf < 40 || l->w <= 0 || l->h <= 0 ||
            (float)l->w / W <= 0.45f)
            continue;
        int b = (int)((int64_t)l->x * NL / W);
        if (b >= 0 && b < NL)
            left[b]++;
    }
    for (int b = 0; b < NL; b++) {
        int c = left[b] + (b > 0 ? left[b - 1] : 0) + (b + 1 < NL ? left[b + 1] : 0);
        if (c > t->n_prose)
            t->n_prose = c;
    }
    /* Lines sharing a row: Tesseract splits table rows into cells. */
    int n_rows = 0, n_multi = 0;
    for (int i = 0; i < d->n_lines; i++) {
        const cap_text_line *a = &d->lines[i];
        if (!a->text || a->conf < 40 || a->h <= 0)
            continue;
        bool first = true;
        int same = 0;
        for (int j = 0; j < d->n_lines; j++) {
            const cap_text_line *b = &d->lines[j];
            if (!b->text || b->conf < 40 || b->h <= 0)
                continue;
            int ca = a->y + a->h / 2, cb = b->y + b->h / 2;
            if (abs(ca - cb) <= a->h / 2) {
                if (j < i)
                    first = false;
                same++;
            }
        }
        if (first) {
            n_rows++;
            if (same >= 3)
                n_multi++;
        }
    }
    t->row_multi = n_rows ? (float)n_multi / n_rows : 0;
}

/* Evidence from the OCR text layout, each in 0..1, weighed per domain by
 * dom_text_w. Added to the visual scores on the second classification. */
enum {
    TX_PARA,    /* many lines, most of them long: running text */
    TX_CELLS,   /* many lines, rows split into >= 3 cells: table */
    TX_MULTI,   /* share of rows split into cells, however many lines */
    TX_COLS,    /* several left edges shared by lines: columns */
    TX_LABELS,  /* a few short labels next to chart axes */
    TX_UI,      /* many short lines not in cell rows: buttons, menus */
    TX_FEW,     /* one to a few lines of display size (OCR's line height or
                   the picture's large lettering) on a synthetic image */
    TX_SMALL,   /* one to a few lines, all of screen/page text size, and no
                   large lettering in the picture: a crop of a UI or page */
    TX_LARGE,   /* OCR read a line of display size, filling much of the
                   picture, that the picture's lettering cues missed (script,
                   joined letters: a logo word) */
    TX_MANY,    /* many lines at all */
    TX_PROSE,   /* several long lines flush left, in a picture without
                   column-aligned rows: a paragraph, even on a short page */
    TX_UNREAD,  /* the picture has rows of text-like marks but OCR read
                   almost nothing: they were curves, hatching, dots */
    TX_N
};

/* Rows: evidence; columns: photo document table chart screenshot poster
 * diagram. Positive weights vote for a domain, negative against. */
static const float dom_text_w[TX_N][CAP_N_DOMAINS] = {
    /*             photo  doc   table  chart  scr    poster diag */
    [TX_PARA]   = {0.0f,  1.0f, 0.0f,  0.0f,  0.0f,  0.0f,  0.0f},
    [TX_CELLS]  = {0.0f,  0.0f, 1.2f,  0.0f,  0.0f,  0.0f,  0.0f},
    [TX_MULTI]  = {0.0f, -0.8f, 0.0f,  0.0f,  0.0f,  0.0f,  0.0f},
    [TX_COLS]   = {0.0f,  0.0f, 0.3f,  0.0f,  0.0f,  0.0f,  0.0f},
    [TX_LABELS] = {0.0f,  0.0f, 0.0f,  0.4f,  0.0f,  0.0f,  0.0f},
    [TX_UI]     = {0.0f,  0.0f, 0.0f,  0.0f,  0.5f,  0.0f,  0.0f},
    [TX_FEW]    = {0.0f,  0.0f, 0.0f,  0.0f,  0.0f,  0.3f,  0.0f},
    [TX_SMALL]  = {0.0f,  0.0f, 0.0f,  0.0f,  0.0f, -0.6f,  0.0f},
    [TX_LARGE]  = {0.0f,  0.0f, 0.0f,  0.0f,  0.0f,  0.8f,  0.0f},
    [TX_MANY]   = {-0.5f, 0.0f, 0.0f,  0.0f,  0.0f,  0.0f,  0.0f},
    [TX_PROSE]  = {0.0f,  1.0f, 0.0f,  0.0f,  0.0f, -0.3f, -0.5f},
    [TX_UNREAD] = {0.0f, -1.5f, -1.0f, 0.0f,  0.0f,  0.0f,  0.5f},
};

/* dense, syn, axis, trow, big: the visual evidence of dom_scores that the
 * text evidence is read against. */
static void dom_text_scores(const cap_desc *d, float dense, float syn, float axis, float trow,
                            float big, float s[CAP_N_DOMAINS])
{
    dom_text t;
    dom_text_layout(d, &t);
    float many = ramp((float)t.n_lines, 8, 25);
    float e[TX_N];
    e[TX_PARA] = many * t.long_share;
    e[TX_CELLS] = many * t.row_multi;
    e[TX_MULTI] = t.row_multi;
    e[TX_COLS] = ramp((float)t.n_xstarts, 2, 5);
    e[TX_LABELS] = (1 - many) * t.short_share * axis;
    e[TX_UI] = many * t.short_share * (1 - t.row_multi);
    /* Display type: a line taller than screen or page text gets (~30 px
     * even at twice the density), or large lettering OCR did not read. */
    float ocr_display = ramp((float)t.max_h, 36, 56);
    float display = big > ocr_display ? big : ocr_display;
    float few = ramp((float)t.n_lines, 0.5f, 2) * (1 - many) * syn;
    e[TX_FEW] = few * display;
    e[TX_SMALL] = few * (1 - display);
    /* and the line fills much of the picture, as a logo's word does: large
     * labels of a big diagram or headings of a page stay a small share */
    float H = d->height > 0 ? (float)d->height : 1;
    e[TX_LARGE] = (1 - many) * syn * ocr_display * ramp((float)t.max_h / H, 0.1f, 0.2f) *
                  (1 - big);
    e[TX_MANY] = many;
    /* the rows of a table read as long flush-left lines too */
    e[TX_PROSE] = ramp((float)t.n_prose, 3, 7) * (1 - trow);
    e[TX_UNREAD] = dense * (1 - ramp((float)t.n_lines, 2, 8));
    for (int k = 0; k < TX_N; k++)
        for (int c = 0; c < CAP_N_DOMAINS; c++)
            s[c] += dom_text_w[k][c] * e[k];
}

/* How far lettering of height share_h (of the image height) is large in
 * original pixels: 0 at text size, 1 at display size. The layout is
 * measured on a thumbnail, where the text of a short crop of a screen or a
 * page (a dialog, a form, a strip of terminal) takes as large a share of
 * the height as a poster's headline; in the original, screen and page text
 * stays ~8-30 px tall (up to ~2x on high-density screens) while posters,
 * logos and specimen sheets letter larger. Unknown size: no opinion. */
static float dom_lettering_px(const cap_desc *d, float share_h)
{
    if (d->height <= 0)
        return 1;
    return ramp(share_h * (float)d->height, 20, 32);
}

/* Per-domain scores from the visual evidence, plus the text evidence once
 * OCR ran. */
static void dom_scores(const cap_desc *d, const cap_layout *L, float s[CAP_N_DOMAINS])
{
    const cap_features *f = &d->feat;
    /* Camera texture; not on an image of two or three flat colours, where
     * the "texture" is faint lettering or dithering. */
    float nat = ramp(f->noise, 0.13f, 0.30f) * ramp(f->n_colors, 0.05f, 0.1f);
    float many_col = ramp(f->n_colors, 0.25f, 0.7f);   /* continuous tones */
    float paper = ramp(f->white_share, 0.45f, 0.85f);  /* white page */
    float tl = f->text_likeness;
    float dense = ramp((float)f->n_text_lines, 12, 26) * tl;
    float some = ramp((float)f->n_text_lines, 1, 6) * tl;
    float few_lines = 1.0f - ramp((float)f->n_text_lines, 8, 20);
    float hr = ramp((float)f->n_h_rules, 3, 12);
    float vr = ramp((float)f->n_v_rules, 0.5f, 3);
    float gut = ramp((float)L->n_gutters, 1, 4);
    float chrome = ramp(f->gray_share, 0.08f, 0.25f) + ramp(f->black_share, 0.3f, 0.6f);
    float marks = ramp(L->solid_share, 0.02f, 0.1f) + ramp((float)L->n_curves, 0, 1) +
                  ramp((float)L->n_blobs, 8, 25) * ramp(L->color_ink, 0.03f, 0.1f);
    if (marks > 1)
        marks = 1;
    float axis = f->axis_score;
    float pie = ramp(f->sector_score, 0.3f, 0.7f);
    float syn = 1.0f - nat;
    /* A plot area with tick labels beside and below it (feat_plot_box). */
    int lab = L->n_left_labels < L->n_bottom_labels ? L->n_left_labels : L->n_bottom_labels;
    float plot = ramp(L->box_area, 0.2f, 0.35f) * ramp((float)lab, 2, 4);
    /* Text rows that keep the same empty columns: a table even without
     * borders (see feat_table_rows). Not in a plot area with tick labels
     * outside it: there the "rows" are point markers level with the tick
     * values, and a table keeps its labels inside its frame. */
    float trow = L->n_rows ? ramp((float)L->n_table_rows / L->n_rows, 0.25f, 0.6f) *
                                 ramp((float)L->n_table_rows, 5, 10) * (1 - plot)
                           : 0;
    /* Content running into the image's edges (no even margin). A window's
     * title bar or frame covers a whole side; a tightly cropped figure only
     * touches a side here and there. */
    float edge = 1.0f - ramp(L->margin_even, 0.1f, 0.6f);
    /* Few rows of large lettering on a synthetic image: posters, logos,
     * font specimen sheets (documents and diagrams letter at 1-3%). */
    float big = ramp(L->row_h, 0.035f, 0.05f) * ramp((float)L->n_big_rows, 1, 3) *
                dom_lettering_px(d, L->big_row_h);
    float big_word = ramp((float)L->n_big_glyphs, 2.5f, 4) * /* a logo word, a headline */
                     dom_lettering_px(d, L->big_glyph_h);
    if (big_word > big)
        big = big_word;
    big *= syn * (1 - trow) * (1 - f->grid_score) * (1 - plot);

    s[CAP_PHOTO] = 2.0f * nat + 1.0f * many_col - 1.5f * dense - 2.0f * pie -
                   0.8f * f->grid_score - 0.6f * paper * syn;
    s[CAP_DOCUMENT] = 2.2f * dense + 0.6f * paper - 0.8f * f->grid_score - 1.0f * gut -
                      0.7f * vr - 0.6f * chrome - 1.0f * nat - 0.5f * hr - 1.5f * trow -
                      0.4f * edge;
    s[CAP_TABLE] = 1.6f * f->grid_score + 1.0f * hr * some + 1.2f * gut * dense + 0.3f * dense +
                   2.0f * trow - 1.2f * edge -
                   0.8f * nat - 0.6f * chrome - 1.0f * pie;
    s[CAP_CHART] = 1.4f * axis * marks + 2.5f * plot + 2.5f * pie + 0.8f * some * few_lines * marks * (1 - f->grid_score) +
                   0.3f * paper - 0.8f * nat - 0.8f * dense - 0.5f * chrome - 1.5f * trow;
    s[CAP_SCREENSHOT] = 1.0f * vr + 0.8f * chrome * some + 0.6f * some + 1.2f * edge * syn -
                        1.2f * trow * (1 - edge) +
                        0.4f * ramp(f->n_colors, 0.08f, 0.3f) * some + 0.3f * hr -
                        1.0f * nat - 0.6f * paper * (1 - vr) - 1.0f * pie;
    /* Posters are visual text: a synthetic picture without a row of text
     * or two letter-like shapes (geometry, an illustration) is a figure.
     * One big "glyph" alone is as often a plane or a bar. */
    float lettering =
        ramp((float)(2 * L->n_big_rows + L->n_big_glyphs + 2 * f->n_text_lines), 0, 2);
    s[CAP_POSTER] = 0.6f + 1.2f * big + 0.6f * syn * (1 - some) * (1 - paper) * lettering +
                    0.4f * ramp(f->colourfulness, 0.3f, 0.7f) * syn * lettering - 1.0f * dense -
                    0.6f * vr - 0.8f * nat - 0.5f * f->grid_score;
    s[CAP_DIAGRAM] = 0.5f + 0.8f * paper * syn * (1 - dense) + 0.4f * some * few_lines -
                     0.6f * big -
                     0.6f * vr - 0.8f * nat - 0.6f * axis * marks - 1.0f * pie -
                     0.6f * f->grid_score;

    if (d->ocr_ran)
        dom_text_scores(d, dense, syn, axis, trow, big, s);
}

/* Chart kind from the shapes of the marks: sectors, solid bars, long thin
 * curves, scattered dots. */
static const char *dom_chart_type(const cap_features *f, const cap_layout *L)
{
    if (f->sector_score >= 0.5f)
        return "pie";
    if (L->n_solid >= 1 && L->solid_share >= 0.05f)
        return "bar";
    if (L->n_curves >= 1 && L->n_blobs < 60)
        return "line";
    if (L->n_blobs >= 3)
        return "scatter";
    return L->n_curves ? "line" : "";
}

void cap_domain_scores(const cap_desc *d, const cap_image *thumb, float s[CAP_N_DOMAINS])
{
    cap_layout L;
    cap_layout_compute(thumb, &L);
    dom_scores(d, &L, s);
}

void cap_classify(cap_desc *d, const cap_image *thumb)
{
    cap_layout L;
    float s[CAP_N_DOMAINS];
    cap_layout_compute(thumb, &L);
    dom_scores(d, &L, s);
    int best = 0, second = -1;
    for (int k = 1; k < CAP_N_DOMAINS; k++)
        if (s[k] > s[best])
            best = k;
    for (int k = 0; k < CAP_N_DOMAINS; k++)
        if (k != best && (second < 0 || s[k] > s[second]))
            second = k;
    d->domain = (cap_domain)best;
    /* A margin of 1 point is decisive; none is a coin toss between two. */
    float margin = second >= 0 ? s[best] - s[second] : 1.0f;
    d->domain_conf = 0.5f + 0.5f * ramp(margin, 0, 1.0f);
    d->chart_type[0] = 0;
    if (d->domain == CAP_CHART)
        snprintf(d->chart_type, sizeof d->chart_type, "%s", dom_chart_type(&d->feat, &L));
}

/* domain.c - domain classification, between features and OCR (and again
 * after OCR). Two models: two fitted multinomial logistic regressions
 * (domain_model.h, the default) and the earlier hand-set scoring model
 * (dom_hand_scores: soft evidence terms weighed by hand; OMNIDEX_DOMAIN=hand).
 * The inputs are the statistics of cap_features and cap_layout, the soft
 * evidence terms built from them (table rows sharing column gaps, a plot
 * area with tick labels, large lettering, margins, texture, rules...) and,
 * once OCR ran, the text layout of the lines read; the weights are fitted on
 * the corpus of tests/eval/corpus (generated domain_model.c). The best score
 * wins; domain_conf is its softmax probability. Measured with
 * tests/eval/domain_accuracy. */
#include "captioner_int.h"
#include "domain_model.h"

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

/* A letter or digit of a word: ASCII alphanumerics, and anything past
 * Latin-1 (accented letters, Greek, Cyrillic...). */
static bool dom_alnum(int32_t cp)
{
    return cp < 128 ? isalnum((unsigned char)cp) != 0 : cp > 0xFF;
}

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
        else if (dom_alnum(cp))
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

/* What the read lines say beyond their layout: how much of the text is
 * digits, how lines end, how many words a line holds, how even the line
 * heights and row gaps are, how much is centred. No thresholds to tune
 * here: the fitted post-OCR model weighs these (DOM_TC of them, appended to
 * the text vector). Lines with confidence under 40 are left out, as in
 * dom_text_layout. */
enum {
    TC_DIGITS,      /* digits among letters and digits */
    TC_NUM_LINES,   /* lines that are mostly digits (cells, ticks, values) */
    TC_PUNCT_END,   /* lines ending in . , ; : or their CJK forms (prose) */
    TC_WORDS,       /* log of 1 + mean words a line (a Han character: half) */
    TC_ONE_WORD,    /* lines of one or two words (labels, buttons, cells) */
    TC_UPPER,       /* capitals among Latin letters */
    TC_H_CV,        /* spread of line heights (coefficient of variation) */
    TC_GAP_CV,      /* spread of the gaps between successive rows */
    TC_CENTRED,     /* lines centred in the picture, narrower than 80% */
    TC_SPAN_X,      /* width the text spans, of the picture's */
    TC_SPAN_Y,      /* height the text spans */
    TC_MED_H,       /* median line height, of the picture's height */
    TC_N
};

static int dom_cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static float dom_cv(const int *v, int n)
{
    if (n < 2)
        return 0;
    double m = 0, q = 0;
    for (int i = 0; i < n; i++)
        m += v[i];
    m /= n;
    for (int i = 0; i < n; i++)
        q += (v[i] - m) * (v[i] - m);
    return m > 0 ? (float)(sqrt(q / n) / m) : 0;
}

static void dom_text_content(const cap_desc *d, float out[TC_N])
{
    memset(out, 0, sizeof(float) * TC_N);
    int W = d->width > 0 ? d->width : 1, H = d->height > 0 ? d->height : 1;
    int n = 0, num_lines = 0, punct_end = 0, one_word = 0, centred = 0;
    long digits = 0, alnum = 0, upper = 0, latin = 0;
    double words = 0;
    int x0 = W, x1 = 0, y0 = H, y1 = 0;
    int *hs = malloc(sizeof(int) * (size_t)(d->n_lines + 1));
    int *ys = malloc(sizeof(int) * (size_t)(d->n_lines + 1));
    if (!hs || !ys)
        goto done;
    for (int i = 0; i < d->n_lines; i++) {
        const cap_text_line *l = &d->lines[i];
        if (!l->text || !l->text[0] || l->conf < 40 || l->w <= 0 || l->h <= 0)
            continue;
        const char *t = l->text;
        size_t len = strlen(t);
        int ld = 0, la = 0, lw = 0, han = 0;
        int32_t last = 0;
        bool in_word = false;
        for (size_t k = 0; k < len;) {
            int32_t cp;
            int m = core_utf8_next(t + k, len - k, &cp);
            if (m <= 0)
                break;
            k += (size_t)m;
            if (cp > ' ')
                last = cp;
            if (core_is_cjk(cp)) {
                han++;
                la++;
                in_word = false;
                continue;
            }
            if (dom_alnum(cp)) {
                la++;
                if (cp >= '0' && cp <= '9')
                    ld++;
                if (cp < 128 && isalpha((unsigned char)cp)) {
                    latin++;
                    upper += isupper((unsigned char)cp) ? 1 : 0;
                }
                if (!in_word)
                    lw++;
                in_word = true;
            } else {
                in_word = false;
            }
        }
        if (!la)
            continue;
        double wcount = lw + han / 2.0;
        hs[n] = l->h;
        ys[n] = l->y + l->h / 2;
        n++;
        digits += ld;
        alnum += la;
        words += wcount;
        num_lines += 2 * ld >= la ? 1 : 0;
        one_word += wcount <= 2 ? 1 : 0;
        punct_end += last == '.' || last == ',' || last == ';' || last == ':' ||
                     last == 0x3002 || last == 0xFF0C || last == 0xFF1B || last == 0xFF1A ||
                     last == 0x3001;
        int cx = l->x + l->w / 2;
        centred += abs(2 * cx - W) <= W / 10 && l->w < W * 4 / 5 ? 1 : 0;
        if (l->x < x0)
            x0 = l->x;
        if (l->x + l->w > x1)
            x1 = l->x + l->w;
        if (l->y < y0)
            y0 = l->y;
        if (l->y + l->h > y1)
            y1 = l->y + l->h;
    }
    if (!n)
        goto done;
    out[TC_DIGITS] = alnum ? (float)digits / (float)alnum : 0;
    out[TC_NUM_LINES] = (float)num_lines / n;
    out[TC_PUNCT_END] = (float)punct_end / n;
    out[TC_WORDS] = logf(1.0f + (float)(words / n));
    out[TC_ONE_WORD] = (float)one_word / n;
    out[TC_UPPER] = latin ? (float)upper / (float)latin : 0;
    out[TC_H_CV] = dom_cv(hs, n);
    out[TC_CENTRED] = (float)centred / n;
    out[TC_SPAN_X] = x1 > x0 ? (float)(x1 - x0) / W : 0;
    out[TC_SPAN_Y] = y1 > y0 ? (float)(y1 - y0) / H : 0;
    qsort(hs, (size_t)n, sizeof *hs, dom_cmp_int);
    out[TC_MED_H] = (float)hs[n / 2] / H;
    /* rows: line centres closer than half the median height are one row */
    qsort(ys, (size_t)n, sizeof *ys, dom_cmp_int);
    int half = hs[n / 2] / 2, ng = 0;
    for (int i = 1; i < n; i++)
        if (ys[i] - ys[i - 1] > half)
            ys[ng++] = ys[i] - ys[i - 1]; /* gaps, written over the front */
    out[TC_GAP_CV] = dom_cv(ys, ng);
done:
    free(hs);
    free(ys);
}

/* Evidence terms of the text layout, each in 0..1 (the text rows of the
 * earlier hand-set model, now inputs of the fitted one). */
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

const char *const dom_vis_names[DOM_NV] = {
    "noise", "n_colors", "white_share", "black_share", "gray_share", "text_likeness",
    "log_text_lines", "log_h_rules", "log_v_rules", "grid", "axis", "sector", "colourfulness",
    "brightness", "contrast", "saturation", "edge_density", "h_rule_share", "v_rule_share",
    "flat_share", "log_aspect",
    "log_gutters", "log_solid", "solid_share", "log_curves", "log_blobs", "log_frames",
    "color_ink", "log_rows", "log_table_rows", "table_row_share", "log_max_cols", "row_h",
    "log_big_rows", "log_big_glyphs", "box_area", "log_left_labels", "log_bottom_labels",
    "box_ink", "margin_even", "log_big_row_px", "log_big_glyph_px", "log_pixels",
    "e_nat", "e_many_col", "e_paper", "e_dense", "e_some", "e_few_lines", "e_hr", "e_vr",
    "e_gut", "e_chrome", "e_marks", "e_pie", "e_syn", "e_plot", "e_trow", "e_edge", "e_big",
    "e_lettering", "e_axis_marks", "e_labels_marks", "e_paper_figure",
    "x_rules_text", "x_gutter_dense", "x_chrome_text", "x_edge_syn", "x_rows_margin",
    "x_colours_text", "x_paper_no_vr", "x_plain_lettering", "x_colourful_lettering",
    "x_paper_syn", "x_some_few",
    "h_photo", "h_document", "h_table", "h_chart", "h_screenshot", "h_poster", "h_diagram",
};

const char *const dom_txt_names[DOM_NT] = {
    "log_lines", "long_share", "short_share", "log_xstarts", "row_multi", "coverage",
    "log_prose", "log_max_h", "max_h_share", "text_conf", "log_chars", "cjk_share",
    "t_para", "t_cells", "t_multi", "t_cols", "t_labels", "t_ui", "t_few", "t_small",
    "t_large", "t_many", "t_prose", "t_unread",
    "c_digits", "c_num_lines", "c_punct_end", "c_words", "c_one_word", "c_upper", "c_h_cv",
    "c_gap_cv", "c_centred", "c_span_x", "c_span_y", "c_med_h",
};

static float lg(float x) { return logf(1.0f + (x > 0 ? x : 0)); }

/* The soft evidence terms (ramps) of the hand-set model: computed once,
 * combined by hand-set weights in dom_hand_scores and fed to the fitted
 * model as inputs by dom_vis_features; the text terms read against some. */
typedef struct dom_evidence {
    float nat, many_col, paper, dense, some, few_lines, hr, vr, gut, chrome, marks, axis, pie,
        syn, plot, trow, edge, big, lettering;
} dom_evidence;

static void dom_evidence_compute(const cap_desc *d, const cap_layout *L, dom_evidence *e)
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
    /* Posters are visual text: a synthetic picture without a row of text
     * or two letter-like shapes (geometry, an illustration) is a figure.
     * One big "glyph" alone is as often a plane or a bar. */
    float lettering =
        ramp((float)(2 * L->n_big_rows + L->n_big_glyphs + 2 * f->n_text_lines), 0, 2);
    *e = (dom_evidence){nat, many_col, paper, dense, some, few_lines, hr, vr, gut, chrome,
                        marks, axis, pie, syn, plot, trow, edge, big, lettering};
}

/* The hand-set model's visual scores: per-domain sums of the evidence
 * terms under weights set by hand (tuned on the dev set before the corpus
 * existed). Also inputs of the fitted model (stacking, h_* features). */
static void dom_hand_vis_scores(const cap_desc *d, const dom_evidence *ev,
                                float s[CAP_N_DOMAINS])
{
    const cap_features *f = &d->feat;
    const dom_evidence E = *ev;
    float nat = E.nat, many_col = E.many_col, paper = E.paper, dense = E.dense, some = E.some;
    float few_lines = E.few_lines, hr = E.hr, vr = E.vr, gut = E.gut, chrome = E.chrome;
    float marks = E.marks, axis = E.axis, pie = E.pie, syn = E.syn, plot = E.plot;
    float trow = E.trow, edge = E.edge, big = E.big, lettering = E.lettering;

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
    s[CAP_POSTER] = 0.6f + 1.2f * big + 0.6f * syn * (1 - some) * (1 - paper) * lettering +
                    0.4f * ramp(f->colourfulness, 0.3f, 0.7f) * syn * lettering - 1.0f * dense -
                    0.6f * vr - 0.8f * nat - 0.5f * f->grid_score;
    s[CAP_DIAGRAM] = 0.5f + 0.8f * paper * syn * (1 - dense) + 0.4f * some * few_lines -
                     0.6f * big -
                     0.6f * vr - 0.8f * nat - 0.6f * axis * marks - 1.0f * pie -
                     0.6f * f->grid_score;
}

/* The hand-set model (OMNIDEX_DOMAIN=hand): the visual scores, plus the
 * text evidence once OCR ran. */
static void dom_hand_scores(const cap_desc *d, const cap_layout *L, float s[CAP_N_DOMAINS])
{
    dom_evidence E;
    dom_evidence_compute(d, L, &E);
    dom_hand_vis_scores(d, &E, s);
    if (d->ocr_ran)
        dom_text_scores(d, E.dense, E.syn, E.axis, E.trow, E.big, s);
}

/* The visual input vector: raw statistics of cap_features and cap_layout
 * (counts on a log scale, lettering sizes in original pixels) and the soft
 * evidence terms of the earlier hand-set model (ramps: camera texture,
 * white page, text rows, plot area, column-aligned rows, large lettering...),
 * whose weights are now fitted. */
static void dom_vis_features(const cap_desc *d, const cap_layout *L, float v[DOM_NV],
                             dom_evidence *ev)
{
    const cap_features *f = &d->feat;
    int k = 0;
    v[k++] = f->noise;
    v[k++] = f->n_colors;
    v[k++] = f->white_share;
    v[k++] = f->black_share;
    v[k++] = f->gray_share;
    v[k++] = f->text_likeness;
    v[k++] = lg((float)f->n_text_lines);
    v[k++] = lg((float)f->n_h_rules);
    v[k++] = lg((float)f->n_v_rules);
    v[k++] = f->grid_score;
    v[k++] = f->axis_score;
    v[k++] = f->sector_score;
    v[k++] = f->colourfulness;
    v[k++] = f->brightness;
    v[k++] = f->contrast;
    v[k++] = f->saturation;
    v[k++] = f->edge_density;
    v[k++] = f->h_rule_share;
    v[k++] = f->v_rule_share;
    v[k++] = f->flat_share;
    v[k++] = f->aspect > 0 ? logf(f->aspect) : 0;
    v[k++] = lg((float)L->n_gutters);
    v[k++] = lg((float)L->n_solid);
    v[k++] = L->solid_share;
    v[k++] = lg((float)L->n_curves);
    v[k++] = lg((float)L->n_blobs);
    v[k++] = lg((float)L->n_frames);
    v[k++] = L->color_ink;
    v[k++] = lg((float)L->n_rows);
    v[k++] = lg((float)L->n_table_rows);
    v[k++] = L->n_rows ? (float)L->n_table_rows / L->n_rows : 0;
    v[k++] = lg((float)L->max_cols);
    v[k++] = L->row_h;
    v[k++] = lg((float)L->n_big_rows);
    v[k++] = lg((float)L->n_big_glyphs);
    v[k++] = L->box_area;
    v[k++] = lg((float)L->n_left_labels);
    v[k++] = lg((float)L->n_bottom_labels);
    v[k++] = L->box_ink;
    v[k++] = L->margin_even;
    float H = d->height > 0 ? (float)d->height : 0;
    v[k++] = lg(L->big_row_h * H);
    v[k++] = lg(L->big_glyph_h * H);
    v[k++] = d->width > 0 && d->height > 0 ? logf((float)d->width * (float)d->height) : 0;

    dom_evidence_compute(d, L, ev);
    const dom_evidence *E = ev;
    v[k++] = E->nat;
    v[k++] = E->many_col;
    v[k++] = E->paper;
    v[k++] = E->dense;
    v[k++] = E->some;
    v[k++] = E->few_lines;
    v[k++] = E->hr;
    v[k++] = E->vr;
    v[k++] = E->gut;
    v[k++] = E->chrome;
    v[k++] = E->marks;
    v[k++] = E->pie;
    v[k++] = E->syn;
    v[k++] = E->plot;
    v[k++] = E->trow;
    v[k++] = E->edge;
    v[k++] = E->big;
    v[k++] = E->lettering;
    v[k++] = E->axis * E->marks;
    v[k++] = E->some * E->few_lines * E->marks * (1 - f->grid_score);
    v[k++] = E->paper * E->syn * (1 - E->dense);
    /* products of evidence the earlier model combined (a linear model
     * cannot form them) */
    v[k++] = E->hr * E->some;
    v[k++] = E->gut * E->dense;
    v[k++] = E->chrome * E->some;
    v[k++] = E->edge * E->syn;
    v[k++] = E->trow * (1 - E->edge);
    v[k++] = ramp(f->n_colors, 0.08f, 0.3f) * E->some;
    v[k++] = E->paper * (1 - E->vr);
    v[k++] = E->syn * (1 - E->some) * (1 - E->paper) * E->lettering;
    v[k++] = ramp(f->colourfulness, 0.3f, 0.7f) * E->syn * E->lettering;
    v[k++] = E->paper * E->syn;
    v[k++] = E->some * E->few_lines;
    /* the hand-set model's visual scores (stacking: the fit weighs them
     * like any other input, on the corpus's train split) */
    float hs[CAP_N_DOMAINS];
    dom_hand_vis_scores(d, E, hs);
    for (int c = 0; c < CAP_N_DOMAINS; c++)
        v[k++] = hs[c];
    (void)k; /* k == DOM_NV */
}

/* The text input vector, from the OCR lines (zeros until OCR ran): the
 * layout statistics of dom_text_layout and the evidence terms TX_*. */
static void dom_txt_features(const cap_desc *d, const dom_evidence *ev, float v[DOM_NT])
{
    memset(v, 0, sizeof(float) * DOM_NT);
    if (!d->ocr_ran)
        return;
    dom_text t;
    dom_text_layout(d, &t);
    float H = d->height > 0 ? (float)d->height : 1;
    int chars = 0, cjk = 0;
    const char *s = d->text ? d->text : "";
    size_t len = strlen(s);
    for (size_t i = 0; i < len;) {
        int32_t cp;
        int n = core_utf8_next(s + i, len - i, &cp);
        if (n <= 0)
            break;
        i += (size_t)n;
        if (cp > ' ') {
            chars++;
            cjk += core_is_cjk(cp) ? 1 : 0;
        }
    }
    int k = 0;
    v[k++] = lg((float)t.n_lines);
    v[k++] = t.long_share;
    v[k++] = t.short_share;
    v[k++] = lg((float)t.n_xstarts);
    v[k++] = t.row_multi;
    v[k++] = t.coverage;
    v[k++] = lg((float)t.n_prose);
    v[k++] = lg((float)t.max_h);
    v[k++] = (float)t.max_h / H;
    v[k++] = d->text_conf / 100.0f;
    v[k++] = lg((float)chars);
    v[k++] = chars ? (float)cjk / (float)chars : 0;

    float many = ramp((float)t.n_lines, 8, 25);
    float *e = v + k;
    e[TX_PARA] = many * t.long_share;
    e[TX_CELLS] = many * t.row_multi;
    e[TX_MULTI] = t.row_multi;
    e[TX_COLS] = ramp((float)t.n_xstarts, 2, 5);
    e[TX_LABELS] = (1 - many) * t.short_share * ev->axis;
    e[TX_UI] = many * t.short_share * (1 - t.row_multi);
    /* Display type: a line taller than screen or page text gets (~30 px
     * even at twice the density), or large lettering OCR did not read. */
    float ocr_display = ramp((float)t.max_h, 36, 56);
    float display = ev->big > ocr_display ? ev->big : ocr_display;
    float few = ramp((float)t.n_lines, 0.5f, 2) * (1 - many) * ev->syn;
    e[TX_FEW] = few * display;
    e[TX_SMALL] = few * (1 - display);
    e[TX_LARGE] = (1 - many) * ev->syn * ocr_display * ramp((float)t.max_h / H, 0.1f, 0.2f) *
                  (1 - ev->big);
    e[TX_MANY] = many;
    /* the rows of a table read as long flush-left lines too */
    e[TX_PROSE] = ramp((float)t.n_prose, 3, 7) * (1 - ev->trow);
    e[TX_UNREAD] = ev->dense * (1 - ramp((float)t.n_lines, 2, 8));
    dom_text_content(d, e + TX_N);
}
_Static_assert(12 + TX_N + TC_N == DOM_NT, "dom_txt_features fills DOM_NT inputs");

/* s += b + W z(x), x clipped to the range the model was fitted on */
void dom_lr_add(const dom_lr *m, const float *x, float s[CAP_N_DOMAINS])
{
    float z[DOM_NV];
    for (int j = 0; j < m->n; j++) {
        float v = x[j];
        if (m->hi[j] > m->lo[j])
            v = v < m->lo[j] ? m->lo[j] : v > m->hi[j] ? m->hi[j] : v;
        z[j] = (v - m->mean[j]) / m->scale[j];
    }
    for (int c = 0; c < CAP_N_DOMAINS; c++) {
        float a = m->b[c];
        for (int j = 0; j < m->n; j++)
            a += m->w[c][j] * z[j];
        s[c] += a;
    }
}

/* Which model decides: the fitted one (domain_model.h, the default) or
 * the hand-set one (dom_hand_scores), chosen by OMNIDEX_DOMAIN=fitted|hand
 * (read by the engine, passed in). On stop 28's corpus the fitted model
 * read the validation packages at 0.94 against the hand-set one's 0.73,
 * and the field set better; the hand-set one was tuned on the dev set and
 * read it better (0.92 against 0.86), and 0.83 on the private holdout. The
 * model fitted on today's corpus reads its validation at 0.934, dev at
 * 0.869, the field set at 0.50 (tests/eval/corpus/README.md). */
cap_dom_model cap_dom_model_env(void)
{
    const char *env = getenv("OMNIDEX_DOMAIN");
    return env && !strcmp(env, "hand") ? CAP_DOM_HAND : CAP_DOM_FITTED;
}

/* Per-domain scores (logits) of the fitted models: visual, plus text once
 * OCR ran. *temp receives the temperature of the model that decided. */
static void dom_fitted_scores(const cap_desc *d, const cap_layout *L, float s[CAP_N_DOMAINS],
                       float *temp)
{
    float vis[DOM_NV], txt[DOM_NT];
    dom_evidence ev;
    dom_vis_features(d, L, vis, &ev);
    memset(s, 0, sizeof(float) * CAP_N_DOMAINS);
    dom_lr_add(&dom_model_pre, vis, s);
    *temp = dom_model_pre.temp;
    if (d->ocr_ran && dom_model_post.n == DOM_NT) {
        dom_txt_features(d, &ev, txt);
        dom_lr_add(&dom_model_post, txt, s);
        *temp = dom_model_post.temp;
    }
}

void cap_domain_features(const cap_desc *d, const cap_image *thumb, float *vis,
                         float *txt)
{
    cap_layout L;
    dom_evidence ev;
    cap_layout_compute(thumb, &L);
    dom_vis_features(d, &L, vis, &ev);
    dom_txt_features(d, &ev, txt);
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

void cap_domain_scores(const cap_desc *d, const cap_image *thumb, cap_dom_model m,
                       float s[CAP_N_DOMAINS])
{
    cap_layout L;
    float temp;
    cap_layout_compute(thumb, &L);
    if (m == CAP_DOM_FITTED)
        dom_fitted_scores(d, &L, s, &temp);
    else
        dom_hand_scores(d, &L, s);
}

void cap_classify(cap_desc *d, const cap_image *thumb, cap_dom_model m)
{
    cap_layout L;
    float s[CAP_N_DOMAINS], temp = 1;
    cap_layout_compute(thumb, &L);
    bool fitted = m == CAP_DOM_FITTED;
    if (fitted)
        dom_fitted_scores(d, &L, s, &temp);
    else
        dom_hand_scores(d, &L, s);
    int best = 0, second = -1;
    for (int k = 1; k < CAP_N_DOMAINS; k++)
        if (s[k] > s[best])
            best = k;
    for (int k = 0; k < CAP_N_DOMAINS; k++)
        if (k != best && (second < 0 || s[k] > s[second]))
            second = k;
    d->domain = (cap_domain)best;
    if (fitted) {
        /* the softmax probability of the winner, calibrated by the fitted
         * temperature (reliability table: tests/eval/corpus/README.md) */
        double z = 0;
        for (int k = 0; k < CAP_N_DOMAINS; k++)
            z += exp((double)(s[k] - s[best]) / (temp > 0 ? temp : 1));
        d->domain_conf = (float)(1.0 / z);
    } else {
        /* A margin of 1 point is decisive; none is a coin toss between two. */
        float margin = second >= 0 ? s[best] - s[second] : 1.0f;
        d->domain_conf = 0.5f + 0.5f * ramp(margin, 0, 1.0f);
    }
    d->chart_type[0] = 0;
    if (d->domain == CAP_CHART)
        snprintf(d->chart_type, sizeof d->chart_type, "%s", dom_chart_type(&d->feat, &L));
}

/* features.c - visual statistics of a thumbnail (long side <= 512), computed
 * after decoding and before domain classification: colours and their names,
 * edges, long rules, grids, chart axes, text rows, flat areas, texture,
 * pie sectors and photo scene cues. Everything here is cheap (~ms). */
#include "captioner_int.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static float clampf(float v, float lo, float hi) { return v < lo ? lo : v > hi ? hi : v; }

/* ------------------------------------------------------- colour names ---- */

typedef struct feat_cname {
    const char *en, *zh;
} feat_cname;

enum {
    CN_BLACK, CN_WHITE, CN_GRAY, CN_DARK_GRAY, CN_LIGHT_GRAY, CN_RED, CN_DARK_RED,
    CN_ORANGE, CN_YELLOW, CN_GOLD, CN_OLIVE, CN_GREEN, CN_DARK_GREEN, CN_TEAL,
    CN_CYAN, CN_SKY_BLUE, CN_BLUE, CN_NAVY, CN_PURPLE, CN_MAGENTA, CN_PINK,
    CN_BROWN, CN_BEIGE, CN_N
};

static const feat_cname feat_cnames[CN_N] = {
    [CN_BLACK] = {"black", "黑色"},         [CN_WHITE] = {"white", "白色"},
    [CN_GRAY] = {"gray", "灰色"},           [CN_DARK_GRAY] = {"dark gray", "深灰色"},
    [CN_LIGHT_GRAY] = {"light gray", "浅灰色"}, [CN_RED] = {"red", "红色"},
    [CN_DARK_RED] = {"dark red", "深红色"}, [CN_ORANGE] = {"orange", "橙色"},
    [CN_YELLOW] = {"yellow", "黄色"},       [CN_GOLD] = {"gold", "金色"},
    [CN_OLIVE] = {"olive", "橄榄色"},       [CN_GREEN] = {"green", "绿色"},
    [CN_DARK_GREEN] = {"dark green", "深绿色"}, [CN_TEAL] = {"teal", "蓝绿色"},
    [CN_CYAN] = {"cyan", "青色"},           [CN_SKY_BLUE] = {"sky blue", "天蓝色"},
    [CN_BLUE] = {"blue", "蓝色"},           [CN_NAVY] = {"navy", "深蓝色"},
    [CN_PURPLE] = {"purple", "紫色"},       [CN_MAGENTA] = {"magenta", "品红色"},
    [CN_PINK] = {"pink", "粉色"},           [CN_BROWN] = {"brown", "棕色"},
    [CN_BEIGE] = {"beige", "米色"},
};

/* HSV with h in degrees, s and v in 0..1. */
static void feat_hsv(int r, int g, int b, float *h, float *s, float *v)
{
    int mx = r > g ? (r > b ? r : b) : (g > b ? g : b);
    int mn = r < g ? (r < b ? r : b) : (g < b ? g : b);
    float d = (float)(mx - mn);
    *v = mx / 255.0f;
    *s = mx ? d / mx : 0;
    if (d == 0) {
        *h = 0;
        return;
    }
    float hh;
    if (mx == r)
        hh = 60.0f * ((g - b) / d); /* in -60..60; wrapped below */
    else if (mx == g)
        hh = 60.0f * ((b - r) / d + 2.0f);
    else
        hh = 60.0f * ((r - g) / d + 4.0f);
    if (hh < 0)
        hh += 360.0f;
    *h = hh;
}

/* Names a colour the way people do: lightness first for neutrals, then hue
 * families split by how dark or pale they are (orange that is dark is brown,
 * red that is pale is pink). */
ODX_STATIC int feat_color_name(int r, int g, int b)
{
    float h, s, v;
    feat_hsv(r, g, b, &h, &s, &v);
    if (v < 0.16f)
        return CN_BLACK;
    if (s < 0.14f || (v < 0.3f && s < 0.3f)) {
        if (v > 0.9f)
            return CN_WHITE;
        if (v > 0.72f)
            return CN_LIGHT_GRAY;
        if (v > 0.4f)
            return CN_GRAY;
        return CN_DARK_GRAY;
    }
    if (h < 15 || h >= 340) {
        if (s < 0.5f && v > 0.7f)
            return CN_PINK;
        if (v < 0.45f)
            return s > 0.5f ? CN_DARK_RED : CN_BROWN;
        return CN_RED;
    }
    if (h < 45) {
        if (v < 0.6f)
            return CN_BROWN;
        if (s < 0.35f)
            return CN_BEIGE;
        return CN_ORANGE;
    }
    if (h < 70) {
        if (v < 0.55f)
            return CN_OLIVE;
        if (s < 0.35f)
            return CN_BEIGE;
        return h < 52 && v < 0.85f ? CN_GOLD : CN_YELLOW;
    }
    if (h < 160) {
        if (v < 0.4f)
            return CN_DARK_GREEN;
        return CN_GREEN;
    }
    if (h < 190)
        return v < 0.6f ? CN_TEAL : CN_CYAN;
    if (h < 255) {
        if (v < 0.45f)
            return CN_NAVY;
        if (s < 0.45f && v > 0.75f)
            return CN_SKY_BLUE;
        if (h < 205 && v < 0.7f)
            return CN_TEAL;
        return CN_BLUE;
    }
    if (h < 290)
        return CN_PURPLE;
    if (h < 320)
        return s < 0.5f && v > 0.7f ? CN_PINK : CN_MAGENTA;
    return s < 0.6f || v > 0.8f ? CN_PINK : CN_MAGENTA;
}

/* ------------------------------------------------------------- rules ---- */

#define FEAT_MAX_RULES 64

typedef struct feat_rule {
    int pos;    /* row (horizontal) or column (vertical) */
    int a, b;   /* extent along the rule */
    int thick;
} feat_rule;

typedef struct feat_ctx {
    const cap_image *im;
    int w, h;
    uint8_t *lum;
    feat_rule hr[FEAT_MAX_RULES], vr[FEAT_MAX_RULES];
    int n_hr, n_vr;
    int bg_r, bg_g, bg_b;
    uint8_t bg[3];
    int *far_row, *far_col; /* pixels unlike the background, per row/column */
} feat_ctx;

static inline int feat_cdist(const uint8_t *p, const uint8_t *q)
{
    int a = abs(p[0] - q[0]), b = abs(p[1] - q[1]), c = abs(p[2] - q[2]);
    int m = a > b ? a : b;
    return m > c ? m : c;
}

/* Longest run along one line whose pixels contrast with both-side
 * neighbours (distance 1 or 2 across the line) and keep one colour: a
 * drawn rule, a table border, a chart spine, the edge of a band. Gaps of
 * two pixels are bridged (anti-aliasing, crossings). */
static void feat_line_run(const feat_ctx *c, bool horiz, int pos, int *best_a, int *best_b)
{
    const uint8_t *px = c->im->rgb;
    int len = horiz ? c->w : c->h, across = horiz ? c->h : c->w;
    size_t step = horiz ? 3 : (size_t)c->w * 3;
    size_t xstep = horiz ? (size_t)c->w * 3 : 3; /* one pixel across */
    const uint8_t *base = horiz ? px + (size_t)pos * c->w * 3 : px + (size_t)pos * 3;
    int ra = -1, gap = 0, last_ok = -1, n_close = 0;
    const uint8_t *rc = NULL;
    *best_a = *best_b = 0;
    for (int i = 0; i <= len; i++) {
        bool ok = false;
        if (i < len) {
            const uint8_t *p = base + step * i;
            int d1 = 0, d2 = 0;
            if (pos >= 1)
                d1 = feat_cdist(p, p - xstep);
            if (pos >= 2 && d1 < 20)
                d1 = feat_cdist(p, p - 2 * xstep);
            if (pos + 1 < across)
                d2 = feat_cdist(p, p + xstep);
            if (pos + 2 < across && d2 < 20)
                d2 = feat_cdist(p, p + 2 * xstep);
            /* A rule stands out on both sides and is itself ink; the paper
             * next to a line of text contrasts on one side only. */
            ok = d1 >= 20 && d2 >= 20 && feat_cdist(p, c->bg) >= 24 &&
                 (!rc || feat_cdist(p, rc) < 48);
            if (ok && !rc)
                rc = p;
            if (ok && feat_cdist(p, rc) < 16)
                n_close++;
        }
        if (ok) {
            if (ra < 0)
                ra = i;
            last_ok = i;
            gap = 0;
        } else if (ra >= 0) {
            if (++gap > 2 || i == len) {
                /* Drawn rules are one even colour; a row of small text seen
                 * at thumbnail scale is a blotchy grey that also runs long. */
                int rl = last_ok - ra + 1;
                if (n_close >= 0.85f * rl && last_ok - ra > *best_b - *best_a) {
                    *best_a = ra;
                    *best_b = last_ok;
                }
                ra = -1;
                rc = NULL;
                gap = 0;
                n_close = 0;
            }
        }
    }
}

/* Finds long horizontal or vertical rules; neighbouring lines that both
 * qualify (a thick rule, both sides of a band edge) count once. */
static void feat_rules(feat_ctx *c, bool horiz)
{
    int across = horiz ? c->h : c->w, len = horiz ? c->w : c->h;
    int min_len = (int)(0.45f * len);
    feat_rule *out = horiz ? c->hr : c->vr;
    int *n = horiz ? &c->n_hr : &c->n_vr;
    *n = 0;
    if (len < 16 || across < 8)
        return;
    int prev_pos = -10;
    const int *far = horiz ? c->far_row : c->far_col;
    for (int pos = 1; pos + 1 < across; pos++) {
        int a, b;
        /* A rule's pixels are unlike the background over >= 85% of its
         * length (feat_line_run): most lines can be skipped unread. */
        if (far && far[pos] < (int)(0.85f * min_len))
            continue;
        feat_line_run(c, horiz, pos, &a, &b);
        if (b - a + 1 < min_len)
            continue;
        if (*n > 0 && pos - prev_pos <= 2) {
            feat_rule *r = &out[*n - 1];
            if (a < r->a)
                r->a = a;
            if (b > r->b)
                r->b = b;
            r->thick++;
        } else if (*n < FEAT_MAX_RULES) {
            out[*n] = (feat_rule){pos, a, b, 1};
            (*n)++;
        }
        prev_pos = pos;
    }
}

/* ------------------------------------------------- connected components ---- */

typedef struct feat_comp {
    int x0, y0, x1, y1, n;
    int n_border;        /* pixels within 2 px of the bbox edge (labels only) */
    uint32_t r, g, b;    /* colour sums (when rgb given) */
} feat_comp;

/* Horizontal run of ink in one row; runs are joined into components with
 * union-find (parent index; the root is the component's first run). */
typedef struct feat_run {
    int x0, x1, y, parent;
} feat_run;

static int feat_find(feat_run *r, int i)
{
    while (r[i].parent != i) {
        r[i].parent = r[r[i].parent].parent;
        i = r[i].parent;
    }
    return i;
}

/* Labels 8-connected ink pixels; returns components (caller frees) or NULL.
 * Components come in raster order of their first pixel; those beyond
 * max_comps are dropped. With labels (w*h ints, zeroed by the caller),
 * writes each pixel's component index + 1 there; with rgb, sums each
 * component's colour. Works on runs rather than pixels: a flood fill's
 * per-pixel stack traffic was the largest cost of the feature pass. */
static feat_comp *feat_components(const uint8_t *ink, int w, int h, int *n_out, int max_comps,
                                  int *labels, const uint8_t *rgb)
{
    size_t cap = 4096, n_runs = 0;
    feat_run *runs = malloc(sizeof *runs * cap);
    feat_comp *cs = NULL;
    int *id = NULL, n = 0;
    *n_out = 0;
    if (!runs)
        return NULL;
    size_t prev_a = 0, prev_b = 0; /* runs of the previous row */
    for (int y = 0; y < h; y++) {
        const uint8_t *row = ink + (size_t)y * w;
        size_t cur_a = n_runs, j = prev_a;
        for (int x = 0; x < w;) {
            if (!row[x]) {
                x++;
                continue;
            }
            int a = x;
            while (x < w && row[x])
                x++;
            if (n_runs == cap) {
                feat_run *nr = realloc(runs, sizeof *runs * cap * 2);
                if (!nr)
                    goto fail;
                runs = nr;
                cap *= 2;
            }
            size_t k = n_runs++;
            runs[k] = (feat_run){a, x - 1, y, (int)k};
            /* 8-connectivity: previous-row runs within one pixel sideways */
            while (j < prev_b && runs[j].x1 < a - 1)
                j++;
            for (size_t q = j; q < prev_b && runs[q].x0 <= x; q++) {
                int ra = feat_find(runs, (int)q), rb = feat_find(runs, (int)k);
                if (ra < rb)
                    runs[rb].parent = ra;
                else if (rb < ra)
                    runs[ra].parent = rb;
            }
        }
        prev_a = cur_a;
        prev_b = n_runs;
    }
    id = malloc(sizeof *id * (n_runs ? n_runs : 1));
    cs = malloc(sizeof *cs * (size_t)(max_comps > 0 ? max_comps : 1));
    if (!id || !cs)
        goto fail;
    for (size_t k = 0; k < n_runs; k++) {
        int r = feat_find(runs, (int)k);
        if (r == (int)k) {
            id[k] = n < max_comps ? n++ : -1;
            if (id[k] >= 0)
                cs[id[k]] = (feat_comp){w, h, -1, -1, 0, 0, 0, 0, 0};
        } else {
            id[k] = id[r];
        }
        if (id[k] < 0)
            continue;
        feat_comp *c = &cs[id[k]];
        const feat_run *u = &runs[k];
        c->n += u->x1 - u->x0 + 1;
        if (u->x0 < c->x0) c->x0 = u->x0;
        if (u->x1 > c->x1) c->x1 = u->x1;
        if (u->y < c->y0) c->y0 = u->y;
        if (u->y > c->y1) c->y1 = u->y;
        size_t base = (size_t)u->y * w;
        for (int x = u->x0; x <= u->x1; x++) {
            if (labels)
                labels[base + x] = id[k] + 1;
            if (rgb) {
                c->r += rgb[3 * (base + x)];
                c->g += rgb[3 * (base + x) + 1];
                c->b += rgb[3 * (base + x) + 2];
            }
        }
    }
    free(runs);
    free(id);
    *n_out = n;
    return cs;
fail:
    free(runs);
    free(id);
    free(cs);
    return NULL;
}

/* Text rows: glyph- or word-sized components whose vertical spans pile up
 * into narrow bands. Returns the number of bands; *aligned gets the share
 * of glyph-sized components that sit in one. */
static int feat_text_rows(const feat_comp *cs, int n, int w, int h, float *aligned,
                          int *n_glyph)
{
    float *prof = calloc((size_t)h, sizeof *prof);
    int lines = 0, in_lines = 0, ng = 0;
    *aligned = 0;
    *n_glyph = 0;
    if (!prof)
        return 0;
    for (int i = 0; i < n; i++) {
        int cw = cs[i].x1 - cs[i].x0 + 1, ch = cs[i].y1 - cs[i].y0 + 1;
        if (ch < 2 || ch > 28 || cw > w / 4 || cw > 12 * ch || cs[i].n < 3)
            continue;
        ng++;
        for (int y = cs[i].y0; y <= cs[i].y1; y++)
            prof[y] += (float)cw;
    }
    /* A band is a run of rows whose glyph coverage exceeds 4% of the width,
     * of text height; each band counts glyphs whose centre lies in it. */
    uint8_t *band = calloc((size_t)h, 1);
    if (band) {
        float thr = 0.04f * w;
        int y = 0;
        while (y < h) {
            if (prof[y] < thr) {
                y++;
                continue;
            }
            int y0 = y;
            while (y < h && prof[y] >= thr)
                y++;
            int bh = y - y0;
            if (bh >= 2 && bh <= 32) {
                lines++;
                memset(band + y0, 1, (size_t)bh);
            }
        }
        for (int i = 0; i < n; i++) {
            int cw = cs[i].x1 - cs[i].x0 + 1, ch = cs[i].y1 - cs[i].y0 + 1;
            if (ch < 2 || ch > 28 || cw > w / 4 || cw > 12 * ch || cs[i].n < 3)
                continue;
            if (band[(cs[i].y0 + cs[i].y1) / 2])
                in_lines++;
        }
        free(band);
    }
    free(prof);
    *n_glyph = ng;
    *aligned = ng ? (float)in_lines / ng : 0;
    return lines;
}

/* -------------------------------------------------------------- pie ---- */

/* Pie score: the non-background mass forms a disc whose colours change
 * around the centre but not along the radius, in a few flat sectors. */
static float feat_sectors(const feat_ctx *c, const uint8_t *ink)
{
    int w = c->w, h = c->h;
    int *rowc = calloc((size_t)h, sizeof *rowc), *colc = calloc((size_t)w, sizeof *colc);
    float score = 0;
    if (!rowc || !colc)
        goto done;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            if (ink[y * w + x]) {
                rowc[y]++;
                colc[x]++;
            }
    /* Rows/columns dense in ink outline the disc; sparse ones are text. */
    int y0 = -1, y1 = -1, x0 = -1, x1 = -1;
    int best = 0;
    for (int y = 0; y < h; y++)
        if (rowc[y] > best)
            best = rowc[y];
    for (int y = 0; y < h; y++)
        if (rowc[y] >= best / 5 && rowc[y] > 4) {
            if (y0 < 0)
                y0 = y;
            y1 = y;
        }
    best = 0;
    for (int x = 0; x < w; x++)
        if (colc[x] > best)
            best = colc[x];
    for (int x = 0; x < w; x++)
        if (colc[x] >= best / 5 && colc[x] > 4) {
            if (x0 < 0)
                x0 = x;
            x1 = x;
        }
    if (y0 < 0 || x0 < 0)
        goto done;
    int bw = x1 - x0 + 1, bh = y1 - y0 + 1;
    /* The dense extent may include a legend or title next to the disc, so
     * take the disc as the largest square inside it, trying both ends. */
    int side = bw < bh ? bw : bh;
    if (side < 24 || side < 0.2f * (w < h ? w : h))
        goto done;
    float best_score = 0;
    for (int variant = 0; variant < 3; variant++) {
        float cx, cy;
        if (bw >= bh) {
            cy = y0 + bh / 2.0f;
            cx = variant == 0 ? x0 + side / 2.0f : variant == 1 ? x1 - side / 2.0f : x0 + bw / 2.0f;
        } else {
            cx = x0 + bw / 2.0f;
            cy = variant == 0 ? y0 + side / 2.0f : variant == 1 ? y1 - side / 2.0f : y0 + bh / 2.0f;
        }
        float r = side / 2.0f;
        enum { NA = 90 };
        int filled = 0, consistent = 0, changes = 0, outside_ink = 0;
        const uint8_t *prev = NULL, *first = NULL;
        for (int k = 0; k < NA; k++) {
            float a = 2.0f * 3.14159265f * k / NA, ca = cosf(a), sa = sinf(a);
            int xa = (int)(cx + 0.78f * r * ca), ya = (int)(cy + 0.78f * r * sa);
            int xb = (int)(cx + 0.62f * r * ca), yb = (int)(cy + 0.62f * r * sa);
            int xo = (int)(cx + 1.12f * r * ca), yo = (int)(cy + 1.12f * r * sa);
            if (xa < 0 || ya < 0 || xa >= w || ya >= h || xb < 0 || yb < 0 || xb >= w ||
                yb >= h)
                continue;
            if (xo >= 0 && yo >= 0 && xo < w && yo < h && ink[yo * w + xo])
                outside_ink++;
            const uint8_t *pa = c->im->rgb + ((size_t)ya * w + xa) * 3;
            const uint8_t *pb = c->im->rgb + ((size_t)yb * w + xb) * 3;
            if (ink[ya * w + xa])
                filled++;
            if (feat_cdist(pa, pb) < 24)
                consistent++;
            if (prev && feat_cdist(pa, prev) >= 40)
                changes++;
            if (!first)
                first = pa;
            prev = pa;
        }
        if (prev && first && feat_cdist(prev, first) >= 40)
            changes++;
        float fill = filled / (float)NA, cons = consistent / (float)NA;
        float out = outside_ink / (float)NA;
        float chg = changes >= 2 && changes <= 24 ? 1.0f : changes == 1 ? 0.2f : 0.1f;
        float s = fill * fill * cons * cons * chg * (1.0f - out);
        if (s > best_score)
            best_score = s;
    }
    score = clampf(best_score, 0, 1);
done:
    free(rowc);
    free(colc);
    return score;
}

/* ----------------------------------------------------------- compute ---- */

typedef struct feat_bin {
    uint32_t n;
    uint32_t r, g, b;
} feat_bin;

/* 65536 / v for v in 1..255: saturation without a division per pixel.
 * Filled once for all workers (it was filled lazily without a guard: a
 * data race under ThreadSanitizer). */
static uint32_t inv16[256];
static pthread_once_t inv16_once = PTHREAD_ONCE_INIT;
static void inv16_fill(void)
{
    for (int v = 1; v < 256; v++)
        inv16[v] = 65536u / (uint32_t)v;
}

static int cmp_u32_desc(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

void cap_features_compute(const cap_image *thumb, cap_desc *d)
{
    cap_features *f = &d->feat;
    memset(f, 0, sizeof *f);
    d->n_colors = 0;
    if (!thumb || !thumb->rgb || thumb->w <= 0 || thumb->h <= 0)
        return;
    int w = thumb->w, h = thumb->h;
    size_t n = (size_t)w * h;
    const uint8_t *px = thumb->rgb;
    feat_ctx c = {.im = thumb, .w = w, .h = h};
    feat_bin *bins = calloc(4096, sizeof *bins);
    uint32_t *counts = malloc(4096 * sizeof *counts);
    c.lum = malloc(n);
    uint8_t *ink = calloc(n, 1);
    uint8_t *flatb = NULL;
    feat_comp *cs = NULL;
    if (!bins || !counts || !c.lum || !ink)
        goto done;
    f->aspect = (float)w / h;

    /* Colour statistics. */
    /* Integer sums (exact, and no long floating-point dependency chain);
     * yb is summed doubled to stay integral. */
    int64_t isum_l = 0, isum_l2 = 0, isum_rg = 0, isum_rg2 = 0, isum_yb2x = 0, isum_yb2x2 = 0;
    uint64_t isum_s = 0; /* saturation in 1/65536 */
    pthread_once(&inv16_once, inv16_fill); /* workers run this at once */
    size_t n_white = 0, n_black = 0, n_gray = 0;
    for (size_t i = 0; i < n; i++) {
        int r = px[3 * i], g = px[3 * i + 1], b = px[3 * i + 2];
        int l = (77 * r + 150 * g + 29 * b) >> 8;
        c.lum[i] = (uint8_t)l;
        int mx = r > g ? (r > b ? r : b) : (g > b ? g : b);
        int mn = r < g ? (r < b ? r : b) : (g < b ? g : b);
        isum_l += l;
        isum_l2 += l * l;
        isum_s += (uint64_t)(mx - mn) * inv16[mx];
        int rg = r - g, yb2x = r + g - 2 * b;
        isum_rg += rg;
        isum_rg2 += rg * rg;
        isum_yb2x += yb2x;
        isum_yb2x2 += yb2x * yb2x;
        if (mn >= 235)
            n_white++;
        else if (mx <= 35)
            n_black++;
        else if (mx - mn <= 16)
            n_gray++;
        int q = (r >> 4) << 8 | (g >> 4) << 4 | (b >> 4);
        bins[q].n++;
        bins[q].r += r;
        bins[q].g += g;
        bins[q].b += b;
    }
    double sum_l = (double)isum_l, sum_l2 = (double)isum_l2, sum_s = isum_s / 65536.0;
    double sum_rg = (double)isum_rg, sum_rg2 = (double)isum_rg2;
    double sum_yb = isum_yb2x / 2.0, sum_yb2 = isum_yb2x2 / 4.0;
    double mean_l = sum_l / n;
    f->brightness = (float)(mean_l / 255.0);
    f->contrast = clampf((float)(sqrt(fmax(0, sum_l2 / n - mean_l * mean_l)) / 128.0), 0, 1);
    f->saturation = (float)(sum_s / n);
    {
        double mrg = sum_rg / n, myb = sum_yb / n;
        double srg = sqrt(fmax(0, sum_rg2 / n - mrg * mrg));
        double syb = sqrt(fmax(0, sum_yb2 / n - myb * myb));
        double m = sqrt(srg * srg + syb * syb) + 0.3 * sqrt(mrg * mrg + myb * myb);
        f->colourfulness = clampf((float)(m / 110.0), 0, 1); /* Hasler-Suesstrunk */
    }
    f->white_share = (float)n_white / n;
    f->black_share = (float)n_black / n;
    f->gray_share = (float)n_gray / n;

    /* Distinct colours covering 95% of the pixels, and the background (the
     * most common bin). */
    int mode = 0;
    for (int q = 0; q < 4096; q++) {
        counts[q] = bins[q].n;
        if (bins[q].n > bins[mode].n)
            mode = q;
    }
    c.bg_r = (int)(bins[mode].r / bins[mode].n);
    c.bg_g = (int)(bins[mode].g / bins[mode].n);
    c.bg_b = (int)(bins[mode].b / bins[mode].n);
    c.bg[0] = (uint8_t)c.bg_r;
    c.bg[1] = (uint8_t)c.bg_g;
    c.bg[2] = (uint8_t)c.bg_b;
    qsort(counts, 4096, sizeof *counts, cmp_u32_desc);
    {
        uint64_t acc = 0;
        int k = 0;
        while (k < 4096 && acc < (uint64_t)(0.95 * n))
            acc += counts[k++];
        f->n_colors = clampf(k / 64.0f, 0, 1);
    }

    /* Dominant colours: bins merged by their name. */
    {
        double sh[CN_N] = {0}, sr[CN_N] = {0}, sg[CN_N] = {0}, sb[CN_N] = {0};
        for (int q = 0; q < 4096; q++) {
            if (!bins[q].n)
                continue;
            int r = (int)(bins[q].r / bins[q].n), g = (int)(bins[q].g / bins[q].n),
                b = (int)(bins[q].b / bins[q].n);
            int k = feat_color_name(r, g, b);
            sh[k] += bins[q].n;
            sr[k] += bins[q].r;
            sg[k] += bins[q].g;
            sb[k] += bins[q].b;
        }
        bool used[CN_N] = {0};
        for (int slot = 0; slot < 6; slot++) {
            int bk = -1;
            for (int k = 0; k < CN_N; k++)
                if (!used[k] && (bk < 0 || sh[k] > sh[bk]))
                    bk = k;
            if (bk < 0 || sh[bk] < 0.02 * n)
                break;
            used[bk] = true;
            cap_color *o = &d->colors[d->n_colors++];
            memset(o, 0, sizeof *o);
            snprintf(o->name, sizeof o->name, "%s", feat_cnames[bk].en);
            snprintf(o->name_zh, sizeof o->name_zh, "%s", feat_cnames[bk].zh);
            o->share = (float)(sh[bk] / n);
            o->r = (uint8_t)(sr[bk] / sh[bk]);
            o->g = (uint8_t)(sg[bk] / sh[bk]);
            o->b = (uint8_t)(sb[bk] / sh[bk]);
        }
    }

    /* Edges, texture. Texture counts small, non-edge luminance wiggles:
     * photos have them everywhere, rendered graphics almost nowhere. */
    size_t n_edge = 0, n_tex = 0, n_inner = 0;
    for (int y = 1; y + 1 < h; y++) {
        const uint8_t *L = c.lum + (size_t)y * w;
        for (int x = 1; x + 1 < w; x++) {
            int gx = L[x + 1] - L[x - 1], gy = L[x + w] - L[x - w];
            int mag = abs(gx) + abs(gy);
            int lap = abs(4 * L[x] - L[x - 1] - L[x + 1] - L[x - w] - L[x + w]);
            n_inner++;
            if (mag > 60)
                n_edge++;
            else if (lap >= 3 && mag >= 3)
                n_tex++;
        }
    }
    if (n_inner) {
        f->edge_density = (float)n_edge / n_inner;
        f->noise = clampf((float)n_tex / n_inner, 0, 1);
    }

    /* Flat regions: 8x8 blocks of one colour with flat neighbours. */
    {
        int bw = w / 8, bh = h / 8;
        if (bw > 0 && bh > 0 && (flatb = calloc((size_t)bw * bh, 1)) != NULL) {
            for (int by = 0; by < bh; by++)
                for (int bx = 0; bx < bw; bx++) {
                    int lo[3] = {255, 255, 255}, hi[3] = {0, 0, 0};
                    for (int y = by * 8; y < by * 8 + 8; y++)
                        for (int x = bx * 8; x < bx * 8 + 8; x++)
                            for (int k = 0; k < 3; k++) {
                                int v = px[((size_t)y * w + x) * 3 + k];
                                if (v < lo[k]) lo[k] = v;
                                if (v > hi[k]) hi[k] = v;
                            }
                    flatb[by * bw + bx] =
                        hi[0] - lo[0] <= 6 && hi[1] - lo[1] <= 6 && hi[2] - lo[2] <= 6;
                }
            int nf = 0;
            for (int by = 0; by < bh; by++)
                for (int bx = 0; bx < bw; bx++) {
                    if (!flatb[by * bw + bx])
                        continue;
                    int nb = (bx > 0 && flatb[by * bw + bx - 1]) + (bx + 1 < bw && flatb[by * bw + bx + 1]) +
                             (by > 0 && flatb[(by - 1) * bw + bx]) + (by + 1 < bh && flatb[(by + 1) * bw + bx]);
                    if (nb >= 3)
                        nf++;
                }
            f->flat_share = (float)nf / (bw * bh);
        }
    }

    /* Rules, grid, axes. */
    c.far_row = calloc((size_t)h, sizeof *c.far_row);
    c.far_col = calloc((size_t)w, sizeof *c.far_col);
    if (c.far_row && c.far_col) {
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                if (feat_cdist(px + 3 * ((size_t)y * w + x), c.bg) >= 24) {
                    c.far_row[y]++;
                    c.far_col[x]++;
                }
    } else {
        free(c.far_row);
        free(c.far_col);
        c.far_row = c.far_col = NULL;
    }
    feat_rules(&c, true);
    feat_rules(&c, false);
    f->n_h_rules = c.n_hr;
    f->n_v_rules = c.n_vr;
    {
        double hp = 0, vp = 0;
        for (int i = 0; i < c.n_hr; i++)
            hp += (double)(c.hr[i].b - c.hr[i].a + 1) * c.hr[i].thick;
        for (int i = 0; i < c.n_vr; i++)
            vp += (double)(c.vr[i].b - c.vr[i].a + 1) * c.vr[i].thick;
        f->h_rule_share = clampf((float)(hp / n), 0, 1);
        f->v_rule_share = clampf((float)(vp / n), 0, 1);
        int cross = 0;
        for (int i = 0; i < c.n_hr; i++)
            for (int j = 0; j < c.n_vr; j++)
                if (c.vr[j].pos >= c.hr[i].a - 2 && c.vr[j].pos <= c.hr[i].b + 2 &&
                    c.hr[i].pos >= c.vr[j].a - 2 && c.hr[i].pos <= c.vr[j].b + 2)
                    cross++;
        /* A lone rectangle (a frame, a chart box) crosses 4 times: a grid
         * needs inner crossings beyond that. */
        f->grid_score = c.n_hr >= 3 && c.n_vr >= 2 ? clampf((cross - 4) / 12.0f, 0, 1) : 0;
        /* Axes: a vertical rule whose bottom meets a horizontal rule's left
         * end, both long, in the lower-left part of the image. */
        float axis = 0;
        for (int i = 0; i < c.n_hr; i++)
            for (int j = 0; j < c.n_vr; j++) {
                const feat_rule *hr = &c.hr[i], *vr = &c.vr[j];
                int tol = 3 + (w > h ? w : h) / 100;
                if (abs(vr->pos - hr->a) > tol || abs(hr->pos - vr->b) > tol)
                    continue;
                if (hr->pos < h / 2 || vr->pos > w / 2)
                    continue;
                float s = 0.5f * ((float)(hr->b - hr->a) / w + (float)(vr->b - vr->a) / h);
                /* inside the L there should be marks (bars, lines, dots) */
                if (s > axis)
                    axis = s;
            }
        f->axis_score = clampf(axis * 1.3f, 0, 1);
    }

    /* Ink: pixels far from the background colour. */
    {
        uint8_t bgc[3] = {(uint8_t)c.bg_r, (uint8_t)c.bg_g, (uint8_t)c.bg_b};
        for (size_t i = 0; i < n; i++)
            ink[i] = feat_cdist(px + 3 * i, bgc) >= 60;
    }
    int n_cs = 0;
    cs = feat_components(ink, w, h, &n_cs, 20000, NULL, NULL);
    if (cs) {
        float aligned;
        int n_glyph;
        int lines = feat_text_rows(cs, n_cs, w, h, &aligned, &n_glyph);
        f->n_text_lines = lines;
        f->text_likeness = clampf(lines / 10.0f, 0, 1) * aligned *
                           clampf(n_glyph / 30.0f, 0, 1);
    }
    f->sector_score = feat_sectors(&c, ink);

    /* Scene cues (meaningful for photos; domain decides whether to use). */
    {
        size_t top = 0, n_top = 0, bot_water = 0, n_bot = 0, veg = 0, snow = 0, warm = 0,
               bright = 0, dark = 0;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                size_t i = (size_t)y * w + x;
                float hh = 0, s, v;
                int r = px[3 * i], g = px[3 * i + 1], b = px[3 * i + 2];
                int mx = r > g ? (r > b ? r : b) : (g > b ? g : b);
                int mn = r < g ? (r < b ? r : b) : (g < b ? g : b);
                v = mx / 255.0f;
                s = mx ? (float)(mx - mn) / mx : 0;
                /* every hue test below also needs s > 0.1 and v > 0.12:
                 * greys and near-blacks skip the hue */
                if (s > 0.1f && v > 0.12f)
                    feat_hsv(r, g, b, &hh, &s, &v);
                int gmag = 0;
                if (x > 0 && y > 0 && x + 1 < w && y + 1 < h)
                    gmag = abs(c.lum[i + 1] - c.lum[i - 1]) + abs(c.lum[i + w] - c.lum[i - w]);
                bool blueish = hh >= 185 && hh <= 250 && s > 0.12f && v > 0.35f;
                if (y < h / 3) {
                    n_top++;
                    bool pale = s < 0.12f && v > 0.65f && v < 0.985f;
                    if ((blueish || pale) && gmag < 12)
                        top++;
                } else if (y >= h / 2) {
                    n_bot++;
                    if (hh >= 170 && hh <= 240 && s > 0.1f && v > 0.2f && gmag >= 2)
                        bot_water++;
                }
                if (hh >= 65 && hh <= 170 && s > 0.2f && v > 0.12f && gmag >= 6)
                    veg++;
                if (v > 0.7f && s < 0.15f && px[3 * i] < 250 && px[3 * i + 2] + 6 >= px[3 * i])
                    snow++;
                if ((hh < 50 || hh > 340) && s > 0.35f && v > 0.35f)
                    warm++;
                if (v > 0.85f)
                    bright++;
                if (v < 0.2f)
                    dark++;
            }
        float natural = clampf(f->noise * 4.0f, 0, 1); /* synthetic images lack texture */
        f->sky = n_top ? clampf((float)top / n_top * 1.3f, 0, 1) * natural : 0;
        f->water = n_bot ? clampf((float)bot_water / n_bot * 1.5f, 0, 1) * natural : 0;
        f->vegetation = clampf((float)veg / n * 2.0f, 0, 1) * natural;
        f->snow = clampf(((float)snow / n - 0.1f) * 2.0f, 0, 1) * natural;
        f->sunset = clampf((float)warm / n * 2.5f, 0, 1) *
                    clampf((float)bright / n * 20.0f, 0, 1) * natural;
        f->night = clampf(((float)dark / n - 0.35f) / 0.45f, 0, 1) *
                   clampf((0.35f - f->brightness) / 0.2f, 0, 1);
    }
done:
    free(bins);
    free(counts);
    free(c.far_row);
    free(c.far_col);
    free(c.lum);
    free(ink);
    free(flatb);
    free(cs);
}

/* ------------------------------------------------------------ layout ---- */

/* One text row for the column-alignment test: its vertical band, the
 * x extent of its ink and, per x, whether a gap is there. */
typedef struct feat_trow {
    int y0, y1, first, last;
    bool brk;         /* followed by something that is not a text row */
    uint64_t gap[16]; /* bit x: no ink at x (or x outside the row's extent) */
} feat_trow;

#define FEAT_TROW_MAX 160
#define FEAT_GAP_MIN 3 /* px of gap (after 1 px dilation) between columns */

/* Interior gaps shared by rows r[0..n-1]: runs of set bits in the AND of
 * their masks, at least FEAT_GAP_MIN wide, with ink on both sides in most
 * rows (the ragged right of a paragraph is no column gap). */
static int feat_shared_gaps(const feat_trow *r, int n, int w)
{
    uint64_t m[16];
    memcpy(m, r[0].gap, sizeof m);
    for (int i = 1; i < n; i++)
        for (int k = 0; k < 16; k++)
            m[k] &= r[i].gap[k];
    int lo = w, hi = 0, n_gaps = 0;
    for (int i = 0; i < n; i++) {
        if (r[i].first < lo)
            lo = r[i].first;
        if (r[i].last > hi)
            hi = r[i].last;
    }
    int x = lo;
    while (x <= hi) {
        if (!(m[x >> 6] >> (x & 63) & 1)) {
            x++;
            continue;
        }
        int a = x;
        while (x <= hi && (m[x >> 6] >> (x & 63) & 1))
            x++;
        int b = x - 1;
        if (b - a + 1 < FEAT_GAP_MIN)
            continue;
        int both = 0;
        for (int i = 0; i < n; i++)
            both += r[i].first < a && r[i].last > b;
        if (both * 10 >= n * 7)
            n_gaps++;
    }
    return n_gaps;
}

/* Borderless tables: the glyphs of a table's rows leave the same empty
 * columns between cells row after row, while the word gaps of running text
 * fall at different places in every line. Rules, header bands and long
 * strokes are removed first so that they neither join rows nor fill gaps.
 * ink (w*h) is modified. */
static void feat_table_rows(uint8_t *ink, int w, int h, cap_layout *out)
{
    if (w > 1024 || w < 32 || h < 16)
        return;
    int max_h = w / 4 > 24 ? w / 4 : 24, max_v = 28;
    for (int y = 0; y < h; y++) {
        uint8_t *row = ink + (size_t)y * w;
        for (int x = 0; x < w;) {
            if (!row[x]) {
                x++;
                continue;
            }
            int a = x;
            while (x < w && row[x])
                x++;
            if (x - a >= max_h)
                memset(row + a, 0, (size_t)(x - a));
        }
    }
    for (int x = 0; x < w; x++)
        for (int y = 0; y < h;) {
            if (!ink[(size_t)y * w + x]) {
                y++;
                continue;
            }
            int a = y;
            while (y < h && ink[(size_t)y * w + x])
                y++;
            if (y - a >= max_v)
                for (int k = a; k < y; k++)
                    ink[(size_t)k * w + x] = 0;
        }
    feat_trow *rows = malloc(sizeof *rows * FEAT_TROW_MAX);
    uint8_t *col = malloc((size_t)w);
    int n = 0;
    if (!rows || !col)
        goto done;
    int y = 0;
    while (y < h && n < FEAT_TROW_MAX) {
        int cnt = 0;
        for (int x = 0; x < w; x++)
            cnt += ink[(size_t)y * w + x];
        if (cnt < 2) {
            y++;
            continue;
        }
        int y0 = y;
        while (y < h) {
            cnt = 0;
            for (int x = 0; x < w; x++)
                cnt += ink[(size_t)y * w + x];
            if (cnt < 2)
                break;
            y++;
        }
        int bh = y - y0;
        if (bh < 3 || bh > 32) {
            if (n > 0)
                rows[n - 1].brk = true; /* a picture or a big glyph between rows */
            continue;
        }
        memset(col, 0, (size_t)w);
        for (int yy = y0; yy < y; yy++)
            for (int x = 0; x < w; x++)
                if (ink[(size_t)yy * w + x]) {
                    col[x] = 1;
                    if (x > 0)
                        col[x - 1] = 1;
                    if (x + 1 < w)
                        col[x + 1] = 1;
                }
        feat_trow *r = &rows[n];
        memset(r, 0, sizeof *r);
        r->y0 = y0;
        r->y1 = y - 1;
        r->first = -1;
        for (int x = 0; x < w; x++)
            if (col[x]) {
                if (r->first < 0)
                    r->first = x;
                r->last = x;
            }
        for (int x = 0; x < 1024; x++)
            if (x >= w || !col[x])
                r->gap[x >> 6] |= 1ull << (x & 63);
        n++;
    }
    out->n_rows = n;
    if (n > 0) {
        int hs[FEAT_TROW_MAX], bh[FEAT_TROW_MAX], n_bh = 0;
        for (int i = 0; i < n; i++) {
            hs[i] = rows[i].y1 - rows[i].y0 + 1;
            if (hs[i] >= 0.04f * h)
                bh[n_bh++] = hs[i];
        }
        out->n_big_rows = n_bh;
        if (n_bh) {
            for (int i = 1; i < n_bh; i++)
                for (int j = i; j > 0 && bh[j] < bh[j - 1]; j--) {
                    int t = bh[j];
                    bh[j] = bh[j - 1];
                    bh[j - 1] = t;
                }
            out->big_row_h = (float)bh[n_bh / 2] / h;
        }
        for (int i = 1; i < n; i++) /* insertion sort: n is small */
            for (int j = i; j > 0 && hs[j] < hs[j - 1]; j--) {
                int t = hs[j];
                hs[j] = hs[j - 1];
                hs[j - 1] = t;
            }
        out->row_h = (float)hs[n / 2] / h;
    }
    /* Greedy blocks of neighbouring rows that keep >= 2 shared gaps. */
    for (int i = 0; i < n;) {
        int j = i;
        while (j + 1 < n && !rows[j].brk) {
            int pitch = rows[j].y1 - rows[j].y0 + 1;
            if (rows[j + 1].y0 - rows[j].y1 > 3 * pitch + 6)
                break;
            if (feat_shared_gaps(rows + i, j + 2 - i, w) < 2)
                break;
            j++;
        }
        int len = j - i + 1;
        if (len >= 4) {
            int g = feat_shared_gaps(rows + i, len, w);
            out->n_table_rows += len;
            if (g + 1 > out->max_cols)
                out->max_cols = g + 1;
            i = j + 1;
        } else {
            i++;
        }
    }
done:
    free(rows);
    free(col);
}


/* Large lettering: a word set in type much larger than text (a logo, a
 * poster headline) is a row of letter-sized shapes of similar height, side
 * by side, each partly filled (strokes, not panels or bars, not outlines).
 * Returns the size of the largest such row; *glyph_h gets the median
 * height of its shapes in pixels (0 when none). */
static int feat_big_glyphs(const uint8_t *ink, int w, int h, int *glyph_h)
{
    enum { GH_MAX = 64 };
    int gh[GH_MAX];
    *glyph_h = 0;
    int n_cs = 0, best = 0;
    feat_comp *cs = feat_components(ink, w, h, &n_cs, 20000, NULL, NULL);
    int *idx = NULL;
    if (!cs)
        return 0;
    idx = malloc(sizeof *idx * (size_t)(n_cs ? n_cs : 1));
    if (!idx)
        goto done;
    int n = 0;
    for (int i = 0; i < n_cs; i++) {
        int cw = cs[i].x1 - cs[i].x0 + 1, ch = cs[i].y1 - cs[i].y0 + 1;
        float fill = (float)cs[i].n / ((float)cw * ch);
        if (ch >= 0.06f * h && ch >= 8 && ch <= 0.6f * h && cw >= 0.08f * ch && cw <= 1.6f * ch &&
            fill >= 0.12f && fill <= 0.75f)
            idx[n++] = i;
    }
    /* Each candidate starts a row: others of similar height whose centre
     * lies on its line, chained left to right with gaps under one height. */
    for (int a = 0; a < n && n <= 200; a++) { /* more: texture, not type */
        const feat_comp *A = &cs[idx[a]];
        int ah = A->y1 - A->y0 + 1, cy = (A->y0 + A->y1) / 2, right = A->x1, cnt = 1;
        int hs[GH_MAX], n_hs = 0;
        hs[n_hs++] = ah;
        bool grew = true;
        while (grew) {
            grew = false;
            int pick = -1;
            for (int b = 0; b < n; b++) {
                const feat_comp *B = &cs[idx[b]];
                int bh = B->y1 - B->y0 + 1, by = (B->y0 + B->y1) / 2;
                if (B->x1 <= right || B->x0 <= right - ah / 4 || B->x0 - right > ah)
                    continue;
                if (abs(by - cy) > ah / 3 || bh * 5 < ah * 3 || ah * 5 < bh * 3)
                    continue;
                if (pick < 0 || B->x0 < cs[idx[pick]].x0)
                    pick = b;
            }
            if (pick >= 0) {
                right = cs[idx[pick]].x1;
                if (n_hs < GH_MAX)
                    hs[n_hs++] = cs[idx[pick]].y1 - cs[idx[pick]].y0 + 1;
                cnt++;
                grew = true;
            }
        }
        if (cnt > best) {
            best = cnt;
            memcpy(gh, hs, sizeof *hs * (size_t)n_hs);
            for (int i = 1; i < n_hs; i++) /* insertion sort: n_hs is small */
                for (int j = i; j > 0 && gh[j] < gh[j - 1]; j--) {
                    int t = gh[j];
                    gh[j] = gh[j - 1];
                    gh[j - 1] = t;
                }
            *glyph_h = gh[n_hs / 2];
        }
    }
done:
    free(idx);
    free(cs);
    return best;
}

/* Longest run of flags in v[0..n-1] (stride st) bridging gaps of up to 2. */
static void feat_longest_run(const uint8_t *v, int n, size_t st, int *a_out, int *b_out)
{
    int ra = -1, last = -1, gap = 0;
    *a_out = 0;
    *b_out = -1;
    for (int i = 0; i <= n; i++) {
        if (i < n && v[st * i]) {
            if (ra < 0)
                ra = i;
            last = i;
            gap = 0;
        } else if (ra >= 0 && (++gap > 2 || i == n)) {
            if (last - ra > *b_out - *a_out) {
                *a_out = ra;
                *b_out = last;
            }
            ra = -1;
        }
    }
}

/* Groups of marks along one strip: runs of non-empty profile bins, bins
 * closer than `join` merged. */
static int feat_groups(const int *prof, int n, int join)
{
    int groups = 0, gap = join + 1;
    for (int i = 0; i < n; i++) {
        if (prof[i] > 0) {
            if (gap > join)
                groups++;
            gap = 0;
        } else {
            gap++;
        }
    }
    return groups;
}

/* Plot area of a chart. Charts drawn by plotting libraries set the data
 * off in a rectangle, either framed by spines or filled with a tint, and
 * put tick values outside it: to the left (a column of short labels spread
 * along its height) and below (a row of labels spread along its width).
 * "Off the page" is measured against the colour of the image's border, so
 * a grey panel on white and black spines on white both stand out. */
static void feat_plot_box(const uint8_t *px, int w, int h, cap_layout *out)
{
    if (w < 64 || h < 64)
        return;
    size_t n = (size_t)w * h;
    uint8_t *nb = malloc(n);
    int *prof = NULL;
    if (!nb)
        return;
    /* Page colour: the most common colour of the outer ring. */
    uint32_t hist[512] = {0};
    for (int x = 0; x < w; x++)
        for (int k = 0; k < 2; k++) {
            const uint8_t *p = px + ((size_t)(k ? h - 1 : 0) * w + x) * 3;
            hist[(p[0] >> 5) << 6 | (p[1] >> 5) << 3 | p[2] >> 5]++;
        }
    for (int y = 0; y < h; y++)
        for (int k = 0; k < 2; k++) {
            const uint8_t *p = px + ((size_t)y * w + (k ? w - 1 : 0)) * 3;
            hist[(p[0] >> 5) << 6 | (p[1] >> 5) << 3 | p[2] >> 5]++;
        }
    int mode = 0;
    for (int q = 1; q < 512; q++)
        if (hist[q] > hist[mode])
            mode = q;
    {
        int side_n[4] = {0};
        for (int x = 0; x < w; x++)
            for (int y = 0; y < 2; y++) {
                const uint8_t *p = px + ((size_t)y * w + x) * 3;
                const uint8_t *q = px + ((size_t)(h - 1 - y) * w + x) * 3;
                side_n[0] += ((p[0] >> 5) << 6 | (p[1] >> 5) << 3 | p[2] >> 5) == mode;
                side_n[1] += ((q[0] >> 5) << 6 | (q[1] >> 5) << 3 | q[2] >> 5) == mode;
            }
        for (int y = 0; y < h; y++)
            for (int x = 0; x < 2; x++) {
                const uint8_t *p = px + ((size_t)y * w + x) * 3;
                const uint8_t *q = px + ((size_t)y * w + w - 1 - x) * 3;
                side_n[2] += ((p[0] >> 5) << 6 | (p[1] >> 5) << 3 | p[2] >> 5) == mode;
                side_n[3] += ((q[0] >> 5) << 6 | (q[1] >> 5) << 3 | q[2] >> 5) == mode;
            }
        float m0 = (float)side_n[0] / (2 * w), m1 = (float)side_n[1] / (2 * w);
        float m2 = (float)side_n[2] / (2 * h), m3 = (float)side_n[3] / (2 * h);
        float mn = m0 < m1 ? m0 : m1;
        mn = mn < m2 ? mn : m2;
        out->margin_even = mn < m3 ? mn : m3;
    }
    if (hist[mode] < (uint32_t)(w + h)) /* no page colour: a picture */
        goto done;
    uint8_t page[3] = {(uint8_t)((mode >> 6) * 32 + 16), (uint8_t)(((mode >> 3) & 7) * 32 + 16),
                       (uint8_t)((mode & 7) * 32 + 16)};
    /* refine with the mean of the ring pixels in that bin */
    {
        long sr = 0, sg = 0, sb = 0, cnt = 0;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x += (y == 0 || y == h - 1) ? 1 : w - 1) {
                const uint8_t *p = px + ((size_t)y * w + x) * 3;
                if (((p[0] >> 5) << 6 | (p[1] >> 5) << 3 | p[2] >> 5) == mode) {
                    sr += p[0];
                    sg += p[1];
                    sb += p[2];
                    cnt++;
                }
            }
        if (cnt) {
            page[0] = (uint8_t)(sr / cnt);
            page[1] = (uint8_t)(sg / cnt);
            page[2] = (uint8_t)(sb / cnt);
        }
    }
    /* 16: ggplot2's default panel (grey92, 235 on a white page) is only
     * 20 levels off the page; anti-aliasing and JPEG noise stay below. */
    for (size_t i = 0; i < n; i++)
        nb[i] = feat_cdist(px + 3 * i, page) >= 16;
    /* Bottom edge: the lowest long run; top edge: the highest run with the
     * same extent. Both sides must then be long vertical runs too. */
    int tol = 3 + w / 100;
    int bot = -1, ba = 0, bb = 0;
    for (int y = h - 1; y >= 0 && bot < 0; y--) {
        int a, b;
        feat_longest_run(nb + (size_t)y * w, w, 1, &a, &b);
        if (b - a + 1 >= 0.4f * w)
            bot = y, ba = a, bb = b;
    }
    if (bot < 0 || ba < 0.03f * w || bot > h - 1 - 0.04f * h)
        goto done;
    int top = -1;
    for (int y = 0; y < bot - 0.3f * h; y++) {
        int a, b;
        feat_longest_run(nb + (size_t)y * w, w, 1, &a, &b);
        if (abs(a - ba) <= tol && abs(b - bb) <= tol) {
            top = y;
            break;
        }
    }
    if (top < 0)
        goto done;
    int sides = 0;
    for (int side = 0; side < 2; side++) {
        /* tick marks stick out of the spines, so an edge's run may start
         * or end a few pixels beyond the spine */
        int x0 = side ? bb : ba;
        for (int x = x0 - tol; x <= x0 + tol; x++) {
            if (x < 0 || x >= w)
                continue;
            int a, b;
            feat_longest_run(nb + (size_t)top * w + x, bot - top + 1, (size_t)w, &a, &b);
            if (b - a + 1 >= 0.9f * (bot - top + 1)) {
                sides++;
                break;
            }
        }
    }
    if (sides < 2)
        goto done;
    out->box_area = (float)(bb - ba + 1) * (bot - top + 1) / (float)n;
    out->box_x0 = ba;
    out->box_y0 = top;
    out->box_x1 = bb;
    out->box_y1 = bot;
    /* Inside: marks that differ from the inside's own fill. */
    {
        uint32_t ih[512] = {0};
        int x0 = ba + 3, x1 = bb - 3, y0 = top + 3, y1 = bot - 3;
        if (x1 > x0 && y1 > y0) {
            for (int y = y0; y <= y1; y++)
                for (int x = x0; x <= x1; x++) {
                    const uint8_t *p = px + ((size_t)y * w + x) * 3;
                    ih[(p[0] >> 5) << 6 | (p[1] >> 5) << 3 | p[2] >> 5]++;
                }
            int im = 0;
            for (int q = 1; q < 512; q++)
                if (ih[q] > ih[im])
                    im = q;
            out->box_ink = 1.0f - (float)ih[im] / (float)((x1 - x0 + 1) * (y1 - y0 + 1));
        }
    }
    /* Labels left of the box (rows of ink spread along its height) and
     * below it (columns of ink spread along its width). */
    prof = calloc((size_t)(w > h ? w : h), sizeof *prof);
    if (!prof)
        goto done;
    int lw = ba - 2;
    for (int y = top; y <= bot; y++)
        for (int x = 0; x < lw; x++)
            prof[y - top] += nb[(size_t)y * w + x];
    out->n_left_labels = feat_groups(prof, bot - top + 1, 2);
    memset(prof, 0, sizeof *prof * (size_t)(w > h ? w : h));
    int ylo = bot + 2, yhi = bot + 2 + (int)(0.12f * h);
    if (yhi > h)
        yhi = h;
    for (int y = ylo; y < yhi; y++)
        for (int x = ba; x <= bb; x++)
            prof[x - ba] += nb[(size_t)y * w + x];
    out->n_bottom_labels = feat_groups(prof, bb - ba + 1, 4);
done:
    free(nb);
    free(prof);
}

void cap_layout_compute(const cap_image *thumb, cap_layout *out)
{
    memset(out, 0, sizeof *out);
    if (!thumb || !thumb->rgb || thumb->w < 8 || thumb->h < 8)
        return;
    int w = thumb->w, h = thumb->h;
    size_t n = (size_t)w * h;
    const uint8_t *px = thumb->rgb;
    uint32_t *hist = calloc(4096, sizeof *hist);
    uint8_t *ink = malloc(n);
    int *labels = calloc(n, sizeof *labels);
    int *colc = calloc((size_t)w, sizeof *colc);
    feat_comp *cs = NULL;
    if (!hist || !ink || !labels || !colc)
        goto done;
    for (size_t i = 0; i < n; i++)
        hist[(px[3 * i] >> 4) << 8 | (px[3 * i + 1] >> 4) << 4 | (px[3 * i + 2] >> 4)]++;
    int mode = 0;
    for (int q = 1; q < 4096; q++)
        if (hist[q] > hist[mode])
            mode = q;
    uint8_t bg[3] = {(uint8_t)((mode >> 8) * 16 + 8), (uint8_t)(((mode >> 4) & 15) * 16 + 8),
                     (uint8_t)((mode & 15) * 16 + 8)};
    size_t n_ink = 0, n_col = 0;
    for (size_t i = 0; i < n; i++) {
        ink[i] = feat_cdist(px + 3 * i, bg) >= 60;
        if (ink[i]) {
            n_ink++;
            const uint8_t *p = px + 3 * i;
            int mx = p[0] > p[1] ? (p[0] > p[2] ? p[0] : p[2]) : (p[1] > p[2] ? p[1] : p[2]);
            int mn = p[0] < p[1] ? (p[0] < p[2] ? p[0] : p[2]) : (p[1] < p[2] ? p[1] : p[2]);
            if (mx > 40 && mx - mn > 0.3f * mx)
                n_col++;
        }
    }
    out->color_ink = n_ink ? (float)n_col / n_ink : 0;
    {
        uint8_t *tink = malloc(n);
        if (tink) {
            memcpy(tink, ink, n);
            feat_table_rows(tink, w, h, out);
            free(tink);
        }
    }
    {
        int gh = 0;
        out->n_big_glyphs = feat_big_glyphs(ink, w, h, &gh);
        out->big_glyph_h = (float)gh / h;
    }
    feat_plot_box(px, w, h, out);

    /* Gutters: inside the rows that hold most of the ink, columns free of
     * ink between inked columns; a table's columns leave several. */
    {
        int *rowc = calloc((size_t)h, sizeof *rowc);
        if (rowc) {
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    rowc[y] += ink[(size_t)y * w + x];
            size_t acc = 0;
            int ylo = 0, yhi = h - 1;
            for (int y = 0; y < h; y++) {
                acc += rowc[y];
                if (acc <= n_ink / 10)
                    ylo = y;
                if (acc < n_ink * 9 / 10)
                    yhi = y + 1;
            }
            free(rowc);
            if (yhi > ylo + 10) {
                for (int y = ylo; y <= yhi && y < h; y++)
                    for (int x = 0; x < w; x++)
                        colc[x] += ink[(size_t)y * w + x];
                int x0 = 0, x1 = w - 1, span = yhi - ylo + 1;
                while (x0 < w && colc[x0] == 0)
                    x0++;
                while (x1 > x0 && colc[x1] == 0)
                    x1--;
                int run = 0, min_run = w / 60 > 2 ? w / 60 : 2;
                for (int x = x0; x <= x1; x++) {
                    if (colc[x] <= span / 100)
                        run++;
                    else {
                        if (run >= min_run)
                            out->n_gutters++;
                        run = 0;
                    }
                }
            }
        }
    }

    /* Chart marks are coloured in most plots while axes and text are black:
     * shapes are read from the saturated ink unless a plot has none. */
    if (n_col >= n_ink / 20 && n_col > 50) {
        for (size_t i = 0; i < n; i++) {
            const uint8_t *p = px + 3 * i;
            int mx = p[0] > p[1] ? (p[0] > p[2] ? p[0] : p[2]) : (p[1] > p[2] ? p[1] : p[2]);
            int mn = p[0] < p[1] ? (p[0] < p[2] ? p[0] : p[2]) : (p[1] < p[2] ? p[1] : p[2]);
            ink[i] = ink[i] && mx > 40 && mx - mn > 0.3f * mx;
        }
    }
    int n_cs = 0;
    cs = feat_components(ink, w, h, &n_cs, 20000, labels, px);
    if (!cs)
        goto done;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int l = labels[(size_t)y * w + x];
            if (!l)
                continue;
            feat_comp *k = &cs[l - 1];
            if (x <= k->x0 + 2 || x >= k->x1 - 2 || y <= k->y0 + 2 || y >= k->y1 - 2)
                k->n_border++;
        }
    int lng = w > h ? w : h;
    for (int i = 0; i < n_cs; i++) {
        const feat_comp *k = &cs[i];
        int cw = k->x1 - k->x0 + 1, ch = k->y1 - k->y0 + 1;
        float fill = (float)k->n / ((float)cw * ch);
        float border = (float)k->n_border / k->n;
        if (cw >= 0.3f * w && ch >= 0.3f * h && border > 0.75f) {
            out->n_frames++;
            continue;
        }
        /* With a plot area found, marks are what lies inside it: tick
         * labels, titles and legends outside are text, not data. */
        if (out->box_area > 0) {
            int mx = (k->x0 + k->x1) / 2, my = (k->y0 + k->y1) / 2;
            if (mx <= out->box_x0 || mx >= out->box_x1 || my <= out->box_y0 || my >= out->box_y1)
                continue;
        }
        if (fill >= 0.85f && cw >= 3 && ch >= 3 && k->n >= 0.0015f * n && k->n < 0.5f * n) {
            out->n_solid++;
            out->solid_share += (float)k->n / n;
            continue;
        }
        if ((cw > ch ? cw : ch) >= 0.25f * lng && fill < 0.25f && border < 0.75f) {
            out->n_curves++;
            continue;
        }
        if (cw >= 2 && ch >= 2 && cw <= 14 && ch <= 14 && cw <= 2 * ch && ch <= 2 * cw &&
            fill >= 0.45f) {
            int r = (int)(k->r / k->n), g = (int)(k->g / k->n), b = (int)(k->b / k->n);
            int mx = r > g ? (r > b ? r : b) : (g > b ? g : b);
            int mn = r < g ? (r < b ? r : b) : (g < b ? g : b);
            if (mx > 40 && mx - mn > 0.3f * mx)
                out->n_blobs++;
            else if (out->color_ink < 0.05f)
                out->n_blobs++; /* a black-marker plot */
        }
    }
done:
    free(hist);
    free(ink);
    free(labels);
    free(colc);
    free(cs);
}

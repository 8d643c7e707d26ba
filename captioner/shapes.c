/* shapes.c - reads the drawn shapes of a diagram from its thumbnail (boxes,
 * strokes, arrowheads, circles, curves, dashes, triangles) and its short OCR
 * labels, after OCR and before compose, into the sh_* fields of cap_features. */
#include "captioner_int.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SH_COLOR_TOL 20  /* max channel step inside one flat region */
#define SH_INK_DIFF 70   /* grey distance from the background that counts as ink */
#define SH_MAX_SIDE 1024 /* thumbnails are ~512; larger input is not expected */

typedef struct sh_comp {
    int n, x0, y0, x1, y1;
    bool border;
    double sx, sy, sxx, syy, sxy;
    int n_core;  /* pixels whose 3x3 block is all ink (thick parts) */
    int n_hv;    /* pixels on horizontal/vertical ink runs >= 8 */
} sh_comp;

typedef struct sh_labels {
    int *lab;
    sh_comp *c;
    int n;
} sh_labels;

static void sh_labels_free(sh_labels *l)
{
    free(l->lab);
    free(l->c);
    l->lab = NULL;
    l->c = NULL;
}

/* Connected components of pixels where same(a, b) holds between neighbours
 * (8-connected when diag). Labels are -1 where mask is false. */
static bool sh_label(int w, int h, const uint8_t *mask, const uint8_t *rgb, bool diag,
                     sh_labels *out)
{
    size_t np = (size_t)w * h;
    out->lab = malloc(np * sizeof *out->lab);
    int *stack = malloc(np * sizeof *stack);
    int cap = 256;
    out->c = malloc(cap * sizeof *out->c);
    out->n = 0;
    if (!out->lab || !stack || !out->c) {
        free(stack);
        sh_labels_free(out);
        return false;
    }
    for (size_t i = 0; i < np; i++)
        out->lab[i] = -1;
    static const int DX[8] = {1, -1, 0, 0, 1, 1, -1, -1}, DY[8] = {0, 0, 1, -1, 1, -1, 1, -1};
    int nd = diag ? 8 : 4;
    for (size_t s = 0; s < np; s++) {
        if (out->lab[s] >= 0 || (mask && !mask[s]))
            continue;
        if (out->n == cap) {
            sh_comp *nc = realloc(out->c, 2 * cap * sizeof *nc);
            if (!nc) {
                free(stack);
                sh_labels_free(out);
                return false;
            }
            out->c = nc;
            cap *= 2;
        }
        int id = out->n++;
        sh_comp *c = &out->c[id];
        memset(c, 0, sizeof *c);
        c->x0 = w;
        c->y0 = h;
        c->x1 = c->y1 = -1;
        int sp = 0;
        stack[sp++] = (int)s;
        out->lab[s] = id;
        while (sp > 0) {
            int p = stack[--sp], x = p % w, y = p / w;
            c->n++;
            c->sx += x;
            c->sy += y;
            c->sxx += (double)x * x;
            c->syy += (double)y * y;
            c->sxy += (double)x * y;
            if (x < c->x0) c->x0 = x;
            if (x > c->x1) c->x1 = x;
            if (y < c->y0) c->y0 = y;
            if (y > c->y1) c->y1 = y;
            if (x == 0 || y == 0 || x == w - 1 || y == h - 1)
                c->border = true;
            for (int k = 0; k < nd; k++) {
                int nx = x + DX[k], ny = y + DY[k];
                if (nx < 0 || ny < 0 || nx >= w || ny >= h)
                    continue;
                int q = ny * w + nx;
                if (out->lab[q] >= 0 || (mask && !mask[q]))
                    continue;
                if (rgb) {
                    const uint8_t *a = rgb + 3 * (size_t)p, *b = rgb + 3 * (size_t)q;
                    if (abs(a[0] - b[0]) > SH_COLOR_TOL || abs(a[1] - b[1]) > SH_COLOR_TOL ||
                        abs(a[2] - b[2]) > SH_COLOR_TOL)
                        continue;
                }
                out->lab[q] = id;
                stack[sp++] = q;
            }
        }
    }
    free(stack);
    return true;
}

/* Share of the pixels of row y (or column x) inside [a, b] that carry id. */
static float sh_row_cover(const int *lab, int w, int y, int a, int b, int id)
{
    int n = 0;
    for (int x = a; x <= b; x++)
        n += lab[y * w + x] == id;
    return b >= a ? (float)n / (float)(b - a + 1) : 0.0f;
}

static float sh_col_cover(const int *lab, int w, int x, int a, int b, int id)
{
    int n = 0;
    for (int y = a; y <= b; y++)
        n += lab[y * w + x] == id;
    return b >= a ? (float)n / (float)(b - a + 1) : 0.0f;
}

/* Principal axes of a component: length of the long axis (as a uniform bar)
 * and the spread across it, in pixels. */
static void sh_axes(const sh_comp *c, double *len, double *across)
{
    double n = c->n, mx = c->sx / n, my = c->sy / n;
    double vxx = c->sxx / n - mx * mx, vyy = c->syy / n - my * my, vxy = c->sxy / n - mx * my;
    double tr = vxx + vyy, det = vxx * vyy - vxy * vxy;
    double disc = sqrt(fmax(0.0, tr * tr / 4 - det));
    double l1 = tr / 2 + disc, l2 = fmax(0.0, tr / 2 - disc);
    *len = sqrt(12.0 * l1);
    *across = sqrt(l2);
}

/* Closed regions of one flat colour, away from the image edge: boxes are
 * rectangular (all four sides of the bounding box covered just inside),
 * circles and ellipses fill ~pi/4 of it with only the middles of the sides
 * touched, triangles fill ~1/2 with one side covered and the opposite one a
 * point. Text inside a box leaves its sides free, so sides decide, not fill. */
static void sh_regions(const cap_image *im, cap_features *f, sh_labels *reg, int *box_ids,
                       int *n_box_ids, int max_box_ids)
{
    int w = im->w, h = im->h;
    int min_side = (w > h ? w : h) / 40;
    if (min_side < 8)
        min_side = 8;
    for (int i = 0; i < reg->n; i++) {
        const sh_comp *c = &reg->c[i];
        if (c->border)
            continue;
        int bw = c->x1 - c->x0 + 1, bh = c->y1 - c->y0 + 1;
        if (bw < min_side || bh < min_side || (double)bw * bh > 0.5 * w * h)
            continue;
        if (bw > 12 * bh || bh > 12 * bw)
            continue;
        float fill = (float)c->n / ((float)bw * bh);
        int in = bw >= 16 && bh >= 16 ? 2 : 1;
        float top = sh_row_cover(reg->lab, w, c->y0 + in, c->x0 + in, c->x1 - in, i);
        float bot = sh_row_cover(reg->lab, w, c->y1 - in, c->x0 + in, c->x1 - in, i);
        float lef = sh_col_cover(reg->lab, w, c->x0 + in, c->y0 + in, c->y1 - in, i);
        float rig = sh_col_cover(reg->lab, w, c->x1 - in, c->y0 + in, c->y1 - in, i);
        float mrow = sh_row_cover(reg->lab, w, (c->y0 + c->y1) / 2, c->x0, c->x1, i);
        float mcol = sh_col_cover(reg->lab, w, (c->x0 + c->x1) / 2, c->y0, c->y1, i);
        float smin = fminf(fminf(top, bot), fminf(lef, rig));
        float smax = fmaxf(fmaxf(top, bot), fmaxf(lef, rig));
        /* a node holds its label: an empty or solid square is an icon part */
        if (smin >= 0.85f && fill >= 0.55f && fill <= 0.99f) {
            f->sh_boxes++;
            if (*n_box_ids < max_box_ids)
                box_ids[(*n_box_ids)++] = i;
        } else if (fill >= 0.70f && fill <= 0.85f && smax <= 0.65f && mrow >= 0.9f &&
                   mcol >= 0.9f && bw <= 3 * bh && bh <= 3 * bw) {
            f->sh_circles++;
        } else if (fill >= 0.40f && fill <= 0.60f && smax >= 0.85f) {
            /* the side opposite the covered one must shrink to a point */
            float opp = smax == top ? bot : smax == bot ? top : smax == lef ? rig : lef;
            if (opp <= 0.25f)
                f->sh_polygons++;
        }
    }
}

/* One- or two-character labels read by OCR (A, B, x, z0): geometry figures
 * name their points this way. Collects up to six, distinct. */
static void sh_letter_labels(cap_desc *d)
{
    cap_features *f = &d->feat;
    size_t len = 0;
    for (int i = 0; i < d->n_lines && d->lines; i++) {
        const char *t = d->lines[i].text;
        if (!t || d->lines[i].conf < 50)
            continue;
        while (*t == ' ')
            t++;
        size_t n = strlen(t);
        while (n > 0 && (t[n - 1] == ' ' || t[n - 1] == '\n'))
            n--;
        if (n < 1 || n > 2 || !isalpha((unsigned char)t[0]))
            continue;
        /* two letters are mostly misread words or glyphs; a letter with an
         * index digit (z0, c1) is how points are named */
        if (n == 2 && !isdigit((unsigned char)t[1]))
            continue;
        f->sh_points++;
        char lab[3] = {t[0], n == 2 ? t[1] : 0, 0};
        bool seen = false;
        for (const char *p = f->sh_labels; (p = strstr(p, lab)) != NULL; p++)
            if ((p == f->sh_labels || p[-1] == ' ') && (p[n] == 0 || p[n] == ','))
                seen = true;
        if (seen || len + n + 3 > sizeof f->sh_labels)
            continue;
        if (len) {
            memcpy(f->sh_labels + len, ", ", 2);
            len += 2;
        }
        memcpy(f->sh_labels + len, lab, n);
        len += n;
        f->sh_labels[len] = 0;
    }
}

void cap_shapes_compute(const cap_image *thumb, cap_desc *d)
{
    cap_features *f = &d->feat;
    f->sh_boxes = f->sh_lines = f->sh_arrows = f->sh_circles = 0;
    f->sh_curves = f->sh_dashed = f->sh_polygons = f->sh_points = 0;
    f->sh_connected = false;
    f->sh_geometry = 0;
    f->sh_labels[0] = 0;
    sh_letter_labels(d);
    if (!thumb || !thumb->rgb || thumb->w < 16 || thumb->h < 16 || thumb->w > SH_MAX_SIDE ||
        thumb->h > SH_MAX_SIDE)
        goto geometry;

    int w = thumb->w, h = thumb->h;
    size_t np = (size_t)w * h;
    uint8_t *grey = malloc(np), *ink = malloc(np), *core = malloc(np);
    uint16_t *hrun = malloc(np * sizeof *hrun);
    sh_labels reg = {0}, ik = {0}, ck = {0};
    if (!grey || !ink || !core || !hrun)
        goto done;
    int hist[256] = {0};
    for (size_t i = 0; i < np; i++) {
        const uint8_t *p = thumb->rgb + 3 * i;
        grey[i] = (uint8_t)((p[0] * 77 + p[1] * 150 + p[2] * 29) >> 8);
        hist[grey[i]]++;
    }
    /* background = the most common grey level (in 8-level bins) */
    int best = 0, bg = 255;
    for (int b = 0; b < 256; b += 8) {
        int s = 0;
        for (int k = b; k < b + 8; k++)
            s += hist[k];
        if (s > best) {
            best = s;
            bg = b + 4;
        }
    }
    for (size_t i = 0; i < np; i++)
        ink[i] = abs((int)grey[i] - bg) >= SH_INK_DIFF;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            bool all = x > 0 && y > 0 && x < w - 1 && y < h - 1;
            for (int dy = -1; all && dy <= 1; dy++)
                for (int dx = -1; all && dx <= 1; dx++)
                    all = ink[(size_t)(y + dy) * w + x + dx];
            core[(size_t)y * w + x] = all;
        }
    /* pixels on long horizontal or vertical ink runs (box sides, orthogonal
     * connectors): hrun holds 1 where the pixel is on such a run */
    memset(hrun, 0, np * sizeof *hrun);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w;) {
            int e = x;
            while (e < w && ink[(size_t)y * w + e])
                e++;
            if (e - x >= 8)
                for (int k = x; k < e; k++)
                    hrun[(size_t)y * w + k] = 1;
            x = e > x ? e : x + 1;
        }
    for (int x = 0; x < w; x++)
        for (int y = 0; y < h;) {
            int e = y;
            while (e < h && ink[(size_t)e * w + x])
                e++;
            if (e - y >= 8)
                for (int k = y; k < e; k++)
                    hrun[(size_t)k * w + x] = 1;
            y = e > y ? e : y + 1;
        }

    if (!sh_label(w, h, NULL, thumb->rgb, false, &reg) ||
        !sh_label(w, h, ink, NULL, true, &ik) || !sh_label(w, h, core, NULL, true, &ck))
        goto done;
    for (size_t i = 0; i < np; i++) {
        int id = ik.lab[i];
        if (id < 0)
            continue;
        ik.c[id].n_core += core[i];
        ik.c[id].n_hv += hrun[i];
    }

    int box_ids[64], n_box = 0;
    sh_regions(thumb, f, &reg, box_ids, &n_box, 64);

    /* boxes joined by one stroke network: the ink just outside the left and
     * right sides of two boxes belongs to the same component */
    if (n_box >= 2) {
        int owner[64];
        for (int b = 0; b < n_box; b++) {
            const sh_comp *c = &reg.c[box_ids[b]];
            owner[b] = -1;
            int my = (c->y0 + c->y1) / 2;
            for (int dx = 1; dx <= 4 && owner[b] < 0; dx++) {
                if (c->x0 - dx >= 0 && ik.lab[(size_t)my * w + c->x0 - dx] >= 0)
                    owner[b] = ik.lab[(size_t)my * w + c->x0 - dx];
                else if (c->x1 + dx < w && ik.lab[(size_t)my * w + c->x1 + dx] >= 0)
                    owner[b] = ik.lab[(size_t)my * w + c->x1 + dx];
            }
        }
        for (int a = 0; a < n_box && !f->sh_connected; a++)
            for (int b = a + 1; b < n_box; b++)
                if (owner[a] >= 0 && owner[a] == owner[b]) {
                    f->sh_connected = true;
                    break;
                }
    }

    int side = w > h ? w : h;
    /* dash candidates: short thin straight strokes */
    int dash_n = 0, dash_cap = 512;
    float (*dash)[4] = malloc(dash_cap * sizeof *dash); /* cx, cy, angle, len */
    for (int i = 0; i < ik.n; i++) {
        const sh_comp *c = &ik.c[i];
        if (c->n < 3)
            continue;
        int bw = c->x1 - c->x0 + 1, bh = c->y1 - c->y0 + 1;
        int big = bw > bh ? bw : bh;
        double len, across;
        sh_axes(c, &len, &across);
        bool thin = c->n_core <= c->n / 5;
        if (big >= side / 12 && big >= 20 && across <= 1.3 && thin && !c->border) {
            f->sh_lines++;
        } else if (big >= side / 10 && big >= 24 && thin && across > 2.5 &&
                   10 * c->n_hv < 7 * c->n && c->n <= 3 * (bw + bh)) {
            /* orthogonal connectors and box sides lie on long h/v runs;
             * a 2-px smooth stroke still has ~half its pixels on such runs */
            /* a closed outline around a circle region is a circle, not a curve */
            bool ring = false;
            for (int r = 0; r < reg.n && !ring; r++) {
                const sh_comp *g = &reg.c[r];
                /* the region of the stroke itself shares its box; an
                 * interior sits strictly inside and fills it like a disc */
                if (g->border || g->n < 50 ||
                    g->n < 0.6 * (g->x1 - g->x0 + 1) * (g->y1 - g->y0 + 1) ||
                    g->x0 <= c->x0 || g->y0 <= c->y0 || g->x1 >= c->x1 || g->y1 >= c->y1)
                    continue;
                ring = abs(g->x0 - c->x0) <= 4 && abs(g->x1 - c->x1) <= 4 &&
                       abs(g->y0 - c->y0) <= 4 && abs(g->y1 - c->y1) <= 4;
            }
            if (!ring)
                f->sh_curves++;
        } else if (big >= 3 && big <= 16 && len >= 2.5 * (across * 2 + 1) && c->n_core == 0 &&
                   dash && dash_n < dash_cap) {
            double n = c->n, mx = c->sx / n, my = c->sy / n;
            double vxx = c->sxx / n - mx * mx, vyy = c->syy / n - my * my,
                   vxy = c->sxy / n - mx * my;
            dash[dash_n][0] = (float)mx;
            dash[dash_n][1] = (float)my;
            dash[dash_n][2] = (float)(0.5 * atan2(2 * vxy, vxx - vyy));
            dash[dash_n][3] = (float)len;
            dash_n++;
        }
    }
    /* a dash counts when other dashes of its direction lie on its axis on
     * both sides of it, each within three of its lengths: inside a run of
     * at least three. Text marks (quotes, hyphens) seldom line up so. */
    for (int a = 0; a < dash_n; a++) {
        bool fwd = false, back = false;
        for (int b = 0; b < dash_n && !(fwd && back); b++) {
            if (a == b)
                continue;
            float dx = dash[b][0] - dash[a][0], dy = dash[b][1] - dash[a][1];
            float dist = sqrtf(dx * dx + dy * dy);
            float da = fabsf(dash[a][2] - dash[b][2]);
            if (da > 3.14159265f / 2)
                da = 3.14159265f - da;
            if (dist < 1.2f * dash[a][3] || dist > 3.0f * dash[a][3] + 4 || da > 0.25f)
                continue;
            float along = dx * cosf(dash[a][2]) + dy * sinf(dash[a][2]);
            if (fabsf(along) >= 0.9f * dist) {
                if (along > 0)
                    fwd = true;
                else
                    back = true;
            }
        }
        if (fwd && back)
            f->sh_dashed++;
    }
    if (f->sh_dashed < 6)
        f->sh_dashed = 0;
    free(dash);

    /* arrowheads: small thick blobs sitting on a much longer thin stroke */
    for (int i = 0; i < ck.n; i++) {
        const sh_comp *c = &ck.c[i];
        int bw = c->x1 - c->x0 + 1, bh = c->y1 - c->y0 + 1;
        int big = bw > bh ? bw : bh;
        if (c->n < 3 || big > side / 25 + 2)
            continue;
        int p = ((c->y0 + c->y1) / 2) * w + (c->x0 + c->x1) / 2;
        int owner = ik.lab[p];
        if (owner < 0)
            continue;
        const sh_comp *o = &ik.c[owner];
        int ow = o->x1 - o->x0 + 1, oh = o->y1 - o->y0 + 1;
        if ((ow > oh ? ow : oh) >= 4 * big + 12 && o->n_core <= o->n / 4)
            f->sh_arrows++;
    }

done:
    free(grey);
    free(ink);
    free(core);
    free(hrun);
    sh_labels_free(&reg);
    sh_labels_free(&ik);
    sh_labels_free(&ck);
geometry:
    /* a geometry figure names its points with single letters and draws
     * strokes, triangles or circles between them, without boxes */
    if (f->sh_points >= 3 && f->sh_boxes < 2 &&
        f->sh_polygons + f->sh_circles + f->sh_lines + f->sh_curves > 0)
        f->sh_geometry = fminf(1.0f, 0.4f + 0.1f * (float)f->sh_points +
                                         0.2f * (float)(f->sh_polygons > 0) +
                                         0.1f * (float)(f->sh_circles > 0));
}

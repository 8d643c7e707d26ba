/* layout.c - reading order of a page's text lines across columns.
 *
 * PP-OCR gives boxes, not blocks: joined row by row, a two-column page
 * reads "left line 1  right line 1 / left line 2  right line 2", which
 * no reader (and no phrase search, and no LLM given the context block)
 * can follow. This is a recursive XY-cut over the boxes: a region is cut
 * at a vertical channel of white space that no box crosses when both
 * sides look like columns of running text, else at its widest horizontal
 * gap; what is left is one row, read left to right. The lines stay as
 * they are (structure.c builds tables from their rows); only the text is
 * reassembled (cap_layout_text). */
#include "captioner_int.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* A channel between columns is at least this many median line heights
 * wide (a word space is ~0.3, the gutter of a two-column page 1.5-3). */
#define COL_GAP_H 1.0
/* Each side has at least this many lines, spans this share of the
 * region's width and COL_MIN_W line heights (a column of running text
 * holds a dozen characters or more; a form's labels, a table's numbers do
 * not), and its lines fill (median width over the side's width) at least
 * COL_FILL of it: prose fills its column, ragged cells do not. */
#define COL_MIN_LINES 3
#define COL_MIN_SHARE 0.2
#define COL_MIN_W 8.0
#define COL_FILL 0.6
/* Regions deeper than this are read row by row (bounds the recursion). */
#define MAX_DEPTH 24

typedef struct {
    const cap_text_line *l;
    int *out;  /* reading order: indexes into l */
    int n_out;
    int *brk;  /* per output position: 1 = a new block starts here */
    double h;  /* median line height */
} lay;

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

typedef struct {
    long k1, k2;
    int i;
} keyed;

static int cmp_keyed(const void *a, const void *b)
{
    const keyed *p = a, *q = b;
    if (p->k1 != q->k1)
        return p->k1 < q->k1 ? -1 : 1;
    if (p->k2 != q->k2)
        return p->k2 < q->k2 ? -1 : 1;
    return (p->i > q->i) - (p->i < q->i);
}

/* Sorts idx by x (which 0), by top y (1), or by centre y then x (2);
 * stable (ties keep idx's order). Unsorted when out of memory. */
static void sort_by(const cap_text_line *l, int *idx, int n, int which)
{
    if (n <= 1)
        return;
    keyed *k = malloc(sizeof *k * (size_t)n);
    if (!k)
        return;
    for (int i = 0; i < n; i++) {
        const cap_text_line *a = &l[idx[i]];
        k[i].k1 = which == 0 ? a->x : which == 1 ? a->y : 2L * a->y + a->h;
        k[i].k2 = which == 2 ? a->x : 0;
        k[i].i = i;
    }
    qsort(k, (size_t)n, sizeof *k, cmp_keyed);
    int *tmp = malloc(sizeof *tmp * (size_t)n);
    if (tmp) {
        for (int i = 0; i < n; i++)
            tmp[i] = idx[k[i].i];
        memcpy(idx, tmp, sizeof *idx * (size_t)n);
    }
    free(tmp);
    free(k);
}

static double median_fill(const lay *L, const int *idx, int n, int x0, int x1)
{
    if (n <= 0)
        return 0;
    int *w = malloc(sizeof *w * (size_t)n);
    if (!w)
        return 0;
    for (int i = 0; i < n; i++)
        w[i] = L->l[idx[i]].w;
    qsort(w, (size_t)n, sizeof *w, cmp_int);
    double m = w[n / 2];
    free(w);
    return x1 > x0 ? m / (x1 - x0) : 0;
}

/* The widest vertical channel of idx whose two sides both look like
 * columns. A channel is an x range that at most one box and COL_CROSS of
 * the region's boxes cross (the detector sometimes joins a line to its
 * neighbour across a narrow gutter); a crossing box goes with the side
 * where it starts. Reorders idx into left side then right side and
 * returns the size of the left side, or 0 (idx unchanged in content). */
#define COL_CROSS 0.05
static int column_cut(const lay *L, int *idx, int n)
{
    if (n < 2 * COL_MIN_LINES)
        return 0;
    int x0 = L->l[idx[0]].x, x1 = 0;
    for (int i = 0; i < n; i++) {
        const cap_text_line *b = &L->l[idx[i]];
        x0 = b->x < x0 ? b->x : x0;
        x1 = b->x + b->w > x1 ? b->x + b->w : x1;
    }
    int W = x1 - x0;
    if (W <= 0 || W > (1 << 20))
        return 0;
    int *cov = calloc((size_t)W + 1, sizeof *cov);
    if (!cov)
        return 0;
    for (int i = 0; i < n; i++) {
        const cap_text_line *b = &L->l[idx[i]];
        cov[b->x - x0]++;
        cov[b->x + b->w - x0]--;
    }
    int tol = 1 + (int)(COL_CROSS * n), best = 0;
    double best_gap = 0;
    int run0 = -1, c = 0;
    int *side = malloc(sizeof *side * (size_t)n);
    for (int x = 0; side && x <= W; x++) {
        c += cov[x];
        bool open = c <= tol && x < W;
        if (open && run0 < 0)
            run0 = x;
        if (open || run0 < 0)
            continue;
        /* the run [run0, x) of few boxes */
        int g0 = run0, g1 = x;
        run0 = -1;
        if (g0 == 0 || g1 - g0 < COL_GAP_H * L->h || g1 - g0 <= best_gap)
            continue;
        int split = x0 + (g0 + g1) / 2, nl = 0;
        /* extents of each side's boxes that do not cross */
        int lx0 = x1, lx1 = x0, rx0 = x1, rx1 = x0, top = 0, bot = INT_MAX;
        int ly0 = INT_MAX, ly1 = INT_MIN, ry0 = INT_MAX, ry1 = INT_MIN;
        for (int i = 0; i < n; i++) {
            const cap_text_line *b = &L->l[idx[i]];
            bool left = b->x < split;
            side[i] = left;
            nl += left;
            if (b->x < x0 + g1 && b->x + b->w > x0 + g0)
                continue; /* crosses */
            if (left) {
                lx0 = b->x < lx0 ? b->x : lx0, lx1 = b->x + b->w > lx1 ? b->x + b->w : lx1;
                ly0 = b->y < ly0 ? b->y : ly0, ly1 = b->y + b->h > ly1 ? b->y + b->h : ly1;
            } else {
                rx0 = b->x < rx0 ? b->x : rx0, rx1 = b->x + b->w > rx1 ? b->x + b->w : rx1;
                ry0 = b->y < ry0 ? b->y : ry0, ry1 = b->y + b->h > ry1 ? b->y + b->h : ry1;
            }
        }
        if (nl < COL_MIN_LINES || n - nl < COL_MIN_LINES || lx1 <= lx0 || rx1 <= rx0)
            continue;
        /* a crossing box lies inside both columns (a title or a footer
         * across the page is not a column's line: a row cut takes it) */
        top = ly0 > ry0 ? ly0 : ry0;
        bot = ly1 < ry1 ? ly1 : ry1;
        bool inside = true;
        for (int i = 0; i < n && inside; i++) {
            const cap_text_line *b = &L->l[idx[i]];
            if (b->x < x0 + g1 && b->x + b->w > x0 + g0)
                inside = b->y > top && b->y + b->h < bot;
        }
        if (!inside)
            continue;
        if ((double)(lx1 - lx0) / W < COL_MIN_SHARE || (double)(rx1 - rx0) / W < COL_MIN_SHARE ||
            lx1 - lx0 < COL_MIN_W * L->h || rx1 - rx0 < COL_MIN_W * L->h)
            continue;
        /* fill: the side's boxes (in idx order) over its width */
        int *tmp = malloc(sizeof *tmp * (size_t)n);
        if (!tmp)
            break;
        int a = 0, r = nl;
        for (int i = 0; i < n; i++)
            tmp[side[i] ? a++ : r++] = idx[i];
        bool fill = median_fill(L, tmp, nl, lx0, lx1) >= COL_FILL &&
                    median_fill(L, tmp + nl, n - nl, rx0, rx1) >= COL_FILL;
        if (fill) {
            memcpy(idx, tmp, sizeof *idx * (size_t)n);
            best = nl;
            best_gap = g1 - g0;
        }
        free(tmp);
    }
    free(side);
    free(cov);
    return best;
}

/* The widest horizontal gap of idx (sorted by y): the first index below
 * it, or 0 when no box-free band crosses the region. */
static int row_cut(const lay *L, int *idx, int n)
{
    sort_by(L->l, idx, n, 1);
    int best = 0, best_gap = 0;
    int reach = L->l[idx[0]].y + L->l[idx[0]].h;
    for (int i = 1; i < n; i++) {
        const cap_text_line *b = &L->l[idx[i]];
        int gap = b->y - reach;
        if (gap > best_gap) {
            best = i;
            best_gap = gap;
        }
        int e = b->y + b->h;
        reach = e > reach ? e : reach;
    }
    return best;
}

static void emit(lay *L, int *idx, int n, bool block)
{
    sort_by(L->l, idx, n, 2);
    for (int i = 0; i < n; i++) {
        L->brk[L->n_out] = block && i == 0;
        L->out[L->n_out++] = idx[i];
    }
}

static void cut(lay *L, int *idx, int n, int depth, bool block)
{
    if (n <= 1 || depth >= MAX_DEPTH) {
        emit(L, idx, n, block);
        return;
    }
    int k = column_cut(L, idx, n);
    if (k > 0) {
        cut(L, idx, k, depth + 1, true);
        cut(L, idx + k, n - k, depth + 1, true);
        return;
    }
    k = row_cut(L, idx, n);
    if (k == 0) {
        emit(L, idx, n, block);
        return;
    }
    cut(L, idx, k, depth + 1, block);
    cut(L, idx + k, n - k, depth + 1, false);
}

int cap_layout_order(const cap_text_line *lines, int n, int *order, int *block)
{
    if (!lines || n <= 0 || !order || !block)
        return 0;
    int *idx = malloc(sizeof *idx * (size_t)n), *hs = malloc(sizeof *hs * (size_t)n);
    if (!idx || !hs) {
        free(idx);
        free(hs);
        return 0;
    }
    bool boxes = true; /* every box has a size (else: read as given) */
    for (int i = 0; i < n; i++) {
        idx[i] = i, hs[i] = lines[i].h;
        boxes &= lines[i].w > 0 && lines[i].h > 0;
    }
    if (!boxes) {
        for (int i = 0; i < n; i++)
            order[i] = i, block[i] = 0;
        free(idx);
        free(hs);
        return 1;
    }
    qsort(hs, (size_t)n, sizeof *hs, cmp_int);
    lay L = {.l = lines, .out = order, .brk = block, .h = hs[n / 2] > 0 ? hs[n / 2] : 1};
    free(hs);
    cut(&L, idx, n, 0, false);
    free(idx);
    int blocks = 0;
    for (int i = 0; i < n; i++)
        blocks += block[i];
    return blocks > 1 ? blocks : 1;
}

void cap_layout_text(cap_desc *d)
{
    if (!d || !d->text_boxes || d->n_lines < 2 * COL_MIN_LINES || d->domain == CAP_TABLE || d->domain == CAP_CHART)
        return;
    int n = d->n_lines;
    int *order = malloc(sizeof *order * (size_t)n), *block = calloc((size_t)n, sizeof *block);
    if (!order || !block || cap_layout_order(d->lines, n, order, block) < 2) {
        free(order);
        free(block);
        return;
    }
    size_t cap = 1;
    for (int i = 0; i < n; i++)
        cap += strlen(d->lines[i].text ? d->lines[i].text : "") + 2;
    char *t = malloc(cap), *p = t;
    if (t) {
        for (int i = 0; i < n; i++) {
            const cap_text_line *a = &d->lines[order[i]];
            if (i > 0) {
                /* same row as the line before (centres within a height)
                 * and no new block: two spaces, as run_ppocr joins */
                const cap_text_line *b = &d->lines[order[i - 1]];
                long ca = 2L * a->y + a->h, cb = 2L * b->y + b->h;
                bool row = !block[i] && labs(ca - cb) <= b->h && a->x > b->x;
                if (row)
                    *p++ = ' ';
                *p++ = row ? ' ' : '\n';
            }
            size_t l = strlen(a->text ? a->text : "");
            memcpy(p, a->text ? a->text : "", l);
            p += l;
        }
        *p = 0;
        free(d->text);
        d->text = t;
    }
    free(order);
    free(block);
}

/* structure.c - the structure step of the captioner: after OCR, reads what
 * the layout of the text lines (and a few pixels of the image) says: table
 * rows/columns, chart title/axes/ticks/legend/bars, document title/columns,
 * screenshot title and controls. Feeds compose.c and the structure record. */
#include "captioner_int.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ST_MAX_ROWS 500
#define ST_MAX_COLS 24
#define ST_MAX_CELL 512   /* bytes kept per cell */
#define ST_MAX_TICKS 60
#define ST_MAX_LEGEND 24
#define ST_MAX_VALUES 40
#define ST_MAX_UI 24

/* ---------------------------------------------------------- helpers ---- */

void cap_count_chars(const char *s, cap_char_kinds *k)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        int32_t cp;
        i += (size_t)core_utf8_next(s + i, n - i, &cp);
        if (core_is_cjk(cp))
            k->cjk++;
        else if (cp < 128 && isalpha((int)cp))
            k->latin++;
        else if (cp < 128 && isdigit((int)cp))
            k->digit++;
        else if (cp >= 0xC0 && cp < 0x2000) /* accented Latin, Greek... */
            k->latin++;
        else if (cp != ' ')
            k->other++;
    }
}

static cap_char_kinds kinds(const char *s)
{
    cap_char_kinds k = {0};
    cap_count_chars(s, &k);
    return k;
}

/* Numbers as ticks print them: 1,000  -0.5  25%  1e3  $4  10k */
static bool is_numeric(const char *s)
{
    cap_char_kinds k = kinds(s);
    if (k.digit == 0 || k.cjk)
        return false;
    return k.latin <= 1 && k.digit >= k.latin + k.other;
}

static bool has_words(const char *s)
{
    cap_char_kinds k = kinds(s);
    return k.latin >= 2 || k.cjk >= 1;
}

static int utf8_len(const char *s) /* code points */
{
    int n = 0;
    for (; *s; s++)
        n += ((unsigned char)*s & 0xC0) != 0x80;
    return n;
}

static bool push_str(char ***v, int *n, int max, const char *s)
{
    if (*n >= max)
        return false;
    for (int i = 0; i < *n; i++)
        if (strcmp((*v)[i], s) == 0)
            return true; /* no duplicates */
    char **nv = realloc(*v, sizeof *nv * (size_t)(*n + 1));
    if (!nv)
        return false;
    *v = nv;
    nv[*n] = core_strdup(s);
    if (!nv[*n])
        return false;
    (*n)++;
    return true;
}

static void set_str(char **dst, const char *s)
{
    free(*dst);
    *dst = core_strdup(s);
}

static float median_h(const cap_desc *d)
{
    if (d->n_lines == 0)
        return 0;
    int cnt[256] = {0};
    for (int i = 0; i < d->n_lines; i++) {
        int h = d->lines[i].h;
        cnt[h < 0 ? 0 : h > 255 ? 255 : h]++;
    }
    int acc = 0;
    for (int i = 0; i < 256; i++) {
        acc += cnt[i];
        if (acc * 2 >= d->n_lines)
            return (float)i;
    }
    return 0;
}

/* The pixel at original-image coordinates (x, y), as gray, from an image
 * that may be a scaled copy (captioner.c passes the thumbnail when OCR did
 * not run). */
typedef struct st_img {
    const cap_image *im;
    float sx, sy; /* original -> im */
} st_img;

static st_img st_img_of(const cap_desc *d, const cap_image *im)
{
    st_img s = {im, 1, 1};
    if (im && d->width > 0 && d->height > 0) {
        s.sx = (float)im->w / d->width;
        s.sy = (float)im->h / d->height;
    }
    return s;
}

static const uint8_t *px_at(const st_img *s, int x, int y)
{
    int ix = (int)(x * s->sx), iy = (int)(y * s->sy);
    if (ix < 0) ix = 0;
    if (iy < 0) iy = 0;
    if (ix >= s->im->w) ix = s->im->w - 1;
    if (iy >= s->im->h) iy = s->im->h - 1;
    return s->im->rgb + 3 * ((size_t)iy * s->im->w + ix);
}

static int gray_at(const st_img *s, int x, int y)
{
    const uint8_t *p = px_at(s, x, y);
    return (299 * p[0] + 587 * p[1] + 114 * p[2]) / 1000;
}

/* ------------------------------------------------------------ table ---- */

typedef struct st_row {
    int y0, y1;
    int first, n; /* indices into the sorted segment list */
} st_row;

static int cmp_line_y(const void *a, const void *b)
{
    const cap_text_line *p = *(const cap_text_line *const *)a;
    const cap_text_line *q = *(const cap_text_line *const *)b;
    int cy = (p->y + p->h / 2) - (q->y + q->h / 2);
    if (abs(cy) > (p->h < q->h ? p->h : q->h) / 2)
        return cy;
    return p->x - q->x;
}

static bool is_rotated(const cap_text_line *l) { return l->h > 2 * l->w && l->h > 40; }

/* Vertical rules: x positions (original pixels) where a dark or coloured
 * line runs over most of [y0, y1]. Writes up to max centres into xs. */
static int find_vrules(const cap_desc *d, const cap_image *full, int y0, int y1, int *xs,
                       int max)
{
    if (!full || !full->rgb || y1 - y0 < 20)
        return 0;
    st_img s = st_img_of(d, full);
    int n = 0, run_start = -1;
    int W = d->width;
    for (int x = 0; x <= W; x++) {
        bool rule = false;
        if (x < W) {
            int dark = 0, tot = 0;
            for (int y = y0; y <= y1; y += 2) {
                tot++;
                dark += gray_at(&s, x, y) < 170;
            }
            rule = dark * 10 >= tot * 8;
        }
        if (rule && run_start < 0)
            run_start = x;
        if (!rule && run_start >= 0) {
            if (x - run_start <= 6 && n < max) /* thin: a rule, not a filled area */
                xs[n++] = (run_start + x - 1) / 2;
            run_start = -1;
        }
    }
    return n;
}

/* True when a horizontal rule crosses most of [x0, x1] somewhere in the
 * rows y0..y1: ruled tables separate rows with one. */
static bool hrule_between(const cap_desc *d, const cap_image *full, int y0, int y1, int x0,
                          int x1)
{
    if (!full || !full->rgb || x1 - x0 < 20)
        return false;
    st_img s = st_img_of(d, full);
    for (int y = y0 < 0 ? 0 : y0; y <= y1 && y < d->height; y++) {
        int dark = 0, tot = 0;
        for (int x = x0; x < x1; x += 2) {
            tot++;
            dark += gray_at(&s, x, y) < 170;
        }
        if (dark * 10 >= tot * 7)
            return true;
    }
    return false;
}

static char *cell_text(core_buf *cells, int r, int c)
{
    return cells[r * ST_MAX_COLS + c].data;
}

/* Markdown cells cannot hold '|' or newlines. */
static void md_cell(core_buf *b, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '|')
            core_buf_puts(b, "\\|");
        else if (*s == '\n')
            core_buf_puts(b, " ");
        else
            core_buf_append(b, s, 1);
    }
}

ODX_STATIC void st_table(cap_desc *d, const cap_image *full)
{
    int n = d->n_lines;
    if (n < 4)
        return;
    const cap_text_line **seg = malloc(sizeof *seg * (size_t)n);
    st_row *rows = malloc(sizeof *rows * (size_t)n);
    int *cov = NULL, *sep = NULL;
    core_buf *cells = NULL;
    int *row_of = NULL;
    if (!seg || !rows)
        goto done;
    int ns = 0;
    for (int i = 0; i < n; i++)
        if (!is_rotated(&d->lines[i]) && d->lines[i].text && *d->lines[i].text)
            seg[ns++] = &d->lines[i];
    qsort(seg, (size_t)ns, sizeof *seg, cmp_line_y);

    /* rows: segments whose vertical centres fall within half a line */
    int nr = 0;
    for (int i = 0; i < ns; i++) {
        int cy = seg[i]->y + seg[i]->h / 2;
        if (nr > 0) {
            st_row *r = &rows[nr - 1];
            int rc = (r->y0 + r->y1) / 2, rh = r->y1 - r->y0;
            int lim = (rh < seg[i]->h ? rh : seg[i]->h) / 2 + 1;
            if (abs(cy - rc) <= lim) {
                r->n++;
                if (seg[i]->y < r->y0) r->y0 = seg[i]->y;
                if (seg[i]->y + seg[i]->h > r->y1) r->y1 = seg[i]->y + seg[i]->h;
                continue;
            }
        }
        rows[nr++] = (st_row){seg[i]->y, seg[i]->y + seg[i]->h, i, 1};
    }
    /* re-sort each row by x (rows were grouped by centre, order may mix) */
    for (int r = 0; r < nr; r++)
        for (int a = rows[r].first + 1; a < rows[r].first + rows[r].n; a++)
            for (int b = a; b > rows[r].first && seg[b]->x < seg[b - 1]->x; b--) {
                const cap_text_line *t = seg[b];
                seg[b] = seg[b - 1];
                seg[b - 1] = t;
            }

    int lh_all = (int)median_h(d);
    if (lh_all < 4)
        lh_all = 4;
    /* the table body: the longest run of rows with 2+ segments, bridging
     * up to two single-segment rows (wrapped cells, a section line); page
     * headers and prose around the table stay out */
    int r0 = -1, r1 = -1, n_multi = 0;
    for (int r = 0; r < nr; r++) {
        if (rows[r].n < 2)
            continue;
        int a = r, b = r, cnt = 1, single = 0;
        for (int k = r + 1; k < nr && single <= 2; k++) {
            /* a wide blank band ends the table (page header above it) */
            if (rows[k].y0 - rows[k - 1].y1 > 3 * lh_all)
                break;
            if (rows[k].n >= 2) {
                b = k;
                cnt++;
                single = 0;
            } else {
                single++;
            }
        }
        if (cnt > n_multi) {
            n_multi = cnt;
            r0 = a;
            r1 = b;
        }
        r = b; /* runs do not overlap */
    }
    if (n_multi < 2)
        goto done;
    int lh = (int)median_h(d);
    if (lh < 4)
        lh = 4;
    /* wrapped cells under the last row belong to it */
    while (r1 + 1 < nr && rows[r1 + 1].y0 - rows[r1].y1 < lh / 2 + 1)
        r1++;

    /* column gaps: x ranges no multi-segment row covers (a few may: wide
     * titles, page headers, spilling cells) */
    int W = d->width > 0 ? d->width : 1;
    cov = calloc((size_t)W + 1, sizeof *cov);
    sep = malloc(sizeof *sep * (ST_MAX_COLS + 1));
    if (!cov || !sep)
        goto done;
    int xmin = W, xmax = 0;
    for (int r = r0; r <= r1; r++) {
        if (rows[r].n < 2)
            continue;
        for (int k = rows[r].first; k < rows[r].first + rows[r].n; k++) {
            int a = seg[k]->x, b = seg[k]->x + seg[k]->w;
            if (a < 0) a = 0;
            if (b > W) b = W;
            for (int x = a; x < b; x++)
                cov[x]++;
            if (a < xmin) xmin = a;
            if (b > xmax) xmax = b;
        }
    }
    int thr = n_multi / 8;
    int vr[64];
    int n_vr = find_vrules(d, full, rows[r0].y0, rows[r1].y1, vr, 64);
    int n_sep = 0;
    int gstart = -1;
    for (int x = xmin; x <= xmax && n_sep < ST_MAX_COLS - 1; x++) {
        bool gap = x < xmax && cov[x] <= thr;
        /* a rule separates even where a long cell spills over it */
        for (int v = 0; v < n_vr && !gap; v++)
            gap = vr[v] == x && x > xmin + lh && x < xmax - lh;
        if (gap && gstart < 0)
            gstart = x;
        if (!gap && gstart >= 0) {
            bool has_rule = false;
            for (int v = 0; v < n_vr; v++)
                has_rule |= vr[v] >= gstart && vr[v] < x;
            if (x - gstart >= lh / 2 || has_rule)
                sep[n_sep++] = (gstart + x) / 2;
            gstart = -1;
        }
    }
    int nc = n_sep + 1;
    if (nc < 2 || nc > ST_MAX_COLS)
        goto done;

    /* cells */
    int n_tr = r1 - r0 + 1;
    cells = calloc((size_t)n_tr * ST_MAX_COLS, sizeof *cells);
    row_of = malloc(sizeof *row_of * (size_t)n_tr);
    if (!cells || !row_of)
        goto done;
    for (int i = 0; i < n_tr * ST_MAX_COLS; i++)
        core_buf_init(&cells[i], ST_MAX_CELL);
    int out_r = -1, prev_y1 = -1000;
    for (int r = r0; r <= r1; r++) {
        const st_row *R = &rows[r];
        int colmask = 0;
        for (int k = R->first; k < R->first + R->n; k++) {
            int cx = seg[k]->x + seg[k]->w / 2, c = 0;
            while (c < n_sep && cx > sep[c])
                c++;
            colmask |= 1 << c;
        }
        /* A line that continues the row above (a wrapped cell): close to it,
         * and with the first column empty. */
        bool cont = out_r >= 0 && !(colmask & 1) && R->y0 - prev_y1 < lh / 2 + 1 &&
                    !hrule_between(d, full, prev_y1 - 1, R->y0 + 1, xmin, xmax);
        if (!cont)
            out_r++;
        prev_y1 = R->y1;
        for (int k = R->first; k < R->first + R->n; k++) {
            int cx = seg[k]->x + seg[k]->w / 2, c = 0;
            while (c < n_sep && cx > sep[c])
                c++;
            core_buf *cb = &cells[out_r * ST_MAX_COLS + c];
            if (cb->len)
                core_buf_puts(cb, " ");
            core_buf_puts(cb, seg[k]->text);
        }
    }
    int n_out = out_r + 1;
    if (n_out < 2)
        goto done;
    /* drop columns that are empty in nearly every row (page furniture) */
    int keep[ST_MAX_COLS], nk = 0;
    for (int c = 0; c < nc; c++) {
        int filled = 0;
        for (int r = 0; r < n_out; r++)
            filled += cells[r * ST_MAX_COLS + c].len > 0;
        if (filled * 5 >= n_out || filled >= 3)
            keep[nk++] = c;
    }
    if (nk < 2)
        goto done;
    int n_data = n_out - 1;
    if (n_data > ST_MAX_ROWS)
        n_data = ST_MAX_ROWS;

    core_buf md;
    core_buf_init(&md, 256 * 1024);
    for (int r = 0; r <= n_data; r++) {
        core_buf_puts(&md, "|");
        for (int k = 0; k < nk; k++) {
            core_buf_puts(&md, " ");
            md_cell(&md, cell_text(cells, r, keep[k]));
            core_buf_puts(&md, " |");
        }
        core_buf_puts(&md, "\n");
        if (r == 0) {
            core_buf_puts(&md, "|");
            for (int k = 0; k < nk; k++)
                core_buf_puts(&md, " --- |");
            core_buf_puts(&md, "\n");
        }
    }
    if (md.len && md.data[md.len - 1] == '\n')
        md.data[--md.len] = 0;
    char **sent = calloc((size_t)n_data + 1, sizeof *sent);
    if (!sent) {
        core_buf_free(&md);
        goto done;
    }
    for (int r = 1; r <= n_data; r++) {
        core_buf sb;
        core_buf_init(&sb, 4096);
        int parts = 0;
        for (int k = 0; k < nk; k++) {
            const char *h = cell_text(cells, 0, keep[k]);
            const char *v = cell_text(cells, r, keep[k]);
            if (!v || !*v)
                continue;
            if (h && *h)
                core_buf_printf(&sb, "%s%s: %s", parts ? "; " : "", h, v);
            else
                core_buf_printf(&sb, "%s%s", parts ? "; " : "", v);
            parts++;
        }
        sent[r - 1] = core_buf_steal(&sb);
    }
    /* replace whatever an earlier call left */
    free(d->table_md);
    for (int i = 0; d->row_sentences && i < d->n_rows; i++)
        free(d->row_sentences[i]);
    free(d->row_sentences);
    d->table_md = core_buf_steal(&md);
    d->row_sentences = sent;
    d->n_rows = n_data;
    d->n_cols = nk;

    /* the title: a single line above the table */
    if (!d->title) {
        for (int r = 0; r < r0; r++)
            if (rows[r].n == 1 && has_words(seg[rows[r].first]->text)) {
                const cap_text_line *t = seg[rows[r].first];
                if (r + 1 < r0 || t->h >= lh)
                    set_str(&d->title, t->text);
                if (t->h >= lh)
                    break;
            }
        /* or below it, as a caption ("Table 5.1: ...") */
        for (int r = r1 + 1; !d->title && r < nr && r <= r1 + 2; r++)
            if (rows[r].n == 1 && has_words(seg[rows[r].first]->text))
                set_str(&d->title, seg[rows[r].first]->text);
    }
done:
    if (cells)
        for (int i = 0; i < (r1 - r0 + 1) * ST_MAX_COLS; i++)
            core_buf_free(&cells[i]);
    free(cells);
    free(row_of);
    free(cov);
    free(sep);
    free(seg);
    free(rows);
}

/* ------------------------------------------------------------ chart ---- */

/* The plot frame from the image: the lowest long horizontal dark rule in
 * the lower part (x axis) and the leftmost long vertical one (y axis). */
static void find_axes(const cap_desc *d, const cap_image *full, int *ax_y, int *ax_x)
{
    *ax_y = -1;
    *ax_x = -1;
    if (!full || !full->rgb)
        return;
    st_img s = st_img_of(d, full);
    int W = d->width, H = d->height;
    for (int y = H - 1; y > H / 3 && *ax_y < 0; y--) {
        int run = 0, best = 0;
        for (int x = 0; x < W; x++) {
            run = gray_at(&s, x, y) < 110 ? run + 1 : 0;
            if (run > best)
                best = run;
        }
        if (best * 5 >= W * 2)
            *ax_y = y;
    }
    for (int x = 0; x < W * 2 / 3 && *ax_x < 0; x++) {
        int run = 0, best = 0;
        for (int y = 0; y < H; y++) {
            run = gray_at(&s, x, y) < 110 ? run + 1 : 0;
            if (run > best)
                best = run;
        }
        if (best * 5 >= H * 2)
            *ax_x = x;
    }
}

static int chan_diff(const uint8_t *p, const uint8_t *q)
{
    int a = abs(p[0] - q[0]), b = abs(p[1] - q[1]), c = abs(p[2] - q[2]);
    return a > b ? (a > c ? a : c) : (b > c ? b : c);
}

/* Bars crossed by one scan line: runs of pixels that differ from the
 * background colour bg, at least min_w long
 * and at most max_w; a sharp colour change starts a new run (bars of a
 * group touching each other). */
static int scan_bars(const st_img *s, const uint8_t bg[3], int x0, int y0, int dx, int dy,
                     int len, int min_w, int max_w)
{
    int n = 0, run = 0;
    const uint8_t *prev = NULL;
    for (int i = 0; i <= len; i++) {
        const uint8_t *p = i < len ? px_at(s, x0 + i * dx, y0 + i * dy) : NULL;
        bool on = p && chan_diff(p, bg) > 40;
        bool split = on && run > 0 && prev && chan_diff(p, prev) > 60;
        if (!on || split) {
            if (run >= min_w && run <= max_w)
                n++;
            run = 0;
        }
        if (on)
            run++;
        prev = p;
    }
    return n;
}

/* The background: the most common colour of the image (a row alone can be
 * mostly bar), as the mean of the pixels in the winning bin. */
static void bg_colour(const st_img *s, int W, int H, uint8_t bg[3])
{
    uint32_t hist[512] = {0};
    for (int y = 0; y < H; y += 3)
        for (int x = 0; x < W; x += 3) {
            const uint8_t *p = px_at(s, x, y);
            hist[(p[0] >> 5) << 6 | (p[1] >> 5) << 3 | (p[2] >> 5)]++;
        }
    int mode = 0;
    for (int i = 1; i < 512; i++)
        if (hist[i] > hist[mode])
            mode = i;
    double acc[3] = {0, 0, 0};
    for (int y = 0; y < H; y += 3)
        for (int x = 0; x < W; x += 3) {
            const uint8_t *p = px_at(s, x, y);
            if (((p[0] >> 5) << 6 | (p[1] >> 5) << 3 | (p[2] >> 5)) == mode)
                for (int c = 0; c < 3; c++)
                    acc[c] += p[c];
        }
    for (int c = 0; c < 3; c++)
        bg[c] = (uint8_t)(hist[mode] ? acc[c] / hist[mode] : 255);
}

/* The number of bars: the most common non-zero count over many parallel
 * scan lines (rows through the lower plot for columns, columns through
 * the left part for horizontal bars). Legend patches, text and gridlines
 * change the count on a few lines only. Needs no axis lines (ggplot-like
 * styles draw none). */
static int count_bars(const st_img *s, const uint8_t bg[3], int W, int H, bool horizontal,
                      int ax)
{
    int cnt[64] = {0}, lines = 0;
    int from = horizontal ? W / 20 : H * 35 / 100, to = horizontal ? W * 65 / 100 : H * 97 / 100;
    /* No axis line (light styles): the baseline is where the count of
     * bar-coloured pixels per line jumps most, from background to bars. */
    if (ax < 0) {
        int n_lines = horizontal ? W : H, span = horizontal ? H : W;
        int prev = 0, best_jump = 0;
        for (int k = 0; k < n_lines * 2 / 3; k++) {
            int kk = horizontal ? k : n_lines - 1 - k; /* columns from the left, rows up */
            int on = 0;
            for (int i = 0; i < span; i += 2) {
                const uint8_t *p = horizontal ? px_at(s, kk, i) : px_at(s, i, kk);
                on += chan_diff(p, bg) > 40 && (abs(p[0] - p[1]) > 30 || abs(p[1] - p[2]) > 30 ||
                                                 (p[0] < 200 && p[0] > 90));
            }
            if (k > 0 && on - prev > best_jump) {
                best_jump = on - prev;
                ax = horizontal ? kk - 1 : kk + 1;
            }
            prev = on;
        }
        if (best_jump < span / 40)
            ax = -1;
    }
    /* next to a known axis every bar is crossed, short ones included */
    bool near_axis = false;
    if (horizontal && ax >= 0 && ax < W * 2 / 3) {
        from = ax + 3;
        to = from + (W / 50 > 8 ? W / 50 : 8);
        near_axis = true;
    } else if (!horizontal && ax > H / 3) {
        to = ax - 2;
        from = to - (H / 50 > 8 ? H / 50 : 8);
        near_axis = true;
    }
    int len = horizontal ? H : W;
    int min_w = len / 100 > 3 ? len / 100 : 3;
    for (int k = from; k < to; k++) {
        int n = horizontal ? scan_bars(s, bg, k, 0, 0, 1, H, min_w, H * 3 / 10)
                           : scan_bars(s, bg, 0, k, 1, 0, W, min_w, W * 3 / 10);
        lines++;
        if (n > 0 && n < 64)
            cnt[n]++;
    }
    int best = 0;
    if (near_axis) {
        /* short bars end within the window: the most bars seen on at least
         * two lines */
        for (int i = 63; i > 0 && !best; i--)
            if (cnt[i] >= 2)
                best = i;
        return best;
    }
    for (int i = 1; i < 64; i++)
        if (cnt[i] >= cnt[best] && cnt[i] > 0)
            best = i;
    return lines && cnt[best] * 100 >= lines * 15 ? best : 0;
}

/* ------------------------------------------------------ chart values ---- */

/* A tick's number: "1,000" "-0.5" "25%" "$4"; false when it is none. */
static bool tick_number(const char *t, double *v)
{
    char buf[64];
    size_t n = 0;
    for (const char *p = t; *p && n + 1 < sizeof buf; p++) {
        if (*p == ',' || *p == ' ' || *p == '$' || *p == '%')
            continue;
        if (!strchr("0123456789.-+eE", *p))
            return false;
        buf[n++] = *p;
    }
    buf[n] = 0;
    if (!n)
        return false;
    char *end;
    *v = strtod(buf, &end);
    return end != buf && *end == 0 && isfinite(*v);
}

/* The value axis from its tick labels: pixel = a + b * value, fitted by
 * least squares over the numeric ticks beside it (pos: each tick's centre
 * along the axis). A linear axis prints evenly spaced values: refused with
 * fewer than 3 ticks, values whose gaps are not whole multiples of the
 * smallest (a log axis, a stray number; a multiple is a tick OCR missed),
 * ticks more than a tenth of their spacing off the line, or a value
 * growing the wrong way. *step: the value between ticks. */
static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static bool fit_axis(const double *val, const double *pos, int n, bool up, double *a,
                     double *b, double *step)
{
    if (n < 3 || n > 64)
        return false;
    double sv[64];
    memcpy(sv, val, sizeof *sv * (size_t)n);
    qsort(sv, (size_t)n, sizeof *sv, cmp_dbl);
    *step = 0;
    for (int i = 1; i < n; i++)
        if (sv[i] > sv[i - 1] && (*step == 0 || sv[i] - sv[i - 1] < *step))
            *step = sv[i] - sv[i - 1];
    if (*step <= 0)
        return false;
    for (int i = 1; i < n; i++) {
        if (sv[i] == sv[i - 1])
            continue; /* one value read twice: its positions must agree below */
        double q = (sv[i] - sv[i - 1]) / *step;
        if (q < 0.5 || fabs(q - floor(q + 0.5)) > 0.02)
            return false;
    }
    double mv = 0, mp = 0, vv = 0, vp = 0;
    for (int i = 0; i < n; i++)
        mv += val[i], mp += pos[i];
    mv /= n, mp /= n;
    for (int i = 0; i < n; i++)
        vv += (val[i] - mv) * (val[i] - mv), vp += (val[i] - mv) * (pos[i] - mp);
    if (vv <= 0)
        return false;
    *b = vp / vv;
    *a = mp - *b * mv;
    if (up ? *b >= 0 : *b <= 0)
        return false;
    double tol = 0.1 * fabs(*b) * *step;
    if (tol < 2)
        tol = 2;
    for (int i = 0; i < n; i++)
        if (fabs(*a + *b * val[i] - pos[i]) > tol)
            return false;
    return true;
}

/* The first at most max bytes of s that end on a whole UTF-8 character
 * (OCR labels are Chinese as often as not: a byte cut would leave JSON
 * invalid), as a length for "%.*s". */
static int utf8_cut(const char *s, int max)
{
    int n = (int)strlen(s);
    if (n <= max)
        return n;
    n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

/* A chart value, "label: value" (label cut to 80 bytes, value to 40) */
static void push_pair(cap_desc *d, const char *label, const char *value)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%.*s: %.*s", utf8_cut(label, 80), label, utf8_cut(value, 40),
             value);
    push_str(&d->values, &d->n_values, ST_MAX_VALUES, buf);
}

/* A value read off a bar, printed to a fifth of the tick step, or to what
 * two pixels of the axis are worth if that is coarser (px_per_unit: the
 * fitted axis's slope) */
static void push_value(cap_desc *d, const char *label, double v, double step,
                       double px_per_unit)
{
    double q = step / 5, px = px_per_unit != 0 ? 2 / fabs(px_per_unit) : 0;
    if (px > q)
        q = px;
    int dec = 0;
    for (; q < 1 && dec < 6; q *= 10)
        dec++;
    char num[48];
    snprintf(num, sizeof num, "%.*f", dec, v);
    push_pair(d, label, num);
}

/* Bar values, read off the bars: each category label on the category axis
 * names the bar it sits under (or beside, for horizontal bars); the bar's
 * end, where its colour stops, is read on the value axis fitted to the
 * numeric ticks. A value printed at the bar's end (bar labels) wins over
 * the reading. Grouped or stacked bars (a legend of series) and
 * histograms (numbers at bin edges, not one label a bar) are left alone:
 * the labels must match the bars one to one. */
static void bar_values(cap_desc *d, const st_img *s, const uint8_t bg[3], int ax_y, int ax_x,
                       bool horizontal, int ti, int xi)
{
    int W = d->width, H = d->height;
    if (d->n_legend >= 2 || d->n_bars < 2 || d->n_lines > 400)
        return;
    float mh = median_h(d);
    int band = 3 * (int)(mh > 0 ? mh : 12);
    enum { NMAX = 64 };
    double tv[NMAX], tp[NMAX];
    int cat[NMAX], nt = 0, nc = 0, tick_top = H;
    bool is_tick[400] = {0};
    /* value ticks: along the value axis, outside the plot (without an
     * axis line, as light styles draw none: the left fifth, the bottom
     * quarter) */
    for (int i = 0; i < d->n_lines && nt < NMAX; i++) {
        const cap_text_line *l = &d->lines[i];
        if (i == ti || i == xi || is_rotated(l))
            continue;
        int cx = l->x + l->w / 2, cy = l->y + l->h / 2;
        bool beside = horizontal ? (ax_y >= 0 ? cy > ax_y && cy < ax_y + band : cy > H * 3 / 4)
                                 : (ax_x >= 0 ? cx < ax_x && l->x + l->w <= ax_x + 4
                                              : cx < W / 5);
        double v;
        if (beside && tick_number(l->text, &v)) {
            tv[nt] = v;
            tp[nt++] = horizontal ? cx : cy;
            is_tick[i] = true;
            if (l->y < tick_top)
                tick_top = l->y;
        }
    }
    double a, b, step;
    if (!fit_axis(tv, tp, nt, !horizontal, &a, &b, &step))
        return;
    /* the axis the bars stand on; without a line there, the value axis's 0 */
    int ax_cat = horizontal ? ax_x : ax_y;
    if (ax_cat < 0) {
        double lo = tv[0], hi = tv[0];
        for (int i = 1; i < nt; i++)
            lo = tv[i] < lo ? tv[i] : lo, hi = tv[i] > hi ? tv[i] : hi;
        if (lo > 0 || hi < 0)
            return;
        ax_cat = (int)lround(a);
    }
    /* category labels: along the axis the bars stand on */
    for (int i = 0; i < d->n_lines && nc < NMAX; i++) {
        const cap_text_line *l = &d->lines[i];
        if (i == ti || i == xi || is_rotated(l) || is_tick[i])
            continue;
        int cy = l->y + l->h / 2;
        bool along = horizontal
                         ? l->x + l->w <= ax_cat + 4 && cy < (ax_y >= 0 ? ax_y : tick_top)
                         : cy > ax_cat && cy < ax_cat + band;
        if (along && (has_words(l->text) || is_numeric(l->text)))
            cat[nc++] = i;
    }
    int tol = d->n_bars / 10 > 1 ? d->n_bars / 10 : 1;
    if (nc < 2 || abs(nc - d->n_bars) > tol)
        return;
    for (int k = 0; k < nc; k++) {
        const cap_text_line *l = &d->lines[cat[k]];
        int c = horizontal ? l->y + l->h / 2 : l->x + l->w / 2; /* across the bar */
        /* the bar's colour just off the axis; background there: no bar */
        int start = horizontal ? ax_cat + 3 : ax_cat - 3;
        const uint8_t *p0 = horizontal ? px_at(s, start, c) : px_at(s, c, start);
        if (chan_diff(p0, bg) <= 40)
            continue;
        uint8_t bar[3] = {p0[0], p0[1], p0[2]};
        int e = start, lim = horizontal ? W : H;
        for (int t = 0; t < lim; t++) {
            int q = horizontal ? start + t : start - t;
            if (q < 0 || q >= lim)
                break;
            const uint8_t *p = horizontal ? px_at(s, q, c) : px_at(s, c, q);
            if (chan_diff(p, bar) > 40)
                break;
            e = q;
        }
        /* a number printed just past the bar's end */
        const char *printed = NULL;
        for (int i = 0; i < d->n_lines && !printed; i++) {
            const cap_text_line *m = &d->lines[i];
            if (!is_numeric(m->text))
                continue;
            int mc = horizontal ? m->y + m->h / 2 : m->x + m->w / 2;
            int near = horizontal ? m->x - e : e - (m->y + m->h);
            int half = (horizontal ? m->h : m->w) / 2 + 2;
            if (abs(mc - c) <= half && near >= -2 && near <= band)
                printed = m->text;
        }
        if (printed) {
            push_pair(d, l->text, printed);
        } else {
            push_value(d, l->text, (e - a) / b, step, b);
            d->values_estimated = true;
        }
    }
}

/* Pie slices: each label outside the pie with the percentage printed in
 * its slice, matched by angle around the centre of the labels' and
 * percentages' extent (one to one, nearest angle first, within 30 degrees,
 * the label farther out). A label that carries its own number is a value
 * already. */
static void pie_values(cap_desc *d, int ti)
{
    enum { NMAX = 32 };
    int lab[NMAX], pct[NMAX], nl = 0, np = 0;
    double x0 = 1e9, x1 = -1e9, y0 = 1e9, y1 = -1e9;
    for (int i = 0; i < d->n_lines; i++) {
        const cap_text_line *l = &d->lines[i];
        if (i == ti || is_rotated(l))
            continue;
        bool num = is_numeric(l->text) && strchr(l->text, '%');
        bool word = has_words(l->text);
        if (word && kinds(l->text).digit > 0 && strchr(l->text, '%')) {
            push_str(&d->values, &d->n_values, ST_MAX_VALUES, l->text);
            continue;
        }
        if (num && np < NMAX)
            pct[np++] = i;
        else if (word && nl < NMAX)
            lab[nl++] = i;
        else
            continue;
        double cx = l->x + l->w / 2.0, cy = l->y + l->h / 2.0;
        x0 = cx < x0 ? cx : x0, x1 = cx > x1 ? cx : x1;
        y0 = cy < y0 ? cy : y0, y1 = cy > y1 ? cy : y1;
    }
    if (nl < 2 || np < 2)
        return;
    double ox = (x0 + x1) / 2, oy = (y0 + y1) / 2;
    double la[NMAX], lr[NMAX], pa[NMAX], pr[NMAX];
    for (int k = 0; k < nl + np; k++) {
        const cap_text_line *l = &d->lines[k < nl ? lab[k] : pct[k - nl]];
        double dx = l->x + l->w / 2.0 - ox, dy = l->y + l->h / 2.0 - oy;
        double ang = atan2(dy, dx) * (180 / 3.14159265358979), r = sqrt(dx * dx + dy * dy);
        if (k < nl)
            la[k] = ang, lr[k] = r;
        else
            pa[k - nl] = ang, pr[k - nl] = r;
    }
    int pair[NMAX]; /* the share matched to each label, -1: none */
    bool used_p[NMAX] = {0};
    for (int i = 0; i < nl; i++)
        pair[i] = -1;
    for (;;) {
        int bi = -1, bj = -1;
        double best = 30;
        for (int i = 0; i < nl; i++)
            for (int j = 0; j < np; j++) {
                if (pair[i] >= 0 || used_p[j] || lr[i] <= pr[j])
                    continue;
                double da = fabs(la[i] - pa[j]);
                if (da > 180)
                    da = 360 - da;
                if (da < best)
                    best = da, bi = i, bj = j;
            }
        if (bi < 0)
            break;
        pair[bi] = bj;
        used_p[bj] = true;
    }
    for (int i = 0; i < nl; i++) /* in the labels' reading order */
        if (pair[i] >= 0)
            push_pair(d, d->lines[lab[i]].text, d->lines[pct[pair[i]]].text);
}

ODX_STATIC void st_chart(cap_desc *d, const cap_image *full)
{
    int W = d->width, H = d->height;
    int ax_y = -1, ax_x = -1;
    find_axes(d, full, &ax_y, &ax_x);
    float mh = median_h(d);
    /* title: in the top fifth, tall and long (legend entries and stray
     * ticks are short) */
    int ti = -1;
    float best = 0;
    for (int i = 0; i < d->n_lines; i++) {
        const cap_text_line *l = &d->lines[i];
        cap_char_kinds k = kinds(l->text);
        if (is_rotated(l) || l->y > H / 5 || (k.latin < 4 && k.cjk < 3))
            continue;
        if (ax_y >= 0 && ax_x >= 0 && l->y > ax_y)
            continue;
        int len = k.latin + 2 * k.cjk;
        float score = (float)l->h + 0.25f * (float)(len < 40 ? len : 40);
        if (ti < 0 || score > best) {
            ti = i;
            best = score;
        }
    }
    if (ti >= 0)
        set_str(&d->title, d->lines[ti].text);
    /* x label: the lowest worded line under the x axis, roughly centred
     * (pies have no axes: their labels are slices) */
    bool pie = strcmp(d->chart_type, "pie") == 0;
    int xi = -1;
    for (int i = 0; i < d->n_lines && !pie; i++) {
        const cap_text_line *l = &d->lines[i];
        if (i == ti || is_rotated(l) || !has_words(l->text))
            continue;
        int cx = l->x + l->w / 2;
        bool below = ax_y >= 0 ? l->y > ax_y : l->y > H * 4 / 5;
        if (!below || cx < W / 5 || cx > W * 4 / 5)
            continue;
        if (xi < 0 || l->y > d->lines[xi].y)
            xi = i;
    }
    /* one worded line under the axis among several is a category label, not
     * the axis title: require it to sit below the others */
    if (xi >= 0) {
        int n_below = 0;
        for (int i = 0; i < d->n_lines; i++) {
            const cap_text_line *l = &d->lines[i];
            if (i != xi && !is_rotated(l) && ax_y >= 0 && l->y > ax_y &&
                abs(l->y - d->lines[xi].y) < l->h / 2)
                n_below++;
        }
        if (n_below >= 2)
            xi = -1;
    }
    if (xi >= 0)
        set_str(&d->x_label, d->lines[xi].text);
    /* y label: the rotated strip OCR read (ocr.c), left of the plot */
    for (int i = 0; i < d->n_lines && !pie; i++)
        if (is_rotated(&d->lines[i]) && d->lines[i].x < W / 4 && has_words(d->lines[i].text)) {
            set_str(&d->y_label, d->lines[i].text);
            break;
        }
    /* ticks: numbers, and short labels strung along the axes; legend:
     * other worded lines inside the frame (or anywhere, for pies) */
    for (int i = 0; i < d->n_lines; i++) {
        const cap_text_line *l = &d->lines[i];
        if (i == ti || i == xi || is_rotated(l))
            continue;
        int cx = l->x + l->w / 2, cy = l->y + l->h / 2;
        if (is_numeric(l->text)) {
            push_str(&d->ticks, &d->n_ticks, ST_MAX_TICKS, l->text);
            continue;
        }
        if (!has_words(l->text))
            continue;
        bool under_x = ax_y >= 0 && cy > ax_y && cy < ax_y + 3 * (mh > 0 ? mh : 12);
        bool left_y = ax_x >= 0 && cx < ax_x && l->x + l->w <= ax_x + 4;
        if (!pie && (under_x || left_y))
            push_str(&d->ticks, &d->n_ticks, ST_MAX_TICKS, l->text);
        else if (pie || ax_y < 0 || (cy < ax_y && cx > ax_x))
            push_str(&d->legend, &d->n_legend, ST_MAX_LEGEND, l->text);
    }
    /* bars: counted as columns or as horizontal bars, whichever the
     * image supports more strongly */
    if (strcmp(d->chart_type, "bar") == 0 && full && full->rgb) {
        st_img s = st_img_of(d, full);
        uint8_t bg[3];
        bg_colour(&s, W, H, bg); /* one scan for both counts and the values */
        int nv = count_bars(&s, bg, W, H, false, ax_y), nh = count_bars(&s, bg, W, H, true, ax_x);
        d->n_bars = nv > nh ? nv : nh;
        bar_values(d, &s, bg, ax_y, ax_x, nh > nv, ti, xi);
    }
    if (pie)
        pie_values(d, ti);
}

/* --------------------------------------------------------- document ---- */

ODX_STATIC void st_document(cap_desc *d)
{
    int W = d->width, H = d->height;
    if (d->n_lines == 0)
        return;
    float mh = median_h(d);
    int ti = -1;
    float best = 0;
    for (int i = 0; i < d->n_lines; i++) {
        const cap_text_line *l = &d->lines[i];
        if (l->y > H * 2 / 5 || !has_words(l->text) || utf8_len(l->text) < 3)
            continue;
        /* large and long: a logo is large but short */
        cap_char_kinds k = kinds(l->text);
        int len = k.latin + 2 * k.cjk;
        float score = (float)l->h * (1.0f + (float)(len < 30 ? len : 30) / 15.0f);
        if (l->h >= mh * 1.25f && (ti < 0 || score > best)) {
            ti = i;
            best = score;
        }
    }
    if (ti < 0) {
        for (int i = 0; i < d->n_lines && ti < 0; i++)
            if (has_words(d->lines[i].text) && utf8_len(d->lines[i].text) >= 3)
                ti = i;
    }
    if (ti >= 0 && !d->title)
        set_str(&d->title, d->lines[ti].text);
    /* columns: many lines that start right of the middle and are narrower
     * than half the page */
    int right = 0, narrow = 0, body = 0;
    for (int i = 0; i < d->n_lines; i++) {
        const cap_text_line *l = &d->lines[i];
        if (utf8_len(l->text) < 12)
            continue;
        body++;
        narrow += l->w < W * 11 / 20;
        right += l->x > W * 9 / 20 && l->w < W * 11 / 20;
    }
    d->n_text_columns = body >= 6 && right * 4 >= body && narrow * 3 >= body * 2 ? 2 : 1;
    core_buf b;
    core_buf_init(&b, 1024);
    for (int i = (ti >= 0 ? ti + 1 : 0); i < d->n_lines && b.len < 300; i++) {
        if (!has_words(d->lines[i].text))
            continue;
        if (b.len)
            core_buf_puts(&b, " ");
        core_buf_puts(&b, d->lines[i].text);
    }
    if (b.len > 300) {
        /* cut at a code-point boundary */
        size_t k = 300;
        while (k > 0 && ((unsigned char)b.data[k] & 0xC0) == 0x80)
            k--;
        b.data[k] = 0;
        b.len = k;
        core_buf_puts(&b, "…");
    }
    if (b.len) {
        free(d->lead);
        d->lead = core_buf_steal(&b);
    } else {
        core_buf_free(&b);
    }
}

/* ------------------------------------------------------- screenshot ---- */

/* Generic words of desktop and web controls (not taken from any data set):
 * they rank a short isolated word as a control. */
static const char *const UI_VOCAB[] = {
    "file", "edit", "view", "help", "tools", "options", "settings", "preferences",
    "ok", "cancel", "apply", "close", "save", "open", "new", "delete", "remove",
    "install", "uninstall", "update", "upgrade", "search", "find", "back", "next",
    "previous", "continue", "finish", "quit", "exit", "yes", "no", "add", "refresh",
    "reload", "properties", "window", "insert", "format", "run", "go", "home",
    "login", "log in", "sign in", "submit", "reset", "browse", "download", "print",
    "copy", "paste", "cut", "undo", "redo", "select", "menu", "activities",
    "applications", "inbox", "send", "compose", "reply", "forward", "share",
    "文件", "编辑", "视图", "帮助", "工具", "设置", "选项", "确定", "取消", "应用",
    "关闭", "保存", "打开", "新建", "删除", "安装", "更新", "搜索", "查找", "返回",
    "下一步", "上一步", "完成", "退出", "是", "否", "添加", "刷新", "属性", "窗口",
};

static bool in_vocab(const char *s)
{
    char low[64];
    size_t n = strlen(s);
    if (n >= sizeof low)
        return false;
    for (size_t i = 0; i <= n; i++)
        low[i] = (char)tolower((unsigned char)s[i]);
    /* "文件(F)", "Edit..." */
    char *p = strpbrk(low, "(.:");
    if (p && p > low)
        *p = 0;
    for (size_t i = 0; i < sizeof UI_VOCAB / sizeof *UI_VOCAB; i++)
        if (strcmp(low, UI_VOCAB[i]) == 0)
            return true;
    return false;
}

ODX_STATIC void st_screenshot(cap_desc *d)
{
    /* title: the topmost worded line near the top (window or page title) */
    int ti = -1;
    for (int i = 0; i < d->n_lines; i++) {
        const cap_text_line *l = &d->lines[i];
        if (!has_words(l->text) || utf8_len(l->text) < 3 || l->y > d->height / 6)
            continue;
        cap_char_kinds k = kinds(l->text);
        /* a clock or a counter in a panel is not a title */
        if (in_vocab(l->text) || (k.latin < 4 && k.cjk < 2) || k.digit > k.latin + k.cjk)
            continue;
        int cx = l->x + l->w / 2;
        int dc = abs(cx - d->width / 2);
        /* prefer the upper line; among equals, the more centred */
        if (ti < 0 || l->y + l->h < d->lines[ti].y ||
            (abs(l->y - d->lines[ti].y) < l->h &&
             dc < abs(d->lines[ti].x + d->lines[ti].w / 2 - d->width / 2)))
            ti = i;
    }
    if (ti >= 0 && !d->title)
        set_str(&d->title, d->lines[ti].text);
    /* controls: vocabulary words first, then other short isolated words
     * with a capital or Han start */
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < d->n_lines; i++) {
            const char *t = d->lines[i].text;
            int ncp = utf8_len(t);
            if (ncp < 2 || ncp > 18 || d->lines[i].conf < 70)
                continue;
            /* the whole segment or each of its words */
            char buf[128];
            snprintf(buf, sizeof buf, "%s", t);
            char *save = NULL;
            for (char *w = strtok_r(buf, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
                bool voc = in_vocab(w);
                cap_char_kinds k = kinds(w);
                bool shaped = (isupper((unsigned char)w[0]) && k.latin >= 2 &&
                               k.digit == 0 && strlen(w) <= 12) ||
                              (k.cjk >= 2 && k.cjk <= 5 && k.latin == 0);
                if ((pass == 0 && voc) || (pass == 1 && !voc && shaped && ncp <= 12))
                    push_str(&d->ui_words, &d->n_ui_words, ST_MAX_UI, w);
            }
        }
    }
}

/* ------------------------------------------------------------ poster ---- */

/* The largest worded line. A title is named in the caption, so it must
 * read like one: three letters or two Han characters, read surely (two
 * letters in a circle of a graph came back as "CD"). */
static void st_biggest_title(cap_desc *d)
{
    int ti = -1;
    for (int i = 0; i < d->n_lines; i++) {
        const cap_text_line *l = &d->lines[i];
        if (is_rotated(l) || !has_words(l->text) || l->conf < 70)
            continue;
        cap_char_kinds k = kinds(l->text);
        if (k.latin < 3 && k.cjk < 2)
            continue;
        if (ti < 0 || l->h > d->lines[ti].h)
            ti = i;
    }
    if (ti >= 0 && !d->title)
        set_str(&d->title, d->lines[ti].text);
}

void cap_structure(cap_desc *d, const cap_image *full)
{
    if (!d || !d->ocr_ran || d->n_lines == 0)
        return;
    switch (d->domain) {
    case CAP_TABLE:
        st_table(d, full);
        if (!d->title)
            st_document(d);
        break;
    case CAP_CHART:
        st_chart(d, full);
        break;
    case CAP_DOCUMENT:
        st_document(d);
        break;
    case CAP_SCREENSHOT:
        st_screenshot(d);
        break;
    case CAP_POSTER:
    case CAP_DIAGRAM:
        st_biggest_title(d);
        break;
    default:
        break;
    }
}

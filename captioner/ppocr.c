/* ppocr.c - the PP-OCR text reader: image -> DB detector probability map ->
 * boxes (binarise, components, minimum-area rectangles, box score, unclip)
 * -> perspective crops at height 48 -> direction classifier (0/180) ->
 * recogniser, batched by width -> CTC greedy decoding over ppocr_keys_v1.txt
 * -> lines in reading order. The networks run on captioner/runtime (ONNX
 * front-end); pre/post-processing follows PaddleOCR's published inference
 * settings (det 960 max side, thresholds 0.3/0.6, unclip 1.5, rec 3x48x320). */
#include "ppocr.h"

#include "runtime/runtime.h"

#include <ctype.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REC_H 48
#define REC_W 320
#define CLS_W 192
#define REC_BATCH 6
#define REC_MAX_W 1600
/* det_small_h's default (see detect_small) */
#define DET_SMALL_H 16.0f
#define MAX_KEYS 20000
/* a second reading the other way up replaces the default one only when it
 * is this much more confident: where both are sure (0.99 vs 1.00 on a
 * turned axis title, dev d038) the default stands */
#define TURN_MARGIN 0.05f

struct cap_ppocr {
    tfj_model *det, *rec, *cls;
    char **keys; /* index 1..n_keys; 0 is blank, n_keys+1 is space */
    int n_keys;
    char *key_data;
};

struct cap_ppocr_state {
    const cap_ppocr *p;
    tfj_state *det, *rec, *cls;
    double t_det, t_cls, t_rec, t_total;
    float det_h;     /* the last read's median box height, detector pixels */
    bool det_again;  /* and whether it was detected again larger */
};

cap_ppocr_params cap_ppocr_params_default(void)
{
    /* rec_min_ratio 1: PaddleOCR pads every batch to at least 320/48;
     * padding a short word to 320 columns costs up to ~5x its own compute
     * (see the measurements in runtime/README.md) and reads no more: on
     * dev (ocr_eval --rec-min-ratio 6.6667, 2026-12-03) key text stayed en
     * 183/209, zh 55/64, the same items missed on every image, while OCR
     * time per image with key text went median 1970 -> 3068 ms (tables
     * 3751 -> 6779 ms/image; wall time on the shared 2-core machine,
     * busier during the padded run).
     * rec_batch_cols: the run's buffers grow with lines x width (6
     * page-wide lines at 1600 columns: 200 MB of buffers; at 3840 about
     * 80 MB, wide lines 2 or 3 at a time). A line's padding depends on its
     * batch; measured on dev (ocr_eval, one run): key text en 183/209
     * both, zh 54/64 (always 6 lines) -> 55/64 (3840).
     * Tried 2026-12-07 and left out: padding the ends of short level boxes
     * (lone letters of figures) by 0.2 of their height: by-construction
     * figure set (tests/eval/ocr_set.py --kinds figure) seed 12 178 ->
     * 182 of 249 en key texts, seed 77 173 -> 173 of 237. */
    cap_ppocr_params p = {960, 0.3f, 0.6f, 1.5f, 0.5f, true, 0.9f, 200, 1.0f, 3840, 2.0f, 1.0f,
                          REC_MAX_W, DET_SMALL_H, 2560};
    return p;
}

void cap_ppocr_free(cap_ppocr *p)
{
    if (!p) return;
    tfj_model_free(p->det);
    tfj_model_free(p->rec);
    tfj_model_free(p->cls);
    free(p->keys);
    free(p->key_data);
    free(p);
}

static odx_status load_keys(cap_ppocr *p, const char *path, odx_err *err)
{
    size_t len = 0;
    uint8_t *d = NULL;
    odx_status st = core_read_file(path, 4 << 20, &d, &len, err);
    if (st != ODX_OK) return st;
    p->key_data = (char *)d;
    int n = 0;
    for (size_t i = 0; i < len; i++) n += d[i] == '\n';
    p->keys = calloc((size_t)n + 4, sizeof(char *));
    if (!p->keys) return core_err(err, ODX_ERR_NOMEM, "out of memory");
    char *s = p->key_data;
    char *end = s + len;
    p->n_keys = 0;
    while (s < end && p->n_keys < MAX_KEYS) {
        char *nl = memchr(s, '\n', (size_t)(end - s));
        if (!nl) nl = end;
        if (nl > s && nl[-1] == '\r') nl[-1] = 0;
        *nl = 0;
        p->keys[++p->n_keys] = s;
        s = nl + 1;
    }
    if (p->n_keys < 10)
        return core_err(err, ODX_ERR_MODEL, "'%s' holds %d characters", path, p->n_keys);
    return ODX_OK;
}

odx_status cap_ppocr_load(const char *dir, cap_ppocr **out, odx_err *err)
{
    static const char *const files[3] = {"ch_PP-OCRv4_det_infer.onnx", "ch_PP-OCRv4_rec_infer.onnx",
                                   "ch_ppocr_mobile_v2.0_cls_infer.onnx"};
    cap_ppocr *p = calloc(1, sizeof *p);
    if (!p) return core_err(err, ODX_ERR_NOMEM, "out of memory");
    char path[2048];
    odx_status st = ODX_OK;
    tfj_model **ms[3] = {&p->det, &p->rec, &p->cls};
    for (int k = 0; k < 3 && st == ODX_OK; k++) {
        snprintf(path, sizeof path, "%s/%s", dir ? dir : ".", files[k]);
        odx_err e2 = {0};
        st = tfj_model_load_onnx(path, ms[k], &e2);
        if (st == ODX_ERR_NOT_FOUND)
            core_err(err, st, "PP-OCR model '%.400s' missing: run scripts/fetch_models.sh", path);
        else if (st != ODX_OK)
            core_err(err, st, "%s", e2.msg);
    }
    /* bf16 convolutions where the CPU has AVX512-BF16 (runtime/README.md:
     * dev OCR CPU per text-heavy image median 1038 -> 783 ms, key text en
     * 191 -> 190 of 209, zh 56 of 64 both; OCR set en 440, zh 317 both);
     * OMNIDEX_OCR_FLOAT=1 (anything but "0") keeps float throughout */
    const char *fl = getenv("OMNIDEX_OCR_FLOAT");
    if (!(fl && *fl && strcmp(fl, "0")))
        for (int k = 0; k < 3 && st == ODX_OK; k++) st = tfj_model_use_bf16(*ms[k], NULL, err);
    if (st == ODX_OK) {
        snprintf(path, sizeof path, "%s/ppocr_keys_v1.txt", dir ? dir : ".");
        st = load_keys(p, path, err);
    }
    if (st != ODX_OK) {
        cap_ppocr_free(p);
        return st;
    }
    *out = p;
    return ODX_OK;
}

odx_status cap_ppocr_state_new(const cap_ppocr *p, cap_ppocr_state **out, odx_err *err)
{
    cap_ppocr_state *s = calloc(1, sizeof *s);
    if (!s) return core_err(err, ODX_ERR_NOMEM, "out of memory");
    s->p = p;
    odx_status st;
    if ((st = tfj_state_new(p->det, &s->det, err)) || (st = tfj_state_new(p->rec, &s->rec, err)) ||
        (st = tfj_state_new(p->cls, &s->cls, err))) {
        cap_ppocr_state_free(s);
        return st;
    }
    *out = s;
    return ODX_OK;
}

void cap_ppocr_state_free(cap_ppocr_state *s)
{
    if (!s) return;
    tfj_state_free(s->det);
    tfj_state_free(s->rec);
    tfj_state_free(s->cls);
    free(s);
}

void cap_ppocr_state_times(const cap_ppocr_state *s, double *det, double *cls, double *rec,
                           double *total)
{
    if (det) *det = s ? s->t_det : 0;
    if (cls) *cls = s ? s->t_cls : 0;
    if (rec) *rec = s ? s->t_rec : 0;
    if (total) *total = s ? s->t_total : 0;
}

float cap_ppocr_state_det_h(const cap_ppocr_state *s, bool *again)
{
    if (again) *again = s && s->det_again;
    return s ? s->det_h : 0;
}

void cap_ppocr_state_profile(cap_ppocr_state *s, bool on)
{
    tfj_state_profile(s->det, on);
    tfj_state_profile(s->cls, on);
    tfj_state_profile(s->rec, on);
}

int cap_ppocr_state_profile_get(const cap_ppocr_state *s, int net, const char **names, double *ms,
                                int *calls, int max)
{
    const tfj_state *t = net == 0 ? s->det : net == 1 ? s->cls : s->rec;
    return tfj_state_profile_get(t, names, ms, calls, max);
}

void cap_ppocr_lines_free(cap_ppocr_line *l, int n)
{
    if (!l) return;
    for (int i = 0; i < n; i++) free(l[i].text);
    free(l);
}

/* ----------------------------------------------------------- pixels ---- */

/* Bilinear sample of channel c at (x, y) in pixel-centre coordinates,
 * edges replicated. */
static inline float sample(const cap_image *im, float x, float y, int c)
{
    if (x < 0) x = 0;
    if (y < 0) y = 0;
    if (x > im->w - 1) x = (float)(im->w - 1);
    if (y > im->h - 1) y = (float)(im->h - 1);
    int x0 = (int)x, y0 = (int)y;
    int x1 = x0 + 1 < im->w ? x0 + 1 : x0, y1 = y0 + 1 < im->h ? y0 + 1 : y0;
    float fx = x - (float)x0, fy = y - (float)y0;
    const uint8_t *r0 = im->rgb + (size_t)y0 * im->w * 3, *r1 = im->rgb + (size_t)y1 * im->w * 3;
    float a = r0[x0 * 3 + c] + (r0[x1 * 3 + c] - r0[x0 * 3 + c]) * fx;
    float b = r1[x0 * 3 + c] + (r1[x1 * 3 + c] - r1[x0 * 3 + c]) * fx;
    return a + (b - a) * fy;
}

/* Resizes im (bilinear, half-pixel centres) into a CHW float block of
 * h x stride, filling the first w columns, channels in BGR order (the
 * models were trained on OpenCV's BGR), normalised per channel. */
static void to_input(const cap_image *im, int w, int h, int stride, const float *mean,
                     const float *std, float *out)
{
    float sx = (float)im->w / (float)w, sy = (float)im->h / (float)h;
    for (int y = 0; y < h; y++) {
        float fy = ((float)y + 0.5f) * sy - 0.5f;
        for (int x = 0; x < w; x++) {
            float fx = ((float)x + 0.5f) * sx - 0.5f;
            for (int c = 0; c < 3; c++) {
                float v = sample(im, fx, fy, 2 - c) / 255.0f;
                out[((size_t)c * h + y) * stride + x] = (v - mean[c]) / std[c];
            }
        }
    }
}

/* ------------------------------------------------------------ boxes ---- */

static float cross(const float *o, const float *a, const float *b)
{
    return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
}

static int cmp_pt(const void *a, const void *b)
{
    const float *p = a, *q = b;
    if (p[0] != q[0]) return p[0] < q[0] ? -1 : 1;
    return p[1] < q[1] ? -1 : p[1] > q[1];
}

/* Andrew's monotone chain; pts sorted in place; hull written to h (2n floats
 * room), returns its vertex count. */
static int hull(float *pts, int n, float *h)
{
    qsort(pts, (size_t)n, 2 * sizeof(float), cmp_pt);
    int k = 0;
    for (int i = 0; i < n; i++) {
        while (k >= 2 && cross(&h[2 * (k - 2)], &h[2 * (k - 1)], &pts[2 * i]) <= 0) k--;
        h[2 * k] = pts[2 * i];
        h[2 * k + 1] = pts[2 * i + 1];
        k++;
    }
    for (int i = n - 2, t = k + 1; i >= 0; i--) {
        while (k >= t && cross(&h[2 * (k - 2)], &h[2 * (k - 1)], &pts[2 * i]) <= 0) k--;
        h[2 * k] = pts[2 * i];
        h[2 * k + 1] = pts[2 * i + 1];
        k++;
    }
    return n > 1 ? k - 1 : n;
}

/* Orders 4 corners like PaddleOCR's get_mini_boxes: by x; the left pair's
 * upper is TL, lower BL; the right pair's upper TR, lower BR. */
static void order_quad(const float *c, float *q)
{
    float p[8];
    memcpy(p, c, sizeof p);
    qsort(p, 4, 2 * sizeof(float), cmp_pt);
    int tl = p[1] < p[3] ? 0 : 1, bl = 1 - tl;
    int tr = p[5] < p[7] ? 2 : 3, br = 5 - tr;
    q[0] = p[2 * tl], q[1] = p[2 * tl + 1];
    q[2] = p[2 * tr], q[3] = p[2 * tr + 1];
    q[4] = p[2 * br], q[5] = p[2 * br + 1];
    q[6] = p[2 * bl], q[7] = p[2 * bl + 1];
}

/* Rectangle from centre, unit axis u, half extents: corners. */
static void rect_corners(float cx, float cy, float ux, float uy, float hw, float hh, float *c)
{
    float vx = -uy, vy = ux;
    float s[4][2] = {{-1, -1}, {1, -1}, {1, 1}, {-1, 1}};
    for (int k = 0; k < 4; k++) {
        c[2 * k] = cx + s[k][0] * hw * ux + s[k][1] * hh * vx;
        c[2 * k + 1] = cy + s[k][0] * hw * uy + s[k][1] * hh * vy;
    }
}

/* Rotating calipers over the hull's edges: the rectangle of least area. */
static float min_rect_hull(const float *h, int k, float *cx, float *cy, float *ux, float *uy,
                           float *w, float *ht)
{
    float best = FLT_MAX;
    *ux = 1, *uy = 0, *w = 0, *ht = 0, *cx = k ? h[0] : 0, *cy = k ? h[1] : 0;
    if (k == 1) return 0;
    for (int i = 0; i < k; i++) {
        const float *a = &h[2 * i], *b = &h[2 * ((i + 1) % k)];
        float dx = b[0] - a[0], dy = b[1] - a[1], len = sqrtf(dx * dx + dy * dy);
        if (len < 1e-6f) continue;
        dx /= len, dy /= len;
        float umin = FLT_MAX, umax = -FLT_MAX, vmin = FLT_MAX, vmax = -FLT_MAX;
        for (int j = 0; j < k; j++) {
            float u = h[2 * j] * dx + h[2 * j + 1] * dy, v = -h[2 * j] * dy + h[2 * j + 1] * dx;
            umin = u < umin ? u : umin, umax = u > umax ? u : umax;
            vmin = v < vmin ? v : vmin, vmax = v > vmax ? v : vmax;
        }
        float area = (umax - umin) * (vmax - vmin);
        if (area < best - 1e-6f) {
            best = area;
            float mu = (umin + umax) / 2, mv = (vmin + vmax) / 2;
            *cx = mu * dx - mv * dy;
            *cy = mu * dy + mv * dx;
            *ux = dx, *uy = dy;
            *w = umax - umin, *ht = vmax - vmin;
        }
    }
    return best;
}

float cap_ppocr_min_rect(const float *pts, int n, float quad[8])
{
    float *p = malloc((size_t)n * 2 * sizeof(float)), *h = malloc(((size_t)n * 2 + 2) * 2 * sizeof(float));
    float side = 0;
    if (p && h && n > 0) {
        memcpy(p, pts, (size_t)n * 2 * sizeof(float));
        int k = hull(p, n, h);
        float cx, cy, ux, uy, w, ht, c[8];
        min_rect_hull(h, k, &cx, &cy, &ux, &uy, &w, &ht);
        rect_corners(cx, cy, ux, uy, w / 2, ht / 2, c);
        order_quad(c, quad);
        side = w < ht ? w : ht;
    } else {
        memset(quad, 0, 8 * sizeof(float));
    }
    free(p);
    free(h);
    return side;
}

/* Mean probability inside the (convex) quad. */
static float box_score(const float *prob, int W, int H, const float *q)
{
    float xmn = q[0], xmx = q[0], ymn = q[1], ymx = q[1];
    for (int k = 1; k < 4; k++) {
        xmn = fminf(xmn, q[2 * k]), xmx = fmaxf(xmx, q[2 * k]);
        ymn = fminf(ymn, q[2 * k + 1]), ymx = fmaxf(ymx, q[2 * k + 1]);
    }
    int x0 = (int)floorf(xmn), x1 = (int)ceilf(xmx), y0 = (int)floorf(ymn), y1 = (int)ceilf(ymx);
    x0 = x0 < 0 ? 0 : x0, y0 = y0 < 0 ? 0 : y0;
    x1 = x1 > W - 1 ? W - 1 : x1, y1 = y1 > H - 1 ? H - 1 : y1;
    double s = 0;
    int64_t cnt = 0;
    for (int y = y0; y <= y1; y++)
        for (int x = x0; x <= x1; x++) {
            float pt[2] = {(float)x, (float)y};
            bool in = true;
            for (int k = 0; k < 4 && in; k++)
                in = cross(&q[2 * k], &q[2 * ((k + 1) % 4)], pt) >= -0.5f *
                     hypotf(q[2 * ((k + 1) % 4)] - q[2 * k], q[2 * ((k + 1) % 4) + 1] - q[2 * k + 1]);
            if (in) {
                s += prob[(size_t)y * W + x];
                cnt++;
            }
        }
    return cnt ? (float)(s / (double)cnt) : 0.0f;
}

typedef struct dbox {
    float q[8];
    float score;
} dbox;

/* DB post-processing on the probability map prob[H][W]: boxes in map
 * pixels. Components are 8-connected; each component's row extremes feed
 * the hull (the hull of all its pixels). */
static odx_status db_boxes(const float *prob, int W, int H, const cap_ppocr_params *pp,
                           dbox **out, int *n_out, odx_err *err)
{
    odx_status st = ODX_OK;
    size_t N = (size_t)W * H;
    uint8_t *seen = calloc(N, 1);
    int *stack = malloc(N * sizeof(int));
    int *rmin = malloc((size_t)H * sizeof(int)), *rmax = malloc((size_t)H * sizeof(int));
    float *pts = malloc((size_t)H * 4 * sizeof(float)), *hb = malloc(((size_t)H * 4 + 4) * 2 * sizeof(float));
    dbox *bx = NULL;
    int nb = 0, cap = 0;
    if (!seen || !stack || !rmin || !rmax || !pts || !hb) {
        st = core_err(err, ODX_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < N; i++) seen[i] = prob[i] > pp->det_thresh ? 0 : 2;
    for (int r = 0; r < H; r++) rmin[r] = W, rmax[r] = -1;
    for (size_t start = 0; start < N && nb < 1000; start++) {
        if (seen[start]) continue;
        int sp = 0, ylo = H, yhi = -1;
        stack[sp++] = (int)start;
        seen[start] = 1;
        while (sp) {
            int v = stack[--sp], x = v % W, y = v / W;
            ylo = y < ylo ? y : ylo;
            yhi = y > yhi ? y : yhi;
            if (x < rmin[y]) rmin[y] = x;
            if (x > rmax[y]) rmax[y] = x;
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    int xx = x + dx, yy = y + dy;
                    if (xx < 0 || yy < 0 || xx >= W || yy >= H) continue;
                    size_t k = (size_t)yy * W + xx;
                    if (seen[k]) continue;
                    seen[k] = 1;
                    stack[sp++] = (int)k;
                }
        }
        int np = 0;
        for (int r = ylo; r <= yhi; r++) {
            if (rmax[r] < 0) continue;
            pts[2 * np] = (float)rmin[r], pts[2 * np + 1] = (float)r, np++;
            pts[2 * np] = (float)rmax[r], pts[2 * np + 1] = (float)r, np++;
            rmin[r] = W, rmax[r] = -1;
        }
        if (np < 2) continue;
        int k = hull(pts, np, hb);
        float cx, cy, ux, uy, w, h, c[8], q[8];
        min_rect_hull(hb, k, &cx, &cy, &ux, &uy, &w, &h);
        if ((w < h ? w : h) < 3) continue;
        rect_corners(cx, cy, ux, uy, w / 2, h / 2, c);
        order_quad(c, q);
        float sc = box_score(prob, W, H, q);
        if (sc < pp->box_thresh) continue;
        /* unclip: a rectangle offset by d (round joins) has the rectangle
         * w + 2d by h + 2d as its minimum-area box */
        float d = w * h * pp->unclip_ratio / (2 * (w + h));
        w += 2 * d, h += 2 * d;
        if ((w < h ? w : h) < 5) continue;
        rect_corners(cx, cy, ux, uy, w / 2, h / 2, c);
        if (nb == cap) {
            cap = cap ? cap * 2 : 32;
            dbox *nbx = realloc(bx, (size_t)cap * sizeof *bx);
            if (!nbx) {
                st = core_err(err, ODX_ERR_NOMEM, "out of memory");
                goto done;
            }
            bx = nbx;
        }
        order_quad(c, bx[nb].q);
        bx[nb].score = sc;
        nb++;
    }
    *out = bx;
    *n_out = nb;
    bx = NULL;
done:
    free(bx);
    free(seen);
    free(stack);
    free(rmin);
    free(rmax);
    free(pts);
    free(hb);
    return st;
}

/* ------------------------------------------------------------ crops ---- */

/* Solves the 8x8 system for the homography taking (0,0),(w,0),(w,h),(0,h)
 * to the quad; H[8] with h33 = 1. */
static bool homography(const float *q, float w, float h, double *H)
{
    double A[8][9];
    double src[4][2] = {{0, 0}, {w, 0}, {w, h}, {0, h}};
    for (int k = 0; k < 4; k++) {
        double x = src[k][0], y = src[k][1], u = q[2 * k], v = q[2 * k + 1];
        double r1[9] = {x, y, 1, 0, 0, 0, -u * x, -u * y, u};
        double r2[9] = {0, 0, 0, x, y, 1, -v * x, -v * y, v};
        memcpy(A[2 * k], r1, sizeof r1);
        memcpy(A[2 * k + 1], r2, sizeof r2);
    }
    for (int c = 0; c < 8; c++) {
        int piv = c;
        for (int r = c + 1; r < 8; r++)
            if (fabs(A[r][c]) > fabs(A[piv][c])) piv = r;
        if (fabs(A[piv][c]) < 1e-12) return false;
        if (piv != c)
            for (int j = 0; j < 9; j++) {
                double t = A[c][j];
                A[c][j] = A[piv][j];
                A[piv][j] = t;
            }
        for (int r = 0; r < 8; r++) {
            if (r == c) continue;
            double f = A[r][c] / A[c][c];
            for (int j = c; j < 9; j++) A[r][j] -= f * A[c][j];
        }
    }
    for (int c = 0; c < 8; c++) H[c] = A[c][8] / A[c][c];
    return true;
}

/* The quad warped upright into a new image (PaddleOCR's
 * get_rotate_crop_image); a crop 1.5x taller than wide is turned 90 degrees
 * counter-clockwise (vertical text read as a line). */
static odx_status crop_quad(const cap_image *im, const float *q, cap_image *out, bool *turned,
                            odx_err *err)
{
    float w = fmaxf(hypotf(q[2] - q[0], q[3] - q[1]), hypotf(q[4] - q[6], q[5] - q[7]));
    float h = fmaxf(hypotf(q[6] - q[0], q[7] - q[1]), hypotf(q[4] - q[2], q[5] - q[3]));
    int cw = (int)w, ch = (int)h;
    if (cw < 1) cw = 1;
    if (ch < 1) ch = 1;
    if ((int64_t)cw * ch > ((int64_t)1 << 26))
        return core_err(err, ODX_ERR_LIMIT, "text box too large");
    double H[8];
    if (!homography(q, (float)cw, (float)ch, H)) {
        H[0] = 1, H[1] = 0, H[2] = q[0], H[3] = 0, H[4] = 1, H[5] = q[1], H[6] = 0, H[7] = 0;
    }
    bool rot = (float)ch / (float)cw >= 1.5f;
    *turned = rot;
    out->w = rot ? ch : cw;
    out->h = rot ? cw : ch;
    out->rgb = malloc((size_t)cw * ch * 3);
    if (!out->rgb) return core_err(err, ODX_ERR_NOMEM, "out of memory");
    for (int y = 0; y < ch; y++)
        for (int x = 0; x < cw; x++) {
            double den = H[6] * x + H[7] * y + 1;
            float sx = (float)((H[0] * x + H[1] * y + H[2]) / den);
            float sy = (float)((H[3] * x + H[4] * y + H[5]) / den);
            /* np.rot90: output (row r, col c) = input (row c, col W-1-r) */
            int ox = rot ? y : x, oy = rot ? cw - 1 - x : y;
            uint8_t *d = out->rgb + ((size_t)oy * out->w + ox) * 3;
            for (int c = 0; c < 3; c++) {
                float v = sample(im, sx, sy, c);
                d[c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v + 0.5f);
            }
        }
    return ODX_OK;
}

static void rotate180(cap_image *im)
{
    size_t n = (size_t)im->w * im->h;
    for (size_t i = 0, j = n - 1; i < j; i++, j--)
        for (int c = 0; c < 3; c++) {
            uint8_t t = im->rgb[i * 3 + c];
            im->rgb[i * 3 + c] = im->rgb[j * 3 + c];
            im->rgb[j * 3 + c] = t;
        }
}

/* ------------------------------------------------------------- CTC ---- */

static bool ascii_mark(const char *c)
{
    return c[0] > ' ' && (unsigned char)c[0] < 0x80 && !c[1];
}

char *cap_ppocr_ctc(const cap_ppocr *p, const float *probs, int T, int C, const float *gaps,
                    int n_gaps, float px_per_frame, float *conf)
{
    core_buf b;
    core_buf_init(&b, 1 << 20);
    double s = 0;
    int kept = 0, prev = -1, g = 0;
    const char *last = NULL;
    float last_x = 0;
    for (int t = 0; t < T; t++) {
        const float *r = probs + (size_t)t * C;
        int best = 0;
        for (int c = 1; c < C; c++)
            if (r[c] > r[best]) best = c;
        if (best != 0 && best != prev) {
            const char *ch = best <= p->n_keys ? p->keys[best] : best == p->n_keys + 1 ? " " : "";
            float x = ((float)t + 0.5f) * px_per_frame;
            /* a word gap the recogniser did not spell between two Latin
             * letters/digits: a blank run of columns lies between them */
            while (g < n_gaps && gaps[g] < last_x) g++;
            if (last && g < n_gaps && gaps[g] < x && ascii_mark(last) && ascii_mark(ch))
                core_buf_puts(&b, " ");
            core_buf_puts(&b, ch);
            s += r[best];
            kept++;
            last = ch;
            last_x = x;
        }
        prev = best;
    }
    *conf = kept ? (float)(s / kept) : 0.0f;
    core_buf_puts(&b, "");
    char *txt = core_buf_steal(&b);
    core_buf_free(&b);
    if (txt) cap_ppocr_fix_digits(txt);
    return txt;
}

static bool is_alnum_ascii(char c)
{
    return (unsigned char)c < 128 && isalnum((unsigned char)c);
}

/* The recogniser reads a zero between digits as the letter o ("1ooo
 * earthquakes", "Weight (10oo lbs)"): a word of ASCII letters and digits
 * that starts with a digit and has no letter but o or O is a number, and
 * its o's become zeros. Words with another letter ("1oz", "0x1f", "2nd")
 * are left. */
void cap_ppocr_fix_digits(char *s)
{
    for (size_t i = 0; s[i];) {
        if (!is_alnum_ascii(s[i]) || (i > 0 && is_alnum_ascii(s[i - 1]))) {
            i++;
            continue;
        }
        size_t j = i;
        bool number = isdigit((unsigned char)s[i]), has_o = false;
        while (is_alnum_ascii(s[j])) {
            if (s[j] == 'o' || s[j] == 'O') has_o = true;
            else if (!isdigit((unsigned char)s[j])) number = false;
            j++;
        }
        if (number && has_o)
            for (size_t k = i; k < j; k++)
                if (s[k] == 'o' || s[k] == 'O') s[k] = '0';
        i = j;
    }
}

/* Word gaps in a recogniser input (CHW, normalised; the first w columns
 * hold the line): the centres of blank column runs (range of grey under
 * 0.15 of the full range) of at least a quarter of the line height and,
 * with rel > 0, at least rel times the median of the line's shorter runs
 * between marks (its letter spacing). Display lettering keeps a quarter
 * height between its letters at 48 px: by the quarter-height rule alone
 * "Kazakhstan" came out as "Kaza khsta n" (drawn country names, see
 * runtime/README.md). */
static int find_gaps(const float *x, int w, int stride, float rel, float *gaps, int max)
{
    enum { MAX_RUNS = 1024 };
    int starts[MAX_RUNS], lens[MAX_RUNS], nr = 0, run = 0;
    for (int c = 0; c <= w; c++) {
        bool blank = false;
        if (c < w) {
            float mn = 9, mx = -9;
            for (int y = 0; y < REC_H; y++) {
                float v = x[(size_t)y * stride + c];
                mn = v < mn ? v : mn;
                mx = v > mx ? v : mx;
            }
            blank = mx - mn < 0.3f;
        }
        if (blank) {
            run++;
        } else {
            if (run > 0 && run < c && nr < MAX_RUNS) starts[nr] = c - run, lens[nr++] = run;
            run = 0;
        }
    }
    /* the letter spacing: median of the runs under a quarter height */
    float lim = 0;
    if (rel > 0) {
        int sh[MAX_RUNS], ns = 0;
        for (int i = 0; i < nr; i++)
            if (lens[i] < REC_H / 4 && starts[i] + lens[i] < w) {
                int k = ns++;
                while (k > 0 && sh[k - 1] > lens[i]) sh[k] = sh[k - 1], k--;
                sh[k] = lens[i];
            }
        if (ns) lim = rel * (ns % 2 ? (float)sh[ns / 2] : 0.5f * (float)(sh[ns / 2 - 1] + sh[ns / 2]));
    }
    int n = 0;
    for (int i = 0; i < nr && n < max; i++)
        if (lens[i] >= REC_H / 4 && (float)lens[i] >= lim)
            gaps[n++] = (float)starts[i] + lens[i] / 2.0f;
    return n;
}

/* ------------------------------------------------------------ read ---- */

static const float MEAN_DET[3] = {0.485f, 0.456f, 0.406f}, STD_DET[3] = {0.229f, 0.224f, 0.225f};
static const float MEAN_REC[3] = {0.5f, 0.5f, 0.5f}, STD_REC[3] = {0.5f, 0.5f, 0.5f};

typedef struct item {
    cap_image crop;
    float q[8];
    float score;
    float ratio;
    int order;    /* reading order index */
    bool turned;  /* the crop was turned 90 degrees (a tall box) */
    bool flipped; /* the crop was turned 180 degrees */
    char *text;   /* the recogniser's reading, owned */
    float conf;
} item;

/* Recogniser input width for a line (or batch) of this aspect ratio. */
static int rec_width(const cap_ppocr_params *pp, float ratio)
{
    float mr = fmaxf(pp->rec_min_ratio, ratio);
    int W = (int)(REC_H * mr);
    int mx = pp->rec_max_w >= REC_H ? pp->rec_max_w : REC_MAX_W;
    if (W > mx) W = mx;
    return (W + 7) / 8 * 8;
}

static int cmp_ratio(const void *a, const void *b)
{
    const item *x = *(item *const *)a, *y = *(item *const *)b;
    return x->ratio < y->ratio ? -1 : x->ratio > y->ratio;
}

static int cmp_topleft(const void *a, const void *b)
{
    const dbox *x = a, *y = b;
    if (x->q[1] != y->q[1]) return x->q[1] < y->q[1] ? -1 : 1;
    return x->q[0] < y->q[0] ? -1 : x->q[0] > y->q[0];
}

static tfj_tensor tensor4(float *d, int n, int c, int h, int w)
{
    tfj_tensor t = {0};
    t.dtype = TFJ_F32;
    t.ndim = 4;
    t.shape[0] = n, t.shape[1] = c, t.shape[2] = h, t.shape[3] = w;
    t.n = (int64_t)n * c * h * w;
    t.d.f = d;
    return t;
}

static void quad_bounds(const float *q, float *b)
{
    b[0] = b[2] = q[0], b[1] = b[3] = q[1];
    for (int k = 1; k < 4; k++) {
        b[0] = fminf(b[0], q[2 * k]), b[2] = fmaxf(b[2], q[2 * k]);
        b[1] = fminf(b[1], q[2 * k + 1]), b[3] = fmaxf(b[3], q[2 * k + 1]);
    }
}

/* The detector, trained on level lines, cuts a turned line (a chart's
 * axis title, a spine) at its word gaps: "(millions)" and "Population"
 * came as two boxes one above the other (dev d057) and were read as two
 * lines in the wrong order. Tall boxes of about the same width stacked in
 * one column, with a gap under their width (the text height), become one
 * box; returns the new count. Boxes come from the map's components, so a
 * merge never joins two level lines (those are wider than tall). */
static int join_turned(dbox *bx, int nb)
{
    bool again = true;
    while (again) {
        again = false;
        for (int i = 0; i < nb && !again; i++) {
            float a[4];
            quad_bounds(bx[i].q, a);
            float wa = a[2] - a[0], ha = a[3] - a[1];
            if (ha < 1.5f * wa) continue;
            for (int j = i + 1; j < nb; j++) {
                float b[4];
                quad_bounds(bx[j].q, b);
                float wb = b[2] - b[0], hb = b[3] - b[1];
                if (hb < 1.5f * wb) continue;
                float ov = fminf(a[2], b[2]) - fmaxf(a[0], b[0]);
                float gap = fmaxf(a[1], b[1]) - fminf(a[3], b[3]);
                /* Two-character Chinese words are under two heights
                 * ("平均  气温" at 11 pt), so any tall box may join; two
                 * lone tall glyphs ("1" above "1" in a table column) would
                 * too, but need rows closer than the glyph's width. */
                if (fminf(wa, wb) < 0.6f * fmaxf(wa, wb) || ov < 0.5f * fminf(wa, wb) ||
                    gap > 0.8f * fmaxf(wa, wb))
                    continue;
                float u[4] = {fminf(a[0], b[0]), fminf(a[1], b[1]), fmaxf(a[2], b[2]),
                              fmaxf(a[3], b[3])};
                float q[8] = {u[0], u[1], u[2], u[1], u[2], u[3], u[0], u[3]};
                memcpy(bx[i].q, q, sizeof q);
                bx[i].score = fmaxf(bx[i].score, bx[j].score);
                bx[j] = bx[--nb];
                again = true;
                break;
            }
        }
    }
    return nb;
}

/* Runs the detector on im, its long side scaled to max_side (960 when 32
 * or less), never up by more than up (sides rounded to 32): boxes in image
 * pixels, rounded and clipped to the image. */
static odx_status detect(cap_ppocr_state *s, const cap_image *im, const cap_ppocr_params *pp,
                         int max_side, float up, dbox **bx, int *nb, odx_err *err)
{
    int ms = max_side > 32 ? max_side : 960;
    float ratio = im->w > im->h ? (float)ms / im->w : (float)ms / im->h;
    if (up < 1) up = 1;
    if (ratio > up) ratio = up;
    int h = (int)lroundf(im->h * ratio / 32) * 32, w = (int)lroundf(im->w * ratio / 32) * 32;
    if (h < 32) h = 32;
    if (w < 32) w = 32;
    float *x = malloc((size_t)3 * h * w * sizeof(float));
    if (!x) return core_err(err, ODX_ERR_NOMEM, "out of memory");
    to_input(im, w, h, w, MEAN_DET, STD_DET, x);
    tfj_tensor xt = tensor4(x, 1, 3, h, w);
    const tfj_tensor *outs[2];
    odx_status st = tfj_run(s->det, &xt, 1, outs, err);
    free(x);
    if (st == ODX_OK && outs[0]->n != (int64_t)h * w)
        st = core_err(err, ODX_ERR_MODEL, "detector output has an unexpected shape");
    if (st == ODX_OK) st = db_boxes(outs[0]->d.f, w, h, pp, bx, nb, err);
    for (int i = 0; st == ODX_OK && i < *nb; i++) {
        float *q = (*bx)[i].q;
        for (int k = 0; k < 4; k++) {
            float px = roundf(q[2 * k] / w * im->w), py = roundf(q[2 * k + 1] / h * im->h);
            q[2 * k] = fminf(fmaxf(px, 0), (float)(im->w - 1));
            q[2 * k + 1] = fminf(fmaxf(py, 0), (float)(im->h - 1));
        }
    }
    return st;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Small text: on a page shrunk to det_max_side, lines under det_small_h
 * detector pixels tall (boxes after unclip) blur into their neighbours
 * (two columns' lines joined across the gutter, a line missed). Such a
 * page is detected again with its median box at twice det_small_h, up
 * to det_big_side and never above the image's own size; its boxes
 * replace the first ones. Needs 8 boxes to judge. */
static odx_status detect_small(cap_ppocr_state *s, const cap_image *im, const cap_ppocr_params *pp,
                               dbox **bx, int *nb, odx_err *err)
{
    int side = im->w > im->h ? im->w : im->h;
    int ms = pp->det_max_side > 32 ? pp->det_max_side : 960;
    if (pp->det_small_h <= 0 || *nb < 8 || side <= ms) return ODX_OK;
    float ratio = (float)ms / side;
    float *hs = malloc(sizeof *hs * (size_t)*nb);
    if (!hs) return core_err(err, ODX_ERR_NOMEM, "out of memory");
    for (int i = 0; i < *nb; i++) {
        const float *q = (*bx)[i].q;
        float w = hypotf(q[2] - q[0], q[3] - q[1]), h = hypotf(q[6] - q[0], q[7] - q[1]);
        hs[i] = (w < h ? w : h) * ratio;
    }
    qsort(hs, (size_t)*nb, sizeof *hs, cmp_float);
    float hd = hs[*nb / 2];
    free(hs);
    s->det_h = hd;
    if (hd >= pp->det_small_h || hd <= 0) return ODX_OK;
    int big = (int)(ms * (2 * pp->det_small_h / hd));
    if (big > pp->det_big_side) big = pp->det_big_side;
    if (big > side) big = side;
    if (big < ms * 5 / 4) return ODX_OK; /* not worth a second run */
    dbox *b2 = NULL;
    int n2 = 0;
    odx_status st = detect(s, im, pp, big, 1, &b2, &n2, err);
    if (st != ODX_OK) {
        free(b2);
        return st;
    }
    free(*bx);
    *bx = b2;
    *nb = n2;
    s->det_again = true;
    return ODX_OK;
}

/* Reads the crops of v[0..n) (sorted by ratio) in batches of similar
 * width: each item's text and conf. */
static odx_status recognise(cap_ppocr_state *s, const cap_ppocr_params *pp, item **v, int n,
                            odx_err *err)
{
    odx_status st = ODX_OK;
    const tfj_tensor *outs[2];
    /* Widest batch first, so that the narrower batches can take the
     * runtime's pooled buffers (tfj_pool). Measured neutral: thread CPU on
     * the 53 text-heavy dev images (bench_ppocr --images, one run) median
     * 1610 ms before, 1624 ms after; the page zeroing that a first perf
     * profile showed (19%) was 0.1-0.2% on a repeat with either order. */
    for (int end = n, bn = 0; end > 0 && st == ODX_OK; end -= bn) {
        /* sorted by ratio: the batch's last line is its widest */
        int W = rec_width(pp, v[end - 1]->ratio);
        for (bn = 1; bn < REC_BATCH && end - bn > 0 && W * (bn + 1) <= pp->rec_batch_cols; bn++)
            ;
        int b0 = end - bn;
        size_t per = (size_t)3 * REC_H * W;
        float *rx = calloc(per * bn, sizeof(float));
        if (!rx) return core_err(err, ODX_ERR_NOMEM, "out of memory");
        for (int j = 0; j < bn; j++) {
            const cap_image *c = &v[b0 + j]->crop;
            int w = (int)ceilf(REC_H * (float)c->w / c->h);
            if (w > W) w = W;
            if (w < 1) w = 1;
            to_input(c, w, REC_H, W, MEAN_REC, STD_REC, rx + per * j);
        }
        tfj_tensor rt = tensor4(rx, bn, 3, REC_H, W);
        st = tfj_run(s->rec, &rt, 1, outs, err);
        if (st == ODX_OK && (outs[0]->ndim != 3 || outs[0]->shape[0] != bn ||
                             outs[0]->shape[2] != s->p->n_keys + 2)) {
            st = core_err(err, ODX_ERR_MODEL,
                          "recogniser output does not match ppocr_keys_v1.txt (%d keys)",
                          s->p->n_keys);
        }
        for (int j = 0; j < bn && st == ODX_OK; j++) {
            int T = (int)outs[0]->shape[1], C = (int)outs[0]->shape[2];
            float gaps[256];
            item *it = v[b0 + j];
            const cap_image *c = &it->crop;
            int w = (int)ceilf(REC_H * (float)c->w / c->h);
            int ng = find_gaps(rx + per * j, w < W ? w : W, W, pp->gap_rel, gaps, 256);
            free(it->text);
            it->text = cap_ppocr_ctc(s->p, outs[0]->d.f + (size_t)j * T * C, T, C, gaps, ng,
                                     (float)W / (float)T, &it->conf);
            if (!it->text) st = core_err(err, ODX_ERR_NOMEM, "out of memory");
        }
        free(rx);
    }
    return st;
}

odx_status cap_ppocr_find(cap_ppocr_state *s, const cap_image *im, int max_side,
                          const cap_ppocr_params *params, cap_ppocr_box *boxes, int max_boxes,
                          int *n_out, odx_err *err)
{
    cap_ppocr_params pp = params ? *params : cap_ppocr_params_default();
    *n_out = 0;
    if (!im || !im->rgb || im->w < 1 || im->h < 1)
        return core_err(err, ODX_ERR_INVALID, "no image to look at");
    double t0 = core_now();
    dbox *bx = NULL;
    int nb = 0;
    odx_status st = detect(s, im, &pp, max_side, 1, &bx, &nb, err);
    s->t_det = (core_now() - t0) * 1e3;
    if (st != ODX_OK) {
        free(bx);
        return st;
    }
    int k = 0;
    for (; k < nb && k < max_boxes; k++) {
        memcpy(boxes[k].quad, bx[k].q, sizeof boxes[k].quad);
        boxes[k].score = bx[k].score;
    }
    free(bx);
    *n_out = k;
    return ODX_OK;
}

odx_status cap_ppocr_read(cap_ppocr_state *s, const cap_image *im, const cap_ppocr_params *params,
                          cap_ppocr_line **lines_out, int *n_out, odx_err *err)
{
    odx_status st = ODX_OK;
    cap_ppocr_params pp = params ? *params : cap_ppocr_params_default();
    dbox *bx = NULL;
    int nb = 0, n_items = 0;
    item *items = NULL;
    item **byr = NULL;
    cap_ppocr_line *lines = NULL;
    int n_lines = 0;
    double t0 = core_now();
    s->t_det = s->t_cls = s->t_rec = 0;
    if (!im || !im->rgb || im->w < 1 || im->h < 1)
        return core_err(err, ODX_ERR_INVALID, "no image to read");

    /* detector: the long side at det_max_side at most */
    if ((st = detect(s, im, &pp, pp.det_max_side, pp.det_up, &bx, &nb, err))) goto done;
    s->det_h = 0;
    s->det_again = false;
    if ((st = detect_small(s, im, &pp, &bx, &nb, err))) goto done;
    double t1 = core_now();
    s->t_det = (t1 - t0) * 1e3;

    /* tiny boxes dropped */
    int keep = 0;
    for (int i = 0; i < nb; i++) {
        float *q = bx[i].q;
        float w = hypotf(q[2] - q[0], q[3] - q[1]), h = hypotf(q[6] - q[0], q[7] - q[1]);
        if (w <= 3 || h <= 3) continue;
        bx[keep++] = bx[i];
    }
    nb = keep;
    nb = join_turned(bx, nb);
    /* reading order: top-left corners by y then x, neighbours within 10 px
     * of height swapped into left-to-right (PaddleOCR's sorted_boxes) */
    qsort(bx, (size_t)nb, sizeof *bx, cmp_topleft);
    for (int i = 0; i + 1 < nb; i++)
        for (int j = i; j >= 0; j--) {
            if (fabsf(bx[j + 1].q[1] - bx[j].q[1]) < 10 && bx[j + 1].q[0] < bx[j].q[0]) {
                dbox t = bx[j];
                bx[j] = bx[j + 1];
                bx[j + 1] = t;
            } else {
                break;
            }
        }
    if (nb > pp.max_lines) nb = pp.max_lines > 0 ? pp.max_lines : 0;
    items = calloc((size_t)nb + 1, sizeof *items);
    byr = calloc((size_t)2 * nb + 1, sizeof *byr); /* 2nd half: lines read twice */
    if (!items || !byr) {
        st = core_err(err, ODX_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (int i = 0; i < nb; i++) {
        item *it = &items[n_items];
        memcpy(it->q, bx[i].q, sizeof it->q);
        it->score = bx[i].score;
        it->order = i;
        if ((st = crop_quad(im, it->q, &it->crop, &it->turned, err))) goto done;
        it->ratio = (float)it->crop.w / (float)it->crop.h;
        byr[n_items] = it;
        n_items++;
    }
    qsort(byr, (size_t)n_items, sizeof *byr, cmp_ratio);
    lines = calloc((size_t)n_items + 1, sizeof *lines);
    if (!lines) {
        st = core_err(err, ODX_ERR_NOMEM, "out of memory");
        goto done;
    }

    /* direction classifier, in batches of REC_BATCH at 48 x 192 */
    const tfj_tensor *outs[2];
    if (pp.use_cls)
        for (int b0 = 0; b0 < n_items && st == ODX_OK; b0 += REC_BATCH) {
            int bn = n_items - b0 < REC_BATCH ? n_items - b0 : REC_BATCH;
            size_t per = (size_t)3 * REC_H * CLS_W;
            float *cx = calloc(per * bn, sizeof(float));
            if (!cx) {
                st = core_err(err, ODX_ERR_NOMEM, "out of memory");
                break;
            }
            for (int j = 0; j < bn; j++) {
                /* A long line squashed into 192 columns looks like nothing
                 * the classifier learnt (a dev page line was turned upside
                 * down at 0.9+): it sees the line's left end at its own
                 * aspect, at most 4 heights wide, instead. */
                const cap_image *c = &byr[b0 + j]->crop;
                cap_image win = *c;
                if (win.w > 4 * win.h) {
                    win.w = 4 * win.h;
                    win.rgb = malloc((size_t)win.w * win.h * 3);
                    if (!win.rgb) {
                        st = core_err(err, ODX_ERR_NOMEM, "out of memory");
                        break;
                    }
                    for (int y = 0; y < win.h; y++)
                        memcpy(win.rgb + (size_t)y * win.w * 3, c->rgb + (size_t)y * c->w * 3,
                               (size_t)win.w * 3);
                }
                int w = (int)ceilf(REC_H * (float)win.w / win.h);
                if (w > CLS_W) w = CLS_W;
                if (w < 1) w = 1;
                to_input(&win, w, REC_H, CLS_W, MEAN_REC, STD_REC, cx + per * j);
                if (win.rgb != c->rgb) free(win.rgb);
            }
            if (st != ODX_OK) {
                free(cx);
                break;
            }
            tfj_tensor ct = tensor4(cx, bn, 3, REC_H, CLS_W);
            st = tfj_run(s->cls, &ct, 1, outs, err);
            if (st == ODX_OK && outs[0]->n == 2 * bn)
                for (int j = 0; j < bn; j++) {
                    const float *pr = outs[0]->d.f + 2 * j;
                    if (pr[1] > pr[0] && pr[1] > pp.cls_thresh) {
                        byr[b0 + j]->flipped = true;
                        rotate180(&byr[b0 + j]->crop);
                    }
                }
            free(cx);
        }
    double t2 = core_now();
    s->t_cls = (t2 - t1) * 1e3;

    /* recogniser: batches of similar aspect ratio, width by the widest */
    st = recognise(s, &pp, byr, n_items, err);
    /* Second readings, the other way up, where the classifier's call is
     * weak evidence; the reading kept is the more confident by TURN_MARGIN
     * over the default:
     * - a turned line (a crop taller than wide, read turned 90 degrees
     *   counter-clockwise) runs top-to-bottom or bottom-to-top, and the
     *   classifier, trained on level lines, is unsure which: a chart's
     *   axis title came out upside down ("(sno) saass", dev d001, at
     *   0.42). Default: the classifier's call.
     * - a level line the classifier turned upside down: short words are
     *   often turned wrongly ("ON" read "NO" at 0.99, "日本" read "日" in
     *   a dev table, d020). Default: upright, as nearly all text is.
     * Both are few on a page (a page scanned upside down is read twice),
     * so this costs little. */
    int n_turn = 0;
    for (int i = 0; i < n_items; i++)
        if (byr[i]->turned || byr[i]->flipped) byr[n_items + n_turn++] = byr[i];
    if (st == ODX_OK && n_turn) {
        item **tv = byr + n_items;
        float *c0 = malloc((size_t)n_turn * sizeof *c0);
        char **t0 = malloc((size_t)n_turn * sizeof *t0);
        if (!c0 || !t0) st = core_err(err, ODX_ERR_NOMEM, "out of memory");
        for (int i = 0; i < n_turn && st == ODX_OK; i++) {
            c0[i] = tv[i]->conf;
            t0[i] = tv[i]->text;
            tv[i]->text = NULL;
            rotate180(&tv[i]->crop);
        }
        if (st == ODX_OK) st = recognise(s, &pp, tv, n_turn, err);
        for (int i = 0; i < n_turn && st == ODX_OK; i++) {
            /* level lines here were flipped: the new reading is upright */
            bool take = tv[i]->turned ? tv[i]->conf > c0[i] + TURN_MARGIN
                                      : tv[i]->conf + TURN_MARGIN >= c0[i];
            if (tv[i]->text && take) {
                free(t0[i]);
                tv[i]->flipped = !tv[i]->flipped;
            } else {
                free(tv[i]->text);
                tv[i]->text = t0[i];
                tv[i]->conf = c0[i];
            }
            t0[i] = NULL;
        }
        for (int i = 0; t0 && i < n_turn; i++) free(t0[i]);
        free(c0);
        free(t0);
    }
    for (int i = 0; i < n_items && st == ODX_OK; i++) {
        item *it = byr[i];
        cap_ppocr_line *l = &lines[it->order];
        l->text = it->text;
        it->text = NULL;
        l->conf = it->conf;
        l->det_score = it->score;
        l->flipped = it->flipped;
        memcpy(l->quad, it->q, sizeof l->quad);
    }
    s->t_rec = (core_now() - t2) * 1e3;
    if (st != ODX_OK) goto done;
    /* keep confident, non-empty lines, in reading order; rows */
    int row = -1;
    float row_y1 = -1;
    for (int i = 0; i < n_items; i++) {
        cap_ppocr_line *l = &lines[i];
        if (!l->text || !l->text[0] || l->conf < pp.drop_score) {
            free(l->text);
            continue;
        }
        float xs[4] = {l->quad[0], l->quad[2], l->quad[4], l->quad[6]};
        float ys[4] = {l->quad[1], l->quad[3], l->quad[5], l->quad[7]};
        float a = xs[0], b = xs[0], c = ys[0], d = ys[0];
        for (int k = 1; k < 4; k++) a = fminf(a, xs[k]), b = fmaxf(b, xs[k]), c = fminf(c, ys[k]), d = fmaxf(d, ys[k]);
        l->x0 = (int)a, l->x1 = (int)ceilf(b), l->y0 = (int)c, l->y1 = (int)ceilf(d);
        float cy = (c + d) / 2;
        if (row < 0 || cy > row_y1) {
            row++;
            row_y1 = d;
        }
        l->row = row;
        lines[n_lines++] = *l;
    }
    *lines_out = lines;
    *n_out = n_lines;
    lines = NULL;
done:
    if (lines) {
        for (int i = 0; i < n_items; i++) free(lines[i].text);
        free(lines);
    }
    for (int i = 0; i < n_items; i++) {
        cap_image_free(&items[i].crop);
        free(items[i].text);
    }
    free(items);
    free(byr);
    free(bx);
    /* the next image's sizes differ: an idle worker keeps no buffers */
    tfj_state_release(s->det);
    tfj_state_release(s->cls);
    tfj_state_release(s->rec);
    s->t_total = (core_now() - t0) * 1e3;
    return st;
}

/* ops.c - the op table of the TF.js runner and its kernels (NHWC float32,
 * int32 for shape arithmetic). Called by run.c per scheduled node and by
 * model.c to fold constants. Inputs may come from a hostile model file:
 * every kernel checks ranks, dtypes and sizes before touching memory. */
#include "runtime_int.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

float *tfj_scratch(tfj_ctx *cx, size_t n, odx_err *err)
{
    if (n > cx->scratch_len) {
        float *p = realloc(cx->scratch, n * sizeof(float));
        if (!p) {
            core_err(err, ODX_ERR_NOMEM, "out of memory for %zu scratch floats", n);
            return NULL;
        }
        cx->scratch = p;
        cx->scratch_len = n;
    }
    return cx->scratch;
}

#define NEED(cond, ...)                                      \
    do {                                                     \
        if (!(cond)) return core_err(err, ODX_ERR_MODEL, __VA_ARGS__); \
    } while (0)

static odx_status need_f32(const tfj_node *nd, const tfj_tensor *t, int k, odx_err *err)
{
    NEED(t->dtype == TFJ_F32, "node '%s' (%s): input %d must be float32", nd->name, nd->op,
         k);
    return ODX_OK;
}

/* Reads an int32 vector input (shape arguments) into v (max n values). */
static odx_status int_vec(const tfj_node *nd, const tfj_tensor *t, int64_t *v, int max,
                          int *n, odx_err *err)
{
    NEED(t->dtype == TFJ_I32 && t->ndim <= 1 && t->n <= max,
         "node '%s' (%s): expected a short int32 vector", nd->name, nd->op);
    for (int64_t i = 0; i < t->n; i++) v[i] = t->d.i[i];
    *n = (int)t->n;
    return ODX_OK;
}

static odx_status int_scalar(const tfj_node *nd, const tfj_tensor *t, int64_t *v,
                             odx_err *err)
{
    NEED(t->dtype == TFJ_I32 && t->n == 1, "node '%s' (%s): expected an int32 scalar",
         nd->name, nd->op);
    *v = t->d.i[0];
    return ODX_OK;
}

static odx_status norm_axis(const tfj_node *nd, int64_t ax, int ndim, int *out,
                            odx_err *err)
{
    if (ax < 0) ax += ndim;
    NEED(ax >= 0 && ax < ndim, "node '%s' (%s): axis out of range", nd->name, nd->op);
    *out = (int)ax;
    return ODX_OK;
}

/* ------------------------------------------------------------- simple ---- */

static odx_status op_identity(tfj_ctx *cx, const tfj_node *nd, const tfj_tensor *in,
                              int n_in, tfj_tensor *out, odx_err *err)
{
    (void)cx, (void)nd, (void)n_in;
    odx_status st = tfj_tensor_alloc_nz(out, in[0].dtype, in[0].ndim, in[0].shape, err);
    if (st == ODX_OK) memcpy(out->d.p, in[0].d.p, (size_t)in[0].n * 4);
    return st;
}

static odx_status op_reshape(tfj_ctx *cx, const tfj_node *nd, const tfj_tensor *in,
                             int n_in, tfj_tensor *out, odx_err *err)
{
    (void)cx, (void)n_in;
    int64_t shp[TFJ_MAX_DIMS];
    int n = 0, neg = -1; /* set by int_vec */
    odx_status st = int_vec(nd, &in[1], shp, TFJ_MAX_DIMS, &n, err);
    if (st != ODX_OK) return st;
    int64_t known = 1;
    for (int i = 0; i < n; i++) {
        if (shp[i] == -1) {
            NEED(neg < 0, "node '%s': two -1 in Reshape", nd->name);
            neg = i;
        } else {
            NEED(shp[i] >= 0 && (shp[i] == 0 || known <= TFJ_MAX_ELEMS / shp[i]),
                 "node '%s': bad Reshape target", nd->name);
            known *= shp[i];
        }
    }
    if (neg >= 0) {
        NEED(known > 0 && in[0].n % known == 0, "node '%s': Reshape cannot infer -1",
             nd->name);
        shp[neg] = in[0].n / known;
        known *= shp[neg];
    }
    NEED(known == in[0].n, "node '%s': Reshape of %lld elements into %lld", nd->name,
         (long long)in[0].n, (long long)known);
    st = tfj_tensor_alloc_nz(out, in[0].dtype, n, shp, err);
    if (st == ODX_OK) memcpy(out->d.p, in[0].d.p, (size_t)in[0].n * 4);
    return st;
}

/* Elementwise unary float ops. */
static odx_status unary(const tfj_node *nd, const tfj_tensor *in, tfj_tensor *out,
                        int kind, odx_err *err)
{
    odx_status st = need_f32(nd, &in[0], 0, err);
    if (st == ODX_OK) st = tfj_tensor_alloc_nz(out, TFJ_F32, in[0].ndim, in[0].shape, err);
    if (st != ODX_OK) return st;
    const float *x = in[0].d.f;
    float *y = out->d.f, a = nd->alpha;
    int64_t n = in[0].n;
    switch (kind) {
    case 0:
        for (int64_t i = 0; i < n; i++) y[i] = x[i] < 0 ? a * x[i] : x[i];
        break;
    case 1:
        for (int64_t i = 0; i < n; i++) y[i] = x[i] < 0 ? 0 : x[i];
        break;
    case 2:
        for (int64_t i = 0; i < n; i++) y[i] = x[i] < 0 ? 0 : x[i] > 6 ? 6 : x[i];
        break;
    case 3:
        for (int64_t i = 0; i < n; i++) y[i] = 1.0f / (1.0f + expf(-x[i]));
        break;
    default:
        for (int64_t i = 0; i < n; i++) y[i] = tanhf(x[i]);
        break;
    }
    return ODX_OK;
}

#define UNARY(fname, kind)                                                             \
    static odx_status fname(tfj_ctx *cx, const tfj_node *nd, const tfj_tensor *in,     \
                            int n_in, tfj_tensor *out, odx_err *err)                   \
    {                                                                                  \
        (void)cx, (void)n_in;                                                          \
        return unary(nd, in, out, kind, err);                                          \
    }
UNARY(op_leaky, 0)
UNARY(op_relu, 1)
UNARY(op_relu6, 2)
UNARY(op_sigmoid, 3)
UNARY(op_tanh, 4)

/* ------------------------------------------------------ broadcasting ---- */

enum { B_ADD, B_SUB, B_MUL, B_DIV, B_MAX, B_MIN };

static inline float fop(int k, float a, float b)
{
    switch (k) {
    case B_ADD: return a + b;
    case B_SUB: return a - b;
    case B_MUL: return a * b;
    case B_DIV: return a / b;
    case B_MAX: return a > b ? a : b;
    default: return a < b ? a : b;
    }
}

static inline int32_t iop(int k, int32_t a, int32_t b)
{
    switch (k) {
    case B_ADD: return (int32_t)((uint32_t)a + (uint32_t)b);
    case B_SUB: return (int32_t)((uint32_t)a - (uint32_t)b);
    case B_MUL: return (int32_t)((uint32_t)a * (uint32_t)b);
    case B_MAX: return a > b ? a : b;
    default: return a < b ? a : b;
    }
}

static odx_status binary(const tfj_node *nd, const tfj_tensor *a, const tfj_tensor *b,
                         tfj_tensor *out, int kind, odx_err *err)
{
    NEED(a->dtype == b->dtype, "node '%s' (%s): mixed dtypes", nd->name, nd->op);
    NEED(a->dtype == TFJ_F32 || kind != B_DIV, "node '%s': RealDiv on int32", nd->name);
    int r = a->ndim > b->ndim ? a->ndim : b->ndim;
    int64_t shp[TFJ_MAX_DIMS], sa[TFJ_MAX_DIMS], sb[TFJ_MAX_DIMS];
    /* right-aligned dims; stride 0 where an operand broadcasts */
    int64_t ea = 1, eb = 1;
    for (int i = r - 1; i >= 0; i--) {
        int ia = i - (r - a->ndim), ib = i - (r - b->ndim);
        int64_t da = ia >= 0 ? a->shape[ia] : 1, db = ib >= 0 ? b->shape[ib] : 1;
        NEED(da == db || da == 1 || db == 1,
             "node '%s' (%s): shapes do not broadcast (%lld vs %lld)", nd->name, nd->op,
             (long long)da, (long long)db);
        shp[i] = da == 1 ? db : da;
        sa[i] = da == 1 ? 0 : ea;
        sb[i] = db == 1 ? 0 : eb;
        ea *= da;
        eb *= db;
    }
    odx_status st = tfj_tensor_alloc_nz(out, a->dtype, r, shp, err);
    if (st != ODX_OK) return st;
    int64_t n = out->n;
    if (a->dtype == TFJ_F32) {
        const float *x = a->d.f, *y = b->d.f;
        float *z = out->d.f;
        if (a->n == n && b->n == n) {
            for (int64_t i = 0; i < n; i++) z[i] = fop(kind, x[i], y[i]);
            return ODX_OK;
        }
        if (a->n == n && b->n == 1) {
            for (int64_t i = 0; i < n; i++) z[i] = fop(kind, x[i], y[0]);
            return ODX_OK;
        }
        if (a->n == n && r > 0 && b->n == shp[r - 1] && sb[r - 1] == 1) {
            int64_t c = b->n;
            for (int64_t i = 0; i < n; i += c)
                for (int64_t j = 0; j < c; j++) z[i + j] = fop(kind, x[i + j], y[j]);
            return ODX_OK;
        }
    }
    /* general case: odometer over the output */
    int64_t idx[TFJ_MAX_DIMS] = {0}, oa = 0, ob = 0;
    for (int64_t i = 0; i < n; i++) {
        if (a->dtype == TFJ_F32) out->d.f[i] = fop(kind, a->d.f[oa], b->d.f[ob]);
        else out->d.i[i] = iop(kind, a->d.i[oa], b->d.i[ob]);
        for (int k = r - 1; k >= 0; k--) {
            idx[k]++;
            oa += sa[k];
            ob += sb[k];
            if (idx[k] < shp[k]) break;
            oa -= sa[k] * shp[k];
            ob -= sb[k] * shp[k];
            idx[k] = 0;
        }
    }
    return ODX_OK;
}

#define BINARY(fname, kind)                                                            \
    static odx_status fname(tfj_ctx *cx, const tfj_node *nd, const tfj_tensor *in,     \
                            int n_in, tfj_tensor *out, odx_err *err)                   \
    {                                                                                  \
        (void)cx, (void)n_in;                                                          \
        return binary(nd, &in[0], &in[1], out, kind, err);                             \
    }
BINARY(op_add, B_ADD)
BINARY(op_sub, B_SUB)
BINARY(op_mul, B_MUL)
BINARY(op_div, B_DIV)
BINARY(op_max, B_MAX)
BINARY(op_min, B_MIN)

/* ---------------------------------------------------------- transpose ---- */

/* out = x transposed: output dim k is input dim perm[k] (perm validated by
 * the caller). Also used by run.c to materialise lazily transposed values. */
odx_status tfj_transpose_perm(const tfj_tensor *x, const int64_t *perm, tfj_tensor *out,
                              odx_err *err)
{
    int n = x->ndim;
    int64_t shp[TFJ_MAX_DIMS], st_in[TFJ_MAX_DIMS], ist[TFJ_MAX_DIMS];
    int64_t s = 1;
    for (int i = n - 1; i >= 0; i--) {
        ist[i] = s;
        s *= x->shape[i];
    }
    for (int i = 0; i < n; i++) {
        shp[i] = x->shape[perm[i]];
        st_in[i] = ist[perm[i]];
    }
    odx_status st = tfj_tensor_alloc_nz(out, x->dtype, n, shp, err);
    if (st != ODX_OK || out->n == 0) return st;
    if (n == 0) {
        out->d.i[0] = x->d.i[0];
        return ODX_OK;
    }
    /* 32-bit payload for both dtypes: copy as uint32 */
    const uint32_t *src = x->d.p;
    uint32_t *dst = out->d.p;
    int64_t idx[TFJ_MAX_DIMS] = {0}, off = 0, last = shp[n - 1], ls = st_in[n - 1];
    for (int64_t o = 0; o < out->n; o += last) {
        if (ls == 1) memcpy(dst + o, src + off, (size_t)last * 4);
        else
            for (int64_t j = 0; j < last; j++) dst[o + j] = src[off + j * ls];
        for (int k = n - 2; k >= 0; k--) {
            idx[k]++;
            off += st_in[k];
            if (idx[k] < shp[k]) break;
            off -= st_in[k] * shp[k];
            idx[k] = 0;
        }
    }
    return ODX_OK;
}

bool tfj_perm_valid(const tfj_tensor *p, int ndim, int64_t *perm)
{
    if (p->dtype != TFJ_I32 || p->ndim != 1 || p->n != ndim) return false;
    int seen = 0;
    for (int i = 0; i < ndim; i++) {
        int32_t v = p->d.i[i];
        if (v < 0 || v >= ndim || (seen & (1 << v))) return false;
        seen |= 1 << v;
        perm[i] = v;
    }
    return true;
}

static odx_status op_transpose(tfj_ctx *cx, const tfj_node *nd, const tfj_tensor *in,
                               int n_in, tfj_tensor *out, odx_err *err)
{
    (void)cx, (void)n_in;
    int64_t perm[TFJ_MAX_DIMS];
    NEED(tfj_perm_valid(&in[1], in[0].ndim, perm), "node '%s': bad permutation", nd->name);
    return tfj_transpose_perm(&in[0], perm, out, err);
}

/* ---------------------------------------------------------------- pad ---- */

static odx_status pad_common(const tfj_node *nd, const tfj_tensor *x,
                             const tfj_tensor *pads, float value, tfj_tensor *out,
                             odx_err *err)
{
    int r = x->ndim;
    NEED(pads->dtype == TFJ_I32 && pads->n == 2 * (int64_t)r,
         "node '%s': paddings must be int32 [%d,2]", nd->name, r);
    NEED(r >= 1, "node '%s': Pad of a scalar", nd->name);
    int64_t shp[TFJ_MAX_DIMS], before[TFJ_MAX_DIMS];
    for (int i = 0; i < r; i++) {
        int64_t b = pads->d.i[2 * i], a = pads->d.i[2 * i + 1];
        NEED(b >= 0 && a >= 0 && b <= 1 << 20 && a <= 1 << 20,
             "node '%s': bad paddings", nd->name);
        before[i] = b;
        shp[i] = x->shape[i] + b + a;
    }
    odx_status st = tfj_tensor_alloc_nz(out, x->dtype, r, shp, err);
    if (st != ODX_OK) return st;
    if (x->dtype == TFJ_F32 && value != 0)
        for (int64_t i = 0; i < out->n; i++) out->d.f[i] = value;
    else
        memset(out->d.p, 0, (size_t)out->n * 4);
    if (x->n == 0) return ODX_OK;
    int64_t ost[TFJ_MAX_DIMS], s = 1;
    for (int i = r - 1; i >= 0; i--) {
        ost[i] = s;
        s *= shp[i];
    }
    int64_t base = 0;
    for (int i = 0; i < r; i++) base += before[i] * ost[i];
    int64_t idx[TFJ_MAX_DIMS] = {0}, off = base, last = x->shape[r - 1];
    const uint32_t *src = x->d.p;
    uint32_t *dst = out->d.p;
    for (int64_t i = 0; i < x->n; i += last) {
        memcpy(dst + off, src + i, (size_t)last * 4);
        for (int k = r - 2; k >= 0; k--) {
            idx[k]++;
            off += ost[k];
            if (idx[k] < x->shape[k]) break;
            off -= ost[k] * x->shape[k];
            idx[k] = 0;
        }
    }
    return ODX_OK;
}

static odx_status op_pad(tfj_ctx *cx, const tfj_node *nd, const tfj_tensor *in, int n_in,
                         tfj_tensor *out, odx_err *err)
{
    (void)cx, (void)n_in;
    return pad_common(nd, &in[0], &in[1], 0, out, err);
}

static odx_status op_padv2(tfj_ctx *cx, const tfj_node *nd, const tfj_tensor *in,
                           int n_in, tfj_tensor *out, odx_err *err)
{
    (void)cx, (void)n_in;
    NEED(in[2].n == 1 && in[2].dtype == in[0].dtype,
         "node '%s': PadV2 constant must be a scalar of the input type", nd->name);
    NEED(in[0].dtype == TFJ_F32 || in[2].d.i[0] == 0, "node '%s': int PadV2", nd->name);
    return pad_common(nd, &in[0], &in[1], in[0].dtype == TFJ_F32 ? in[2].d.f[0] : 0, out,
                      err);
}

/* --------------------------------------------------------- convolution ---- */

/* Output size and leading pad of one spatial dim. */
static bool conv_dim(int pad_mode, int64_t in, int k, int s, int d, int64_t pb,
                     int64_t pa, int64_t *out, int64_t *lead)
{
    int64_t ek = (int64_t)(k - 1) * d + 1;
    if (pad_mode == TFJ_PAD_SAME) {
        *out = (in + s - 1) / s;
        int64_t tot = (*out - 1) * s + ek - in;
        if (tot < 0) tot = 0;
        *lead = tot / 2;
    } else {
        if (pad_mode == TFJ_PAD_VALID) pb = pa = 0;
        int64_t span = in + pb + pa - ek;
        if (span < 0) return false;
        *out = span / s + 1;
        *lead = pb;
    }
    return *out > 0;
}

static void epilogue(const tfj_node *nd, float *y, int64_t rows, int64_t oc)
{
    const float *b = nd->bias;
    float a = nd->act_alpha;
    if (!b && !nd->act) return;
    for (int64_t r = 0; r < rows; r++, y += oc) {
        if (b)
            for (int64_t c = 0; c < oc; c++) y[c] += b[c];
        switch (nd->act) {
        case TFJ_ACT_LEAKY:
            for (int64_t c = 0; c < oc; c++) y[c] = y[c] < 0 ? a * y[c] : y[c];
            break;
        case TFJ_ACT_RELU:
            for (int64_t c = 0; c < oc; c++) y[c] = y[c] < 0 ? 0 : y[c];
            break;
        case TFJ_ACT_RELU6:
            for (int64_t c = 0; c < oc; c++) y[c] = y[c] < 0 ? 0 : y[c] > 6 ? 6 : y[c];
            break;
        default:
            break;
        }
    }
}

/* Im2col rows per sgemm call are capped so the scratch stays ~16 MB
 * whatever the image size. */
#define IM2COL_MAX_FLOATS ((size_t)4 << 20)

static odx_status op_conv2d(tfj_ctx *cx, const tfj_node *nd, const tfj_tensor *in,
                            int n_in, tfj_tensor *out, odx_err *err)
{
    (void)n_in;
    const tfj_tensor *x = &in[0], *f = &in[1];
    odx_status st;
    if ((st = need_f32(nd, x, 0, err)) || (st = need_f32(nd, f, 1, err))) return st;
    if (nd->nchw)
        return core_err(err, ODX_ERR_UNSUPPORTED, "node '%s': NCHW Conv2D", nd->name);
    NEED(x->ndim == 4 && f->ndim == 4 && f->shape[2] == x->shape[3],
         "node '%s': Conv2D needs NHWC input and HWIO filter with matching channels",
         nd->name);
    NEED(nd->strides[0] == 1 && nd->strides[3] == 1, "node '%s': batch/channel stride",
         nd->name);
    int64_t N = x->shape[0], H = x->shape[1], W = x->shape[2], C = x->shape[3];
    int KH = (int)f->shape[0], KW = (int)f->shape[1];
    int64_t O = f->shape[3];
    NEED(f->shape[0] <= 64 && f->shape[1] <= 64 && KH > 0 && KW > 0,
         "node '%s': filter too large", nd->name);
    int sh = nd->strides[1], sw = nd->strides[2], dh = nd->dilations[1],
        dw = nd->dilations[2];
    int64_t OH, OW, pt, pl;
    NEED(conv_dim(nd->padding, H, KH, sh, dh, nd->expl_pad[2], nd->expl_pad[3], &OH, &pt) &&
             conv_dim(nd->padding, W, KW, sw, dw, nd->expl_pad[4], nd->expl_pad[5], &OW,
                      &pl),
         "node '%s': Conv2D output would be empty", nd->name);
    int64_t shp[4] = {N, OH, OW, O};
    if ((st = tfj_tensor_alloc_nz(out, TFJ_F32, 4, shp, err))) return st;
    int64_t K = (int64_t)KH * KW * C, M = OH * OW;
    if (out->n == 0 || K == 0) {
        memset(out->d.p, 0, (size_t)out->n * sizeof(float));
        epilogue(nd, out->d.f, N * M, O);
        return ODX_OK;
    }
    cx->macs += N * M * O * K;
    bool direct = KH == 1 && KW == 1 && sh == 1 && sw == 1 && pt == 0 && pl == 0 &&
                  OH == H && OW == W;
    int64_t chunk = M;
    if (!direct) {
        chunk = (int64_t)(IM2COL_MAX_FLOATS / (size_t)K);
        if (chunk < 1) chunk = 1;
        if (chunk > M) chunk = M;
        if (!tfj_scratch(cx, (size_t)(chunk * K), err)) return ODX_ERR_NOMEM;
    }
    for (int64_t b = 0; b < N; b++) {
        const float *xb = x->d.f + b * H * W * C;
        float *yb = out->d.f + b * M * O;
        if (direct) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, (int)O, (int)K,
                        1.0f, xb, (int)K, f->d.f, (int)O, 0.0f, yb, (int)O);
            epilogue(nd, yb, M, O);
            continue;
        }
        for (int64_t m0 = 0; m0 < M; m0 += chunk) {
            int64_t mc = M - m0 < chunk ? M - m0 : chunk;
            float *col = cx->scratch;
            for (int64_t r = 0; r < mc; r++) {
                int64_t oy = (m0 + r) / OW, ox = (m0 + r) % OW;
                float *row = col + r * K;
                for (int ky = 0; ky < KH; ky++) {
                    int64_t iy = oy * sh - pt + (int64_t)ky * dh;
                    for (int kx = 0; kx < KW; kx++, row += C) {
                        int64_t ix = ox * sw - pl + (int64_t)kx * dw;
                        if (iy < 0 || iy >= H || ix < 0 || ix >= W)
                            memset(row, 0, (size_t)C * sizeof(float));
                        else
                            memcpy(row, xb + (iy * W + ix) * C, (size_t)C * sizeof(float));
                    }
                }
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)mc, (int)O, (int)K,
                        1.0f, col, (int)K, f->d.f, (int)O, 0.0f, yb + m0 * O, (int)O);
            epilogue(nd, yb + m0 * O, mc, O);
        }
    }
    return ODX_OK;
}

static odx_status op_depthwise(tfj_ctx *cx, const tfj_node *nd, const tfj_tensor *in,
                               int n_in, tfj_tensor *out, odx_err *err)
{
    (void)n_in;
    const tfj_tensor *x = &in[0], *f = &in[1];
    odx_status st;
    if ((st = need_f32(nd, x, 0, err)) || (st = need_f32(nd, f, 1, err))) return st;
    if (nd->nchw)
        return core_err(err, ODX_ERR_UNSUPPORTED, "node '%s': NCHW depthwise", nd->name);
    NEED(x->ndim == 4 && f->ndim == 4 && f->shape[2] == x->shape[3] && f->shape[0] <= 64 &&
             f->shape[1] <= 64 && f->shape[3] >= 1 && f->shape[3] <= 4096,
         "node '%s': depthwise needs NHWC input and [kh,kw,C,M] filter", nd->name);
    int64_t N = x->shape[0], H = x->shape[1], W = x->shape[2], C = x->shape[3];
    int KH = (int)f->shape[0], KW = (int)f->shape[1];
    int64_t Mu = f->shape[3], OC = C * Mu;
    int sh = nd->strides[1], sw = nd->strides[2], dh = nd->dilations[1],
        dw = nd->dilations[2];
    int64_t OH, OW, pt, pl;
    NEED(conv_dim(nd->padding, H, KH, sh, dh, nd->expl_pad[2], nd->expl_pad[3], &OH, &pt) &&
             conv_dim(nd->padding, W, KW, sw, dw, nd->expl_pad[4], nd->expl_pad[5], &OW,
                      &pl),
         "node '%s': depthwise output would be empty", nd->name);
    int64_t shp[4] = {N, OH, OW, OC};
    if ((st = tfj_tensor_alloc(out, TFJ_F32, 4, shp, err))) return st;
    cx->macs += out->n * KH * KW;
    for (int64_t b = 0; b < N; b++)
        for (int64_t oy = 0; oy < OH; oy++)
            for (int64_t ox = 0; ox < OW; ox++) {
                float *y = out->d.f + ((b * OH + oy) * OW + ox) * OC;
                for (int ky = 0; ky < KH; ky++) {
                    int64_t iy = oy * sh - pt + (int64_t)ky * dh;
                    if (iy < 0 || iy >= H) continue;
                    for (int kx = 0; kx < KW; kx++) {
                        int64_t ix = ox * sw - pl + (int64_t)kx * dw;
                        if (ix < 0 || ix >= W) continue;
                        const float *xp = x->d.f + ((b * H + iy) * W + ix) * C;
                        const float *fp = f->d.f + ((int64_t)ky * KW + kx) * C * Mu;
                        for (int64_t c = 0; c < C; c++)
                            for (int64_t q = 0; q < Mu; q++)
                                y[c * Mu + q] += xp[c] * fp[c * Mu + q];
                    }
                }
            }
    epilogue(nd, out->d.f, N * OH * OW, OC);
    return ODX_OK;
}

static odx_status op_maxpool(tfj_ctx *cx, const tfj_node *nd, const tfj_tensor *in,
                             int n_in, tfj_tensor *out, odx_err *err)
{
    (void)cx, (void)n_in;
    const tfj_tensor *x = &in[0];
    odx_status st = need_f32(nd, x, 0, err);
    if (st != ODX_OK) return st;
    NEED(x->ndim == 4 && !nd->nchw && nd->ksize[0] == 1 && nd->ksize[3] == 1 &&
             nd->ksize[1] <= 64 && nd->ksize[2] <= 64,
         "node '%s': MaxPool needs NHWC input and a spatial window", nd->name);
    int64_t N = x->shape[0], H = x->shape[1], W = x->shape[2], C = x->shape[3];
    int KH = nd->ksize[1], KW = nd->ksize[2], sh = nd->strides[1], sw = nd->strides[2];
    int64_t OH, OW, pt, pl;
    NEED(conv_dim(nd->padding, H, KH, sh, 1, nd->expl_pad[2], nd->expl_pad[3], &OH, &pt) &&
             conv_dim(nd->padding, W, KW, sw, 1, nd->expl_pad[4], nd->expl_pad[5], &OW, &pl),
         "node '%s': MaxPool output would be empty", nd->name);
    int64_t shp[4] = {N, OH, OW, C};
    if ((st = tfj_tensor_alloc_nz(out, TFJ_F32, 4, shp, err))) return st;
    for (int64_t b = 0; b < N; b++)
        for (int64_t oy = 0; oy < OH; oy++)
            for (int64_t ox = 0; ox < OW; ox++) {
                float *y = out->d.f + ((b * OH + oy) * OW + ox) * C;
                for (int64_t c = 0; c < C; c++) y[c] = -INFINITY;
                for (int ky = 0; ky < KH; ky++) {
                    int64_t iy = oy * sh - pt + ky;
                    if (iy < 0 || iy >= H) continue;
                    for (int kx = 0; kx < KW; kx++) {
                        int64_t ix = ox * sw - pl + kx;
                        if (ix < 0 || ix >= W) continue;
                        const float *xp = x->d.f + ((b * H + iy) * W + ix) * C;
                        for (int64_t c = 0; c < C; c++)
                            if (xp[c] > y[c]) y[c] = xp[c];
                    }
                }
            }
    return ODX_OK;
}

/* ------------------------------------------------------ concat, split ---- */

static odx_status op_concat(tfj_ctx *cx, const tfj_node *nd, const tfj_tensor *in,
                            int n_in, tfj_tensor *out, odx_err *err)
{
    (void)cx;
    int nv = n_in - 1, ax = 0;
    int64_t a = 0;
    odx_status st = int_scalar(nd, &in[nv], &a, err);
    if (st != ODX_OK) return st;
    const tfj_tensor *x0 = &in[0];
    if ((st = norm_axis(nd, a, x0->ndim, &ax, err))) return st;
    int64_t shp[TFJ_MAX_DIMS];
    memcpy(shp, x0->shape, sizeof shp);
    shp[ax] = 0;
    for (int i = 0; i < nv; i++) {
        NEED(in[i].ndim == x0->ndim && in[i].dtype == x0->dtype,
             "node '%s': ConcatV2 inputs differ in rank or dtype", nd->name);
        for (int d = 0; d < x0->ndim; d++)
            NEED(d == ax || in[i].shape[d] == x0->shape[d],
                 "node '%s': ConcatV2 inputs differ at dim %d", nd->name, d);
        shp[ax] += in[i].shape[ax];
    }
    if ((st = tfj_tensor_alloc_nz(out, x0->dtype, x0->ndim, shp, err))) return st;
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < ax; d++) outer *= shp[d];
    for (int d = ax + 1; d < x0->ndim; d++) inner *= shp[d];
    uint32_t *dst = out->d.p;
    for (int64_t o = 0; o < outer; o++)
        for (int i = 0; i < nv; i++) {
            int64_t blk = in[i].shape[ax] * inner;
            memcpy(dst, (const uint32_t *)in[i].d.p + o * blk, (size_t)blk * 4);
            dst += blk;
        }
    return ODX_OK;
}

static odx_status split_common(const tfj_node *nd, const tfj_tensor *x, int ax,
                               const int64_t *sizes, tfj_tensor *out, odx_err *err)
{
    int64_t outer = 1, inner = 1, off = 0;
    for (int d = 0; d < ax; d++) outer *= x->shape[d];
    for (int d = ax + 1; d < x->ndim; d++) inner *= x->shape[d];
    for (int k = 0; k < nd->n_out; k++) {
        int64_t shp[TFJ_MAX_DIMS];
        memcpy(shp, x->shape, sizeof shp);
        shp[ax] = sizes[k];
        odx_status st = tfj_tensor_alloc_nz(&out[k], x->dtype, x->ndim, shp, err);
        if (st != ODX_OK) return st;
        int64_t blk = sizes[k] * inner, row = x->shape[ax] * inner;
        for (int64_t o = 0; o < outer; o++)
            memcpy((uint32_t *)out[k].d.p + o * blk, (const uint32_t *)x->d.p + o * row + off,
                   (size_t)blk * 4);
        off += blk;
    }
    return ODX_OK;
}

static odx_status op_splitv(tfj_ctx *cx, const tfj_node *nd, const tfj_tensor *in,
                            int n_in, tfj_tensor *out, odx_err *err)
{
    (void)cx, (void)n_in;
    const tfj_tensor *x = &in[0];
    int64_t a = 0, *sizes = NULL;
    int ax = 0;
    odx_status st;
    if ((st = int_scalar(nd, &in[2], &a, err)) || (st = norm_axis(nd, a, x->ndim, &ax, err)))
        return st;
    NEED(in[1].dtype == TFJ_I32 && in[1].n == nd->n_out,
         "node '%s': size_splits must list num_split int32 sizes", nd->name);
    sizes = malloc((size_t)nd->n_out * sizeof *sizes);
    if (!sizes) return core_err(err, ODX_ERR_NOMEM, "out of memory");
    int neg = -1;
    int64_t sum = 0;
    for (int k = 0; k < nd->n_out; k++) {
        sizes[k] = in[1].d.i[k];
        if (sizes[k] == -1 && neg < 0) neg = k;
        else if (sizes[k] < 0) st = core_err(err, ODX_ERR_MODEL, "node '%s': bad split size",
                                             nd->name);
        else sum += sizes[k];
    }
    if (st == ODX_OK && neg >= 0) {
        if (sum > x->shape[ax]) st = core_err(err, ODX_ERR_MODEL, "node '%s': splits too big", nd->name);
        else {
            sizes[neg] = x->shape[ax] - sum;
            sum = x->shape[ax];
        }
    }
    if (st == ODX_OK && sum != x->shape[ax])
        st = core_err(err, ODX_ERR_MODEL, "node '%s': split sizes sum to %lld, dim is %lld",
                      nd->name, (long long)sum, (long long)x->shape[ax]);
    if (st == ODX_OK) st = split_common(nd, x, ax, sizes, out, err);
    free(sizes);
    return st;
}

static odx_status op_split(tfj_ctx *cx, const tfj_node *nd, const tfj_tensor *in,
                           int n_in, tfj_tensor *out, odx_err *err)
{
    (void)cx, (void)n_in;
    const tfj_tensor *x = &in[1];
    int64_t a = 0;
    int ax = 0;
    odx_status st;
    if ((st = int_scalar(nd, &in[0], &a, err)) || (st = norm_axis(nd, a, x->ndim, &ax, err)))
        return st;
    NEED(x->shape[ax] % nd->n_out == 0, "node '%s': dim %lld not divisible by %d",
         nd->name, (long long)x->shape[ax], nd->n_out);
    int64_t *sizes = malloc((size_t)nd->n_out * sizeof *sizes);
    if (!sizes) return core_err(err, ODX_ERR_NOMEM, "out of memory");
    for (int k = 0; k < nd->n_out; k++) sizes[k] = x->shape[ax] / nd->n_out;
    st = split_common(nd, x, ax, sizes, out, err);
    free(sizes);
    return st;
}

/* ------------------------------------------------------------ resize ---- */

/* Source coordinate, floor index, ceil index and weight for one output
 * position, following TF's ResizeBilinear (both coordinate modes). */
static void lerp_coord(int64_t o, double ratio, bool half, int64_t in, int64_t *lo,
                       int64_t *hi, double *w)
{
    double src = half ? ratio * (o + 0.5) - 0.5 : ratio * o;
    double fl = floor(src);
    int64_t l = (int64_t)fl;
    if (l < 0) l = 0;
    int64_t h = (int64_t)ceil(src);
    if (h > in - 1) h = in - 1;
    if (h < 0) h = 0;
    if (l > in - 1) l = in - 1;
    *lo = l;
    *hi = h;
    *w = src - (double)l;
}

static odx_status op_resize_bilinear(tfj_ctx *cx, const tfj_node *nd, const tfj_tensor *in,
                                     int n_in, tfj_tensor *out, odx_err *err)
{
    (void)cx, (void)n_in;
    const tfj_tensor *x = &in[0];
    int64_t sz[2];
    int n = 0; /* set by int_vec */
    odx_status st;
    if ((st = need_f32(nd, x, 0, err)) || (st = int_vec(nd, &in[1], sz, 2, &n, err)))
        return st;
    NEED(x->ndim == 4 && n == 2 && sz[0] > 0 && sz[1] > 0 && x->shape[1] > 0 &&
             x->shape[2] > 0,
         "node '%s': ResizeBilinear needs NHWC input and a positive [h,w]", nd->name);
    int64_t N = x->shape[0], H = x->shape[1], W = x->shape[2], C = x->shape[3];
    int64_t OH = sz[0], OW = sz[1];
    int64_t shp[4] = {N, OH, OW, C};
    if ((st = tfj_tensor_alloc_nz(out, TFJ_F32, 4, shp, err))) return st;
    double ry = nd->align_corners && OH > 1 ? (double)(H - 1) / (double)(OH - 1)
                                            : (double)H / (double)OH;
    double rx = nd->align_corners && OW > 1 ? (double)(W - 1) / (double)(OW - 1)
                                            : (double)W / (double)OW;
    /* per-column coordinates, computed once */
    double *tab = malloc((size_t)OW * 3 * sizeof(double));
    if (!tab) return core_err(err, ODX_ERR_NOMEM, "out of memory");
    for (int64_t ox = 0; ox < OW; ox++) {
        int64_t l, h;
        double w;
        lerp_coord(ox, rx, nd->half_pixel, W, &l, &h, &w);
        tab[3 * ox] = (double)l;
        tab[3 * ox + 1] = (double)h;
        tab[3 * ox + 2] = w;
    }
    for (int64_t b = 0; b < N; b++)
        for (int64_t oy = 0; oy < OH; oy++) {
            int64_t y0, y1;
            double wy;
            lerp_coord(oy, ry, nd->half_pixel, H, &y0, &y1, &wy);
            const float *r0 = x->d.f + (b * H + y0) * W * C;
            const float *r1 = x->d.f + (b * H + y1) * W * C;
            float *yo = out->d.f + (b * OH + oy) * OW * C;
            for (int64_t ox = 0; ox < OW; ox++) {
                int64_t x0 = (int64_t)tab[3 * ox], x1 = (int64_t)tab[3 * ox + 1];
                double wx = tab[3 * ox + 2];
                /* double like TF.js's CPU kernel, to stay within rounding */
                for (int64_t c = 0; c < C; c++) {
                    double tl = r0[x0 * C + c], tr = r0[x1 * C + c];
                    double bl = r1[x0 * C + c], br = r1[x1 * C + c];
                    double top = tl + (tr - tl) * wx, bot = bl + (br - bl) * wx;
                    yo[ox * C + c] = (float)(top + (bot - top) * wy);
                }
            }
        }
    free(tab);
    return ODX_OK;
}

/* ---------------------------------------------------- SparseToDense ---- */

static odx_status op_sparse_to_dense(tfj_ctx *cx, const tfj_node *nd, const tfj_tensor *in,
                                     int n_in, tfj_tensor *out, odx_err *err)
{
    (void)cx;
    const tfj_tensor *ix = &in[0], *vals = &in[2];
    int64_t shp[TFJ_MAX_DIMS];
    int r = 0; /* set by int_vec */
    odx_status st = int_vec(nd, &in[1], shp, TFJ_MAX_DIMS, &r, err);
    if (st != ODX_OK) return st;
    NEED(ix->dtype == TFJ_I32 && ix->ndim <= 2, "node '%s': bad sparse indices", nd->name);
    int64_t n_idx = ix->ndim == 0 ? 1 : ix->shape[0];
    int64_t width = ix->ndim == 2 ? ix->shape[1] : 1;
    NEED(ix->n == n_idx * width && (n_idx == 0 || width == r || (ix->ndim < 2 && r == 1)),
         "node '%s': sparse indices do not match the output rank", nd->name);
    NEED(vals->n == 1 || vals->n == n_idx, "node '%s': sparse values count", nd->name);
    tfj_dtype dt = vals->dtype;
    if ((st = tfj_tensor_alloc(out, dt, r, shp, err))) return st;
    if (n_in > 3) {
        NEED(in[3].n == 1 && in[3].dtype == dt, "node '%s': bad default value", nd->name);
        for (int64_t i = 0; i < out->n; i++) ((uint32_t *)out->d.p)[i] = ((uint32_t *)in[3].d.p)[0];
    }
    for (int64_t k = 0; k < n_idx; k++) {
        int64_t flat = 0;
        for (int d = 0; d < r; d++) {
            int64_t v = ix->d.i[k * width + (width == 1 ? 0 : d)];
            NEED(v >= 0 && v < shp[d], "node '%s': sparse index out of range", nd->name);
            flat = flat * shp[d] + v;
        }
        ((uint32_t *)out->d.p)[flat] = ((const uint32_t *)vals->d.p)[vals->n == 1 ? 0 : k];
    }
    return ODX_OK;
}

/* -------------------------------------------------------------- table ---- */

static const tfj_opdef OPS[] = {
    {"Identity", op_identity, 1, 1, TFJ_LAY_UNARY},
    {"Reshape", op_reshape, 2, 2, TFJ_LAY_NONE},
    {"Transpose", op_transpose, 2, 2, TFJ_LAY_TRANSPOSE},
    {"Conv2D", op_conv2d, 2, 2, TFJ_LAY_NONE},
    {"DepthwiseConv2dNative", op_depthwise, 2, 2, TFJ_LAY_NONE},
    {"MaxPool", op_maxpool, 1, 1, TFJ_LAY_NONE},
    {"Pad", op_pad, 2, 2, TFJ_LAY_PAD},
    {"PadV2", op_padv2, 3, 3, TFJ_LAY_PAD},
    {"Add", op_add, 2, 2, TFJ_LAY_BINARY},
    {"AddV2", op_add, 2, 2, TFJ_LAY_BINARY},
    {"BiasAdd", op_add, 2, 2, TFJ_LAY_NONE},
    {"Sub", op_sub, 2, 2, TFJ_LAY_BINARY},
    {"Mul", op_mul, 2, 2, TFJ_LAY_BINARY},
    {"RealDiv", op_div, 2, 2, TFJ_LAY_BINARY},
    {"Maximum", op_max, 2, 2, TFJ_LAY_BINARY},
    {"Minimum", op_min, 2, 2, TFJ_LAY_BINARY},
    {"LeakyRelu", op_leaky, 1, 1, TFJ_LAY_UNARY},
    {"Relu", op_relu, 1, 1, TFJ_LAY_UNARY},
    {"Relu6", op_relu6, 1, 1, TFJ_LAY_UNARY},
    {"Sigmoid", op_sigmoid, 1, 1, TFJ_LAY_UNARY},
    {"Tanh", op_tanh, 1, 1, TFJ_LAY_UNARY},
    {"ConcatV2", op_concat, 2, -1, TFJ_LAY_CONCAT},
    {"SplitV", op_splitv, 3, 3, TFJ_LAY_NONE},
    {"Split", op_split, 2, 2, TFJ_LAY_NONE},
    {"ResizeBilinear", op_resize_bilinear, 2, 2, TFJ_LAY_NONE},
    {"SparseToDense", op_sparse_to_dense, 3, 4, TFJ_LAY_NONE},
};

const tfj_opdef *tfj_op_find(const char *name)
{
    for (size_t i = 0; i < sizeof OPS / sizeof OPS[0]; i++)
        if (!strcmp(OPS[i].name, name)) return &OPS[i];
    return NULL;
}

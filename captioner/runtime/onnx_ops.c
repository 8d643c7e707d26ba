/* onnx_ops.c - the ONNX op table of the model runtime and its kernels (NCHW
 * float32; int32 for shape arithmetic, ONNX int64 values are held as int32).
 * Called by run.c per scheduled node and by model.c to fold constants; the
 * attributes come from onnx.c (nd->ox). Inputs may come from a hostile model
 * file: every kernel checks ranks, dtypes and sizes before touching memory. */
#include "runtime_int.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Kernels cloned for AVX-512 / AVX2 / baseline, picked at load time through
 * IFUNC resolvers. ThreadSanitizer's runtime is not up yet when the dynamic
 * loader runs those resolvers (every test linking the runtime crashed at
 * start in the TSan build), so TSan builds get the baseline clone only. */
/* optimize("O3") is GCC's; clang (the fuzz build) has no such attribute
 * and warns, so there the kernels get the build's own level. */
#if defined(__clang__)
#define ODX_O3
#else
#define ODX_O3 __attribute__((optimize("O3")))
#endif
#if defined(__SANITIZE_THREAD__)
#define ODX_VEC_CLONES ODX_O3
#else
#define ODX_VEC_CLONES __attribute__((target_clones("avx512f", "arch=haswell", "default"))) ODX_O3
#endif

#define NEED(cond, ...)                                                \
    do {                                                               \
        if (!(cond)) return core_err(err, ODX_ERR_MODEL, __VA_ARGS__); \
    } while (0)

#define KARGS tfj_ctx *cx, const tfj_node *nd, const tfj_tensor *in, int n_in, tfj_tensor *out, odx_err *err
#define UNUSED (void)cx, (void)n_in

static odx_status need_f32(const tfj_node *nd, const tfj_tensor *t, int k, odx_err *err)
{
    NEED(t->dtype == TFJ_F32, "node '%s' (%s): input %d must be float", nd->name, nd->op, k);
    return ODX_OK;
}

static odx_status norm_axis(const tfj_node *nd, int64_t ax, int ndim, int *out, odx_err *err)
{
    if (ax < 0) ax += ndim;
    NEED(ax >= 0 && ax < ndim, "node '%s' (%s): axis out of range", nd->name, nd->op);
    *out = (int)ax;
    return ODX_OK;
}

/* An absent optional input: "" reads the loader's empty constant. */
static bool present(const tfj_tensor *in, int n_in, int k)
{
    return k < n_in && in[k].n > 0;
}

/* Reads an int vector input (ONNX int64 shape arguments). */
static odx_status ivec(const tfj_node *nd, const tfj_tensor *t, int64_t *v, int max, int *n,
                       odx_err *err)
{
    NEED(t->dtype == TFJ_I32 && t->ndim <= 1 && t->n <= max,
         "node '%s' (%s): expected a short integer vector", nd->name, nd->op);
    for (int64_t i = 0; i < t->n; i++) v[i] = t->d.i[i];
    *n = (int)t->n;
    return ODX_OK;
}

static odx_status copy_as(const tfj_tensor *x, int ndim, const int64_t *shp, tfj_tensor *out,
                          odx_err *err)
{
    odx_status st = tfj_tensor_alloc_nz(out, x->dtype, ndim, shp, err);
    if (st == ODX_OK) memcpy(out->d.p, x->d.p, (size_t)x->n * 4);
    return st;
}

/* ------------------------------------------------------- elementwise ---- */

static void act_apply(int act, float a, float b, float *y, int64_t n)
{
    switch (act) {
    case TFJ_ACT_RELU:
        for (int64_t i = 0; i < n; i++) y[i] = y[i] < 0 ? 0 : y[i];
        break;
    case TFJ_ACT_RELU6:
        for (int64_t i = 0; i < n; i++) y[i] = y[i] < 0 ? 0 : y[i] > 6 ? 6 : y[i];
        break;
    case TFJ_ACT_LEAKY:
        for (int64_t i = 0; i < n; i++) y[i] = y[i] < 0 ? a * y[i] : y[i];
        break;
    case TFJ_ACT_HSIG:
        for (int64_t i = 0; i < n; i++) {
            float v = a * y[i] + b;
            y[i] = v < 0 ? 0 : v > 1 ? 1 : v;
        }
        break;
    case TFJ_ACT_HSWISH:
        for (int64_t i = 0; i < n; i++) {
            float v = y[i] + 3;
            v = v < 0 ? 0 : v > 6 ? 6 : v;
            y[i] = y[i] * v / 6;
        }
        break;
    default:
        break;
    }
}

enum { U_RELU, U_SIGMOID, U_HSIG, U_SQRT, U_TANH, U_EXP, U_LEAKY, U_NEG, U_ABS };

static odx_status unary(const tfj_node *nd, const tfj_tensor *in, tfj_tensor *out, int kind,
                        odx_err *err)
{
    odx_status st = need_f32(nd, &in[0], 0, err);
    if (st == ODX_OK) st = tfj_tensor_alloc_nz(out, TFJ_F32, in[0].ndim, in[0].shape, err);
    if (st != ODX_OK) return st;
    const float *x = in[0].d.f;
    float *y = out->d.f;
    int64_t n = in[0].n;
    float a = nd->ox->alpha, b = nd->ox->beta;
    switch (kind) {
    case U_RELU: for (int64_t i = 0; i < n; i++) y[i] = x[i] < 0 ? 0 : x[i]; break;
    case U_SIGMOID: for (int64_t i = 0; i < n; i++) y[i] = 1.0f / (1.0f + expf(-x[i])); break;
    case U_HSIG:
        memcpy(y, x, (size_t)n * 4);
        act_apply(TFJ_ACT_HSIG, a, b, y, n);
        break;
    case U_SQRT: for (int64_t i = 0; i < n; i++) y[i] = sqrtf(x[i]); break;
    case U_TANH: for (int64_t i = 0; i < n; i++) y[i] = tanhf(x[i]); break;
    case U_EXP: for (int64_t i = 0; i < n; i++) y[i] = expf(x[i]); break;
    case U_LEAKY: for (int64_t i = 0; i < n; i++) y[i] = x[i] < 0 ? a * x[i] : x[i]; break;
    case U_NEG: for (int64_t i = 0; i < n; i++) y[i] = -x[i]; break;
    default: for (int64_t i = 0; i < n; i++) y[i] = fabsf(x[i]); break;
    }
    return ODX_OK;
}

#define UNARY(fname, kind) \
    static odx_status fname(KARGS) { UNUSED; return unary(nd, in, out, kind, err); }
UNARY(op_relu, U_RELU)
UNARY(op_sigmoid, U_SIGMOID)
UNARY(op_hardsigmoid, U_HSIG)
UNARY(op_sqrt, U_SQRT)
UNARY(op_tanh, U_TANH)
UNARY(op_exp, U_EXP)
UNARY(op_leaky, U_LEAKY)
UNARY(op_neg, U_NEG)
UNARY(op_abs, U_ABS)

static odx_status op_clip(KARGS)
{
    UNUSED;
    odx_status st = need_f32(nd, &in[0], 0, err);
    if (st != ODX_OK) return st;
    float lo = -INFINITY, hi = INFINITY;
    if (nd->ox->has_min) lo = nd->ox->fmin;
    if (nd->ox->has_max) hi = nd->ox->fmax;
    for (int k = 1; k <= 2; k++) {
        if (!present(in, n_in, k)) continue;
        NEED(in[k].dtype == TFJ_F32 && in[k].n == 1, "node '%s': Clip bound must be a scalar",
             nd->name);
        if (k == 1) lo = in[k].d.f[0];
        else hi = in[k].d.f[0];
    }
    if ((st = tfj_tensor_alloc_nz(out, TFJ_F32, in[0].ndim, in[0].shape, err))) return st;
    const float *x = in[0].d.f;
    float *y = out->d.f;
    for (int64_t i = 0; i < in[0].n; i++) y[i] = x[i] < lo ? lo : x[i] > hi ? hi : x[i];
    return ODX_OK;
}

enum { B_ADD, B_SUB, B_MUL, B_DIV, B_POW };

static inline float fop(int k, float a, float b)
{
    switch (k) {
    case B_ADD: return a + b;
    case B_SUB: return a - b;
    case B_MUL: return a * b;
    case B_DIV: return a / b;
    default: return b == 2.0f ? a * a : b == 0.5f ? sqrtf(a) : powf(a, b);
    }
}

/* One broadcast row z[j] = x[j*sx] op y[j*sy]: the common strides (a
 * per-channel scale or bias over a plane: 1 and 0) get loops of their own
 * that vectorise (the recogniser's squeeze-excite Mul and residual Add). */
#define BIN_ROWS(OP)                                                              \
    if (sx == 1 && sy == 0) {                                                     \
        float c = y[0];                                                           \
        for (int64_t j = 0; j < n; j++) z[j] = x[j] OP c;                         \
    } else if (sx == 0 && sy == 1) {                                              \
        float c = x[0];                                                           \
        for (int64_t j = 0; j < n; j++) z[j] = c OP y[j];                         \
    } else if (sx == 1 && sy == 1) {                                              \
        for (int64_t j = 0; j < n; j++) z[j] = x[j] OP y[j];                      \
    } else {                                                                      \
        for (int64_t j = 0; j < n; j++) z[j] = x[j * sx] OP y[j * sy];            \
    }
ODX_VEC_CLONES static void
bin_row(int kind, const float *restrict x, int64_t sx, const float *restrict y, int64_t sy,
        float *restrict z, int64_t n)
{
    switch (kind) {
    case B_ADD: BIN_ROWS(+) break;
    case B_SUB: BIN_ROWS(-) break;
    case B_MUL: BIN_ROWS(*) break;
    case B_DIV: BIN_ROWS(/) break;
    default:
        for (int64_t j = 0; j < n; j++) z[j] = fop(kind, x[j * sx], y[j * sy]);
        break;
    }
}
#undef BIN_ROWS

static inline int32_t iop(int k, int32_t a, int32_t b)
{
    switch (k) {
    case B_ADD: return (int32_t)((uint32_t)a + (uint32_t)b);
    case B_SUB: return (int32_t)((uint32_t)a - (uint32_t)b);
    case B_MUL: return (int32_t)((uint32_t)a * (uint32_t)b);
    case B_DIV: return b == 0 || (a == INT32_MIN && b == -1) ? 0 : a / b;
    default: {
        int64_t r = 1;
        for (int32_t e = 0; e < b && e < 64 && r < INT32_MAX; e++) r *= a;
        return r > INT32_MAX ? INT32_MAX : r < INT32_MIN ? INT32_MIN : (int32_t)r;
    }
    }
}

/* Numpy broadcasting. Fast paths for equal shapes, a scalar, and a row of
 * the innermost dims repeated (e.g. [N,C,H,W] * [N,C,1,1]: inner run 1,
 * the other operand constant over H*W). */
static odx_status binary(const tfj_node *nd, const tfj_tensor *a, const tfj_tensor *b,
                         tfj_tensor *out, int kind, odx_err *err)
{
    NEED(a->dtype == b->dtype, "node '%s' (%s): mixed data types", nd->name, nd->op);
    int r = a->ndim > b->ndim ? a->ndim : b->ndim;
    int64_t shp[TFJ_MAX_DIMS], sa[TFJ_MAX_DIMS], sb[TFJ_MAX_DIMS];
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
    if (st != ODX_OK || out->n == 0) return st;
    int64_t n = out->n;
    if (a->dtype == TFJ_F32) {
        const float *x = a->d.f, *y = b->d.f;
        float *z = out->d.f;
        if (a->n == n && b->n == n) {
            switch (kind) {
            case B_ADD: for (int64_t i = 0; i < n; i++) z[i] = x[i] + y[i]; break;
            case B_MUL: for (int64_t i = 0; i < n; i++) z[i] = x[i] * y[i]; break;
            default: for (int64_t i = 0; i < n; i++) z[i] = fop(kind, x[i], y[i]); break;
            }
            return ODX_OK;
        }
        if (a->n == n && b->n == 1) {
            float c = y[0];
            for (int64_t i = 0; i < n; i++) z[i] = fop(kind, x[i], c);
            return ODX_OK;
        }
        if (b->n == n && a->n == 1) {
            float c = x[0];
            for (int64_t i = 0; i < n; i++) z[i] = fop(kind, c, y[i]);
            return ODX_OK;
        }
    }
    /* collapse the innermost dims where one operand is constant (stride 0)
     * and the other contiguous: the inner loop then runs over them */
    int64_t inner = 1;
    int k0 = r, ma = -1, mb = -1; /* per operand over the run: 1 contiguous, 0 constant */
    while (k0 > 0) {
        int k = k0 - 1;
        if (shp[k] == 1) {
            k0--;
            continue;
        }
        int fa = sa[k] == inner ? 1 : sa[k] == 0 ? 0 : -2;
        int fb = sb[k] == inner ? 1 : sb[k] == 0 ? 0 : -2;
        if (fa == -2 || fb == -2) break;
        if (ma == -1) {
            ma = fa;
            mb = fb;
        } else if (fa != ma || fb != mb) {
            break;
        }
        inner *= shp[k];
        k0--;
    }
    if (ma == -1) ma = mb = 1;
    int64_t ia_step = ma, ib_step = mb;
    int64_t idx[TFJ_MAX_DIMS] = {0}, oa = 0, ob = 0;
    for (int64_t i = 0; i < n; i += inner) {
        if (a->dtype == TFJ_F32) {
            bin_row(kind, a->d.f + oa, ia_step, b->d.f + ob, ib_step, out->d.f + i, inner);
        } else {
            const int32_t *x = a->d.i + oa, *y = b->d.i + ob;
            int32_t *z = out->d.i + i;
            for (int64_t j = 0; j < inner; j++) z[j] = iop(kind, x[j * ia_step], y[j * ib_step]);
        }
        for (int k = k0 - 1; k >= 0; k--) {
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

#define BINARY(fname, kind) \
    static odx_status fname(KARGS) { UNUSED; return binary(nd, &in[0], &in[1], out, kind, err); }
BINARY(op_add, B_ADD)
BINARY(op_sub, B_SUB)
BINARY(op_mul, B_MUL)
BINARY(op_div, B_DIV)
BINARY(op_pow, B_POW)

/* --------------------------------------------------------- convolution ---- */

static bool out_dim(int64_t in, int64_t k, int64_t s, int64_t d, int64_t pb, int64_t pa,
                    int64_t *out)
{
    int64_t ek = (k - 1) * d + 1, span = in + pb + pa - ek;
    if (s < 1 || span < 0) return false;
    *out = span / s + 1;
    return true;
}

#define CONV_BLOCK_FLOATS ((int64_t)256 << 10)
#define IM2COL_MAX_FLOATS ((int64_t)4 << 20)

/* One pass over n outputs of one channel: bias, the fused activation, the
 * post-affine (a, b; a = 1, b = 0 when absent). Called right after a block
 * is computed, while it is still in cache: three separate passes over whole
 * planes cost more than the 1x1 convolutions that made them (measured:
 * 34% of a PP-OCR page's CPU time, perf). Cloned for AVX2+FMA and AVX-512
 * (chosen at load by the CPU; the baseline build is SSE2). */
/* (fminf/fmaxf are library calls without -ffast-math: they stop the loop
 * from vectorising) */
static inline float clamp01(float v) { return v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v; }
static inline float clamp06(float v) { return v < 0.0f ? 0.0f : v > 6.0f ? 6.0f : v; }
#define EPI_LOOP(EXPR)                                  \
    for (int64_t i = 0; i < n; i++) {                   \
        float v = y[i] + b0;                            \
        v = (EXPR);                                     \
        y[i] = v * pa + pb;                             \
    }
ODX_VEC_CLONES static void
epi_channel(int act, float alpha, float beta, float b0, float pa, float pb, float *restrict y,
            int64_t n)
{
    switch (act) {
    case TFJ_ACT_RELU:
        EPI_LOOP(v < 0 ? 0 : v);
        break;
    case TFJ_ACT_RELU6:
        EPI_LOOP(v < 0 ? 0 : v > 6 ? 6 : v);
        break;
    case TFJ_ACT_LEAKY:
        EPI_LOOP(v < 0 ? alpha * v : v);
        break;
    case TFJ_ACT_HSIG:
        EPI_LOOP(clamp01(alpha * v + beta));
        break;
    case TFJ_ACT_HSWISH:
        EPI_LOOP(v * clamp06(v + 3.0f) * (1.0f / 6.0f));
        break;
    default:
        EPI_LOOP(v);
        break;
    }
}
#undef EPI_LOOP

/* The epilogue of channels m0..m0+nm (y: channel m0's first output, rows
 * stride apart), n outputs each. */
static void nchw_epilogue(const tfj_node *nd, const float *bias, float *y, int64_t m0, int64_t nm,
                          int64_t stride, int64_t n)
{
    const tfj_onnx_attr *a = nd->ox;
    if (!bias && !nd->act && !a->pa) return;
    for (int64_t m = m0; m < m0 + nm; m++, y += stride)
        epi_channel(nd->act, a->alpha, a->beta, bias ? bias[m] : 0.0f, a->pa ? a->pa[m] : 1.0f,
                    a->pa ? a->pb[m] : 0.0f, y, n);
}

/* Depthwise (one input channel per group, one output channel per group).
 * Each channel plane is first copied into a zero-padded plane (scratch), so
 * the tap loops need no bounds; for the common 3x3 and 5x5 kernels at
 * stride 1 or 2 the taps are unrolled (compile-time trip counts) and the
 * loop over output columns vectorises. */
#define DW_BODY(KH_, KW_, SW_)                                                          \
    for (int64_t oy = 0; oy < OH; oy++) {                                               \
        float *restrict yr = yc + oy * OW;                                              \
        const float *restrict base = pp + oy * sh * PW;                                 \
        for (int64_t ox = 0; ox < OW; ox++) {                                           \
            float acc = 0;                                                              \
            for (int ky = 0; ky < KH_; ky++)                                            \
                for (int kx = 0; kx < KW_; kx++)                                        \
                    acc += wc[ky * KW_ + kx] * base[ky * PW + ox * SW_ + kx];           \
            yr[ox] = acc;                                                               \
        }                                                                               \
    }

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__SANITIZE_THREAD__)
#include <immintrin.h>
/* Depthwise K x K at stride (SH, 1), AVX-512: R output rows at once from
 * 16 columns of each input row they share, the K*K weights in registers
 * (5x5, R 4: 25 + 4 + 1 of the 32 zmm). Per 16 x R outputs the plane is
 * read (R-1)*SH+K rows x K times instead of R*K*K: on the recogniser's
 * 5x5 planes (240 x 12 x 400) 2.0x the vectorised loop below, on short
 * lines (12 x 40) 1.8x (its column tails are scalar). The same taps in
 * the same order, as fused multiply-adds. */
#define DW512(K, SH, R)                                                                     \
    for (; oy + R <= OH; oy += R) {                                                         \
        const float *base = pp + (size_t)oy * SH * PW;                                      \
        float *y0 = yc + (size_t)oy * OW;                                                   \
        for (int64_t ox = 0; ox < OW; ox += 16) {                                           \
            __mmask16 mk = OW - ox >= 16 ? 0xffff : (__mmask16)((1u << (OW - ox)) - 1);     \
            __m512 acc[R];                                                                  \
            _Pragma("GCC unroll 8") for (int r = 0; r < R; r++) acc[r] = _mm512_setzero_ps(); \
            _Pragma("GCC unroll 16") for (int iy = 0; iy < (R - 1) * SH + K; iy++) {       \
                _Pragma("GCC unroll 8") for (int kx = 0; kx < K; kx++) {                   \
                    __m512 v = _mm512_maskz_loadu_ps(mk, base + (size_t)iy * PW + ox + kx); \
                    _Pragma("GCC unroll 8") for (int r = 0; r < R; r++) {                  \
                        int ky = iy - r * SH;                                               \
                        if (ky >= 0 && ky < K)                                              \
                            acc[r] = _mm512_fmadd_ps(wv[ky * K + kx], v, acc[r]);           \
                    }                                                                       \
                }                                                                           \
            }                                                                               \
            _Pragma("GCC unroll 8") for (int r = 0; r < R; r++)                            \
                _mm512_mask_storeu_ps(y0 + (size_t)r * OW + ox, mk, acc[r]);                \
        }                                                                                   \
    }

__attribute__((target("avx512f"))) ODX_O3 static void
dw_avx512(const float *pp, const float *wc, float *yc, int64_t OH, int64_t OW, int64_t PW,
          int K, int sh)
{
    __m512 wv[25];
    for (int i = 0; i < K * K; i++) wv[i] = _mm512_set1_ps(wc[i]);
    int64_t oy = 0;
    if (K == 5 && sh == 1) {
        DW512(5, 1, 4)
        DW512(5, 1, 1)
    } else if (K == 5) {
        DW512(5, 2, 3)
        DW512(5, 2, 1)
    } else if (sh == 1) {
        DW512(3, 1, 6)
        DW512(3, 1, 1)
    } else {
        DW512(3, 2, 4)
        DW512(3, 2, 1)
    }
}
#undef DW512

static bool have_avx512(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
}
#define DW_FAST(KH, KW, sh, sw, d1) ((d1) && (KH) == (KW) && ((KH) == 3 || (KH) == 5) && \
                                     (sw) == 1 && ((sh) == 1 || (sh) == 2) && have_avx512())
#else
#define DW_FAST(KH, KW, sh, sw, d1) false
#define dw_avx512(pp, wc, yc, OH, OW, PW, K, sh) abort()
#endif

ODX_VEC_CLONES static void
depthwise(const tfj_node *nd, const float *bias, const float *x, const float *w, float *y,
          float *pp, int64_t C, int64_t H, int64_t W, int64_t OH, int64_t OW, int64_t KH,
          int64_t KW, int64_t sh, int64_t sw, int64_t dh, int64_t dw, int64_t pt, int64_t pl,
          int64_t PH, int64_t PW)
{
    /* only the border of the padded plane is zero; the inside is copied
     * over for every channel */
    int64_t pr = PW - pl - W;
    memset(pp, 0, (size_t)(pt * PW) * sizeof(float));
    memset(pp + (pt + H) * PW, 0, (size_t)((PH - pt - H) * PW) * sizeof(float));
    for (int64_t r = 0; r < H; r++) {
        memset(pp + (r + pt) * PW, 0, (size_t)pl * sizeof(float));
        memset(pp + (r + pt) * PW + pl + W, 0, (size_t)pr * sizeof(float));
    }
    bool fast = DW_FAST(KH, KW, sh, sw, dh == 1 && dw == 1);
    for (int64_t c = 0; c < C; c++) {
        const float *xc = x + c * H * W;
        const float *restrict wc = w + c * KH * KW;
        float *yc = y + c * OH * OW;
        for (int64_t r = 0; r < H; r++)
            memcpy(pp + (r + pt) * PW + pl, xc + r * W, (size_t)W * sizeof(float));
        bool d1 = dh == 1 && dw == 1;
        if (fast) {
            dw_avx512(pp, wc, yc, OH, OW, PW, (int)KH, (int)sh);
        } else if (d1 && KH == 3 && KW == 3 && sw == 1) {
            DW_BODY(3, 3, 1)
        } else if (d1 && KH == 3 && KW == 3 && sw == 2) {
            DW_BODY(3, 3, 2)
        } else if (d1 && KH == 5 && KW == 5 && sw == 1) {
            DW_BODY(5, 5, 1)
        } else if (d1 && KH == 5 && KW == 5 && sw == 2) {
            DW_BODY(5, 5, 2)
        } else {
            for (int64_t oy = 0; oy < OH; oy++) {
                float *restrict yr = yc + oy * OW;
                memset(yr, 0, (size_t)OW * sizeof(float));
                for (int64_t ky = 0; ky < KH; ky++)
                    for (int64_t kx = 0; kx < KW; kx++) {
                        float wv = wc[ky * KW + kx];
                        const float *restrict xr = pp + (oy * sh + ky * dh) * PW + kx * dw;
                        for (int64_t ox = 0; ox < OW; ox++) yr[ox] += wv * xr[ox * sw];
                    }
            }
        }
        nchw_epilogue(nd, bias, yc, c, 1, OH * OW, OH * OW);
    }
}

/* im2col rows for output positions p0 .. p0+pc of one group: row
 * (c, ky, kx) holds x[c][oy*sh - pt + ky*dh][ox*sw - pl + kx*dw], zero
 * outside; runs of one output row are copied at once. */
static void im2col(const float *xg, int64_t Cg, int64_t H, int64_t W, int64_t OW, int64_t KH,
                   int64_t KW, int64_t sh, int64_t sw, int64_t dh, int64_t dw, int64_t pt,
                   int64_t pl, int64_t p0, int64_t pc, float *col)
{
    for (int64_t c = 0; c < Cg; c++)
        for (int64_t ky = 0; ky < KH; ky++)
            for (int64_t kx = 0; kx < KW; kx++) {
                float *restrict row = col + ((c * KH + ky) * KW + kx) * pc;
                const float *xc = xg + c * H * W;
                int64_t off = kx * dw - pl;
                int64_t lo = off >= 0 ? 0 : (-off + sw - 1) / sw;
                int64_t hi = W - off <= 0 ? 0 : (W - off + sw - 1) / sw;
                if (hi > OW) hi = OW;
                if (lo > hi) lo = hi;
                for (int64_t q = 0; q < pc;) {
                    int64_t p = p0 + q, oy = p / OW, ox = p % OW;
                    int64_t n = OW - ox < pc - q ? OW - ox : pc - q; /* rest of this row */
                    int64_t iy = oy * sh - pt + ky * dh;
                    float *r = row + q;
                    if (iy < 0 || iy >= H) {
                        memset(r, 0, (size_t)n * sizeof(float));
                    } else {
                        const float *restrict xr = xc + iy * W + off;
                        int64_t a = lo > ox ? lo : ox, b = hi < ox + n ? hi : ox + n;
                        if (a > b) a = b;
                        for (int64_t t = ox; t < a; t++) r[t - ox] = 0;
                        if (sw == 1) memcpy(r + (a - ox), xr + a, (size_t)(b - a) * sizeof(float));
                        else
                            for (int64_t t = a; t < b; t++) r[t - ox] = xr[t * sw];
                        for (int64_t t = b; t < ox + n; t++) r[t - ox] = 0;
                    }
                    q += n;
                }
            }
}

static odx_status op_conv(KARGS)
{
    const tfj_tensor *x = &in[0], *f = &in[1];
    const tfj_onnx_attr *a = nd->ox;
    odx_status st;
    if ((st = need_f32(nd, x, 0, err)) || (st = need_f32(nd, f, 1, err))) return st;
    NEED(x->ndim == 4 && f->ndim == 4, "node '%s': Conv needs 4-D input and weights", nd->name);
    int64_t N = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3];
    int64_t M = f->shape[0], Cg = f->shape[1], KH = f->shape[2], KW = f->shape[3], G = a->group;
    NEED(G >= 1 && C % G == 0 && M % G == 0 && Cg == C / G,
         "node '%s': Conv channels %lld, weights %lldx%lld, group %lld disagree", nd->name,
         (long long)C, (long long)M, (long long)Cg, (long long)G);
    NEED(KH > 0 && KW > 0 && KH <= 64 && KW <= 64 &&
             (a->n_kernel == 0 || (a->kernel[0] == KH && a->kernel[1] == KW)),
         "node '%s': bad Conv kernel", nd->name);
    const float *bias = a->b;
    if (!bias && present(in, n_in, 2)) {
        NEED(in[2].dtype == TFJ_F32 && in[2].n == M, "node '%s': bias of %lld values",
             nd->name, (long long)in[2].n);
        bias = in[2].d.f;
    }
    const float *wt = a->w ? a->w : f->d.f;
    int64_t sh = a->strides[0], sw = a->strides[1], dh = a->dil[0], dw = a->dil[1];
    int64_t pt = a->pads[0], pl = a->pads[1], pb = a->pads[2], pr = a->pads[3];
    int64_t OH, OW;
    NEED(dh >= 1 && dw >= 1 && out_dim(H, KH, sh, dh, pt, pb, &OH) &&
             out_dim(W, KW, sw, dw, pl, pr, &OW),
         "node '%s': Conv output would be empty", nd->name);
    int64_t shp[4] = {N, M, OH, OW};
    if ((st = tfj_tensor_alloc_nz(out, TFJ_F32, 4, shp, err))) return st;
    int64_t P = OH * OW, Mg = M / G, K = Cg * KH * KW;
    if (out->n == 0) return ODX_OK;
    cx->macs += N * M * P * K;
    bool dwise = Cg == 1 && Mg == 1;
    bool direct = KH == 1 && KW == 1 && sh == 1 && sw == 1 && pt == 0 && pl == 0 && OH == H &&
                  OW == W;
    /* Columns per block. im2col: its rows within 16 MB. A 1x1 conv with
     * small weights: outputs and inputs of a block within about 1 MB, so
     * the epilogue finds them in cache (larger weights: one block, OpenBLAS
     * packs them again for every call). */
    int64_t chunk = P;
    if (!direct) chunk = IM2COL_MAX_FLOATS / K;
    else if (Mg * K <= CONV_BLOCK_FLOATS / 4) chunk = CONV_BLOCK_FLOATS / (Mg + K);
    if (chunk < 256) chunk = 256;
    if (chunk > P) chunk = P;
    /* the padded plane: every tap of every output lies inside it */
    int64_t PH = (OH - 1) * sh + (KH - 1) * dh + 1, PW = (OW - 1) * sw + (KW - 1) * dw + 1;
    if (PH < H + pt) PH = H + pt;
    if (PW < W + pl) PW = W + pl;
    if (dwise && !tfj_scratch(cx, (size_t)(PH * PW), err)) return ODX_ERR_NOMEM;
    if (!dwise && !direct && !tfj_scratch(cx, (size_t)(chunk * K), err)) return ODX_ERR_NOMEM;
    const uint32_t *wbf = dwise ? NULL : a->wbf; /* tfj_model_use_bf16 */
    size_t wbf_per = wbf ? tfj_bf16_packed_words(Mg, K) : 0;
    if (wbf && cx->xpack_len < tfj_bf16_xpack_words(K)) {
        uint32_t *xp = realloc(cx->xpack, tfj_bf16_xpack_words(K) * sizeof *xp);
        if (!xp) return core_err(err, ODX_ERR_NOMEM, "out of memory");
        cx->xpack = xp;
        cx->xpack_len = tfj_bf16_xpack_words(K);
    }
    for (int64_t b = 0; b < N; b++) {
        const float *xb = x->d.f + b * C * H * W;
        float *yb = out->d.f + b * M * P;
        if (dwise) {
            depthwise(nd, bias, xb, wt, yb, cx->scratch, C, H, W, OH, OW, KH, KW, sh, sw, dh, dw,
                      pt, pl, PH, PW);
            continue;
        }
        for (int64_t g = 0; g < G; g++) {
            const float *xg = xb + g * Cg * H * W, *wg = wt + g * Mg * K;
            float *yg = yb + g * Mg * P;
            for (int64_t p0 = 0; p0 < P; p0 += chunk) {
                int64_t pc = P - p0 < chunk ? P - p0 : chunk;
                const float *xs = xg + p0;
                int64_t ldx = P;
                if (!direct) {
                    im2col(xg, Cg, H, W, OW, KH, KW, sh, sw, dh, dw, pt, pl, p0, pc, cx->scratch);
                    xs = cx->scratch;
                    ldx = pc;
                }
                if (wbf)
                    tfj_bf16_gemm(wbf + wbf_per * g, Mg, K, pc, xs, ldx, yg + p0, P, cx->xpack);
                else
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)Mg, (int)pc,
                                (int)K, 1.0f, wg, (int)K, xs, (int)ldx, 0.0f, yg + p0, (int)P);
                nchw_epilogue(nd, bias, yg + p0, g * Mg, Mg, P, pc);
            }
        }
    }
    return ODX_OK;
}

/* ConvTranspose: col = W^T x, then col2im scatters into the output. */
static odx_status op_convtranspose(KARGS)
{
    const tfj_tensor *x = &in[0], *f = &in[1];
    const tfj_onnx_attr *a = nd->ox;
    odx_status st;
    if ((st = need_f32(nd, x, 0, err)) || (st = need_f32(nd, f, 1, err))) return st;
    NEED(x->ndim == 4 && f->ndim == 4, "node '%s': ConvTranspose needs 4-D tensors", nd->name);
    int64_t N = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3], G = a->group;
    int64_t Mg = f->shape[1], KH = f->shape[2], KW = f->shape[3];
    NEED(f->shape[0] == C && C % G == 0 && KH > 0 && KW > 0 && KH <= 64 && KW <= 64,
         "node '%s': ConvTranspose weights disagree with the input", nd->name);
    int64_t M = Mg * G, Cg = C / G;
    const float *bias = NULL;
    if (present(in, n_in, 2)) {
        NEED(in[2].dtype == TFJ_F32 && in[2].n == M, "node '%s': bad bias", nd->name);
        bias = in[2].d.f;
    }
    int64_t sh = a->strides[0], sw = a->strides[1], dh = a->dil[0], dw = a->dil[1];
    int64_t pt = a->pads[0], pl = a->pads[1], pb = a->pads[2], pr = a->pads[3];
    NEED(sh >= 1 && sw >= 1 && dh >= 1 && dw >= 1, "node '%s': bad strides", nd->name);
    int64_t OH = (H - 1) * sh - pt - pb + (KH - 1) * dh + 1 + a->out_pad[0];
    int64_t OW = (W - 1) * sw - pl - pr + (KW - 1) * dw + 1 + a->out_pad[1];
    NEED(OH > 0 && OW > 0 && OH <= TFJ_MAX_ELEMS && OW <= TFJ_MAX_ELEMS,
         "node '%s': ConvTranspose output would be empty", nd->name);
    int64_t shp[4] = {N, M, OH, OW};
    if ((st = tfj_tensor_alloc(out, TFJ_F32, 4, shp, err))) return st;
    int64_t P = H * W, K = Mg * KH * KW;
    NEED(P * K <= TFJ_MAX_ELEMS, "node '%s': ConvTranspose too large", nd->name);
    float *col = tfj_scratch(cx, (size_t)(P * K), err);
    if (!col) return ODX_ERR_NOMEM;
    cx->macs += N * C * P * K;
    for (int64_t b = 0; b < N; b++)
        for (int64_t g = 0; g < G; g++) {
            const float *xg = x->d.f + (b * C + g * Cg) * P, *wg = f->d.f + g * Cg * K;
            float *yg = out->d.f + (b * M + g * Mg) * OH * OW;
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)K, (int)P, (int)Cg, 1.0f,
                        wg, (int)K, xg, (int)P, 0.0f, col, (int)P);
            for (int64_t m = 0; m < Mg; m++)
                for (int64_t ky = 0; ky < KH; ky++)
                    for (int64_t kx = 0; kx < KW; kx++) {
                        const float *row = col + ((m * KH + ky) * KW + kx) * P;
                        float *ym = yg + m * OH * OW;
                        for (int64_t iy = 0; iy < H; iy++) {
                            int64_t oy = iy * sh - pt + ky * dh;
                            if (oy < 0 || oy >= OH) continue;
                            for (int64_t ix = 0; ix < W; ix++) {
                                int64_t ox = ix * sw - pl + kx * dw;
                                if (ox >= 0 && ox < OW) ym[oy * OW + ox] += row[iy * W + ix];
                            }
                        }
                    }
        }
    if (bias)
        for (int64_t b = 0; b < N; b++)
            nchw_epilogue(nd, bias, out->d.f + b * M * OH * OW, 0, M, OH * OW, OH * OW);
    return ODX_OK;
}

static odx_status op_batchnorm(KARGS)
{
    UNUSED;
    const tfj_tensor *x = &in[0];
    odx_status st = need_f32(nd, x, 0, err);
    if (st != ODX_OK) return st;
    NEED(x->ndim >= 2, "node '%s': BatchNormalization needs [N,C,...]", nd->name);
    int64_t C = x->shape[1];
    for (int k = 1; k < 5; k++)
        NEED(in[k].dtype == TFJ_F32 && in[k].n == C, "node '%s': BatchNormalization input %d",
             nd->name, k);
    if ((st = tfj_tensor_alloc_nz(out, TFJ_F32, x->ndim, x->shape, err))) return st;
    int64_t NC = x->shape[0] * C, inner = NC > 0 ? x->n / NC : 0;
    for (int64_t b = 0; b < x->shape[0]; b++)
        for (int64_t c = 0; c < C; c++) {
            float s = in[1].d.f[c] / sqrtf(in[4].d.f[c] + nd->ox->eps);
            float o = in[2].d.f[c] - in[3].d.f[c] * s;
            const float *xi = x->d.f + (b * C + c) * inner;
            float *yi = out->d.f + (b * C + c) * inner;
            for (int64_t i = 0; i < inner; i++) yi[i] = xi[i] * s + o;
        }
    return ODX_OK;
}

/* ------------------------------------------------------------ pooling ---- */

static odx_status op_gap(KARGS)
{
    UNUSED;
    const tfj_tensor *x = &in[0];
    odx_status st = need_f32(nd, x, 0, err);
    if (st != ODX_OK) return st;
    NEED(x->ndim >= 3, "node '%s': GlobalAveragePool needs [N,C,...]", nd->name);
    int64_t shp[TFJ_MAX_DIMS];
    for (int d = 0; d < x->ndim; d++) shp[d] = d < 2 ? x->shape[d] : 1;
    if ((st = tfj_tensor_alloc_nz(out, TFJ_F32, x->ndim, shp, err))) return st;
    int64_t NC = x->shape[0] * x->shape[1], inner = NC ? x->n / NC : 0;
    for (int64_t i = 0; i < NC; i++) {
        double s = 0;
        const float *p = x->d.f + i * inner;
        for (int64_t j = 0; j < inner; j++) s += p[j];
        out->d.f[i] = inner ? (float)(s / (double)inner) : 0.0f;
    }
    return ODX_OK;
}

static odx_status pool(const tfj_node *nd, const tfj_tensor *x, tfj_tensor *out, bool avg,
                       odx_err *err)
{
    const tfj_onnx_attr *a = nd->ox;
    odx_status st = need_f32(nd, x, 0, err);
    if (st != ODX_OK) return st;
    NEED(x->ndim == 4 && a->n_kernel == 2 && a->kernel[0] > 0 && a->kernel[1] > 0,
         "node '%s': pooling needs a 4-D input and a 2-D kernel", nd->name);
    int64_t N = x->shape[0], C = x->shape[1], H = x->shape[2], W = x->shape[3];
    int64_t KH = a->kernel[0], KW = a->kernel[1], sh = a->strides[0], sw = a->strides[1];
    int64_t pt = a->pads[0], pl = a->pads[1], OH, OW, dh = a->dil[0], dw = a->dil[1];
    /* dilations (MaxPool opset 10+): taps dh/dw apart; found unread by
     * ONNX's node test maxpool_2d_dilations (test_cap_onnx_node) */
    NEED(dh >= 1 && dw >= 1 && (!avg || (dh == 1 && dw == 1)),
         "node '%s': pooling dilations %lldx%lld", nd->name, (long long)dh, (long long)dw);
    NEED(out_dim(H, KH, sh, dh, pt, a->pads[2], &OH) &&
             out_dim(W, KW, sw, dw, pl, a->pads[3], &OW),
         "node '%s': pooling output would be empty", nd->name);
    int64_t shp[4] = {N, C, OH, OW};
    if ((st = tfj_tensor_alloc_nz(out, TFJ_F32, 4, shp, err))) return st;
    if (dh != 1 || dw != 1) {
        for (int64_t i = 0; i < N * C; i++) {
            const float *xp = x->d.f + i * H * W;
            float *yp = out->d.f + i * OH * OW;
            for (int64_t oy = 0; oy < OH; oy++)
                for (int64_t ox = 0; ox < OW; ox++) {
                    float acc = -INFINITY;
                    for (int64_t ky = 0; ky < KH; ky++) {
                        int64_t yy = oy * sh - pt + ky * dh;
                        if (yy < 0 || yy >= H) continue;
                        for (int64_t kx = 0; kx < KW; kx++) {
                            int64_t xx = ox * sw - pl + kx * dw;
                            if (xx >= 0 && xx < W && xp[yy * W + xx] > acc) acc = xp[yy * W + xx];
                        }
                    }
                    yp[oy * OW + ox] = acc;
                }
        }
        return ODX_OK;
    }
    for (int64_t i = 0; i < N * C; i++) {
        const float *xp = x->d.f + i * H * W;
        float *yp = out->d.f + i * OH * OW;
        for (int64_t oy = 0; oy < OH; oy++)
            for (int64_t ox = 0; ox < OW; ox++) {
                int64_t y0 = oy * sh - pt, x0 = ox * sw - pl, y1 = y0 + KH, x1 = x0 + KW;
                int64_t full = (y1 < H + a->pads[2] ? y1 : H + a->pads[2]) - y0;
                int64_t fullw = (x1 < W + a->pads[3] ? x1 : W + a->pads[3]) - x0;
                if (y0 < 0) y0 = 0;
                if (x0 < 0) x0 = 0;
                if (y1 > H) y1 = H;
                if (x1 > W) x1 = W;
                float acc = avg ? 0.0f : -INFINITY;
                for (int64_t yy = y0; yy < y1; yy++)
                    for (int64_t xx = x0; xx < x1; xx++) {
                        float v = xp[yy * W + xx];
                        if (avg) acc += v;
                        else if (v > acc) acc = v;
                    }
                if (avg) {
                    int64_t cnt = a->count_include_pad ? full * fullw : (y1 - y0) * (x1 - x0);
                    acc = cnt > 0 ? acc / (float)cnt : 0.0f;
                }
                yp[oy * OW + ox] = acc;
            }
    }
    return ODX_OK;
}

static odx_status op_avgpool(KARGS) { UNUSED; return pool(nd, &in[0], out, true, err); }
static odx_status op_maxpool(KARGS) { UNUSED; return pool(nd, &in[0], out, false, err); }

/* ------------------------------------------------------------- resize ---- */

static int64_t nearest_src(const tfj_onnx_attr *a, int64_t o, double scale, int64_t in,
                           int64_t outn)
{
    double s;
    switch (a->coord_mode) {
    case 1: s = (double)o / scale; break;
    case 2: s = outn > 1 ? (double)o * (double)(in - 1) / (double)(outn - 1) : 0; break;
    case 3: s = outn > 1 ? ((double)o + 0.5) / scale - 0.5 : 0; break;
    default: s = ((double)o + 0.5) / scale - 0.5; break;
    }
    int64_t r;
    switch (a->nearest_mode) {
    case 1: r = (int64_t)floor(s + 0.5); break; /* round_prefer_ceil */
    case 2: r = (int64_t)floor(s); break;
    case 3: r = (int64_t)ceil(s); break;
    default: r = s - floor(s) == 0.5 ? (int64_t)floor(s) : (int64_t)floor(s + 0.5); break;
    }
    return r < 0 ? 0 : r >= in ? in - 1 : r;
}

static odx_status op_resize(KARGS)
{
    (void)cx;
    const tfj_tensor *x = &in[0];
    const tfj_onnx_attr *a = nd->ox;
    odx_status st = need_f32(nd, x, 0, err);
    if (st != ODX_OK) return st;
    NEED(x->ndim == 4, "node '%s': Resize needs a 4-D input", nd->name);
    NEED(a->mode == 0, "node '%s': only nearest Resize", nd->name);
    double scale[4];
    int64_t shp[4];
    /* opset 10: (X, scales); 11+: (X, roi, scales, sizes) */
    int k_sc = a->opset >= 11 ? 2 : 1, k_sz = 3;
    if (a->opset >= 11 && present(in, n_in, k_sz)) {
        NEED(in[k_sz].dtype == TFJ_I32 && in[k_sz].n == 4, "node '%s': bad Resize sizes",
             nd->name);
        for (int d = 0; d < 4; d++) {
            shp[d] = in[k_sz].d.i[d];
            NEED(shp[d] > 0 && x->shape[d] > 0, "node '%s': bad Resize sizes", nd->name);
            scale[d] = (double)shp[d] / (double)x->shape[d];
        }
    } else {
        NEED(present(in, n_in, k_sc) && in[k_sc].dtype == TFJ_F32 && in[k_sc].n == 4,
             "node '%s': Resize needs 4 scales", nd->name);
        for (int d = 0; d < 4; d++) {
            scale[d] = in[k_sc].d.f[d];
            NEED(scale[d] > 0 && scale[d] < 1e4, "node '%s': bad Resize scale", nd->name);
            shp[d] = (int64_t)floor((double)x->shape[d] * scale[d]);
        }
    }
    NEED(shp[0] == x->shape[0] && shp[1] == x->shape[1],
         "node '%s': Resize of the batch or channel dim", nd->name);
    NEED(shp[2] <= TFJ_MAX_ELEMS && shp[3] <= TFJ_MAX_ELEMS, "node '%s': Resize too large",
         nd->name);
    if ((st = tfj_tensor_alloc_nz(out, TFJ_F32, 4, shp, err))) return st;
    int64_t H = x->shape[2], W = x->shape[3], OH = shp[2], OW = shp[3];
    if (out->n == 0) return ODX_OK;
    int64_t *xs = malloc((size_t)OW * sizeof(int64_t));
    if (!xs) return core_err(err, ODX_ERR_NOMEM, "out of memory");
    for (int64_t o = 0; o < OW; o++) xs[o] = nearest_src(a, o, scale[3], W, OW);
    for (int64_t i = 0; i < shp[0] * shp[1]; i++)
        for (int64_t oy = 0; oy < OH; oy++) {
            const float *xr = x->d.f + (i * H + nearest_src(a, oy, scale[2], H, OH)) * W;
            float *yr = out->d.f + (i * OH + oy) * OW;
            for (int64_t o = 0; o < OW; o++) yr[o] = xr[xs[o]];
        }
    free(xs);
    return ODX_OK;
}

/* ------------------------------------------------------------ shapes ---- */

static odx_status op_identity(KARGS)
{
    UNUSED, (void)nd;
    return copy_as(&in[0], in[0].ndim, in[0].shape, out, err);
}

/* Shape, with opset 15's start/end (negative from the back, clamped):
 * found ignored by ONNX's node tests shape_start_1 and others. */
static odx_status op_shape(KARGS)
{
    UNUSED;
    int64_t r = in[0].ndim, a = nd->ox->shape_start, b = nd->ox->has_shape_end ? nd->ox->shape_end : r;
    if (a < 0) a += r;
    if (b < 0) b += r;
    a = a < 0 ? 0 : a > r ? r : a;
    b = b < 0 ? 0 : b > r ? r : b;
    int64_t n = b > a ? b - a : 0;
    odx_status st = tfj_tensor_alloc_nz(out, TFJ_I32, 1, &n, err);
    if (st != ODX_OK) return st;
    for (int64_t d = 0; d < n; d++)
        out->d.i[d] = in[0].shape[a + d] > INT32_MAX ? INT32_MAX : (int32_t)in[0].shape[a + d];
    return ODX_OK;
}

static odx_status op_cast(KARGS)
{
    UNUSED;
    int to = nd->ox->to;
    tfj_dtype dt;
    if (to == 1 || to == 11 || to == 10) dt = TFJ_F32;
    else if (to == 6 || to == 7 || to == 9 || to == 2 || to == 3) dt = TFJ_I32;
    else return core_err(err, ODX_ERR_UNSUPPORTED, "node '%s': Cast to type %d", nd->name, to);
    odx_status st = tfj_tensor_alloc_nz(out, dt, in[0].ndim, in[0].shape, err);
    if (st != ODX_OK) return st;
    const tfj_tensor *x = &in[0];
    for (int64_t i = 0; i < x->n; i++) {
        if (dt == x->dtype) {
            out->d.i[i] = x->d.i[i];
        } else if (dt == TFJ_F32) {
            out->d.f[i] = (float)x->d.i[i];
        } else {
            float v = x->d.f[i];
            out->d.i[i] = to == 9 ? v != 0
                          : !(v == v) ? 0
                          : v >= 2147483647.0f ? INT32_MAX
                          : v <= -2147483648.0f ? INT32_MIN
                                                : (int32_t)v;
        }
    }
    return ODX_OK;
}

static odx_status op_reshape(KARGS)
{
    UNUSED;
    int64_t shp[TFJ_MAX_DIMS];
    int n = 0, neg = -1;
    odx_status st = ivec(nd, &in[1], shp, TFJ_MAX_DIMS, &n, err);
    if (st != ODX_OK) return st;
    int64_t known = 1;
    for (int i = 0; i < n; i++) {
        if (shp[i] == 0 && !nd->ox->allowzero) { /* allowzero (opset 14): 0 is a size */
            NEED(i < in[0].ndim, "node '%s': Reshape 0 beyond the input's rank", nd->name);
            shp[i] = in[0].shape[i];
        }
        if (shp[i] == -1) {
            NEED(neg < 0, "node '%s': two -1 in Reshape", nd->name);
            neg = i;
            continue;
        }
        NEED(shp[i] >= 0 && (shp[i] == 0 || known <= TFJ_MAX_ELEMS / shp[i]),
             "node '%s': bad Reshape target", nd->name);
        known *= shp[i];
    }
    if (neg >= 0) {
        NEED(known > 0 && in[0].n % known == 0, "node '%s': Reshape cannot infer -1", nd->name);
        shp[neg] = in[0].n / known;
        known *= shp[neg];
    }
    NEED(known == in[0].n, "node '%s': Reshape of %lld elements into %lld", nd->name,
         (long long)in[0].n, (long long)known);
    return copy_as(&in[0], n, shp, out, err);
}

static odx_status op_flatten(KARGS)
{
    UNUSED;
    int ax = 0;
    int64_t a = nd->ox->has_axis ? nd->ox->axis : 1;
    if (a < 0) a += in[0].ndim;
    NEED(a >= 0 && a <= in[0].ndim, "node '%s': Flatten axis out of range", nd->name);
    ax = (int)a;
    int64_t shp[2] = {1, 1};
    for (int d = 0; d < in[0].ndim; d++) shp[d < ax ? 0 : 1] *= in[0].shape[d];
    return copy_as(&in[0], 2, shp, out, err);
}

/* axes from the attribute (older opsets) or input 1 (opset 13). */
static odx_status get_axes(const tfj_node *nd, const tfj_tensor *in, int n_in, int64_t *ax,
                           int *n, odx_err *err)
{
    if (nd->ox->n_axes >= 0) {
        *n = nd->ox->n_axes;
        memcpy(ax, nd->ox->axes, sizeof(int64_t) * (size_t)*n);
        return ODX_OK;
    }
    *n = 0;
    if (present(in, n_in, 1)) return ivec(nd, &in[1], ax, TFJ_MAX_DIMS, n, err);
    return ODX_OK;
}

static odx_status op_squeeze(KARGS)
{
    (void)cx;
    int64_t ax[TFJ_MAX_DIMS];
    int na;
    odx_status st = get_axes(nd, in, n_in, ax, &na, err);
    if (st != ODX_OK) return st;
    bool drop[TFJ_MAX_DIMS] = {0};
    for (int k = 0; k < na; k++) {
        int d = 0;
        if ((st = norm_axis(nd, ax[k], in[0].ndim, &d, err))) return st;
        NEED(in[0].shape[d] == 1, "node '%s': Squeeze of a dim of size %lld", nd->name,
             (long long)in[0].shape[d]);
        drop[d] = true;
    }
    int64_t shp[TFJ_MAX_DIMS];
    int n = 0;
    for (int d = 0; d < in[0].ndim; d++)
        if (!(na ? drop[d] : in[0].shape[d] == 1)) shp[n++] = in[0].shape[d];
    return copy_as(&in[0], n, shp, out, err);
}

static odx_status op_unsqueeze(KARGS)
{
    (void)cx;
    int64_t ax[TFJ_MAX_DIMS];
    int na;
    odx_status st = get_axes(nd, in, n_in, ax, &na, err);
    if (st != ODX_OK) return st;
    int r = in[0].ndim + na;
    NEED(na > 0 && r <= TFJ_MAX_DIMS, "node '%s': Unsqueeze to rank %d", nd->name, r);
    bool ins[TFJ_MAX_DIMS] = {0};
    for (int k = 0; k < na; k++) {
        int d = 0;
        if ((st = norm_axis(nd, ax[k], r, &d, err))) return st;
        NEED(!ins[d], "node '%s': Unsqueeze axis twice", nd->name);
        ins[d] = true;
    }
    int64_t shp[TFJ_MAX_DIMS];
    for (int d = 0, s = 0; d < r; d++) shp[d] = ins[d] ? 1 : in[0].shape[s++];
    return copy_as(&in[0], r, shp, out, err);
}

static odx_status op_transpose(KARGS)
{
    UNUSED;
    int r = in[0].ndim;
    int64_t perm[TFJ_MAX_DIMS];
    const tfj_onnx_attr *a = nd->ox;
    if (a->n_perm >= 0) {
        NEED(a->n_perm == r, "node '%s': perm of %d values for rank %d", nd->name, a->n_perm, r);
        int seen = 0;
        for (int k = 0; k < r; k++) {
            NEED(a->perm[k] >= 0 && a->perm[k] < r && !(seen & (1 << a->perm[k])),
                 "node '%s': bad permutation", nd->name);
            seen |= 1 << a->perm[k];
            perm[k] = a->perm[k];
        }
    } else {
        for (int k = 0; k < r; k++) perm[k] = r - 1 - k;
    }
    return tfj_transpose_perm(&in[0], perm, out, err);
}

static odx_status op_concat(KARGS)
{
    (void)cx;
    const tfj_tensor *x0 = &in[0];
    int ax = 0;
    odx_status st = norm_axis(nd, nd->ox->axis, x0->ndim, &ax, err);
    if (st != ODX_OK) return st;
    int64_t shp[TFJ_MAX_DIMS];
    memcpy(shp, x0->shape, sizeof shp);
    shp[ax] = 0;
    for (int i = 0; i < n_in; i++) {
        NEED(in[i].ndim == x0->ndim && in[i].dtype == x0->dtype,
             "node '%s': Concat inputs differ in rank or type", nd->name);
        for (int d = 0; d < x0->ndim; d++)
            NEED(d == ax || in[i].shape[d] == x0->shape[d],
                 "node '%s': Concat inputs differ at dim %d", nd->name, d);
        shp[ax] += in[i].shape[ax];
    }
    if ((st = tfj_tensor_alloc_nz(out, x0->dtype, x0->ndim, shp, err))) return st;
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < ax; d++) outer *= shp[d];
    for (int d = ax + 1; d < x0->ndim; d++) inner *= shp[d];
    uint32_t *dst = out->d.p;
    for (int64_t o = 0; o < outer; o++)
        for (int i = 0; i < n_in; i++) {
            int64_t blk = in[i].shape[ax] * inner;
            memcpy(dst, (const uint32_t *)in[i].d.p + o * blk, (size_t)blk * 4);
            dst += blk;
        }
    return ODX_OK;
}

static odx_status op_slice(KARGS)
{
    (void)cx;
    const tfj_tensor *x = &in[0];
    const tfj_onnx_attr *a = nd->ox;
    int r = x->ndim;
    int64_t st_[TFJ_MAX_DIMS], en[TFJ_MAX_DIMS], ax[TFJ_MAX_DIMS], sp[TFJ_MAX_DIMS];
    int ns = 0, ne = 0, na = -1, nsp = -1;
    odx_status st = ODX_OK;
    if (a->opset < 10) {
        NEED(a->n_starts >= 0 && a->n_ends >= 0 && a->n_starts == a->n_ends,
             "node '%s': Slice needs starts and ends", nd->name);
        ns = ne = a->n_starts;
        memcpy(st_, a->starts, sizeof(int64_t) * (size_t)ns);
        memcpy(en, a->ends, sizeof(int64_t) * (size_t)ne);
        if (a->n_axes >= 0) {
            na = a->n_axes;
            memcpy(ax, a->axes, sizeof(int64_t) * (size_t)na);
        }
    } else {
        NEED(n_in >= 3, "node '%s': Slice needs starts and ends", nd->name);
        if ((st = ivec(nd, &in[1], st_, TFJ_MAX_DIMS, &ns, err)) ||
            (st = ivec(nd, &in[2], en, TFJ_MAX_DIMS, &ne, err)))
            return st;
        if (present(in, n_in, 3) && (st = ivec(nd, &in[3], ax, TFJ_MAX_DIMS, &na, err))) return st;
        if (present(in, n_in, 4) && (st = ivec(nd, &in[4], sp, TFJ_MAX_DIMS, &nsp, err)))
            return st;
    }
    NEED(ns == ne && (na < 0 || na == ns) && (nsp < 0 || nsp == ns) && ns <= r,
         "node '%s': Slice argument lengths disagree", nd->name);
    int64_t b[TFJ_MAX_DIMS], step[TFJ_MAX_DIMS], shp[TFJ_MAX_DIMS];
    for (int d = 0; d < r; d++) {
        b[d] = 0;
        step[d] = 1;
        shp[d] = x->shape[d];
    }
    bool seen[TFJ_MAX_DIMS] = {0};
    for (int k = 0; k < ns; k++) {
        int d = k;
        if (na >= 0 && (st = norm_axis(nd, ax[k], r, &d, err))) return st;
        NEED(!seen[d], "node '%s': Slice axis twice", nd->name);
        seen[d] = true;
        int64_t s = nsp >= 0 ? sp[k] : 1, dim = x->shape[d], lo = st_[k], hi = en[k];
        NEED(s != 0, "node '%s': Slice step 0", nd->name);
        if (lo < 0) lo += dim;
        if (hi < 0) hi += dim;
        if (s > 0) {
            lo = lo < 0 ? 0 : lo > dim ? dim : lo;
            hi = hi < 0 ? 0 : hi > dim ? dim : hi;
            shp[d] = hi > lo ? (hi - lo + s - 1) / s : 0;
        } else {
            lo = lo < 0 ? -1 : lo > dim - 1 ? dim - 1 : lo;
            hi = hi < -1 ? -1 : hi > dim - 1 ? dim - 1 : hi;
            shp[d] = lo > hi ? (lo - hi + (-s) - 1) / (-s) : 0;
        }
        b[d] = lo;
        step[d] = s;
    }
    if ((st = tfj_tensor_alloc_nz(out, x->dtype, r, shp, err)) || out->n == 0) return st;
    int64_t is[TFJ_MAX_DIMS], acc = 1;
    for (int d = r - 1; d >= 0; d--) {
        is[d] = acc;
        acc *= x->shape[d];
    }
    const uint32_t *src = x->d.p;
    uint32_t *dst = out->d.p;
    if (r == 0) {
        dst[0] = src[0];
        return ODX_OK;
    }
    int64_t idx[TFJ_MAX_DIMS] = {0}, off = 0;
    for (int d = 0; d < r; d++) off += b[d] * is[d];
    int64_t last = shp[r - 1], ls = step[r - 1] * is[r - 1];
    for (int64_t o = 0; o < out->n; o += last) {
        for (int64_t j = 0; j < last; j++) dst[o + j] = src[off + j * ls];
        for (int k = r - 2; k >= 0; k--) {
            idx[k]++;
            off += step[k] * is[k];
            if (idx[k] < shp[k]) break;
            off -= step[k] * is[k] * shp[k];
            idx[k] = 0;
        }
    }
    return ODX_OK;
}

static odx_status op_gather(KARGS)
{
    UNUSED;
    const tfj_tensor *x = &in[0], *ix = &in[1];
    int ax = 0;
    odx_status st = norm_axis(nd, nd->ox->axis, x->ndim, &ax, err);
    if (st != ODX_OK) return st;
    NEED(ix->dtype == TFJ_I32 && x->ndim + ix->ndim - 1 <= TFJ_MAX_DIMS,
         "node '%s': Gather indices", nd->name);
    int64_t shp[TFJ_MAX_DIMS];
    int r = 0;
    for (int d = 0; d < ax; d++) shp[r++] = x->shape[d];
    for (int d = 0; d < ix->ndim; d++) shp[r++] = ix->shape[d];
    for (int d = ax + 1; d < x->ndim; d++) shp[r++] = x->shape[d];
    if ((st = tfj_tensor_alloc_nz(out, x->dtype, r, shp, err))) return st;
    int64_t outer = 1, inner = 1, dim = x->shape[ax];
    for (int d = 0; d < ax; d++) outer *= x->shape[d];
    for (int d = ax + 1; d < x->ndim; d++) inner *= x->shape[d];
    const uint32_t *src = x->d.p;
    uint32_t *dst = out->d.p;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < ix->n; i++) {
            int64_t k = ix->d.i[i];
            if (k < 0) k += dim;
            NEED(k >= 0 && k < dim, "node '%s': Gather index out of range", nd->name);
            memcpy(dst, src + (o * dim + k) * inner, (size_t)inner * 4);
            dst += inner;
        }
    return ODX_OK;
}

/* --------------------------------------------------------- reductions ---- */

static odx_status op_reducemean(KARGS)
{
    (void)cx;
    const tfj_tensor *x = &in[0];
    odx_status st = need_f32(nd, x, 0, err);
    if (st != ODX_OK) return st;
    int64_t ax[TFJ_MAX_DIMS];
    int na, r = x->ndim;
    if ((st = get_axes(nd, in, n_in, ax, &na, err))) return st;
    bool red[TFJ_MAX_DIMS] = {0};
    for (int k = 0; k < na; k++) {
        int d = 0;
        if ((st = norm_axis(nd, ax[k], r, &d, err))) return st;
        red[d] = true;
    }
    if (na == 0)
        for (int d = 0; d < r; d++) red[d] = true;
    int64_t shp[TFJ_MAX_DIMS], kshp[TFJ_MAX_DIMS];
    int n = 0;
    int64_t cnt = 1;
    for (int d = 0; d < r; d++) {
        kshp[d] = red[d] ? 1 : x->shape[d];
        if (red[d]) cnt *= x->shape[d];
        if (!red[d] || nd->ox->keepdims) shp[n++] = kshp[d];
    }
    if ((st = tfj_tensor_alloc(out, TFJ_F32, n, shp, err))) return st;
    /* output strides over the kept-dims shape; 0 on reduced dims */
    int64_t os[TFJ_MAX_DIMS], acc = 1;
    for (int d = r - 1; d >= 0; d--) {
        os[d] = red[d] ? 0 : acc;
        acc *= kshp[d];
    }
    if (r > 0 && red[r - 1] && x->n > 0) {
        /* fast path: the innermost dims are reduced in one run */
        int64_t run = 1;
        int d = r - 1;
        while (d >= 0 && red[d]) run *= x->shape[d--];
        for (int64_t i = 0; i < x->n; i += run) {
            double s = 0;
            for (int64_t j = 0; j < run; j++) s += x->d.f[i + j];
            int64_t o = 0, rem = i / run;
            for (int e = d; e >= 0; e--) {
                o += (rem % x->shape[e]) * os[e];
                rem /= x->shape[e];
            }
            out->d.f[o] += (float)s;
        }
    } else {
        int64_t idx[TFJ_MAX_DIMS] = {0}, o = 0;
        for (int64_t i = 0; i < x->n; i++) {
            out->d.f[o] += x->d.f[i];
            for (int k = r - 1; k >= 0; k--) {
                idx[k]++;
                o += os[k];
                if (idx[k] < x->shape[k]) break;
                o -= os[k] * x->shape[k];
                idx[k] = 0;
            }
        }
    }
    if (cnt > 0)
        for (int64_t i = 0; i < out->n; i++) out->d.f[i] /= (float)cnt;
    return ODX_OK;
}

/* e^x for x <= 0 (softmax after the max is taken off), vectorisable:
 * x = n ln2 + r, |r| <= ln2/2, e^r by a degree-6 Taylor polynomial
 * (relative error under 3e-7), 2^n put in the exponent bits; below -87
 * the result is 0 (expf gives a denormal or 0 there). */
static inline float exp_neg(float x)
{
    x = x < -87.0f ? -87.0f : x; /* no NaN here: softmax_row takes those elsewhere */
    /* round to nearest by the 1.5 * 2^23 trick (|x log2 e| < 126): roundf
     * is a library rounding mode no vector instruction has */
    float n = (x * 1.44269504f + 12582912.0f) - 12582912.0f;
    float r = x - n * 0.693145752f; /* ln2 in two parts */
    r = r - n * 1.42860677e-6f;
    float p = 1.0f + r * (1.0f + r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 + r * (1.0f / 720))))));
    int32_t e = ((int32_t)n + 127) << 23;
    float sc;
    memcpy(&sc, &e, 4);
    return p * sc;
}

/* Softmax of one contiguous row (the recogniser's 6625 classes per time
 * step: 5% of a page's CPU in libm's expf before). The max and the sum
 * run in 16 lanes (no -ffast-math: the compiler may not reorder a
 * reduction itself). */
ODX_VEC_CLONES static void
softmax_row(const float *restrict p, float *restrict q, int64_t len)
{
    float m[16], acc[16];
    int64_t j = 0, n16 = len / 16 * 16;
    for (int k = 0; k < 16; k++) m[k] = -INFINITY, acc[k] = 0;
    for (; j < n16; j += 16)
        for (int k = 0; k < 16; k++) m[k] = p[j + k] > m[k] ? p[j + k] : m[k];
    float mx = -INFINITY;
    for (int k = 0; k < 16; k++) mx = m[k] > mx ? m[k] : mx;
    for (; j < len; j++) mx = p[j] > mx ? p[j] : mx;
    bool odd = !(mx > -INFINITY && mx < INFINITY);
    for (j = 0; j < len && !odd; j++) odd = p[j] != p[j];
    if (odd) { /* a NaN, +inf or all -inf: libm, NaNs propagate */
        double s = 0;
        for (j = 0; j < len; j++) s += q[j] = expf(p[j] - mx);
        for (j = 0; j < len; j++) q[j] = (float)(q[j] / s);
        return;
    }
    for (j = 0; j < len; j++) q[j] = exp_neg(p[j] - mx);
    for (j = 0; j < n16; j += 16)
        for (int k = 0; k < 16; k++) acc[k] += q[j + k];
    float s = 0;
    for (int k = 0; k < 16; k++) s += acc[k];
    for (; j < len; j++) s += q[j];
    float inv = 1.0f / s;
    for (j = 0; j < len; j++) q[j] *= inv;
}

static odx_status op_softmax(KARGS)
{
    UNUSED;
    const tfj_tensor *x = &in[0];
    odx_status st = need_f32(nd, x, 0, err);
    if (st != ODX_OK) return st;
    int ax = 0;
    if ((st = norm_axis(nd, nd->ox->axis, x->ndim, &ax, err))) return st;
    if ((st = tfj_tensor_alloc_nz(out, TFJ_F32, x->ndim, x->shape, err)) || x->n == 0) return st;
    int64_t outer = 1, len = 1, inner = 1;
    for (int d = 0; d < ax; d++) outer *= x->shape[d];
    if (nd->ox->opset < 13) { /* coerced to 2-D at axis */
        len = x->n / outer;
    } else {
        len = x->shape[ax];
        for (int d = ax + 1; d < x->ndim; d++) inner *= x->shape[d];
    }
    if (inner == 1) {
        for (int64_t o = 0; o < outer; o++) softmax_row(x->d.f + o * len, out->d.f + o * len, len);
        return ODX_OK;
    }
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            const float *p = x->d.f + o * len * inner + i;
            float *q = out->d.f + o * len * inner + i;
            float mx = -INFINITY;
            for (int64_t j = 0; j < len; j++) mx = p[j * inner] > mx ? p[j * inner] : mx;
            double s = 0;
            for (int64_t j = 0; j < len; j++) {
                float e = expf(p[j * inner] - mx);
                q[j * inner] = e;
                s += e;
            }
            float inv = (float)(1.0 / s);
            for (int64_t j = 0; j < len; j++) q[j * inner] *= inv;
        }
    return ODX_OK;
}

/* MatMul with numpy semantics: [..., M, K] x [..., K, N], batch dims
 * broadcast; a 1-D operand gains (and then loses) a unit dim. */
static odx_status op_matmul(KARGS)
{
    UNUSED;
    const tfj_tensor *A = &in[0], *B = &in[1];
    odx_status st;
    if ((st = need_f32(nd, A, 0, err)) || (st = need_f32(nd, B, 1, err))) return st;
    NEED(A->ndim >= 1 && B->ndim >= 1, "node '%s': MatMul of scalars", nd->name);
    int64_t M = A->ndim >= 2 ? A->shape[A->ndim - 2] : 1, K = A->shape[A->ndim - 1];
    int64_t K2 = B->ndim >= 2 ? B->shape[B->ndim - 2] : B->shape[0];
    int64_t N = B->ndim >= 2 ? B->shape[B->ndim - 1] : 1;
    NEED(K == K2, "node '%s': MatMul inner dims %lld vs %lld", nd->name, (long long)K,
         (long long)K2);
    int ba = A->ndim > 2 ? A->ndim - 2 : 0, bb = B->ndim > 2 ? B->ndim - 2 : 0;
    int rb = ba > bb ? ba : bb;
    int64_t bshp[TFJ_MAX_DIMS], sa[TFJ_MAX_DIMS], sb[TFJ_MAX_DIMS];
    int64_t ea = 1, eb = 1;
    for (int i = rb - 1; i >= 0; i--) {
        int ia = i - (rb - ba), ib = i - (rb - bb);
        int64_t da = ia >= 0 ? A->shape[ia] : 1, db = ib >= 0 ? B->shape[ib] : 1;
        NEED(da == db || da == 1 || db == 1, "node '%s': MatMul batch dims", nd->name);
        bshp[i] = da == 1 ? db : da;
        sa[i] = da == 1 ? 0 : ea;
        sb[i] = db == 1 ? 0 : eb;
        ea *= da;
        eb *= db;
    }
    int64_t shp[TFJ_MAX_DIMS];
    int r = 0;
    for (int i = 0; i < rb; i++) shp[r++] = bshp[i];
    if (A->ndim >= 2) shp[r++] = M;
    if (B->ndim >= 2) shp[r++] = N;
    NEED(r <= TFJ_MAX_DIMS, "node '%s': MatMul rank", nd->name);
    if ((st = tfj_tensor_alloc_nz(out, TFJ_F32, r, shp, err))) return st;
    int64_t nb = 1;
    for (int i = 0; i < rb; i++) nb *= bshp[i];
    if (out->n == 0) return ODX_OK;
    if (K == 0) {
        memset(out->d.f, 0, (size_t)out->n * 4);
        return ODX_OK;
    }
    cx->macs += nb * M * N * K;
    /* A batch whose B is shared: one sgemm over all rows of A */
    if (bb == 0 && ba > 0) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)(nb * M), (int)N, (int)K,
                    1.0f, A->d.f, (int)K, B->d.f, (int)N, 0.0f, out->d.f, (int)N);
        return ODX_OK;
    }
    int64_t idx[TFJ_MAX_DIMS] = {0}, oa = 0, ob = 0;
    for (int64_t i = 0; i < nb; i++) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, (int)N, (int)K, 1.0f,
                    A->d.f + oa * M * K, (int)K, B->d.f + ob * K * N, (int)N, 0.0f,
                    out->d.f + i * M * N, (int)N);
        for (int k = rb - 1; k >= 0; k--) {
            idx[k]++;
            oa += sa[k];
            ob += sb[k];
            if (idx[k] < bshp[k]) break;
            oa -= sa[k] * bshp[k];
            ob -= sb[k] * bshp[k];
            idx[k] = 0;
        }
    }
    return ODX_OK;
}

/* ------------------------------------------------------------- table ---- */

static const tfj_opdef ONNX_OPS[] = {
    {"Abs", op_abs, 1, 1, TFJ_LAY_NONE},
    {"Add", op_add, 2, 2, TFJ_LAY_NONE},
    {"AveragePool", op_avgpool, 1, 1, TFJ_LAY_NONE},
    {"BatchNormalization", op_batchnorm, 5, 5, TFJ_LAY_NONE},
    {"Cast", op_cast, 1, 1, TFJ_LAY_NONE},
    {"Clip", op_clip, 1, 3, TFJ_LAY_NONE},
    {"Concat", op_concat, 1, -1, TFJ_LAY_NONE},
    {"Conv", op_conv, 2, 3, TFJ_LAY_NONE},
    {"ConvTranspose", op_convtranspose, 2, 3, TFJ_LAY_NONE},
    {"Div", op_div, 2, 2, TFJ_LAY_NONE},
    {"Exp", op_exp, 1, 1, TFJ_LAY_NONE},
    {"Flatten", op_flatten, 1, 1, TFJ_LAY_NONE},
    {"Gather", op_gather, 2, 2, TFJ_LAY_NONE},
    {"GlobalAveragePool", op_gap, 1, 1, TFJ_LAY_NONE},
    {"HardSigmoid", op_hardsigmoid, 1, 1, TFJ_LAY_NONE},
    {"Identity", op_identity, 1, 1, TFJ_LAY_NONE},
    {"LeakyRelu", op_leaky, 1, 1, TFJ_LAY_NONE},
    {"MatMul", op_matmul, 2, 2, TFJ_LAY_NONE},
    {"MaxPool", op_maxpool, 1, 1, TFJ_LAY_NONE},
    {"Mul", op_mul, 2, 2, TFJ_LAY_NONE},
    {"Neg", op_neg, 1, 1, TFJ_LAY_NONE},
    {"Pow", op_pow, 2, 2, TFJ_LAY_NONE},
    {"ReduceMean", op_reducemean, 1, 2, TFJ_LAY_NONE},
    {"Relu", op_relu, 1, 1, TFJ_LAY_NONE},
    {"Reshape", op_reshape, 2, 2, TFJ_LAY_NONE},
    {"Resize", op_resize, 1, 4, TFJ_LAY_NONE},
    {"Shape", op_shape, 1, 1, TFJ_LAY_NONE},
    {"Sigmoid", op_sigmoid, 1, 1, TFJ_LAY_NONE},
    {"Slice", op_slice, 1, 5, TFJ_LAY_NONE},
    {"Softmax", op_softmax, 1, 1, TFJ_LAY_NONE},
    {"Sqrt", op_sqrt, 1, 1, TFJ_LAY_NONE},
    {"Squeeze", op_squeeze, 1, 2, TFJ_LAY_NONE},
    {"Sub", op_sub, 2, 2, TFJ_LAY_NONE},
    {"Tanh", op_tanh, 1, 1, TFJ_LAY_NONE},
    {"Transpose", op_transpose, 1, 1, TFJ_LAY_NONE},
    {"Unsqueeze", op_unsqueeze, 1, 2, TFJ_LAY_NONE},
};

const tfj_opdef *tfj_onnx_op_find(const char *name)
{
    for (size_t i = 0; i < sizeof ONNX_OPS / sizeof ONNX_OPS[0]; i++)
        if (!strcmp(ONNX_OPS[i].name, name)) return &ONNX_OPS[i];
    return NULL;
}

const char *tfj_onnx_op_name(int i)
{
    return i >= 0 && (size_t)i < sizeof ONNX_OPS / sizeof ONNX_OPS[0] ? ONNX_OPS[i].name : NULL;
}

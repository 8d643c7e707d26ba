/* test_cap_onnx.c - the ONNX front-end of the model runtime (captioner/runtime/
 * onnx.c, onnx_ops.c). Without arguments: per-op graphs written by
 * onnx_graph.h, checked against plain reference loops in this file, fusion
 * counts, and refusals of bad models. With --oracle: the three PP-OCR models
 * (scripts/fetch_models.sh) on inputs made from the committed fixtures
 * (tests/fixtures/ocr, SHA-256 checked), against onnxruntime
 * (tests/oracle/onnx_oracle.js, scripts/fetch_oracle.sh): fails with a clear
 * message when the models, node or the oracle package are missing. */
#include "check.h"
#include "captioner.h"
#include "onnx_graph.h"
#include "runtime/runtime_int.h"

#include <math.h>
#include <stdint.h>
#include <sys/stat.h>

static const char *src_dir(void)
{
    const char *s = getenv("ODX_SOURCE_DIR");
    return s && *s ? s : ".";
}

static uint32_t rng = 12345;
static float frand(void)
{
    rng = rng * 1664525u + 1013904223u;
    return (float)((rng >> 8) & 0xffff) / 32768.0f - 1.0f;
}

static tfj_tensor mk(int ndim, const int64_t *shp, float *data)
{
    tfj_tensor t = {0};
    t.dtype = TFJ_F32;
    t.ndim = ndim;
    t.n = 1;
    for (int i = 0; i < ndim; i++) {
        t.shape[i] = shp[i];
        t.n *= shp[i];
    }
    t.d.f = data;
    return t;
}

/* Runs a one-input model; returns output 0 (borrowed from *s). */
static const tfj_tensor *run1(tfj_model *m, tfj_state **s, tfj_tensor *x)
{
    odx_err err = {0};
    if (!m) return NULL;
    if (!*s && tfj_state_new(m, s, &err) != ODX_OK) return NULL;
    const tfj_tensor *outs[4];
    odx_status st = tfj_run(*s, x, 1, outs, &err);
    if (st != ODX_OK) {
        fprintf(stderr, "run: %s\n", err.msg);
        return NULL;
    }
    return outs[0];
}

/* Plain NCHW convolution, the reference for the kernel's fast paths. */
static void ref_conv(const float *x, const float *w, const float *b, float *y, int N, int C,
                     int H, int W, int M, int KH, int KW, int G, int sh, int sw, int pt, int pl,
                     int OH, int OW)
{
    int Cg = C / G, Mg = M / G;
    for (int n = 0; n < N; n++)
        for (int m = 0; m < M; m++)
            for (int oy = 0; oy < OH; oy++)
                for (int ox = 0; ox < OW; ox++) {
                    double s = b ? b[m] : 0;
                    int g = m / Mg;
                    for (int c = 0; c < Cg; c++)
                        for (int ky = 0; ky < KH; ky++)
                            for (int kx = 0; kx < KW; kx++) {
                                int iy = oy * sh - pt + ky, ix = ox * sw - pl + kx;
                                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                                s += (double)x[((n * C + g * Cg + c) * H + iy) * W + ix] *
                                     w[((m * Cg + c) * KH + ky) * KW + kx];
                            }
                    y[((n * M + m) * OH + oy) * OW + ox] = (float)s;
                }
}

static float max_diff(const float *a, const float *b, int64_t n)
{
    float d = 0;
    for (int64_t i = 0; i < n; i++) {
        float e = fabsf(a[i] - b[i]);
        if (!(e <= d)) d = e; /* NaN counts as a difference */
    }
    return d;
}

/* Conv: dense 3x3 with asymmetric pads and stride (2,1), grouped, 1x1,
 * depthwise 5x5 stride 2; each against ref_conv. */
static void test_conv(void)
{
    struct {
        int C, M, K, G, sh, sw, pt, pl, pb, pr;
    } cs[] = {
        {3, 4, 3, 1, 2, 1, 1, 0, 1, 2}, {4, 6, 3, 2, 1, 1, 1, 1, 1, 1},
        {5, 7, 1, 1, 1, 1, 0, 0, 0, 0}, {6, 6, 5, 6, 2, 2, 2, 2, 2, 2},
        {4, 4, 3, 4, 1, 2, 1, 1, 1, 1},
    };
    for (size_t k = 0; k < sizeof cs / sizeof cs[0]; k++) {
        int N = 2, C = cs[k].C, H = 9, W = 11, M = cs[k].M, K = cs[k].K, G = cs[k].G;
        int Cg = C / G;
        float w[7 * 6 * 25], b[7], x[2 * 6 * 9 * 11], y[2 * 7 * 9 * 11];
        for (int i = 0; i < M * Cg * K * K; i++) w[i] = frand();
        for (int i = 0; i < M; i++) b[i] = frand();
        for (int i = 0; i < N * C * H * W; i++) x[i] = frand();
        og o = {0};
        int64_t xd[4] = {-1, C, H, W}, wd[4] = {M, Cg, K, K}, bd[1] = {M};
        og_input(&o, "x", 1, 4, xd);
        og_constf(&o, "w", 4, wd, w);
        og_constf(&o, "b", 1, bd, b);
        char ks[64], ss[64], ps[64], gs[32];
        snprintf(ks, sizeof ks, "kernel_shape=ints:%d,%d", K, K);
        snprintf(ss, sizeof ss, "strides=ints:%d,%d", cs[k].sh, cs[k].sw);
        snprintf(ps, sizeof ps, "pads=ints:%d,%d,%d,%d", cs[k].pt, cs[k].pl, cs[k].pb,
                 cs[k].pr);
        snprintf(gs, sizeof gs, "group=i:%d", G);
        og_node(&o, "Conv", "x,w,b", "y", ks, ss, ps, gs, (const char *)NULL);
        og_output(&o, "y");
        odx_err err = {0};
        odx_status st;
        tfj_model *m = og_load(&o, &st, &err);
        CHECK_MSG(st == ODX_OK, "conv %zu: %s", k, err.msg);
        int OH = (H + cs[k].pt + cs[k].pb - K) / cs[k].sh + 1;
        int OW = (W + cs[k].pl + cs[k].pr - K) / cs[k].sw + 1;
        ref_conv(x, w, b, y, N, C, H, W, M, K, K, G, cs[k].sh, cs[k].sw, cs[k].pt, cs[k].pl,
                 OH, OW);
        int64_t xs[4] = {N, C, H, W};
        tfj_tensor xt = mk(4, xs, x);
        tfj_state *s = NULL;
        const tfj_tensor *out = run1(m, &s, &xt);
        CHECK(out && out->ndim == 4 && out->shape[1] == M && out->shape[2] == OH &&
              out->shape[3] == OW);
        if (out && out->n == (int64_t)N * M * OH * OW)
            CHECK_MSG(max_diff(out->d.f, y, out->n) < 1e-4f, "conv case %zu: diff %g", k,
                      max_diff(out->d.f, y, out->n));
        tfj_state_free(s);
        tfj_model_free(m);
    }
}

/* Depthwise 3x3 and 5x5 at strides (1,1) and (2,1), the recogniser's: the
 * AVX-512 row-tiled kernel where the CPU has it (rows past a tile of 4 or
 * 6, columns past 16, a plane 37 wide), against ref_conv. */
static void test_depthwise_rows(void)
{
    struct {
        int K, sh;
    } cs[] = {{5, 1}, {5, 2}, {3, 1}, {3, 2}};
    for (size_t k = 0; k < sizeof cs / sizeof cs[0]; k++) {
        int N = 2, C = 3, H = 13, W = 37, K = cs[k].K, P = K / 2;
        float w[3 * 25], b[3], x[2 * 3 * 13 * 37], y[2 * 3 * 13 * 37];
        for (int i = 0; i < C * K * K; i++) w[i] = frand();
        for (int i = 0; i < C; i++) b[i] = frand();
        for (int i = 0; i < N * C * H * W; i++) x[i] = frand();
        og o = {0};
        int64_t xd[4] = {-1, C, H, W}, wd[4] = {C, 1, K, K}, bd[1] = {C};
        og_input(&o, "x", 1, 4, xd);
        og_constf(&o, "w", 4, wd, w);
        og_constf(&o, "b", 1, bd, b);
        char ks[64], ss[64], ps[64];
        snprintf(ks, sizeof ks, "kernel_shape=ints:%d,%d", K, K);
        snprintf(ss, sizeof ss, "strides=ints:%d,1", cs[k].sh);
        snprintf(ps, sizeof ps, "pads=ints:%d,%d,%d,%d", P, P, P, P);
        og_node(&o, "Conv", "x,w,b", "y", ks, ss, ps, "group=i:3", (const char *)NULL);
        og_output(&o, "y");
        odx_err err = {0};
        odx_status st;
        tfj_model *m = og_load(&o, &st, &err);
        CHECK_MSG(st == ODX_OK, "depthwise %zu: %s", k, err.msg);
        int OH = (H + 2 * P - K) / cs[k].sh + 1;
        ref_conv(x, w, b, y, N, C, H, W, C, K, K, C, cs[k].sh, 1, P, P, OH, W);
        int64_t xs[4] = {N, C, H, W};
        tfj_tensor xt = mk(4, xs, x);
        tfj_state *s = NULL;
        const tfj_tensor *out = run1(m, &s, &xt);
        CHECK(out && out->n == (int64_t)N * C * OH * W);
        if (out && out->n == (int64_t)N * C * OH * W)
            CHECK_MSG(max_diff(out->d.f, y, out->n) < 1e-4f, "depthwise %zu: diff %g", k,
                      max_diff(out->d.f, y, out->n));
        tfj_state_free(s);
        tfj_model_free(m);
    }
}

/* bf16 convolutions (tfj_model_use_bf16): where the CPU has AVX512-BF16,
 * non-depthwise convolutions must equal the plain reference computed on
 * bf16 roundings of weights and inputs (the sums are float in both), and
 * differ from the float reference by the rounding alone; a depthwise one
 * stays float. Elsewhere nothing is switched and the outputs are float.
 * Shapes cover the kernel's tails: M past a 12-row block, odd K, output
 * columns past a 32-column block, im2col and groups. */
static void test_conv_bf16(void)
{
    CHECK(tfj_bf16_round(1.0f) == 1.0f && tfj_bf16_round(-2.5f) == -2.5f);
    CHECK(tfj_bf16_round(1.0f + 1.0f / 512) == 1.0f);                 /* tie: to even */
    CHECK(tfj_bf16_round(1.0f + 3.0f / 256) == 1.0f + 1.0f / 64);     /* tie: to even, up */
    CHECK(tfj_bf16_round(1.0f + 1.0f / 256 + 1.0f / 4096) == 1.0f + 1.0f / 128);
    struct {
        int C, M, K, G, pad, H, W;
    } cs[] = {
        {37, 29, 1, 1, 0, 5, 13}, /* 1x1, sgemm's place: 65 columns, K odd */
        {5, 14, 3, 1, 1, 7, 9},   /* 3x3 via im2col, K = 45 */
        {6, 26, 3, 2, 1, 4, 11},  /* grouped */
        {8, 8, 3, 8, 1, 6, 7},    /* depthwise: stays float */
    };
    bool have = tfj_bf16_supported();
    float worst_rounding = 0;
    for (size_t k = 0; k < sizeof cs / sizeof cs[0]; k++) {
        int N = 2, C = cs[k].C, H = cs[k].H, W = cs[k].W, M = cs[k].M, K = cs[k].K, G = cs[k].G;
        int Cg = C / G, P = cs[k].pad;
        size_t nw = (size_t)M * Cg * K * K, nx = (size_t)N * C * H * W, ny = (size_t)N * M * H * W;
        float *w = malloc(nw * 4), *wr = malloc(nw * 4), *b = malloc((size_t)M * 4);
        float *x = malloc(nx * 4), *xr = malloc(nx * 4), *y = malloc(ny * 4), *yr = malloc(ny * 4);
        if (!w || !wr || !b || !x || !xr || !y || !yr) abort();
        for (size_t i = 0; i < nw; i++) wr[i] = tfj_bf16_round(w[i] = frand());
        for (int i = 0; i < M; i++) b[i] = frand();
        for (size_t i = 0; i < nx; i++) xr[i] = tfj_bf16_round(x[i] = frand());
        og o = {0};
        int64_t xd[4] = {-1, C, H, W}, wd[4] = {M, Cg, K, K}, bd[1] = {M};
        og_input(&o, "x", 1, 4, xd);
        og_constf(&o, "w", 4, wd, w);
        og_constf(&o, "b", 1, bd, b);
        char ks[64], ps[64], gs[32];
        snprintf(ks, sizeof ks, "kernel_shape=ints:%d,%d", K, K);
        snprintf(ps, sizeof ps, "pads=ints:%d,%d,%d,%d", P, P, P, P);
        snprintf(gs, sizeof gs, "group=i:%d", G);
        og_node(&o, "Conv", "x,w,b", "y", ks, ps, gs, (const char *)NULL);
        og_output(&o, "y");
        odx_err err = {0};
        odx_status st;
        tfj_model *m = og_load(&o, &st, &err);
        CHECK_MSG(st == ODX_OK, "bf16 conv %zu: %s", k, err.msg);
        int n_conv = -1;
        CHECK(tfj_model_use_bf16(m, &n_conv, &err) == ODX_OK);
        bool dwise = G == C && M == C;
        CHECK_MSG(n_conv == (have && !dwise ? 1 : 0), "bf16 conv %zu: %d switched", k, n_conv);
        ref_conv(x, w, b, y, N, C, H, W, M, K, K, G, 1, 1, P, P, H, W);
        ref_conv(xr, wr, b, yr, N, C, H, W, M, K, K, G, 1, 1, P, P, H, W);
        int64_t xs[4] = {N, C, H, W};
        tfj_tensor xt = mk(4, xs, x);
        tfj_state *s = NULL;
        const tfj_tensor *out = run1(m, &s, &xt);
        CHECK(out && out->n == (int64_t)ny);
        if (out && out->n == (int64_t)ny) {
            float d_float = max_diff(out->d.f, y, out->n), d_round = max_diff(out->d.f, yr, out->n);
            if (n_conv == 1) {
                CHECK_MSG(d_round < 1e-4f, "bf16 conv %zu: %g from the rounded reference", k,
                          d_round);
                CHECK_MSG(d_float < 0.05f, "bf16 conv %zu: %g from float", k, d_float);
                if (d_float > worst_rounding) worst_rounding = d_float;
            } else {
                CHECK_MSG(d_float < 1e-4f, "conv %zu (float): diff %g", k, d_float);
            }
        }
        tfj_state_free(s);
        tfj_model_free(m);
        free(w), free(wr), free(b), free(x), free(xr), free(y), free(yr);
    }
    /* the bf16 path really ran: rounding moved something */
    if (have) CHECK_MSG(worst_rounding > 1e-4f, "bf16 outputs equal float (%g)", worst_rounding);
    printf("bf16 convolutions: %s (largest difference from float %g)\n",
           have ? "AVX512-BF16" : "not on this CPU: float", worst_rounding);
}

/* Conv -> BatchNormalization -> x * Clip(x + 3, 0, 6) / 6 (opset 11 Clip
 * bounds as inputs) fuses into one scheduled node with the same values as
 * the plain formula. */
static void test_fusion(void)
{
    int C = 3, M = 4, H = 6, W = 5;
    float w[4 * 3 * 9], sc[4], bb[4], mu[4], va[4], x[3 * 6 * 5], y[4 * 6 * 5];
    for (int i = 0; i < M * C * 9; i++) w[i] = frand();
    for (int i = 0; i < M; i++) {
        sc[i] = 1 + frand() * 0.5f;
        bb[i] = frand();
        mu[i] = frand() * 0.3f;
        va[i] = 0.5f + frand() * 0.4f;
    }
    for (int i = 0; i < C * H * W; i++) x[i] = frand() * 3;
    og o = {0};
    int64_t xd[4] = {1, C, H, W}, wd[4] = {M, C, 3, 3}, vd[1] = {M}, sd[1] = {1};
    float three = 3, zero = 0, six = 6;
    og_input(&o, "x", 1, 4, xd);
    og_constf(&o, "w", 4, wd, w);
    og_constf(&o, "sc", 1, vd, sc);
    og_constf(&o, "bb", 1, vd, bb);
    og_constf(&o, "mu", 1, vd, mu);
    og_constf(&o, "va", 1, vd, va);
    og_constf(&o, "three", 1, sd, &three);
    og_constf(&o, "zero", 0, sd, &zero);
    og_constf(&o, "six", 0, sd, &six);
    og_node(&o, "Conv", "x,w", "c", "kernel_shape=ints:3,3", "pads=ints:1,1,1,1",
            (const char *)NULL);
    og_node(&o, "BatchNormalization", "c,sc,bb,mu,va", "bn", "epsilon=f:0.001",
            (const char *)NULL);
    og_node(&o, "Add", "bn,three", "a3", (const char *)NULL);
    og_node(&o, "Clip", "a3,zero,six", "cl", (const char *)NULL);
    og_node(&o, "Div", "cl,six", "dv", (const char *)NULL);
    og_node(&o, "Mul", "bn,dv", "y", (const char *)NULL);
    og_output(&o, "y");
    odx_err err = {0};
    odx_status st;
    tfj_model *m = og_load(&o, &st, &err);
    CHECK_MSG(st == ODX_OK, "%s", err.msg);
    CHECK(tfj_model_n_scheduled(m) == 1);
    ref_conv(x, w, NULL, y, 1, C, H, W, M, 3, 3, 1, 1, 1, 1, 1, H, W);
    for (int i = 0; i < M * H * W; i++) {
        int c = i / (H * W);
        float v = (y[i] - mu[c]) / sqrtf(va[c] + 0.001f) * sc[c] + bb[c];
        float g = v + 3 < 0 ? 0 : v + 3 > 6 ? 6 : v + 3;
        y[i] = v * g / 6;
    }
    tfj_tensor xt = mk(4, xd, x);
    tfj_state *s = NULL;
    const tfj_tensor *out = run1(m, &s, &xt);
    CHECK(out && out->n == M * H * W);
    if (out && out->n == M * H * W) CHECK(max_diff(out->d.f, y, out->n) < 1e-4f);
    tfj_state_free(s);
    tfj_model_free(m);
}

/* ConvTranspose 2x2 stride 2 (the detector's upsampling), by hand: each
 * input pixel becomes a 2x2 block of w scaled by it, plus the bias. */
static void test_convtranspose(void)
{
    og o = {0};
    int64_t xd[4] = {1, 1, 2, 2}, wd[4] = {1, 2, 2, 2}, bd[1] = {2};
    float w[8] = {1, 2, 3, 4, -1, 0, 0, 1}, b[2] = {0.5f, -0.5f}, x[4] = {1, 2, 3, -1};
    og_input(&o, "x", 1, 4, xd);
    og_constf(&o, "w", 4, wd, w);
    og_constf(&o, "b", 1, bd, b);
    og_node(&o, "ConvTranspose", "x,w,b", "y", "kernel_shape=ints:2,2", "strides=ints:2,2",
            (const char *)NULL);
    og_output(&o, "y");
    odx_err err = {0};
    odx_status st;
    tfj_model *m = og_load(&o, &st, &err);
    CHECK_MSG(st == ODX_OK, "%s", err.msg);
    tfj_tensor xt = mk(4, xd, x);
    tfj_state *s = NULL;
    const tfj_tensor *out = run1(m, &s, &xt);
    CHECK(out && out->ndim == 4 && out->shape[1] == 2 && out->shape[2] == 4 &&
          out->shape[3] == 4);
    if (out && out->n == 32) {
        /* channel 0, row 0: x00*[1,2], x01*[1,2] + 0.5 */
        CHECK_NEAR(out->d.f[0], 1.5, 1e-6);
        CHECK_NEAR(out->d.f[1], 2.5, 1e-6);
        CHECK_NEAR(out->d.f[2], 2.5, 1e-6);
        CHECK_NEAR(out->d.f[3], 4.5, 1e-6);
        /* channel 0, row 3: x10*[3,4], x11*[3,4] + 0.5 */
        CHECK_NEAR(out->d.f[12], 9.5, 1e-6);
        CHECK_NEAR(out->d.f[13], 12.5, 1e-6);
        CHECK_NEAR(out->d.f[15], -3.5, 1e-6);
        /* channel 1, row 1, col 1: x00 * 1 - 0.5 */
        CHECK_NEAR(out->d.f[16 + 5], 0.5, 1e-6);
        CHECK_NEAR(out->d.f[16 + 0], -1.5, 1e-6);
    }
    tfj_state_free(s);
    tfj_model_free(m);
}

/* The recogniser's shape chain with a dynamic width: Shape -> Cast -> Slice
 * (opset 9 attributes) -> Concat -> Reshape, then Transpose, ReduceMean,
 * MatMul, Softmax (opset 9: coerced 2-D), Resize nearest x2, Squeeze. */
static void test_dynamic_chain(void)
{
    og o = {0};
    o.opset = 9;
    int64_t xd[4] = {-1, 2, 1, -1};
    og_input(&o, "x", 1, 4, xd);
    int64_t m1[1] = {-1};
    og_consti(&o, "m1", 1, m1);
    og_node(&o, "Shape", "x", "sh", (const char *)NULL);
    og_node(&o, "Cast", "sh", "shc", "to=i:7", (const char *)NULL);
    og_node(&o, "Slice", "shc", "n", "axes=ints:0", "starts=ints:0", "ends=ints:1",
            (const char *)NULL);
    og_node(&o, "Concat", "n,m1", "tgt", "axis=i:0", (const char *)NULL);
    og_node(&o, "Squeeze", "x", "sq", "axes=ints:2", (const char *)NULL);   /* [N,2,W] */
    og_node(&o, "Transpose", "sq", "tr", "perm=ints:0,2,1", (const char *)NULL); /* [N,W,2] */
    float wm[6] = {1, 0, -1, 0, 1, 2};
    int64_t wmd[2] = {2, 3};
    og_constf(&o, "wm", 2, wmd, wm);
    og_node(&o, "MatMul", "tr,wm", "mm", (const char *)NULL); /* [N,W,3] */
    og_node(&o, "ReduceMean", "mm", "rm", "axes=ints:-1", (const char *)NULL); /* [N,W,1] */
    og_node(&o, "Sub", "mm,rm", "cen", (const char *)NULL);
    og_node(&o, "Softmax", "cen", "sm", "axis=i:2", (const char *)NULL);
    og_node(&o, "Reshape", "sm,tgt", "y", (const char *)NULL); /* [N, W*3] */
    og_output(&o, "y");
    odx_err err = {0};
    odx_status st;
    tfj_model *m = og_load(&o, &st, &err);
    CHECK_MSG(st == ODX_OK, "%s", err.msg);
    tfj_state *s = NULL;
    for (int W = 1; W <= 5; W += 4) { /* two widths through one state */
        float x[2 * 2 * 5];
        for (int i = 0; i < 2 * 2 * W; i++) x[i] = frand();
        int64_t xs[4] = {2, 2, 1, W};
        tfj_tensor xt = mk(4, xs, x);
        const tfj_tensor *out = run1(m, &s, &xt);
        CHECK(out && out->ndim == 2 && out->shape[0] == 2 && out->shape[1] == 3 * W);
        if (!out || out->n != 6 * W) continue;
        for (int n = 0; n < 2; n++)
            for (int t = 0; t < W; t++) {
                float a = x[(n * 2 + 0) * W + t], b = x[(n * 2 + 1) * W + t];
                float v[3] = {a, b, -a + 2 * b}, mx = -1e9f, sum = 0;
                for (int j = 0; j < 3; j++) mx = v[j] > mx ? v[j] : mx;
                for (int j = 0; j < 3; j++) sum += expf(v[j] - mx);
                for (int j = 0; j < 3; j++)
                    CHECK_NEAR(out->d.f[n * 3 * W + t * 3 + j], expf(v[j] - mx) / sum, 1e-5);
            }
    }
    tfj_state_free(s);
    tfj_model_free(m);
}

/* Resize nearest x2 (opset 11: X, roi "", scales), asymmetric + floor;
 * AveragePool 2x2; GlobalAveragePool; HardSigmoid; broadcast Mul by
 * [N,C,1,1]. Values by hand. */
static void test_resize_pool(void)
{
    og o = {0};
    int64_t xd[4] = {1, 1, 2, 2}, sd[1] = {4};
    float sc[4] = {1, 1, 2, 2};
    og_input(&o, "x", 1, 4, xd);
    og_constf(&o, "sc", 1, sd, sc);
    og_node(&o, "Resize", "x,,sc", "r", "mode=s:nearest",
            "coordinate_transformation_mode=s:asymmetric", "nearest_mode=s:floor",
            (const char *)NULL);
    og_node(&o, "AveragePool", "r", "ap", "kernel_shape=ints:2,2", "strides=ints:2,2",
            (const char *)NULL); /* back to x */
    og_node(&o, "GlobalAveragePool", "ap", "g", (const char *)NULL);
    og_node(&o, "HardSigmoid", "g", "hs", "alpha=f:0.2", "beta=f:0.5", (const char *)NULL);
    og_node(&o, "Mul", "r,hs", "y", (const char *)NULL);
    og_output(&o, "y");
    odx_err err = {0};
    odx_status st;
    tfj_model *m = og_load(&o, &st, &err);
    CHECK_MSG(st == ODX_OK, "%s", err.msg);
    float x[4] = {1, 2, 3, 6}; /* mean 3 -> hard sigmoid 0.2*3+0.5 = 1.1 -> 1 */
    tfj_tensor xt = mk(4, xd, x);
    tfj_state *s = NULL;
    const tfj_tensor *out = run1(m, &s, &xt);
    CHECK(out && out->n == 16 && out->shape[2] == 4 && out->shape[3] == 4);
    if (out && out->n == 16) {
        CHECK_NEAR(out->d.f[0], 1, 1e-6);
        CHECK_NEAR(out->d.f[1], 1, 1e-6);
        CHECK_NEAR(out->d.f[2], 2, 1e-6);
        CHECK_NEAR(out->d.f[13], 3, 1e-6);
        CHECK_NEAR(out->d.f[15], 6, 1e-6);
    }
    x[3] = -4; /* mean 0.5 -> 0.6 */
    out = run1(m, &s, &xt);
    if (out && out->n == 16) CHECK_NEAR(out->d.f[15], -4 * 0.6, 1e-6);
    tfj_state_free(s);
    tfj_model_free(m);
}

/* Bad models: a clear status and message, nothing leaked or crashed. */
static void test_refusals(void)
{
    odx_err err = {0};
    odx_status st;
    int64_t xd[2] = {1, 4};
    og o = {0};
    og_input(&o, "x", 1, 2, xd);
    og_node(&o, "Einsum", "x", "y", (const char *)NULL);
    og_output(&o, "y");
    tfj_model *m = og_load(&o, &st, &err);
    CHECK(st == ODX_ERR_UNSUPPORTED && !m && strstr(err.msg, "Einsum"));

    og o2 = {0};
    memset(&err, 0, sizeof err);
    og_input(&o2, "x", 1, 2, xd);
    og_node(&o2, "Relu", "nowhere", "y", (const char *)NULL);
    og_output(&o2, "y");
    m = og_load(&o2, &st, &err);
    CHECK(st == ODX_ERR_MODEL && !m && strstr(err.msg, "nowhere"));

    og o3 = {0}; /* a cycle */
    memset(&err, 0, sizeof err);
    og_input(&o3, "x", 1, 2, xd);
    og_node(&o3, "Add", "x,b", "a", (const char *)NULL);
    og_node(&o3, "Relu", "a", "b", (const char *)NULL);
    og_output(&o3, "b");
    m = og_load(&o3, &st, &err);
    CHECK(st == ODX_ERR_MODEL && !m && strstr(err.msg, "cycle"));

    memset(&err, 0, sizeof err);
    st = tfj_model_load_onnx("/nonexistent/x.onnx", &m, &err);
    CHECK(st == ODX_ERR_NOT_FOUND);
}

/* ------------------------------------------------------------ oracle ---- */

static bool read_png(const char *name, cap_image *im)
{
    char p[1200];
    snprintf(p, sizeof p, "%s/tests/fixtures/ocr/%s", src_dir(), name);
    uint8_t *data = NULL;
    size_t len = 0;
    odx_err err = {0};
    if (core_read_file(p, 1 << 24, &data, &len, &err) != ODX_OK) return false;
    cap_limits lim = {1 << 26, 1 << 26};
    cap_header hdr;
    bool ok = cap_decode(data, len, name, &lim, 0, &hdr, im, &err) == ODX_OK;
    free(data);
    return ok;
}

/* Image -> [3, h, w] at (x/255 - 0.5) / 0.5, nearest-sampled into an h x w
 * box of which the first sw columns hold the image (the rest zero). */
static void to_chw(const cap_image *im, int h, int w, int sw, float *out)
{
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                float v = 0;
                if (x < sw) {
                    int sy = y * im->h / h, sx = x * im->w / sw;
                    v = (im->rgb[((size_t)sy * im->w + sx) * 3 + c] / 255.0f - 0.5f) / 0.5f;
                }
                out[((size_t)c * h + y) * w + x] = v;
            }
}

/* The model with bf16 convolutions (what cap_ppocr_load uses where the
 * CPU has AVX512-BF16) on the same input, against onnxruntime's float
 * output ref, by what the OCR pipeline reads of it: mean difference under
 * 0.005; for the recogniser (C classes per step) the same character at
 * every step where onnxruntime's choice has probability > 0.5 (CTC
 * decoding's decisions); for the detector the text mask at the pipeline's
 * 0.3 threshold on all but 1% of the pixels (a pixel on a steep edge of
 * the map can move by 0.2: the maximum is printed, not bounded). */
static void bf16_against(char *p, const char *models, const char *model, const char *what,
                         tfj_tensor *xt, const float *ref, int64_t n, int64_t C)
{
    odx_err err = {0};
    tfj_model *m = NULL;
    tfj_state *s = NULL;
    int n_conv = 0;
    snprintf(p, 4096, "%s/%s", models, model);
    CHECK_MSG(tfj_model_load_onnx(p, &m, &err) == ODX_OK &&
                  tfj_model_use_bf16(m, &n_conv, &err) == ODX_OK && n_conv > 0,
              "%s (bf16): %s", what, err.msg);
    const tfj_tensor *out = run1(m, &s, xt);
    CHECK_MSG(out && out->n == n, "%s (bf16): run failed", what);
    if (out && out->n == n) {
        float d = max_diff(out->d.f, ref, n);
        double sum = 0;
        int64_t flips = 0;
        for (int64_t i = 0; i < n; i++) {
            sum += fabs((double)out->d.f[i] - ref[i]);
            flips += (out->d.f[i] > 0.3f) != (ref[i] > 0.3f);
        }
        double mean = sum / (double)n;
        bool det = strstr(model, "_det_") != NULL;
        int steps = 0, same = 0;
        for (int64_t t = 0; C > 0 && t + C <= n; t += C) {
            int64_t a = 0, b = 0;
            for (int64_t c = 1; c < C; c++) {
                if (ref[t + c] > ref[t + a]) a = c;
                if (out->d.f[t + c] > out->d.f[t + b]) b = c;
            }
            if (ref[t + a] <= 0.5f) continue;
            steps++;
            same += a == b;
        }
        fprintf(stderr, "%s [bf16, %d convolutions]: |ours - onnxruntime| max %.3g, mean %.2g",
                what, n_conv, d, mean);
        if (C) fprintf(stderr, "; same character at %d of %d sure steps", same, steps);
        if (det) fprintf(stderr, "; mask at 0.3 differs at %lld of %lld pixels", (long long)flips,
                         (long long)n);
        fprintf(stderr, "\n");
        CHECK_MSG(mean <= 0.005, "%s (bf16): mean diff %g > 0.005", what, mean);
        CHECK_MSG(!det || flips * 100 <= n, "%s (bf16): mask differs at %lld pixels", what,
                  (long long)flips);
        CHECK_MSG(same == steps, "%s (bf16): %d of %d steps read another character", what,
                  steps - same, steps);
    }
    tfj_state_free(s);
    tfj_model_free(m);
}

static int run_oracle(void)
{
    char models[1024], oracle[1100], p[4096];
    const char *e = getenv("OMNIDEX_MODELS");
    snprintf(models, sizeof models, "%s", e && *e ? e : "");
    if (!*models) snprintf(models, sizeof models, "%s/models", src_dir());
    e = getenv("OMNIDEX_ORACLE");
    snprintf(oracle, sizeof oracle, "%s", e && *e ? e : "");
    if (!*oracle) snprintf(oracle, sizeof oracle, "%s/oracle", models);
    snprintf(p, sizeof p, "%s/ch_PP-OCRv4_rec_infer.onnx", models);
    if (access(p, R_OK) != 0) {
        fprintf(stderr, "FAIL: PP-OCR models missing in %s: run scripts/fetch_models.sh\n",
                models);
        return 1;
    }
    snprintf(p, sizeof p, "%s/node_modules/onnxruntime-node/package.json", oracle);
    if (access(p, R_OK) != 0 || system("node --version >/dev/null 2>&1") != 0) {
        fprintf(stderr,
                "FAIL: the onnxruntime oracle is missing (%s, or no node): run "
                "scripts/fetch_oracle.sh (and apt-get install nodejs)\n",
                oracle);
        return 1;
    }
    cap_image en = {0}, zh = {0}, sign = {0};
    CHECK(read_png("en_line.png", &en) && read_png("zh_line.png", &zh) &&
          read_png("sign.png", &sign));
    if (!en.rgb || !zh.rgb || !sign.rgb) return check_result("test_cap_onnx --oracle");
    struct {
        const char *model, *what;
        int n, h, w;
        float tol;
    } cs[] = {
        {"ch_PP-OCRv4_det_infer.onnx", "det en_line", 1, 64, 576, 1e-4f},
        {"ch_PP-OCRv4_det_infer.onnx", "det sign", 1, 160, 160, 1e-4f},
        {"ch_PP-OCRv4_rec_infer.onnx", "rec en+zh batch", 2, 48, 448, 1e-4f},
        {"ch_PP-OCRv4_rec_infer.onnx", "rec zh", 1, 48, 320, 1e-4f},
        {"ch_ppocr_mobile_v2.0_cls_infer.onnx", "cls en+zh", 2, 48, 192, 1e-4f},
    };
    char tmp[] = "/tmp/odx_oracle_XXXXXX";
    if (!mkdtemp(tmp)) return 1;
    bool bf_have = tfj_bf16_supported();
    if (!bf_have) fprintf(stderr, "bf16 convolutions: not on this CPU (float only)\n");
    tfj_model *m = NULL;
    const char *loaded = NULL;
    tfj_state *s = NULL;
    for (size_t k = 0; k < sizeof cs / sizeof cs[0]; k++) {
        int n = cs[k].n, h = cs[k].h, w = cs[k].w;
        size_t per = (size_t)3 * h * w;
        float *x = calloc(per * (size_t)n, sizeof(float));
        if (!x) return 1;
        if (!strncmp(cs[k].what, "det sign", 8)) to_chw(&sign, h, w, w, x);
        else if (!strncmp(cs[k].what, "det", 3)) to_chw(&en, h, w, 560, x);
        else if (!strcmp(cs[k].what, "rec zh")) to_chw(&zh, h, w, 315, x);
        else {
            to_chw(&en, h, w, w, x);
            to_chw(&zh, h, w, w * 2 / 3, x + per);
        }
        char in[600], outp[600];
        snprintf(in, sizeof in, "%s/in%zu.f32", tmp, k);
        snprintf(outp, sizeof outp, "%s/out%zu.f32", tmp, k);
        FILE *f = fopen(in, "wb");
        if (!f || fwrite(x, sizeof(float), per * n, f) != per * n) return 1;
        fclose(f);
        snprintf(p, sizeof p, "node '%s/tests/oracle/onnx_oracle.js' '%s' '%s/%s' '%s' %d,3,%d,%d '%s' 5",
                 src_dir(), oracle, models, cs[k].model, in, n, h, w, outp);
        FILE *pp = popen(p, "r");
        char shape[128] = "";
        if (pp && !fgets(shape, sizeof shape, pp)) shape[0] = 0;
        int rc = pp ? pclose(pp) : -1;
        CHECK_MSG(rc == 0 && shape[0], "oracle failed on %s", cs[k].what);
        if (rc != 0) {
            free(x);
            continue;
        }
        odx_err err = {0};
        if (!loaded || strcmp(loaded, cs[k].model)) {
            tfj_state_free(s);
            tfj_model_free(m);
            s = NULL;
            m = NULL;
            snprintf(p, sizeof p, "%s/%s", models, cs[k].model);
            double t0 = core_now();
            odx_status st = tfj_model_load_onnx(p, &m, &err);
            CHECK_MSG(st == ODX_OK, "%s: %s", cs[k].model, err.msg);
            if (st != ODX_OK) {
                free(x);
                continue;
            }
            fprintf(stderr, "%s: %d nodes scheduled, loaded in %.0f ms\n", cs[k].model,
                    tfj_model_n_scheduled(m), (core_now() - t0) * 1e3);
            loaded = cs[k].model;
        }
        int64_t xs[4] = {n, 3, h, w};
        tfj_tensor xt = mk(4, xs, x);
        const tfj_tensor *out = NULL;
        double best = 1e9;
        for (int r = 0; r < 5; r++) {
            double t0 = core_now();
            out = run1(m, &s, &xt);
            double ms = (core_now() - t0) * 1e3;
            if (ms < best) best = ms;
            if (!out) break;
        }
        CHECK_MSG(out != NULL, "%s: run failed", cs[k].what);
        uint8_t *ref = NULL;
        size_t rl = 0;
        if (out && core_read_file(outp, 1 << 30, &ref, &rl, &err) == ODX_OK) {
            char want[128];
            want[0] = 0;
            for (int d = 0; d < out->ndim; d++)
                snprintf(want + strlen(want), sizeof want - strlen(want), "%s%lld",
                         d ? "," : "", (long long)out->shape[d]);
            shape[strcspn(shape, "\n")] = 0;
            CHECK_MSG(!strcmp(want, shape), "%s: shape %s, oracle %s", cs[k].what, want, shape);
            if (rl == (size_t)out->n * 4) {
                float d = max_diff(out->d.f, (const float *)ref, out->n);
                fprintf(stderr, "%s [%s]: max |ours - onnxruntime| = %.3g; ours best %.1f ms\n",
                        cs[k].what, shape, d, best);
                CHECK_MSG(d <= cs[k].tol, "%s: max diff %g > %g", cs[k].what, d, cs[k].tol);
                if (bf_have) bf16_against(p, models, cs[k].model, cs[k].what, &xt,
                                          (const float *)ref, out->n, out->ndim == 3 ? out->shape[2] : 0);
            } else {
                CHECK_MSG(0, "%s: oracle output size differs", cs[k].what);
            }
        }
        free(ref);
        free(x);
        unlink(in);
        unlink(outp);
    }
    tfj_state_free(s);
    tfj_model_free(m);
    rmdir(tmp);
    cap_image_free(&en);
    cap_image_free(&zh);
    cap_image_free(&sign);
    return check_result("test_cap_onnx --oracle");
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--oracle")) return run_oracle();
    test_conv();
    test_depthwise_rows();
    test_conv_bf16();
    test_fusion();
    test_convtranspose();
    test_dynamic_chain();
    test_resize_pool();
    test_refusals();
    return check_result("test_cap_onnx");
}

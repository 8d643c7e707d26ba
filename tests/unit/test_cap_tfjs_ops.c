/* test_cap_tfjs_ops.c - one tiny hand-written TF.js graph per op of the
 * runner (captioner/runtime/), checked against values worked out by hand;
 * plus weight decoding (float16, uint8 quantisation), folding and fusion. */
#include "check.h"
#include "tfj_graph.h"

#define S(...) ((const int64_t[]){__VA_ARGS__})
#define F(...) ((const float[]){__VA_ARGS__})
#define I(...) ((const int32_t[]){__VA_ARGS__})

/* Loads g, runs it on one input x and compares output out_i with want. */
static void run1(gb *g, const char *what, int ndim, const int64_t *shape, const float *x,
                 int out_i, int want_ndim, const int64_t *want_shape, const float *want,
                 double eps)
{
    tfj_model *m = NULL;
    tfj_state *s = NULL;
    odx_err err = {0};
    gb_write(g, NULL);
    odx_status st = gb_load(g, &m, &err);
    CHECK_MSG(st == ODX_OK, "%s: load: %s", what, err.msg);
    if (st != ODX_OK) return;
    st = tfj_state_new(m, &s, &err);
    CHECK(st == ODX_OK);
    float buf[256];
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) n *= shape[i];
    memcpy(buf, x, (size_t)n * sizeof(float));
    tfj_tensor in = gb_tensor(ndim, shape, buf);
    const tfj_tensor *outs[8] = {0};
    st = tfj_run(s, &in, tfj_model_n_inputs(m), outs, &err);
    CHECK_MSG(st == ODX_OK, "%s: run: %s", what, err.msg);
    if (st == ODX_OK) {
        const tfj_tensor *o = outs[out_i];
        CHECK_MSG(o->ndim == want_ndim, "%s: rank %d want %d", what, o->ndim, want_ndim);
        int64_t wn = 1;
        for (int i = 0; i < want_ndim && i < o->ndim; i++) {
            CHECK_MSG(o->shape[i] == want_shape[i], "%s: dim %d is %lld want %lld", what, i,
                      (long long)o->shape[i], (long long)want_shape[i]);
            wn *= want_shape[i];
        }
        CHECK_MSG(o->n == wn, "%s: %lld elements", what, (long long)o->n);
        for (int64_t i = 0; i < wn && i < o->n; i++) {
            double got = o->dtype == TFJ_F32 ? o->d.f[i] : (double)o->d.i[i];
            CHECK_MSG(fabs(got - want[i]) <= eps, "%s: [%lld] = %g want %g", what,
                      (long long)i, got, (double)want[i]);
        }
    }
    tfj_state_free(s);
    tfj_model_free(m);
}

static void test_binary(void)
{
    static const char *ops[] = {"Add", "Sub", "Mul", "RealDiv", "Maximum", "Minimum"};
    /* x [2,3] = 1..6, c [3] = {2,4,-1}: broadcast along the last dim */
    static const float want[6][6] = {
        {3, 6, 2, 6, 9, 5},        {-1, -2, 4, 2, 1, 7},          {2, 8, -3, 8, 20, -6},
        {0.5f, 0.5f, -3, 2, 1.25f, -6}, {2, 4, 3, 4, 5, 6},      {1, 2, -1, 2, 4, -1}};
    for (int k = 0; k < 6; k++) {
        gb g;
        gb_init(&g);
        gb_input(&g, "x", 2, S(2, 3));
        gb_constf(&g, "c", 1, S(3), F(2, 4, -1));
        gb_op(&g, "y", ops[k], "\"x\",\"c\"", NULL);
        run1(&g, ops[k], 2, S(2, 3), F(1, 2, 3, 4, 5, 6), 0, 2, S(2, 3), want[k], 1e-6);
        gb_free(&g);
    }
    /* general broadcast: [2,1] + [1,3] -> [2,3], constant on the left */
    gb g;
    gb_init(&g);
    gb_input(&g, "x", 2, S(2, 1));
    gb_constf(&g, "c", 2, S(1, 3), F(10, 20, 30));
    gb_op(&g, "y", "AddV2", "\"c\",\"x\"", NULL);
    run1(&g, "broadcast", 2, S(2, 1), F(1, 2), 0, 2, S(2, 3), F(11, 21, 31, 12, 22, 32), 0);
    gb_free(&g);
}

static void test_unary(void)
{
    const float x[5] = {-2, -0.5f, 0, 3, 8};
    struct {
        const char *op, *attr;
        float want[5];
    } cases[] = {
        {"LeakyRelu", "\"alpha\":{\"f\":0.1}", {-0.2f, -0.05f, 0, 3, 8}},
        {"Relu", NULL, {0, 0, 0, 3, 8}},
        {"Relu6", NULL, {0, 0, 0, 3, 6}},
        {"Sigmoid", NULL, {0.11920292f, 0.37754067f, 0.5f, 0.95257413f, 0.99966465f}},
        {"Identity", NULL, {-2, -0.5f, 0, 3, 8}},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        gb g;
        gb_init(&g);
        gb_input(&g, "x", 1, S(5));
        gb_op(&g, "y", cases[k].op, "\"x\"", cases[k].attr);
        run1(&g, cases[k].op, 1, S(5), x, 0, 1, S(5), cases[k].want, 1e-6);
        gb_free(&g);
    }
}

static void test_transpose_reshape(void)
{
    gb g;
    gb_init(&g);
    gb_input(&g, "x", 2, S(2, 3));
    gb_consti(&g, "p", 1, S(2), I(1, 0));
    gb_op(&g, "y", "Transpose", "\"x\",\"p\"", NULL);
    run1(&g, "Transpose 2d", 2, S(2, 3), F(1, 2, 3, 4, 5, 6), 0, 2, S(3, 2),
         F(1, 4, 2, 5, 3, 6), 0);
    gb_free(&g);

    /* NCHW -> NHWC on [1,2,2,2] */
    gb_init(&g);
    gb_input(&g, "x", 4, S(1, 2, 2, 2));
    gb_consti(&g, "p", 1, S(4), I(0, 2, 3, 1));
    gb_op(&g, "y", "Transpose", "\"x\",\"p\"", NULL);
    run1(&g, "Transpose nchw->nhwc", 4, S(1, 2, 2, 2), F(1, 2, 3, 4, 5, 6, 7, 8), 0, 4,
         S(1, 2, 2, 2), F(1, 5, 2, 6, 3, 7, 4, 8), 0);
    gb_free(&g);

    gb_init(&g);
    gb_input(&g, "x", 2, S(2, 3));
    gb_consti(&g, "s", 1, S(2), I(-1, 2));
    gb_op(&g, "y", "Reshape", "\"x\",\"s\"", NULL);
    run1(&g, "Reshape -1", 2, S(2, 3), F(1, 2, 3, 4, 5, 6), 0, 2, S(3, 2),
         F(1, 2, 3, 4, 5, 6), 0);
    gb_free(&g);
}

static void test_pad(void)
{
    gb g;
    gb_init(&g);
    gb_input(&g, "x", 2, S(1, 2));
    gb_consti(&g, "p", 2, S(2, 2), I(0, 1, 1, 2));
    gb_op(&g, "y", "Pad", "\"x\",\"p\"", NULL);
    run1(&g, "Pad", 2, S(1, 2), F(5, 6), 0, 2, S(2, 5), F(0, 5, 6, 0, 0, 0, 0, 0, 0, 0), 0);
    gb_free(&g);

    gb_init(&g);
    gb_input(&g, "x", 2, S(1, 2));
    gb_consti(&g, "p", 2, S(2, 2), I(1, 0, 0, 1));
    gb_constf(&g, "v", 0, S(0), F(-1));
    gb_op(&g, "y", "PadV2", "\"x\",\"p\",\"v\"", NULL);
    run1(&g, "PadV2", 2, S(1, 2), F(5, 6), 0, 2, S(2, 3), F(-1, -1, -1, 5, 6, -1), 0);
    gb_free(&g);
}

static const char *CONV_VALID =
    "\"padding\":{\"s\":\"VkFMSUQ=\"},\"data_format\":{\"s\":\"TkhXQw==\"},"
    "\"strides\":{\"list\":{\"i\":[\"1\",\"1\",\"1\",\"1\"]}}";

static void test_conv(void)
{
    const float x9[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    /* 3x3 image, 2x2 filter of ones, VALID: window sums */
    gb g;
    gb_init(&g);
    gb_input(&g, "x", 4, S(1, 3, 3, 1));
    gb_constf(&g, "w", 4, S(2, 2, 1, 1), F(1, 1, 1, 1));
    gb_op(&g, "y", "Conv2D", "\"x\",\"w\"", CONV_VALID);
    run1(&g, "Conv2D valid", 4, S(1, 3, 3, 1), x9, 0, 4, S(1, 2, 2, 1), F(12, 16, 24, 28), 0);
    gb_free(&g);

    /* SAME, stride 2, 3x3 filter picking the centre: out = x[0,0],x[0,2],x[2,0],x[2,2]
     * (SAME with stride 2 on 3: out 2, total pad 2, 1 before) */
    gb_init(&g);
    gb_input(&g, "x", 4, S(1, 3, 3, 1));
    gb_constf(&g, "w", 4, S(3, 3, 1, 1), F(0, 0, 0, 0, 1, 0, 0, 0, 0));
    gb_op(&g, "y", "Conv2D", "\"x\",\"w\"",
          "\"padding\":{\"s\":\"U0FNRQ==\"},\"strides\":{\"list\":{\"i\":[\"1\",\"2\",\"2\",\"1\"]}}");
    run1(&g, "Conv2D same s2", 4, S(1, 3, 3, 1), x9, 0, 4, S(1, 2, 2, 1), F(1, 3, 7, 9), 0);
    gb_free(&g);

    /* EXPLICIT 1 pixel each side, 3x3 ones: neighbourhood sums */
    gb_init(&g);
    gb_input(&g, "x", 4, S(1, 3, 3, 1));
    gb_constf(&g, "w", 4, S(3, 3, 1, 1), F(1, 1, 1, 1, 1, 1, 1, 1, 1));
    gb_op(&g, "y", "Conv2D", "\"x\",\"w\"",
          "\"padding\":{\"s\":\"RVhQTElDSVQ=\"},\"explicit_paddings\":{\"list\":{\"i\":"
          "[\"0\",\"0\",\"1\",\"1\",\"1\",\"1\",\"0\",\"0\"]}}");
    run1(&g, "Conv2D explicit", 4, S(1, 3, 3, 1), x9, 0, 4, S(1, 3, 3, 1),
         F(12, 21, 16, 27, 45, 33, 24, 39, 28), 0);
    gb_free(&g);

    /* dilation 2: 2x2 ones over a 3x3 image covers the four corners */
    gb_init(&g);
    gb_input(&g, "x", 4, S(1, 3, 3, 1));
    gb_constf(&g, "w", 4, S(2, 2, 1, 1), F(1, 1, 1, 1));
    gb_op(&g, "y", "Conv2D", "\"x\",\"w\"",
          "\"padding\":{\"s\":\"VkFMSUQ=\"},\"dilations\":{\"list\":{\"i\":[\"1\",\"2\",\"2\",\"1\"]}}");
    run1(&g, "Conv2D dilated", 4, S(1, 3, 3, 1), x9, 0, 4, S(1, 1, 1, 1), F(20), 0);
    gb_free(&g);

    /* 1x1 conv, 2 -> 3 channels (straight sgemm), bias + LeakyRelu fused */
    gb_init(&g);
    gb_input(&g, "x", 4, S(1, 1, 2, 2));
    gb_constf(&g, "w", 4, S(1, 1, 2, 3), F(1, 0, -1, 0, 1, -1));
    gb_constf(&g, "b", 1, S(3), F(0.5f, 0, 0));
    gb_op(&g, "c", "Conv2D", "\"x\",\"w\"", CONV_VALID);
    gb_op(&g, "a", "Add", "\"c\",\"b\"", NULL);
    gb_op(&g, "y", "LeakyRelu", "\"a\"", "\"alpha\":{\"f\":0.1}");
    /* pixel (1,2): [1.5, 2, -0.3]; pixel (3,-4): [3.5, -0.4, 1] */
    run1(&g, "Conv2D 1x1 + bias + leaky", 4, S(1, 1, 2, 2), F(1, 2, 3, -4), 0, 4,
         S(1, 1, 2, 3), F(1.5f, 2, -0.3f, 3.5f, -0.4f, 1), 1e-6);
    {
        tfj_model *m = NULL;
        odx_err err = {0};
        CHECK(gb_load(&g, &m, &err) == ODX_OK);
        CHECK_MSG(tfj_model_n_scheduled(m) == 1, "fused schedule has %d nodes",
                  tfj_model_n_scheduled(m));
        tfj_model_free(m);
    }
    gb_free(&g);

    /* NanoDet's pattern: Conv -> Add -> Transpose -> LeakyRelu, fused through the
     * transpose (2 nodes left) with the same values as unfused */
    gb_init(&g);
    gb_input(&g, "x", 4, S(1, 1, 2, 2));
    gb_constf(&g, "w", 4, S(1, 1, 2, 3), F(1, 0, -1, 0, 1, -1));
    gb_constf(&g, "b", 1, S(3), F(0.5f, 0, 0));
    gb_consti(&g, "p", 1, S(4), I(0, 3, 1, 2));
    gb_op(&g, "c", "Conv2D", "\"x\",\"w\"", CONV_VALID);
    gb_op(&g, "a", "Add", "\"c\",\"b\"", NULL);
    gb_op(&g, "t", "Transpose", "\"a\",\"p\"", NULL);
    gb_op(&g, "y", "LeakyRelu", "\"t\"", "\"alpha\":{\"f\":0.1}");
    run1(&g, "Conv2D + bias + transpose + leaky", 4, S(1, 1, 2, 2), F(1, 2, 3, -4), 0, 4,
         S(1, 3, 1, 2), F(1.5f, 3.5f, 2, -0.4f, -0.3f, 1), 1e-6);
    {
        tfj_model *m = NULL;
        odx_err err = {0};
        CHECK(gb_load(&g, &m, &err) == ODX_OK);
        CHECK_MSG(tfj_model_n_scheduled(m) == 2, "fused schedule has %d nodes",
                  tfj_model_n_scheduled(m));
        tfj_model_free(m);
    }
    gb_free(&g);

    /* depthwise: per-channel scale 2 and 3, 1x1 filter */
    gb_init(&g);
    gb_input(&g, "x", 4, S(1, 1, 2, 2));
    gb_constf(&g, "w", 4, S(1, 1, 2, 1), F(2, 3));
    gb_op(&g, "y", "DepthwiseConv2dNative", "\"x\",\"w\"", CONV_VALID);
    run1(&g, "Depthwise", 4, S(1, 1, 2, 2), F(1, 2, 3, 4), 0, 4, S(1, 1, 2, 2), F(2, 6, 6, 12),
         0);
    gb_free(&g);
}

/* Pad [-> Transpose] -> Conv2D / MaxPool: the pad moves into the consumer's
 * explicit padding at load, with the same values. */
static void test_pad_folding(void)
{
    const float x9[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    gb g;
    gb_init(&g);
    /* NCHW input [1,1,3,3], pad H and W by 1, to NHWC, 3x3 ones: neighbourhood sums */
    gb_input(&g, "x", 4, S(1, 1, 3, 3));
    gb_consti(&g, "pads", 2, S(4, 2), I(0, 0, 0, 0, 1, 1, 1, 1));
    gb_consti(&g, "perm", 1, S(4), I(0, 2, 3, 1));
    gb_constf(&g, "w", 4, S(3, 3, 1, 1), F(1, 1, 1, 1, 1, 1, 1, 1, 1));
    gb_op(&g, "p", "Pad", "\"x\",\"pads\"", NULL);
    gb_op(&g, "t", "Transpose", "\"p\",\"perm\"", NULL);
    gb_op(&g, "y", "Conv2D", "\"t\",\"w\"", CONV_VALID);
    run1(&g, "Pad -> Transpose -> Conv2D", 4, S(1, 1, 3, 3), x9, 0, 4, S(1, 3, 3, 1),
         F(12, 21, 16, 27, 45, 33, 24, 39, 28), 0);
    tfj_model *m = NULL;
    odx_err err = {0};
    CHECK(gb_load(&g, &m, &err) == ODX_OK);
    CHECK_MSG(tfj_model_n_scheduled(m) == 2, "pad not folded: %d nodes", tfj_model_n_scheduled(m));
    tfj_model_free(m);
    gb_free(&g);

    /* PadV2(-inf) -> MaxPool 3x3 stride 2, the NanoDet stem */
    const float ninf = -INFINITY;
    gb_init(&g);
    gb_input(&g, "x", 4, S(1, 3, 3, 1));
    gb_consti(&g, "pads", 2, S(4, 2), I(0, 0, 1, 1, 1, 1, 0, 0));
    gb_constf(&g, "v", 0, S(0), &ninf);
    gb_op(&g, "p", "PadV2", "\"x\",\"pads\",\"v\"", NULL);
    gb_op(&g, "y", "MaxPool", "\"p\"",
          "\"padding\":{\"s\":\"VkFMSUQ=\"},\"ksize\":{\"list\":{\"i\":[\"1\",\"3\",\"3\",\"1\"]}},"
          "\"strides\":{\"list\":{\"i\":[\"1\",\"2\",\"2\",\"1\"]}}");
    run1(&g, "PadV2(-inf) -> MaxPool", 4, S(1, 3, 3, 1), F(1, 2, 3, 4, 9, 6, 7, 8, 5), 0, 4,
         S(1, 2, 2, 1), F(9, 9, 9, 9), 0);
    CHECK(gb_load(&g, &m, &err) == ODX_OK);
    CHECK_MSG(tfj_model_n_scheduled(m) == 1, "PadV2 not folded: %d", tfj_model_n_scheduled(m));
    tfj_model_free(m);
    gb_free(&g);

    /* a non-zero pad value must stay a Pad in front of a conv */
    const float one = 1;
    gb_init(&g);
    gb_input(&g, "x", 4, S(1, 1, 1, 1));
    gb_consti(&g, "pads", 2, S(4, 2), I(0, 0, 1, 0, 0, 0, 0, 0));
    gb_constf(&g, "v", 0, S(0), &one);
    gb_constf(&g, "w", 4, S(2, 1, 1, 1), F(1, 10));
    gb_op(&g, "p", "PadV2", "\"x\",\"pads\",\"v\"", NULL);
    gb_op(&g, "y", "Conv2D", "\"p\",\"w\"", CONV_VALID);
    run1(&g, "PadV2(1) -> Conv2D", 4, S(1, 1, 1, 1), F(5), 0, 4, S(1, 1, 1, 1), F(51), 0);
    gb_free(&g);
}

static void test_maxpool(void)
{
    gb g;
    gb_init(&g);
    gb_input(&g, "x", 4, S(1, 4, 4, 1));
    gb_op(&g, "y", "MaxPool", "\"x\"",
          "\"padding\":{\"s\":\"VkFMSUQ=\"},\"ksize\":{\"list\":{\"i\":[\"1\",\"2\",\"2\",\"1\"]}},"
          "\"strides\":{\"list\":{\"i\":[\"1\",\"2\",\"2\",\"1\"]}}");
    run1(&g, "MaxPool", 4, S(1, 4, 4, 1), F(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, -1),
         0, 4, S(1, 2, 2, 1), F(6, 8, 14, 15), 0);
    gb_free(&g);
}

static void test_concat_split(void)
{
    gb g;
    gb_init(&g);
    gb_input(&g, "x", 2, S(2, 2));
    gb_constf(&g, "c", 2, S(2, 1), F(9, 8));
    gb_consti(&g, "ax", 0, S(0), I(-1));
    gb_op(&g, "y", "ConcatV2", "\"x\",\"c\",\"ax\"", "\"N\":{\"i\":\"2\"}");
    run1(&g, "ConcatV2 last axis", 2, S(2, 2), F(1, 2, 3, 4), 0, 2, S(2, 3), F(1, 2, 9, 3, 4, 8),
         0);
    gb_free(&g);

    gb_init(&g);
    gb_input(&g, "x", 2, S(1, 2));
    gb_constf(&g, "c", 2, S(1, 2), F(7, 8));
    gb_consti(&g, "ax", 0, S(0), I(0));
    gb_op(&g, "y", "ConcatV2", "\"c\",\"x\",\"ax\"", NULL);
    run1(&g, "ConcatV2 axis 0", 2, S(1, 2), F(1, 2), 0, 2, S(2, 2), F(7, 8, 1, 2), 0);
    gb_free(&g);

    /* SplitV [1,-1] on axis 1 of [2,3]; both outputs read through Identity */
    gb_init(&g);
    gb_input(&g, "x", 2, S(2, 3));
    gb_consti(&g, "sz", 1, S(2), I(1, -1));
    gb_consti(&g, "ax", 0, S(0), I(1));
    gb_op(&g, "sp", "SplitV", "\"x\",\"sz\",\"ax\"", "\"num_split\":{\"i\":\"2\"}");
    gb_op(&g, "a", "Identity", "\"sp\"", NULL);
    gb_op(&g, "b", "Identity", "\"sp:1\"", NULL);
    run1(&g, "SplitV :0", 2, S(2, 3), F(1, 2, 3, 4, 5, 6), 0, 2, S(2, 1), F(1, 4), 0);
    run1(&g, "SplitV :1", 2, S(2, 3), F(1, 2, 3, 4, 5, 6), 1, 2, S(2, 2), F(2, 3, 5, 6), 0);
    gb_free(&g);

    gb_init(&g);
    gb_input(&g, "x", 1, S(4));
    gb_consti(&g, "ax", 0, S(0), I(0));
    gb_op(&g, "sp", "Split", "\"ax\",\"x\"", "\"num_split\":{\"i\":\"2\"}");
    gb_op(&g, "b", "Identity", "\"sp:1\"", NULL);
    run1(&g, "Split", 1, S(4), F(1, 2, 3, 4), 0, 1, S(2), F(3, 4), 0);
    gb_free(&g);
}

static void test_resize(void)
{
    /* 2x2 -> 4x4, half-pixel centres: src = 0.5 (o + 0.5) - 0.5 = -.25 .25 .75 1.25,
     * clamped at the borders: along one axis [0,4] -> [0,1,3,4] */
    const float x[4] = {0, 4, 8, 12};
    gb g;
    gb_init(&g);
    gb_input(&g, "x", 4, S(1, 2, 2, 1));
    gb_consti(&g, "sz", 1, S(2), I(4, 4));
    gb_op(&g, "y", "ResizeBilinear", "\"x\",\"sz\"",
          "\"half_pixel_centers\":{\"b\":true},\"align_corners\":{\"b\":false}");
    run1(&g, "ResizeBilinear half-pixel", 4, S(1, 2, 2, 1), x, 0, 4, S(1, 4, 4, 1),
         F(0, 1, 3, 4, 2, 3, 5, 6, 6, 7, 9, 10, 8, 9, 11, 12), 1e-6);
    gb_free(&g);

    /* align_corners 2 -> 3: src = 0, .5, 1 */
    gb_init(&g);
    gb_input(&g, "x", 4, S(1, 1, 2, 1));
    gb_consti(&g, "sz", 1, S(2), I(1, 3));
    gb_op(&g, "y", "ResizeBilinear", "\"x\",\"sz\"", "\"align_corners\":{\"b\":true}");
    run1(&g, "ResizeBilinear align", 4, S(1, 1, 2, 1), F(0, 4), 0, 4, S(1, 1, 3, 1), F(0, 2, 4),
         1e-6);
    gb_free(&g);

    /* neither: src = 0, .5, 1, 1.5 (ceil clamped) */
    gb_init(&g);
    gb_input(&g, "x", 4, S(1, 1, 2, 1));
    gb_consti(&g, "sz", 1, S(2), I(1, 4));
    gb_op(&g, "y", "ResizeBilinear", "\"x\",\"sz\"", NULL);
    run1(&g, "ResizeBilinear legacy", 4, S(1, 1, 2, 1), F(0, 4), 0, 4, S(1, 1, 4, 1),
         F(0, 2, 4, 4), 1e-6);
    gb_free(&g);
}

static void test_sparse_fold(void)
{
    /* NanoDet's Reshape targets: SparseToDense over constants + AddV2, all folded */
    gb g;
    gb_init(&g);
    gb_input(&g, "x", 2, S(2, 3));
    gb_consti(&g, "idx", 2, S(1, 1), I(1));
    gb_consti(&g, "shape", 1, S(1), I(2));
    gb_consti(&g, "vals", 1, S(1), I(-2));
    gb_consti(&g, "zero", 0, S(0), I(0));
    gb_consti(&g, "base", 1, S(2), I(3, 4));
    gb_op(&g, "sd", "SparseToDense", "\"idx\",\"shape\",\"vals\",\"zero\"", NULL);
    gb_op(&g, "tgt", "AddV2", "\"base\",\"sd\"", NULL); /* [3, 2] */
    gb_op(&g, "y", "Reshape", "\"x\",\"tgt\"", NULL);
    run1(&g, "SparseToDense + fold", 2, S(2, 3), F(1, 2, 3, 4, 5, 6), 0, 2, S(3, 2),
         F(1, 2, 3, 4, 5, 6), 0);
    tfj_model *m = NULL;
    odx_err err = {0};
    CHECK(gb_load(&g, &m, &err) == ODX_OK);
    CHECK_MSG(tfj_model_n_scheduled(m) == 1, "after folding %d nodes run",
              tfj_model_n_scheduled(m));
    tfj_model_free(m);
    gb_free(&g);

    /* SparseToDense with a [N] index vector and a default value, not folded */
    gb_init(&g);
    gb_input(&g, "x", 1, S(5));
    gb_consti(&g, "idx", 1, S(2), I(1, 3));
    gb_consti(&g, "shape", 1, S(1), I(5));
    gb_constf(&g, "vals", 1, S(2), F(7, 9));
    gb_constf(&g, "dflt", 0, S(0), F(0.5f));
    gb_op(&g, "sd", "SparseToDense", "\"idx\",\"shape\",\"vals\",\"dflt\"", NULL);
    gb_op(&g, "y", "Add", "\"x\",\"sd\"", NULL);
    run1(&g, "SparseToDense", 1, S(5), F(0, 0, 0, 0, 0), 0, 1, S(5), F(0.5f, 7, 0.5f, 9, 0.5f),
         0);
    gb_free(&g);
}

/* Runs g's model (input x [1,2]) with the given state limits; returns the
 * status, err holding the message. */
static odx_status run_limited(gb *g, int64_t max_elems, int64_t max_work, odx_err *err)
{
    tfj_model *m = NULL;
    tfj_state *s = NULL;
    gb_write(g, NULL);
    odx_status st = gb_load(g, &m, err);
    if (st == ODX_OK) st = tfj_state_new(m, &s, err);
    if (st == ODX_OK) {
        tfj_state_set_limits(s, max_elems, max_work);
        float buf[2] = {1, 2};
        tfj_tensor in = gb_tensor(2, S(1, 2), buf);
        const tfj_tensor *outs[8] = {0};
        st = tfj_run(s, &in, 1, outs, err);
        if (st != ODX_OK) {
            /* the state runs again once the limits are lifted */
            odx_err e2 = {0};
            tfj_state_set_limits(s, 0, 0);
            CHECK_MSG(tfj_run(s, &in, 1, outs, &e2) == ODX_OK, "rerun: %s", e2.msg);
        }
    }
    tfj_state_free(s);
    tfj_model_free(m);
    return st;
}

/* tfj_state_set_limits and TFJ_MAX_FOLD_WORK: a Pad that makes many
 * elements from a small input, and a chain of nodes after it (what the
 * fuzz target tfjs found timing out with the runtime's own 2^27 limit). */
static void test_limits(void)
{
    gb g;
    gb_init(&g);
    gb_input(&g, "x", 2, S(1, 2));
    gb_consti(&g, "p", 2, S(2, 2), I(0, 0, 0, 998)); /* [1, 1000] */
    gb_op(&g, "pad", "Pad", "\"x\",\"p\"", NULL);
    gb_op(&g, "s1", "Sigmoid", "\"pad\"", NULL);
    gb_op(&g, "s2", "Sigmoid", "\"s1\"", NULL);
    gb_op(&g, "s3", "Sigmoid", "\"s2\"", NULL);
    gb_op(&g, "s4", "Sigmoid", "\"s3\"", NULL);
    odx_err err = {0};
    CHECK_MSG(run_limited(&g, 0, 0, &err) == ODX_OK, "no limits: %s", err.msg);
    memset(&err, 0, sizeof err);
    CHECK_MSG(run_limited(&g, 1000, 4000, &err) == ODX_OK, "at the limits: %s", err.msg);
    memset(&err, 0, sizeof err);
    CHECK(run_limited(&g, 999, 0, &err) == ODX_ERR_LIMIT);
    CHECK_MSG(strstr(err.msg, "node 'pad' (Pad)") && strstr(err.msg, "999"), "%s", err.msg);
    /* work: 1000 per node; before s3 it is 3000, before s4 4000 */
    memset(&err, 0, sizeof err);
    CHECK(run_limited(&g, 0, 2999, &err) == ODX_ERR_LIMIT);
    CHECK_MSG(strstr(err.msg, "node 's3' (Sigmoid)") && strstr(err.msg, "work limit (2999"),
              "%s", err.msg);
    gb_free(&g);

    /* folding at load: a constant padded past the limit in one node
     * (4096 x 4097), and two nodes of 2048 x 4097 (over 2^23) each, which
     * pass it before a third */
    for (int big = 0; big < 2; big++) {
        gb_init(&g);
        gb_input(&g, "x", 2, S(1, 2));
        gb_constf(&g, "c", 2, S(1, 2), F(1, 2));
        gb_consti(&g, "p", 2, S(2, 2), ((const int32_t[]){0, big ? 4095 : 2047, 0, 4095}));
        gb_op(&g, "pad", "Pad", "\"c\",\"p\"", NULL);
        gb_op(&g, "s1", "Sigmoid", "\"pad\"", NULL);
        gb_op(&g, "s2", "Sigmoid", "\"s1\"", NULL);
        gb_op(&g, "y", "AddV2", "\"x\",\"s2\"", NULL);
        gb_write(&g, NULL);
        tfj_model *m = NULL;
        memset(&err, 0, sizeof err);
        CHECK(gb_load(&g, &m, &err) == ODX_ERR_LIMIT);
        CHECK(!m);
        const char *want =
            big ? "node 'pad' (Pad): tensor" : "node 's2' (Sigmoid): constant folding";
        CHECK_MSG(strstr(err.msg, want) && strstr(err.msg, "16777216"), "%s", err.msg);
        tfj_model_free(m);
        gb_free(&g);
    }
}

/* Quantised weights written by hand: float16 and uint8 affine. */
static void test_weights(void)
{
    CHECK_NEAR(tfj_half_to_float(0x3C00), 1.0, 0);
    CHECK_NEAR(tfj_half_to_float(0xC000), -2.0, 0);
    CHECK_NEAR(tfj_half_to_float(0x3555), 0.333251953125, 0);
    CHECK_NEAR(tfj_half_to_float(0x7BFF), 65504.0, 0);
    CHECK_NEAR(tfj_half_to_float(0x0001), 5.960464477539063e-08, 1e-20);
    CHECK(isinf(tfj_half_to_float(0xFC00)) && tfj_half_to_float(0xFC00) < 0);

    gb g;
    gb_init(&g);
    gb_input(&g, "x", 1, S(3));
    core_buf_printf(&g.nodes, ",{\"name\":\"h\",\"op\":\"Const\",\"attr\":{\"dtype\":{\"type\":"
                              "\"DT_FLOAT\"},\"value\":{\"tensor\":{\"dtype\":\"DT_FLOAT\","
                              "\"tensorShape\":{\"dim\":[{\"size\":\"3\"}]}}}}}");
    core_buf_printf(&g.nodes, ",{\"name\":\"q\",\"op\":\"Const\",\"attr\":{\"dtype\":{\"type\":"
                              "\"DT_FLOAT\"},\"value\":{\"tensor\":{\"dtype\":\"DT_FLOAT\","
                              "\"tensorShape\":{\"dim\":[{\"size\":\"3\"}]}}}}}");
    g.n_nodes += 2;
    core_buf_puts(&g.specs,
                  "{\"name\":\"h\",\"shape\":[3],\"dtype\":\"float32\",\"quantization\":"
                  "{\"dtype\":\"float16\",\"original_dtype\":\"float32\"}},"
                  "{\"name\":\"q\",\"shape\":[3],\"dtype\":\"float32\",\"quantization\":"
                  "{\"dtype\":\"uint8\",\"min\":-1,\"scale\":0.5}}");
    const uint8_t raw[9] = {0x00, 0x3C, 0x00, 0xC0, 0x00, 0x38, 0, 2, 5};
    core_buf_append(&g.bin, raw, sizeof raw);
    gb_op(&g, "a", "Add", "\"x\",\"h\"", NULL);
    gb_op(&g, "y", "Add", "\"a\",\"q\"", NULL);
    /* h = 1, -2, 0.5; q = -1, 0, 1.5 */
    run1(&g, "float16 + uint8 weights", 1, S(3), F(0, 0, 0), 0, 1, S(3), F(0, -2, 2), 0);
    gb_free(&g);
}

/* Lazy transposes (run.c): NHWC -> NCHW, elementwise, pad, concat, back to
 * NHWC, against the same arithmetic written as loops here. */
static void test_lazy_layout(void)
{
    float x[12], want[3 * 3 * 6];
    for (int i = 0; i < 12; i++) x[i] = (float)i - 5.5f;
    for (int h = 0; h < 3; h++)
        for (int w = 0; w < 3; w++)
            for (int c = 0; c < 6; c++) {
                int hh = h - 1, ww = w, cc = c % 3; /* pad: 1 row on top, 1 column right */
                float v = 0;
                if (hh >= 0 && hh < 2 && ww < 2) {
                    float xv = x[(hh * 2 + ww) * 3 + cc];
                    v = (xv > 0 ? xv : 0) + 1.0f / (1.0f + expf(-xv));
                }
                want[(h * 3 + w) * 6 + c] = v;
            }
    gb g;
    gb_init(&g);
    gb_input(&g, "x", 4, S(1, 2, 2, 3));
    gb_consti(&g, "tc", 1, S(4), I(0, 3, 1, 2));
    gb_consti(&g, "tl", 1, S(4), I(0, 2, 3, 1));
    gb_consti(&g, "pads", 2, S(4, 2), I(0, 0, 0, 0, 1, 0, 0, 1));
    gb_consti(&g, "ax", 0, S(0), I(1));
    gb_op(&g, "r", "Relu", "\"x\"", NULL);
    gb_op(&g, "ta", "Transpose", "\"r\",\"tc\"", NULL);
    gb_op(&g, "la", "LeakyRelu", "\"ta\"", "\"alpha\":{\"f\":0.1}");
    gb_op(&g, "sg", "Sigmoid", "\"x\"", NULL);
    gb_op(&g, "tb", "Transpose", "\"sg\",\"tc\"", NULL);
    gb_op(&g, "ad", "AddV2", "\"la\",\"tb\"", NULL);
    gb_op(&g, "pd", "Pad", "\"ad\",\"pads\"", NULL);
    gb_op(&g, "cc", "ConcatV2", "\"pd\",\"pd\",\"ax\"", NULL);
    gb_op(&g, "y", "Transpose", "\"cc\",\"tl\"", NULL);
    run1(&g, "lazy transposes", 4, S(1, 2, 2, 3), x, 0, 4, S(1, 3, 3, 6), want, 1e-6);
    gb_free(&g);

    /* a lazily transposed value read by an op that needs it materialised */
    gb_init(&g);
    gb_input(&g, "x", 2, S(2, 3));
    gb_consti(&g, "p", 1, S(2), I(1, 0));
    gb_consti(&g, "s", 1, S(1), I(6));
    gb_op(&g, "r", "Relu", "\"x\"", NULL);
    gb_op(&g, "t", "Transpose", "\"r\",\"p\"", NULL);
    gb_op(&g, "y", "Reshape", "\"t\",\"s\"", NULL);
    run1(&g, "lazy transpose then reshape", 2, S(2, 3), F(1, 2, 3, 4, 5, -6), 0, 1, S(6),
         F(1, 4, 2, 5, 3, 0), 0);
    gb_free(&g);
}

int main(void)
{
    test_lazy_layout();
    test_binary();
    test_unary();
    test_transpose_reshape();
    test_pad();
    test_conv();
    test_maxpool();
    test_pad_folding();
    test_concat_split();
    test_resize();
    test_sparse_fold();
    test_weights();
    test_limits();
    return check_result("test_cap_tfjs_ops");
}

/* test_cap_tfjs_fuzz.c - robustness of the TF.js runner against malformed
 * model files: truncated or oversized weights, wrong shapes, unknown ops,
 * cycles, huge declared or computed shapes, bad JSON, bad references; then
 * seeded random mutations of a valid model. Every case must end in a clear
 * error (or a clean run), never a crash; run it under -DODX_SANITIZE=ON. */
#include "check.h"
#include "tfj_graph.h"

#define S(...) ((const int64_t[]){__VA_ARGS__})
#define F(...) ((const float[]){__VA_ARGS__})
#define I(...) ((const int32_t[]){__VA_ARGS__})

static const char *CONV =
    "\"padding\":{\"s\":\"VkFMSUQ=\"},\"strides\":{\"list\":{\"i\":[\"1\",\"1\",\"1\",\"1\"]}}";

/* Writes raw model.json text (and optionally w.bin) into g's dir. */
static odx_status load_text(gb *g, const char *json, const void *bin, size_t bin_len,
                            odx_err *err)
{
    gb_write_file(g->dir, "model.json", json, strlen(json));
    if (bin) gb_write_file(g->dir, "w.bin", bin, bin_len);
    tfj_model *m = NULL;
    odx_status st = gb_load(g, &m, err);
    if (st == ODX_OK) CHECK(m != NULL);
    else CHECK(m == NULL);
    tfj_model_free(m);
    return st;
}

/* Expects a load failure with code and a message containing needle. */
static void expect_load(gb *g, odx_status code, const char *needle, const char *what)
{
    tfj_model *m = NULL;
    odx_err err = {0};
    gb_write(g, NULL);
    odx_status st = gb_load(g, &m, &err);
    CHECK_MSG(st == code, "%s: status %d (%s), want %d", what, st, err.msg, code);
    CHECK_MSG(!needle || strstr(err.msg, needle), "%s: message '%s' lacks '%s'", what,
              err.msg, needle);
    CHECK(m == NULL);
    tfj_model_free(m);
}

/* Expects the model to load and its run to fail cleanly. */
static void expect_run_error(gb *g, int ndim, const int64_t *shape, const char *what)
{
    tfj_model *m = NULL;
    tfj_state *s = NULL;
    odx_err err = {0};
    gb_write(g, NULL);
    odx_status st = gb_load(g, &m, &err);
    if (st == ODX_OK) st = tfj_state_new(m, &s, &err);
    if (st == ODX_OK) {
        float buf[64] = {0};
        tfj_tensor in = gb_tensor(ndim, shape, buf);
        const tfj_tensor *outs[4];
        st = tfj_run(s, &in, 1, outs, &err);
    }
    CHECK_MSG(st != ODX_OK && err.msg[0], "%s: no error", what);
    fprintf(stderr, "  %s -> %s\n", what, err.msg);
    tfj_state_free(s);
    tfj_model_free(m);
}

static void simple_conv(gb *g)
{
    gb_input(g, "x", 4, S(1, 2, 2, 1));
    gb_constf(g, "w", 4, S(1, 1, 1, 2), F(1, -1));
    gb_op(g, "y", "Conv2D", "\"x\",\"w\"", CONV);
}

static void test_weights_files(void)
{
    gb g;
    /* truncated .bin */
    gb_init(&g);
    simple_conv(&g);
    g.bin.len -= 2;
    expect_load(&g, ODX_ERR_MODEL, "too short", "truncated bin");
    gb_free(&g);
    /* extra bytes */
    gb_init(&g);
    simple_conv(&g);
    core_buf_append(&g.bin, "abcd", 4);
    expect_load(&g, ODX_ERR_MODEL, "does not match", "oversized bin");
    gb_free(&g);
    /* constant shape disagrees with the manifest */
    gb_init(&g);
    gb_input(&g, "x", 1, S(2));
    gb_constf(&g, "c", 1, S(2), F(1, 2));
    gb_op(&g, "y", "Add", "\"x\",\"c\"", NULL);
    char *p = strstr(g.specs.data, "[2]");
    CHECK(p != NULL);
    if (p) memcpy(p, "[1]", 3);
    g.bin.len = 4;
    expect_load(&g, ODX_ERR_MODEL, "shape", "const shape vs manifest");
    gb_free(&g);
    /* huge declared shape in the manifest */
    gb_init(&g);
    gb_input(&g, "x", 1, S(2));
    gb_constf(&g, "c", 1, S(2), F(1, 2));
    gb_op(&g, "y", "Add", "\"x\",\"c\"", NULL);
    p = strstr(g.specs.data, "[2]");
    core_buf b;
    core_buf_init(&b, 0);
    core_buf_printf(&b, "%.*s[1000000000,1000000000]%s", (int)(p - g.specs.data), g.specs.data,
                    p + 3);
    core_buf_free(&g.specs);
    g.specs = b;
    expect_load(&g, ODX_ERR_LIMIT, NULL, "huge manifest shape");
    gb_free(&g);
    /* missing weights file */
    gb_init(&g);
    simple_conv(&g);
    gb_write(&g, NULL);
    char path[512];
    snprintf(path, sizeof path, "%s/w.bin", g.dir);
    unlink(path);
    tfj_model *m = NULL;
    odx_err err = {0};
    CHECK(gb_load(&g, &m, &err) == ODX_ERR_NOT_FOUND && !m);
    gb_free(&g);
    /* unknown quantisation dtype and weights path escaping the folder */
    gb_init(&g);
    odx_err e2 = {0};
    CHECK(load_text(&g,
                    "{\"modelTopology\":{\"node\":[{\"name\":\"c\",\"op\":\"Const\",\"attr\":"
                    "{\"dtype\":{\"type\":\"DT_FLOAT\"}}}]},\"weightsManifest\":[{\"paths\":"
                    "[\"w.bin\"],\"weights\":[{\"name\":\"c\",\"shape\":[1],\"dtype\":\"float32\","
                    "\"quantization\":{\"dtype\":\"int4\"}}]}]}",
                    "abcd", 4, &e2) == ODX_ERR_UNSUPPORTED);
    core_err_clear(&e2);
    CHECK(load_text(&g,
                    "{\"modelTopology\":{\"node\":[{\"name\":\"c\",\"op\":\"Const\",\"attr\":"
                    "{\"dtype\":{\"type\":\"DT_FLOAT\"}}}]},\"weightsManifest\":[{\"paths\":"
                    "[\"../../etc/passwd\"],\"weights\":[]}]}",
                    NULL, 0, &e2) == ODX_ERR_MODEL);
    gb_free(&g);
}

static void test_graphs(void)
{
    gb g;
    gb_init(&g);
    gb_input(&g, "x", 1, S(2));
    gb_op(&g, "y", "FancyOp", "\"x\"", NULL);
    expect_load(&g, ODX_ERR_UNSUPPORTED, "FancyOp", "unknown op");
    gb_free(&g);

    gb_init(&g);
    gb_input(&g, "x", 1, S(2));
    gb_op(&g, "a", "Add", "\"x\",\"b\"", NULL);
    gb_op(&g, "b", "Relu", "\"a\"", NULL);
    gb_op(&g, "y", "Relu", "\"b\"", NULL);
    expect_load(&g, ODX_ERR_MODEL, "cycle", "cycle");
    gb_free(&g);

    gb_init(&g);
    gb_input(&g, "x", 1, S(2));
    gb_op(&g, "y", "Relu", "\"x\",\"^ghost\"", NULL);
    expect_load(&g, ODX_ERR_MODEL, "ghost", "unknown control input");
    gb_free(&g);

    gb_init(&g);
    gb_input(&g, "x", 1, S(2));
    gb_op(&g, "y", "Relu", "\"x:3\"", NULL);
    expect_load(&g, ODX_ERR_MODEL, "output 3", "bad output index");
    gb_free(&g);

    gb_init(&g);
    gb_input(&g, "x", 1, S(2));
    gb_op(&g, "x", "Relu", "\"x\"", NULL);
    expect_load(&g, ODX_ERR_MODEL, "two nodes", "duplicate name");
    gb_free(&g);

    gb_init(&g);
    gb_input(&g, "x", 1, S(2));
    gb_op(&g, "y", "Add", "\"x\"", NULL);
    expect_load(&g, ODX_ERR_MODEL, "inputs", "too few inputs");
    gb_free(&g);

    gb_init(&g);
    gb_input(&g, "x", 4, S(1, 2, 2, 1));
    gb_constf(&g, "w", 4, S(1, 1, 1, 1), F(1));
    gb_op(&g, "y", "Conv2D", "\"x\",\"w\"", "\"padding\":{\"s\":\"Qk9HVVM=\"}");
    expect_load(&g, ODX_ERR_MODEL, "padding", "bad padding string");
    gb_free(&g);

    gb_init(&g);
    gb_input(&g, "x", 4, S(1, 2, 2, 1));
    gb_constf(&g, "w", 4, S(1, 1, 1, 1), F(1));
    gb_op(&g, "y", "Conv2D", "\"x\",\"w\"", "\"strides\":{\"list\":{\"i\":[\"1\",\"0\",\"1\",\"1\"]}}");
    expect_load(&g, ODX_ERR_MODEL, "stride", "zero stride");
    gb_free(&g);

    gb_init(&g);
    gb_input(&g, "x", 1, S(2));
    gb_op(&g, "y", "SplitV", "\"x\",\"x\",\"x\"", NULL);
    expect_load(&g, ODX_ERR_MODEL, "num_split", "SplitV without num_split");
    gb_free(&g);

    /* JSON that is not a model */
    const char *bad[] = {"", "{", "[]", "{\"modelTopology\":{}}", "{\"modelTopology\":{\"node\":[]}}",
                         "{\"modelTopology\":{\"node\":[{\"op\":\"Relu\"}]}}",
                         "{\"modelTopology\":{\"node\":[{\"name\":\"a\",\"op\":\"Const\",\"attr\":{}}]}}",
                         "{\"modelTopology\":{\"node\":[{\"name\":\"a\",\"op\":7}]}}",
                         "{\"modelTopology\":{\"node\":[{\"name\":\"a\",\"op\":\"Relu\",\"input\":\"b\"}]}}",
                         "{\"modelTopology\":{\"node\":[{\"name\":\"c\",\"op\":\"Const\",\"attr\":"
                         "{\"dtype\":{\"type\":\"DT_FLOAT\"},\"value\":{\"tensor\":{\"tensorShape\":"
                         "{\"dim\":[{\"size\":\"3\"}]}}}}}]}}",
                         "{\"modelTopology\":{\"node\":[{\"name\":\"p\",\"op\":\"Placeholder\",\"attr\":"
                         "{\"dtype\":{\"type\":\"DT_STRING\"}}}]}}"};
    gb_init(&g);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        odx_err err = {0};
        odx_status st = load_text(&g, bad[i], NULL, 0, &err);
        CHECK_MSG(st == ODX_ERR_MODEL || st == ODX_ERR_UNSUPPORTED, "bad json %zu: %d %s", i, st,
                  err.msg);
    }
    gb_free(&g);
    tfj_model *m = NULL;
    odx_err err = {0};
    CHECK(tfj_model_load("/nonexistent/model.json", &m, &err) == ODX_ERR_NOT_FOUND && !m);
}

static void test_runtime(void)
{
    gb g;
    /* huge Reshape / Pad / Resize targets computed at run time */
    gb_init(&g);
    gb_input(&g, "x", 1, S(2));
    gb_consti(&g, "s", 1, S(3), I(100000, 100000, 100000));
    gb_op(&g, "y", "Reshape", "\"x\",\"s\"", NULL);
    expect_run_error(&g, 1, S(2), "huge reshape");
    gb_free(&g);

    gb_init(&g);
    gb_input(&g, "x", 2, S(1, 2));
    gb_consti(&g, "p", 2, S(2, 2), I(0, 1000000, 0, 1000000));
    gb_op(&g, "y", "Pad", "\"x\",\"p\"", NULL);
    expect_run_error(&g, 2, S(1, 2), "huge pad");
    gb_free(&g);

    gb_init(&g);
    gb_input(&g, "x", 4, S(1, 1, 1, 1));
    gb_consti(&g, "sz", 1, S(2), I(2000000000, 2000000000));
    gb_op(&g, "y", "ResizeBilinear", "\"x\",\"sz\"", NULL);
    expect_run_error(&g, 4, S(1, 1, 1, 1), "huge resize");
    gb_free(&g);

    gb_init(&g);
    gb_input(&g, "x", 1, S(2));
    gb_constf(&g, "c", 1, S(3), F(1, 2, 3));
    gb_op(&g, "y", "Add", "\"x\",\"c\"", NULL);
    expect_run_error(&g, 1, S(2), "broadcast mismatch");
    gb_free(&g);

    gb_init(&g);
    gb_input(&g, "x", 4, S(1, 2, 2, 3));
    gb_constf(&g, "w", 4, S(1, 1, 2, 1), F(1, 1));
    gb_op(&g, "y", "Conv2D", "\"x\",\"w\"", CONV);
    expect_run_error(&g, 4, S(1, 2, 2, 3), "conv channel mismatch");
    gb_free(&g);

    gb_init(&g);
    gb_input(&g, "x", 4, S(1, 2, 2, 1));
    gb_constf(&g, "w", 4, S(3, 3, 1, 1), F(1, 1, 1, 1, 1, 1, 1, 1, 1));
    gb_op(&g, "y", "Conv2D", "\"x\",\"w\"", CONV);
    expect_run_error(&g, 4, S(1, 2, 2, 1), "conv window larger than input");
    gb_free(&g);

    gb_init(&g);
    gb_input(&g, "x", 2, S(2, 3));
    gb_consti(&g, "p", 1, S(2), I(0, 0));
    gb_op(&g, "y", "Transpose", "\"x\",\"p\"", NULL);
    expect_run_error(&g, 2, S(2, 3), "bad permutation");
    gb_free(&g);

    gb_init(&g);
    gb_input(&g, "x", 2, S(2, 3));
    gb_consti(&g, "sz", 1, S(2), I(1, 1));
    gb_consti(&g, "ax", 0, S(0), I(1));
    gb_op(&g, "sp", "SplitV", "\"x\",\"sz\",\"ax\"", "\"num_split\":{\"i\":\"2\"}");
    expect_run_error(&g, 2, S(2, 3), "split sizes do not sum");
    gb_free(&g);

    gb_init(&g);
    gb_input(&g, "x", 1, S(5));
    gb_consti(&g, "idx", 1, S(1), I(9));
    gb_consti(&g, "shape", 1, S(1), I(5));
    gb_constf(&g, "vals", 1, S(1), F(7));
    gb_op(&g, "sd", "SparseToDense", "\"idx\",\"shape\",\"vals\"", NULL);
    gb_op(&g, "y", "Add", "\"x\",\"sd\"", NULL);
    expect_load(&g, ODX_ERR_MODEL, "out of range", "sparse index out of range (folded)");
    gb_free(&g);

    /* wrong input shape and count at run time */
    gb_init(&g);
    simple_conv(&g);
    gb_write(&g, NULL);
    tfj_model *m = NULL;
    tfj_state *s = NULL;
    odx_err err = {0};
    CHECK(gb_load(&g, &m, &err) == ODX_OK);
    CHECK(tfj_state_new(m, &s, &err) == ODX_OK);
    float buf[16] = {0};
    tfj_tensor in = gb_tensor(4, S(1, 3, 2, 1), buf);
    const tfj_tensor *outs[2];
    CHECK(tfj_run(s, &in, 1, outs, &err) == ODX_ERR_INVALID);
    CHECK(tfj_run(s, &in, 0, outs, &err) == ODX_ERR_INVALID);
    tfj_tensor ok = gb_tensor(4, S(1, 2, 2, 1), buf);
    core_err_clear(&err);
    CHECK(tfj_run(s, &ok, 1, outs, &err) == ODX_OK);
    tfj_state_free(s);
    tfj_model_free(m);
    gb_free(&g);
}

/* Seeded byte mutations of a valid model (json and bin): load and, when it
 * loads, run. Only the absence of crashes and of silent success with a
 * broken file is checked (the sanitizer build does the rest). */
static void test_mutations(void)
{
    gb g;
    gb_init(&g);
    gb_input(&g, "x", 4, S(1, 4, 4, 2));
    gb_constf(&g, "w", 4, S(3, 3, 2, 2), F(1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0,
                                          0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1));
    gb_constf(&g, "b", 1, S(2), F(0.5f, -0.5f));
    gb_consti(&g, "pads", 2, S(4, 2), I(0, 0, 1, 1, 1, 1, 0, 0));
    gb_consti(&g, "perm", 1, S(4), I(0, 3, 1, 2));
    gb_consti(&g, "sz", 1, S(2), I(8, 8));
    gb_consti(&g, "ax", 0, S(0), I(3));
    gb_op(&g, "p", "Pad", "\"x\",\"pads\"", NULL);
    gb_op(&g, "c", "Conv2D", "\"p\",\"w\"", CONV);
    gb_op(&g, "a", "Add", "\"c\",\"b\"", NULL);
    gb_op(&g, "l", "LeakyRelu", "\"a\"", "\"alpha\":{\"f\":0.1}");
    gb_op(&g, "r", "ResizeBilinear", "\"l\",\"sz\"", "\"half_pixel_centers\":{\"b\":true}");
    gb_op(&g, "k", "ConcatV2", "\"r\",\"r\",\"ax\"", NULL);
    gb_op(&g, "y", "Transpose", "\"k\",\"perm\"", NULL);
    gb_write(&g, NULL);
    char path[512];
    snprintf(path, sizeof path, "%s/model.json", g.dir);
    uint8_t *json = NULL;
    size_t jlen = 0;
    odx_err err = {0};
    CHECK(core_read_file(path, 1 << 20, &json, &jlen, &err) == ODX_OK);
    /* baseline loads and runs */
    tfj_model *m = NULL;
    CHECK(gb_load(&g, &m, &err) == ODX_OK);
    tfj_model_free(m);

    uint64_t seed = 0x9E3779B97F4A7C15ull;
    int n_loaded = 0, n_failed = 0;
    char *mut = malloc(jlen + 1);
    uint8_t *bmut = malloc(g.bin.len + 1);
    for (int it = 0; it < 1500; it++) {
        memcpy(mut, json, jlen + 1);
        memcpy(bmut, g.bin.data, g.bin.len);
        size_t mlen = jlen, blen = g.bin.len;
        int n_mut = 1 + (int)(seed % 4);
        for (int k = 0; k < n_mut; k++) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            if (mlen < 2) break;
            size_t pos = (size_t)(seed >> 33) % mlen;
            /* mostly digit swaps and weight bit flips: they keep the file
             * parseable, so shapes, indices and values reach the kernels */
            int kind = (int)((seed >> 20) % 10);
            static const char digits[] = "0123456789-9";
            if (kind == 0) mut[pos] = (char)(seed >> 8);
            else if (kind == 1 || kind >= 6) {
                while (pos < mlen && !(mut[pos] >= '0' && mut[pos] <= '9')) pos++;
                if (pos < mlen) mut[pos] = digits[(seed >> 12) % 12];
            }
            else if (kind == 2) mlen = pos; /* truncate */
            else if ((kind == 3 || kind == 9) && blen) bmut[(seed >> 5) % blen] ^= (uint8_t)(1u << ((seed >> 3) % 8));
            else if (kind == 4 && blen) blen = (size_t)(seed >> 7) % blen;
            else mut[pos] = "[]{}\":,"[(seed >> 9) % 7];
        }
        mut[mlen] = 0;
        gb_write_file(g.dir, "model.json", mut, mlen);
        gb_write_file(g.dir, "w.bin", bmut, blen);
        tfj_model *mm = NULL;
        odx_err e = {0};
        odx_status st = gb_load(&g, &mm, &e);
        if (st != ODX_OK) {
            n_failed++;
            CHECK(e.msg[0] != 0 && mm == NULL);
            continue;
        }
        n_loaded++;
        tfj_state *s = NULL;
        if (tfj_state_new(mm, &s, &e) == ODX_OK) {
            float buf[32] = {0};
            for (int i = 0; i < 32; i++) buf[i] = (float)i * 0.25f;
            tfj_tensor in = gb_tensor(4, S(1, 4, 4, 2), buf);
            const tfj_tensor *outs[8];
            if (tfj_model_n_inputs(mm) == 1 && tfj_model_n_outputs(mm) <= 8) {
                st = tfj_run(s, &in, 1, outs, &e);
                if (st != ODX_OK) CHECK(e.msg[0] != 0);
            }
        }
        tfj_state_free(s);
        tfj_model_free(mm);
    }
    fprintf(stderr, "mutations: %d loaded, %d refused\n", n_loaded, n_failed);
    CHECK(n_failed > 0 && n_loaded + n_failed == 1500);
    free(mut);
    free(bmut);
    free(json);
    gb_free(&g);
}

int main(void)
{
    test_weights_files();
    test_graphs();
    test_runtime();
    test_mutations();
    return check_result("test_cap_tfjs_fuzz");
}

/* test_cap_onnx_fuzz.c - robustness of the ONNX front-end (captioner/runtime/
 * onnx.c) against malformed model files: every truncation of a valid model,
 * wrong wire types, huge and negative dims, data that disagrees with its
 * dims, huge lengths, cycles, unknown ops and values, then seeded random
 * byte mutations. Every case must end in a clear error or a clean run,
 * never a crash; run it under -DODX_SANITIZE=ON too. */
#include "check.h"
#include "onnx_graph.h"
#include "runtime/runtime_int.h"

#include <stdint.h>

static uint32_t rng = 2024;
static uint32_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

/* A small model with most op kinds: Conv+BN+HardSwish, Resize, Slice chain,
 * MatMul, Softmax. */
static void build(og *o)
{
    memset(o, 0, sizeof *o);
    o->opset = 11;
    int64_t xd[4] = {1, 2, 4, 4}, wd[4] = {2, 2, 3, 3}, vd[1] = {2}, sd[1] = {1}, s4[1] = {4};
    float w[36], v[2] = {1, 0.5f}, three = 3, six = 6, zero = 0, sc[4] = {1, 1, 2, 2};
    for (int i = 0; i < 36; i++) w[i] = (float)(i % 7) / 7 - 0.4f;
    og_input(o, "x", 1, 4, xd);
    og_constf(o, "w", 4, wd, w);
    og_constf(o, "v", 1, vd, v);
    og_constf(o, "three", 1, sd, &three);
    og_constf(o, "six", 0, sd, &six);
    og_constf(o, "zero", 0, sd, &zero);
    og_constf(o, "sc", 1, s4, sc);
    og_node(o, "Conv", "x,w,v", "c", "kernel_shape=ints:3,3", "pads=ints:1,1,1,1",
            (const char *)NULL);
    og_node(o, "BatchNormalization", "c,v,v,v,v", "bn", (const char *)NULL);
    og_node(o, "Add", "bn,three", "a", (const char *)NULL);
    og_node(o, "Clip", "a,zero,six", "cl", (const char *)NULL);
    og_node(o, "Mul", "bn,cl", "m", (const char *)NULL);
    og_node(o, "Div", "m,six", "hs", (const char *)NULL);
    og_node(o, "Resize", "hs,,sc", "r", "mode=s:nearest", (const char *)NULL);
    og_node(o, "Shape", "r", "sh", (const char *)NULL);
    int64_t st[1] = {0}, en[1] = {2}, m1[1] = {-1};
    og_consti(o, "st", 1, st);
    og_consti(o, "en", 1, en);
    og_consti(o, "m1", 1, m1);
    og_node(o, "Slice", "sh,st,en", "nc", (const char *)NULL);
    og_node(o, "Concat", "nc,m1", "tgt", "axis=i:0", (const char *)NULL);
    og_node(o, "Reshape", "r,tgt", "flat", (const char *)NULL);
    og_node(o, "Softmax", "flat", "y", "axis=i:-1", (const char *)NULL);
    og_output(o, "y");
}

/* Loads bytes; when the load works, runs once. Returns the load status. */
static odx_status try_bytes(const uint8_t *b, size_t n, odx_err *err)
{
    pw w = {(uint8_t *)b, n, n};
    char path[64];
    og_write(&w, path, sizeof path);
    tfj_model *m = NULL;
    odx_status st = tfj_model_load_onnx(path, &m, err);
    unlink(path);
    if (st == ODX_OK) {
        tfj_state *s = NULL;
        if (tfj_state_new(m, &s, err) == ODX_OK) {
            float x[32];
            for (int i = 0; i < 32; i++) x[i] = (float)i / 8;
            tfj_tensor t = {0};
            t.dtype = TFJ_F32;
            t.ndim = 4;
            t.shape[0] = 1, t.shape[1] = 2, t.shape[2] = 4, t.shape[3] = 4;
            t.n = 32;
            t.d.f = x;
            const tfj_tensor *outs[4];
            odx_err e2 = {0};
            odx_status rs = tfj_run(s, &t, tfj_model_n_inputs(m), outs, &e2);
            if (rs != ODX_OK) CHECK_MSG(e2.msg[0], "run failed without a message");
        }
        tfj_state_free(s);
    } else {
        CHECK_MSG(err->msg[0], "load failed (%d) without a message", st);
        CHECK(m == NULL);
    }
    tfj_model_free(m);
    return st;
}

static void expect(og *o, odx_status want, const char *needle, const char *what)
{
    odx_err err = {0};
    odx_status st;
    tfj_model *m = og_load(o, &st, &err);
    CHECK_MSG(st == want, "%s: status %d (%s), want %d", what, st, err.msg, want);
    CHECK_MSG(!needle || strstr(err.msg, needle), "%s: '%s' lacks '%s'", what, err.msg, needle);
    tfj_model_free(m);
}

int main(void)
{
    og o;
    build(&o);
    pw good;
    og_model(&o, &good);
    odx_err err = {0};
    CHECK_MSG(try_bytes(good.b, good.n, &err) == ODX_OK, "valid model: %s", err.msg);

    /* every truncation */
    int fails = 0;
    for (size_t cut = 0; cut < good.n; cut++) {
        odx_err e = {0};
        if (try_bytes(good.b, cut, &e) != ODX_OK) fails++;
    }
    CHECK_MSG(fails > (int)good.n * 9 / 10, "%d of %zu truncations loaded", (int)good.n - fails,
              good.n);

    /* huge declared dims on an input and on a constant */
    og h = {0};
    int64_t big[4] = {1, 1 << 20, 1 << 20, 1 << 20};
    og_input(&h, "x", 1, 4, big);
    og_node(&h, "Relu", "x", "y", (const char *)NULL);
    og_output(&h, "y");
    {
        odx_status st;
        odx_err e = {0};
        tfj_model *m = og_load(&h, &st, &e);
        CHECK(st == ODX_OK); /* declared input dims are not allocated at load */
        tfj_model_free(m);
    }
    og hc = {0};
    og_input(&hc, "x", 1, 1, (int64_t[]){4});
    { /* a constant claiming 2^40 elements with 4 bytes of data */
        pw nd = {0}, at = {0}, t = {0};
        pw_str(&nd, 2, "k");
        pw_str(&nd, 4, "Constant");
        pw_str(&at, 1, "value");
        pw_int(&t, 1, (int64_t)1 << 20);
        pw_int(&t, 1, (int64_t)1 << 20);
        pw_int(&t, 2, 1);
        float f = 1;
        pw_bytes(&t, 9, &f, 4);
        pw_msg(&at, 5, &t);
        pw_msg(&nd, 5, &at);
        pw_msg(&hc.g, 1, &nd);
    }
    og_node(&hc, "Add", "x,k", "y", (const char *)NULL);
    og_output(&hc, "y");
    expect(&hc, ODX_ERR_LIMIT, NULL, "huge constant");

    /* data that disagrees with its dims */
    og dd = {0};
    og_input(&dd, "x", 1, 1, (int64_t[]){4});
    float three[3] = {1, 2, 3};
    og_const(&dd, "k", 1, 1, (int64_t[]){4}, three, 3);
    og_node(&dd, "Add", "x,k", "y", (const char *)NULL);
    og_output(&dd, "y");
    expect(&dd, ODX_ERR_MODEL, "disagrees", "short data");

    /* negative dim in a constant */
    og nd = {0};
    og_input(&nd, "x", 1, 1, (int64_t[]){4});
    og_const(&nd, "k", 1, 1, (int64_t[]){-4}, three, 0);
    og_node(&nd, "Add", "x,k", "y", (const char *)NULL);
    og_output(&nd, "y");
    expect(&nd, ODX_ERR_MODEL, NULL, "negative dim");

    /* a cycle, an unknown value, an unknown op, a custom domain, two
     * producers of one value, no outputs */
    og c = {0};
    og_input(&c, "x", 1, 1, (int64_t[]){4});
    og_node(&c, "Add", "x,b", "a", (const char *)NULL);
    og_node(&c, "Mul", "a,a", "b", (const char *)NULL);
    og_output(&c, "b");
    expect(&c, ODX_ERR_MODEL, "cycle", "cycle");
    og u = {0};
    og_input(&u, "x", 1, 1, (int64_t[]){4});
    og_node(&u, "Relu", "ghost", "y", (const char *)NULL);
    og_output(&u, "y");
    expect(&u, ODX_ERR_MODEL, "ghost", "unknown value");
    og q = {0};
    og_input(&q, "x", 1, 1, (int64_t[]){4});
    og_node(&q, "NonMaxSuppression", "x", "y", (const char *)NULL);
    og_output(&q, "y");
    expect(&q, ODX_ERR_UNSUPPORTED, "NonMaxSuppression", "unknown op");
    og t2 = {0};
    og_input(&t2, "x", 1, 1, (int64_t[]){4});
    og_node(&t2, "Relu", "x", "y", (const char *)NULL);
    og_node(&t2, "Sigmoid", "x", "y", (const char *)NULL);
    og_output(&t2, "y");
    expect(&t2, ODX_ERR_MODEL, "twice", "value defined twice");
    og no = {0};
    og_input(&no, "x", 1, 1, (int64_t[]){4});
    og_node(&no, "Relu", "x", "y", (const char *)NULL);
    expect(&no, ODX_ERR_MODEL, "outputs", "no outputs");

    /* wrong wire types and huge lengths at the top level */
    uint8_t bad1[] = {0x3a, 0xff, 0xff, 0xff, 0xff, 0x0f}; /* graph, length 4 GiB */
    CHECK(try_bytes(bad1, sizeof bad1, &err) == ODX_ERR_MODEL);
    uint8_t bad2[] = {0x3b, 0x01}; /* field 7 as a group */
    CHECK(try_bytes(bad2, sizeof bad2, &err) == ODX_ERR_MODEL);
    uint8_t bad3[] = {0x38, 0x05}; /* graph as a varint: no graph */
    CHECK(try_bytes(bad3, sizeof bad3, &err) == ODX_ERR_MODEL);

    /* seeded mutations: flip, overwrite and insert bytes */
    int loaded = 0;
    uint8_t *buf = malloc(good.n + 16);
    for (int it = 0; it < 3000 && buf; it++) {
        size_t n = good.n;
        memcpy(buf, good.b, n);
        int k = 1 + (int)(next() % 4);
        for (int j = 0; j < k; j++) {
            size_t at = next() % n;
            switch (next() % 3) {
            case 0: buf[at] ^= (uint8_t)(1u << (next() % 8)); break;
            case 1: buf[at] = (uint8_t)next(); break;
            default:
                if (n < good.n + 16) {
                    memmove(buf + at + 1, buf + at, n - at);
                    buf[at] = (uint8_t)next();
                    n++;
                }
            }
        }
        odx_err e = {0};
        if (try_bytes(buf, n, &e) == ODX_OK) loaded++;
    }
    free(buf);
    fprintf(stderr, "mutations: %d of 3000 still loaded (and ran or failed cleanly)\n", loaded);
    free(good.b);
    return check_result("test_cap_onnx_fuzz");
}

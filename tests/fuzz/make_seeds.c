/* make_seeds.c - writes the fuzz seed corpora under DIR (normally
 * tests/fuzz/corpus): small PNGs (every colour type, bit depths, interlace,
 * tRNS, text, a truncated one), JPEGs (baseline, progressive, grey, CMYK,
 * EXIF orientation, restart markers, truncated), TF.js models (model.json
 * NUL w.bin, see fuzz_tfjs.c) and ONNX models built with the unit tests'
 * writers, and query lines. Deterministic: rerunning gives the same files.
 * Usage: fuzz_make_seeds DIR. */
#include "fmt_gen.h"
#include "img_gen.h"
#include "onnx_graph.h"
#include "tfj_graph.h"

#include <sys/stat.h>

static const char *root;

static void put(const char *target, const char *name, const void *p, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", root, target);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/%s/%s", root, target, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
        perror(path);
        exit(1);
    }
}

static void put_buf(const char *target, const char *name, ig_buf *b)
{
    put(target, name, b->p, b->n);
    free(b->p);
    b->p = NULL;
}

static void pngs(void)
{
    static const struct {
        const char *name;
        int w, h, ct, bd;
        bool il;
        const char *text;
    } P[] = {
        {"rgb8.png", 9, 7, PNG_COLOR_TYPE_RGB, 8, false, NULL},
        {"rgba16_interlaced.png", 11, 5, PNG_COLOR_TYPE_RGB_ALPHA, 16, true, NULL},
        {"gray1.png", 17, 3, PNG_COLOR_TYPE_GRAY, 1, false, NULL},
        {"gray_alpha8.png", 6, 6, PNG_COLOR_TYPE_GRAY_ALPHA, 8, true, NULL},
        {"palette4_trns.png", 10, 4, PNG_COLOR_TYPE_PALETTE, 4, false, "a comment"},
        {"gray16_text.png", 4, 9, PNG_COLOR_TYPE_GRAY, 16, false, "seed"},
    };
    for (size_t i = 0; i < sizeof P / sizeof *P; i++) {
        ig_buf b = ig_png(P[i].w, P[i].h, P[i].ct, P[i].bd, P[i].il, P[i].text);
        if (i == 0) put("fuzz_png", "truncated.png", b.p, b.n / 2);
        put_buf("fuzz_png", P[i].name, &b);
    }
    /* Ancillary chunks after IHDR: zTXt, iTXt, iCCP-like garbage, sPLT. */
    ig_buf b = ig_png(5, 5, PNG_COLOR_TYPE_RGB, 8, false, NULL);
    ig_buf o = {0};
    ig_put(&o, b.p, 33); /* signature + IHDR */
    static const uint8_t ztxt[] = {'k', 0, 0, 0x78, 0x9c, 0x4b, 0x4c, 0x4a, 0x06, 0x00,
                                   0x02, 0x4d, 0x01, 0x27};
    ig_png_chunk(&o, "zTXt", ztxt, sizeof ztxt);
    static const uint8_t itxt[] = {'k', 0, 0, 0, 'e', 'n', 0, 0, 'h', 'i'};
    ig_png_chunk(&o, "iTXt", itxt, sizeof itxt);
    static const uint8_t splt[] = {'p', 0, 8, 1, 2, 3, 4, 0, 1};
    ig_png_chunk(&o, "sPLT", splt, sizeof splt);
    ig_put(&o, b.p + 33, b.n - 33);
    put_buf("fuzz_png", "chunks.png", &o);
    free(b.p);
}

static void put_fb(const char *target, const char *name, buf *b)
{
    put(target, name, b->p, b->n);
    free(b->p);
    b->p = NULL;
}

/* WebP, GIF, TIFF, BMP, HEIC/AVIF seeds: the writers of test_cap_formats
 * (fmt_gen.h), small sizes. */
static void formats(void)
{
    buf b = webp_quads(16, 12, 0), ex = {0};
    exif_tiff(&ex, 6);
    buf o = webp_mux(&b, &ex);
    put_fb("fuzz_webp", "exif_orient6.webp", &o);
    put_fb("fuzz_webp", "lossless.webp", &b);
    b = webp_quads(16, 12, 80);
    put_fb("fuzz_webp", "lossy.webp", &b);
    b = webp_anim(16, 12);
    put_fb("fuzz_webp", "anim.webp", &b);
    free(ex.p);

    b = make_gif(16, 12, 1, -1, false);
    put_fb("fuzz_gif", "still.gif", &b);
    b = make_gif(13, 11, 1, -1, true);
    put_fb("fuzz_gif", "interlaced.gif", &b);
    b = make_gif(16, 12, 3, 0, false);
    put_fb("fuzz_gif", "anim_transparent.gif", &b);

    TIFFSetWarningHandler(NULL);
    static const struct {
        const char *name;
        tw o;
    } T[] = {{"rgb8_lzw.tif", {.bps = 8, .spp = 3}},
             {"rgb16.tif", {.bps = 16, .spp = 3}},
             {"rgba_unassoc.tif", {.bps = 8, .spp = 4, .extra = EXTRASAMPLE_UNASSALPHA}},
             {"palette.tif", {.palette = true}},
             {"orient6.tif", {.bps = 8, .spp = 3, .orientation = ORIENTATION_RIGHTTOP}},
             {"pages3.tif", {.bps = 8, .spp = 3, .pages = 3}}};
    for (size_t i = 0; i < sizeof T / sizeof *T; i++) {
        b = make_tiff(12, 10, &T[i].o);
        put_fb("fuzz_tiff", T[i].name, &b);
    }

    static const struct {
        const char *name;
        bw o;
    } B[] = {{"rgb24.bmp", {.bpp = 24}},         {"rgb24_topdown.bmp", {.bpp = 24, .top_down = true}},
             {"pal8.bmp", {.bpp = 8}},           {"rgb565.bmp", {.bpp = 16}},
             {"rle8.bmp", {.bpp = 8, .rle8 = true}}, {"rgb32.bmp", {.bpp = 32}},
             {"v5_alpha.bmp", {.bpp = 32, .alpha_v5 = true}}};
    for (size_t i = 0; i < sizeof B / sizeof *B; i++) {
        b = make_bmp(13, 9, &B[i].o);
        put_fb("fuzz_bmp", B[i].name, &b);
    }

    b = make_heif(heif_compression_HEVC, 32, 24, false, 1, 0);
    put_fb("fuzz_heif", "still.heic", &b);
    b = make_heif(heif_compression_HEVC, 32, 24, false, 6, 6);
    put_fb("fuzz_heif", "rot6_exif6.heic", &b);
    b = make_heif(heif_compression_AV1, 32, 24, false, 1, 0);
    put_fb("fuzz_heif", "still.avif", &b);
    b = make_heif(heif_compression_AV1, 32, 24, true, 1, 0);
    put_fb("fuzz_heif", "alpha.avif", &b);
}

static void jpegs(void)
{
    ig_jpeg_opts o = {0};
    ig_buf b = ig_jpeg(16, 16, &o);
    put("fuzz_jpeg", "truncated.jpg", b.p, b.n * 9 / 10);
    put_buf("fuzz_jpeg", "baseline.jpg", &b);
    o = (ig_jpeg_opts){.progressive = true};
    b = ig_jpeg(24, 17, &o);
    put_buf("fuzz_jpeg", "progressive.jpg", &b);
    o = (ig_jpeg_opts){.comps = 1, .restart_rows = 1};
    b = ig_jpeg(19, 21, &o);
    put_buf("fuzz_jpeg", "grey_restart.jpg", &b);
    o = (ig_jpeg_opts){.comps = 4};
    b = ig_jpeg(8, 8, &o);
    put_buf("fuzz_jpeg", "cmyk.jpg", &b);
    o = (ig_jpeg_opts){.orientation = 6, .quality = 40};
    b = ig_jpeg(13, 7, &o);
    put_buf("fuzz_jpeg", "exif_orient6.jpg", &b);
    int n = 0;
    jpeg_scan_info *s = ig_many_scans(1, &n); /* 379 scans: over the limit */
    b = ig_jpeg(8, 8, &(ig_jpeg_opts){.scans = s, .n_scans = n});
    put_buf("fuzz_jpeg", "many_scans.jpg", &b);
    free(s);
}

static void tfjs_seed(gb *g, const char *name, const char *outputs)
{
    gb_write(g, outputs);
    char p[512];
    uint8_t *j = NULL, *w = NULL;
    size_t jn = 0, wn = 0;
    odx_err err = {0};
    snprintf(p, sizeof p, "%s/model.json", g->dir);
    if (core_read_file(p, 1 << 20, &j, &jn, &err) != ODX_OK) exit(1);
    snprintf(p, sizeof p, "%s/w.bin", g->dir);
    if (core_read_file(p, 1 << 20, &w, &wn, &err) != ODX_OK) exit(1);
    ig_buf b = {0};
    ig_put(&b, j, jn);
    ig_put(&b, "", 1);
    if (wn) ig_put(&b, w, wn);
    put_buf("fuzz_tfjs", name, &b);
    free(j);
    free(w);
    gb_free(g);
}

#define S(...) ((const int64_t[]){__VA_ARGS__})
#define F(...) ((const float[]){__VA_ARGS__})

static void tfjs(void)
{
    gb g;
    gb_init(&g);
    gb_input(&g, "x", 2, S(-1, 4));
    gb_constf(&g, "c", 1, S(4), F(1, 2, 3, 4));
    gb_op(&g, "y", "AddV2", "\"x\",\"c\"", NULL);
    tfjs_seed(&g, "add.model", NULL);

    /* Inputs fit one of the shapes fuzz_tfjs.c runs: {4}, {4,4}, {3,4,4},
     * {2,3,4,4}. */
    float w[2 * 2 * 4 * 2];
    for (int i = 0; i < 32; i++) w[i] = (float)(i % 5) / 4 - 0.5f;
    gb_init(&g);
    gb_input(&g, "x", 4, S(2, 3, 4, 4));
    gb_constf(&g, "w", 4, S(2, 2, 4, 2), w);
    gb_constf(&g, "b", 1, S(2), F(0.25f, -1));
    gb_op(&g, "c", "Conv2D", "\"x\",\"w\"",
          "\"padding\":{\"s\":\"U0FNRQ==\"},\"strides\":{\"list\":{\"i\":[\"1\",\"1\",\"1\",\"1\"]}}");
    gb_op(&g, "a", "BiasAdd", "\"c\",\"b\"", NULL);
    gb_op(&g, "y", "Relu", "\"a\"", NULL);
    tfjs_seed(&g, "conv_bias_relu.model", "\"y\":{\"name\":\"y:0\"}");

    gb_init(&g);
    gb_input(&g, "x", 3, S(3, 4, 4));
    gb_consti(&g, "shape", 1, S(2), (const int32_t[]){4, 12});
    gb_op(&g, "r", "Reshape", "\"x\",\"shape\"", NULL);
    gb_op(&g, "s", "Sigmoid", "\"r\"", NULL);
    gb_consti(&g, "perm", 1, S(2), (const int32_t[]){1, 0});
    gb_op(&g, "y", "Transpose", "\"s\",\"perm\"", NULL);
    tfjs_seed(&g, "reshape_transpose.model", NULL);

    gb_init(&g);
    gb_input(&g, "x", 4, S(2, 3, 4, 4));
    gb_op(&g, "m", "MaxPool", "\"x\"",
          "\"ksize\":{\"list\":{\"i\":[\"1\",\"2\",\"2\",\"1\"]}},\"strides\":{\"list\":{\"i\":"
          "[\"1\",\"2\",\"2\",\"1\"]}},\"padding\":{\"s\":\"VkFMSUQ=\"}");
    gb_consti(&g, "ax", 0, S(1), (const int32_t[]){3});
    gb_op(&g, "sp", "Split", "\"ax\",\"m\"", "\"num_split\":{\"i\":\"2\"}");
    gb_op(&g, "y", "ConcatV2", "\"sp:1\",\"sp:0\",\"ax\"", "\"N\":{\"i\":\"2\"}");
    tfjs_seed(&g, "pool_split_concat.model", NULL);
}

static void onnx_seed(og *o, const char *name)
{
    pw w;
    og_model(o, &w);
    put("fuzz_onnx", name, w.b, w.n);
    free(w.b);
    free(o->g.b);
}

static void onnx(void)
{
    og o = {0};
    int64_t xd[4] = {1, 2, 4, 4}, wd[4] = {3, 2, 3, 3}, vd[1] = {3}, sd[1] = {1};
    float w[3 * 2 * 9], v[3] = {0.5f, 1, 2};
    for (int i = 0; i < 54; i++) w[i] = (float)(i % 7) / 7 - 0.4f;
    og_input(&o, "x", 1, 4, xd);
    og_constf(&o, "w", 4, wd, w);
    og_constf(&o, "sc", 1, vd, v);
    og_constf(&o, "bb", 1, vd, v);
    og_constf(&o, "mu", 1, vd, v);
    og_constf(&o, "va", 1, vd, v);
    float three = 3, zero = 0, six = 6;
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
    onnx_seed(&o, "conv_bn_hswish.onnx");

    o = (og){0};
    int64_t x2[4] = {-1, 3, 8, 8};
    og_input(&o, "x", 1, 4, x2);
    og_node(&o, "Shape", "x", "sh", (const char *)NULL);
    og_node(&o, "Relu", "x", "r", (const char *)NULL);
    og_node(&o, "MaxPool", "r", "p", "kernel_shape=ints:2,2", "strides=ints:2,2",
            (const char *)NULL);
    og_node(&o, "Resize", "p,,,sh", "y", "mode=s:nearest", (const char *)NULL);
    og_output(&o, "y");
    onnx_seed(&o, "shape_pool_resize.onnx");

    o = (og){0};
    int64_t x3[2] = {2, 5};
    og_input(&o, "x", 1, 2, x3);
    og_node(&o, "Softmax", "x", "s", "axis=i:1", (const char *)NULL);
    og_node(&o, "Transpose", "s", "y", "perm=ints:1,0", (const char *)NULL);
    og_output(&o, "y");
    onnx_seed(&o, "softmax_transpose.onnx");
}

static void queries(void)
{
    static const char *Q[] = {
        "red car on a street",
        "domain:chart lang:zh after:2024-01-01 before:2024-12 rainfall",
        "path:/photos/2023 ext:png minw:800 minh:600 sunset",
        "Note: http://example.com/x:y after:2024-02-29 报告 表格",
        "after:2024-02-30 bad date",
        "domain:bogus\nk=5\ndomain=table\nafter=2024-13-45",
        "cats\nk=10000\nmin_score=0.5\nw_dense=2\nw-lexical=0\nmode=lexical\nall=yes\n"
        "explain=0\nlang=zh\ntext_lang=en\nminw=10\nmin_height=20\next=jpg\npath=/a",
        "\xe4\xb8\xad\xe6\x96\x87 \xff\xfe invalid utf8 minw:99999999999",
    };
    for (size_t i = 0; i < sizeof Q / sizeof *Q; i++) {
        char name[32];
        snprintf(name, sizeof name, "q%02zu.txt", i);
        put("fuzz_query", name, Q[i], strlen(Q[i]));
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    root = argv[1];
    mkdir(root, 0755);
    pngs();
    jpegs();
    formats();
    tfjs();
    onnx();
    queries();
    return 0;
}

/* test_cap_detect.c - the NanoDet detector end to end against the JS oracle
 * (shared/oracle): preprocessing and raw network outputs within 1e-4 of the
 * oracle's tensors (checksum-verified samples in tests/fixtures/detect),
 * decoded labels, the cap_detect contract, errors, and two threads sharing
 * one loaded model. Needs the model: scripts/fetch_models.sh (fails, never
 * skips, when it is missing). */
#include "check.h"
#include "runtime/nanodet.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

static const char *src_dir(void)
{
    const char *s = getenv("ODX_SOURCE_DIR");
    return s && *s ? s : ".";
}

static char models[1024];

static bool find_models(void)
{
    const char *env = getenv("OMNIDEX_MODELS");
    if (env && *env) snprintf(models, sizeof models, "%s", env);
    else snprintf(models, sizeof models, "%s/models", src_dir());
    char p[1100];
    snprintf(p, sizeof p, "%s/nanodet.bin", models);
    return access(p, R_OK) == 0;
}

/* Reads a binary PPM (P6, maxval 255). */
static bool read_ppm(const char *path, cap_image *im)
{
    uint8_t *data = NULL;
    size_t len = 0;
    odx_err err = {0};
    if (core_read_file(path, 1 << 22, &data, &len, &err) != ODX_OK) return false;
    int w, h, mx, off = 0;
    bool ok = sscanf((char *)data, "P6 %d %d %d%n", &w, &h, &mx, &off) == 3 && mx == 255 &&
              w > 0 && h > 0 && (size_t)off + 1 + (size_t)w * h * 3 <= len;
    if (ok) {
        im->w = w;
        im->h = h;
        im->rgb = malloc((size_t)w * h * 3);
        memcpy(im->rgb, data + off + 1, (size_t)w * h * 3);
    }
    free(data);
    return ok;
}

/* The synthetic pattern, same formula as the generator used for the oracle. */
static void make_pattern(cap_image *im)
{
    im->w = 128;
    im->h = 96;
    im->rgb = malloc(128 * 96 * 3);
    for (int y = 0; y < 96; y++)
        for (int x = 0; x < 128; x++) {
            uint8_t *p = im->rgb + 3 * (y * 128 + x);
            bool disc = (x - 64) * (x - 64) + (y - 48) * (y - 48) < 400;
            p[0] = disc ? 230 : (uint8_t)((x * 2) & 255);
            p[1] = disc ? 40 : (uint8_t)((y * 2) & 255);
            p[2] = ((x ^ y) & 16) ? 200 : 30;
        }
}

typedef struct expect_t {
    uint32_t n, stride, n_s;
    float mean, mean_abs, max;
    const float *s;
} expect_t;

static uint32_t rd32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static float rdf(const uint8_t *p)
{
    uint32_t v = rd32(p);
    float f;
    memcpy(&f, &v, 4);
    return f;
}

/* Loads an .expect.bin after checking its SHA-256; 7 tensors. */
static uint8_t *load_expect(const char *name, const char *sha, expect_t e[7])
{
    char path[1100];
    snprintf(path, sizeof path, "%s/tests/fixtures/detect/%s", src_dir(), name);
    uint8_t *data = NULL;
    size_t len = 0;
    odx_err err = {0};
    if (core_read_file(path, 1 << 22, &data, &len, &err) != ODX_OK) {
        CHECK_MSG(0, "fixture %s: %s", path, err.msg);
        return NULL;
    }
    char hex[65];
    core_sha256_hex(data, len, hex);
    CHECK_STR(hex, sha);
    if (strcmp(hex, sha) || len < 12 || memcmp(data, "ODXDET1", 8) || rd32(data + 8) != 7) {
        CHECK_MSG(0, "fixture %s is corrupt", path);
        free(data);
        return NULL;
    }
    size_t off = 12;
    for (int k = 0; k < 7; k++) {
        e[k].n = rd32(data + off);
        e[k].stride = rd32(data + off + 4);
        e[k].n_s = rd32(data + off + 8);
        e[k].mean = rdf(data + off + 12);
        e[k].mean_abs = rdf(data + off + 16);
        e[k].max = rdf(data + off + 20);
        e[k].s = (const float *)(data + off + 24); /* little-endian host assumed */
        off += 24 + (size_t)e[k].n_s * 4;
    }
    CHECK(off == len);
    return data;
}

/* Compares a tensor with the oracle's samples and statistics. */
static void compare(const char *what, const float *x, int64_t n, const expect_t *e, double tol)
{
    CHECK_MSG(n == e->n, "%s: %lld elements, oracle %u", what, (long long)n, e->n);
    if (n != e->n) return;
    double maxd = 0, sum = 0, sabs = 0, mx = -INFINITY;
    for (uint32_t i = 0; i < e->n_s; i++) {
        double d = fabs((double)x[(size_t)i * e->stride] - e->s[i]);
        if (d > maxd) maxd = d;
    }
    for (int64_t i = 0; i < n; i++) {
        sum += x[i];
        sabs += fabs(x[i]);
        if (x[i] > mx) mx = x[i];
    }
    CHECK_MSG(maxd <= tol, "%s: max sample difference %g", what, maxd);
    CHECK_NEAR(sum / n, e->mean, tol);
    CHECK_NEAR(sabs / n, e->mean_abs, tol);
    CHECK_NEAR(mx, e->max, tol);
    fprintf(stderr, "%s: max |native - oracle| over %u samples = %.3g\n", what, e->n_s, maxd);
}

static bool has_label(const cap_object *o, int n, const char *label)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(o[i].label, label)) return true;
    return false;
}

static void tensor_test(cap_det_state *st, const cap_image *im, const char *fixture,
                        const char *sha, const char *const *labels02, int n_labels02)
{
    expect_t e[7];
    uint8_t *blob = load_expect(fixture, sha, e);
    if (!blob) return;
    float *input = malloc(sizeof(float) * 3 * CAP_DET_SIZE * CAP_DET_SIZE);
    cap_det_geom g;
    odx_err err = {0};
    CHECK(cap_det_preprocess(im, input, &g, &err) == ODX_OK);
    compare("input", input, 3 * CAP_DET_SIZE * CAP_DET_SIZE, &e[0], 1e-5);
    const tfj_tensor *outs[6];
    odx_status s = cap_det_run_raw(st, input, outs, &err);
    CHECK_MSG(s == ODX_OK, "run: %s", err.msg);
    if (s == ODX_OK) {
        static const char *const NM[6] = {"scores/8", "boxes/8", "scores/16",
                                          "boxes/16", "scores/32", "boxes/32"};
        for (int k = 0; k < 6; k++) compare(NM[k], outs[k]->d.f, outs[k]->n, &e[k + 1], 1e-4);
        cap_object objs[CAP_DET_MAX_OBJECTS];
        int n = cap_det_decode(outs, &g, 0.2f, objs, CAP_DET_MAX_OBJECTS);
        CHECK_MSG(n == n_labels02, "%s: %d objects at 0.2, oracle %d", fixture, n, n_labels02);
        for (int i = 0; i < n_labels02; i++)
            CHECK_MSG(has_label(objs, n, labels02[i]), "%s: no '%s'", fixture, labels02[i]);
        for (int i = 0; i < n; i++) {
            CHECK(objs[i].x0 >= 0 && objs[i].x0 <= objs[i].x1 && objs[i].x1 <= 1);
            CHECK(objs[i].y0 >= 0 && objs[i].y0 <= objs[i].y1 && objs[i].y1 <= 1);
            CHECK(objs[i].score > 0.2f && objs[i].label_zh && objs[i].label_zh[0]);
            if (i) CHECK(objs[i].score <= objs[i - 1].score);
        }
    }
    free(input);
    free(blob);
}

typedef struct job {
    cap_detector *det;
    const cap_image *im;
    cap_desc d;
    odx_status st;
} job;

static void *thread_run(void *p)
{
    job *j = p;
    cap_det_state *st = NULL;
    odx_err err = {0};
    j->st = cap_det_state_new(j->det, &st, &err);
    for (int r = 0; r < 2 && j->st == ODX_OK; r++) j->st = cap_detect(st, j->im, 0.3f, &j->d, &err);
    cap_det_state_free(st);
    return NULL;
}

static void test_errors(void)
{
    cap_detector *det = NULL;
    odx_err err = {0};
    char dir[] = "/tmp/odx_det_XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    CHECK(cap_detector_load(dir, &det, &err) == ODX_ERR_NOT_FOUND);
    CHECK(strstr(err.msg, "fetch_models.sh") != NULL);
    CHECK(det == NULL);
    /* malformed model files: a clear ODX_ERR_MODEL */
    char p[256];
    snprintf(p, sizeof p, "%s/nanodet.json", dir);
    FILE *f = fopen(p, "w");
    fputs("{\"modelTopology\": {\"node\": [ {\"name\": \"x\"", f);
    fclose(f);
    snprintf(p, sizeof p, "%s/nanodet.bin", dir);
    f = fopen(p, "w");
    fputs("xx", f);
    fclose(f);
    core_err_clear(&err);
    CHECK(cap_detector_load(dir, &det, &err) == ODX_ERR_MODEL);
    CHECK(det == NULL);
    unlink(p);
    snprintf(p, sizeof p, "%s/nanodet.json", dir);
    unlink(p);
    rmdir(dir);

    cap_desc d = {0};
    d.domain = CAP_PHOTO;
    CHECK(cap_detect_wanted(&d));
    d.domain = CAP_POSTER;
    CHECK(cap_detect_wanted(&d));
    d.domain = CAP_CHART;
    CHECK(!cap_detect_wanted(&d));
    d.domain = CAP_DOCUMENT;
    CHECK(!cap_detect_wanted(&d));
    d.domain = CAP_SCREENSHOT;
    CHECK(!cap_detect_wanted(&d));
    CHECK(!cap_detect_wanted(NULL));
    cap_detector_free(NULL);
    cap_det_state_free(NULL);
}

/* Copies the real model into a temp dir with one text substitution in the
 * json (or a truncated .bin), then loads and runs it: errors, not crashes. */
static void broken_model(const char *what, const char *from, const char *to, long cut,
                         odx_status want_load)
{
    char dir[] = "/tmp/odx_detm_XXXXXX", p[1200];
    if (!mkdtemp(dir)) return;
    uint8_t *json = NULL, *bin = NULL;
    size_t jl = 0, bl = 0;
    odx_err err = {0};
    snprintf(p, sizeof p, "%s/nanodet.json", models);
    CHECK(core_read_file(p, 1 << 26, &json, &jl, &err) == ODX_OK);
    snprintf(p, sizeof p, "%s/nanodet.bin", models);
    CHECK(core_read_file(p, 1 << 26, &bin, &bl, &err) == ODX_OK);
    if (!json || !bin) return;
    core_buf b;
    core_buf_init(&b, 0);
    char *hit = from ? strstr((char *)json, from) : NULL;
    CHECK_MSG(!from || hit, "%s: '%s' not in the model", what, from);
    if (hit) {
        core_buf_append(&b, json, (size_t)(hit - (char *)json));
        core_buf_puts(&b, to);
        core_buf_puts(&b, hit + strlen(from));
    } else {
        core_buf_append(&b, json, jl);
    }
    snprintf(p, sizeof p, "%s/nanodet.json", dir);
    CHECK(core_write_atomic(p, b.data, b.len, &err) == ODX_OK);
    char pb[1200];
    snprintf(pb, sizeof pb, "%s/nanodet.bin", dir);
    CHECK(core_write_atomic(pb, bin, bl - (size_t)cut, &err) == ODX_OK);
    cap_detector *det = NULL;
    core_err_clear(&err);
    odx_status st = cap_detector_load(dir, &det, &err);
    CHECK_MSG(st == want_load, "%s: load gave %d (%s), want %d", what, st, err.msg, want_load);
    if (st == ODX_OK) {
        cap_det_state *ds = NULL;
        cap_image im = {0};
        make_pattern(&im);
        cap_desc d = {0};
        st = cap_det_state_new(det, &ds, &err);
        if (st == ODX_OK) st = cap_detect(ds, &im, 0.3f, &d, &err);
        CHECK_MSG(st != ODX_OK && err.msg[0], "%s: the run should fail", what);
        fprintf(stderr, "  %s -> %s\n", what, err.msg);
        free(d.objects);
        cap_det_state_free(ds);
        cap_image_free(&im);
    } else {
        fprintf(stderr, "  %s -> %s\n", what, err.msg);
    }
    cap_detector_free(det);
    unlink(p);
    unlink(pb);
    rmdir(dir);
    core_buf_free(&b);
    free(json);
    free(bin);
}

/* A same-class box deep inside a much larger one goes; other classes,
 * overlapping peers and boxes only partly inside stay. */
static void test_drop_parts(void)
{
    cap_object o[5] = {
        {.cls = 11, .score = 0.6f, .x0 = 0.0f, .y0 = 0.0f, .x1 = 1.0f, .y1 = 1.0f},
        {.cls = 11, .score = 0.5f, .x0 = 0.4f, .y0 = 0.3f, .x1 = 0.7f, .y1 = 0.6f},
        {.cls = 0, .score = 0.45f, .x0 = 0.4f, .y0 = 0.3f, .x1 = 0.6f, .y1 = 0.6f},
        {.cls = 11, .score = 0.4f, .x0 = 0.9f, .y0 = 0.9f, .x1 = 1.3f, .y1 = 1.3f},
        {.cls = 11, .score = 0.35f, .x0 = 0.1f, .y0 = 0.1f, .x1 = 0.9f, .y1 = 0.9f},
    };
    int n = cap_det_drop_parts(o, 5);
    CHECK(n == 4);
    CHECK(o[0].score == 0.6f && o[1].cls == 0 && o[2].score == 0.4f && o[3].score == 0.35f);
    CHECK(cap_det_drop_parts(o, 0) == 0);
}

int main(void)
{
    test_errors();
    test_drop_parts();
    if (!find_models()) {
        fprintf(stderr,
                "test_cap_detect: FAIL: NanoDet model not found in '%s'. Fetch it with "
                "scripts/fetch_models.sh (or set OMNIDEX_MODELS).\n",
                models);
        return 1;
    }
    broken_model("truncated bin", NULL, NULL, 1, ODX_ERR_MODEL);
    broken_model("unknown op", "\"op\":\"LeakyRelu\"", "\"op\":\"LeakyReLU6\"", 0,
                 ODX_ERR_UNSUPPORTED);
    broken_model("stride 3 conv", "\"strides\":{\"list\":{\"i\":[\"1\",\"2\"",
                 "\"strides\":{\"list\":{\"i\":[\"1\",\"3\"", 0, ODX_OK);
    broken_model("input 417 wide", "\"Placeholder\",\"attr\":{\"shape\":{\"shape\":{\"dim\":"
                 "[{\"size\":\"1\"},{\"size\":\"3\"},{\"size\":\"416\"},{\"size\":\"416\"}]",
                 "\"Placeholder\",\"attr\":{\"shape\":{\"shape\":{\"dim\":"
                 "[{\"size\":\"1\"},{\"size\":\"3\"},{\"size\":\"416\"},{\"size\":\"417\"}]",
                 0, ODX_OK);
    broken_model("constant shape vs manifest", "\"tensorShape\":{\"dim\":[{\"size\":\"3\"}",
                 "\"tensorShape\":{\"dim\":[{\"size\":\"4\"}", 0, ODX_ERR_MODEL);
    cap_detector *det = NULL;
    cap_det_state *st = NULL;
    odx_err err = {0};
    odx_status s = cap_detector_load(models, &det, &err);
    CHECK_MSG(s == ODX_OK, "load: %s", err.msg);
    if (s == ODX_OK) s = cap_det_state_new(det, &st, &err);
    if (s != ODX_OK) return check_result("test_cap_detect");

    cap_image cat = {0}, pat = {0};
    char path[1100];
    snprintf(path, sizeof path, "%s/tests/fixtures/detect/chelsea_160.ppm", src_dir());
    CHECK_MSG(read_ppm(path, &cat), "cannot read %s", path);
    make_pattern(&pat);
    static const char *const cat_labels[] = {"clock", "cat", "cell phone", "person"};
    static const char *const pat_labels[] = {"stop sign"};
    if (cat.rgb)
        tensor_test(st, &cat, "chelsea_160.expect.bin",
                    "bc5173452cf06de188cfbf85ae00cc9ca4eae2746cc906c611da9695d7aae247",
                    cat_labels, 4);
    tensor_test(st, &pat, "pattern_128.expect.bin",
                "df652b57307b9d8f881fafdc3a9b5228323f65f732321f0486d46135112078bd", pat_labels,
                1);

    /* cap_detect contract at 0.3: oracle keeps clock .372 and cat .331 */
    cap_desc d = {0};
    if (cat.rgb) {
        s = cap_detect(st, &cat, 0.3f, &d, &err);
        CHECK_MSG(s == ODX_OK, "cap_detect: %s", err.msg);
        CHECK(d.det_ran);
        CHECK(d.n_objects == 2);
        CHECK(has_label(d.objects, d.n_objects, "cat") && has_label(d.objects, d.n_objects, "clock"));
        for (int i = 0; i < d.n_objects; i++)
            if (!strcmp(d.objects[i].label, "cat")) {
                CHECK_STR(d.objects[i].label_zh, "猫");
                CHECK(d.objects[i].cls == 15);
                /* the cat fills the frame */
                CHECK(d.objects[i].x1 - d.objects[i].x0 > 0.8f);
            }
        free(d.objects);
    }
    /* bad images are errors, not crashes */
    cap_image bad = {0, 10, NULL};
    cap_desc d2 = {0};
    core_err_clear(&err);
    CHECK(cap_detect(st, &bad, 0.3f, &d2, &err) == ODX_ERR_INVALID);
    uint8_t px[3] = {1, 2, 3};
    cap_image one = {1, 1, px};
    CHECK(cap_detect(st, &one, 0.3f, &d2, &err) == ODX_OK && d2.det_ran);
    free(d2.objects);

    /* two threads, one shared model: the same answer as one thread */
    if (cat.rgb) {
        job j[2];
        pthread_t t[2];
        for (int k = 0; k < 2; k++) {
            memset(&j[k], 0, sizeof j[k]);
            j[k].det = det;
            j[k].im = &cat;
            pthread_create(&t[k], NULL, thread_run, &j[k]);
        }
        for (int k = 0; k < 2; k++) pthread_join(t[k], NULL);
        for (int k = 0; k < 2; k++) {
            CHECK(j[k].st == ODX_OK && j[k].d.n_objects == 2);
            if (j[k].d.n_objects == 2 && k == 1)
                CHECK(j[0].d.objects[0].score == j[1].d.objects[0].score &&
                      j[0].d.objects[1].x0 == j[1].d.objects[1].x0);
        }
        for (int k = 0; k < 2; k++) free(j[k].d.objects);
    }
    cap_image_free(&cat);
    cap_image_free(&pat);
    cap_det_state_free(st);
    cap_detector_free(det);
    return check_result("test_cap_detect");
}

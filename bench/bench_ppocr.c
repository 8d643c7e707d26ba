/* bench_ppocr.c - forward time of each PP-OCR model on the model runtime
 * (captioner/tfjs, ONNX front-end), one thread, next to onnxruntime's CPU
 * time for the same input measured in the same run (tests/oracle/
 * onnx_oracle.js with onnxruntime-node from scripts/fetch_oracle.sh; skipped
 * with a note when node or the package is missing). Inputs: deterministic
 * noise at det 1x3x640x640, rec 1x3x48x320 and 6x3x48x320, cls 6x3x48x192.
 * Prints JSON with the per-op-type breakdown of our runs.
 * Usage: bench_ppocr [MODELS_DIR] [--runs N] [--oracle DIR] */
#include "tfjs/tfjs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Thread CPU time in ms: on a shared machine wall time mostly measures the
 * neighbours; both sides are compared on CPU time (and wall is printed). */
static double cpu_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* onnxruntime's median for the same input; -1 when unavailable. */
static double oracle_ms(const char *oracle, const char *model, const float *x, size_t n,
                        int N, int H, int W, int runs, double *cpu)
{
    char in[] = "/tmp/odx_bench_XXXXXX";
    int fd = mkstemp(in);
    if (fd < 0) return -1;
    bool ok = write(fd, x, n * 4) == (ssize_t)(n * 4);
    close(fd);
    char cmd[4096], line[512];
    snprintf(cmd, sizeof cmd,
             "node tests/oracle/onnx_oracle.js '%s' '%s' '%s' %d,3,%d,%d /dev/null %d 2>&1 >/dev/null",
             oracle, model, in, N, H, W, runs);
    double ms = -1;
    FILE *p = ok ? popen(cmd, "r") : NULL;
    while (p && fgets(line, sizeof line, p)) {
        const char *m = strstr(line, "median "), *c = strstr(line, "cpu ");
        if (m) ms = atof(m + 7);
        if (c) *cpu = atof(c + 4);
    }
    if (p) pclose(p);
    unlink(in);
    return ms;
}

int main(int argc, char **argv)
{
    const char *models = getenv("OMNIDEX_MODELS"), *oracle = getenv("OMNIDEX_ORACLE");
    int runs = 5;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--runs") && i + 1 < argc) runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--oracle") && i + 1 < argc) oracle = argv[++i];
        else models = argv[i];
    }
    if (runs < 1 || runs > 1000) runs = 5;
    if (!models) models = "models";
    char odir[1100];
    if (!oracle) {
        snprintf(odir, sizeof odir, "%s/oracle", models);
        oracle = odir;
    }
    struct {
        const char *file, *name;
        int n, h, w;
    } cs[] = {
        {"ch_PP-OCRv4_det_infer.onnx", "det_640", 1, 640, 640},
        {"ch_PP-OCRv4_rec_infer.onnx", "rec_320", 1, 48, 320},
        {"ch_PP-OCRv4_rec_infer.onnx", "rec_6x320", 6, 48, 320},
        {"ch_ppocr_mobile_v2.0_cls_infer.onnx", "cls_6x192", 6, 48, 192},
    };
    printf("{\n  \"threads\": 1,\n  \"runs\": %d,\n  \"models\": [\n", runs);
    for (size_t k = 0; k < sizeof cs / sizeof cs[0]; k++) {
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", models, cs[k].file);
        odx_err err = {0};
        tfj_model *m = NULL;
        tfj_state *s = NULL;
        if (tfj_model_load_onnx(path, &m, &err) != ODX_OK ||
            tfj_state_new(m, &s, &err) != ODX_OK) {
            fprintf(stderr, "bench_ppocr: %s (run scripts/fetch_models.sh)\n", err.msg);
            return 1;
        }
        size_t n = (size_t)cs[k].n * 3 * cs[k].h * cs[k].w;
        float *x = malloc(n * sizeof(float));
        if (!x) return 1;
        uint32_t r = 7;
        for (size_t i = 0; i < n; i++) {
            r = r * 1664525u + 1013904223u;
            x[i] = (float)((r >> 9) & 0xffff) / 32768.0f - 1.0f;
        }
        tfj_tensor t = {0};
        t.dtype = TFJ_F32;
        t.ndim = 4;
        t.shape[0] = cs[k].n, t.shape[1] = 3, t.shape[2] = cs[k].h, t.shape[3] = cs[k].w;
        t.n = (int64_t)n;
        t.d.f = x;
        const tfj_tensor *outs[2];
        if (tfj_run(s, &t, 1, outs, &err) != ODX_OK) { /* warm-up */
            fprintf(stderr, "bench_ppocr: %s\n", err.msg);
            return 1;
        }
        tfj_state_profile(s, true);
        double *ms = malloc((size_t)runs * sizeof(double)), *cms = malloc((size_t)runs * sizeof(double));
        for (int i = 0; i < runs; i++) {
            double t0 = core_now(), c0 = cpu_ms();
            tfj_run(s, &t, 1, outs, &err);
            ms[i] = (core_now() - t0) * 1e3;
            cms[i] = cpu_ms() - c0;
        }
        double ours = median(ms, runs), ours_cpu = median(cms, runs), ort_cpu = -1;
        double ort = oracle_ms(oracle, path, x, n, cs[k].n, cs[k].h, cs[k].w, runs, &ort_cpu);
        printf("    {\"name\": \"%s\", \"input\": [%d,3,%d,%d], \"cpu_ms\": %.2f, "
               "\"onnxruntime_cpu_ms\": %.2f, \"cpu_ratio\": %.2f, \"wall_ms\": %.2f, "
               "\"onnxruntime_wall_ms\": %.2f, \"gmac\": %.3f, \"ops\": {",
               cs[k].name, cs[k].n, cs[k].h, cs[k].w, ours_cpu, ort_cpu,
               ort_cpu > 0 ? ours_cpu / ort_cpu : -1, ours, ort, tfj_state_last_macs(s) / 1e9);
        const char *names[48];
        double pms[48];
        int calls[48];
        int np = tfj_state_profile_get(s, names, pms, calls, 48);
        for (int i = 0; i < np && i < 48; i++)
            printf("%s\"%s\": %.2f", i ? ", " : "", names[i], pms[i] / runs);
        printf("}}%s\n", k + 1 < sizeof cs / sizeof cs[0] ? "," : "");
        free(ms);
        free(cms);
        free(x);
        tfj_state_free(s);
        tfj_model_free(m);
    }
    printf("  ]\n}\n");
    return 0;
}

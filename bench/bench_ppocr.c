/* bench_ppocr.c - forward time of each PP-OCR model on the model runtime
 * (captioner/runtime, ONNX front-end), one thread, next to onnxruntime's CPU
 * time for the same input measured in the same run (tests/oracle/
 * onnx_oracle.js with onnxruntime-node from scripts/fetch_oracle.sh; skipped
 * with a note when node or the package is missing). Inputs: deterministic
 * noise at det 1x3x640x640, rec 1x3x48x320, 6x3x48x320 and 6x3x48x1280,
 * cls 6x3x48x192 (cpu_min_ms: the fastest run, least disturbed by neighbours).
 * Prints JSON with the per-op-type breakdown of our runs.
 * Usage: bench_ppocr [MODELS_DIR] [--runs N] [--oracle DIR] [--only NAME,...]
 *
 * With --images EVAL_DIR: the whole reader instead, on every image of
 * EVAL_DIR/manifest.tsv that has key text (optionally --only F1,F2 or
 * --domains D1,D2): PP-OCR (cap_ppocr_read) and Tesseract (cap_ocr_run
 * without PP-OCR models, the manifest's domain) on the same decoded image,
 * thread CPU time of each, PP-OCR's detector/classifier/recogniser split,
 * median and p90 of both, the per-op time of each network, peak RSS
 * (Tesseract on one OpenMP thread; --no-tesseract: PP-OCR only). */
#include "captioner_int.h"
#include "ppocr.h"
#include "runtime/runtime.h"

#include <sys/resource.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <math.h>

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

static int in_list(const char *list, const char *s)
{
    if (!list) return 1;
    size_t n = strlen(s);
    for (const char *p = list; (p = strstr(p, s)); p += n)
        if ((p == list || p[-1] == ',') && (p[n] == 0 || p[n] == ',')) return 1;
    return 0;
}

/* Resident set size now, MB (/proc/self/statm; -1 elsewhere). */
static double rss_mb(void)
{
    long pages = -1, res = -1;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f && fscanf(f, "%ld %ld", &pages, &res) != 2) res = -1;
    if (f) fclose(f);
    return res < 0 ? -1 : res * (double)sysconf(_SC_PAGESIZE) / (1 << 20);
}

static void print_profile(const cap_ppocr_state *s, int net, const char *name)
{
    const char *names[48];
    double ms[48];
    int calls[48];
    int n = cap_ppocr_state_profile_get(s, net, names, ms, calls, 48);
    double tot = 0;
    for (int i = 0; i < n && i < 48; i++) tot += ms[i];
    printf("  \"%s_ops_ms\": {\"total\": %.0f", name, tot);
    for (int i = 0; i < n && i < 48; i++) printf(", \"%s\": %.0f", names[i], ms[i]);
    printf("}");
}

static int bench_images(const char *models, const char *dir, const char *only,
                        const char *domains, bool tesseract)
{
    odx_err err = {0};
    cap_ppocr *pp = NULL;
    cap_ppocr_state *ps = NULL;
    cap_ocr *tess = NULL;
    if (cap_ppocr_load(models, &pp, &err) != ODX_OK || cap_ppocr_state_new(pp, &ps, &err) ||
        cap_ocr_new(&tess, NULL, &err) != ODX_OK) {
        fprintf(stderr, "bench_ppocr: %s\n", err.msg);
        return 1;
    }
    cap_ppocr_state_profile(ps, true);
    double rss_load = rss_mb();
    char path[8192], line[8192];
    snprintf(path, sizeof path, "%s/manifest.tsv", dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        return 1;
    }
    static double pms[4096], tms[4096];
    int n = 0;
    double sum[3] = {0};
    cap_limits lim = {100000000, 256 << 20, 0, 0};
    printf("{\n  \"threads\": 1,\n  \"images\": [\n");
    bool first = true;
    while (fgets(line, sizeof line, f) && n < 4096) {
        line[strcspn(line, "\r\n")] = 0;
        char *fld[8] = {0};
        int nf = 0;
        for (char *p = line; nf < 8;) {
            fld[nf++] = p;
            char *t = strchr(p, '\t');
            if (!t) break;
            *t = 0;
            p = t + 1;
        }
        if (nf < 6 || !strcmp(fld[0], "file") || !strcmp(fld[5], "-")) continue;
        if (!in_list(only, fld[0]) || !in_list(domains, fld[1])) continue;
        snprintf(path, sizeof path, "%s/images/%s", dir, fld[0]);
        uint8_t *data = NULL;
        size_t len = 0;
        cap_image im = {0};
        cap_header hdr = {0};
        if (core_read_file(path, 256 << 20, &data, &len, &err) != ODX_OK ||
            cap_decode(data, len, fld[0], &lim, 0, &hdr, &im, &err) != ODX_OK) {
            fprintf(stderr, "%s: %s\n", fld[0], err.msg);
            free(data);
            continue;
        }
        free(data);
        cap_ppocr_line *pl = NULL;
        int nl = 0;
        double c0 = cpu_ms();
        odx_status st = cap_ppocr_read(ps, &im, NULL, &pl, &nl, &err);
        double c1 = cpu_ms();
        if (st != ODX_OK) fprintf(stderr, "%s: ppocr: %s\n", fld[0], err.msg);
        cap_ppocr_lines_free(pl, nl);
        double rss_pp = rss_mb();
        double det, cls, rec, total;
        cap_ppocr_state_times(ps, &det, &cls, &rec, &total);
        cap_desc *d = calloc(1, sizeof *d);
        if (!d) return 1;
        d->width = im.w, d->height = im.h;
        cap_domain_parse(fld[1], &d->domain);
        double c2 = cpu_ms();
        if (tesseract && cap_ocr_run(tess, &im, d, &err) != ODX_OK)
            fprintf(stderr, "%s: tesseract: %s\n", fld[0], err.msg);
        double c3 = cpu_ms();
        cap_desc_free(d);
        pms[n] = c1 - c0, tms[n] = c3 - c2;
        sum[0] += det, sum[1] += cls, sum[2] += rec;
        printf("%s    {\"file\": \"%s\", \"domain\": \"%s\", \"size\": [%d,%d], \"lines\": %d, "
               "\"ppocr_cpu_ms\": %.0f, \"det_ms\": %.0f, \"cls_ms\": %.0f, \"rec_ms\": %.0f, "
               "\"tesseract_cpu_ms\": %.0f, \"rss_mb_after_ppocr\": %.0f, \"rss_mb_after_tesseract\": %.0f}",
               first ? "" : ",\n", fld[0], fld[1], im.w, im.h, nl, pms[n], det, cls, rec, tms[n],
               rss_pp, rss_mb());
        fflush(stdout);
        first = false;
        n++;
        cap_image_free(&im);
    }
    fclose(f);
    printf("\n  ],\n");
    if (n) {
        double a[4096], b[4096];
        memcpy(a, pms, (size_t)n * sizeof *a);
        memcpy(b, tms, (size_t)n * sizeof *b);
        qsort(a, (size_t)n, sizeof *a, cmp_d);
        qsort(b, (size_t)n, sizeof *b, cmp_d);
        int p90 = (int)(n * 0.9);
        printf("  \"n\": %d, \"ppocr_median_ms\": %.0f, \"ppocr_p90_ms\": %.0f, "
               "\"tesseract_median_ms\": %.0f, \"tesseract_p90_ms\": %.0f, "
               "\"ppocr_sum_det_cls_rec_ms\": [%.0f, %.0f, %.0f],\n",
               n, a[n / 2], a[p90], b[n / 2], b[p90], sum[0], sum[1], sum[2]);
    }
    print_profile(ps, 0, "det");
    printf(",\n");
    print_profile(ps, 1, "cls");
    printf(",\n");
    print_profile(ps, 2, "rec");
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf(",\n  \"rss_mb_after_load\": %.0f, \"peak_rss_mb\": %.0f\n}\n", rss_load,
           ru.ru_maxrss / 1024.0);
    cap_ocr_free(tess);
    cap_ppocr_state_free(ps);
    cap_ppocr_free(pp);
    return 0;
}

int main(int argc, char **argv)
{
    const char *models = getenv("OMNIDEX_MODELS"), *oracle = getenv("OMNIDEX_ORACLE");
    int runs = 5;
    const char *images = NULL, *only = NULL, *domains = NULL;
    bool tesseract = true;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--runs") && i + 1 < argc) runs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--images") && i + 1 < argc) images = argv[++i];
        else if (!strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
        else if (!strcmp(argv[i], "--domains") && i + 1 < argc) domains = argv[++i];
        else if (!strcmp(argv[i], "--no-tesseract")) tesseract = false;
        else if (!strcmp(argv[i], "--oracle") && i + 1 < argc) oracle = argv[++i];
        else models = argv[i];
    }
    if (runs < 1 || runs > 1000) runs = 5;
    if (!models) models = "models";
    /* Tesseract's OpenMP threads would work outside this thread's CPU
     * clock: one thread, as in the indexer's tests (libgomp reads the
     * variable when it loads, so the benchmark starts itself again). */
    if (images && tesseract && !getenv("ODX_BENCH_REEXEC")) {
        setenv("OMP_THREAD_LIMIT", "1", 1);
        setenv("ODX_BENCH_REEXEC", "1", 1);
        execv("/proc/self/exe", argv);
        perror("bench_ppocr: re-exec");
        return 1;
    }
    if (images) return bench_images(models, images, only, domains, tesseract);
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
        /* a batch of page-wide lines (documents: most of the OCR time) */
        {"ch_PP-OCRv4_rec_infer.onnx", "rec_6x1280", 6, 48, 1280},
    };
    printf("{\n  \"threads\": 1,\n  \"runs\": %d,\n  \"models\": [\n", runs);
    bool first = true;
    for (size_t k = 0; k < sizeof cs / sizeof cs[0]; k++) {
        if (!in_list(only, cs[k].name)) continue;
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
        double ort_cpu = -1;
        double ort = oracle_ms(oracle, path, x, n, cs[k].n, cs[k].h, cs[k].w, runs, &ort_cpu);
        /* float, then the same model with bf16 convolutions where the CPU
         * has them (tfj_model_use_bf16): speed and how far the output moves */
        float *ref = NULL;
        size_t ref_n = 0;
        double float_cpu = -1;
        for (int pass = 0; pass < 2; pass++) {
            int n_bf = 0;
            if (pass == 1) {
                tfj_state_free(s);
                s = NULL;
                if (tfj_model_use_bf16(m, &n_bf, &err) != ODX_OK ||
                    tfj_state_new(m, &s, &err) != ODX_OK) {
                    fprintf(stderr, "bench_ppocr: %s\n", err.msg);
                    return 1;
                }
                if (!n_bf) break; /* no AVX512-BF16 here */
            }
            const tfj_tensor *outs[2];
            if (tfj_run(s, &t, 1, outs, &err) != ODX_OK) { /* warm-up */
                fprintf(stderr, "bench_ppocr: %s\n", err.msg);
                return 1;
            }
            double diff = 0, scale = 0;
            if (pass == 0) {
                ref_n = (size_t)outs[0]->n;
                ref = malloc(ref_n * sizeof *ref);
                if (!ref) return 1;
                memcpy(ref, outs[0]->d.f, ref_n * sizeof *ref);
            } else {
                for (size_t i = 0; i < ref_n && i < (size_t)outs[0]->n; i++) {
                    double d = fabs((double)outs[0]->d.f[i] - ref[i]);
                    diff = d > diff ? d : diff;
                    scale = fabs(ref[i]) > scale ? fabs(ref[i]) : scale;
                }
            }
            tfj_state_profile(s, true);
            double *ms = malloc((size_t)runs * sizeof(double)), *cms = malloc((size_t)runs * sizeof(double));
            for (int i = 0; i < runs; i++) {
                double t0 = core_now(), c0 = cpu_ms();
                tfj_run(s, &t, 1, outs, &err);
                ms[i] = (core_now() - t0) * 1e3;
                cms[i] = cpu_ms() - c0;
            }
            double ours_min = cms[0];
            for (int i = 1; i < runs; i++) ours_min = cms[i] < ours_min ? cms[i] : ours_min;
            double ours = median(ms, runs), ours_cpu = median(cms, runs);
            if (pass == 0) float_cpu = ours_cpu;
            printf("%s    {\"name\": \"%s%s\", \"input\": [%d,3,%d,%d], \"cpu_min_ms\": %.2f, \"cpu_ms\": %.2f, "
                   "\"onnxruntime_cpu_ms\": %.2f, \"cpu_ratio\": %.2f, \"wall_ms\": %.2f, "
                   "\"onnxruntime_wall_ms\": %.2f, \"gmac\": %.3f, ",
                   first ? "" : ",\n", cs[k].name, pass ? "_bf16" : "", cs[k].n, cs[k].h, cs[k].w,
                   ours_min, ours_cpu, ort_cpu, ort_cpu > 0 ? ours_cpu / ort_cpu : -1, ours, ort,
                   tfj_state_last_macs(s) / 1e9);
            if (pass)
                printf("\"bf16_convs\": %d, \"float_cpu_ms\": %.2f, \"max_abs_diff_vs_float\": %.3g, "
                       "\"float_output_max_abs\": %.3g, ",
                       n_bf, float_cpu, diff, scale);
            printf("\"ops\": {");
            const char *names[48];
            double pms[48];
            int calls[48];
            int np = tfj_state_profile_get(s, names, pms, calls, 48);
            for (int i = 0; i < np && i < 48; i++)
                printf("%s\"%s\": %.2f", i ? ", " : "", names[i], pms[i] / runs);
            printf("}}");
            first = false;
            free(ms);
            free(cms);
        }
        free(ref);
        free(x);
        tfj_state_free(s);
        tfj_model_free(m);
    }
    printf("\n  ]\n}\n");
    return 0;
}

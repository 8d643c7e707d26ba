/* bench_detector.c - speed of the native NanoDet detector (captioner/detect.c
 * over the TF.js runner) on one thread, next to its arithmetic floor: one
 * plain cblas_sgemm with the same number of multiply-accumulates as the
 * network's convolutions. Prints JSON with the per-op-type breakdown.
 * Usage: bench_detector [MODELS_DIR] [--runs N] */
#include "runtime/nanodet.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int main(int argc, char **argv)
{
    const char *models = getenv("OMNIDEX_MODELS");
    int runs = 10;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--runs") && i + 1 < argc) runs = atoi(argv[++i]);
        else models = argv[i];
    }
    if (runs < 1 || runs > 1000) runs = 10;
    if (!models) models = "models";
    odx_err err = {0};
    cap_detector *det = NULL;
    cap_det_state *st = NULL;
    double t0 = core_now();
    if (cap_detector_load(models, &det, &err) != ODX_OK ||
        cap_det_state_new(det, &st, &err) != ODX_OK) {
        fprintf(stderr, "bench_detector: %s\n", err.msg);
        return 1;
    }
    double load_ms = (core_now() - t0) * 1e3;
    openblas_set_num_threads(1);

    /* a 512 x 384 synthetic photo-like image (the orchestrator's thumbnail size) */
    cap_image im = {512, 384, malloc(512 * 384 * 3)};
    for (int y = 0; y < im.h; y++)
        for (int x = 0; x < im.w; x++) {
            uint8_t *p = im.rgb + 3 * (y * im.w + x);
            p[0] = (uint8_t)(x * 255 / im.w);
            p[1] = (uint8_t)(y * 255 / im.h);
            p[2] = (uint8_t)(((x / 32) ^ (y / 32)) & 1 ? 200 : 40);
        }
    float *input = malloc(sizeof(float) * 3 * CAP_DET_SIZE * CAP_DET_SIZE);
    double *t_pre = malloc(sizeof(double) * (size_t)runs);
    double *t_net = malloc(sizeof(double) * (size_t)runs);
    double *t_dec = malloc(sizeof(double) * (size_t)runs);
    double *t_all = malloc(sizeof(double) * (size_t)runs);
    cap_det_geom g;
    const tfj_tensor *outs[6];
    cap_object objs[CAP_DET_MAX_OBJECTS];
    tfj_state *run = cap_det_state_runner(st);
    /* warm-up (first-touch allocations, BLAS buffers) */
    if (cap_det_preprocess(&im, input, &g, &err) != ODX_OK ||
        cap_det_run_raw(st, input, outs, &err) != ODX_OK) {
        fprintf(stderr, "bench_detector: %s\n", err.msg);
        return 1;
    }
    int64_t macs = tfj_state_last_macs(run);
    tfj_state_profile(run, true);
    tfj_state_profile_reset(run);
    for (int r = 0; r < runs; r++) {
        double a = core_now();
        cap_det_preprocess(&im, input, &g, &err);
        double b = core_now();
        cap_det_run_raw(st, input, outs, &err);
        double c = core_now();
        cap_det_decode(outs, &g, 0.3f, objs, CAP_DET_MAX_OBJECTS);
        double d = core_now();
        t_pre[r] = (b - a) * 1e3;
        t_net[r] = (c - b) * 1e3;
        t_dec[r] = (d - c) * 1e3;
        t_all[r] = (d - a) * 1e3;
    }
    tfj_state_profile(run, false);
    const char *names[48];
    double ms[48];
    int calls[48];
    int n_ops = tfj_state_profile_get(run, names, ms, calls, 48);

    /* the floor: one sgemm with the same MACs, M x N fixed, K fitted */
    int M = 2704, N = 128;
    int K = (int)(macs / ((int64_t)M * N));
    if (K < 1) K = 1;
    float *A = malloc(sizeof(float) * (size_t)M * K), *B = malloc(sizeof(float) * (size_t)K * N),
          *C = malloc(sizeof(float) * (size_t)M * N);
    for (size_t i = 0; i < (size_t)M * K; i++) A[i] = (float)(i % 7) * 0.1f;
    for (size_t i = 0; i < (size_t)K * N; i++) B[i] = (float)(i % 5) * 0.1f;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1, A, K, B, N, 0, C, N);
    double *t_gemm = malloc(sizeof(double) * (size_t)runs);
    for (int r = 0; r < runs; r++) {
        double a = core_now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1, A, K, B, N, 0, C, N);
        t_gemm[r] = (core_now() - a) * 1e3;
    }
    double net = median(t_net, runs), gemm = median(t_gemm, runs), total = median(t_all, runs);
    printf("{\n  \"bench\": \"detector\",\n  \"model\": \"NanoDet-g-416 (TF.js graph, %d scheduled nodes)\",\n",
           tfj_model_n_scheduled(tfj_state_model(run)));
    printf("  \"threads\": 1,\n  \"runs\": %d,\n  \"image\": \"512x384 synthetic\",\n", runs);
    printf("  \"load_ms\": %.1f,\n", load_ms);
    printf("  \"detector_ms_per_image\": %.2f,\n", total);
    printf("  \"preprocess_ms\": %.2f,\n  \"network_ms\": %.2f,\n  \"decode_ms\": %.3f,\n",
           median(t_pre, runs), net, median(t_dec, runs));
    printf("  \"conv_macs\": %lld,\n", (long long)macs);
    printf("  \"baseline_sgemm\": {\"m\": %d, \"n\": %d, \"k\": %d, \"ms\": %.2f, \"gflops\": %.1f},\n",
           M, N, K, gemm, 2.0 * M * N * (double)K / (gemm * 1e6));
    printf("  \"network_gflops\": %.1f,\n  \"network_vs_sgemm\": %.2f,\n",
           2.0 * (double)macs / (net * 1e6), net / gemm);
    printf("  \"ops_ms_per_image\": {");
    for (int i = 0; i < n_ops && i < 48; i++)
        printf("%s\n    \"%s\": {\"ms\": %.2f, \"calls\": %d}", i ? "," : "", names[i], ms[i] / runs,
               calls[i] / runs);
    printf("\n  }\n}\n");
    free(A);
    free(B);
    free(C);
    free(t_gemm);
    free(t_pre);
    free(t_net);
    free(t_dec);
    free(t_all);
    free(input);
    cap_image_free(&im);
    cap_det_state_free(st);
    cap_detector_free(det);
    return 0;
}

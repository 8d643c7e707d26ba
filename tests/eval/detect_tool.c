/* detect_tool.c - runs the native NanoDet detector on image files and prints
 * one JSON line per image in the oracle's format (shared/oracle), so
 * tests/eval/detect_eval.sh can compare labels; --dump writes the network
 * input and raw outputs like the oracle's --dump.
 * Usage: detect_tool MODELS_DIR IMAGE... [--min 0.3] [--dump DIR] */
#include "runtime/nanodet.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void dump(const char *dir, const char *base, const char *what, const float *p,
                 size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.%s.f32", dir, base, what);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, sizeof(float), n, f) != n) fprintf(stderr, "cannot write %s\n", path);
    if (f) fclose(f);
}

int main(int argc, char **argv)
{
    const char *dir = NULL;
    float thr = 0.3f;
    if (argc < 3) {
        fprintf(stderr, "usage: detect_tool MODELS_DIR IMAGE... [--min 0.3] [--dump DIR]\n");
        return 2;
    }
    odx_err err = {0};
    cap_detector *det = NULL;
    cap_det_state *st = NULL;
    if (cap_detector_load(argv[1], &det, &err) != ODX_OK ||
        cap_det_state_new(det, &st, &err) != ODX_OK) {
        fprintf(stderr, "detect_tool: %s\n", err.msg);
        return 1;
    }
    float *input = malloc(sizeof(float) * 3 * CAP_DET_SIZE * CAP_DET_SIZE);
    int rc = 0;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--min") && i + 1 < argc) { thr = (float)atof(argv[++i]); continue; }
        if (!strcmp(argv[i], "--dump") && i + 1 < argc) { dir = argv[++i]; continue; }
        uint8_t *data = NULL;
        size_t len = 0;
        cap_image im = {0};
        size_t al = strlen(argv[i]);
        if (al > 7 && !strcmp(argv[i] + al - 7, ".in.f32")) {
            /* a dumped network input: run it as is and dump the outputs */
            const tfj_tensor *outs[6];
            size_t want = sizeof(float) * 3 * CAP_DET_SIZE * CAP_DET_SIZE;
            if (core_read_file(argv[i], 1 << 26, &data, &len, &err) != ODX_OK || len != want ||
                cap_det_run_raw(st, (const float *)data, outs, &err) != ODX_OK) {
                fprintf(stderr, "%s: bad input file %s\n", argv[i], err.msg);
                free(data);
                rc = 1;
                continue;
            }
            char stem[512];
            snprintf(stem, sizeof stem, "%.*s", (int)(al - 7), argv[i]);
            static const char *const NM[6] = {"Identity", "Identity_3", "Identity_1",
                                              "Identity_4", "Identity_2", "Identity_5"};
            for (int k = 0; k < 6; k++) {
                char path[1024];
                snprintf(path, sizeof path, "%s.native", stem);
                dump(dir ? dir : ".", strrchr(path, '/') ? strrchr(path, '/') + 1 : path, NM[k],
                     outs[k]->d.f, (size_t)outs[k]->n);
            }
            free(data);
            continue;
        }
        cap_header hdr;
        cap_limits lim = {200000000, 1 << 30};
        core_err_clear(&err);
        if (core_read_file(argv[i], 1 << 30, &data, &len, &err) != ODX_OK ||
            cap_decode(data, len, argv[i], &lim, 0, &hdr, &im, &err) != ODX_OK) {
            fprintf(stderr, "%s: %s\n", argv[i], err.msg);
            free(data);
            rc = 1;
            continue;
        }
        free(data);
        cap_det_geom g;
        const tfj_tensor *outs[6];
        double t0 = core_now();
        if (cap_det_preprocess(&im, input, &g, &err) != ODX_OK ||
            cap_det_run_raw(st, input, outs, &err) != ODX_OK) {
            fprintf(stderr, "%s: %s\n", argv[i], err.msg);
            cap_image_free(&im);
            rc = 1;
            continue;
        }
        double ms = (core_now() - t0) * 1e3;
        const char *base = strrchr(argv[i], '/');
        base = base ? base + 1 : argv[i];
        char stem[256];
        snprintf(stem, sizeof stem, "%s", base);
        char *dot = strrchr(stem, '.');
        if (dot) *dot = 0;
        if (dir) {
            /* oracle names: Identity (s8 scores), _1 (s16), _2 (s32), _3.._5 boxes */
            static const char *const NM[6] = {"Identity", "Identity_3", "Identity_1",
                                              "Identity_4", "Identity_2", "Identity_5"};
            dump(dir, stem, "in", input, 3 * CAP_DET_SIZE * CAP_DET_SIZE);
            for (int k = 0; k < 6; k++) dump(dir, stem, NM[k], outs[k]->d.f, (size_t)outs[k]->n);
        }
        cap_object objs[CAP_DET_MAX_OBJECTS];
        int n = cap_det_decode(outs, &g, thr, objs, CAP_DET_MAX_OBJECTS);
        printf("{\"file\":\"%s\",\"ms\":%.0f,\"dets\":[", base, ms);
        for (int k = 0; k < n; k++)
            printf("%s{\"label\":\"%s\",\"score\":%.3f,\"box\":[%.0f,%.0f,%.0f,%.0f]}", k ? "," : "",
                   objs[k].label, objs[k].score, objs[k].x0 * im.w, objs[k].y0 * im.h,
                   objs[k].x1 * im.w, objs[k].y1 * im.h);
        printf("]}\n");
        fflush(stdout);
        cap_image_free(&im);
    }
    free(input);
    cap_det_state_free(st);
    cap_detector_free(det);
    return rc;
}

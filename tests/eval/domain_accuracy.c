/* domain_accuracy.c - measures the captioner's domain classifier on an eval
 * set (DIR/manifest.tsv + DIR/images/): overall and per-domain accuracy,
 * chart-type accuracy, a confusion matrix and each mistake. A measurement
 * tool, not a test.
 *
 * usage: domain_accuracy DIR [--ocr] [--quiet]
 * Default: decode + thumbnail + features + classify (the pre-OCR decision).
 * --ocr: the full cap_describe pipeline (classification after OCR). */
#include "captioner_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THUMB 512

static odx_status classify_file(const uint8_t *data, size_t len, const char *name,
                                cap_worker *w, cap_desc **out, odx_err *err)
{
    if (w)
        return cap_describe(w, data, len, name, out, err);
    cap_limits lim = cap_config_default().limits;
    cap_image im = {0}, th = {0};
    cap_desc *d = calloc(1, sizeof *d);
    if (!d)
        return core_err(err, ODX_ERR_NOMEM, "no memory");
    odx_status st = cap_decode(data, len, name, &lim, THUMB, &d->hdr, &im, err);
    if (st == ODX_OK)
        st = cap_image_fit(&im, THUMB, &th, err);
    if (st == ODX_OK) {
        bool swap = d->hdr.orientation >= 5;
        d->width = swap ? d->hdr.height : d->hdr.width;
        d->height = swap ? d->hdr.width : d->hdr.height;
        cap_features_compute(&th, d);
        cap_classify(d, &th);
    }
    cap_image_free(&im);
    cap_image_free(&th);
    if (st != ODX_OK) {
        cap_desc_free(d);
        return st;
    }
    *out = d;
    return ODX_OK;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s DIR [--ocr] [--quiet]\n", argv[0]);
        return 2;
    }
    bool ocr = false, quiet = false;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--ocr"))
            ocr = true;
        else if (!strcmp(argv[i], "--quiet"))
            quiet = true;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/manifest.tsv", argv[1]);
    FILE *m = fopen(path, "r");
    if (!m) {
        perror(path);
        return 2;
    }
    cap_engine *eng = NULL;
    cap_worker *wk = NULL;
    odx_err err = {0};
    if (ocr) {
        cap_config cfg = cap_config_default();
        cfg.detect = false;
        if (cap_engine_new(&cfg, &eng, &err) != ODX_OK ||
            cap_worker_new(eng, &wk, &err) != ODX_OK) {
            fprintf(stderr, "engine: %s\n", err.msg);
            return 2;
        }
    }
    int conf[CAP_N_DOMAINS][CAP_N_DOMAINS] = {{0}};
    int n = 0, ok = 0, ct_n = 0, ct_ok = 0, failed = 0;
    double ms = 0;
    char line[16384];
    bool header = true;
    while (fgets(line, sizeof line, m)) {
        if (header) {
            header = false;
            continue;
        }
        char *save = NULL;
        char *file = strtok_r(line, "\t\n", &save);
        char *dom = strtok_r(NULL, "\t\n", &save);
        char *ct = strtok_r(NULL, "\t\n", &save);
        cap_domain truth;
        if (!file || !dom || !cap_domain_parse(dom, &truth))
            continue;
        snprintf(path, sizeof path, "%s/images/%s", argv[1], file);
        uint8_t *data = NULL;
        size_t len = 0;
        odx_err e = {0};
        cap_desc *d = NULL;
        double t0 = core_now();
        if (core_read_file(path, 1LL << 30, &data, &len, &e) != ODX_OK ||
            classify_file(data, len, file, wk, &d, &e) != ODX_OK) {
            printf("FAIL %s: %s\n", file, e.msg);
            failed++;
            free(data);
            continue;
        }
        ms += (core_now() - t0) * 1e3;
        n++;
        conf[truth][d->domain]++;
        if (d->domain == truth)
            ok++;
        else if (!quiet)
            printf("miss %-10s %-10s -> %-10s conf %.2f  noise %.2f ncol %.2f white %.2f "
                   "tl %.2f lines %d hr %d vr %d grid %.2f axis %.2f sect %.2f\n",
                   file, dom, cap_domain_name(d->domain), d->domain_conf, d->feat.noise,
                   d->feat.n_colors, d->feat.white_share, d->feat.text_likeness,
                   d->feat.n_text_lines, d->feat.n_h_rules, d->feat.n_v_rules,
                   d->feat.grid_score, d->feat.axis_score, d->feat.sector_score);
        if (truth == CAP_CHART && ct && strcmp(ct, "-") != 0) {
            ct_n++;
            if (!strcmp(ct, d->chart_type))
                ct_ok++;
            else if (!quiet)
                printf("type %-10s %-8s -> '%s'\n", file, ct, d->chart_type);
        }
        cap_desc_free(d);
        free(data);
    }
    fclose(m);
    printf("\n%s: %d/%d = %.1f%% overall (%d failed), chart type %d/%d, %.1f ms/image\n",
           ocr ? "post-OCR" : "pre-OCR", ok, n, n ? 100.0 * ok / n : 0, failed, ct_ok, ct_n,
           n ? ms / n : 0);
    printf("%-11s %5s", "truth\\got", "acc");
    for (int j = 0; j < CAP_N_DOMAINS; j++)
        printf(" %5.5s", cap_domain_name((cap_domain)j));
    printf("\n");
    for (int i = 0; i < CAP_N_DOMAINS; i++) {
        int tot = 0;
        for (int j = 0; j < CAP_N_DOMAINS; j++)
            tot += conf[i][j];
        printf("%-11s %4.0f%%", cap_domain_name((cap_domain)i),
               tot ? 100.0 * conf[i][i] / tot : 0);
        for (int j = 0; j < CAP_N_DOMAINS; j++)
            printf(" %5d", conf[i][j]);
        printf("\n");
    }
    cap_worker_free(wk);
    cap_engine_free(eng);
    return 0;
}

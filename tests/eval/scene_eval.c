/* scene_eval.c - prints the scene cues of captioner/scene.c for every image
 * of an eval set (DIR/manifest.tsv + DIR/images/) with the manifest's
 * description beside them, to judge precision by eye. A measurement tool,
 * not a test.
 *
 * usage: scene_eval DIR [--all] [--raw]
 * Default: photos only (by the manifest); --all: every image; --raw: every
 * score, not only those >= 0.35. Also prints thread-CPU time per image. */
#include "captioner_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


static double cpu_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: scene_eval DIR [--all] [--raw]\n");
        return 2;
    }
    bool all = false, raw = false;
    for (int i = 2; i < argc; i++) {
        all |= !strcmp(argv[i], "--all");
        raw |= !strcmp(argv[i], "--raw");
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/manifest.tsv", argv[1]);
    FILE *m = fopen(path, "r");
    if (!m) {
        fprintf(stderr, "cannot open '%s'\n", path);
        return 1;
    }
    char line[8192];
    double ms_sum = 0, ms_max = 0;
    int n = 0;
    while (fgets(line, sizeof line, m)) {
        char *col[6] = {0};
        int nc = 0;
        for (char *p = line, *t; nc < 6 && (t = strsep(&p, "\t"));)
            col[nc++] = t;
        if (nc < 5 || !strcmp(col[0], "file"))
            continue;
        if (!all && strcmp(col[1], "photo"))
            continue;
        snprintf(path, sizeof path, "%s/images/%s", argv[1], col[0]);
        uint8_t *data = NULL;
        size_t len = 0;
        odx_err e = {0};
        if (core_read_file(path, 256LL << 20, &data, &len, &e) != ODX_OK) {
            fprintf(stderr, "%s\n", e.msg);
            continue;
        }
        cap_limits lim = cap_config_default().limits;
        cap_image full = {0}, thumb = {0};
        cap_desc *d = calloc(1, sizeof *d);
        if (!d || cap_decode_thumb(data, len, col[0], &lim, d, &thumb, &full, &e) != ODX_OK) {
            fprintf(stderr, "%s: %s\n", col[0], e.msg);
            goto next;
        }
        cap_features_compute(&thumb, d);
        double t = cpu_ms();
        cap_scene_compute(&thumb, d);
        t = cpu_ms() - t;
        ms_sum += t;
        if (t > ms_max)
            ms_max = t;
        n++;
        const cap_features *f = &d->feat;
        struct { const char *name; float v; } cue[] = {
            {"snow", f->sc_snow},       {"autumn", f->sc_autumn},
            {"forest", f->sc_forest},   {"grass", f->sc_grass},
            {"clear_sky", f->sc_clear_sky}, {"clouds", f->sc_clouds},
            {"overcast", f->sc_overcast}, {"storm", f->sc_storm},
            {"reflection", f->sc_reflection}, {"sunset", f->sc_sunset},
            {"night", f->sc_night_lights}, {"stars", f->sc_stars},
            {"macro", f->sc_macro},     {"pattern", f->sc_pattern},
            {"mono", f->sc_mono},       {"colourful", f->sc_colourful},
            {"high_key", f->sc_high_key}, {"low_key", f->sc_low_key},
            {"panorama", f->sc_panorama}, {"vertical", f->sc_vertical},
            {"white_bg", f->sc_white_bg}, {"black_bg", f->sc_black_bg},
        };
        printf("%s %4dx%-4d", col[0], thumb.w, thumb.h);
        for (size_t i = 0; i < sizeof cue / sizeof *cue; i++)
            if (raw || cue[i].v >= 0.35f)
                printf(" %s=%.2f", cue[i].name, cue[i].v);
        if (f->sc_hue_share > 0)
            printf(" mostly_%s=%.2f", cap_scene_hue_name(f->sc_hue, CAP_EN), f->sc_hue_share);
        printf("\n    [%s] %s\n", col[1], col[4]);
    next:
        cap_image_free(&full);
        cap_image_free(&thumb);
        cap_desc_free(d);
        free(data);
    }
    fclose(m);
    printf("scene cues: %d images, %.2f ms mean, %.2f ms max (thread CPU)\n", n,
           n ? ms_sum / n : 0, ms_max);
    return 0;
}

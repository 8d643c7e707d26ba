/* ocr_eval.c - measures the captioner's OCR and table reading on an eval set
 * (manifest.tsv with key_text): key-text recall (en / zh separately), table
 * column counts, OCR ms per image. A measurement tool, not a test.
 *
 * usage: ocr_eval EVAL_DIR [--classify] [--all] [--mode auto|mix|eng]
 *                 [--target PX] [--only FILE,...] [--lang en,zh,...] [--verbose]
 *                 [--cols FILE=N ...] [--table-psm N] [--knee G] [--min-conf C]
 *                 [--reread-conf C] [--reread-max N] [--reread-px PX] [--invert-dark 0|1]
 *                 [--reader tesseract|ppocr|auto] [--models DIR] [--rec-batch-cols N]
 *                 [--rec-min-ratio R] [--gap-rel K] [--box-thresh T] [--det-max-side PX]
 *                 [--det-small-h PX] [--det-big-side PX]
 *                 [--det-up F] [--rec-max-w COLS] [--drop-score S] [--no-cls]
 *                 [--diagram-up F] [--look-side PX] [--look-min-h PX] [--look-max-h PX]
 *                 [--look-min-score S] [--look-all | --look-only] [--no-layout]
 * --no-layout: text as read, rows across columns (no cap_layout_text).
 * --reader picks the text reader (auto: by domain, as the captioner does);
 * PP-OCR models from --models, else $OMNIDEX_MODELS, else ./models.
 * --rec-batch-cols: most recogniser columns in one batch (huge: always 6
 * lines, the batching before 2026-12-03).
 * --rec-min-ratio: narrowest recogniser input as width/height (6.667: pad
 * every batch to 320 columns, as PaddleOCR does).
 * --gap-rel K: a word gap between Latin marks is at least K times the
 * line's letter spacing (ppocr.c find_gaps; 0: a quarter height alone).
 * --all also walks images without key text (photos), for the OCR-ran share.
 * Without --classify the manifest's domain is given to OCR (measures OCR
 * alone); with it, the captioner's own features + classifier decide (the
 * real pipeline, including its OCR gate and the text look on photos).
 * --look-*: the look's settings (cap_ocr_params); --look-all looks at
 * every image the gate did not (its statistics printed a line each),
 * --look-only as well and then reads nothing. */
#include "captioner_int.h"
#include "ppocr.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}


/* Lower-cases ASCII, folds fullwidth ASCII forms (U+FF01..FF5E, as NFKC
 * does in the embedder) and drops whitespace, so "Passengers (thousands)"
 * matches across line breaks, Tesseract's spacing and bracket widths. */
static char *squash(const char *s)
{
    size_t n = strlen(s);
    char *o = malloc(n + 1), *p = o;
    for (size_t i = 0; i < n;) {
        int32_t cp;
        int k = core_utf8_next(s + i, n - i, &cp);
        if (cp >= 0xFF01 && cp <= 0xFF5E) {
            cp -= 0xFEE0;
            *p++ = (char)tolower((int)cp);
        } else if (cp < 128) {
            if (!isspace((int)cp))
                *p++ = (char)tolower((int)cp);
        } else if (cp != 0x3000) {
            memcpy(p, s + i, (size_t)k);
            p += k;
        }
        i += (size_t)k;
    }
    *p = 0;
    return o;
}

static cap_domain parse_domain(const char *s)
{
    cap_domain d = CAP_PHOTO;
    cap_domain_parse(s, &d);
    return d;
}

typedef struct colspec {
    char file[64];
    int cols;
} colspec;

int main(int argc, char **argv)
{
    bool look_all = false; /* look at every image, for the look's statistics */
    bool look_only = false; /* and read none */
    if (argc < 2) {
        fprintf(stderr, "usage: %s EVAL_DIR [--classify] [--mode auto|mix|eng] "
                        "[--target PX] [--only FILE] [--verbose] [--cols FILE=N]...\n",
                argv[0]);
        return 2;
    }
    const char *dir = argv[1];
    const char *models = getenv("OMNIDEX_MODELS");
    bool reader_set = false;
    int want_reader = 0;
    /* the engine's tuning, the reader from OMNIDEX_OCR; flags change it */
    cap_ocr_params prm = cap_ocr_params_default();
    cap_ocr_params_env(&prm);
    bool classify = false, verbose = false, all = false, layout = true;
    int n_columns = 0; /* images whose text cap_layout_text rejoined */
    int n_again = 0;   /* images PP-OCR detected again for small text */
    const char *only = NULL, *lang = NULL;
    colspec cols[64];
    int n_cols = 0;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--all"))
            all = true;
        else if (!strcmp(argv[i], "--classify"))
            classify = true;
        else if (!strcmp(argv[i], "--verbose"))
            verbose = true;
        else if (!strcmp(argv[i], "--no-layout"))
            layout = false;
        else if (!strcmp(argv[i], "--mode") && i + 1 < argc) {
            i++;
            prm.mode = !strcmp(argv[i], "auto") ? 0 : !strcmp(argv[i], "eng") ? 2 : 1;
        } else if (!strcmp(argv[i], "--target") && i + 1 < argc)
            prm.target_px = (float)atof(argv[++i]);
        else if (!strcmp(argv[i], "--table-psm") && i + 1 < argc)
            prm.table_psm = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--min-conf") && i + 1 < argc)
            prm.min_conf = (float)atof(argv[++i]);
        else if (!strcmp(argv[i], "--sparse-domains") && i + 1 < argc)
            prm.sparse_domains = (unsigned)strtoul(argv[++i], NULL, 0);
        else if (!strcmp(argv[i], "--reread-conf") && i + 1 < argc)
            prm.reread_conf = (float)atof(argv[++i]);
        else if (!strcmp(argv[i], "--invert-dark") && i + 1 < argc)
            prm.invert_dark = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reread-max") && i + 1 < argc)
            prm.reread_max = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--reread-px") && i + 1 < argc)
            prm.reread_px = (float)atof(argv[++i]);
        else if (!strcmp(argv[i], "--reader") && i + 1 < argc) {
            i++;
            want_reader = !strcmp(argv[i], "tesseract") ? 1 : !strcmp(argv[i], "ppocr") ? 2 : 0;
            reader_set = true;
        } else if (!strcmp(argv[i], "--models") && i + 1 < argc)
            models = argv[++i];
        else if (!strcmp(argv[i], "--rec-batch-cols") && i + 1 < argc)
            prm.ppocr.rec_batch_cols = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--rec-min-ratio") && i + 1 < argc)
            prm.ppocr.rec_min_ratio = (float)atof(argv[++i]);
        else if (!strcmp(argv[i], "--box-thresh") && i + 1 < argc)
            prm.ppocr.box_thresh = (float)atof(argv[++i]);
        else if (!strcmp(argv[i], "--det-max-side") && i + 1 < argc)
            prm.ppocr.det_max_side = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--det-small-h") && i + 1 < argc)
            prm.ppocr.det_small_h = (float)atof(argv[++i]);
        else if (!strcmp(argv[i], "--det-big-side") && i + 1 < argc)
            prm.ppocr.det_big_side = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--det-up") && i + 1 < argc)
            prm.ppocr.det_up = (float)atof(argv[++i]);
        else if (!strcmp(argv[i], "--rec-max-w") && i + 1 < argc)
            prm.ppocr.rec_max_w = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--diagram-up") && i + 1 < argc)
            prm.diagram_up = (float)atof(argv[++i]);
        else if (!strcmp(argv[i], "--look-side") && i + 1 < argc)
            prm.look_side = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--look-min-h") && i + 1 < argc)
            prm.look_min_h = (float)atof(argv[++i]);
        else if (!strcmp(argv[i], "--look-max-h") && i + 1 < argc)
            prm.look_max_h = (float)atof(argv[++i]);
        else if (!strcmp(argv[i], "--look-all"))
            look_all = true;
        else if (!strcmp(argv[i], "--look-only"))
            look_all = look_only = true;
        else if (!strcmp(argv[i], "--look-min-score") && i + 1 < argc)
            prm.look_min_score = (float)atof(argv[++i]);
        else if (!strcmp(argv[i], "--drop-score") && i + 1 < argc)
            prm.ppocr.drop_score = (float)atof(argv[++i]);
        else if (!strcmp(argv[i], "--no-cls"))
            prm.ppocr.use_cls = false;
        else if (!strcmp(argv[i], "--gap-rel") && i + 1 < argc)
            prm.ppocr.gap_rel = (float)atof(argv[++i]);
        else if (!strcmp(argv[i], "--knee") && i + 1 < argc)
            prm.knee = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--lang") && i + 1 < argc)
            lang = argv[++i];
        else if (!strcmp(argv[i], "--only") && i + 1 < argc)
            only = argv[++i];
        else if (!strcmp(argv[i], "--cols") && i + 1 < argc && n_cols < 64) {
            const char *a = argv[++i], *eq = strchr(a, '=');
            if (eq && (size_t)(eq - a) < sizeof cols[0].file) {
                memcpy(cols[n_cols].file, a, (size_t)(eq - a));
                cols[n_cols].file[eq - a] = 0;
                cols[n_cols].cols = atoi(eq + 1);
                n_cols++;
            }
        }
    }
    char path[4096 + 8192];
    snprintf(path, sizeof path, "%s/manifest.tsv", dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        perror(path);
        return 1;
    }
    odx_err err = {0};
    cap_ocr *ocr = NULL;
    double t_init = core_now();
    if (reader_set) /* the flag wins over OMNIDEX_OCR */
        prm.reader = want_reader;
    if (cap_ocr_new(&ocr, &prm, &err) != ODX_OK) {
        fprintf(stderr, "ocr: %s\n", err.msg);
        return 1;
    }
    cap_ppocr *pp = NULL;
    if (prm.reader != 1) {
        if (cap_ppocr_load(models ? models : "models", &pp, &err) != ODX_OK) {
            fprintf(stderr, "ppocr: %s\n", err.msg);
            return 1;
        }
        cap_ocr_set_ppocr(ocr, pp);
    }
    printf("ocr init: %.0f ms (reader %s)\n", (core_now() - t_init) * 1e3,
           prm.reader == 1 ? "tesseract" : prm.reader == 2 ? "ppocr" : "auto");
    double *key_ms = calloc(100000, sizeof(double));
    int n_key_ms = 0;
    cap_limits lim = {100000000, 256 << 20};
    char line[8192];
    int items[2] = {0}, found[2] = {0}, found0[2] = {0}, n_img = 0, n_ran = 0;
    int n_look = 0, n_look_yes = 0;
    double look_ms = 0;
    int n_tab = 0, n_tab_ok = 0;
    double ms_sum[CAP_N_DOMAINS] = {0};
    int ms_n[CAP_N_DOMAINS] = {0};
    bool header = true;
    while (fgets(line, sizeof line, f)) {
        if (header) {
            header = false;
            continue;
        }
        line[strcspn(line, "\r\n")] = 0;
        char *fld[8] = {0};
        int nf = 0;
        for (char *p = line; nf < 8;) {
            fld[nf++] = p;
            char *t = strchr(p, '\t');
            if (!t)
                break;
            *t = 0;
            p = t + 1;
        }
        if (nf < 6)
            continue;
        const char *file = fld[0], *dom = fld[1], *key = fld[5];
        if ((only && !strstr(only, file)) || (lang && !strstr(lang, fld[3])))
            continue;
        bool is_table = !strcmp(dom, "table");
        if (!strcmp(key, "-") && !is_table && !all)
            continue;
        snprintf(path, sizeof path, "%s/images/%s", dir, file);
        uint8_t *data = NULL;
        size_t len = 0;
        err = (odx_err){0};
        if (core_read_file(path, 256 << 20, &data, &len, &err) != ODX_OK) {
            fprintf(stderr, "%s: %s\n", file, err.msg);
            continue;
        }
        cap_desc *d = calloc(1, sizeof *d);
        cap_image full = {0};
        if (cap_decode(data, len, file, &lim, 0, &d->hdr, &full, &err) != ODX_OK) {
            fprintf(stderr, "%s: %s\n", file, err.msg);
            free(data);
            free(d);
            continue;
        }
        free(data);
        d->width = full.w;
        d->height = full.h;
        bool run = true;
        if (classify) {
#ifdef OCR_EVAL_CLASSIFY
            cap_image thumb = {0};
            cap_image_fit(&full, CAP_THUMB_SIDE, &thumb, &err);
            cap_features_compute(&thumb, d);
            cap_classify(d, &thumb, cap_dom_model_env());
            bool was = cap_ocr_wanted(d);
            double lms = 0;
            run = cap_ocr_gate(ocr, &thumb, d, &lms);
            if (look_all && !lms) /* the gate did not look: look anyway */
                run = cap_ocr_look(ocr, &thumb, d, &lms) || run;
            if (lms > 0) {
                const cap_ocr_stats *ls = cap_ocr_last_stats(ocr);
                look_ms += lms;
                n_look++;
                n_look_yes += run;
                printf("%s look: %s%s boxes=%d h=%.1f score=%.2f %.0f ms\n", file,
                       run ? "read" : "skip", was ? " (features: read)" : "", ls->look_boxes,
                       ls->look_h, ls->look_score, lms);
                if (look_only) run = false;
            }
            cap_image_free(&thumb);
#endif
        } else {
            d->domain = parse_domain(dom);
            if (!strcmp(fld[2], "bar") || !strcmp(fld[2], "line") ||
                !strcmp(fld[2], "pie") || !strcmp(fld[2], "scatter"))
                snprintf(d->chart_type, sizeof d->chart_type, "%s", fld[2]);
        }
        n_img++;
        char *before = NULL; /* the text before cap_layout_text */
        double t = core_now();
        if (run) {
            n_ran++;
            if (cap_ocr_run(ocr, &full, d, &err) != ODX_OK)
                fprintf(stderr, "%s: ocr: %s\n", file, err.msg);
            /* as the captioner does once the domain is known */
            before = layout && d->text ? strdup(d->text) : NULL;
            if (layout)
                cap_layout_text(d);
            if (before && d->text && strcmp(before, d->text) != 0) {
                n_columns++;
                if (verbose)
                    printf("%s: read in columns\n", file);
            }
        }
        double ms = (core_now() - t) * 1e3;
        ms_sum[d->domain] += ms;
        ms_n[d->domain]++;
        if (run && strcmp(key, "-") && key_ms && n_key_ms < 100000) key_ms[n_key_ms++] = ms;
        char *txt = squash(d->text ? d->text : "");
        char *txt0 = before ? squash(before) : NULL;
        free(before);
        int miss = 0;
        if (strcmp(key, "-")) {
            char *kt = strdup(key), *save = NULL;
            for (char *k = strtok_r(kt, ";", &save); k; k = strtok_r(NULL, ";", &save)) {
                char *sk = squash(k);
                if (!*sk) {
                    free(sk);
                    continue;
                }
                int zh = core_has_cjk(k) ? 1 : 0;
                items[zh]++;
                found0[zh] += strstr(txt0 ? txt0 : txt, sk) != NULL;
                if (strstr(txt, sk))
                    found[zh]++;
                else {
                    miss++;
                    if (verbose)
                        printf("  MISS %s [%s]\n", file, k);
                }
                free(sk);
            }
            free(kt);
        }
        free(txt0);
        cap_structure(d, &full);
        if (verbose) {
            printf("%s structure: title=[%s] x=[%s] y=[%s] bars=%d legend=%d ticks=%d "
                   "cols=%d ui=%d\n",
                   file, d->title ? d->title : "", d->x_label ? d->x_label : "",
                   d->y_label ? d->y_label : "", d->n_bars, d->n_legend, d->n_ticks,
                   d->n_text_columns, d->n_ui_words);
            if (cap_compose(d, &err) == ODX_OK)
                printf("%s caption.en: %s\n%s caption.zh: %s\n", file,
                       d->caption[CAP_DETAILED][CAP_EN], file, d->caption[CAP_DETAILED][CAP_ZH]);
        }
        if (is_table) {
            int want = 0;
            for (int c = 0; c < n_cols; c++)
                if (!strcmp(cols[c].file, file))
                    want = cols[c].cols;
            if (want) {
                n_tab++;
                if (d->table_md && d->n_cols == want)
                    n_tab_ok++;
            }
            printf("%s table: %d x %d (want cols %d)%s\n", file, d->n_rows, d->n_cols,
                   want, want && d->n_cols != want ? "  WRONG" : "");
            if (verbose && d->table_md)
                printf("%.1500s\n", d->table_md);
        }
        const cap_ocr_stats *ls = cap_ocr_last_stats(ocr);
        printf("%s %-10s ocr %6.0f ms  %dx%d x%.2f passes=%d reread=%d/%d/%d%s lang=%s "
               "conf=%.0f lines=%d miss=%d det_h=%.1f%s manifest=%s/%s\n",
               file, cap_domain_name(d->domain), ms, full.w, full.h, ls->scale, ls->passes,
               ls->rereads, ls->replaced, ls->added, ls->inverted ? " inverted" : "",
               d->text_lang, d->text_conf, d->n_lines, miss, ls->det_h,
               ls->det_again ? " (again, larger)" : "", dom, fld[3]);
        n_again += run && ls->det_again;
        if (verbose)
            printf("----\n%.2000s\n----\n", d->text ? d->text : "");
        free(txt);
        cap_image_free(&full);
        cap_desc_free(d);
    }
    fclose(f);
    if (n_look)
        printf("\ntext look on %d images: %d read, %.0f ms/look\n",
               n_look, n_look_yes, look_ms / n_look);
    printf("\nkey_text recall: en %d/%d = %.1f%%, zh %d/%d = %.1f%%\n", found[0], items[0],
           items[0] ? 100.0 * found[0] / items[0] : 0, found[1], items[1],
           items[1] ? 100.0 * found[1] / items[1] : 0);
    printf("detected again for small text: %d images\n", n_again);
    if (layout)
        printf("read in columns: %d images; key_text without that: en %d, zh %d\n", n_columns,
               found0[0], found0[1]);
    if (n_tab)
        printf("tables with right column count: %d/%d = %.1f%%\n", n_tab_ok, n_tab,
               100.0 * n_tab_ok / n_tab);
    printf("OCR ran on %d/%d images\n", n_ran, n_img);
    for (int i = 0; i < CAP_N_DOMAINS; i++)
        if (ms_n[i])
            printf("  %-10s %3d images, OCR %.0f ms/image\n", cap_domain_name(i), ms_n[i],
                   ms_sum[i] / ms_n[i]);
    if (n_key_ms) {
        qsort(key_ms, (size_t)n_key_ms, sizeof *key_ms, cmp_dbl);
        printf("OCR time on %d images with key text: median %.0f ms, p90 %.0f ms\n", n_key_ms,
               key_ms[n_key_ms / 2], key_ms[(int)(n_key_ms * 0.9)]);
    }
    free(key_ms);
    cap_ocr_free(ocr);
    cap_ppocr_free(pp);
    return 0;
}

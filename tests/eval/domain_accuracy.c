/* domain_accuracy.c - measures the captioner's domain classifier on an eval
 * set (DIR/manifest.tsv + DIR/images/): overall and per-domain accuracy,
 * chart-type accuracy, confusion matrices and each mistake, before and after
 * OCR. A measurement tool, not a test.
 *
 * usage: domain_accuracy DIR [--ocr] [--cache CACHEDIR] [--only FILE]
 *                        [--quiet] [--verbose] [--ppocr] [--ocr-share P]
 *                        [--dump FILE] [--shard K/N]
 * Default: decode + thumbnail + features + classify (the pre-OCR decision).
 * --ocr: also the decision after OCR, with the stages in the order of
 *   cap_describe (captioner.c): the same decode/thumbnail, the same OCR gate.
 * --cache: keeps each image's OCR result in CACHEDIR keyed by the file's
 *   SHA-256 and the pre-OCR domain (OCR's page mode depends on it), so that
 *   classifier iterations do not re-run Tesseract (~2 s/image). Delete the
 *   folder when ocr.c changes.
 * --ppocr: lends the PP-OCR models (OMNIDEX_MODELS, else ./models) to OCR,
 *   so that each image is read by the reader cap_describe would choose
 *   (without it Tesseract reads all).
 * --ocr-share P: OCR only the images whose file name hashes into the first
 *   P percent (a fixed subset, for a corpus too large to read whole).
 * --dump FILE: writes, per image, the classifier's input vectors
 *   (cap_domain_features: the visual features before OCR, the text features
 *   after it, zeros where OCR did not run), the feature dump that
 *   captioner/tools/dom_fit fits the domain model on.
 * --shard K/N: only the manifest's rows K, K+N, K+2N... (0 <= K < N), so
 *   that N processes sharing one --cache read a large corpus in parallel;
 *   a last run without --shard then finds every OCR result cached. */
#include "captioner_int.h"
#include "domain_model.h"
#include "ppocr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>


static bool print_all; /* --all: the feature line of every image */

typedef struct acc_tally {
    int conf[CAP_N_DOMAINS][CAP_N_DOMAINS];
    int n, ok, ct_n, ct_ok;
} acc_tally;

/* Thread CPU milliseconds: the machines these run on are shared, and wall
 * time there measures the neighbours as much as the features. */
static double cpu_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* ------------------------------------------------------- OCR cache ---- */

/* Named by content and the domain it was read for; photos and figures
 * also by reader (they moved from Tesseract to PP-OCR on 2026-12-07, and
 * the older entries, read by Tesseract, keep their names). */
static void cache_path(const char *dir, const uint8_t *data, size_t len, cap_domain pre,
                       bool pp, char *out, size_t n)
{
    char hex[65];
    core_sha256_hex(data, len, hex);
    bool tag = pp && (pre == CAP_PHOTO || pre == CAP_DIAGRAM);
    snprintf(out, n, "%s/%s.%s%s.ocr", dir, hex, cap_domain_name(pre), tag ? "-pp" : "");
}

/* Format: "ODXOCR1 <n_lines> <text_conf> <lang>\n", then per line
 * "x y w h conf\t<text>\n", then d->text verbatim to the end. */
static bool cache_load(const char *path, cap_desc *d)
{
    uint8_t *buf = NULL;
    size_t len = 0;
    odx_err e = {0};
    if (core_read_file(path, 64LL << 20, &buf, &len, &e) != ODX_OK)
        return false;
    char *p = (char *)buf, *nl;
    int n = 0;
    float tc = 0;
    char lang[8] = "";
    bool ok = false;
    if (sscanf(p, "ODXOCR1 %d %f %7s", &n, &tc, lang) < 2 || n < 0 || n > 100000)
        goto done;
    if (!strcmp(lang, "-"))
        lang[0] = 0;
    if (!(nl = strchr(p, '\n')))
        goto done;
    p = nl + 1;
    d->lines = calloc((size_t)n + 1, sizeof *d->lines);
    if (!d->lines)
        goto done;
    for (int i = 0; i < n; i++) {
        cap_text_line *l = &d->lines[i];
        char *tab = strchr(p, '\t');
        if (!tab || !(nl = strchr(tab, '\n')))
            goto done;
        if (sscanf(p, "%d %d %d %d %f", &l->x, &l->y, &l->w, &l->h, &l->conf) != 5)
            goto done;
        l->text = core_sprintf("%.*s", (int)(nl - tab - 1), tab + 1);
        d->n_lines = i + 1;
        p = nl + 1;
    }
    d->text = core_strdup(p);
    d->text_conf = tc;
    snprintf(d->text_lang, sizeof d->text_lang, "%s", lang);
    d->ocr_ran = true;
    ok = true;
done:
    free(buf);
    return ok;
}

static void cache_save(const char *path, const cap_desc *d)
{
    core_buf b;
    core_buf_init(&b, 64u << 20);
    core_buf_printf(&b, "ODXOCR1 %d %.3f %s\n", d->n_lines, d->text_conf,
                    d->text_lang[0] ? d->text_lang : "-");
    for (int i = 0; i < d->n_lines; i++) {
        const cap_text_line *l = &d->lines[i];
        core_buf_printf(&b, "%d %d %d %d %.2f\t", l->x, l->y, l->w, l->h, l->conf);
        for (const char *s = l->text ? l->text : ""; *s; s++)
            core_buf_append(&b, *s == '\n' || *s == '\t' ? " " : s, 1);
        core_buf_puts(&b, "\n");
    }
    core_buf_puts(&b, d->text ? d->text : "");
    odx_err e = {0};
    if (!b.overflow && core_write_atomic(path, b.data, b.len, &e) != ODX_OK)
        fprintf(stderr, "cache: %s\n", e.msg);
    core_buf_free(&b);
}

/* ------------------------------------------------------------ stages ---- */

typedef struct acc_run {
    cap_ocr *ocr;         /* NULL: pre-OCR only */
    const char *cache;    /* NULL: no cache */
    double ms_feat;       /* features + classify, summed */
    double ms_ocr;
    int n_ocr, n_cached;
    bool verbose;         /* print the layout statistics of every image */
    int ocr_share;        /* percent of images OCR runs on (100: all) */
    FILE *dump;           /* --dump */
    const char *truth;    /* the image's domain in the manifest, for the dump */
    cap_dom_model dom;    /* the model that decides (OMNIDEX_DOMAIN, as the engine) */
} acc_run;

static unsigned name_bucket(const char *s)
{
    unsigned h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h % 100;
}

/* Pre-OCR decision in *pre; with OCR, the post-OCR decision in *post. */
static odx_status classify_file(acc_run *r, const uint8_t *data, size_t len, const char *name,
                                cap_desc **pre_out, cap_desc **post_out, odx_err *err)
{
    cap_limits lim = cap_config_default().limits;
    cap_image full = {0}, thumb = {0};

    cap_desc *d = calloc(1, sizeof *d), *pre = calloc(1, sizeof *pre);
    odx_status st = ODX_OK;
    if (!d || !pre) {
        st = core_err(err, ODX_ERR_NOMEM, "no memory");
        goto done;
    }
    /* the pixels cap_describe works on */
    st = cap_decode_thumb(data, len, name, &lim, d, &thumb, &full, err);
    if (st != ODX_OK)
        goto done;
    double t = cpu_ms();
    cap_features_compute(&thumb, d);
    cap_classify(d, &thumb, r->dom);
    r->ms_feat += cpu_ms() - t;
    if (r->verbose) {
        cap_layout L;
        cap_layout_compute(&thumb, &L);
        printf("%-10s %4dx%-4d pre %-10s gut %d solid %d/%.3f curves %d blobs %d frames %d "
               "cink %.2f rows %d trows %d cols %d box %.2f/%.2f lab %d %d rowh %.3f big %d margin %.2f bigg %d\n",
               name, thumb.w, thumb.h, cap_domain_name(d->domain), L.n_gutters, L.n_solid,
               L.solid_share, L.n_curves, L.n_blobs, L.n_frames, L.color_ink, L.n_rows,
               L.n_table_rows, L.max_cols, L.box_area, L.box_ink, L.n_left_labels,
               L.n_bottom_labels, L.row_h, L.n_big_rows, L.margin_even, L.n_big_glyphs);
    }
    *pre = *d;
    pre->lines = NULL;
    pre->text = NULL;
    float vis[DOM_NV], txt[DOM_NT];
    if (r->dump)
        cap_domain_features(d, &thumb, vis, txt);
    if (r->ocr && (int)name_bucket(name) < r->ocr_share && cap_ocr_gate(r->ocr, &thumb, d, NULL)) {
        char cpath[4096] = "";
        if (r->cache)
            cache_path(r->cache, data, len, d->domain, cap_ocr_uses_ppocr(r->ocr, d), cpath,
                       sizeof cpath);
        if (cpath[0] && cache_load(cpath, d)) {
            r->n_cached++;
        } else {
            const cap_image *pixels = NULL;
            st = cap_full_image(data, len, name, &lim, d, &thumb, &full, &pixels, err);
            if (st != ODX_OK)
                goto done;
            double t2 = core_now();
            st = cap_ocr_run(r->ocr, pixels, d, err);
            if (st != ODX_OK)
                goto done;
            r->ms_ocr += (core_now() - t2) * 1e3;
            r->n_ocr++;
            if (cpath[0])
                cache_save(cpath, d);
        }
        cap_classify(d, &thumb, r->dom);
        if (r->dump) {
            float v2[DOM_NV];
            cap_domain_features(d, &thumb, v2, txt);
        }
        if (r->verbose) {
            float sc[CAP_N_DOMAINS];
            cap_domain_scores(d, &thumb, r->dom, sc);
            printf("%-10s post", name);
            for (int k = 0; k < CAP_N_DOMAINS; k++)
                printf(" %.5s %.2f", cap_domain_name((cap_domain)k), sc[k]);
            printf("\n");
        }
    }
    if (r->dump) {
        fprintf(r->dump, "%s\t%s\t%d\t%s", name, r->truth, d->ocr_ran ? 1 : 0,
                cap_domain_name(pre->domain));
        for (int j = 0; j < DOM_NV; j++)
            fprintf(r->dump, "\t%.6g", vis[j]);
        for (int j = 0; j < DOM_NT; j++)
            fprintf(r->dump, "\t%.6g", txt[j]);
        fprintf(r->dump, "\n");
    }
done:
    cap_image_free(&full);
    cap_image_free(&thumb);
    if (st != ODX_OK) {
        cap_desc_free(d);
        free(pre);
        return st;
    }
    *pre_out = pre;
    *post_out = d;
    return ODX_OK;
}

static void tally(acc_tally *t, cap_domain truth, const char *ct, const cap_desc *d,
                  const char *file, const char *stage, bool quiet)
{
    t->n++;
    t->conf[truth][d->domain]++;
    if (d->domain == truth)
        t->ok++;
    if ((d->domain != truth || print_all) && !quiet)
        printf("%-4s %s %-10s %-10s -> %-10s conf %.2f  noise %.2f ncol %.2f white %.2f "
               "tl %.2f lines %d hr %d vr %d grid %.2f axis %.2f sect %.2f ocr %d\n",
               stage, d->domain == truth ? "ok  " : "miss", file, cap_domain_name(truth), cap_domain_name(d->domain), d->domain_conf,
               d->feat.noise, d->feat.n_colors, d->feat.white_share, d->feat.text_likeness,
               d->feat.n_text_lines, d->feat.n_h_rules, d->feat.n_v_rules, d->feat.grid_score,
               d->feat.axis_score, d->feat.sector_score, d->n_lines);
    if (truth == CAP_CHART && ct && strcmp(ct, "-") != 0) {
        t->ct_n++;
        if (!strcmp(ct, d->chart_type))
            t->ct_ok++;
        else if (!quiet)
            printf("%-4s type %-10s %-8s -> '%s'\n", stage, file, ct, d->chart_type);
    }
}

static void report(const acc_tally *t, const char *stage)
{
    printf("\n%s: %d/%d = %.1f%% overall, chart type %d/%d\n", stage, t->ok, t->n,
           t->n ? 100.0 * t->ok / t->n : 0, t->ct_ok, t->ct_n);
    printf("%-11s %5s", "truth\\got", "acc");
    for (int j = 0; j < CAP_N_DOMAINS; j++)
        printf(" %5.5s", cap_domain_name((cap_domain)j));
    printf("\n");
    for (int i = 0; i < CAP_N_DOMAINS; i++) {
        int tot = 0;
        for (int j = 0; j < CAP_N_DOMAINS; j++)
            tot += t->conf[i][j];
        printf("%-11s %4.0f%%", cap_domain_name((cap_domain)i),
               tot ? 100.0 * t->conf[i][i] / tot : 0);
        for (int j = 0; j < CAP_N_DOMAINS; j++)
            printf(" %5d", t->conf[i][j]);
        printf("\n");
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s DIR [--ocr] [--cache DIR] [--only FILE] [--quiet] [--ppocr]"
                " [--ocr-share P] [--dump FILE] [--shard K/N]\n",
                argv[0]);
        return 2;
    }
    bool ocr = false, quiet = false, ppocr = false;
    const char *only = NULL, *dump = NULL;
    acc_run run = {0};
    run.dom = cap_dom_model_env();
    run.ocr_share = 100;
    int shard_k = 0, shard_n = 1;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--ocr"))
            ocr = true;
        else if (!strcmp(argv[i], "--quiet"))
            quiet = true;
        else if (!strcmp(argv[i], "--all"))
            print_all = true;
        else if (!strcmp(argv[i], "--verbose"))
            run.verbose = true;
        else if (!strcmp(argv[i], "--cache") && i + 1 < argc)
            run.cache = argv[++i];
        else if (!strcmp(argv[i], "--ppocr"))
            ppocr = true;
        else if (!strcmp(argv[i], "--ocr-share") && i + 1 < argc)
            run.ocr_share = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--dump") && i + 1 < argc)
            dump = argv[++i];
        else if (!strcmp(argv[i], "--only") && i + 1 < argc)
            only = argv[++i];
        else if (!strcmp(argv[i], "--shard") && i + 1 < argc) {
            if (sscanf(argv[++i], "%d/%d", &shard_k, &shard_n) != 2 || shard_n < 1 ||
                shard_k < 0 || shard_k >= shard_n) {
                fprintf(stderr, "--shard wants K/N with 0 <= K < N, not '%s'\n", argv[i]);
                return 2;
            }
        } else {
            fprintf(stderr, "unknown argument '%s'\n", argv[i]);
            return 2;
        }
    }
    if (run.cache)
        mkdir(run.cache, 0755);
    char path[4096];
    snprintf(path, sizeof path, "%s/manifest.tsv", argv[1]);
    FILE *m = fopen(path, "r");
    if (!m) {
        perror(path);
        return 2;
    }
    odx_err err = {0};
    cap_ocr_params oprm = cap_ocr_params_default();
    cap_ocr_params_env(&oprm); /* the reader the engine would choose */
    if (ocr && cap_ocr_new(&run.ocr, &oprm, &err) != ODX_OK) {
        fprintf(stderr, "OCR: %s\n", err.msg);
        fclose(m);
        return 2;
    }
    cap_ppocr *pp = NULL;
    if (ocr && ppocr) {
        const char *dir = getenv("OMNIDEX_MODELS");
        if (cap_ppocr_load(dir && *dir ? dir : "models", &pp, &err) != ODX_OK) {
            fprintf(stderr, "PP-OCR: %s\n", err.msg);
            fclose(m);
            cap_ocr_free(run.ocr);
            return 2;
        }
        cap_ocr_set_ppocr(run.ocr, pp);
    }
    if (dump) {
        if (!(run.dump = fopen(dump, "w"))) {
            perror(dump);
            fclose(m);
            return 2;
        }
        fprintf(run.dump, "file\tdomain\tocr\tpre_domain");
        for (int j = 0; j < DOM_NV; j++)
            fprintf(run.dump, "\tv_%s", dom_vis_names[j]);
        for (int j = 0; j < DOM_NT; j++)
            fprintf(run.dump, "\tt_%s", dom_txt_names[j]);
        fprintf(run.dump, "\n");
    }
    acc_tally tpre = {0}, tpost = {0};
    int failed = 0;
    char line[16384];
    bool header = true;
    long row = -1;
    while (fgets(line, sizeof line, m)) {
        if (header) {
            header = false;
            continue;
        }
        if (++row % shard_n != shard_k)
            continue;
        char *save = NULL;
        char *file = strtok_r(line, "\t\n", &save);
        char *dom = strtok_r(NULL, "\t\n", &save);
        char *ct = strtok_r(NULL, "\t\n", &save);
        cap_domain truth;
        if (!file || !dom || !cap_domain_parse(dom, &truth))
            continue;
        if (only && strcmp(only, file) != 0)
            continue;
        snprintf(path, sizeof path, "%s/images/%s", argv[1], file);
        run.truth = dom;
        uint8_t *data = NULL;
        size_t len = 0;
        odx_err e = {0};
        cap_desc *pre = NULL, *post = NULL;
        if (core_read_file(path, 1LL << 30, &data, &len, &e) != ODX_OK ||
            classify_file(&run, data, len, file, &pre, &post, &e) != ODX_OK) {
            printf("FAIL %s: %s\n", file, e.msg);
            failed++;
            free(data);
            continue;
        }
        tally(&tpre, truth, ct, pre, file, "pre", quiet || ocr);
        if (ocr)
            tally(&tpost, truth, ct, post, file, "post", quiet);
        free(pre);
        cap_desc_free(post);
        free(data);
    }
    fclose(m);
    report(&tpre, "pre-OCR");
    if (ocr) {
        report(&tpost, "post-OCR");
        printf("OCR run on %d images (%.0f ms each), %d from cache\n", run.n_ocr,
               run.n_ocr ? run.ms_ocr / run.n_ocr : 0, run.n_cached);
    }
    printf("%d failed; features + classify %.2f ms per thumbnail (thread CPU)\n", failed,
           tpre.n ? run.ms_feat / tpre.n : 0);
    cap_ocr_free(run.ocr);
    cap_ppocr_free(pp);
    if (run.dump)
        fclose(run.dump);
    return 0;
}

/* bench_ingest.c - indexing throughput (not a test): ingest images/s with 1
 * and 2 workers over a folder, next to a plain libjpeg-turbo/libpng decode
 * loop over the same files measured in the same run, and the time of a
 * no-change re-run over N generated tiny files. Prints one JSON object.
 * usage: bench_ingest DIR [--files N] [--no-ocr] [--no-detect] */
#define _GNU_SOURCE /* nftw */
#include "omnidex.h"
#include "core.h"

#include <ftw.h>
#include <stdio.h> /* before jpeglib.h */
#include <jpeglib.h>
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static char **g_files;
static int g_n, g_cap;

static int collect(const char *path, const struct stat *sb, int flag, struct FTW *f)
{
    (void)sb;
    (void)f;
    const char *dot = strrchr(path, '.');
    if (flag != FTW_F || !dot)
        return 0;
    if (strcasecmp(dot, ".png") && strcasecmp(dot, ".jpg") && strcasecmp(dot, ".jpeg"))
        return 0;
    if (g_n == g_cap) {
        g_cap = g_cap ? g_cap * 2 : 256;
        g_files = realloc(g_files, (size_t)g_cap * sizeof *g_files);
        if (!g_files)
            exit(1);
    }
    g_files[g_n++] = strdup(path);
    return 0;
}

typedef struct jerr {
    struct jpeg_error_mgr mgr;
    jmp_buf jb;
} jerr;

static void jerr_exit(j_common_ptr c) { longjmp(((jerr *)c->err)->jb, 1); }

/* Full-size decode to RGB, the way any program would do it without
 * omnidex: the floor under the indexer's per-image cost. */
static int64_t decode_one(const uint8_t *d, size_t n)
{
    int64_t px = 0;
    if (n >= 8 && png_sig_cmp(d, 0, 8) == 0) {
        png_image im;
        memset(&im, 0, sizeof im);
        im.version = PNG_IMAGE_VERSION;
        if (!png_image_begin_read_from_memory(&im, d, n))
            return 0;
        im.format = PNG_FORMAT_RGB;
        size_t sz = PNG_IMAGE_SIZE(im);
        if (sz > ((size_t)1 << 31)) {
            png_image_free(&im);
            return 0;
        }
        void *buf = malloc(sz);
        if (buf && png_image_finish_read(&im, NULL, buf, 0, NULL))
            px = (int64_t)im.width * im.height;
        png_image_free(&im);
        free(buf);
        return px;
    }
    struct jpeg_decompress_struct c;
    jerr e;
    uint8_t *row = NULL;
    c.err = jpeg_std_error(&e.mgr);
    e.mgr.error_exit = jerr_exit;
    if (setjmp(e.jb)) {
        jpeg_destroy_decompress(&c);
        free(row);
        return 0;
    }
    jpeg_create_decompress(&c);
    jpeg_mem_src(&c, d, (unsigned long)n);
    jpeg_read_header(&c, TRUE);
    c.out_color_space = JCS_RGB;
    jpeg_start_decompress(&c);
    row = malloc((size_t)c.output_width * 3);
    while (row && c.output_scanline < c.output_height) {
        JSAMPROW r = row;
        jpeg_read_scanlines(&c, &r, 1);
    }
    px = (int64_t)c.output_width * c.output_height;
    jpeg_finish_decompress(&c);
    jpeg_destroy_decompress(&c);
    free(row);
    return px;
}

static int rm_one(const char *p, const struct stat *sb, int f, struct FTW *w)
{
    (void)sb;
    (void)f;
    (void)w;
    remove(p);
    return 0;
}

static void rm_tree(const char *d) { nftw(d, rm_one, 16, FTW_DEPTH | FTW_PHYS); }

static double run_index(const char *db_dir, const char *root, int workers, bool ocr,
                        bool detect, odx_index_stats *st)
{
    odx_err err = {0};
    odx_db *db = NULL;
    if (odx_db_open(db_dir, NULL, &db, &err) != ODX_OK) {
        fprintf(stderr, "bench_ingest: %s\n", err.msg);
        exit(1);
    }
    odx_index_params p = odx_index_params_default();
    p.n_workers = workers;
    p.ocr = ocr;
    p.detect = detect;
    double t0 = core_now();
    odx_status rc = odx_index(db, &root, 1, &p, st, &err);
    double dt = core_now() - t0;
    odx_db_close(db);
    if (rc != ODX_OK) {
        fprintf(stderr, "bench_ingest: index: %s\n", err.msg);
        exit(1);
    }
    return dt;
}

/* N distinct 8x8 PNGs, 100 per folder. */
static void make_tiny(const char *dir, int n)
{
    char p[4096];
    uint8_t px[8 * 8 * 3];
    mkdir(dir, 0755);
    for (int i = 0; i < n; i++) {
        if (i % 100 == 0) {
            snprintf(p, sizeof p, "%s/d%03d", dir, i / 100);
            mkdir(p, 0755);
        }
        for (int k = 0; k < (int)sizeof px; k++)
            px[k] = (uint8_t)(core_hash64(&i, sizeof i, (uint64_t)k) & 0xff);
        snprintf(p, sizeof p, "%s/d%03d/t%06d.png", dir, i / 100, i);
        png_image im;
        memset(&im, 0, sizeof im);
        im.version = PNG_IMAGE_VERSION;
        im.width = 8;
        im.height = 8;
        im.format = PNG_FORMAT_RGB;
        if (!png_image_write_to_file(&im, p, 0, px, 0, NULL)) {
            fprintf(stderr, "bench_ingest: cannot write %s\n", p);
            exit(1);
        }
    }
}

int main(int argc, char **argv)
{
    const char *dir = NULL;
    int n_tiny = 10000;
    bool ocr = true, detect = true;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--files") && i + 1 < argc)
            n_tiny = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--no-ocr"))
            ocr = false;
        else if (!strcmp(argv[i], "--no-detect"))
            detect = false;
        else if (argv[i][0] != '-' && !dir)
            dir = argv[i];
        else {
            fprintf(stderr, "usage: bench_ingest DIR [--files N] [--no-ocr] [--no-detect]\n");
            return 2;
        }
    }
    if (!dir || n_tiny < 1) {
        fprintf(stderr, "usage: bench_ingest DIR [--files N] [--no-ocr] [--no-detect]\n");
        return 2;
    }
    char *root = realpath(dir, NULL);
    if (!root || nftw(root, collect, 16, FTW_PHYS) != 0 || g_n == 0) {
        fprintf(stderr, "bench_ingest: no PNG/JPEG files under '%s'\n", dir);
        return 1;
    }

    /* Baseline: read + full decode of every file, one thread. */
    int64_t px = 0;
    int ok = 0;
    double t0 = core_now();
    for (int i = 0; i < g_n; i++) {
        uint8_t *d = NULL;
        size_t n = 0;
        if (core_read_file(g_files[i], 1LL << 30, &d, &n, NULL) != ODX_OK)
            continue;
        int64_t k = decode_one(d, n);
        free(d);
        px += k;
        ok += k > 0;
    }
    double t_dec = core_now() - t0;

    char tmp[] = "/tmp/odx_bench_ingest_XXXXXX";
    if (!mkdtemp(tmp))
        return 1;
    char db1[256], db2[256], db3[256], tiny[256];
    snprintf(db1, sizeof db1, "%s/db1", tmp);
    snprintf(db2, sizeof db2, "%s/db2", tmp);
    snprintf(db3, sizeof db3, "%s/db3", tmp);
    snprintf(tiny, sizeof tiny, "%s/tiny", tmp);
    odx_index_stats s1, s2, s3, s4;
    double t1 = run_index(db1, root, 1, ocr, detect, &s1);
    double t2 = run_index(db2, root, 2, ocr, detect, &s2);
    double t2re = run_index(db2, root, 2, ocr, detect, &s3);

    make_tiny(tiny, n_tiny);
    odx_index_stats f1, f2;
    double tf1 = run_index(db3, tiny, 2, false, false, &f1);
    double tf2 = run_index(db3, tiny, 2, false, false, &f2);
    (void)s4;

    printf("{\n");
    printf("  \"folder\": \"%s\", \"files\": %d, \"decoded\": %d, \"megapixels\": %.1f,\n",
           root, g_n, ok, (double)px / 1e6);
    printf("  \"ocr\": %s, \"detect\": %s, \"cpus\": %d,\n", ocr ? "true" : "false",
           detect ? "true" : "false", core_n_cpus());
    printf("  \"baseline_decode\": {\"what\": \"read + full libjpeg-turbo/libpng decode, 1 thread\", "
           "\"seconds\": %.3f, \"images_per_s\": %.1f, \"mp_per_s\": %.1f},\n",
           t_dec, g_n / t_dec, (double)px / 1e6 / t_dec);
    printf("  \"ingest_1_worker\": {\"seconds\": %.3f, \"images_per_s\": %.2f, "
           "\"new\": %lld, \"failed\": %lld},\n",
           t1, (double)s1.n_seen / t1, (long long)s1.n_new, (long long)s1.n_failed);
    printf("  \"ingest_2_workers\": {\"seconds\": %.3f, \"images_per_s\": %.2f, "
           "\"new\": %lld, \"failed\": %lld, \"speedup\": %.2f},\n",
           t2, (double)s2.n_seen / t2, (long long)s2.n_new, (long long)s2.n_failed, t1 / t2);
    printf("  \"rerun_no_change\": {\"files\": %lld, \"seconds\": %.4f},\n",
           (long long)s3.n_unchanged, t2re);
    printf("  \"tiny_files\": {\"files\": %d, \"first_run_s\": %.3f, \"first_run_images_per_s\": %.1f, "
           "\"rerun_no_change_s\": %.4f, \"rerun_us_per_file\": %.1f, \"rerun_unchanged\": %lld}\n",
           n_tiny, tf1, n_tiny / tf1, tf2, tf2 * 1e6 / n_tiny, (long long)f2.n_unchanged);
    printf("}\n");

    rm_tree(tmp);
    for (int i = 0; i < g_n; i++)
        free(g_files[i]);
    free(g_files);
    free(root);
    return 0;
}

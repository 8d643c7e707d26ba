/* bench_ingest.c - indexing throughput (not a test): ingest images/s with 1
 * and 2 workers over a folder, next to a plain libjpeg-turbo/libpng decode
 * loop over the same files measured in the same run, and the time of a
 * no-change re-run over N generated tiny files. Prints one JSON object.
 * With --formats FILE instead: decode time of FILE's pixels in every format
 * omnidex reads (PNG, JPEG, WebP, GIF, TIFF, BMP, HEIC, AVIF), next to PNG.
 * usage: bench_ingest DIR [--files N] [--no-ocr] [--no-detect]
 *        bench_ingest --formats FILE [--reps N] */
#define _GNU_SOURCE /* nftw */
#include "omnidex.h"
#include "core.h"

#include <ftw.h>
#include <stdio.h> /* before jpeglib.h */
#include <gif_lib.h>
#include <jpeglib.h>
#include <libheif/heif.h>
#include <png.h>
#include <tiffio.h>
#include <webp/encode.h>
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

/* ------------------------------------------------- per-format decode ---- */

/* The same pixels in every format omnidex reads, encoded here with the
 * formats' own libraries (PNG and JPEG too), then decoded by omnidex's
 * decoder (odx_image_decode: what the indexer and the thumbnailer run),
 * at full size and as the ~512 px thumbnail the captioner starts from. */
typedef struct fmt_buf {
    uint8_t *p;
    size_t n, cap;
} fmt_buf;

static void fb_put(fmt_buf *b, const void *p, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2;
        b->p = realloc(b->p, b->cap);
        if (!b->p)
            exit(1);
    }
    memcpy(b->p + b->n, p, n);
    b->n += n;
}

static fmt_buf enc_png(const uint8_t *rgb, int w, int h)
{
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    im.width = (png_uint_32)w;
    im.height = (png_uint_32)h;
    im.format = PNG_FORMAT_RGB;
    png_alloc_size_t n = 0;
    png_image_write_to_memory(&im, NULL, &n, 0, rgb, 0, NULL);
    fmt_buf b = {malloc(n), n, n};
    if (!png_image_write_to_memory(&im, b.p, &n, 0, rgb, 0, NULL))
        b.n = 0;
    b.n = n;
    return b;
}

static fmt_buf enc_jpeg(const uint8_t *rgb, int w, int h)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr e;
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    unsigned char *out = NULL;
    unsigned long n = 0;
    jpeg_mem_dest(&c, &out, &n);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 90, TRUE);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW r = (JSAMPROW)(rgb + (size_t)c.next_scanline * w * 3);
        jpeg_write_scanlines(&c, &r, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    fmt_buf b = {0};
    fb_put(&b, out, n);
    free(out);
    return b;
}

static fmt_buf enc_webp(const uint8_t *rgb, int w, int h, bool lossless)
{
    uint8_t *out = NULL;
    size_t n = lossless ? WebPEncodeLosslessRGB(rgb, w, h, w * 3, &out)
                        : WebPEncodeRGB(rgb, w, h, w * 3, 90, &out);
    fmt_buf b = {0};
    fb_put(&b, out, n);
    WebPFree(out);
    return b;
}

static int gif_out(GifFileType *g, const GifByteType *p, int n)
{
    fb_put(g->UserData, p, (size_t)n);
    return n;
}

static fmt_buf enc_gif(const uint8_t *rgb, int w, int h)
{
    size_t np = (size_t)w * h;
    GifByteType *r = malloc(np), *g = malloc(np), *bl = malloc(np), *idx = malloc(np);
    for (size_t i = 0; i < np; i++) {
        r[i] = rgb[3 * i];
        g[i] = rgb[3 * i + 1];
        bl[i] = rgb[3 * i + 2];
    }
    int ncol = 256;
    GifColorType cols[256];
    fmt_buf b = {0};
    if (GifQuantizeBuffer((unsigned)w, (unsigned)h, &ncol, r, g, bl, idx, cols) == GIF_OK) {
        int err;
        GifFileType *f = EGifOpen(&b, gif_out, &err);
        ColorMapObject *cm = GifMakeMapObject(256, cols);
        EGifPutScreenDesc(f, w, h, 8, 0, cm);
        EGifPutImageDesc(f, 0, 0, w, h, false, NULL);
        for (int y = 0; y < h; y++)
            EGifPutLine(f, idx + (size_t)y * w, w);
        EGifCloseFile(f, &err);
        GifFreeMapObject(cm);
    }
    free(r);
    free(g);
    free(bl);
    free(idx);
    return b;
}

static fmt_buf enc_tiff(const uint8_t *rgb, int w, int h)
{
    char path[] = "/tmp/odx_bench_tiff_XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    TIFF *t = TIFFOpen(path, "w");
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, w);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, h);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 3);
    TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_RGB);
    TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_LZW);
    TIFFSetField(t, TIFFTAG_PREDICTOR, 2);
    TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 16);
    for (int y = 0; y < h; y++)
        TIFFWriteScanline(t, (void *)(rgb + (size_t)y * w * 3), (uint32_t)y, 0);
    TIFFClose(t);
    uint8_t *d = NULL;
    size_t n = 0;
    fmt_buf b = {0};
    if (core_read_file(path, 1LL << 31, &d, &n, NULL) == ODX_OK)
        fb_put(&b, d, n);
    free(d);
    unlink(path);
    return b;
}

static void fb_le(fmt_buf *b, uint32_t v, int n)
{
    uint8_t x[4] = {v & 255, (v >> 8) & 255, (v >> 16) & 255, v >> 24};
    fb_put(b, x, (size_t)n);
}

static fmt_buf enc_bmp(const uint8_t *rgb, int w, int h)
{
    uint32_t stride = ((uint32_t)w * 3 + 3) & ~3u;
    fmt_buf b = {0};
    fb_put(&b, "BM", 2);
    fb_le(&b, 54 + stride * (uint32_t)h, 4);
    fb_le(&b, 0, 4);
    fb_le(&b, 54, 4);
    fb_le(&b, 40, 4);
    fb_le(&b, (uint32_t)w, 4);
    fb_le(&b, (uint32_t)h, 4);
    fb_le(&b, 1, 2);
    fb_le(&b, 24, 2);
    for (int i = 0; i < 6; i++)
        fb_le(&b, 0, 4);
    uint8_t *row = calloc(1, stride);
    for (int y = h - 1; y >= 0; y--) {
        for (int x = 0; x < w; x++) {
            const uint8_t *s = rgb + ((size_t)y * w + x) * 3;
            row[3 * x] = s[2];
            row[3 * x + 1] = s[1];
            row[3 * x + 2] = s[0];
        }
        fb_put(&b, row, stride);
    }
    free(row);
    return b;
}

static struct heif_error heif_out(struct heif_context *c, const void *p, size_t n, void *u)
{
    (void)c;
    fb_put(u, p, n);
    return (struct heif_error){heif_error_Ok, heif_suberror_Unspecified, "ok"};
}

static fmt_buf enc_heif(const uint8_t *rgb, int w, int h, enum heif_compression_format f)
{
    fmt_buf b = {0};
    struct heif_context *ctx = heif_context_alloc();
    struct heif_encoder *enc = NULL;
    if (heif_context_get_encoder_for_format(ctx, f, &enc).code != heif_error_Ok) {
        heif_context_free(ctx);
        return b;
    }
    heif_encoder_set_lossy_quality(enc, 50); /* libheif's default quality */
    struct heif_image *img = NULL;
    heif_image_create(w, h, heif_colorspace_RGB, heif_chroma_interleaved_RGB, &img);
    heif_image_add_plane(img, heif_channel_interleaved, w, h, 8);
    int stride;
    uint8_t *p = heif_image_get_plane(img, heif_channel_interleaved, &stride);
    for (int y = 0; y < h; y++)
        memcpy(p + (size_t)y * stride, rgb + (size_t)y * w * 3, (size_t)w * 3);
    struct heif_image_handle *hd = NULL;
    if (heif_context_encode_image(ctx, img, enc, NULL, &hd).code == heif_error_Ok) {
        struct heif_writer wr = {1, heif_out};
        heif_context_write(ctx, &wr, &b);
    }
    heif_image_handle_release(hd);
    heif_image_release(img);
    heif_encoder_release(enc);
    heif_context_free(ctx);
    return b;
}

/* Process CPU seconds (every thread: dav1d decodes on threads of its
 * own), steadier than wall time on a shared machine. */
static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Decodes b reps times; returns CPU seconds per decode (0 when it fails). */
static double time_decode(const fmt_buf *b, int max_side, int reps, int *ow, int *oh)
{
    double t0 = cpu_now();
    for (int r = 0; r < reps; r++) {
        unsigned char *rgb = NULL;
        odx_err e = {0};
        if (odx_image_decode(b->p, b->n, max_side, 0, &rgb, ow, oh, &e) != ODX_OK) {
            fprintf(stderr, "bench_ingest: decode failed: %s\n", e.msg);
            return 0;
        }
        odx_free(rgb);
    }
    return (cpu_now() - t0) / reps;
}

/* --formats FILE: every format on FILE's pixels; prints one JSON object. */
static int bench_formats(const char *file, int reps)
{
    uint8_t *d = NULL, *rgb = NULL;
    size_t n = 0;
    int w = 0, h = 0;
    odx_err e = {0};
    if (core_read_file(file, 1LL << 30, &d, &n, &e) != ODX_OK ||
        odx_image_decode(d, n, 0, 0, &rgb, &w, &h, &e) != ODX_OK) {
        fprintf(stderr, "bench_ingest: %s\n", e.msg);
        free(d);
        return 1;
    }
    free(d);
    struct {
        const char *name, *how;
        fmt_buf b;
    } f[] = {
        {"png", "libpng default", enc_png(rgb, w, h)},
        {"jpeg", "libjpeg-turbo q90 4:2:0", enc_jpeg(rgb, w, h)},
        {"webp", "libwebp lossy q90", enc_webp(rgb, w, h, false)},
        {"webp_lossless", "libwebp lossless", enc_webp(rgb, w, h, true)},
        {"gif", "giflib, 256 colours quantised", enc_gif(rgb, w, h)},
        {"tiff", "libtiff LZW + predictor", enc_tiff(rgb, w, h)},
        {"bmp", "24-bit BI_RGB", enc_bmp(rgb, w, h)},
        {"heic", "libheif x265 q50 (its default)", enc_heif(rgb, w, h, heif_compression_HEVC)},
        {"avif", "libheif aom q50 (its default)", enc_heif(rgb, w, h, heif_compression_AV1)},
    };
    int nf = (int)(sizeof f / sizeof *f);
    double mp = (double)w * h / 1e6, png_full = 0;
    printf("{\n  \"file\": \"%s\", \"width\": %d, \"height\": %d, \"megapixels\": %.2f, "
           "\"reps\": %d,\n  \"what\": \"odx_image_decode of the same pixels, process CPU "
           "time per decode; full = full size, thumb = the ~512 px captioner thumbnail\",\n"
           "  \"formats\": [\n",
           file, w, h, mp, reps);
    for (int i = 0; i < nf; i++) {
        int ow = 0, oh = 0;
        double full = f[i].b.n ? time_decode(&f[i].b, 0, reps, &ow, &oh) : 0;
        double thumb = f[i].b.n ? time_decode(&f[i].b, 512, reps, &ow, &oh) : 0;
        if (i == 0)
            png_full = full;
        printf("    {\"format\": \"%s\", \"encoder\": \"%s\", \"bytes\": %zu, "
               "\"full_cpu_ms\": %.2f, \"full_mp_per_cpu_s\": %.1f, \"thumb_cpu_ms\": %.2f, "
               "\"speed_vs_png\": %.2f}%s\n",
               f[i].name, f[i].how, f[i].b.n, full * 1e3, full > 0 ? mp / full : 0, thumb * 1e3,
               full > 0 && png_full > 0 ? png_full / full : 0, i + 1 < nf ? "," : "");
        free(f[i].b.p);
    }
    printf("  ]\n}\n");
    odx_free(rgb);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && !strcmp(argv[1], "--formats")) {
        int reps = argc >= 5 && !strcmp(argv[3], "--reps") ? atoi(argv[4]) : 10;
        return bench_formats(argv[2], reps > 0 ? reps : 10);
    }
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
            fprintf(stderr, "usage: bench_ingest DIR [--files N] [--no-ocr] [--no-detect]\n"
                            "       bench_ingest --formats FILE [--reps N]\n");
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

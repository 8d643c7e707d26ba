/* test_cap_limits.c - the decoders' work limits (issue 10 defect 2): a
 * progressive JPEG with more scans than CAP_JPEG_MAX_SCANS, or more entropy
 * decoding work than the budget, is refused with ODX_ERR_LIMIT quickly
 * instead of costing seconds per decode; a normal progressive JPEG still
 * decodes; a PNG carrying a zTXt "bomb" (hundreds of chunks that inflate
 * to megabytes each) decodes in a moment, because ancillary chunks are
 * skipped unread. Time bounds are generous upper limits for a loaded
 * machine; the slow cases took many times longer before the fix. */
#include "captioner.h"
#include "check.h"
#include "img_gen.h"

#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static odx_status dec(const ig_buf *b, const cap_limits *lim, int max_side, cap_image *im,
                      odx_err *e, double *secs)
{
    cap_header h;
    memset(e, 0, sizeof *e);
    double t = now();
    odx_status st = cap_decode(b->p, b->n, "t", lim, max_side, &h, im, e);
    *secs = now() - t;
    return st;
}

static const cap_limits LIM = {.max_pixels = 100LL * 1000 * 1000, .max_file_bytes = 64 << 20};

/* 1 + 3 * 63 * 6 = 1135 scans: refused by the scan limit, full size and
 * thumbnail alike. */
static void test_jpeg_many_scans(void)
{
    int n = 0;
    jpeg_scan_info *s = ig_many_scans(5, &n);
    CHECK(n == 1135);
    ig_buf b = ig_jpeg(512, 512, &(ig_jpeg_opts){.scans = s, .n_scans = n, .quality = 95});
    free(s);
    for (int side = 0; side <= 256; side += 256) {
        cap_image im = {0};
        odx_err e;
        double secs;
        odx_status st = dec(&b, &LIM, side, &im, &e, &secs);
        fprintf(stderr, "  %d-scan JPEG (%zu bytes), max_side %d: status %d in %.3f s: %s\n", n,
                b.n, side, st, secs, e.msg);
        CHECK_MSG(st == ODX_ERR_LIMIT, "status %d", st);
        CHECK_MSG(strstr(e.msg, "scans"), "message '%s'", e.msg);
        CHECK(im.rgb == NULL);
        CHECK_MSG(secs < 2.0, "%.3f s", secs);
        cap_image_free(&im);
    }
    free(b.p);
}

/* Exactly at the limit decodes; one more scan is refused. */
static void test_jpeg_scan_edge(void)
{
    int n = 0;
    jpeg_scan_info *s = ig_many_scans(5, &n);
    for (int k = CAP_JPEG_MAX_SCANS; k <= CAP_JPEG_MAX_SCANS + 1; k++) {
        /* The first k scans of the script are a valid script too. */
        ig_buf b = ig_jpeg(64, 48, &(ig_jpeg_opts){.scans = s, .n_scans = k});
        cap_image im = {0};
        odx_err e;
        double secs;
        odx_status st = dec(&b, &LIM, 0, &im, &e, &secs);
        if (k == CAP_JPEG_MAX_SCANS)
            CHECK_MSG(st == ODX_OK && im.w == 64 && im.h == 48, "%d scans: %s", k, e.msg);
        else
            CHECK_MSG(st == ODX_ERR_LIMIT, "%d scans: status %d", k, st);
        cap_image_free(&im);
        free(b.p);
    }
    free(s);
}

/* Ordinary files are untouched: baseline and the standard 10-scan
 * progression decode to the same pixels. */
static void test_jpeg_normal(void)
{
    ig_buf a = ig_jpeg(300, 200, &(ig_jpeg_opts){.quality = 90});
    ig_buf p = ig_jpeg(300, 200, &(ig_jpeg_opts){.quality = 90, .progressive = true});
    cap_image ia = {0}, ip = {0};
    odx_err e;
    double secs;
    CHECK_MSG(dec(&a, &LIM, 0, &ia, &e, &secs) == ODX_OK, "%s", e.msg);
    CHECK_MSG(dec(&p, &LIM, 0, &ip, &e, &secs) == ODX_OK, "%s", e.msg);
    CHECK(ia.w == 300 && ip.w == 300 && ia.h == 200 && ip.h == 200);
    if (ia.rgb && ip.rgb) {
        int maxd = 0;
        for (size_t i = 0; i < (size_t)300 * 200 * 3; i++) {
            int d = abs(ia.rgb[i] - ip.rgb[i]);
            if (d > maxd) maxd = d;
        }
        CHECK_MSG(maxd <= 2, "progressive differs by %d", maxd);
    }
    cap_image_free(&ia);
    cap_image_free(&ip);
    free(a.p);
    free(p.p);
}

/* The work budget: entropy-decoding work (pixels of every scan's pass)
 * over lim->max_decode_work is refused although the scan count is fine. */
static void test_jpeg_work_budget(void)
{
    ig_buf p = ig_jpeg(400, 300, &(ig_jpeg_opts){.progressive = true}); /* 10 scans */
    cap_limits lim = LIM;
    cap_image im = {0};
    odx_err e;
    double secs;
    lim.max_decode_work = 400LL * 300 * 4; /* about 4 passes */
    odx_status st = dec(&p, &lim, 0, &im, &e, &secs);
    CHECK_MSG(st == ODX_ERR_LIMIT, "status %d", st);
    CHECK_MSG(strstr(e.msg, "work"), "message '%s'", e.msg);
    CHECK(im.rgb == NULL);
    lim.max_decode_work = 400LL * 300 * 40;
    st = dec(&p, &lim, 0, &im, &e, &secs);
    CHECK_MSG(st == ODX_OK, "%s", e.msg);
    cap_image_free(&im);
    /* A baseline JPEG is one pass: a budget of two passes is plenty. */
    ig_buf b = ig_jpeg(400, 300, &(ig_jpeg_opts){0});
    lim.max_decode_work = 400LL * 300 * 2;
    st = dec(&b, &lim, 0, &im, &e, &secs);
    CHECK_MSG(st == ODX_OK, "%s", e.msg);
    cap_image_free(&im);
    free(p.p);
    free(b.p);
}

/* A PNG of 8x8 pixels followed by n copies of one zTXt chunk whose text
 * inflates to about mb megabytes. */
static ig_buf ztxt_bomb(int n, int mb)
{
    /* libpng writes (and compresses) the text chunk of a small PNG... */
    size_t len = (size_t)mb << 20;
    char *text = malloc(len + 1);
    memset(text, 'A', len);
    text[len] = 0;
    ig_buf one = {0};
    {
        png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
        png_infop info = png_create_info_struct(png);
        if (setjmp(png_jmpbuf(png))) exit(2);
        png_set_write_fn(png, &one, ig_png_write_fn, ig_png_flush);
        png_set_IHDR(png, info, 8, 8, 8, PNG_COLOR_TYPE_GRAY, PNG_INTERLACE_NONE,
                     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
        png_text t = {0};
        t.compression = PNG_TEXT_COMPRESSION_zTXt;
        t.key = (char *)"Comment";
        t.text = text;
        t.text_length = len;
        png_set_text(png, info, &t, 1);
        png_write_info(png, info);
        png_byte row[8] = {0, 40, 80, 120, 160, 200, 240, 255};
        for (int y = 0; y < 8; y++) png_write_row(png, row);
        png_write_end(png, info);
        png_destroy_write_struct(&png, &info);
    }
    free(text);
    /* ...then its zTXt chunk is repeated n times after IHDR. */
    size_t z = 0, zlen = 0;
    for (size_t off = 8; off + 12 <= one.n;) {
        uint32_t cl = (uint32_t)one.p[off] << 24 | one.p[off + 1] << 16 | one.p[off + 2] << 8 |
                      one.p[off + 3];
        if (memcmp(one.p + off + 4, "zTXt", 4) == 0) {
            z = off;
            zlen = cl + 12;
            break;
        }
        off += cl + 12;
    }
    CHECK(zlen > 0);
    ig_buf b = {0};
    ig_put(&b, one.p, 33);
    for (int i = 0; i < n && zlen; i++) ig_put(&b, one.p + z, zlen);
    ig_put(&b, one.p + 33, one.n - 33);
    free(one.p);
    return b;
}

static void test_png_ztxt_bomb(void)
{
    ig_buf b = ztxt_bomb(400, 7);
    cap_image im = {0};
    odx_err e;
    double secs;
    odx_status st = dec(&b, &LIM, 0, &im, &e, &secs);
    fprintf(stderr, "  zTXt bomb (%zu bytes, 400 x 7 MiB of text): status %d in %.3f s %s\n",
            b.n, st, secs, e.msg);
    CHECK_MSG(st == ODX_OK && im.w == 8 && im.h == 8, "%s", e.msg);
    if (im.rgb) CHECK(im.rgb[0] == 0 && im.rgb[3 * 7] == 255);
    CHECK_MSG(secs < 2.0, "%.3f s", secs);
    cap_image_free(&im);
    free(b.p);
}

/* A chunk declaring a huge length (fuzz_png made libpng malloc 352 MB for
 * one; the replay seed found_chunk_352mb.png keeps that case) ends in an
 * ordinary decode error, nothing left allocated. */
static void test_png_huge_chunk(void)
{
    ig_buf ok = ig_png(6, 6, PNG_COLOR_TYPE_RGB, 8, false, NULL);
    ig_buf b = {0};
    ig_put(&b, ok.p, 33);
    uint8_t hdr[8] = {0x15, 0x00, 0x11, 0x00, 'i', 'C', 'C', 'P'}; /* 352 MB declared */
    ig_put(&b, hdr, 8);
    ig_put(&b, "x\0\0", 3);
    cap_image im = {0};
    odx_err e;
    double secs;
    odx_status st = dec(&b, &LIM, 0, &im, &e, &secs);
    CHECK_MSG(st == ODX_ERR_DECODE, "status %d", st);
    CHECK(im.rgb == NULL);
    cap_image_free(&im);
    free(b.p);
    free(ok.p);
}

int main(void)
{
    test_jpeg_many_scans();
    test_jpeg_scan_edge();
    test_jpeg_normal();
    test_jpeg_work_budget();
    test_png_ztxt_bomb();
    test_png_huge_chunk();
    return check_result("test_cap_limits");
}

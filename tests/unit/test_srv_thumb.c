/* test_srv_thumb.c - the server's thumbnailer and request helpers: images
 * are generated here with libpng/libjpeg, thumbnailed, and the JPEG that
 * comes back is decoded again to check size, colours and orientation. */
#include "check.h"
#include "server.h"

#include <jpeglib.h>
#include <png.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Left half red, right half blue. */
static void fill_halves(uint8_t *row, int w, int channels)
{
    for (int x = 0; x < w; x++) {
        uint8_t *p = row + x * channels;
        p[0] = x < w / 2 ? 230 : 10;
        if (channels >= 3) {
            p[1] = 20;
            p[2] = x < w / 2 ? 10 : 220;
        }
        if (channels == 4)
            p[3] = 255;
    }
}

/* Writes a PNG; color_type RGB, RGBA or GRAY (8 or 16 bits), optional
 * interlace, alpha 0 on the top rows when transparent_top; header_only
 * writes the header and a few rows, as a huge image would start. */
static FILE *make_png(int w, int h, int color_type, int depth, bool interlace,
                      bool transparent_top, bool header_only)
{
    FILE *f = tmpfile();
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        fclose(f);
        return NULL;
    }
    png_init_io(png, f);
    if (header_only) /* stored blocks, so the few rows written reach the file */
        png_set_compression_level(png, 0);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, depth, color_type,
                 interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    if (header_only) {
        /* A few rows and no end: enough for the header to be read. */
        uint8_t *row = calloc((size_t)w * 4, 1);
        for (int y = 0; y < 64; y++) /* interlaced: 1 row in 8 is written */
            png_write_row(png, row);
        free(row);
    } else {
        int ch = color_type == PNG_COLOR_TYPE_RGB ? 3 : color_type == PNG_COLOR_TYPE_RGBA ? 4 : 1;
        int bpp = ch * (depth / 8);
        uint8_t *img = calloc((size_t)w * h * bpp, 1);
        png_bytep *rows = malloc((size_t)h * sizeof *rows);
        for (int y = 0; y < h; y++) {
            rows[y] = img + (size_t)y * w * bpp;
            if (depth == 8) {
                fill_halves(rows[y], w, ch);
                if (ch == 4 && transparent_top && y < h / 2)
                    for (int x = 0; x < w; x++)
                        rows[y][x * 4 + 3] = 0;
            } else { /* 16-bit gray: a dark left half, a light right half */
                for (int x = 0; x < w; x++) {
                    uint16_t v = x < w / 2 ? 0x1000 : 0xF000;
                    rows[y][x * 2] = (uint8_t)(v >> 8);
                    rows[y][x * 2 + 1] = (uint8_t)v;
                }
            }
        }
        png_write_image(png, rows);
        png_write_end(png, NULL);
        free(rows);
        free(img);
    }
    png_destroy_write_struct(&png, &info);
    fflush(f);
    rewind(f);
    return f;
}

static FILE *make_jpeg(int w, int h, bool gray)
{
    FILE *f = tmpfile();
    struct jpeg_compress_struct ci;
    struct jpeg_error_mgr je;
    ci.err = jpeg_std_error(&je);
    jpeg_create_compress(&ci);
    jpeg_stdio_dest(&ci, f);
    ci.image_width = (JDIMENSION)w;
    ci.image_height = (JDIMENSION)h;
    ci.input_components = gray ? 1 : 3;
    ci.in_color_space = gray ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&ci);
    jpeg_set_quality(&ci, 90, TRUE);
    jpeg_start_compress(&ci, TRUE);
    uint8_t *row = malloc((size_t)w * 3);
    while (ci.next_scanline < ci.image_height) {
        fill_halves(row, w, gray ? 1 : 3);
        JSAMPROW rp = row;
        jpeg_write_scanlines(&ci, &rp, 1);
    }
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    free(row);
    fflush(f);
    rewind(f);
    return f;
}

/* A progressive JPEG of 1 + 3 * bands scans (a DC scan, then each colour
 * component's AC coefficients 1..63 cut into bands), textured so every
 * scan has coefficients to decode. Such files are what made a thumbnail
 * cost a minute: a decoder walks the whole image once per scan. */
static void write_progressive(FILE *f, int w, int h, int bands)
{
    struct jpeg_compress_struct ci;
    struct jpeg_error_mgr je;
    ci.err = jpeg_std_error(&je);
    jpeg_create_compress(&ci);
    jpeg_stdio_dest(&ci, f);
    ci.image_width = (JDIMENSION)w;
    ci.image_height = (JDIMENSION)h;
    ci.input_components = 3;
    ci.in_color_space = JCS_RGB;
    jpeg_set_defaults(&ci);
    jpeg_set_quality(&ci, 92, TRUE);
    int n = 1 + 3 * bands;
    jpeg_scan_info *sc = calloc((size_t)n, sizeof *sc);
    sc[0].comps_in_scan = 3;
    for (int c = 0; c < 3; c++)
        sc[0].component_index[c] = c;
    int k = 1;
    for (int c = 0; c < 3; c++)
        for (int b = 0; b < bands; b++, k++) {
            sc[k].comps_in_scan = 1;
            sc[k].component_index[0] = c;
            sc[k].Ss = 1 + b * 63 / bands;
            sc[k].Se = (b + 1) * 63 / bands;
        }
    ci.scan_info = sc;
    ci.num_scans = n;
    jpeg_start_compress(&ci, TRUE);
    uint8_t *row = malloc((size_t)w * 3);
    uint32_t r = 12345;
    while (ci.next_scanline < ci.image_height) {
        for (int x = 0; x < w * 3; x++) {
            r = r * 1103515245u + 12345u;
            row[x] = (uint8_t)((x / 3 * 7 + (int)ci.next_scanline * 3) ^ (int)(r >> 24));
        }
        JSAMPROW rp = row;
        jpeg_write_scanlines(&ci, &rp, 1);
    }
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    free(row);
    free(sc);
    fflush(f);
}

static void test_budget(void)
{
    unsigned char *jpg = NULL;
    size_t len = 0;
    odx_err e = {0};
    /* 64 scans: under the limit, decodes */
    FILE *f = tmpfile();
    write_progressive(f, 640, 480, 21);
    rewind(f);
    srv_thumb_limits lim = srv_thumb_limits_default();
    odx_status st = srv_thumb_decode(f, &lim, 256, 1, &jpg, &len, &e);
    CHECK_MSG(st == ODX_OK && len > 100, "64 scans: %s", e.msg);
    free(jpg);
    jpg = NULL;
    fclose(f);
    /* 151 scans: refused by the scan limit, as ODX_ERR_LIMIT */
    f = tmpfile();
    write_progressive(f, 320, 240, 50);
    rewind(f);
    e = (odx_err){0};
    st = srv_thumb_decode(f, &lim, 256, 1, &jpg, &len, &e);
    CHECK_MSG(st == ODX_ERR_LIMIT && jpg == NULL && strstr(e.msg, "scans"), "151 scans: %d %s",
              st, e.msg);
    fclose(f);
    /* a CPU budget far below what the decode needs stops it */
    f = tmpfile();
    write_progressive(f, 2000, 1500, 21);
    rewind(f);
    lim.cpu_s = 0.001;
    e = (odx_err){0};
    st = srv_thumb_decode(f, &lim, 256, 1, &jpg, &len, &e);
    CHECK_MSG(st == ODX_ERR_LIMIT && jpg == NULL && strstr(e.msg, "budget"), "budget: %d %s", st,
              e.msg);
    fclose(f);
}

/* Decodes a thumbnail back to RGB. */
static uint8_t *unjpeg(const unsigned char *buf, size_t len, int *w, int *h)
{
    struct jpeg_decompress_struct ci;
    struct jpeg_error_mgr je;
    ci.err = jpeg_std_error(&je);
    jpeg_create_decompress(&ci);
    jpeg_mem_src(&ci, buf, (unsigned long)len);
    jpeg_read_header(&ci, TRUE);
    ci.out_color_space = JCS_RGB;
    jpeg_start_decompress(&ci);
    *w = (int)ci.output_width;
    *h = (int)ci.output_height;
    uint8_t *img = malloc((size_t)*w * *h * 3);
    while (ci.output_scanline < ci.output_height) {
        JSAMPROW rp = img + (size_t)ci.output_scanline * *w * 3;
        jpeg_read_scanlines(&ci, &rp, 1);
    }
    jpeg_finish_decompress(&ci);
    jpeg_destroy_decompress(&ci);
    return img;
}

static const uint8_t *px(const uint8_t *img, int w, int x, int y)
{
    return img + ((size_t)y * w + x) * 3;
}

/* Thumbnails f and checks the output size; returns the decoded pixels. */
static uint8_t *thumb(FILE *f, int orientation, int want_w, int want_h, const char *what)
{
    unsigned char *jpg = NULL;
    size_t len = 0;
    int tw = 0, th = 0;
    odx_err e = {0};
    odx_status st = srv_thumb_stream(f, SRV_THUMB_SIDE, orientation, &jpg, &len, &tw, &th, &e);
    fclose(f);
    CHECK_MSG(st == ODX_OK, "%s: %s", what, e.msg);
    if (st != ODX_OK)
        return NULL;
    CHECK_MSG(tw == want_w && th == want_h, "%s: %dx%d, want %dx%d", what, tw, th, want_w, want_h);
    CHECK(len > 100 && jpg[0] == 0xFF && jpg[1] == 0xD8);
    int w, h;
    uint8_t *img = unjpeg(jpg, len, &w, &h);
    CHECK(w == tw && h == th);
    free(jpg);
    return img;
}

static bool reddish(const uint8_t *p) { return p[0] > 180 && p[2] < 70; }
static bool bluish(const uint8_t *p) { return p[2] > 170 && p[0] < 70; }
static bool whitish(const uint8_t *p) { return p[0] > 230 && p[1] > 230 && p[2] > 230; }

static void test_png(void)
{
    uint8_t *img = thumb(make_png(600, 300, PNG_COLOR_TYPE_RGB, 8, false, false, false), 1, 256,
                         128, "png rgb");
    if (img) {
        CHECK(reddish(px(img, 256, 10, 64)));
        CHECK(bluish(px(img, 256, 245, 64)));
        free(img);
    }
    img = thumb(make_png(300, 600, PNG_COLOR_TYPE_RGBA, 8, false, true, false), 1, 128, 256,
                "png rgba");
    if (img) {
        CHECK(whitish(px(img, 128, 10, 20)));  /* transparent top over white */
        CHECK(reddish(px(img, 128, 10, 230))); /* opaque bottom keeps colour */
        free(img);
    }
    img = thumb(make_png(512, 512, PNG_COLOR_TYPE_GRAY, 16, false, false, false), 1, 256, 256,
                "png gray16");
    if (img) {
        CHECK(px(img, 256, 10, 10)[0] < 40 && px(img, 256, 245, 10)[0] > 220);
        free(img);
    }
    img = thumb(make_png(400, 200, PNG_COLOR_TYPE_RGB, 8, true, false, false), 1, 256, 128,
                "png interlaced");
    if (img) {
        CHECK(reddish(px(img, 256, 10, 64)) && bluish(px(img, 256, 245, 64)));
        free(img);
    }
    /* small images are not enlarged */
    img = thumb(make_png(10, 5, PNG_COLOR_TYPE_RGB, 8, false, false, false), 1, 10, 5, "png tiny");
    free(img);
}

static void test_jpeg(void)
{
    uint8_t *img = thumb(make_jpeg(1000, 500, false), 1, 256, 128, "jpeg rgb");
    if (img) {
        CHECK(reddish(px(img, 256, 10, 64)));
        CHECK(bluish(px(img, 256, 245, 64)));
        free(img);
    }
    img = thumb(make_jpeg(2000, 100, true), 1, 256, 13, "jpeg gray");
    if (img) {
        CHECK(px(img, 256, 5, 6)[0] > 180 && px(img, 256, 250, 6)[0] < 60);
        free(img);
    }
    /* EXIF orientation 6: shown rotated 90 degrees clockwise, so the left
     * (red) half ends up on top. */
    img = thumb(make_jpeg(600, 300, false), 6, 128, 256, "jpeg orientation 6");
    if (img) {
        CHECK(reddish(px(img, 128, 64, 10)));
        CHECK(bluish(px(img, 128, 64, 245)));
        free(img);
    }
    /* orientation 3: rotated 180 degrees, red on the right */
    img = thumb(make_jpeg(600, 300, false), 3, 256, 128, "jpeg orientation 3");
    if (img) {
        CHECK(bluish(px(img, 256, 10, 64)) && reddish(px(img, 256, 245, 64)));
        free(img);
    }
}

/* Copies the first n bytes of f into a new stream. */
static FILE *truncated(FILE *f, long n)
{
    FILE *o = tmpfile();
    for (long i = 0; i < n; i++) {
        int c = fgetc(f);
        if (c == EOF)
            break;
        fputc(c, o);
    }
    fclose(f);
    rewind(o);
    return o;
}

static void expect_fail(FILE *f, odx_status want, const char *what)
{
    unsigned char *jpg = NULL;
    size_t len = 0;
    odx_err e = {0};
    odx_status st = srv_thumb_stream(f, SRV_THUMB_SIDE, 1, &jpg, &len, NULL, NULL, &e);
    fclose(f);
    CHECK_MSG(st == want, "%s: got %d (%s), want %d", what, st, e.msg, want);
    CHECK_MSG(st == ODX_OK || e.msg[0], "%s: error without a message", what);
    CHECK(st != ODX_OK || jpg);
    free(jpg);
}

static void test_bad_input(void)
{
    expect_fail(truncated(make_png(300, 300, PNG_COLOR_TYPE_RGB, 8, false, false, false), 200),
                ODX_ERR_DECODE, "truncated png");
    expect_fail(truncated(make_jpeg(300, 300, false), 100), ODX_ERR_DECODE, "truncated jpeg");
    expect_fail(make_png(60000, 60000, PNG_COLOR_TYPE_RGB, 8, false, false, true), ODX_ERR_LIMIT,
                "png over the pixel limit");
    expect_fail(make_png(5000, 5000, PNG_COLOR_TYPE_RGB, 8, true, false, true), ODX_ERR_LIMIT,
                "huge interlaced png");
    FILE *f = tmpfile();
    fwrite("GIF89a\x02\x00\x02\x00", 1, 10, f); /* read now; this one is cut short */
    rewind(f);
    expect_fail(f, ODX_ERR_DECODE, "truncated gif");
    f = tmpfile();
    fputs("%PDF-1.4 not an image", f);
    rewind(f);
    expect_fail(f, ODX_ERR_UNSUPPORTED, "pdf");
    f = tmpfile();
    rewind(f);
    expect_fail(f, ODX_ERR_UNSUPPORTED, "empty file");
    /* a PNG signature followed by garbage */
    f = tmpfile();
    const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};
    fwrite(sig, 1, 8, f);
    for (int i = 0; i < 100; i++)
        fputc((i * 37) & 0xFF, f);
    rewind(f);
    expect_fail(f, ODX_ERR_DECODE, "png garbage");
    unsigned char *jpg = NULL;
    size_t len = 0;
    odx_err e = {0};
    CHECK(srv_thumb_file("/nonexistent/dir/x.png", 256, 1, &jpg, &len, &e) == ODX_ERR_NOT_FOUND);
    CHECK(strstr(e.msg, "/nonexistent/dir/x.png") != NULL);
}

static void test_helpers(void)
{
    CHECK(srv_token_equal("secret", 6, "secret"));
    CHECK(!srv_token_equal("secreT", 6, "secret"));
    CHECK(!srv_token_equal("secre", 5, "secret"));
    CHECK(!srv_token_equal("secrets", 7, "secret"));
    CHECK(!srv_token_equal("", 0, "secret"));
    CHECK(srv_token_equal("secret-and-more", 6, "secret")); /* only given_len bytes count */

    long v = -1;
    CHECK(srv_parse_long("10", 1, 1000, &v) && v == 10);
    CHECK(!srv_parse_long("0", 1, 1000, &v));
    CHECK(!srv_parse_long("1001", 1, 1000, &v));
    CHECK(!srv_parse_long("abc", 1, 1000, &v));
    CHECK(!srv_parse_long("10abc", 1, 1000, &v));
    CHECK(!srv_parse_long("", 1, 1000, &v));
    CHECK(!srv_parse_long(" 5", 1, 1000, &v));
    CHECK(!srv_parse_long("99999999999999999999999", 1, 1000, &v));
    CHECK(srv_parse_long("-3", -5, 5, &v) && v == -3);

    bool b = false;
    CHECK(srv_parse_bool("", &b) && b);
    CHECK(srv_parse_bool("TRUE", &b) && b);
    CHECK(srv_parse_bool("0", &b) && !b);
    CHECK(!srv_parse_bool("maybe", &b));

    CHECK(srv_valid_date("2024-01-31"));
    CHECK(!srv_valid_date("2024-13-01"));
    CHECK(!srv_valid_date("2024-1-01"));
    CHECK(!srv_valid_date("yesterday"));

    CHECK(srv_utf8_valid("plain", 5));
    CHECK(srv_utf8_valid("\xe9\xa5\xbc\xe5\x9b\xbe", 6)); /* 饼图 */
    CHECK(!srv_utf8_valid("\xe9\xa5", 2));                 /* truncated */
    CHECK(!srv_utf8_valid("\xc0\xaf", 2));                 /* overlong */
    CHECK(!srv_utf8_valid("\xed\xa0\x80", 3));             /* surrogate */
    CHECK(!srv_utf8_valid("a\0b", 3));                     /* NUL */
    CHECK(!srv_utf8_valid("\xff", 1));

    char *f = srv_utf8_fix("a\xff" "b\xe9\xa5\xbc", 6);
    CHECK_STR(f, "a?b\xe9\xa5\xbc");
    free(f);
    f = srv_utf8_fix("x\xe9\xa5", 3); /* cut inside a character */
    CHECK_STR(f, "x??");
    CHECK(srv_utf8_valid(f, strlen(f)));
    free(f);
    CHECK(srv_ui_html_len == strlen(srv_ui_html) && strstr(srv_ui_html, "search?") != NULL);
}

int main(int argc, char **argv)
{
    /* test_srv_thumb --write-progressive FILE W H BANDS: the integration
     * test's many-scan JPEG */
    if (argc == 6 && strcmp(argv[1], "--write-progressive") == 0) {
        FILE *f = fopen(argv[2], "wb");
        if (!f)
            return 1;
        write_progressive(f, atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
        return fclose(f) == 0 ? 0 : 1;
    }
    test_budget();
    test_png();
    test_jpeg();
    test_bad_input();
    test_helpers();
    return check_result("test_srv_thumb");
}

/* test_cap_decode.c - unit tests for captioner/decode.c: PNG and JPEG images
 * are generated in memory here with libpng/libjpeg, decoded, and checked;
 * broken inputs (truncated, garbage, bombs, mutated bytes) must fail cleanly. */
#include "captioner.h"
#include "check.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <png.h>

/* ------------------------------------------------------ PNG writer ---- */

typedef struct mbuf {
    uint8_t *p;
    size_t len, cap;
} mbuf;

static void mb_write(png_structp png, png_bytep d, size_t n)
{
    mbuf *b = png_get_io_ptr(png);
    if (b->len + n > b->cap) {
        size_t nc = (b->len + n) * 2 + 64;
        b->p = realloc(b->p, nc);
        b->cap = nc;
    }
    memcpy(b->p + b->len, d, n);
    b->len += n;
}
static void mb_flush(png_structp png) { (void)png; }

/* rows: h rows of rowbytes each, already in the file's layout. */
static mbuf make_png(int w, int h, int depth, int ctype, int interlace,
                     const uint8_t *rows, size_t rowbytes, const png_color *pal,
                     int n_pal, const png_byte *trns, int n_trns,
                     const png_color_16 *trns_col)
{
    mbuf b = {0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        free(b.p);
        mbuf z = {0};
        return z;
    }
    png_set_write_fn(png, &b, mb_write, mb_flush);
    png_set_IHDR(png, info, w, h, depth, ctype, interlace, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    if (pal)
        png_set_PLTE(png, info, pal, n_pal);
    if (trns || trns_col)
        png_set_tRNS(png, info, trns, n_trns, trns_col);
    png_write_info(png, info);
    png_set_swap(png); /* 16-bit samples given in host (little-endian) order */
    png_bytep *rp = malloc(sizeof *rp * h);
    for (int y = 0; y < h; y++)
        rp[y] = (png_bytep)rows + rowbytes * y;
    png_write_image(png, rp);
    png_write_end(png, NULL);
    free(rp);
    png_destroy_write_struct(&png, &info);
    return b;
}

/* ----------------------------------------------------- JPEG writer ---- */

/* comps 1 (gray), 3 (RGB) or 4 (CMYK as given); app1 optional. */
static mbuf make_jpeg(int w, int h, int comps, const uint8_t *pix, int quality,
                      const uint8_t *app1, size_t app1_len)
{
    struct jpeg_compress_struct ci;
    struct jpeg_error_mgr je;
    unsigned char *out = NULL;
    unsigned long out_len = 0;
    ci.err = jpeg_std_error(&je);
    jpeg_create_compress(&ci);
    jpeg_mem_dest(&ci, &out, &out_len);
    ci.image_width = w;
    ci.image_height = h;
    ci.input_components = comps;
    ci.in_color_space = comps == 1 ? JCS_GRAYSCALE : comps == 3 ? JCS_RGB : JCS_CMYK;
    jpeg_set_defaults(&ci);
    jpeg_set_quality(&ci, quality, TRUE);
    jpeg_start_compress(&ci, TRUE);
    if (app1)
        jpeg_write_marker(&ci, JPEG_APP0 + 1, app1, (unsigned)app1_len);
    while (ci.next_scanline < ci.image_height) {
        JSAMPROW r = (JSAMPROW)(pix + (size_t)ci.next_scanline * w * comps);
        jpeg_write_scanlines(&ci, &r, 1);
    }
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    mbuf b = {out, out_len, out_len};
    return b;
}

static bool px_near(const cap_image *im, int x, int y, int r, int g, int b, int tol)
{
    const uint8_t *p = im->rgb + ((size_t)y * im->w + x) * 3;
    bool ok = abs(p[0] - r) <= tol && abs(p[1] - g) <= tol && abs(p[2] - b) <= tol;
    if (!ok)
        fprintf(stderr, "  pixel (%d,%d) = %d,%d,%d, want %d,%d,%d +-%d\n", x, y, p[0],
                p[1], p[2], r, g, b, tol);
    return ok;
}

static odx_status dec(const mbuf *b, int max_side, cap_header *h, cap_image *im,
                      odx_err *e)
{
    cap_limits lim = {.max_pixels = 50LL * 1000 * 1000, .max_file_bytes = 64 << 20};
    memset(e, 0, sizeof *e);
    return cap_decode(b->p, b->len, "t", &lim, max_side, h, im, e);
}

/* A deterministic pseudo-random generator so failures reproduce. */
static uint32_t rng_state = 12345;
static uint32_t rnd(void)
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return rng_state >> 8;
}

/* ------------------------------------------------------------ tests ---- */

static void test_png_rgb(void)
{
    int w = 7, h = 5;
    uint8_t px[7 * 5 * 3];
    for (int i = 0; i < w * h; i++) {
        px[3 * i] = (uint8_t)(i * 7);
        px[3 * i + 1] = (uint8_t)(255 - i * 3);
        px[3 * i + 2] = (uint8_t)(i * 13);
    }
    for (int il = 0; il < 2; il++) {
        mbuf b = make_png(w, h, 8, PNG_COLOR_TYPE_RGB,
                          il ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, px, w * 3,
                          NULL, 0, NULL, 0, NULL);
        cap_header hd;
        cap_image im = {0};
        odx_err e;
        CHECK(dec(&b, 0, &hd, &im, &e) == ODX_OK);
        CHECK(im.w == w && im.h == h);
        CHECK_STR(hd.format, "png");
        CHECK(hd.width == w && hd.height == h && hd.orientation == 1 && !hd.has_exif);
        CHECK(im.rgb && memcmp(im.rgb, px, sizeof px) == 0);
        cap_image_free(&im);
        CHECK(im.rgb == NULL && im.w == 0);
        free(b.p);
    }
}

static void test_png_kinds(void)
{
    cap_header hd;
    cap_image im = {0};
    odx_err e;
    /* 8-bit gray */
    uint8_t g8[4 * 2] = {0, 50, 100, 150, 200, 250, 255, 1};
    mbuf b = make_png(4, 2, 8, PNG_COLOR_TYPE_GRAY, 0, g8, 4, NULL, 0, NULL, 0, NULL);
    CHECK(dec(&b, 0, &hd, &im, &e) == ODX_OK);
    CHECK(im.w == 4 && im.h == 2);
    CHECK(im.rgb && px_near(&im, 1, 0, 50, 50, 50, 0) && px_near(&im, 2, 1, 255, 255, 255, 0));
    cap_image_free(&im);
    free(b.p);

    /* 1-bit gray: 8 pixels 10110000 -> white black white white black... */
    uint8_t g1[1] = {0xB0};
    b = make_png(8, 1, 1, PNG_COLOR_TYPE_GRAY, 0, g1, 1, NULL, 0, NULL, 0, NULL);
    CHECK(dec(&b, 0, &hd, &im, &e) == ODX_OK);
    CHECK(im.w == 8 && im.rgb && px_near(&im, 0, 0, 255, 255, 255, 0) &&
          px_near(&im, 1, 0, 0, 0, 0, 0) && px_near(&im, 3, 0, 255, 255, 255, 0) &&
          px_near(&im, 7, 0, 0, 0, 0, 0));
    cap_image_free(&im);
    free(b.p);

    /* palette (4-bit) with a transparent entry -> white */
    png_color pal[3] = {{255, 0, 0}, {0, 0, 255}, {0, 0, 0}};
    png_byte trns[3] = {255, 255, 0};
    uint8_t p4[2] = {0x01, 0x20}; /* indices 0,1,2,0 */
    b = make_png(4, 1, 4, PNG_COLOR_TYPE_PALETTE, 0, p4, 2, pal, 3, trns, 3, NULL);
    CHECK(dec(&b, 0, &hd, &im, &e) == ODX_OK);
    CHECK(im.w == 4 && im.rgb && px_near(&im, 0, 0, 255, 0, 0, 0) &&
          px_near(&im, 1, 0, 0, 0, 255, 0) && px_near(&im, 2, 0, 255, 255, 255, 0) &&
          px_near(&im, 3, 0, 255, 0, 0, 0));
    cap_image_free(&im);
    free(b.p);

    /* 16-bit RGB: high bytes survive */
    uint16_t r16[2 * 3] = {0xFFFF, 0x8000, 0x0000, 0x1234, 0xABCD, 0x7F00};
    b = make_png(2, 1, 16, PNG_COLOR_TYPE_RGB, 0, (uint8_t *)r16, 12, NULL, 0, NULL, 0, NULL);
    CHECK(dec(&b, 0, &hd, &im, &e) == ODX_OK);
    CHECK(im.w == 2 && im.rgb && px_near(&im, 0, 0, 255, 128, 0, 1) &&
          px_near(&im, 1, 0, 0x12, 0xAB, 0x7F, 1));
    cap_image_free(&im);
    free(b.p);

    /* RGBA: transparent black text background must become white; half
     * alpha blends with white. */
    uint8_t rgba[3 * 4] = {0, 0, 0, 0, 0, 0, 0, 255, 0, 0, 0, 128};
    b = make_png(3, 1, 8, PNG_COLOR_TYPE_RGB_ALPHA, 0, rgba, 12, NULL, 0, NULL, 0, NULL);
    CHECK(dec(&b, 0, &hd, &im, &e) == ODX_OK);
    CHECK(im.w == 3 && im.rgb && px_near(&im, 0, 0, 255, 255, 255, 0) &&
          px_near(&im, 1, 0, 0, 0, 0, 0) && px_near(&im, 2, 0, 127, 127, 127, 1));
    cap_image_free(&im);
    free(b.p);

    /* gray + alpha, interlaced */
    uint8_t ga[2 * 2] = {10, 0, 10, 255};
    b = make_png(2, 1, 8, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_INTERLACE_ADAM7, ga, 4, NULL, 0,
                 NULL, 0, NULL);
    CHECK(dec(&b, 0, &hd, &im, &e) == ODX_OK);
    CHECK(im.w == 2 && im.rgb && px_near(&im, 0, 0, 255, 255, 255, 0) &&
          px_near(&im, 1, 0, 10, 10, 10, 0));
    cap_image_free(&im);
    free(b.p);

    /* RGB with a tRNS colour key */
    uint8_t rgb[2 * 3] = {1, 2, 3, 9, 9, 9};
    png_color_16 key = {.red = 1, .green = 2, .blue = 3};
    b = make_png(2, 1, 8, PNG_COLOR_TYPE_RGB, 0, rgb, 6, NULL, 0, NULL, 0, &key);
    CHECK(dec(&b, 0, &hd, &im, &e) == ODX_OK);
    CHECK(im.w == 2 && im.rgb && px_near(&im, 0, 0, 255, 255, 255, 0) &&
          px_near(&im, 1, 0, 9, 9, 9, 0));
    cap_image_free(&im);
    free(b.p);
}

static uint8_t *noise_rgb(int w, int h)
{
    uint8_t *p = malloc((size_t)w * h * 3);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *q = p + ((size_t)y * w + x) * 3;
            q[0] = (uint8_t)(x * 255 / w);
            q[1] = (uint8_t)(y * 255 / h);
            q[2] = (uint8_t)(rnd() & 0xff);
        }
    return p;
}

static void test_png_max_side(void)
{
    int w = 300, h = 100;
    uint8_t *px = noise_rgb(w, h);
    mbuf b = make_png(w, h, 8, PNG_COLOR_TYPE_RGB, 0, px, w * 3, NULL, 0, NULL, 0, NULL);
    cap_header hd;
    cap_image im = {0};
    odx_err e;
    CHECK(dec(&b, 60, &hd, &im, &e) == ODX_OK);
    CHECK(im.w == 60 && im.h == 20);
    CHECK(hd.width == 300 && hd.height == 100);
    /* red channel is a horizontal ramp: the box average keeps it */
    CHECK(im.rgb && abs(im.rgb[(10 * 60 + 30) * 3] - 127) <= 3);
    cap_image_free(&im);
    free(b.p);
    free(px);
}

static void test_jpeg_basic(void)
{
    int w = 64, h = 48;
    uint8_t *px = malloc((size_t)w * h * 3);
    for (int i = 0; i < w * h; i++) {
        px[3 * i] = 200;
        px[3 * i + 1] = 60;
        px[3 * i + 2] = 30;
    }
    mbuf b = make_jpeg(w, h, 3, px, 95, NULL, 0);
    cap_header hd;
    cap_image im = {0};
    odx_err e;
    CHECK(dec(&b, 0, &hd, &im, &e) == ODX_OK);
    CHECK_STR(hd.format, "jpeg");
    CHECK(im.w == w && im.h == h && hd.width == w && !hd.has_exif && hd.orientation == 1);
    CHECK(im.rgb && px_near(&im, 10, 10, 200, 60, 30, 6) && px_near(&im, 63, 47, 200, 60, 30, 6));
    cap_image_free(&im);
    free(b.p);

    /* grayscale JPEG comes out as RGB with equal channels */
    uint8_t *g = malloc((size_t)w * h);
    memset(g, 90, (size_t)w * h);
    b = make_jpeg(w, h, 1, g, 95, NULL, 0);
    CHECK(dec(&b, 0, &hd, &im, &e) == ODX_OK);
    CHECK(im.w == w && im.rgb && px_near(&im, 5, 5, 90, 90, 90, 2));
    cap_image_free(&im);
    free(b.p);

    /* CMYK with an Adobe marker (libjpeg writes one): stored inverted, so
     * 255,0,0,255 means no cyan, full magenta+yellow, no black = red. */
    uint8_t *cm = malloc((size_t)w * h * 4);
    for (int i = 0; i < w * h; i++) {
        cm[4 * i] = 255;
        cm[4 * i + 1] = 0;
        cm[4 * i + 2] = 0;
        cm[4 * i + 3] = 255;
    }
    b = make_jpeg(w, h, 4, cm, 95, NULL, 0);
    CHECK(dec(&b, 0, &hd, &im, &e) == ODX_OK);
    CHECK(im.w == w && im.rgb && px_near(&im, 20, 20, 255, 0, 0, 8));
    cap_image_free(&im);
    free(b.p);
    free(cm);
    free(g);
    free(px);
}

static void test_jpeg_scale(void)
{
    int w = 800, h = 600;
    uint8_t *px = noise_rgb(w, h);
    mbuf b = make_jpeg(w, h, 3, px, 80, NULL, 0);
    int sides[] = {150, 200, 300, 400, 512, 799, 800, 1000};
    for (size_t i = 0; i < sizeof sides / sizeof *sides; i++) {
        cap_header hd;
        cap_image im = {0};
        odx_err e;
        int ms = sides[i];
        CHECK(dec(&b, ms, &hd, &im, &e) == ODX_OK);
        int lng = im.w > im.h ? im.w : im.h;
        int want_min = ms < 800 ? ms : 800;
        CHECK_MSG(lng >= want_min && (ms >= 800 || lng < 2 * ms), "max_side %d -> %dx%d", ms,
                  im.w, im.h);
        CHECK(hd.width == 800 && hd.height == 600);
        cap_image_free(&im);
    }
    /* 150 must use 1/4 (200x150), not full size */
    cap_header hd;
    cap_image im = {0};
    odx_err e;
    CHECK(dec(&b, 150, &hd, &im, &e) == ODX_OK && im.w == 200 && im.h == 150);
    cap_image_free(&im);
    free(b.p);
    free(px);
}

/* Little-endian TIFF/EXIF block: IFD0 {Make, Model, Orientation, ExifIFD},
 * ExifIFD {DateTimeOriginal}. */
static size_t make_exif(uint8_t *o, int orientation)
{
    memset(o, 0, 256);
    memcpy(o, "Exif\0\0", 6);
    uint8_t *t = o + 6; /* offsets count from here */
    size_t n = 0;
#define P16(v) (t[n] = (uint8_t)((v) & 0xff), t[n + 1] = (uint8_t)((v) >> 8), n += 2)
#define P32(v) (P16((v) & 0xffff), P16(((uint32_t)(v)) >> 16))
    memcpy(t, "II*\0", 4);
    n = 4;
    P32(8);
    /* IFD0 at 8: 4 entries -> 2 + 4*12 + 4 = 54 bytes; data from 62 */
    P16(4);
    P16(0x010F); P16(2); P32(6); P32(62);   /* Make "Canon" */
    P16(0x0110); P16(2); P32(13); P32(68);  /* Model "Canon EOS 5D" */
    P16(0x0112); P16(3); P32(1); P16(orientation); P16(0);
    P16(0x8769); P16(4); P32(1); P32(82);   /* Exif IFD */
    P32(0);
    memcpy(t + 62, "Canon\0", 6);
    memcpy(t + 68, "Canon EOS 5D\0", 13);
    n = 82;
    P16(1);
    P16(0x9003); P16(2); P32(20); P32(100);
    P32(0);
    memcpy(t + 100, "2019:07:14 18:30:05\0", 20);
#undef P16
#undef P32
    return 6 + 120;
}

static void test_jpeg_exif(void)
{
    int w = 64, h = 32;
    uint8_t *px = malloc((size_t)w * h * 3);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *q = px + ((size_t)y * w + x) * 3;
            bool l = x < 32, t = y < 16;
            uint8_t c[3];
            if (t && l) { c[0] = 255; c[1] = 0; c[2] = 0; }         /* red */
            else if (t) { c[0] = 0; c[1] = 0; c[2] = 255; }         /* blue */
            else if (l) { c[0] = 0; c[1] = 255; c[2] = 0; }         /* green */
            else { c[0] = 255; c[1] = 255; c[2] = 255; }            /* white */
            memcpy(q, c, 3);
        }
    uint8_t app1[256];
    size_t al = make_exif(app1, 6);
    mbuf b = make_jpeg(w, h, 3, px, 95, app1, al);
    cap_header hd;
    cap_image im = {0};
    odx_err e;
    CHECK(dec(&b, 0, &hd, &im, &e) == ODX_OK);
    CHECK(hd.has_exif && hd.orientation == 6);
    CHECK(hd.width == 64 && hd.height == 32);
    CHECK(im.w == 32 && im.h == 64);
    CHECK_STR(hd.taken_at, "2019-07-14 18:30:05");
    CHECK_STR(hd.camera, "Canon EOS 5D");
    if (im.rgb && im.w == 32) {
        /* rotated 90 degrees clockwise: top-left was bottom-left (green),
         * top-right was top-left (red), bottom-right was top-right (blue). */
        CHECK(px_near(&im, 4, 4, 0, 255, 0, 40));
        CHECK(px_near(&im, 27, 4, 255, 0, 0, 40));
        CHECK(px_near(&im, 4, 59, 255, 255, 255, 40));
        CHECK(px_near(&im, 27, 59, 0, 0, 255, 40));
    }
    cap_image_free(&im);
    free(b.p);

    /* orientation 3 (180): top-left becomes white */
    al = make_exif(app1, 3);
    b = make_jpeg(w, h, 3, px, 95, app1, al);
    CHECK(dec(&b, 0, &hd, &im, &e) == ODX_OK);
    CHECK(hd.orientation == 3 && im.w == 64 && im.h == 32);
    CHECK(im.rgb && px_near(&im, 4, 4, 255, 255, 255, 40) && px_near(&im, 60, 28, 255, 0, 0, 40));
    cap_image_free(&im);
    free(b.p);

    /* orientation 8 (270 cw) with DCT scaling: top-left was top-right (blue) */
    al = make_exif(app1, 8);
    b = make_jpeg(w, h, 3, px, 95, app1, al);
    CHECK(dec(&b, 32, &hd, &im, &e) == ODX_OK);
    CHECK(im.w == 16 && im.h == 32);
    CHECK(im.rgb && px_near(&im, 2, 2, 0, 0, 255, 50));
    cap_image_free(&im);
    free(b.p);
    free(px);
}

static void test_bad_inputs(void)
{
    cap_header hd;
    cap_image im = {0};
    odx_err e = {0};
    cap_limits lim = {.max_pixels = 1000000, .max_file_bytes = 1 << 20};

    CHECK(cap_decode((const uint8_t *)"", 0, "empty.png", &lim, 0, &hd, &im, &e) ==
          ODX_ERR_DECODE);
    CHECK(strstr(e.msg, "empty") != NULL && strstr(e.msg, "empty.png") != NULL);
    CHECK(im.rgb == NULL);

    memset(&e, 0, sizeof e);
    /* GIF is read now (test_cap_formats); ten bytes of one are truncated */
    const char *gif = "GIF89a\x01\x00\x01\x00";
    CHECK(cap_decode((const uint8_t *)gif, 10, "x.gif", &lim, 0, &hd, &im, &e) ==
          ODX_ERR_DECODE);
    CHECK_MSG(strstr(e.msg, "x.gif") != NULL && strstr(e.msg, "GIF") != NULL, "%s", e.msg);
    CHECK(im.rgb == NULL);

    memset(&e, 0, sizeof e);
    CHECK(cap_decode((const uint8_t *)"%PDF-1.4 xxxxx", 14, "x.pdf", &lim, 0, &hd, &im, &e) ==
          ODX_ERR_UNSUPPORTED);
    CHECK_MSG(strstr(e.msg, "not an image format") != NULL && strstr(e.msg, "PDF") != NULL,
              "%s", e.msg);

    memset(&e, 0, sizeof e);
    uint8_t garbage[1000];
    for (size_t i = 0; i < sizeof garbage; i++)
        garbage[i] = (uint8_t)(rnd() & 0xff);
    garbage[0] = 'x';
    CHECK(cap_decode(garbage, sizeof garbage, "g", &lim, 0, &hd, &im, &e) ==
          ODX_ERR_UNSUPPORTED);
    CHECK(strstr(e.msg, "starts with 78") != NULL);

    /* right magic, garbage after */
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    memcpy(garbage, sig, 8);
    memset(&e, 0, sizeof e);
    CHECK(cap_decode(garbage, sizeof garbage, "g.png", &lim, 0, &hd, &im, &e) ==
          ODX_ERR_DECODE);
    garbage[0] = 0xFF;
    garbage[1] = 0xD8;
    garbage[2] = 0xFF;
    memset(&e, 0, sizeof e);
    CHECK(cap_decode(garbage, sizeof garbage, "g.jpg", &lim, 0, &hd, &im, &e) ==
          ODX_ERR_DECODE);
    CHECK(im.rgb == NULL);

    /* file size limit */
    memset(&e, 0, sizeof e);
    cap_limits tiny = {.max_pixels = 1000000, .max_file_bytes = 100};
    CHECK(cap_decode(garbage, sizeof garbage, "big", &tiny, 0, &hd, &im, &e) == ODX_ERR_LIMIT);
}

/* Writes only the signature + IHDR of a huge PNG: the decoder must refuse it
 * from the header alone. */
static void test_bomb(void)
{
    mbuf b = {0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png))) {
        CHECK(!"libpng refused to write the bomb header");
        png_destroy_write_struct(&png, &info);
        free(b.p);
        return;
    }
    png_set_write_fn(png, &b, mb_write, mb_flush);
    png_set_IHDR(png, info, 100000, 100000, 8, PNG_COLOR_TYPE_RGB, 0, 0, 0);
    png_write_info(png, info);
    png_destroy_write_struct(&png, &info);
    /* add some zero bytes as if IDAT followed */
    uint8_t *p = realloc(b.p, b.len + 4096);
    memset(p + b.len, 0, 4096);
    b.p = p;
    b.len += 4096;
    cap_header hd;
    cap_image im = {0};
    odx_err e = {0};
    cap_limits lim = {.max_pixels = 100LL * 1000 * 1000, .max_file_bytes = 1 << 20};
    CHECK(cap_decode(b.p, b.len, "bomb.png", &lim, 0, &hd, &im, &e) == ODX_ERR_LIMIT);
    CHECK_MSG(strstr(e.msg, "100000x100000") != NULL, "%s", e.msg);
    CHECK(hd.width == 100000 && hd.height == 100000);
    CHECK(im.rgb == NULL);
    free(b.p);

    /* same for a JPEG whose SOF claims 60000x60000: patch a real JPEG */
    uint8_t px[16 * 16 * 3];
    memset(px, 128, sizeof px);
    mbuf j = make_jpeg(16, 16, 3, px, 90, NULL, 0);
    bool patched = false;
    for (size_t i = 2; i + 9 < j.len; i++)
        if (j.p[i] == 0xFF && j.p[i + 1] == 0xC0) {
            j.p[i + 5] = 0xEA; j.p[i + 6] = 0x60; /* height 60000 */
            j.p[i + 7] = 0xEA; j.p[i + 8] = 0x60; /* width 60000 */
            patched = true;
            break;
        }
    CHECK(patched);
    memset(&e, 0, sizeof e);
    CHECK(cap_decode(j.p, j.len, "bomb.jpg", &lim, 0, &hd, &im, &e) == ODX_ERR_LIMIT);
    CHECK(strstr(e.msg, "60000x60000") != NULL);
    free(j.p);
}

static void test_truncated(void)
{
    int w = 200, h = 150;
    uint8_t *px = noise_rgb(w, h);
    mbuf bp = make_png(w, h, 8, PNG_COLOR_TYPE_RGB, 0, px, w * 3, NULL, 0, NULL, 0, NULL);
    mbuf bj = make_jpeg(w, h, 3, px, 85, NULL, 0);
    mbuf *bs[2] = {&bp, &bj};
    for (int k = 0; k < 2; k++) {
        mbuf *b = bs[k];
        size_t cuts[] = {3, 9, 30, b->len / 3, b->len / 2, b->len * 9 / 10, b->len - 40};
        for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
            cap_header hd;
            cap_image im = {0};
            odx_err e = {0};
            odx_status st = cap_decode(b->p, cuts[i], "cut", NULL, 0, &hd, &im, &e);
            CHECK_MSG(st == ODX_ERR_DECODE || (cuts[i] < 8 && st == ODX_ERR_UNSUPPORTED),
                      "%s cut at %zu of %zu: status %d (%s)", k ? "jpeg" : "png", cuts[i],
                      b->len, st, e.msg);
            CHECK(im.rgb == NULL);
        }
        /* the whole file decodes */
        cap_header hd;
        cap_image im = {0};
        odx_err e = {0};
        CHECK(cap_decode(b->p, b->len, "whole", NULL, 0, &hd, &im, &e) == ODX_OK);
        cap_image_free(&im);
    }
    /* a mid-scan cut says "truncated" */
    odx_err e = {0};
    cap_header hd;
    cap_image im = {0};
    cap_decode(bj.p, bj.len / 2, "half.jpg", NULL, 0, &hd, &im, &e);
    CHECK(strstr(e.msg, "truncated") != NULL);
    memset(&e, 0, sizeof e);
    cap_decode(bp.p, bp.len / 2, "half.png", NULL, 0, &hd, &im, &e);
    CHECK(strstr(e.msg, "truncated") != NULL);

    /* mutated bytes: never a crash, and success always yields pixels */
    int ok = 0, bad = 0;
    for (int it = 0; it < 300; it++) {
        mbuf *b = bs[it & 1];
        uint8_t *c = malloc(b->len);
        memcpy(c, b->p, b->len);
        int nmut = 1 + (int)(rnd() % 8);
        for (int m = 0; m < nmut; m++)
            c[rnd() % b->len] = (uint8_t)rnd();
        memset(&e, 0, sizeof e);
        odx_status st = cap_decode(c, b->len, "mut", NULL, 256, &hd, &im, &e);
        if (st == ODX_OK) {
            CHECK(im.rgb && im.w > 0 && im.h > 0);
            ok++;
        } else {
            CHECK(im.rgb == NULL && e.msg[0]);
            bad++;
        }
        cap_image_free(&im);
        free(c);
    }
    CHECK(ok + bad == 300);
    free(bp.p);
    free(bj.p);
    free(px);
}

static void test_fit(void)
{
    cap_image src = {100, 50, malloc(100 * 50 * 3)};
    for (int y = 0; y < 50; y++)
        for (int x = 0; x < 100; x++)
            memset(src.rgb + (y * 100 + x) * 3, ((x + y) & 1) ? 255 : 0, 3);
    cap_image out = {0};
    odx_err e = {0};
    CHECK(cap_image_fit(&src, 10, &out, &e) == ODX_OK);
    CHECK(out.w == 10 && out.h == 5);
    CHECK(out.rgb && px_near(&out, 3, 2, 128, 128, 128, 1));
    cap_image_free(&out);
    CHECK(cap_image_fit(&src, 500, &out, &e) == ODX_OK);
    CHECK(out.w == 100 && out.h == 50 && out.rgb != src.rgb &&
          memcmp(out.rgb, src.rgb, 100 * 50 * 3) == 0);
    cap_image_free(&out);
    /* tall thin: never zero width */
    cap_image thin = {1, 1000, calloc(1000, 3)};
    CHECK(cap_image_fit(&thin, 100, &out, &e) == ODX_OK && out.w == 1 && out.h == 100);
    cap_image_free(&out);
    CHECK(cap_image_fit(&src, 0, &out, &e) == ODX_ERR_INVALID);
    cap_image_free(&thin);
    cap_image_free(&src);
    cap_image_free(NULL);
}

int main(void)
{
    test_png_rgb();
    test_png_kinds();
    test_png_max_side();
    test_jpeg_basic();
    test_jpeg_scale();
    test_jpeg_exif();
    test_bad_inputs();
    test_bomb();
    test_truncated();
    test_fit();
    return check_result("test_cap_decode");
}

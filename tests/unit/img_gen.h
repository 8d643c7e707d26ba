/* img_gen.h - writes small PNG and JPEG files into memory for the decoder
 * tests and the fuzz seeds (test_cap_limits.c, tests/fuzz/make_seeds.c):
 * any colour type, interlace, extra chunks; JPEG baseline, progressive or
 * with a caller's scan script, grey/RGB/CMYK, an EXIF APP1. Header-only,
 * test use; exits on an allocation failure. */
#ifndef ODX_IMG_GEN_H
#define ODX_IMG_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <png.h>

typedef struct ig_buf {
    uint8_t *p;
    size_t n, cap;
} ig_buf;

static inline void ig_put(ig_buf *b, const void *p, size_t n)
{
    if (b->n + n > b->cap) {
        size_t c = b->cap ? b->cap : 4096;
        while (c < b->n + n) c *= 2;
        uint8_t *g = realloc(b->p, c);
        if (!g) {
            fprintf(stderr, "img_gen: out of memory\n");
            exit(2);
        }
        b->p = g;
        b->cap = c;
    }
    memcpy(b->p + b->n, p, n);
    b->n += n;
}

static inline void ig_be32(ig_buf *b, uint32_t v)
{
    uint8_t q[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    ig_put(b, q, 4);
}

static inline uint32_t ig_crc(uint32_t c, const uint8_t *p, size_t n)
{
    c = ~c;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1)));
    }
    return ~c;
}

/* A raw PNG chunk with its CRC. */
static inline void ig_png_chunk(ig_buf *b, const char type[4], const void *data, size_t n)
{
    ig_be32(b, (uint32_t)n);
    ig_put(b, type, 4);
    if (n) ig_put(b, data, n);
    uint32_t c = ig_crc(0, (const uint8_t *)type, 4);
    if (n) c = ig_crc(c, data, n);
    ig_be32(b, c);
}

static inline void ig_png_write_fn(png_structp png, png_bytep p, size_t n)
{
    ig_put(png_get_io_ptr(png), p, n);
}
static inline void ig_png_flush(png_structp png) { (void)png; }

/* Pixel value of a simple pattern at (x, y), channel c. */
static inline uint8_t ig_pat(int x, int y, int c)
{
    return (uint8_t)((x * 37 + y * 11 + c * 71) ^ ((x / 4 + y / 4) & 1 ? 0x55 : 0));
}

/* PNG of w x h, colour type ct (PNG_COLOR_TYPE_*), bit depth bd; palette
 * images get a 16-colour palette and a tRNS; text != NULL adds a tEXt. */
static inline ig_buf ig_png(int w, int h, int ct, int bd, bool interlace, const char *text)
{
    ig_buf b = {0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png))) {
        fprintf(stderr, "img_gen: libpng write failed\n");
        exit(2);
    }
    png_set_write_fn(png, &b, ig_png_write_fn, ig_png_flush);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, bd, ct,
                 interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (ct == PNG_COLOR_TYPE_PALETTE) {
        png_color pal[16];
        png_byte tr[16];
        for (int i = 0; i < 16; i++) {
            pal[i].red = (png_byte)(i * 16);
            pal[i].green = (png_byte)(255 - i * 16);
            pal[i].blue = (png_byte)(i * 7);
            tr[i] = (png_byte)(i * 17);
        }
        png_set_PLTE(png, info, pal, 1 << (bd < 4 ? bd : 4));
        png_set_tRNS(png, info, tr, 1 << (bd < 4 ? bd : 4), NULL);
    }
    if (text) {
        png_text t = {0};
        t.compression = PNG_TEXT_COMPRESSION_NONE;
        t.key = (char *)"Comment";
        t.text = (char *)text;
        png_set_text(png, info, &t, 1);
    }
    png_write_info(png, info);
    int ch = ct == PNG_COLOR_TYPE_GRAY || ct == PNG_COLOR_TYPE_PALETTE ? 1
           : ct == PNG_COLOR_TYPE_GRAY_ALPHA ? 2 : ct == PNG_COLOR_TYPE_RGB ? 3 : 4;
    size_t rowb = ((size_t)w * ch * bd + 7) / 8;
    png_bytep row = calloc(1, rowb + 8);
    int passes = png_set_interlace_handling(png);
    for (int p = 0; p < passes; p++)
        for (int y = 0; y < h; y++) {
            memset(row, 0, rowb);
            for (int x = 0; x < w; x++)
                for (int c = 0; c < ch; c++) {
                    unsigned v = ig_pat(x, y, c);
                    if (ct == PNG_COLOR_TYPE_PALETTE) v &= (1u << (bd < 4 ? bd : 4)) - 1;
                    size_t bit = ((size_t)x * ch + c) * bd;
                    if (bd == 16) {
                        row[bit / 8] = (png_byte)v;
                        row[bit / 8 + 1] = (png_byte)(v * 3);
                    } else if (bd == 8) {
                        row[bit / 8] = (png_byte)v;
                    } else {
                        unsigned vv = ct == PNG_COLOR_TYPE_PALETTE ? v : v >> (8 - bd);
                        row[bit / 8] |= (png_byte)(vv << (8 - bd - bit % 8));
                    }
                }
            png_write_row(png, row);
        }
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    free(row);
    return b;
}

/* ---------------------------------------------------------------- JPEG */

typedef struct ig_jdst {
    struct jpeg_destination_mgr pub;
    ig_buf *b;
    JOCTET tmp[4096];
} ig_jdst;

static inline void ig_jinit(j_compress_ptr ci)
{
    ig_jdst *d = (ig_jdst *)ci->dest;
    d->pub.next_output_byte = d->tmp;
    d->pub.free_in_buffer = sizeof d->tmp;
}
static inline boolean ig_jempty(j_compress_ptr ci)
{
    ig_jdst *d = (ig_jdst *)ci->dest;
    ig_put(d->b, d->tmp, sizeof d->tmp);
    d->pub.next_output_byte = d->tmp;
    d->pub.free_in_buffer = sizeof d->tmp;
    return TRUE;
}
static inline void ig_jterm(j_compress_ptr ci)
{
    ig_jdst *d = (ig_jdst *)ci->dest;
    ig_put(d->b, d->tmp, sizeof d->tmp - d->pub.free_in_buffer);
}

typedef struct ig_jpeg_opts {
    int comps;          /* 1 grey, 3 RGB, 4 CMYK */
    bool progressive;   /* jpeg_simple_progression */
    const jpeg_scan_info *scans; /* custom scan script (progressive) */
    int n_scans;
    int orientation;    /* > 0: an EXIF APP1 with this orientation */
    int restart_rows;
    int quality;        /* 0: 85 */
} ig_jpeg_opts;

/* A scan script of many progressive scans for 3 components: DC at once,
 * then each AC coefficient of each component on its own with successive
 * approximation from bit al_first down to 0: 1 + 3 * 63 * (al_first + 1)
 * scans (1135 for al_first 5). *n gets the count; caller frees. */
static inline jpeg_scan_info *ig_many_scans(int al_first, int *n)
{
    int cap = 1 + 3 * 63 * (al_first + 1);
    jpeg_scan_info *s = calloc((size_t)cap, sizeof *s);
    int k = 0;
    s[k].comps_in_scan = 3;
    for (int c = 0; c < 3; c++) s[k].component_index[c] = c;
    k++;
    for (int c = 0; c < 3; c++)
        for (int ss = 1; ss <= 63; ss++)
            for (int al = al_first; al >= 0; al--) {
                s[k].comps_in_scan = 1;
                s[k].component_index[0] = c;
                s[k].Ss = ss;
                s[k].Se = ss;
                s[k].Ah = al == al_first ? 0 : al + 1;
                s[k].Al = al;
                k++;
            }
    *n = k;
    return s;
}

static inline ig_buf ig_jpeg(int w, int h, const ig_jpeg_opts *o)
{
    ig_buf b = {0};
    struct jpeg_compress_struct ci;
    struct jpeg_error_mgr jerr;
    ci.err = jpeg_std_error(&jerr);
    jpeg_create_compress(&ci);
    ig_jdst d = {.b = &b};
    d.pub.init_destination = ig_jinit;
    d.pub.empty_output_buffer = ig_jempty;
    d.pub.term_destination = ig_jterm;
    ci.dest = &d.pub;
    int nc = o && o->comps ? o->comps : 3;
    ci.image_width = (JDIMENSION)w;
    ci.image_height = (JDIMENSION)h;
    ci.input_components = nc;
    ci.in_color_space = nc == 1 ? JCS_GRAYSCALE : nc == 4 ? JCS_CMYK : JCS_RGB;
    jpeg_set_defaults(&ci);
    jpeg_set_quality(&ci, o && o->quality ? o->quality : 85, TRUE);
    if (o && o->restart_rows) ci.restart_in_rows = o->restart_rows;
    if (o && o->scans) {
        ci.scan_info = o->scans;
        ci.num_scans = o->n_scans;
    } else if (o && o->progressive) {
        jpeg_simple_progression(&ci);
    }
    jpeg_start_compress(&ci, TRUE);
    if (o && o->orientation > 0) {
        /* Exif\0\0, TIFF II header, IFD0 with one entry: Orientation. */
        uint8_t app1[] = {'E', 'x', 'i', 'f', 0, 0, 'I', 'I', 42, 0, 8, 0, 0, 0, 1, 0,
                          0x12, 0x01, 3, 0, 1, 0, 0, 0, (uint8_t)o->orientation, 0, 0, 0,
                          0, 0, 0, 0};
        jpeg_write_marker(&ci, JPEG_APP0 + 1, app1, sizeof app1);
    }
    JSAMPLE *row = malloc((size_t)w * nc);
    while (ci.next_scanline < ci.image_height) {
        for (int x = 0; x < w; x++)
            for (int c = 0; c < nc; c++)
                row[x * nc + c] = ig_pat(x, (int)ci.next_scanline, c);
        JSAMPROW r = row;
        jpeg_write_scanlines(&ci, &r, 1);
    }
    jpeg_finish_compress(&ci);
    jpeg_destroy_compress(&ci);
    free(row);
    return b;
}

#endif

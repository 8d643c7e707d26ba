/* fmt_gen.h - writes small WebP, GIF, TIFF, BMP, HEIC and AVIF files into
 * memory with the formats' own libraries (libwebp + mux, giflib, libtiff,
 * libheif; BMP by hand) for the decoder tests and the fuzz seeds
 * (test_cap_formats.c, tests/fuzz/make_seeds.c). Every image is the same
 * quadrant pattern (red, green / blue, white), so orientation, alpha and
 * offsets show in four pixels. Header-only, test use. */
#ifndef ODX_FMT_GEN_H
#define ODX_FMT_GEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gif_lib.h>
#include <libheif/heif.h>
#include <tiffio.h>
#include <webp/encode.h>
#include <webp/mux.h>

typedef struct buf {
    uint8_t *p;
    size_t n, cap;
} buf;

static inline void bput(buf *b, const void *p, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, p, n);
    b->n += n;
}
static inline void bput16(buf *b, unsigned v) { uint8_t x[2] = {v & 255, v >> 8}; bput(b, x, 2); }
static inline void bput32(buf *b, uint32_t v)
{
    uint8_t x[4] = {v & 255, (v >> 8) & 255, (v >> 16) & 255, v >> 24};
    bput(b, x, 4);
}

/* Quadrants: red top-left, green top-right, blue bottom-left, white
 * bottom-right; every corner differs, so any flip or turn shows. */
static const uint8_t Q[4][3] = {{220, 30, 30}, {30, 200, 40}, {30, 40, 220}, {250, 250, 250}};
static inline const uint8_t *quad_at(int x, int y, int w, int h)
{
    return Q[(y >= h / 2) * 2 + (x >= w / 2)];
}
static inline uint8_t *quad_rgb(int w, int h, int ch)
{
    uint8_t *p = malloc((size_t)w * h * ch);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            memcpy(p + ((size_t)y * w + x) * ch, quad_at(x, y, w, h), 3);
            if (ch == 4)
                p[((size_t)y * w + x) * 4 + 3] = 255;
        }
    return p;
}

/* A TIFF EXIF block (bare, as WebP and HEIF store it) with Orientation. */
static inline void exif_tiff(buf *b, int orientation)
{
    static const uint8_t head[8] = {'I', 'I', 42, 0, 8, 0, 0, 0};
    bput(b, head, 8);
    bput16(b, 1);          /* one entry */
    bput16(b, 0x0112);     /* Orientation */
    bput16(b, 3);          /* SHORT */
    bput32(b, 1);
    bput16(b, (unsigned)orientation);
    bput16(b, 0);
    bput32(b, 0);          /* no next IFD */
}

static inline buf webp_mux(const buf *img, const buf *exif)
{
    WebPMux *mux = WebPMuxNew();
    WebPData in = {img->p, img->n}, ex = {exif ? exif->p : NULL, exif ? exif->n : 0}, out;
    WebPMuxSetImage(mux, &in, 1);
    if (exif)
        WebPMuxSetChunk(mux, "EXIF", &ex, 1);
    WebPMuxAssemble(mux, &out);
    buf b = {0};
    bput(&b, out.bytes, out.size);
    WebPDataClear(&out);
    WebPMuxDelete(mux);
    return b;
}

static inline int gif_w(GifFileType *g, const GifByteType *p, int n)
{
    bput(g->UserData, p, (size_t)n);
    return n;
}

/* A GIF of the quadrant pattern (4-colour palette); frames > 1 adds
 * frames of one colour; transparent >= 0 marks that index transparent. */
static inline buf make_gif(int w, int h, int frames, int transparent, bool interlace)
{
    buf b = {0};
    int err;
    GifFileType *g = EGifOpen(&b, gif_w, &err);
    GifColorType cols[4];
    for (int i = 0; i < 4; i++)
        cols[i] = (GifColorType){Q[i][0], Q[i][1], Q[i][2]};
    ColorMapObject *cm = GifMakeMapObject(4, cols);
    EGifSetGifVersion(g, true);
    EGifPutScreenDesc(g, w, h, 2, 0, cm);
    GifPixelType *line = malloc((size_t)w);
    for (int f = 0; f < frames; f++) {
        GraphicsControlBlock gcb = {.DisposalMode = DISPOSAL_UNSPECIFIED, .DelayTime = 10,
                                    .TransparentColor = f == 0 ? transparent : NO_TRANSPARENT_COLOR};
        GifByteType ext[4];
        size_t len = EGifGCBToExtension(&gcb, ext);
        EGifPutExtension(g, GRAPHICS_EXT_FUNC_CODE, (int)len, ext);
        EGifPutImageDesc(g, 0, 0, w, h, interlace, NULL);
        static const int start[4] = {0, 4, 2, 1}, step[4] = {8, 8, 4, 2};
        for (int pass = 0; pass < (interlace ? 4 : 1); pass++)
            for (int y = interlace ? start[pass] : 0; y < h; y += interlace ? step[pass] : 1) {
                for (int x = 0; x < w; x++)
                    line[x] = f == 0 ? (GifPixelType)((y >= h / 2) * 2 + (x >= w / 2)) : 3;
                EGifPutLine(g, line, w);
            }
    }
    EGifCloseFile(g, &err);
    GifFreeMapObject(cm);
    free(line);
    return b;
}

typedef struct tw {
    int bps, spp, extra; /* extra: 0 none, EXTRASAMPLE_UNASSALPHA... */
    int orientation, pages;
    bool reduced_second; /* the second IFD is a reduced-size image */
    bool palette;
} tw;

static inline buf make_tiff(int w, int h, const tw *o)
{
    char path[] = "/tmp/odx_tiff_XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    TIFF *t = TIFFOpen(path, "w");
    int pages = o->pages ? o->pages : 1;
    for (int pg = 0; pg < pages; pg++) {
        TIFFSetField(t, TIFFTAG_IMAGEWIDTH, w);
        TIFFSetField(t, TIFFTAG_IMAGELENGTH, h);
        TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, o->palette ? 8 : o->bps);
        TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, o->palette ? 1 : o->spp);
        TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
        TIFFSetField(t, TIFFTAG_PHOTOMETRIC, o->palette ? PHOTOMETRIC_PALETTE : PHOTOMETRIC_RGB);
        TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_LZW);
        TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 8);
        if (o->orientation)
            TIFFSetField(t, TIFFTAG_ORIENTATION, o->orientation);
        if (pg == 1 && o->reduced_second)
            TIFFSetField(t, TIFFTAG_SUBFILETYPE, FILETYPE_REDUCEDIMAGE);
        else if (pages > 1)
            TIFFSetField(t, TIFFTAG_SUBFILETYPE, FILETYPE_PAGE);
        if (o->extra) {
            uint16_t ex = (uint16_t)o->extra;
            TIFFSetField(t, TIFFTAG_EXTRASAMPLES, 1, &ex);
        }
        if (o->palette) {
            uint16_t r[256] = {0}, g[256] = {0}, b[256] = {0};
            for (int i = 0; i < 4; i++) {
                r[i] = (uint16_t)(Q[i][0] * 257);
                g[i] = (uint16_t)(Q[i][1] * 257);
                b[i] = (uint16_t)(Q[i][2] * 257);
            }
            TIFFSetField(t, TIFFTAG_COLORMAP, r, g, b);
        }
        int spp = o->palette ? 1 : o->spp, bytes = (o->palette ? 8 : o->bps) / 8;
        uint8_t *row = malloc((size_t)w * spp * bytes);
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                const uint8_t *c = quad_at(x, y, w, h);
                if (o->palette) {
                    row[x] = (uint8_t)((y >= h / 2) * 2 + (x >= w / 2));
                    continue;
                }
                for (int k = 0; k < spp; k++) {
                    unsigned v = k < 3 ? c[k] : (x < w / 2 && y < h / 2 ? 0 : 255);
                    if (bytes == 2)
                        ((uint16_t *)row)[x * spp + k] = (uint16_t)(v * 257);
                    else
                        row[x * spp + k] = (uint8_t)v;
                }
            }
            TIFFWriteScanline(t, row, (uint32_t)y, 0);
        }
        free(row);
        TIFFWriteDirectory(t);
    }
    TIFFClose(t);
    FILE *f = fopen(path, "rb");
    buf b = {0};
    uint8_t tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        bput(&b, tmp, n);
    fclose(f);
    unlink(path);
    return b;
}

typedef struct bw {
    int bpp;        /* 8, 16, 24, 32 */
    bool top_down, rle8, alpha_v5;
} bw;

static inline buf make_bmp(int w, int h, const bw *o)
{
    buf px = {0};
    int rows = h;
    if (o->rle8) {
        for (int r = 0; r < rows; r++) {
            int y = h - 1 - r;
            for (int x = 0; x < w;) {
                int idx = (y >= h / 2) * 2 + (x >= w / 2);
                int run = 0;
                while (x + run < w && run < 255 && (y >= h / 2) * 2 + (x + run >= w / 2) == idx)
                    run++;
                uint8_t c[2] = {(uint8_t)run, (uint8_t)idx};
                bput(&px, c, 2);
                x += run;
            }
            uint8_t eol[2] = {0, 0};
            bput(&px, eol, 2);
        }
        uint8_t eob[2] = {0, 1};
        bput(&px, eob, 2);
    } else {
        int stride = ((w * o->bpp + 31) / 32) * 4;
        uint8_t *row = calloc(1, (size_t)stride);
        for (int r = 0; r < rows; r++) {
            int y = o->top_down ? r : h - 1 - r;
            memset(row, 0, (size_t)stride);
            for (int x = 0; x < w; x++) {
                const uint8_t *c = quad_at(x, y, w, h);
                int idx = (y >= h / 2) * 2 + (x >= w / 2);
                if (o->bpp == 8)
                    row[x] = (uint8_t)idx;
                else if (o->bpp == 16) { /* 5-6-5 bitfields */
                    unsigned v = (c[0] >> 3) << 11 | (c[1] >> 2) << 5 | c[2] >> 3;
                    row[2 * x] = v & 255;
                    row[2 * x + 1] = (uint8_t)(v >> 8);
                } else if (o->bpp == 24) {
                    row[3 * x] = c[2];
                    row[3 * x + 1] = c[1];
                    row[3 * x + 2] = c[0];
                } else {
                    row[4 * x] = c[2];
                    row[4 * x + 1] = c[1];
                    row[4 * x + 2] = c[0];
                    row[4 * x + 3] = (x < w / 2 && y < h / 2) ? 0 : 255;
                }
            }
            bput(&px, row, (size_t)stride);
        }
        free(row);
    }
    bool masks = o->bpp == 16 || o->bpp == 32;
    uint32_t dib = o->alpha_v5 ? 124 : 40;
    uint32_t pal = o->bpp == 8 ? 4 * 4 : 0;
    uint32_t extra = masks && dib == 40 ? 12 : 0;
    uint32_t off = 14 + dib + extra + pal;
    buf b = {0};
    bput(&b, "BM", 2);
    bput32(&b, off + (uint32_t)px.n);
    bput32(&b, 0);
    bput32(&b, off);
    size_t h0 = b.n;
    bput32(&b, dib);
    bput32(&b, (uint32_t)w);
    bput32(&b, (uint32_t)(o->top_down ? -h : h));
    bput16(&b, 1);
    bput16(&b, (unsigned)o->bpp);
    bput32(&b, o->rle8 ? 1 : masks ? 3 : 0);
    bput32(&b, (uint32_t)px.n);
    bput32(&b, 2835);
    bput32(&b, 2835);
    bput32(&b, o->bpp == 8 ? 4 : 0);
    bput32(&b, 0);
    if (masks) {
        if (o->bpp == 16) {
            bput32(&b, 0xf800); bput32(&b, 0x07e0); bput32(&b, 0x001f);
        } else {
            bput32(&b, 0xff0000); bput32(&b, 0x00ff00); bput32(&b, 0x0000ff);
        }
    }
    if (dib == 124) {
        bput32(&b, o->bpp == 32 ? 0xff000000u : 0);
        while (b.n < h0 + dib)
            bput(&b, "\0", 1);
    }
    for (int i = 0; i < (o->bpp == 8 ? 4 : 0); i++) {
        uint8_t e[4] = {Q[i][2], Q[i][1], Q[i][0], 0};
        bput(&b, e, 4);
    }
    bput(&b, px.p, px.n);
    free(px.p);
    return b;
}

static inline struct heif_error heif_w(struct heif_context *c, const void *p, size_t n, void *u)
{
    (void)c;
    bput(u, p, n);
    return (struct heif_error){heif_error_Ok, heif_suberror_Unspecified, "ok"};
}

/* The quadrant pattern encoded as HEIC or AVIF; orientation > 1 asks
 * libheif to store that rotation (irot/imir); exif_orientation > 0 adds an
 * EXIF block saying so as well, as phones do. */
static inline buf make_heif(enum heif_compression_format fmt, int w, int h, bool alpha,
                     int orientation, int exif_orientation)
{
    buf b = {0};
    struct heif_context *ctx = heif_context_alloc();
    struct heif_encoder *enc = NULL;
    struct heif_error e = heif_context_get_encoder_for_format(ctx, fmt, &enc);
    if (e.code != heif_error_Ok) {
        fprintf(stderr, "  no encoder for format %d: %s\n", fmt, e.message);
        heif_context_free(ctx);
        return b;
    }
    heif_encoder_set_lossy_quality(enc, 90);
    /* One encoder thread: deterministic seeds, and no x265/aom worker
     * threads for ThreadSanitizer to see through uninstrumented code. */
    if (fmt == heif_compression_HEVC) {
        heif_encoder_set_parameter_string(enc, "x265:pools", "none");
        heif_encoder_set_parameter_string(enc, "x265:frame-threads", "1");
    } else {
        heif_encoder_set_parameter_integer(enc, "threads", 1);
    }
    struct heif_image *img = NULL;
    heif_image_create(w, h, heif_colorspace_RGB,
                      alpha ? heif_chroma_interleaved_RGBA : heif_chroma_interleaved_RGB, &img);
    heif_image_add_plane(img, heif_channel_interleaved, w, h, 8);
    int stride;
    uint8_t *p = heif_image_get_plane(img, heif_channel_interleaved, &stride);
    int ch = alpha ? 4 : 3;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t *d = p + (size_t)y * stride + (size_t)x * ch;
            memcpy(d, quad_at(x, y, w, h), 3);
            if (alpha)
                d[3] = (x < w / 2 && y < h / 2) ? 0 : 255;
        }
    struct heif_encoding_options *opt = heif_encoding_options_alloc();
    if (orientation > 1)
        opt->image_orientation = (enum heif_orientation)orientation;
    struct heif_image_handle *hd = NULL;
    e = heif_context_encode_image(ctx, img, enc, opt, &hd);
    if (e.code == heif_error_Ok && exif_orientation > 0) {
        buf ex = {0};
        exif_tiff(&ex, exif_orientation);
        heif_context_add_exif_metadata(ctx, hd, ex.p, (int)ex.n);
        free(ex.p);
    }
    if (e.code == heif_error_Ok) {
        struct heif_writer wr = {1, heif_w};
        heif_context_write(ctx, &wr, &b);
    } else {
        fprintf(stderr, "  encode failed: %s\n", e.message);
    }
    heif_image_handle_release(hd);
    heif_encoding_options_free(opt);
    heif_image_release(img);
    heif_encoder_release(enc);
    heif_context_free(ctx);
    return b;
}


/* WebP of the quadrant pattern: lossless (exact) or lossy at quality q. */
static inline buf webp_quads(int w, int h, int lossless_q)
{
    uint8_t *px = quad_rgb(w, h, 3), *out = NULL;
    size_t n = lossless_q <= 0 ? WebPEncodeLosslessRGB(px, w, h, w * 3, &out)
                               : WebPEncodeRGB(px, w, h, w * 3, (float)lossless_q, &out);
    buf b = {0};
    bput(&b, out, n);
    WebPFree(out);
    free(px);
    return b;
}

/* An animated WebP: the quadrants, then their negative. */
static inline buf webp_anim(int w, int h)
{
    uint8_t *px = quad_rgb(w, h, 3);
    WebPAnimEncoderOptions ao;
    WebPAnimEncoderOptionsInit(&ao);
    WebPAnimEncoder *enc = WebPAnimEncoderNew(w, h, &ao);
    WebPConfig cfg;
    WebPConfigInit(&cfg);
    cfg.lossless = 1;
    WebPPicture pic;
    WebPPictureInit(&pic);
    pic.width = w;
    pic.height = h;
    pic.use_argb = 1;
    WebPPictureImportRGB(&pic, px, w * 3);
    WebPAnimEncoderAdd(enc, &pic, 0, &cfg);
    for (int i = 0; i < w * h * 3; i++)
        px[i] = (uint8_t)(255 - px[i]);
    WebPPictureImportRGB(&pic, px, w * 3);
    WebPAnimEncoderAdd(enc, &pic, 100, &cfg);
    WebPAnimEncoderAdd(enc, NULL, 200, NULL);
    WebPData ad;
    WebPDataInit(&ad);
    WebPAnimEncoderAssemble(enc, &ad);
    buf an = {0};
    bput(&an, ad.bytes, ad.size);
    WebPDataClear(&ad);
    WebPAnimEncoderDelete(enc);
    WebPPictureFree(&pic);
    free(px);
    return an;
}

#endif

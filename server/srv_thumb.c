/* srv_thumb.c - thumbnails for GET /images/{id}/thumb: decodes the indexed
 * PNG/JPEG itself (the captioner's decoder is internal), within a scan and
 * CPU budget, streams rows into a box filter so memory stays O(width), and
 * encodes a small JPEG. The other formats (WebP, GIF, TIFF, BMP, HEIC,
 * AVIF) go through the library's odx_image_decode. */
#include "server.h"

#include <errno.h>
#include <jpeglib.h>
#include <png.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Same ceilings as the indexer's defaults: anything bigger was not indexed
 * either, and a thumbnail must never be the way to exhaust memory. */
#define THUMB_MAX_PIXELS (100LL * 1000 * 1000)
#define THUMB_MAX_SIDE 65535
/* Interlaced PNGs need the whole image in memory (4 bytes a pixel). */
#define THUMB_MAX_INTERLACED_PIXELS (16LL * 1000 * 1000)

srv_thumb_limits srv_thumb_limits_default(void)
{
    /* 100 scans: libjpeg-turbo's advice (djpeg -maxscans) and far above the
     * 10 or so an encoder writes. 2 CPU s: a 100 Mpixel baseline JPEG
     * scaled by 1/8 takes about 1 s on this machine. */
    return (srv_thumb_limits){.max_scans = 100, .cpu_s = 2.0};
}

static double cpu_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

odx_status srv_err(odx_err *err, odx_status code, const char *fmt, ...)
{
    if (!err || err->code != ODX_OK)
        return code;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return code;
}

/* ------------------------------------------------------- box filter ---- */

/* Source rows arrive top to bottom; each destination pixel is the mean of
 * the source pixels that map onto it. */
typedef struct box {
    int sw, sh, dw, dh;
    int *xmap;       /* source column -> destination column */
    uint32_t *ncol;  /* source columns per destination column */
    uint64_t *sum;   /* dw * 3 running sums for the current destination row */
    int cur_dy, rows_in;
    uint8_t *out;    /* dw * dh * 3 */
} box;

static void box_free(box *b)
{
    free(b->xmap);
    free(b->ncol);
    free(b->sum);
    free(b->out);
    memset(b, 0, sizeof *b);
}

static odx_status box_init(box *b, int sw, int sh, int max_side, odx_err *err)
{
    memset(b, 0, sizeof *b);
    int lng = sw > sh ? sw : sh;
    if (lng <= max_side) {
        b->dw = sw;
        b->dh = sh;
    } else {
        b->dw = (int)(((int64_t)sw * max_side + lng / 2) / lng);
        b->dh = (int)(((int64_t)sh * max_side + lng / 2) / lng);
    }
    if (b->dw < 1)
        b->dw = 1;
    if (b->dh < 1)
        b->dh = 1;
    b->sw = sw;
    b->sh = sh;
    b->xmap = malloc((size_t)sw * sizeof *b->xmap);
    b->ncol = calloc((size_t)b->dw, sizeof *b->ncol);
    b->sum = calloc((size_t)b->dw * 3, sizeof *b->sum);
    b->out = calloc((size_t)b->dw * b->dh * 3, 1);
    if (!b->xmap || !b->ncol || !b->sum || !b->out) {
        box_free(b);
        return srv_err(err, ODX_ERR_NOMEM, "thumbnail: no memory for %dx%d", sw, sh);
    }
    for (int x = 0; x < sw; x++) {
        b->xmap[x] = (int)((int64_t)x * b->dw / sw);
        b->ncol[b->xmap[x]]++;
    }
    return ODX_OK;
}

static void box_flush(box *b)
{
    if (b->rows_in == 0)
        return;
    uint8_t *o = b->out + (size_t)b->cur_dy * b->dw * 3;
    for (int x = 0; x < b->dw; x++) {
        uint64_t n = (uint64_t)b->ncol[x] * (uint64_t)b->rows_in;
        for (int c = 0; c < 3; c++)
            o[x * 3 + c] = n ? (uint8_t)((b->sum[x * 3 + c] + n / 2) / n) : 0;
    }
    memset(b->sum, 0, (size_t)b->dw * 3 * sizeof *b->sum);
    b->rows_in = 0;
}

/* rgb: sw pixels of 3 bytes, source row y. */
static void box_row(box *b, int y, const uint8_t *rgb)
{
    int dy = (int)((int64_t)y * b->dh / b->sh);
    if (dy != b->cur_dy) {
        box_flush(b);
        b->cur_dy = dy;
    }
    for (int x = 0; x < b->sw; x++) {
        uint64_t *s = b->sum + (size_t)b->xmap[x] * 3;
        s[0] += rgb[x * 3];
        s[1] += rgb[x * 3 + 1];
        s[2] += rgb[x * 3 + 2];
    }
    b->rows_in++;
}

static odx_status check_dims(const char *what, int64_t w, int64_t h, odx_err *err)
{
    if (w < 1 || h < 1)
        return srv_err(err, ODX_ERR_DECODE, "%s: empty image (%lldx%lld)", what,
                       (long long)w, (long long)h);
    if (w > THUMB_MAX_SIDE || h > THUMB_MAX_SIDE || w * h > THUMB_MAX_PIXELS)
        return srv_err(err, ODX_ERR_LIMIT, "%s: %lldx%lld is over the %lld pixel limit", what,
                       (long long)w, (long long)h, (long long)THUMB_MAX_PIXELS);
    return ODX_OK;
}

/* ------------------------------------------------------------- JPEG ---- */

typedef struct jerr {
    struct jpeg_error_mgr pub;
    jmp_buf jb;
    char msg[JMSG_LENGTH_MAX];
} jerr;

static void jerr_exit(j_common_ptr ci)
{
    jerr *e = (jerr *)ci->err;
    ci->err->format_message(ci, e->msg);
    longjmp(e->jb, 1);
}

static void jerr_quiet(j_common_ptr ci, int level)
{
    /* Warnings (e.g. premature end of data) still give a usable picture:
     * keep them off stderr. */
    (void)ci;
    (void)level;
}

/* Everything the longjmp path must free lives here, not in locals. The
 * progress monitor comes first so the callback finds the whole struct. */
typedef struct jdec {
    struct jpeg_progress_mgr prog;
    struct jpeg_decompress_struct ci;
    jerr e;
    uint8_t *row;
    box b;
    srv_thumb_limits lim;
    double cpu0;
    const char *over; /* which limit stopped the decode */
} jdec;

/* libjpeg calls this between units of work (every iMCU row of every scan
 * of a progressive file): the place to stop one that costs too much. */
static void jpeg_progress(j_common_ptr ci)
{
    jdec *d = (jdec *)ci->progress;
    j_decompress_ptr di = (j_decompress_ptr)ci;
    if (d->lim.max_scans > 0 && di->input_scan_number > d->lim.max_scans)
        d->over = "more scans than allowed";
    else if (d->lim.cpu_s > 0 && cpu_now() - d->cpu0 > d->lim.cpu_s)
        d->over = "decoding took longer than its budget";
    if (d->over)
        longjmp(d->e.jb, 2);
}

static odx_status decode_jpeg(FILE *f, const srv_thumb_limits *lim, int max_side, box *out,
                              odx_err *err)
{
    jdec *d = calloc(1, sizeof *d);
    if (!d)
        return srv_err(err, ODX_ERR_NOMEM, "thumbnail: no memory");
    odx_status st = ODX_OK;
    d->lim = *lim;
    d->cpu0 = cpu_now();
    d->ci.err = jpeg_std_error(&d->e.pub);
    d->e.pub.error_exit = jerr_exit;
    d->e.pub.emit_message = jerr_quiet;
    if (setjmp(d->e.jb)) {
        if (d->over)
            st = srv_err(err, ODX_ERR_LIMIT, "JPEG: %s (at most %d scans, %.1f CPU s)",
                         d->over, d->lim.max_scans, d->lim.cpu_s);
        else
            st = srv_err(err, ODX_ERR_DECODE, "JPEG: %s", d->e.msg);
        goto done;
    }
    jpeg_create_decompress(&d->ci);
    d->prog.progress_monitor = jpeg_progress;
    d->ci.progress = &d->prog;
    jpeg_stdio_src(&d->ci, f);
    jpeg_save_markers(&d->ci, JPEG_APP0 + 1, 0); /* EXIF comes from the index */
    jpeg_read_header(&d->ci, TRUE);
    if ((st = check_dims("JPEG", d->ci.image_width, d->ci.image_height, err)) != ODX_OK)
        goto done;
    bool cmyk = d->ci.jpeg_color_space == JCS_CMYK || d->ci.jpeg_color_space == JCS_YCCK;
    d->ci.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    /* DCT scaling: the largest reduction that still leaves at least
     * max_side pixels on the long side, so the box filter does the rest. */
    unsigned lng = d->ci.image_width > d->ci.image_height ? d->ci.image_width
                                                          : d->ci.image_height;
    unsigned denom = 1;
    while (denom < 8 && lng / (denom * 2) >= (unsigned)max_side)
        denom *= 2;
    d->ci.scale_num = 1;
    d->ci.scale_denom = denom;
    d->ci.dct_method = JDCT_IFAST;
    jpeg_start_decompress(&d->ci);
    int w = (int)d->ci.output_width, h = (int)d->ci.output_height;
    int nc = d->ci.output_components;
    if ((nc != 3 && nc != 4) || w < 1 || h < 1) {
        st = srv_err(err, ODX_ERR_DECODE, "JPEG: unexpected output (%d components)", nc);
        goto done;
    }
    if ((st = box_init(&d->b, w, h, max_side, err)) != ODX_OK)
        goto done;
    d->row = malloc((size_t)w * (size_t)nc);
    if (!d->row) {
        st = srv_err(err, ODX_ERR_NOMEM, "thumbnail: no memory");
        goto done;
    }
    while (d->ci.output_scanline < d->ci.output_height) {
        JSAMPROW rp = d->row;
        int y = (int)d->ci.output_scanline;
        if (jpeg_read_scanlines(&d->ci, &rp, 1) != 1)
            break;
        if (nc == 4) {
            /* Adobe CMYK JPEGs store inverted ink: C*K/255 gives red. */
            for (int x = 0; x < w; x++) {
                unsigned k = d->row[x * 4 + 3];
                d->row[x * 3] = (uint8_t)(d->row[x * 4] * k / 255);
                d->row[x * 3 + 1] = (uint8_t)(d->row[x * 4 + 1] * k / 255);
                d->row[x * 3 + 2] = (uint8_t)(d->row[x * 4 + 2] * k / 255);
            }
        }
        box_row(&d->b, y, d->row);
    }
    box_flush(&d->b);
    jpeg_abort_decompress(&d->ci); /* do not read what follows the image */
    *out = d->b;
    memset(&d->b, 0, sizeof d->b);
done:
    jpeg_destroy_decompress(&d->ci);
    box_free(&d->b);
    free(d->row);
    free(d);
    return st;
}

/* -------------------------------------------------------------- PNG ---- */

typedef struct pdec {
    png_structp png;
    png_infop info;
    char msg[256];
    uint8_t *row;   /* one RGBA row (non-interlaced) */
    uint8_t *image; /* whole RGBA image (interlaced) */
    uint8_t **rows;
    uint8_t *rgb;
    box b;
} pdec;

static void png_fail(png_structp png, png_const_charp msg)
{
    pdec *d = png_get_error_ptr(png);
    snprintf(d->msg, sizeof d->msg, "%s", msg ? msg : "error");
    png_longjmp(png, 1);
}

static void png_warn(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

/* RGBA row to RGB, composited on white so transparent areas look as they
 * do in a browser on a light page. */
static void rgba_to_rgb(const uint8_t *src, uint8_t *dst, int w)
{
    for (int x = 0; x < w; x++) {
        unsigned a = src[x * 4 + 3];
        for (int c = 0; c < 3; c++)
            dst[x * 3 + c] = (uint8_t)((src[x * 4 + c] * a + 255 * (255 - a) + 127) / 255);
    }
}

static odx_status decode_png(FILE *f, const srv_thumb_limits *lim, int max_side, box *out,
                             odx_err *err)
{
    double cpu0 = cpu_now();
    pdec *d = calloc(1, sizeof *d);
    if (!d)
        return srv_err(err, ODX_ERR_NOMEM, "thumbnail: no memory");
    odx_status st = ODX_OK;
    d->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, d, png_fail, png_warn);
    if (d->png)
        d->info = png_create_info_struct(d->png);
    if (!d->png || !d->info) {
        st = srv_err(err, ODX_ERR_NOMEM, "PNG: no memory");
        goto done;
    }
    if (setjmp(png_jmpbuf(d->png))) {
        st = srv_err(err, ODX_ERR_DECODE, "PNG: %s", d->msg[0] ? d->msg : "corrupt data");
        goto done;
    }
    png_set_user_limits(d->png, THUMB_MAX_SIDE, THUMB_MAX_SIDE);
    png_set_chunk_malloc_max(d->png, 8 * 1024 * 1024);
    png_init_io(d->png, f);
    png_read_info(d->png, d->info);
    png_uint_32 w = png_get_image_width(d->png, d->info);
    png_uint_32 h = png_get_image_height(d->png, d->info);
    if ((st = check_dims("PNG", w, h, err)) != ODX_OK)
        goto done;
    int interlace = png_get_interlace_type(d->png, d->info);
    if (interlace != PNG_INTERLACE_NONE && (int64_t)w * h > THUMB_MAX_INTERLACED_PIXELS) {
        st = srv_err(err, ODX_ERR_LIMIT, "PNG: interlaced %ux%u is too large for a thumbnail",
                     (unsigned)w, (unsigned)h);
        goto done;
    }
    /* Normalise every colour type and depth to 8-bit RGBA. */
    png_set_expand(d->png);
    png_set_strip_16(d->png);
    png_set_gray_to_rgb(d->png);
    png_set_add_alpha(d->png, 0xff, PNG_FILLER_AFTER);
    int passes = png_set_interlace_handling(d->png);
    png_read_update_info(d->png, d->info);
    if (png_get_rowbytes(d->png, d->info) != (size_t)w * 4) {
        st = srv_err(err, ODX_ERR_DECODE, "PNG: unexpected row layout");
        goto done;
    }
    if ((st = box_init(&d->b, (int)w, (int)h, max_side, err)) != ODX_OK)
        goto done;
    d->rgb = malloc((size_t)w * 3);
    if (!d->rgb) {
        st = srv_err(err, ODX_ERR_NOMEM, "thumbnail: no memory");
        goto done;
    }
    if (passes <= 1) {
        d->row = malloc((size_t)w * 4);
        if (!d->row) {
            st = srv_err(err, ODX_ERR_NOMEM, "thumbnail: no memory");
            goto done;
        }
        for (png_uint_32 y = 0; y < h; y++) {
            if ((y & 63) == 63 && lim->cpu_s > 0 && cpu_now() - cpu0 > lim->cpu_s) {
                st = srv_err(err, ODX_ERR_LIMIT,
                             "PNG: decoding took longer than its budget (%.1f CPU s)", lim->cpu_s);
                goto done;
            }
            png_read_row(d->png, d->row, NULL);
            rgba_to_rgb(d->row, d->rgb, (int)w);
            box_row(&d->b, (int)y, d->rgb);
        }
    } else {
        d->image = malloc((size_t)w * h * 4);
        d->rows = malloc((size_t)h * sizeof *d->rows);
        if (!d->image || !d->rows) {
            st = srv_err(err, ODX_ERR_NOMEM, "thumbnail: no memory");
            goto done;
        }
        for (png_uint_32 y = 0; y < h; y++)
            d->rows[y] = d->image + (size_t)y * w * 4;
        png_read_image(d->png, d->rows);
        for (png_uint_32 y = 0; y < h; y++) {
            rgba_to_rgb(d->rows[y], d->rgb, (int)w);
            box_row(&d->b, (int)y, d->rgb);
        }
    }
    box_flush(&d->b);
    *out = d->b;
    memset(&d->b, 0, sizeof d->b);
done:
    if (d->png)
        png_destroy_read_struct(&d->png, d->info ? &d->info : NULL, NULL);
    box_free(&d->b);
    free(d->row);
    free(d->image);
    free(d->rows);
    free(d->rgb);
    free(d);
    return st;
}

/* ------------------------------------------------------ other formats -- */

/* Larger files were not indexed either (the index's default limit). */
#define THUMB_MAX_FILE_BYTES ((size_t)256 << 20)

/* WebP, GIF, TIFF, BMP, HEIC, AVIF: no row streaming for these here, so
 * the file is read whole and decoded by the library (odx_image_decode:
 * size checked before allocation, one frame, errors caught), already
 * upright: the indexed orientation must not be applied again. Their work
 * is bounded by the pixel limit, not by lim->cpu_s. */
static odx_status decode_other(FILE *f, int max_side, box *out, odx_err *err)
{
    size_t cap = 1 << 16, n = 0;
    unsigned char *data = malloc(cap);
    if (!data)
        return srv_err(err, ODX_ERR_NOMEM, "thumbnail: no memory");
    for (;;) {
        if (n == cap) {
            if (cap >= THUMB_MAX_FILE_BYTES) {
                free(data);
                return srv_err(err, ODX_ERR_LIMIT, "thumbnail: file over %zu MiB",
                               THUMB_MAX_FILE_BYTES >> 20);
            }
            unsigned char *g = realloc(data, cap * 2);
            if (!g) {
                free(data);
                return srv_err(err, ODX_ERR_NOMEM, "thumbnail: no memory");
            }
            data = g;
            cap *= 2;
        }
        size_t k = fread(data + n, 1, cap - n, f);
        n += k;
        if (k == 0)
            break;
    }
    if (ferror(f)) {
        free(data);
        return srv_err(err, ODX_ERR_IO, "thumbnail: read error: %s", strerror(errno));
    }
    unsigned char *rgb = NULL;
    int w = 0, h = 0;
    odx_status st = odx_image_decode(data, n, max_side, THUMB_MAX_PIXELS, &rgb, &w, &h, err);
    free(data);
    if (st != ODX_OK)
        return st;
    memset(out, 0, sizeof *out);
    out->sw = out->dw = w;
    out->sh = out->dh = h;
    out->out = rgb;
    return ODX_OK;
}

/* ------------------------------------------------------ orientation ---- */

/* EXIF orientation 2..8 applied to the small image, so the thumbnail is
 * upright as viewers show it. Returns false on allocation failure. */
static bool orient(box *b, int o)
{
    if (o < 2 || o > 8)
        return true;
    int w = b->dw, h = b->dh;
    bool swap = o >= 5;
    int nw = swap ? h : w, nh = swap ? w : h;
    uint8_t *n = malloc((size_t)w * h * 3);
    if (!n)
        return false;
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            int tx, ty;
            switch (o) {
            case 2: tx = w - 1 - x; ty = y; break;
            case 3: tx = w - 1 - x; ty = h - 1 - y; break;
            case 4: tx = x; ty = h - 1 - y; break;
            case 5: tx = y; ty = x; break;
            case 6: tx = h - 1 - y; ty = x; break;
            case 7: tx = h - 1 - y; ty = w - 1 - x; break;
            default: tx = y; ty = w - 1 - x; break; /* 8 */
            }
            memcpy(n + ((size_t)ty * nw + tx) * 3, b->out + ((size_t)y * w + x) * 3, 3);
        }
    }
    free(b->out);
    b->out = n;
    b->dw = nw;
    b->dh = nh;
    return true;
}

/* ----------------------------------------------------------- encode ---- */

typedef struct jenc {
    struct jpeg_compress_struct ci;
    jerr e;
    unsigned char *buf;
    unsigned long len;
} jenc;

static odx_status encode_jpeg(const box *b, unsigned char **jpeg, size_t *len, odx_err *err)
{
    jenc *c = calloc(1, sizeof *c);
    if (!c)
        return srv_err(err, ODX_ERR_NOMEM, "thumbnail: no memory");
    odx_status st = ODX_OK;
    c->ci.err = jpeg_std_error(&c->e.pub);
    c->e.pub.error_exit = jerr_exit;
    c->e.pub.emit_message = jerr_quiet;
    if (setjmp(c->e.jb)) {
        st = srv_err(err, ODX_ERR_INTERNAL, "JPEG encode: %s", c->e.msg);
        goto done;
    }
    jpeg_create_compress(&c->ci);
    jpeg_mem_dest(&c->ci, &c->buf, &c->len);
    c->ci.image_width = (JDIMENSION)b->dw;
    c->ci.image_height = (JDIMENSION)b->dh;
    c->ci.input_components = 3;
    c->ci.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c->ci);
    jpeg_set_quality(&c->ci, 82, TRUE);
    jpeg_start_compress(&c->ci, TRUE);
    while (c->ci.next_scanline < c->ci.image_height) {
        JSAMPROW rp = b->out + (size_t)c->ci.next_scanline * b->dw * 3;
        jpeg_write_scanlines(&c->ci, &rp, 1);
    }
    jpeg_finish_compress(&c->ci);
    *jpeg = c->buf;
    *len = c->len;
    c->buf = NULL;
done:
    jpeg_destroy_compress(&c->ci);
    free(c->buf);
    free(c);
    return st;
}

/* ------------------------------------------------------------ entry ---- */

static odx_status thumb_stream(FILE *f, const srv_thumb_limits *lim, int max_side,
                               int orientation, unsigned char **jpeg, size_t *jpeg_len,
                               int *out_w, int *out_h, odx_err *err)
{
    if (!f || !jpeg || !jpeg_len || max_side < 1)
        return srv_err(err, ODX_ERR_INVALID, "thumbnail: bad arguments");
    unsigned char sig[8];
    size_t n = fread(sig, 1, sizeof sig, f);
    if (fseek(f, 0, SEEK_SET) != 0)
        return srv_err(err, ODX_ERR_IO, "thumbnail: cannot rewind the file");
    box b;
    memset(&b, 0, sizeof b);
    odx_status st;
    if (n == 8 && png_sig_cmp(sig, 0, 8) == 0)
        st = decode_png(f, lim, max_side, &b, err);
    else if (n >= 3 && sig[0] == 0xFF && sig[1] == 0xD8 && sig[2] == 0xFF)
        st = decode_jpeg(f, lim, max_side, &b, err);
    else if (n == 0)
        return srv_err(err, ODX_ERR_UNSUPPORTED, "thumbnail: empty file");
    else if ((st = decode_other(f, max_side, &b, err)) == ODX_OK)
        orientation = 1; /* made upright by the decoder */
    if (st == ODX_OK && !orient(&b, orientation))
        st = srv_err(err, ODX_ERR_NOMEM, "thumbnail: no memory");
    if (st == ODX_OK)
        st = encode_jpeg(&b, jpeg, jpeg_len, err);
    if (st == ODX_OK) {
        if (out_w)
            *out_w = b.dw;
        if (out_h)
            *out_h = b.dh;
    }
    box_free(&b);
    return st;
}

odx_status srv_thumb_stream(FILE *f, int max_side, int orientation, unsigned char **jpeg,
                            size_t *jpeg_len, int *out_w, int *out_h, odx_err *err)
{
    srv_thumb_limits lim = srv_thumb_limits_default();
    return thumb_stream(f, &lim, max_side, orientation, jpeg, jpeg_len, out_w, out_h, err);
}

odx_status srv_thumb_decode(FILE *f, const srv_thumb_limits *lim, int max_side,
                            int orientation, unsigned char **jpeg, size_t *jpeg_len,
                            odx_err *err)
{
    srv_thumb_limits def = srv_thumb_limits_default();
    return thumb_stream(f, lim ? lim : &def, max_side, orientation, jpeg, jpeg_len, NULL, NULL,
                        err);
}

odx_status srv_thumb_file(const char *path, int max_side, int orientation, unsigned char **jpeg,
                          size_t *jpeg_len, odx_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return srv_err(err, errno == ENOENT || errno == ENOTDIR ? ODX_ERR_NOT_FOUND : ODX_ERR_IO,
                       "cannot open '%s': %s", path, strerror(errno));
    odx_status st = srv_thumb_stream(f, max_side, orientation, jpeg, jpeg_len, NULL, NULL, err);
    fclose(f);
    return st;
}

/* decode_tiff.c - TIFF to 8-bit RGB through libtiff's RGBA image reader
 * (every photometric libtiff converts: bilevel, grey, palette, RGB, YCbCr,
 * CMYK, CIE L*a*b*; 1..16 bits; strips or tiles; alpha associated or not).
 * Only the first IFD is decoded; the pages after it are counted (reduced-
 * size IFDs, the thumbnails some writers add, are not pages). libtiff's
 * messages go to a per-handle handler (libtiff 4.5 open options), never to
 * stderr, and its single allocations are capped from the pixel limit. The
 * Orientation tag is applied by cap_decode, like EXIF's. */
#include "decode_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tiffio.h>

/* Pages counted after the first; each costs reading one IFD. */
#define TIFF_MAX_COUNTED_PAGES 1024

typedef struct tiff_src {
    const uint8_t *p;
    size_t len, pos;
    char msg[200]; /* libtiff's first error */
} tiff_src;

static tmsize_t tiff_read(thandle_t h, void *buf, tmsize_t n)
{
    tiff_src *s = h;
    if (n <= 0 || s->pos >= s->len)
        return 0;
    size_t k = (size_t)n;
    if (k > s->len - s->pos)
        k = s->len - s->pos;
    memcpy(buf, s->p + s->pos, k);
    s->pos += k;
    return (tmsize_t)k;
}

static tmsize_t tiff_write(thandle_t h, void *buf, tmsize_t n)
{
    (void)h;
    (void)buf;
    (void)n;
    return -1;
}

static toff_t tiff_seek(thandle_t h, toff_t off, int whence)
{
    tiff_src *s = h;
    uint64_t base = whence == SEEK_CUR ? s->pos : whence == SEEK_END ? s->len : 0;
    uint64_t to = base + off;
    if (to < base)
        return (toff_t)-1;
    s->pos = to > s->len ? s->len : (size_t)to; /* reads past the end get 0 bytes */
    return to;
}

static int tiff_close(thandle_t h)
{
    (void)h;
    return 0;
}

static toff_t tiff_size(thandle_t h) { return ((tiff_src *)h)->len; }

static int tiff_error(TIFF *t, void *user, const char *module, const char *fmt, va_list ap)
{
    (void)t;
    tiff_src *s = user;
    if (s && !s->msg[0]) {
        char m[160];
        vsnprintf(m, sizeof m, fmt, ap);
        snprintf(s->msg, sizeof s->msg, "%s%s%s", module ? module : "", module ? ": " : "", m);
    }
    return 1; /* handled: nothing printed */
}

static int tiff_warning(TIFF *t, void *user, const char *module, const char *fmt, va_list ap)
{
    (void)t;
    (void)user;
    char m[160];
    vsnprintf(m, sizeof m, fmt, ap);
    core_log(CORE_LOG_DEBUG, "libtiff: %s: %s", module ? module : "", m);
    return 1;
}

/* A file cut short reads as zeros past its end; libtiff then reports a
 * short strip or tile. Those messages say "truncated" to the user. */
static bool tiff_msg_truncated(const char *m)
{
    return strstr(m, "Read error") || strstr(m, "short") || strstr(m, "Not enough data") ||
           strstr(m, "Unexpected end") || strstr(m, "premature") || strstr(m, "EOF");
}

odx_status cap_dec_tiff(const uint8_t *data, size_t len, const char *name,
                        const cap_limits *lim, cap_header *hdr, cap_image *out, odx_err *err)
{
    tiff_src src = {.p = data, .len = len};
    odx_status st = ODX_OK;
    uint32_t *raster = NULL;
    TIFFRGBAImage img;
    bool begun = false;
    TIFFOpenOptions *opt = TIFFOpenOptionsAlloc();
    if (!opt)
        return core_err(err, ODX_ERR_NOMEM, "'%s': libtiff init", cap_dec_name(name));
    /* No single buffer libtiff allocates (a strip, a tile, a tag array)
     * needs more than a 16-bit RGBA copy of the largest image allowed. */
    int64_t maxpx = lim && lim->max_pixels > 0 ? lim->max_pixels : (int64_t)1 << 30;
    int64_t cap = maxpx * 8;
    if (cap > ((int64_t)1 << 31) - 1)
        cap = ((int64_t)1 << 31) - 1;
    if (cap < 64 << 20)
        cap = 64 << 20;
    TIFFOpenOptionsSetMaxSingleMemAlloc(opt, (tmsize_t)cap);
    TIFFOpenOptionsSetErrorHandlerExtR(opt, tiff_error, &src);
    TIFFOpenOptionsSetWarningHandlerExtR(opt, tiff_warning, &src);
    /* "m": no memory mapping, every read goes through tiff_read. */
    TIFF *t = TIFFClientOpenExt(cap_dec_name(name), "rm", &src, tiff_read, tiff_write,
                                tiff_seek, tiff_close, tiff_size, NULL, NULL, opt);
    TIFFOpenOptionsFree(opt);
    if (!t) {
        bool cut = tiff_msg_truncated(src.msg) || len < 16;
        return core_err(err, ODX_ERR_DECODE, "'%s': %s TIFF: %s", cap_dec_name(name),
                        cut ? "truncated" : "corrupt", src.msg[0] ? src.msg : "cannot open");
    }
    uint32_t w = 0, h = 0;
    uint16_t bps = 8, ori = ORIENTATION_TOPLEFT;
    TIFFGetField(t, TIFFTAG_IMAGEWIDTH, &w);
    TIFFGetField(t, TIFFTAG_IMAGELENGTH, &h);
    TIFFGetFieldDefaulted(t, TIFFTAG_BITSPERSAMPLE, &bps);
    TIFFGetFieldDefaulted(t, TIFFTAG_ORIENTATION, &ori);
    hdr->width = (int)(w > INT32_MAX ? INT32_MAX : w);
    hdr->height = (int)(h > INT32_MAX ? INT32_MAX : h);
    hdr->bit_depth = bps;
    st = cap_dec_check_dims(w, h, lim, name, err);
    if (st != ODX_OK)
        goto done;
    char *make = NULL, *model = NULL, *dt = NULL;
    TIFFGetField(t, TIFFTAG_MAKE, &make);
    TIFFGetField(t, TIFFTAG_MODEL, &model);
    TIFFGetField(t, TIFFTAG_DATETIME, &dt);
    cap_dec_set_camera(hdr, make, model);
    cap_dec_set_taken(hdr, dt);
    if (ori >= 2 && ori <= 8) {
        hdr->orientation = ori;
        hdr->has_exif = true; /* the orientation is reported as EXIF's is */
    }

    char emsg[1024] = {0};
    if (!TIFFRGBAImageOK(t, emsg)) {
        st = core_err(err, ODX_ERR_UNSUPPORTED, "'%s': TIFF of a kind that is not read: %s",
                      cap_dec_name(name), emsg);
        goto done;
    }
    if (!TIFFRGBAImageBegin(&img, t, 1, emsg)) {
        st = core_err(err, ODX_ERR_DECODE, "'%s': corrupt TIFF: %s", cap_dec_name(name),
                      emsg[0] ? emsg : src.msg);
        goto done;
    }
    begun = true;
    /* Asking for the file's own orientation makes libtiff copy the rows as
     * stored (top row first, no flips); cap_decode then turns them upright
     * with the same code as for EXIF, transposes included (libtiff's own
     * handling of orientations 5..8 flips without transposing). */
    img.req_orientation = img.orientation;
    hdr->has_alpha = img.alpha != 0;
    raster = malloc((size_t)w * h * sizeof *raster);
    if (!raster) {
        st = core_err(err, ODX_ERR_NOMEM, "'%s': %ux%u pixels", cap_dec_name(name), w, h);
        goto done;
    }
    src.msg[0] = 0;
    if (!TIFFRGBAImageGet(&img, raster, w, h) || src.msg[0]) {
        bool cut = tiff_msg_truncated(src.msg);
        st = core_err(err, ODX_ERR_DECODE, "'%s': %s TIFF: %s", cap_dec_name(name),
                      cut ? "truncated" : "corrupt", src.msg[0] ? src.msg : "decoding failed");
        goto done;
    }
    /* libtiff hands out premultiplied alpha (it associates straight alpha
     * itself), so "over white" is c + (255 - a). */
    size_t n = (size_t)w * h;
    uint8_t *rgb = (uint8_t *)raster;
    for (size_t i = 0; i < n; i++) {
        uint32_t v = raster[i];
        unsigned a = img.alpha ? TIFFGetA(v) : 255;
        unsigned r = TIFFGetR(v) + 255 - a, g = TIFFGetG(v) + 255 - a, b = TIFFGetB(v) + 255 - a;
        rgb[3 * i] = (uint8_t)(r > 255 ? 255 : r);
        rgb[3 * i + 1] = (uint8_t)(g > 255 ? 255 : g);
        rgb[3 * i + 2] = (uint8_t)(b > 255 ? 255 : b);
    }
    uint8_t *shrunk = realloc(raster, n * 3);
    out->rgb = shrunk ? shrunk : rgb;
    out->w = (int)w;
    out->h = (int)h;
    raster = NULL;

    /* Count the pages that follow; damage there does not undo page one. */
    int pages = 1;
    for (int k = 0; k < TIFF_MAX_COUNTED_PAGES && TIFFReadDirectory(t); k++) {
        uint32_t sub = 0;
        TIFFGetFieldDefaulted(t, TIFFTAG_SUBFILETYPE, &sub);
        if (!(sub & FILETYPE_REDUCEDIMAGE))
            pages++;
    }
    hdr->n_frames = pages;
done:
    if (begun)
        TIFFRGBAImageEnd(&img);
    TIFFClose(t);
    free(raster);
    return st;
}

/* decode.c - first step of the captioner: PNG/JPEG bytes in memory to 8-bit
 * RGB pixels, with limits checked from the header before pixel memory is
 * allocated, EXIF facts and orientation, and a box-filter downscale. */
#include "captioner.h"

#include <limits.h>
#include <setjmp.h>
#include <stdio.h> /* jpeglib.h needs it first */
#include <stdlib.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>
#include <libexif/exif-data.h>
#include <png.h>

/* Used when the caller gives no limit: 2^30 pixels is already 3 GiB of RGB. */
#define DEC_HARD_MAX_PIXELS (1LL << 30)
/* libjpeg and libpng cannot store sides above these anyway. */
#define DEC_MAX_SIDE 1000000

static const char *dec_name(const char *name) { return name ? name : "(memory)"; }

void cap_image_free(cap_image *im)
{
    if (!im)
        return;
    free(im->rgb);
    im->rgb = NULL;
    im->w = im->h = 0;
}

static int64_t dec_max_pixels(const cap_limits *lim)
{
    if (lim && lim->max_pixels > 0 && lim->max_pixels < DEC_HARD_MAX_PIXELS)
        return lim->max_pixels;
    return DEC_HARD_MAX_PIXELS;
}

/* The one place both decoders check header dimensions; runs before any
 * pixel buffer exists so a decompression bomb costs only its header. */
static odx_status dec_check_dims(int64_t w, int64_t h, const cap_limits *lim,
                                 const char *name, odx_err *err)
{
    if (w <= 0 || h <= 0 || w > DEC_MAX_SIDE || h > DEC_MAX_SIDE)
        return core_err(err, ODX_ERR_DECODE, "'%s': invalid image size %lldx%lld",
                        dec_name(name), (long long)w, (long long)h);
    int64_t max = dec_max_pixels(lim);
    if (w * h > max)
        return core_err(err, ODX_ERR_LIMIT,
                        "'%s': image is %lldx%lld (%.1f MP), over the limit of %.1f MP",
                        dec_name(name), (long long)w, (long long)h,
                        (double)(w * h) / 1e6, (double)max / 1e6);
    return ODX_OK;
}

/* ------------------------------------------------------------ resize ---- */

odx_status cap_image_fit(const cap_image *src, int max_side, cap_image *out,
                         odx_err *err)
{
    odx_status st = ODX_OK;
    uint32_t *acc = NULL;
    int *cx0 = NULL;
    cap_image r = {0};

    if (!src || !src->rgb || src->w <= 0 || src->h <= 0 || !out || max_side <= 0)
        return core_err(err, ODX_ERR_INVALID, "cap_image_fit: bad arguments");
    int w = src->w, h = src->h;
    int lng = w > h ? w : h;
    int nw = w, nh = h;
    if (lng > max_side) {
        double s = (double)max_side / lng;
        nw = (int)(w * s + 0.5);
        nh = (int)(h * s + 0.5);
        if (nw < 1)
            nw = 1;
        if (nh < 1)
            nh = 1;
        if (nw > max_side)
            nw = max_side;
        if (nh > max_side)
            nh = max_side;
    }
    r.w = nw;
    r.h = nh;
    r.rgb = malloc((size_t)nw * nh * 3);
    if (!r.rgb) {
        st = core_err(err, ODX_ERR_NOMEM, "cap_image_fit: %dx%d", nw, nh);
        goto done;
    }
    if (nw == w && nh == h) {
        memcpy(r.rgb, src->rgb, (size_t)w * h * 3);
        goto done;
    }
    /* Each output pixel averages the source box [x0,x1)x[y0,y1); integer box
     * edges are exact enough for statistics and OCR at these ratios. */
    acc = calloc((size_t)nw * 3, sizeof *acc);
    cx0 = malloc(((size_t)nw + 1) * sizeof *cx0);
    if (!acc || !cx0) {
        st = core_err(err, ODX_ERR_NOMEM, "cap_image_fit: scratch");
        goto done;
    }
    for (int ox = 0; ox <= nw; ox++)
        cx0[ox] = (int)((int64_t)ox * w / nw);
    for (int oy = 0; oy < nh; oy++) {
        int y0 = (int)((int64_t)oy * h / nh), y1 = (int)((int64_t)(oy + 1) * h / nh);
        if (y1 <= y0)
            y1 = y0 + 1;
        memset(acc, 0, (size_t)nw * 3 * sizeof *acc);
        for (int y = y0; y < y1; y++) {
            const uint8_t *row = src->rgb + (size_t)y * w * 3;
            for (int ox = 0; ox < nw; ox++) {
                int x0 = cx0[ox], x1 = cx0[ox + 1];
                if (x1 <= x0)
                    x1 = x0 + 1;
                uint32_t sr = 0, sg = 0, sb = 0;
                for (int x = x0; x < x1; x++) {
                    sr += row[3 * x];
                    sg += row[3 * x + 1];
                    sb += row[3 * x + 2];
                }
                acc[3 * ox] += sr;
                acc[3 * ox + 1] += sg;
                acc[3 * ox + 2] += sb;
            }
        }
        uint8_t *orow = r.rgb + (size_t)oy * nw * 3;
        for (int ox = 0; ox < nw; ox++) {
            int bw = cx0[ox + 1] - cx0[ox];
            if (bw < 1)
                bw = 1;
            uint32_t n = (uint32_t)bw * (uint32_t)(y1 - y0);
            for (int c = 0; c < 3; c++)
                orow[3 * ox + c] = (uint8_t)((acc[3 * ox + c] + n / 2) / n);
        }
    }
done:
    free(acc);
    free(cx0);
    if (st == ODX_OK)
        *out = r;
    else
        free(r.rgb);
    return st;
}

/* Applies EXIF orientation 2..8 so the pixels are upright as shown. */
ODX_STATIC odx_status dec_orient(cap_image *im, int o, odx_err *err)
{
    if (o < 2 || o > 8)
        return ODX_OK;
    int w = im->w, h = im->h;
    bool swap = o >= 5;
    int W = swap ? h : w, H = swap ? w : h;
    uint8_t *dst = malloc((size_t)w * h * 3);
    if (!dst)
        return core_err(err, ODX_ERR_NOMEM, "orientation: %dx%d", w, h);
    for (int y = 0; y < H; y++) {
        for (int x = 0; x < W; x++) {
            int sx, sy;
            switch (o) {
            case 2: sx = w - 1 - x; sy = y; break;
            case 3: sx = w - 1 - x; sy = h - 1 - y; break;
            case 4: sx = x; sy = h - 1 - y; break;
            case 5: sx = y; sy = x; break;
            case 6: sx = y; sy = h - 1 - x; break;
            case 7: sx = w - 1 - y; sy = h - 1 - x; break;
            default: sx = w - 1 - y; sy = x; break; /* 8 */
            }
            const uint8_t *s = im->rgb + ((size_t)sy * w + sx) * 3;
            uint8_t *d = dst + ((size_t)y * W + x) * 3;
            d[0] = s[0];
            d[1] = s[1];
            d[2] = s[2];
        }
    }
    free(im->rgb);
    im->rgb = dst;
    im->w = W;
    im->h = H;
    return ODX_OK;
}

/* --------------------------------------------------------------- PNG ---- */

/* Largest ancillary chunk libpng may buffer (PLTE and tRNS are tiny; the
 * image data is streamed, never buffered whole). */
#define DEC_PNG_CHUNK_MAX (1 << 20)

typedef struct dec_png {
    const uint8_t *data;
    size_t len, pos;
    char msg[160];
    bool truncated;
    png_structp png;
    png_infop info;
    uint8_t *pix;
    png_bytep *rows;
    int w, h;
} dec_png;

static void dec_png_error(png_structp png, png_const_charp msg)
{
    dec_png *c = png_get_error_ptr(png);
    if (c && !c->msg[0])
        snprintf(c->msg, sizeof c->msg, "%s", msg ? msg : "libpng error");
    png_longjmp(png, 1);
}

static void dec_png_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    core_log(CORE_LOG_DEBUG, "libpng: %s", msg ? msg : "");
}

static void dec_png_read(png_structp png, png_bytep out, size_t n)
{
    dec_png *c = png_get_io_ptr(png);
    if (n > c->len - c->pos) {
        c->truncated = true;
        png_error(png, "truncated");
    }
    memcpy(out, c->data + c->pos, n);
    c->pos += n;
}

static odx_status dec_png_run(const uint8_t *data, size_t len, const char *name,
                              const cap_limits *lim, cap_header *hdr,
                              cap_image *out, odx_err *err)
{
    dec_png c = {.data = data, .len = len};
    dec_png *cp = &c; /* everything changed after setjmp lives behind cp */
    odx_status st = ODX_OK;

    /* IHDR must come first; checking it here refuses a bomb before libpng
     * walks the chunks that precede the image data. */
    if (len >= 24 && memcmp(data + 12, "IHDR", 4) == 0) {
        uint32_t pw = (uint32_t)data[16] << 24 | (uint32_t)data[17] << 16 |
                      (uint32_t)data[18] << 8 | data[19];
        uint32_t ph = (uint32_t)data[20] << 24 | (uint32_t)data[21] << 16 |
                      (uint32_t)data[22] << 8 | data[23];
        hdr->width = (int)(pw > INT_MAX ? INT_MAX : pw);
        hdr->height = (int)(ph > INT_MAX ? INT_MAX : ph);
        st = dec_check_dims(pw, ph, lim, name, err);
        if (st != ODX_OK)
            return st;
    }
    cp->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, cp, dec_png_error,
                                     dec_png_warning);
    if (!cp->png)
        return core_err(err, ODX_ERR_NOMEM, "'%s': libpng init", dec_name(name));
    cp->info = png_create_info_struct(cp->png);
    if (!cp->info) {
        st = core_err(err, ODX_ERR_NOMEM, "'%s': libpng init", dec_name(name));
        goto done;
    }
    if (setjmp(png_jmpbuf(cp->png))) {
        if (cp->truncated)
            st = core_err(err, ODX_ERR_DECODE, "'%s': truncated PNG", dec_name(name));
        else
            st = core_err(err, ODX_ERR_DECODE, "'%s': corrupt PNG: %s",
                          dec_name(name), cp->msg);
        goto done;
    }
    png_set_read_fn(cp->png, cp, dec_png_read);
    /* Only the pixels matter (and tRNS, which png_set_expand applies):
     * every other ancillary chunk is skipped unread rather than parsed, so
     * that a zTXt/iTXt/iCCP bomb costs no inflating and a chunk declaring a
     * huge length no allocation (fuzz_png: a 60-byte file made libpng
     * malloc 352 MB for one chunk). Skipped chunks are still CRC-checked. */
    static const png_byte skip[] = "bKGD\0cHRM\0eXIf\0gAMA\0hIST\0iCCP\0iTXt\0oFFs\0"
                                   "pCAL\0pHYs\0sBIT\0sCAL\0sPLT\0sRGB\0tEXt\0tIME\0zTXt";
    png_set_keep_unknown_chunks(cp->png, PNG_HANDLE_CHUNK_NEVER, NULL, 0);
    png_set_keep_unknown_chunks(cp->png, PNG_HANDLE_CHUNK_NEVER, skip, (int)(sizeof skip / 5));
    png_set_chunk_malloc_max(cp->png, DEC_PNG_CHUNK_MAX);
    png_set_chunk_cache_max(cp->png, 64);
    png_read_info(cp->png, cp->info);

    png_uint_32 pw = png_get_image_width(cp->png, cp->info);
    png_uint_32 ph = png_get_image_height(cp->png, cp->info);
    hdr->width = (int)(pw > INT_MAX ? INT_MAX : pw);
    hdr->height = (int)(ph > INT_MAX ? INT_MAX : ph);
    st = dec_check_dims(pw, ph, lim, name, err);
    if (st != ODX_OK)
        goto done;
    int w = cp->w = (int)pw, h = cp->h = (int)ph;

    int ct = png_get_color_type(cp->png, cp->info);
    png_set_expand(cp->png); /* palette -> RGB, low-bit gray -> 8, tRNS -> alpha */
    png_set_strip_16(cp->png);
    if (ct == PNG_COLOR_TYPE_GRAY || ct == PNG_COLOR_TYPE_GRAY_ALPHA)
        png_set_gray_to_rgb(cp->png);
    png_set_interlace_handling(cp->png);
    png_read_update_info(cp->png, cp->info);

    int ch = png_get_channels(cp->png, cp->info);
    if (ch != 3 && ch != 4) {
        st = core_err(err, ODX_ERR_DECODE, "'%s': unexpected PNG layout (%d channels)",
                      dec_name(name), ch);
        goto done;
    }
    size_t rowb = (size_t)w * ch;
    if (png_get_rowbytes(cp->png, cp->info) != rowb) {
        st = core_err(err, ODX_ERR_DECODE, "'%s': unexpected PNG row size", dec_name(name));
        goto done;
    }
    cp->pix = malloc(rowb * h);
    cp->rows = malloc(sizeof *cp->rows * h);
    if (!cp->pix || !cp->rows) {
        st = core_err(err, ODX_ERR_NOMEM, "'%s': %dx%d pixels", dec_name(name), w, h);
        goto done;
    }
    for (int y = 0; y < h; y++)
        cp->rows[y] = cp->pix + rowb * y;
    png_read_image(cp->png, cp->rows);

    if (ch == 4) {
        /* Composite onto white: transparent document backgrounds must read
         * as paper, not as black. In place: dst index 3i never passes 4i. */
        size_t n = (size_t)w * h;
        uint8_t *p = cp->pix;
        for (size_t i = 0; i < n; i++) {
            unsigned a = p[4 * i + 3];
            for (int k = 0; k < 3; k++)
                p[3 * i + k] = (uint8_t)((p[4 * i + k] * a + 255 * (255 - a) + 127) / 255);
        }
        uint8_t *shrunk = realloc(cp->pix, n * 3);
        if (shrunk)
            cp->pix = shrunk;
    }
done:
    png_destroy_read_struct(&cp->png, cp->info ? &cp->info : NULL, NULL);
    free(cp->rows);
    if (st == ODX_OK) {
        out->w = cp->w;
        out->h = cp->h;
        out->rgb = cp->pix;
    } else {
        free(cp->pix);
    }
    return st;
}

/* -------------------------------------------------------------- EXIF ---- */

static void dec_trim_copy(char *dst, size_t cap, const char *src)
{
    while (*src == ' ')
        src++;
    size_t n = 0;
    for (const char *s = src; *s && n + 1 < cap; s++) /* printable ASCII only */
        dst[n++] = (*s >= 0x20 && *s < 0x7f) ? *s : ' ';
    while (n > 0 && dst[n - 1] == ' ')
        n--;
    dst[n] = 0;
}

static void dec_exif_str(ExifData *ed, ExifIfd ifd, ExifTag tag, char *buf, size_t cap)
{
    buf[0] = 0;
    ExifEntry *e = exif_content_get_entry(ed->ifd[ifd], tag);
    if (!e || e->format != EXIF_FORMAT_ASCII || !e->data || e->size == 0)
        return;
    char tmp[128];
    size_t n = e->size < sizeof tmp - 1 ? e->size : sizeof tmp - 1;
    memcpy(tmp, e->data, n);
    tmp[n] = 0;
    dec_trim_copy(buf, cap, tmp);
}

/* Reads orientation, DateTimeOriginal and camera from an APP1 payload. */
static void dec_exif(const uint8_t *p, size_t n, cap_header *hdr)
{
    if (n < 14 || memcmp(p, "Exif\0\0", 6) != 0)
        return;
    ExifData *ed = exif_data_new_from_data(p, (unsigned int)n);
    if (!ed)
        return;
    hdr->has_exif = true;
    ExifByteOrder bo = exif_data_get_byte_order(ed);
    ExifEntry *e = exif_content_get_entry(ed->ifd[EXIF_IFD_0], EXIF_TAG_ORIENTATION);
    if (e && e->format == EXIF_FORMAT_SHORT && e->size >= 2) {
        int o = exif_get_short(e->data, bo);
        if (o >= 1 && o <= 8)
            hdr->orientation = o;
    }
    char dt[32];
    dec_exif_str(ed, EXIF_IFD_EXIF, EXIF_TAG_DATE_TIME_ORIGINAL, dt, sizeof dt);
    if (!dt[0])
        dec_exif_str(ed, EXIF_IFD_0, EXIF_TAG_DATE_TIME, dt, sizeof dt);
    /* "YYYY:MM:DD HH:MM:SS" with digits where digits belong; cameras write
     * "0000:00:00 00:00:00" or blanks when the clock was never set. */
    static const char pat[] = "dddd:dd:dd dd:dd:dd";
    bool ok = strlen(dt) >= sizeof pat - 1;
    for (size_t i = 0; ok && i < sizeof pat - 1; i++)
        ok = pat[i] == 'd' ? (dt[i] >= '0' && dt[i] <= '9') : dt[i] == pat[i];
    if (ok && strncmp(dt, "0000", 4) != 0) {
        memcpy(hdr->taken_at, dt, 19);
        hdr->taken_at[4] = hdr->taken_at[7] = '-';
        hdr->taken_at[19] = 0;
    }
    char make[64], model[64];
    dec_exif_str(ed, EXIF_IFD_0, EXIF_TAG_MAKE, make, sizeof make);
    dec_exif_str(ed, EXIF_IFD_0, EXIF_TAG_MODEL, model, sizeof model);
    size_t ml = strlen(make);
    /* Many models repeat the make ("Canon" + "Canon EOS 5D"): say it once. */
    if (ml && strncasecmp(model, make, ml) == 0)
        make[0] = 0;
    char cam[160];
    snprintf(cam, sizeof cam, "%s%s%s", make, make[0] && model[0] ? " " : "", model);
    dec_trim_copy(hdr->camera, sizeof hdr->camera, cam);
    exif_data_unref(ed);
}

/* -------------------------------------------------------------- JPEG ---- */

typedef struct dec_jerr {
    struct jpeg_error_mgr pub;
    jmp_buf jmp;
    char msg[JMSG_LENGTH_MAX];
    bool truncated;
} dec_jerr;

static void dec_jpeg_error_exit(j_common_ptr ci)
{
    dec_jerr *e = (dec_jerr *)ci->err;
    if (!e->msg[0])
        ci->err->format_message(ci, e->msg);
    longjmp(e->jmp, 1);
}

/* libjpeg-turbo reports a cut-off file as a warning and fills the rest with
 * grey; a half image must not be indexed as if it were whole, so that one
 * warning becomes an error. Nothing is printed. */
static void dec_jpeg_emit(j_common_ptr ci, int level)
{
    dec_jerr *e = (dec_jerr *)ci->err;
    if (level >= 0)
        return;
    if (ci->err->msg_code == JWRN_JPEG_EOF)
        e->truncated = true;
    if (ci->err->num_warnings++ == 0) {
        char m[JMSG_LENGTH_MAX];
        ci->err->format_message(ci, m);
        core_log(CORE_LOG_DEBUG, "libjpeg: %s", m);
    }
}

static void dec_jpeg_output(j_common_ptr ci) { (void)ci; }

/* Progress monitor: libjpeg calls it before every iMCU row it absorbs from
 * each scan of a multi-scan file (and once per jpeg_read_scanlines), so it
 * sees the scan count grow and can charge each call the pixels of one iMCU
 * row. Over either limit
 * it leaves through the error longjmp with the reason set. */
typedef struct dec_jprog {
    struct jpeg_progress_mgr pub;
    dec_jerr *jerr;
    int64_t work, budget, row_px;
    int max_scans, scans;
    bool over_scans, over_work;
} dec_jprog;

static void dec_jpeg_progress(j_common_ptr ci)
{
    dec_jprog *p = (dec_jprog *)ci->progress;
    j_decompress_ptr d = (j_decompress_ptr)ci;
    if (d->input_scan_number > p->scans)
        p->scans = d->input_scan_number;
    /* Charged while the scans are absorbed (output_scanline still 0): the
     * output pass that follows is bounded by the pixel limit alone. */
    if (d->output_scanline == 0)
        p->work += p->row_px;
    if (p->scans > p->max_scans)
        p->over_scans = true;
    else if (p->work > p->budget)
        p->over_work = true;
    else
        return;
    longjmp(p->jerr->jmp, 1);
}

typedef struct dec_jpeg {
    struct jpeg_decompress_struct ci;
    dec_jerr jerr;
    dec_jprog prog;
    uint8_t *pix;
    uint8_t *row; /* CMYK scratch */
    int w, h;
    bool created;
} dec_jpeg;

static odx_status dec_jpeg_run(const uint8_t *data, size_t len, const char *name,
                               const cap_limits *lim, int max_side, cap_header *hdr,
                               cap_image *out, odx_err *err)
{
    dec_jpeg *c = calloc(1, sizeof *c); /* on the heap: survives longjmp intact */
    odx_status st = ODX_OK;
    if (!c)
        return core_err(err, ODX_ERR_NOMEM, "'%s': libjpeg init", dec_name(name));
    if (len > ULONG_MAX) {
        free(c);
        return core_err(err, ODX_ERR_LIMIT, "'%s': file too large", dec_name(name));
    }
    c->ci.err = jpeg_std_error(&c->jerr.pub);
    c->jerr.pub.error_exit = dec_jpeg_error_exit;
    c->jerr.pub.emit_message = dec_jpeg_emit;
    c->jerr.pub.output_message = dec_jpeg_output;
    if (setjmp(c->jerr.jmp)) {
        if (c->prog.over_scans)
            st = core_err(err, ODX_ERR_LIMIT,
                          "'%s': JPEG has more than %d scans (a normal progressive JPEG "
                          "has about 10)", dec_name(name), c->prog.max_scans);
        else if (c->prog.over_work)
            st = core_err(err, ODX_ERR_LIMIT,
                          "'%s': JPEG decoding work over the budget of %lld "
                          "pixels (%d scans of %ux%u)", dec_name(name), (long long)c->prog.budget,
                          c->prog.scans, c->ci.image_width, c->ci.image_height);
        else
            st = core_err(err, ODX_ERR_DECODE, "'%s': corrupt JPEG: %s", dec_name(name),
                          c->jerr.msg);
        goto done;
    }
    jpeg_create_decompress(&c->ci);
    c->created = true;
    jpeg_mem_src(&c->ci, data, (unsigned long)len);
    jpeg_save_markers(&c->ci, JPEG_APP0 + 1, 0xFFFF);
    jpeg_read_header(&c->ci, TRUE);
    if (c->jerr.truncated) {
        st = core_err(err, ODX_ERR_DECODE, "'%s': truncated JPEG (header)", dec_name(name));
        goto done;
    }

    hdr->width = (int)(c->ci.image_width > INT_MAX ? INT_MAX : c->ci.image_width);
    hdr->height = (int)(c->ci.image_height > INT_MAX ? INT_MAX : c->ci.image_height);
    for (jpeg_saved_marker_ptr m = c->ci.marker_list; m; m = m->next)
        if (m->marker == JPEG_APP0 + 1 && m->data_length >= 6 &&
            memcmp(m->data, "Exif\0\0", 6) == 0) {
            dec_exif(m->data, m->data_length, hdr);
            break;
        }
    st = dec_check_dims(c->ci.image_width, c->ci.image_height, lim, name, err);
    if (st != ODX_OK)
        goto done;

    /* Largest DCT reduction that keeps the long side >= max_side. */
    if (max_side > 0) {
        unsigned lng = c->ci.image_width > c->ci.image_height ? c->ci.image_width
                                                               : c->ci.image_height;
        unsigned d = 1;
        while (d < 8 && (lng + 2 * d - 1) / (2 * d) >= (unsigned)max_side)
            d *= 2;
        c->ci.scale_num = 1;
        c->ci.scale_denom = d;
    }
    /* Work limits before any scan is decoded: each scan of a progressive
     * file costs a pass over the whole image however few bytes it has. */
    c->prog.jerr = &c->jerr;
    c->prog.pub.progress_monitor = dec_jpeg_progress;
    c->prog.max_scans = lim && lim->max_jpeg_scans > 0 ? lim->max_jpeg_scans : CAP_JPEG_MAX_SCANS;
    c->prog.budget = lim && lim->max_decode_work > 0 ? lim->max_decode_work : CAP_DECODE_WORK_MAX;
    {
        int vmax = 1;
        for (int i = 0; i < c->ci.num_components; i++)
            if (c->ci.comp_info[i].v_samp_factor > vmax)
                vmax = c->ci.comp_info[i].v_samp_factor;
        c->prog.row_px = (int64_t)c->ci.image_width * vmax * DCTSIZE;
    }
    c->ci.progress = &c->prog.pub;
    bool cmyk = c->ci.jpeg_color_space == JCS_CMYK || c->ci.jpeg_color_space == JCS_YCCK;
    c->ci.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    c->ci.dct_method = JDCT_ISLOW;
    jpeg_start_decompress(&c->ci);
    int ow = c->w = (int)c->ci.output_width, oh = c->h = (int)c->ci.output_height;
    int nc = c->ci.output_components;
    if (ow <= 0 || oh <= 0 || nc != (cmyk ? 4 : 3)) {
        st = core_err(err, ODX_ERR_DECODE, "'%s': unexpected JPEG output %dx%dx%d",
                      dec_name(name), ow, oh, nc);
        goto done;
    }
    c->pix = malloc((size_t)ow * oh * 3);
    c->row = cmyk ? malloc((size_t)ow * 4) : NULL;
    if (!c->pix || (cmyk && !c->row)) {
        st = core_err(err, ODX_ERR_NOMEM, "'%s': %dx%d pixels", dec_name(name), ow, oh);
        goto done;
    }
    /* Adobe writes CMYK inverted (0 = full ink); others store plain ink. */
    bool inverted = c->ci.saw_Adobe_marker;
    while (c->ci.output_scanline < c->ci.output_height) {
        uint8_t *dst = c->pix + (size_t)c->ci.output_scanline * ow * 3;
        JSAMPROW r = cmyk ? c->row : dst;
        jpeg_read_scanlines(&c->ci, &r, 1);
        if (cmyk) {
            for (int x = 0; x < ow; x++) {
                unsigned k = c->row[4 * x + 3];
                for (int q = 0; q < 3; q++) {
                    unsigned v = c->row[4 * x + q];
                    dst[3 * x + q] = inverted ? (uint8_t)((v * k + 127) / 255)
                                              : (uint8_t)(((255 - v) * (255 - k) + 127) / 255);
                }
            }
        }
        if (c->jerr.truncated)
            break;
    }
    if (c->jerr.truncated) {
        st = core_err(err, ODX_ERR_DECODE, "'%s': truncated JPEG (premature end of data)",
                      dec_name(name));
        goto done;
    }
    jpeg_finish_decompress(&c->ci);
    if (c->jerr.truncated) {
        st = core_err(err, ODX_ERR_DECODE, "'%s': truncated JPEG (premature end of data)",
                      dec_name(name));
        goto done;
    }
done:
    if (c->created)
        jpeg_destroy_decompress(&c->ci);
    free(c->row);
    if (st == ODX_OK) {
        out->w = c->w;
        out->h = c->h;
        out->rgb = c->pix;
    } else {
        free(c->pix);
    }
    free(c);
    return st;
}

/* ------------------------------------------------------------- entry ---- */

static const char *dec_guess(const uint8_t *p, size_t n)
{
    if (n >= 6 && (memcmp(p, "GIF87a", 6) == 0 || memcmp(p, "GIF89a", 6) == 0))
        return " (looks like GIF)";
    if (n >= 12 && memcmp(p, "RIFF", 4) == 0 && memcmp(p + 8, "WEBP", 4) == 0)
        return " (looks like WebP)";
    if (n >= 2 && p[0] == 'B' && p[1] == 'M')
        return " (looks like BMP)";
    if (n >= 4 && (memcmp(p, "II*\0", 4) == 0 || memcmp(p, "MM\0*", 4) == 0))
        return " (looks like TIFF)";
    if (n >= 5 && memcmp(p, "%PDF-", 5) == 0)
        return " (looks like PDF)";
    return "";
}

odx_status cap_decode(const uint8_t *data, size_t len, const char *name,
                      const cap_limits *lim, int max_side, cap_header *hdr,
                      cap_image *out, odx_err *err)
{
    cap_header h0;
    cap_image im = {0};
    odx_status st;
    if (!hdr)
        hdr = &h0;
    memset(hdr, 0, sizeof *hdr);
    hdr->orientation = 1;
    if (!out || (!data && len))
        return core_err(err, ODX_ERR_INVALID, "cap_decode: bad arguments");
    if (len == 0)
        return core_err(err, ODX_ERR_DECODE, "'%s': empty file", dec_name(name));
    if (lim && lim->max_file_bytes > 0 && (uint64_t)len > (uint64_t)lim->max_file_bytes)
        return core_err(err, ODX_ERR_LIMIT, "'%s': file is %zu bytes, over the limit of %lld",
                        dec_name(name), len, (long long)lim->max_file_bytes);

    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (len >= 8 && memcmp(data, png_sig, 8) == 0) {
        snprintf(hdr->format, sizeof hdr->format, "png");
        st = dec_png_run(data, len, name, lim, hdr, &im, err);
        if (st == ODX_OK && max_side > 0 && (im.w > max_side || im.h > max_side)) {
            cap_image small = {0};
            st = cap_image_fit(&im, max_side, &small, err);
            cap_image_free(&im);
            im = small;
        }
    } else if (len >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF) {
        snprintf(hdr->format, sizeof hdr->format, "jpeg");
        st = dec_jpeg_run(data, len, name, lim, max_side, hdr, &im, err);
        /* DCT scaling reduces 8x at most: a very long, thin image is still
         * over twice max_side after it (found by fuzz_jpeg: 16x26128 gave a
         * 2x3266 thumbnail); the box filter finishes the job. */
        if (st == ODX_OK && max_side > 0 && (im.w > 2 * max_side || im.h > 2 * max_side)) {
            cap_image small = {0};
            st = cap_image_fit(&im, max_side, &small, err);
            cap_image_free(&im);
            im = small;
        }
        if (st == ODX_OK)
            st = dec_orient(&im, hdr->orientation, err);
    } else {
        char hex[3 * 8 + 1] = {0};
        size_t n = len < 8 ? len : 8;
        for (size_t i = 0; i < n; i++)
            snprintf(hex + 3 * i, 4, "%s%02x", i ? " " : "", data[i]);
        return core_err(err, ODX_ERR_UNSUPPORTED,
                        "'%s': not a PNG or JPEG image (starts with %s)%s",
                        dec_name(name), hex, dec_guess(data, len));
    }
    if (st != ODX_OK) {
        cap_image_free(&im);
        return st;
    }
    *out = im;
    return ODX_OK;
}

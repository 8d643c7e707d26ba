/* decode.c - first step of the captioner: image bytes in memory to 8-bit
 * RGB pixels. Owns the entry (format by magic bytes), the PNG and JPEG
 * decoders and a box-filter downscale; the other formats live in
 * decode_<format>.c, the limits, EXIF and orientation they all share in
 * decode_util.c (contract: decode_int.h). */
#include "decode_int.h"

#include <limits.h>
#include <setjmp.h>
#include <stdio.h> /* jpeglib.h needs it first */
#include <stdlib.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>
#include <png.h>

void cap_image_free(cap_image *im)
{
    if (!im)
        return;
    free(im->rgb);
    im->rgb = NULL;
    im->w = im->h = 0;
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
        st = cap_dec_check_dims(pw, ph, lim, name, err);
        if (st != ODX_OK)
            return st;
    }
    cp->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, cp, dec_png_error,
                                     dec_png_warning);
    if (!cp->png)
        return core_err(err, ODX_ERR_NOMEM, "'%s': libpng init", cap_dec_name(name));
    cp->info = png_create_info_struct(cp->png);
    if (!cp->info) {
        st = core_err(err, ODX_ERR_NOMEM, "'%s': libpng init", cap_dec_name(name));
        goto done;
    }
    if (setjmp(png_jmpbuf(cp->png))) {
        if (cp->truncated)
            st = core_err(err, ODX_ERR_DECODE, "'%s': truncated PNG", cap_dec_name(name));
        else
            st = core_err(err, ODX_ERR_DECODE, "'%s': corrupt PNG: %s",
                          cap_dec_name(name), cp->msg);
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
    st = cap_dec_check_dims(pw, ph, lim, name, err);
    if (st != ODX_OK)
        goto done;
    int w = cp->w = (int)pw, h = cp->h = (int)ph;

    int ct = png_get_color_type(cp->png, cp->info);
    hdr->bit_depth = png_get_bit_depth(cp->png, cp->info);
    hdr->has_alpha = (ct & PNG_COLOR_MASK_ALPHA) || png_get_valid(cp->png, cp->info, PNG_INFO_tRNS);
    png_set_expand(cp->png); /* palette -> RGB, low-bit gray -> 8, tRNS -> alpha */
    png_set_strip_16(cp->png);
    if (ct == PNG_COLOR_TYPE_GRAY || ct == PNG_COLOR_TYPE_GRAY_ALPHA)
        png_set_gray_to_rgb(cp->png);
    png_set_interlace_handling(cp->png);
    png_read_update_info(cp->png, cp->info);

    int ch = png_get_channels(cp->png, cp->info);
    if (ch != 3 && ch != 4) {
        st = core_err(err, ODX_ERR_DECODE, "'%s': unexpected PNG layout (%d channels)",
                      cap_dec_name(name), ch);
        goto done;
    }
    size_t rowb = (size_t)w * ch;
    if (png_get_rowbytes(cp->png, cp->info) != rowb) {
        st = core_err(err, ODX_ERR_DECODE, "'%s': unexpected PNG row size", cap_dec_name(name));
        goto done;
    }
    cp->pix = malloc(rowb * h);
    cp->rows = malloc(sizeof *cp->rows * h);
    if (!cp->pix || !cp->rows) {
        st = core_err(err, ODX_ERR_NOMEM, "'%s': %dx%d pixels", cap_dec_name(name), w, h);
        goto done;
    }
    for (int y = 0; y < h; y++)
        cp->rows[y] = cp->pix + rowb * y;
    png_read_image(cp->png, cp->rows);

    if (ch == 4) {
        size_t n = (size_t)w * h;
        cap_dec_rgba_on_white(cp->pix, n);
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
        return core_err(err, ODX_ERR_NOMEM, "'%s': libjpeg init", cap_dec_name(name));
    if (len > ULONG_MAX) {
        free(c);
        return core_err(err, ODX_ERR_LIMIT, "'%s': file too large", cap_dec_name(name));
    }
    c->ci.err = jpeg_std_error(&c->jerr.pub);
    c->jerr.pub.error_exit = dec_jpeg_error_exit;
    c->jerr.pub.emit_message = dec_jpeg_emit;
    c->jerr.pub.output_message = dec_jpeg_output;
    if (setjmp(c->jerr.jmp)) {
        if (c->prog.over_scans)
            st = core_err(err, ODX_ERR_LIMIT,
                          "'%s': JPEG has more than %d scans (a normal progressive JPEG "
                          "has about 10)", cap_dec_name(name), c->prog.max_scans);
        else if (c->prog.over_work)
            st = core_err(err, ODX_ERR_LIMIT,
                          "'%s': JPEG decoding work over the budget of %lld "
                          "pixels (%d scans of %ux%u)", cap_dec_name(name), (long long)c->prog.budget,
                          c->prog.scans, c->ci.image_width, c->ci.image_height);
        else
            st = core_err(err, ODX_ERR_DECODE, "'%s': corrupt JPEG: %s", cap_dec_name(name),
                          c->jerr.msg);
        goto done;
    }
    jpeg_create_decompress(&c->ci);
    c->created = true;
    jpeg_mem_src(&c->ci, data, (unsigned long)len);
    jpeg_save_markers(&c->ci, JPEG_APP0 + 1, 0xFFFF);
    jpeg_read_header(&c->ci, TRUE);
    if (c->jerr.truncated) {
        st = core_err(err, ODX_ERR_DECODE, "'%s': truncated JPEG (header)", cap_dec_name(name));
        goto done;
    }

    hdr->width = (int)(c->ci.image_width > INT_MAX ? INT_MAX : c->ci.image_width);
    hdr->height = (int)(c->ci.image_height > INT_MAX ? INT_MAX : c->ci.image_height);
    for (jpeg_saved_marker_ptr m = c->ci.marker_list; m; m = m->next)
        if (m->marker == JPEG_APP0 + 1 && m->data_length >= 6 &&
            memcmp(m->data, "Exif\0\0", 6) == 0) {
            cap_dec_exif(m->data, m->data_length, hdr);
            break;
        }
    hdr->bit_depth = c->ci.data_precision;
    st = cap_dec_check_dims(c->ci.image_width, c->ci.image_height, lim, name, err);
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
                      cap_dec_name(name), ow, oh, nc);
        goto done;
    }
    c->pix = malloc((size_t)ow * oh * 3);
    c->row = cmyk ? malloc((size_t)ow * 4) : NULL;
    if (!c->pix || (cmyk && !c->row)) {
        st = core_err(err, ODX_ERR_NOMEM, "'%s': %dx%d pixels", cap_dec_name(name), ow, oh);
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
                      cap_dec_name(name));
        goto done;
    }
    jpeg_finish_decompress(&c->ci);
    if (c->jerr.truncated) {
        st = core_err(err, ODX_ERR_DECODE, "'%s': truncated JPEG (premature end of data)",
                      cap_dec_name(name));
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

static uint32_t dec_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ISO-BMFF (HEIF/AVIF): "ftyp" box first, major brand then compatible
 * brands. AVIF brands win over HEVC ones (an AVIF may list mif1 too). */
static const char *dec_sniff_bmff(const uint8_t *p, size_t n)
{
    if (n < 16 || memcmp(p + 4, "ftyp", 4) != 0)
        return NULL;
    uint32_t box = dec_be32(p);
    if (box < 16 || box > 4096)
        return NULL;
    size_t end = box < n ? box : n;
    bool avif = false, heic = false, mif = false;
    for (size_t at = 8; at + 4 <= end; at += 4) {
        if (at == 12)
            continue; /* minor version */
        const uint8_t *b = p + at;
        if (!memcmp(b, "avif", 4) || !memcmp(b, "avis", 4))
            avif = true;
        else if (!memcmp(b, "heic", 4) || !memcmp(b, "heix", 4) || !memcmp(b, "hevc", 4) ||
                 !memcmp(b, "hevx", 4) || !memcmp(b, "heim", 4) || !memcmp(b, "heis", 4))
            heic = true;
        else if (!memcmp(b, "mif1", 4) || !memcmp(b, "msf1", 4))
            mif = true;
    }
    return avif ? "avif" : heic ? "heic" : mif ? "heif" : NULL;
}

/* BMP: "BM", then a DIB header size libbmp readers know; a text file that
 * starts with "BM" is not taken for one. */
static bool dec_sniff_bmp(const uint8_t *p, size_t n)
{
    if (n < 18 || p[0] != 'B' || p[1] != 'M')
        return false;
    uint32_t dib = (uint32_t)p[14] | (uint32_t)p[15] << 8 | (uint32_t)p[16] << 16 |
                   (uint32_t)p[17] << 24;
    return dib == 12 || dib == 40 || dib == 52 || dib == 56 || dib == 64 || dib == 108 ||
           dib == 124;
}

const char *cap_sniff(const uint8_t *p, size_t n)
{
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (!p)
        return NULL;
    if (n >= 8 && memcmp(p, png_sig, 8) == 0)
        return "png";
    if (n >= 3 && p[0] == 0xFF && p[1] == 0xD8 && p[2] == 0xFF)
        return "jpeg";
    if (n >= 12 && memcmp(p, "RIFF", 4) == 0 && memcmp(p + 8, "WEBP", 4) == 0)
        return "webp";
    if (n >= 6 && (memcmp(p, "GIF87a", 6) == 0 || memcmp(p, "GIF89a", 6) == 0))
        return "gif";
    if (n >= 8 && (memcmp(p, "II*\0", 4) == 0 || memcmp(p, "MM\0*", 4) == 0))
        return "tiff";
    if (dec_sniff_bmp(p, n))
        return "bmp";
    return dec_sniff_bmff(p, n);
}

static const char *dec_guess(const uint8_t *p, size_t n)
{
    if (n >= 4 && (memcmp(p, "II+\0", 4) == 0 || memcmp(p, "MM\0+", 4) == 0))
        return " (looks like BigTIFF, which is not read)";
    if (n >= 5 && memcmp(p, "%PDF-", 5) == 0)
        return " (looks like PDF)";
    if (n >= 12 && memcmp(p + 4, "ftyp", 4) == 0)
        return " (an ISO media file, not a still image)";
    if (n >= 12 && memcmp(p, "\0\0\0\x0cJXL ", 8) == 0)
        return " (looks like JPEG XL, which is not read)";
    if (n >= 2 && p[0] == 0xFF && p[1] == 0x0A)
        return " (looks like JPEG XL, which is not read)";
    if (n >= 2 && p[0] == 'B' && p[1] == 'M')
        return " (a BMP header of a kind that is not read)";
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
    hdr->n_frames = 1;
    hdr->bit_depth = 8;
    if (!out || (!data && len))
        return core_err(err, ODX_ERR_INVALID, "cap_decode: bad arguments");
    if (len == 0)
        return core_err(err, ODX_ERR_DECODE, "'%s': empty file", cap_dec_name(name));
    if (lim && lim->max_file_bytes > 0 && (uint64_t)len > (uint64_t)lim->max_file_bytes)
        return core_err(err, ODX_ERR_LIMIT, "'%s': file is %zu bytes, over the limit of %lld",
                        cap_dec_name(name), len, (long long)lim->max_file_bytes);

    const char *fmt = cap_sniff(data, len);
    if (!fmt) {
        char hex[3 * 8 + 1] = {0};
        size_t n = len < 8 ? len : 8;
        for (size_t i = 0; i < n; i++)
            snprintf(hex + 3 * i, 4, "%s%02x", i ? " " : "", data[i]);
        return core_err(err, ODX_ERR_UNSUPPORTED,
                        "'%s': not an image format omnidex reads (PNG, JPEG, WebP, GIF, "
                        "TIFF, BMP, HEIC, AVIF): starts with %s%s",
                        cap_dec_name(name), hex, dec_guess(data, len));
    }
    snprintf(hdr->format, sizeof hdr->format, "%s", fmt);
    bool jpeg = !strcmp(fmt, "jpeg");
    if (!strcmp(fmt, "png"))
        st = dec_png_run(data, len, name, lim, hdr, &im, err);
    else if (jpeg)
        st = dec_jpeg_run(data, len, name, lim, max_side, hdr, &im, err);
    else if (!strcmp(fmt, "webp"))
        st = cap_dec_webp(data, len, name, lim, hdr, &im, err);
    else if (!strcmp(fmt, "gif"))
        st = cap_dec_gif(data, len, name, lim, hdr, &im, err);
    else if (!strcmp(fmt, "tiff"))
        st = cap_dec_tiff(data, len, name, lim, hdr, &im, err);
    else if (!strcmp(fmt, "bmp"))
        st = cap_dec_bmp(data, len, name, lim, hdr, &im, err);
    else
        st = cap_dec_heif(data, len, name, lim, hdr, &im, err);
    if (st == ODX_OK && !im.rgb)
        st = core_err(err, ODX_ERR_INTERNAL, "'%s': %s decoder returned no pixels",
                      cap_dec_name(name), fmt);
    /* JPEG is DCT-reduced while decoding, 8x at most: a very long, thin
     * image is still over twice max_side after it (found by fuzz_jpeg:
     * 16x26128 gave a 2x3266 thumbnail); the box filter finishes the job.
     * The other formats come at full size and are box-filtered here. */
    int over = jpeg ? 2 * max_side : max_side;
    if (st == ODX_OK && max_side > 0 && (im.w > over || im.h > over)) {
        cap_image small = {0};
        st = cap_image_fit(&im, max_side, &small, err);
        cap_image_free(&im);
        im = small;
    }
    /* PNG's eXIf chunk is skipped unread, so its orientation stays 1. */
    if (st == ODX_OK)
        st = cap_dec_orient(&im, hdr->orientation, err);
    if (st != ODX_OK) {
        cap_image_free(&im);
        return st;
    }
    *out = im;
    return ODX_OK;
}

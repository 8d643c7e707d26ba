/* decode_util.c - what every decoder of the captioner shares (decode_int.h):
 * the one check of declared dimensions, EXIF facts and orientation, the
 * orientation transform, alpha onto white. Depends on no decoder, so the
 * decoders (decode.c, decode_<format>.c) form no circle through it. */
#include "decode_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libexif/exif-data.h>

/* Used when the caller gives no limit: 2^30 pixels is already 3 GiB of RGB. */
#define DEC_HARD_MAX_PIXELS (1LL << 30)
/* libjpeg and libpng cannot store sides above these anyway. */
#define DEC_MAX_SIDE 1000000

const char *cap_dec_name(const char *name) { return name ? name : "(memory)"; }

static int64_t dec_max_pixels(const cap_limits *lim)
{
    if (lim && lim->max_pixels > 0 && lim->max_pixels < DEC_HARD_MAX_PIXELS)
        return lim->max_pixels;
    return DEC_HARD_MAX_PIXELS;
}

/* The one place every decoder checks header dimensions; runs before any
 * pixel buffer exists so a decompression bomb costs only its header. */
odx_status cap_dec_check_dims(int64_t w, int64_t h, const cap_limits *lim,
                                 const char *name, odx_err *err)
{
    if (w <= 0 || h <= 0 || w > DEC_MAX_SIDE || h > DEC_MAX_SIDE)
        return core_err(err, ODX_ERR_DECODE, "'%s': invalid image size %lldx%lld",
                        cap_dec_name(name), (long long)w, (long long)h);
    int64_t max = dec_max_pixels(lim);
    if (w * h > max)
        return core_err(err, ODX_ERR_LIMIT,
                        "'%s': image is %lldx%lld (%.1f MP), over the limit of %.1f MP",
                        cap_dec_name(name), (long long)w, (long long)h,
                        (double)(w * h) / 1e6, (double)max / 1e6);
    return ODX_OK;
}

/* Applies EXIF orientation 2..8 so the pixels are upright as shown. */
odx_status cap_dec_orient(cap_image *im, int o, odx_err *err)
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

/* Composite onto white: transparent document backgrounds must read as
 * paper, not as black. In place: dst index 3i never passes 4i. */
void cap_dec_rgba_on_white(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned a = p[4 * i + 3];
        if (a == 255) { /* most pixels: a copy, no division */
            p[3 * i] = p[4 * i];
            p[3 * i + 1] = p[4 * i + 1];
            p[3 * i + 2] = p[4 * i + 2];
            continue;
        }
        for (int k = 0; k < 3; k++)
            p[3 * i + k] = (uint8_t)((p[4 * i + k] * a + 255 * (255 - a) + 127) / 255);
    }
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

void cap_dec_set_taken(cap_header *hdr, const char *dt)
{
    /* "YYYY:MM:DD HH:MM:SS" with digits where digits belong; cameras write
     * "0000:00:00 00:00:00" or blanks when the clock was never set. */
    static const char pat[] = "dddd:dd:dd dd:dd:dd";
    if (!dt)
        return;
    bool ok = strlen(dt) >= sizeof pat - 1;
    for (size_t i = 0; ok && i < sizeof pat - 1; i++)
        ok = pat[i] == 'd' ? (dt[i] >= '0' && dt[i] <= '9') : dt[i] == pat[i];
    if (ok && strncmp(dt, "0000", 4) != 0) {
        memcpy(hdr->taken_at, dt, 19);
        hdr->taken_at[4] = hdr->taken_at[7] = '-';
        hdr->taken_at[19] = 0;
    }
}

void cap_dec_set_camera(cap_header *hdr, const char *make_in, const char *model_in)
{
    char make[64], model[64];
    dec_trim_copy(make, sizeof make, make_in ? make_in : "");
    dec_trim_copy(model, sizeof model, model_in ? model_in : "");
    size_t ml = strlen(make);
    /* Many models repeat the make ("Canon" + "Canon EOS 5D"): say it once. */
    if (ml && strncasecmp(model, make, ml) == 0)
        make[0] = 0;
    char cam[160];
    snprintf(cam, sizeof cam, "%s%s%s", make, make[0] && model[0] ? " " : "", model);
    dec_trim_copy(hdr->camera, sizeof hdr->camera, cam);
}

/* Reads orientation, DateTimeOriginal and camera from an APP1 payload, or
 * from a bare TIFF block (libexif wants the "Exif\0\0" prefix: one is put
 * in front of a copy). EXIF blocks are at most 64 KiB in JPEG; other
 * containers are held to 1 MiB, which no camera writes. */
void cap_dec_exif(const uint8_t *p, size_t n, cap_header *hdr)
{
    uint8_t *own = NULL;
    if (n >= 8 && n <= (1u << 20) &&
        (memcmp(p, "II*\0", 4) == 0 || memcmp(p, "MM\0*", 4) == 0)) {
        if (!(own = malloc(n + 6)))
            return;
        memcpy(own, "Exif\0\0", 6);
        memcpy(own + 6, p, n);
        p = own;
        n += 6;
    }
    if (n < 14 || n > (1u << 20) + 6 || memcmp(p, "Exif\0\0", 6) != 0) {
        free(own);
        return;
    }
    ExifData *ed = exif_data_new_from_data(p, (unsigned int)n);
    free(own);
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
    cap_dec_set_taken(hdr, dt);
    char make[64], model[64];
    dec_exif_str(ed, EXIF_IFD_0, EXIF_TAG_MAKE, make, sizeof make);
    dec_exif_str(ed, EXIF_IFD_0, EXIF_TAG_MODEL, model, sizeof model);
    cap_dec_set_camera(hdr, make, model);
    exif_data_unref(ed);
}


/* decode_bmp.c - BMP (Windows bitmap) to 8-bit RGB with a small reader of
 * our own: the headers are checked field by field (sizes, offsets, palette,
 * masks) against the file before anything is allocated, and every read is
 * bounds-checked. Reads the core (OS/2 1.x), INFO, V2..V5 headers; 1, 4, 8,
 * 16, 24 and 32 bits; BI_RGB, BI_RLE8, BI_RLE4, BI_BITFIELDS and
 * BI_ALPHABITFIELDS. Embedded JPEG/PNG (BI_JPEG, BI_PNG) is refused. */
#include "decode_int.h"

#include <stdlib.h>
#include <string.h>

enum { BI_RGB = 0, BI_RLE8 = 1, BI_RLE4 = 2, BI_BITFIELDS = 3, BI_JPEG = 4, BI_PNG = 5,
       BI_ALPHABITFIELDS = 6 };

static uint32_t le16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* A channel mask: where it starts and how many bits; a value is widened to
 * 8 bits by repeating its top bits (5-bit 31 -> 255). */
typedef struct bmp_mask {
    uint32_t mask;
    int shift, bits;
} bmp_mask;

static bool mask_set(bmp_mask *m, uint32_t mask)
{
    m->mask = mask;
    m->shift = m->bits = 0;
    if (!mask)
        return true;
    while (!(mask & 1)) {
        mask >>= 1;
        m->shift++;
    }
    while (mask & 1) {
        mask >>= 1;
        m->bits++;
    }
    return mask == 0; /* the bits must be contiguous */
}

static uint8_t mask_get(const bmp_mask *m, uint32_t v)
{
    if (!m->bits)
        return 0;
    uint32_t x = (v & m->mask) >> m->shift;
    if (m->bits >= 8)
        return (uint8_t)(x >> (m->bits - 8));
    /* widen: replicate the high bits into the low ones */
    uint32_t r = 0;
    for (int got = 0; got < 8; got += m->bits)
        r = (r << m->bits) | x;
    int total = ((8 + m->bits - 1) / m->bits) * m->bits;
    return (uint8_t)(r >> (total - 8));
}

typedef struct bmp {
    const uint8_t *d;
    size_t len;
    const char *name;
    int w, h;
    bool top_down;
    int bpp, comp;
    uint32_t off;                /* pixel data offset */
    uint8_t pal[256][3];
    int n_pal;
    bmp_mask m[4];               /* r, g, b, a */
    bool use_alpha;
} bmp;

static odx_status bmp_bad(const bmp *b, odx_err *err, const char *why)
{
    return core_err(err, ODX_ERR_DECODE, "'%s': corrupt BMP: %s", cap_dec_name(b->name), why);
}

/* Uncompressed rows (1..32 bits). Rows are padded to 4 bytes; a file that
 * ends before the last row is truncated. */
static odx_status bmp_raw(bmp *b, uint8_t *rgba, odx_err *err)
{
    uint64_t stride = (((uint64_t)b->w * b->bpp + 31) / 32) * 4;
    if (b->off > b->len || stride * b->h > b->len - b->off)
        return core_err(err, ODX_ERR_DECODE, "'%s': truncated BMP (%llu bytes of pixels "
                        "declared, %zu present)", cap_dec_name(b->name),
                        (unsigned long long)(stride * b->h), b->len - (b->off < b->len ? b->off : b->len));
    /* 24-bit BI_RGB, the common case: a byte swap per pixel. */
    bool plain24 = b->bpp == 24 && b->m[0].mask == 0xff0000 && b->m[1].mask == 0xff00 &&
                   b->m[2].mask == 0xff && !b->use_alpha;
    for (int y = 0; y < b->h; y++) {
        const uint8_t *row = b->d + b->off + stride * (uint64_t)y;
        int oy = b->top_down ? y : b->h - 1 - y;
        uint8_t *o = rgba + (size_t)oy * b->w * 4;
        if (plain24) {
            for (int x = 0; x < b->w; x++, o += 4) {
                o[0] = row[3 * x + 2];
                o[1] = row[3 * x + 1];
                o[2] = row[3 * x];
                o[3] = 255;
            }
            continue;
        }
        for (int x = 0; x < b->w; x++, o += 4) {
            if (b->bpp <= 8) {
                int per = 8 / b->bpp;
                unsigned byte = row[x / per];
                unsigned idx = (byte >> (8 - b->bpp * (x % per + 1))) & ((1u << b->bpp) - 1);
                if ((int)idx >= b->n_pal)
                    idx = 0; /* out-of-palette index: the first colour */
                memcpy(o, b->pal[idx], 3);
                o[3] = 255;
                continue;
            }
            uint32_t v;
            if (b->bpp == 16)
                v = le16(row + 2 * x);
            else if (b->bpp == 24)
                v = (uint32_t)row[3 * x] | (uint32_t)row[3 * x + 1] << 8 |
                    (uint32_t)row[3 * x + 2] << 16;
            else
                v = le32(row + 4 * x);
            o[0] = mask_get(&b->m[0], v);
            o[1] = mask_get(&b->m[1], v);
            o[2] = mask_get(&b->m[2], v);
            o[3] = b->use_alpha ? mask_get(&b->m[3], v) : 255;
        }
    }
    return ODX_OK;
}

/* RLE8/RLE4: runs and absolute blocks, with end-of-line, end-of-bitmap and
 * delta escapes; pixels a delta skips stay as the first palette colour
 * (opaque). Every write is checked against the image, every read against
 * the file; the work is bounded by the file's bytes and the pixels. */
static odx_status bmp_rle(bmp *b, uint8_t *rgba, odx_err *err)
{
    for (size_t i = 0; i < (size_t)b->w * b->h; i++) {
        memcpy(rgba + 4 * i, b->pal[0], 3);
        rgba[4 * i + 3] = 255;
    }
    if (b->off >= b->len)
        return core_err(err, ODX_ERR_DECODE, "'%s': truncated BMP (no pixel data)",
                        cap_dec_name(b->name));
    const uint8_t *p = b->d + b->off, *end = b->d + b->len;
    int x = 0, y = 0; /* y counts rows from the bottom for bottom-up files */
    bool four = b->comp == BI_RLE4;
#define PUT(idx)                                                                   \
    do {                                                                           \
        if (x < b->w && y < b->h) {                                                \
            unsigned ix_ = (idx);                                                  \
            if ((int)ix_ >= b->n_pal)                                              \
                ix_ = 0;                                                           \
            int oy_ = b->top_down ? y : b->h - 1 - y;                              \
            memcpy(rgba + ((size_t)oy_ * b->w + x) * 4, b->pal[ix_], 3);           \
        }                                                                          \
        x++;                                                                       \
    } while (0)
    for (;;) {
        if (end - p < 2)
            return core_err(err, ODX_ERR_DECODE, "'%s': truncated BMP (RLE data ends early)",
                            cap_dec_name(b->name));
        unsigned n = p[0], v = p[1];
        p += 2;
        if (n > 0) {
            for (unsigned k = 0; k < n && x < b->w; k++)
                PUT(four ? ((k & 1) ? v & 15 : v >> 4) : v);
            continue;
        }
        if (v == 0) { /* end of line */
            x = 0;
            if (++y > b->h)
                return bmp_bad(b, err, "RLE data runs past the last row");
        } else if (v == 1) { /* end of bitmap */
            break;
        } else if (v == 2) { /* delta */
            if (end - p < 2)
                return core_err(err, ODX_ERR_DECODE, "'%s': truncated BMP (RLE delta)",
                                cap_dec_name(b->name));
            x += p[0];
            y += p[1];
            p += 2;
            if (y > b->h)
                return bmp_bad(b, err, "RLE delta moves past the last row");
        } else { /* absolute block of v pixels, padded to 2 bytes */
            size_t bytes = four ? (v + 1) / 2 : v;
            size_t padded = (bytes + 1) & ~(size_t)1;
            if ((size_t)(end - p) < padded)
                return core_err(err, ODX_ERR_DECODE, "'%s': truncated BMP (RLE block)",
                                cap_dec_name(b->name));
            for (unsigned k = 0; k < v; k++)
                PUT(four ? ((k & 1) ? p[k / 2] & 15 : p[k / 2] >> 4) : p[k]);
            p += padded;
        }
    }
#undef PUT
    return ODX_OK;
}

odx_status cap_dec_bmp(const uint8_t *data, size_t len, const char *name,
                       const cap_limits *lim, cap_header *hdr, cap_image *out, odx_err *err)
{
    bmp b = {.d = data, .len = len, .name = name};
    if (len < 26)
        return core_err(err, ODX_ERR_DECODE, "'%s': truncated BMP (header)", cap_dec_name(name));
    b.off = le32(data + 10);
    uint32_t dib = le32(data + 14);
    if (dib != 12 && dib != 40 && dib != 52 && dib != 56 && dib != 108 && dib != 124)
        return core_err(err, ODX_ERR_UNSUPPORTED, "'%s': BMP header of %u bytes is not read "
                        "(OS/2 2.x or unknown)", cap_dec_name(name), dib);
    if ((uint64_t)14 + dib > len)
        return core_err(err, ODX_ERR_DECODE, "'%s': truncated BMP (header)", cap_dec_name(name));
    const uint8_t *h = data + 14;
    int64_t w, ht;
    int planes;
    if (dib == 12) {
        w = le16(h + 4);
        ht = (int16_t)le16(h + 6);
        planes = (int)le16(h + 8);
        b.bpp = (int)le16(h + 10);
        b.comp = BI_RGB;
    } else {
        w = (int32_t)le32(h + 4);
        ht = (int32_t)le32(h + 8);
        planes = (int)le16(h + 12);
        b.bpp = (int)le16(h + 14);
        b.comp = (int)le32(h + 16);
    }
    b.top_down = ht < 0;
    if (ht < 0)
        ht = -ht;
    hdr->width = (int)(w > 0 && w < INT32_MAX ? w : 0);
    hdr->height = (int)(ht < INT32_MAX ? ht : 0);
    odx_status st = cap_dec_check_dims(w, ht, lim, name, err);
    if (st != ODX_OK)
        return st;
    b.w = (int)w;
    b.h = (int)ht;
    if (planes != 1)
        return bmp_bad(&b, err, "planes is not 1");
    if (b.comp == BI_JPEG || b.comp == BI_PNG)
        return core_err(err, ODX_ERR_UNSUPPORTED, "'%s': BMP holding an embedded %s is not read",
                        cap_dec_name(name), b.comp == BI_JPEG ? "JPEG" : "PNG");
    bool ok_bpp = b.bpp == 1 || b.bpp == 4 || b.bpp == 8 || b.bpp == 16 || b.bpp == 24 ||
                  b.bpp == 32;
    if (!ok_bpp)
        return bmp_bad(&b, err, "bits per pixel is not 1, 4, 8, 16, 24 or 32");
    if ((b.comp == BI_RLE8 && b.bpp != 8) || (b.comp == BI_RLE4 && b.bpp != 4) ||
        ((b.comp == BI_BITFIELDS || b.comp == BI_ALPHABITFIELDS) && b.bpp != 16 && b.bpp != 32) ||
        b.comp > BI_ALPHABITFIELDS)
        return bmp_bad(&b, err, "compression does not fit the bit depth");
    if ((b.comp == BI_RLE8 || b.comp == BI_RLE4) && b.top_down)
        return bmp_bad(&b, err, "a top-down bitmap cannot be run-length coded");
    hdr->bit_depth = b.bpp <= 8 ? b.bpp : 8;

    /* Masks: default 5-5-5 for 16 bits, 8-8-8 for 24/32; BITFIELDS reads
     * them after the INFO header (or inside V2+ headers). */
    uint32_t mk[4] = {0};
    if (b.bpp == 16) {
        mk[0] = 0x7c00; mk[1] = 0x03e0; mk[2] = 0x001f;
    } else if (b.bpp >= 24) {
        mk[0] = 0xff0000; mk[1] = 0x00ff00; mk[2] = 0x0000ff;
    }
    size_t pal_at = 14 + dib;
    if (b.comp == BI_BITFIELDS || b.comp == BI_ALPHABITFIELDS) {
        int nm = b.comp == BI_ALPHABITFIELDS ? 4 : 3;
        size_t at = 14 + 40; /* masks follow the first 40 bytes of the header */
        if (dib == 40)
            pal_at += 4 * (size_t)nm; /* INFO: masks stored after the header */
        if (at + 4 * (size_t)nm > len)
            return core_err(err, ODX_ERR_DECODE, "'%s': truncated BMP (masks)", cap_dec_name(name));
        for (int i = 0; i < nm; i++)
            mk[i] = le32(data + at + 4 * i);
        if (dib >= 56 && nm == 3)
            mk[3] = le32(data + at + 12);
    } else if (dib >= 56 && b.bpp == 32) {
        mk[3] = le32(data + 14 + 52); /* V3+ alpha mask with BI_RGB */
    }
    for (int i = 0; i < 4; i++)
        if (!mask_set(&b.m[i], mk[i]))
            return bmp_bad(&b, err, "a channel mask is not one run of bits");
    for (int i = 0; i < 4; i++)
        for (int j = i + 1; j < 4; j++)
            if (mk[i] & mk[j])
                return bmp_bad(&b, err, "channel masks overlap");
    b.use_alpha = b.m[3].bits > 0;

    if (b.bpp <= 8) {
        uint32_t used = dib == 12 ? 0 : le32(h + 32);
        uint32_t max = 1u << b.bpp;
        if (used == 0 || used > max)
            used = max;
        size_t esz = dib == 12 ? 3 : 4;
        /* A palette may be shorter than the bit depth allows: take what
         * lies before the pixels. */
        size_t room = b.off > pal_at ? (b.off - pal_at) / esz : 0;
        if (room < used)
            used = (uint32_t)room;
        if (used == 0)
            return bmp_bad(&b, err, "palette missing");
        if (pal_at + used * esz > len)
            return core_err(err, ODX_ERR_DECODE, "'%s': truncated BMP (palette)",
                            cap_dec_name(name));
        for (uint32_t i = 0; i < used; i++) {
            const uint8_t *e = data + pal_at + i * esz;
            b.pal[i][0] = e[2];
            b.pal[i][1] = e[1];
            b.pal[i][2] = e[0];
        }
        b.n_pal = (int)used;
    }
    if (b.off < 14 + dib || b.off > len)
        return bmp_bad(&b, err, "pixel data offset outside the file");

    size_t n = (size_t)b.w * b.h;
    uint8_t *rgba = malloc(n * 4);
    if (!rgba)
        return core_err(err, ODX_ERR_NOMEM, "'%s': %dx%d pixels", cap_dec_name(name), b.w, b.h);
    st = (b.comp == BI_RLE8 || b.comp == BI_RLE4) ? bmp_rle(&b, rgba, err) : bmp_raw(&b, rgba, err);
    if (st != ODX_OK) {
        free(rgba);
        return st;
    }
    if (b.use_alpha) {
        /* Many writers leave the alpha byte of 32-bit pixels at zero: an
         * all-transparent image means "no alpha", not "nothing to see". */
        bool any = false;
        for (size_t i = 0; i < n && !any; i++)
            any = rgba[4 * i + 3] != 0;
        if (!any)
            for (size_t i = 0; i < n; i++)
                rgba[4 * i + 3] = 255;
        hdr->has_alpha = any;
    }
    cap_dec_rgba_on_white(rgba, n);
    uint8_t *rgb = realloc(rgba, n * 3);
    out->rgb = rgb ? rgb : rgba;
    out->w = b.w;
    out->h = b.h;
    return ODX_OK;
}

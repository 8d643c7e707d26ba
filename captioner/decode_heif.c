/* decode_heif.c - HEIC (HEVC through libde265) and AVIF (AV1 through dav1d
 * or aom) to 8-bit RGB with libheif, as Debian 12 builds it (libheif1
 * 1.15 with those decoders linked in). The primary image only; its stored
 * size (the ispe property) and its shown size are checked before anything
 * is decoded, and libheif's own size limit is set so that tiles, alpha and
 * thumbnail items are held to the same bound. libheif applies the file's
 * rotation, mirroring and crop (irot, imir, clap) itself; by the HEIF rules
 * those are the orientation, so an EXIF Orientation tag in the file (iPhones
 * write both) is read for the record but never applied a second time.
 * HDR (10/12-bit) images are reduced to 8 bits by libheif; the colour
 * matrix (nclx) is libheif's, an ICC profile is left alone. Decoding runs
 * in the calling thread (no decoder threads: the indexer's workers are the
 * parallelism). libheif 1.15 has no way to stop a decode half-way; the work
 * is bounded by the checked pixels of the primary image and its tiles.
 *
 * Before libheif sees a file, its item references (the 'iref' boxes of the
 * top-level 'meta') are read here, and the file is refused when the ones
 * decoding follows form a cycle or a chain deeper than HEIF_MAX_REF_DEPTH,
 * or when an item refers to itself. Decoding follows 'dimg' from a derived
 * image (grid, overlay, identity) to its inputs and 'auxl' backwards, from
 * an image to its alpha or depth plane; 'thmb', 'cdsc', 'prem' and the
 * like are not followed, and may close a loop by design (a premultiplied
 * image says 'prem' to its alpha plane, which says 'auxl' back). libheif
 * 1.15 follows dimg and auxl by recursion without a bound in several places
 * (the derived image's bit depth, alpha and grid decoding), and a fuzzed
 * file of a few hundred bytes overflowed the stack in the fuzz stage of
 * CI; later libheif versions reject cyclic 'iref' boxes while parsing. */
#include "decode_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <libheif/heif.h>

/* Widest/tallest side libheif may accept for any item of the file. */
#define HEIF_MAX_SIDE 65535
/* EXIF blocks above this are not read (cameras write tens of KiB). */
#define HEIF_MAX_EXIF (1 << 20)
/* Longest chain of item references accepted (an overlay of grids of tiles
 * is 2; cameras write 1). */
#define HEIF_MAX_REF_DEPTH 16
/* More item references than this are refused (a 256-tile grid has 257). */
#define HEIF_MAX_REFS 65536

static pthread_once_t heif_once = PTHREAD_ONCE_INIT;
static void heif_setup(void) { heif_init(NULL); }

static bool heif_msg_truncated(const struct heif_error *e)
{
    return e->code == heif_error_Invalid_input &&
           (e->subcode == heif_suberror_End_of_data ||
            (e->message && strstr(e->message, "End of data")));
}

static odx_status heif_fail(const char *name, const char *fmt, const char *what,
                            const struct heif_error *e, odx_err *err)
{
    if (e->code == heif_error_Memory_allocation_error)
        return core_err(err, ODX_ERR_NOMEM, "'%s': %s: no memory", cap_dec_name(name), fmt);
    if (e->code == heif_error_Unsupported_feature || e->code == heif_error_Unsupported_filetype)
        return core_err(err, ODX_ERR_UNSUPPORTED, "'%s': %s of a kind that is not read: %s",
                        cap_dec_name(name), fmt, e->message ? e->message : "unsupported");
    return core_err(err, ODX_ERR_DECODE, "'%s': %s %s (%s): %s", cap_dec_name(name),
                    heif_msg_truncated(e) ? "truncated" : "corrupt", fmt, what,
                    e->message ? e->message : "error");
}

/* The EXIF block of an item: a 4-byte offset to the TIFF header, then the
 * EXIF data. Only date and camera are kept (see the file comment). */
static void heif_exif(const struct heif_image_handle *h, cap_header *hdr)
{
    heif_item_id id;
    if (heif_image_handle_get_list_of_metadata_block_IDs(h, "Exif", &id, 1) < 1)
        return;
    size_t n = heif_image_handle_get_metadata_size(h, id);
    if (n < 8 || n > HEIF_MAX_EXIF)
        return;
    uint8_t *b = malloc(n);
    if (!b)
        return;
    struct heif_error e = heif_image_handle_get_metadata(h, id, b);
    if (e.code == heif_error_Ok) {
        uint32_t off = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
        if (off <= n - 4 - 8)
            cap_dec_exif(b + 4 + off, n - 4 - off, hdr);
    }
    free(b);
    hdr->orientation = 1;
}

/* ------------------------------------------------ item references ---- */

/* One ISOBMFF box: *type, its payload [*body, *end); false when the header
 * does not fit in [p, lim) (the caller stops walking: libheif reports it). */
static bool box_next(const uint8_t *p, const uint8_t *lim, uint32_t *type,
                     const uint8_t **body, const uint8_t **end)
{
    if (lim - p < 8)
        return false;
    uint64_t size = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
    *type = (uint32_t)p[4] << 24 | (uint32_t)p[5] << 16 | (uint32_t)p[6] << 8 | p[7];
    size_t head = 8;
    if (size == 1) {
        if (lim - p < 16)
            return false;
        size = 0;
        for (int i = 8; i < 16; i++)
            size = size << 8 | p[i];
        head = 16;
    } else if (size == 0) {
        size = (uint64_t)(lim - p);
    }
    if (size < head || size > (uint64_t)(lim - p))
        return false;
    *body = p + head;
    *end = p + size;
    return true;
}

#define FOURCC(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

typedef struct {
    uint32_t from, to;
} heif_ref;

static uint32_t rd_id(const uint8_t *p, int n)
{
    return n == 2 ? (uint32_t)p[0] << 8 | p[1]
                  : (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Appends the decoding dependencies of one 'iref' payload (see the file
 * comment: dimg as stored, auxl reversed, a self-reference of any type
 * kept as a loop, the rest dropped); false when it is malformed or holds
 * more than HEIF_MAX_REFS dependencies. */
static bool iref_read(const uint8_t *p, const uint8_t *end, heif_ref **refs, size_t *n,
                      size_t *cap)
{
    if (end - p < 4)
        return false;
    int idn = p[0] == 0 ? 2 : 4;
    p += 4;
    uint32_t type;
    const uint8_t *b, *e;
    while (p < end) {
        if (!box_next(p, end, &type, &b, &e))
            return false;
        if (e - b < idn + 2)
            return false;
        uint32_t from = rd_id(b, idn);
        unsigned cnt = (unsigned)b[idn] << 8 | b[idn + 1];
        b += idn + 2;
        if ((size_t)(e - b) < (size_t)cnt * idn)
            return false;
        for (unsigned k = 0; k < cnt; k++, b += idn) {
            uint32_t to = rd_id(b, idn);
            heif_ref dep;
            if (type == FOURCC('d', 'i', 'm', 'g'))
                dep = (heif_ref){from, to};
            else if (type == FOURCC('a', 'u', 'x', 'l'))
                dep = (heif_ref){to, from};
            else if (from == to)
                dep = (heif_ref){from, to};
            else
                continue;
            if (*n == *cap) {
                if (*cap >= HEIF_MAX_REFS)
                    return false;
                size_t nc = *cap ? *cap * 2 : 64;
                heif_ref *r = realloc(*refs, nc * sizeof *r);
                if (!r)
                    return false;
                *refs = r;
                *cap = nc;
            }
            (*refs)[(*n)++] = dep;
        }
        p = e;
    }
    return true;
}

static int ref_cmp(const void *a, const void *b)
{
    const heif_ref *x = a, *y = b;
    if (x->from != y->from)
        return x->from < y->from ? -1 : 1;
    return (x->to > y->to) - (x->to < y->to);
}

/* The first reference index of item id in the sorted refs, n when none. */
static size_t ref_first(const heif_ref *r, size_t n, uint32_t id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r[mid].from < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* 0 when the references hold no cycle and no chain longer than
 * HEIF_MAX_REF_DEPTH; else 1 (a cycle through *bad) or 2 (too deep). An
 * iterative depth-first walk from every item that refers to others: the
 * frames are the path, so a reference back into the path is a cycle; an
 * item finished before is not walked again, its depth is known. An item's
 * depth is its longest chain of references (0 for one that refers to
 * nothing). Items are named by the position of their first reference in
 * the sorted list. */
typedef struct {
    size_t head, i; /* the item; the next of its references to follow */
    int depth;      /* longest chain below it so far */
} ref_frame;

static int refs_check(heif_ref *r, size_t n, uint32_t *bad)
{
    qsort(r, n, sizeof *r, ref_cmp);
    uint8_t *done = calloc(n, 1); /* depth + 1 once finished */
    uint8_t *onpath = calloc(n, 1);
    if (!done || !onpath) {
        free(done);
        free(onpath);
        return 2;
    }
    ref_frame stk[HEIF_MAX_REF_DEPTH + 1];
    int st = 0;
    for (size_t h = 0; h < n && !st; h++) {
        if ((h > 0 && r[h].from == r[h - 1].from) || done[h])
            continue;
        int top = 0;
        stk[0] = (ref_frame){h, h, 0};
        onpath[h] = 1;
        while (top >= 0 && !st) {
            ref_frame *f = &stk[top];
            if (f->i < n && r[f->i].from == r[f->head].from) {
                uint32_t to = r[f->i++].to;
                size_t c = ref_first(r, n, to);
                int d;
                if (c == n || r[c].from != to) {
                    d = 1; /* refers to an item that refers to nothing */
                } else if (onpath[c]) {
                    *bad = to;
                    st = 1;
                    break;
                } else if (done[c]) {
                    d = done[c]; /* its depth + 1 */
                } else if (top == HEIF_MAX_REF_DEPTH) {
                    st = 2;
                    break;
                } else {
                    stk[++top] = (ref_frame){c, c, 0};
                    onpath[c] = 1;
                    continue;
                }
                if (d > f->depth)
                    f->depth = d;
            } else {
                int d = f->depth;
                if (d > HEIF_MAX_REF_DEPTH) {
                    st = 2;
                    break;
                }
                done[f->head] = (uint8_t)(d + 1);
                onpath[f->head] = 0;
                if (--top >= 0 && d + 1 > stk[top].depth)
                    stk[top].depth = d + 1;
            }
        }
    }
    free(done);
    free(onpath);
    return st;
}

/* The file's item references checked before libheif follows them (see the
 * file comment). ODX_OK also when the boxes cannot be walked: libheif then
 * reports the damage itself. */
static odx_status heif_refs_ok(const uint8_t *data, size_t len, const char *name,
                               const char *fmt, odx_err *err)
{
    const uint8_t *p = data, *lim = data + len, *b, *e;
    uint32_t type;
    heif_ref *refs = NULL;
    size_t n = 0, cap = 0;
    bool bad = false;
    while (!bad && box_next(p, lim, &type, &b, &e)) {
        if (type == FOURCC('m', 'e', 't', 'a') && e - b >= 4) {
            const uint8_t *q = b + 4, *cb, *ce;
            uint32_t ct;
            while (!bad && box_next(q, e, &ct, &cb, &ce)) {
                if (ct == FOURCC('i', 'r', 'e', 'f') && !iref_read(cb, ce, &refs, &n, &cap))
                    bad = true;
                q = ce;
            }
        }
        p = e;
    }
    odx_status st = ODX_OK;
    uint32_t at = 0;
    int r = bad ? 3 : n ? refs_check(refs, n, &at) : 0;
    free(refs);
    if (r == 1)
        st = core_err(err, ODX_ERR_DECODE,
                      "'%s': corrupt %s (item references): the references of item %u lead back to it",
                      cap_dec_name(name), fmt, (unsigned)at);
    else if (r == 2)
        st = core_err(err, ODX_ERR_DECODE,
                      "'%s': corrupt %s (item references): a chain deeper than %d items",
                      cap_dec_name(name), fmt, HEIF_MAX_REF_DEPTH);
    else if (r == 3)
        st = core_err(err, ODX_ERR_DECODE,
                      "'%s': corrupt %s (item references): a malformed 'iref' box",
                      cap_dec_name(name), fmt);
    return st;
}

odx_status cap_dec_heif(const uint8_t *data, size_t len, const char *name,
                        const cap_limits *lim, cap_header *hdr, cap_image *out, odx_err *err)
{
    pthread_once(&heif_once, heif_setup);
    const char *fmt = !strcmp(hdr->format, "avif") ? "AVIF" : "HEIF";
    odx_status st = heif_refs_ok(data, len, name, fmt, err);
    if (st != ODX_OK)
        return st;
    struct heif_image_handle *h = NULL;
    struct heif_image *img = NULL;
    struct heif_decoding_options *opt = NULL;
    uint8_t *pix = NULL;
    struct heif_context *ctx = heif_context_alloc();
    if (!ctx)
        return core_err(err, ODX_ERR_NOMEM, "'%s': libheif init", cap_dec_name(name));
    heif_context_set_maximum_image_size_limit(ctx, HEIF_MAX_SIDE);
    heif_context_set_max_decoding_threads(ctx, 0);
    struct heif_error e = heif_context_read_from_memory_without_copy(ctx, data, len, NULL);
    if (e.code != heif_error_Ok) {
        st = heif_fail(name, fmt, "container", &e, err);
        goto done;
    }
    e = heif_context_get_primary_image_handle(ctx, &h);
    if (e.code != heif_error_Ok) {
        st = heif_fail(name, fmt, "primary image", &e, err);
        goto done;
    }
    /* Stored (ispe) and shown sizes: both must pass before decoding. */
    int iw = heif_image_handle_get_ispe_width(h), ih = heif_image_handle_get_ispe_height(h);
    int w = heif_image_handle_get_width(h), ht = heif_image_handle_get_height(h);
    hdr->width = w;
    hdr->height = ht;
    st = cap_dec_check_dims(iw, ih, lim, name, err);
    if (st == ODX_OK)
        st = cap_dec_check_dims(w, ht, lim, name, err);
    if (st != ODX_OK)
        goto done;
    hdr->has_alpha = heif_image_handle_has_alpha_channel(h) != 0;
    int bits = heif_image_handle_get_luma_bits_per_pixel(h);
    hdr->bit_depth = bits > 0 ? bits : 8;
    hdr->n_frames = 1;
    heif_exif(h, hdr);
    hdr->orientation = 1; /* applied by libheif (irot/imir), see above */

    opt = heif_decoding_options_alloc();
    if (!opt) {
        st = core_err(err, ODX_ERR_NOMEM, "'%s': libheif options", cap_dec_name(name));
        goto done;
    }
    opt->convert_hdr_to_8bit = 1;
    opt->ignore_transformations = 0;
    e = heif_decode_image(h, &img, heif_colorspace_RGB,
                          hdr->has_alpha ? heif_chroma_interleaved_RGBA
                                         : heif_chroma_interleaved_RGB,
                          opt);
    if (e.code != heif_error_Ok) {
        st = heif_fail(name, fmt, "image data", &e, err);
        goto done;
    }
    int ow = heif_image_get_width(img, heif_channel_interleaved);
    int oh = heif_image_get_height(img, heif_channel_interleaved);
    int stride = 0;
    const uint8_t *plane = heif_image_get_plane_readonly(img, heif_channel_interleaved, &stride);
    int bpp = hdr->has_alpha ? 4 : 3;
    if (!plane || ow != w || oh != ht || stride < ow * bpp ||
        heif_image_get_bits_per_pixel_range(img, heif_channel_interleaved) != 8) {
        st = core_err(err, ODX_ERR_DECODE, "'%s': corrupt %s: decoded %dx%d, header says %dx%d",
                      cap_dec_name(name), fmt, ow, oh, w, ht);
        goto done;
    }
    pix = malloc((size_t)w * ht * bpp);
    if (!pix) {
        st = core_err(err, ODX_ERR_NOMEM, "'%s': %dx%d pixels", cap_dec_name(name), w, ht);
        goto done;
    }
    for (int y = 0; y < ht; y++)
        memcpy(pix + (size_t)y * w * bpp, plane + (size_t)y * stride, (size_t)w * bpp);
    if (hdr->has_alpha) {
        size_t n = (size_t)w * ht;
        if (heif_image_handle_is_premultiplied_alpha(h)) {
            for (size_t i = 0; i < n; i++) {
                unsigned a = pix[4 * i + 3];
                for (int k = 0; k < 3; k++) {
                    unsigned v = pix[4 * i + k] + 255 - a;
                    pix[3 * i + k] = (uint8_t)(v > 255 ? 255 : v);
                }
            }
        } else {
            cap_dec_rgba_on_white(pix, n);
        }
        uint8_t *s = realloc(pix, n * 3);
        if (s)
            pix = s;
    }
    out->rgb = pix;
    out->w = w;
    out->h = ht;
    pix = NULL;
done:
    free(pix);
    heif_image_release(img);
    heif_decoding_options_free(opt);
    heif_image_handle_release(h);
    heif_context_free(ctx);
    return st;
}

/* decode_heif.c - HEIC (HEVC through libde265) and AVIF (AV1 through dav1d
 * or aom) to 8-bit RGB with libheif, as Debian 12 builds it (libheif1
 * 1.15 with those decoders linked in). The primary image only; its stored
 * size (the ispe property) and its shown size are checked before anything
 * is decoded, as are every other item's stored size and every grid or
 * overlay canvas (below). libheif applies the file's
 * rotation, mirroring and crop (irot, imir, clap) itself; by the HEIF rules
 * those are the orientation, so an EXIF Orientation tag in the file (iPhones
 * write both) is read for the record but never applied a second time.
 * HDR (10/12-bit) images are reduced to 8 bits by libheif; the colour
 * matrix (nclx) is libheif's, an ICC profile is left alone. Decoding runs
 * in the calling thread (no decoder threads: the indexer's workers are the
 * parallelism). libheif 1.15 has no way to stop a decode half-way; the work
 * is bounded by the checked pixels of the primary image and its tiles.
 *
 * Before libheif sees a file, its item structure goes through
 * cap_dec_heif_scan (decode_heif_scan.c): item references that loop or
 * chain too deep, inputs of derived images that are not images, and item or
 * canvas sizes over the pixel limit are refused there, because libheif 1.15
 * recurses, asserts or allocates on them. */
#include "decode_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <libheif/heif.h>

/* Widest/tallest side libheif may accept for any item of the file. */
#define HEIF_MAX_SIDE 65535
/* EXIF blocks above this are not read (cameras write tens of KiB). */
#define HEIF_MAX_EXIF (1 << 20)

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

odx_status cap_dec_heif(const uint8_t *data, size_t len, const char *name,
                        const cap_limits *lim, cap_header *hdr, cap_image *out, odx_err *err)
{
    pthread_once(&heif_once, heif_setup);
    const char *fmt = !strcmp(hdr->format, "avif") ? "AVIF" : "HEIF";
    odx_status st = cap_dec_heif_scan(data, len, lim, name, fmt, err);
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

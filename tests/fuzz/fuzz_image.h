/* fuzz_image.h - body of the image decoder targets (PNG, JPEG, WebP, GIF,
 * TIFF, BMP, HEIC/AVIF): the captioner's
 * decode entry points with limits (cap_decode_thumb, the recipe the indexer
 * uses, then cap_full_image for the full-size pixels OCR reads) and the
 * features computed from the thumbnail. Input not starting with the
 * format's signature gets it put in front, so every run reaches the decoder
 * under test. Invariants: success
 * gives a non-empty image within the limits, failure gives a message. */
#ifndef ODX_FUZZ_IMAGE_H
#define ODX_FUZZ_IMAGE_H

#include "captioner_int.h"
#include "fuzz.h"

#include <string.h>

#define FUZZ_MAX_PIXELS ((int64_t)4 << 20)

static void fuzz_check_image(const cap_image *im, odx_status st, const odx_err *err,
                             const char *what)
{
    if (st == ODX_OK) {
        FUZZ_CHECK(im->rgb && im->w > 0 && im->h > 0, "%s: empty image", what);
        FUZZ_CHECK((int64_t)im->w * im->h <= FUZZ_MAX_PIXELS * 4, "%s: %dx%d", what,
                   im->w, im->h);
        unsigned sum = 0; /* every byte is read: ASan/MSan see a short buffer */
        for (size_t i = 0; i < (size_t)im->w * im->h * 3; i++) sum += im->rgb[i];
        (void)sum;
    } else {
        FUZZ_CHECK(err->msg[0], "%s: status %d without a message", what, st);
        FUZZ_CHECK(!im->rgb, "%s: pixels left after an error", what);
    }
}

/* fuzz_image for the formats in fmts (cap_sniff names): input that does
 * not sniff as one of them gets magic put in front. */
static int fuzz_image_as(const char *const *fmts, const uint8_t *magic, size_t magic_len,
                         const uint8_t *data, size_t size);

static inline int fuzz_image(const uint8_t *magic, size_t magic_len, const uint8_t *data,
                             size_t size)
{
    return fuzz_image_as(NULL, magic, magic_len, data, size);
}

static bool fuzz_sniffs_as(const char *const *fmts, const uint8_t *data, size_t size)
{
    const char *f = cap_sniff(data, size);
    for (int i = 0; f && fmts[i]; i++)
        if (!strcmp(f, fmts[i]))
            return true;
    return false;
}

static int fuzz_image_as(const char *const *fmts, const uint8_t *magic, size_t magic_len,
                         const uint8_t *data, size_t size)
{
    uint8_t *own = NULL;
    bool prefix = fmts ? !fuzz_sniffs_as(fmts, data, size)
                       : size < magic_len || memcmp(data, magic, magic_len) != 0;
    if (prefix) {
        if (!(own = malloc(size + magic_len))) return 0;
        memcpy(own, magic, magic_len);
        if (size) memcpy(own + magic_len, data, size);
        data = own;
        size += magic_len;
    }
    cap_limits lim = {.max_pixels = FUZZ_MAX_PIXELS, .max_file_bytes = 16 << 20};
    cap_desc *d = calloc(1, sizeof *d);
    if (!d) {
        free(own);
        return 0;
    }
    cap_image thumb = {0}, full = {0};
    odx_err err = {0};
    odx_status st = cap_decode_thumb(data, size, "fuzz", &lim, d, &thumb, &full, &err);
    fuzz_check_image(&thumb, st, &err, "thumbnail");
    FUZZ_NOTE("thumbnail: %s", st == ODX_OK ? "decoded" : err.msg);
    if (st == ODX_OK) {
        FUZZ_CHECK(thumb.w <= 2 * CAP_THUMB_SIDE && thumb.h <= 2 * CAP_THUMB_SIDE,
                   "thumbnail %dx%d over twice the side", thumb.w, thumb.h);
        cap_features_compute(&thumb, d);
        const cap_image *use = NULL;
        odx_err e2 = {0};
        st = cap_full_image(data, size, "fuzz", &lim, d, &thumb, &full, &use, &e2);
        if (st == ODX_OK)
            FUZZ_CHECK(use && use->rgb && use->w >= thumb.w - 1, "full image");
        else
            FUZZ_CHECK(e2.msg[0], "full image: status %d without a message", st);
    }
    cap_image_free(&thumb);
    cap_image_free(&full);
    free(d);

    free(own);
    return 0;
}

#endif

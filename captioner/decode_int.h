/* decode_int.h - names shared by the captioner's decoders: decode.c owns the
 * entry (cap_decode) with PNG and JPEG, decode_<format>.c holds one format
 * each, decode_util.c what they share (limits, EXIF, orientation, alpha),
 * so that no two files need each other. Every format decoder follows one contract:
 *   - the header's width and height go through cap_dec_check_dims before
 *     any pixel memory is allocated (and hdr->width/height are set first,
 *     so a refusal still names the size);
 *   - the library's errors never leave the decoder (setjmp, error handlers
 *     and return codes are caught inside) and come back as an odx_err that
 *     names the file and the reason; on failure *out is left empty;
 *   - the work is bounded: one frame/page is decoded, so the cost is
 *     linear in the checked pixel count (what is not, such as JPEG's scans,
 *     has its own budget);
 *   - the result is 8-bit RGB at full size in the stored orientation;
 *     hdr->orientation says what cap_decode must still apply (1 when the
 *     decoder already made the pixels upright, as libheif does);
 *   - 16-bit samples are reduced to 8, alpha is composited onto white
 *     (transparent pages read as paper), colour profiles are left alone:
 *     the pixels are taken as sRGB, never converted twice. */
#ifndef ODX_DECODE_INT_H
#define ODX_DECODE_INT_H

#include "captioner.h"

/* The file's name for messages ("(memory)" for NULL). */
const char *cap_dec_name(const char *name);

/* The one check of declared dimensions: ODX_ERR_DECODE for sizes no image
 * has, ODX_ERR_LIMIT over lim->max_pixels (a hard 2^30 when unset). */
odx_status cap_dec_check_dims(int64_t w, int64_t h, const cap_limits *lim, const char *name,
                              odx_err *err);

/* EXIF orientation 2..8 applied in place (a new buffer replaces im->rgb). */
odx_status cap_dec_orient(cap_image *im, int o, odx_err *err);

/* Reads orientation, date and camera into hdr from an EXIF block: either
 * "Exif\0\0" + TIFF (JPEG APP1) or a bare TIFF header ("II*\0"/"MM\0*",
 * as WebP and HEIF store it). Sets hdr->has_exif when it parses. */
void cap_dec_exif(const uint8_t *p, size_t n, cap_header *hdr);

/* hdr->taken_at from an EXIF/TIFF "YYYY:MM:DD HH:MM:SS" (ignored when it
 * is not one, or the camera's unset-clock zeros); hdr->camera from make and
 * model (printable ASCII, the make said once). */
void cap_dec_set_taken(cap_header *hdr, const char *dt);
void cap_dec_set_camera(cap_header *hdr, const char *make, const char *model);

/* n RGBA pixels (straight alpha) to RGB composited onto white, in place:
 * the first 3n bytes of p hold the result. */
void cap_dec_rgba_on_white(uint8_t *p, size_t n);

/* One decoder per format: full-size 8-bit RGB in *out, as stored (see the
 * contract above). hdr->format is set by the caller. */
odx_status cap_dec_webp(const uint8_t *data, size_t len, const char *name,
                        const cap_limits *lim, cap_header *hdr, cap_image *out, odx_err *err);
odx_status cap_dec_gif(const uint8_t *data, size_t len, const char *name,
                       const cap_limits *lim, cap_header *hdr, cap_image *out, odx_err *err);
odx_status cap_dec_tiff(const uint8_t *data, size_t len, const char *name,
                        const cap_limits *lim, cap_header *hdr, cap_image *out, odx_err *err);
odx_status cap_dec_bmp(const uint8_t *data, size_t len, const char *name,
                       const cap_limits *lim, cap_header *hdr, cap_image *out, odx_err *err);
/* The item structure of a HEIF/AVIF file checked before libheif reads it
 * (decode_heif_scan.c): ODX_ERR_DECODE or ODX_ERR_LIMIT naming the file and
 * the reason, ODX_OK when nothing is wrong or the boxes cannot be walked. */
odx_status cap_dec_heif_scan(const uint8_t *data, size_t len, const cap_limits *lim,
                             const char *name, const char *fmt, odx_err *err);
odx_status cap_dec_heif(const uint8_t *data, size_t len, const char *name,
                        const cap_limits *lim, cap_header *hdr, cap_image *out, odx_err *err);

#endif

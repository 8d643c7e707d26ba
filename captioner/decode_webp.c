/* decode_webp.c - WebP (lossy, lossless, alpha, animated) to 8-bit RGB
 * through libwebp. The container is parsed by libwebpdemux: canvas size,
 * frame count and EXIF come from it before anything is decoded; only the
 * first frame is decoded (an animation is flagged, not played), straight
 * into our buffer, and composited onto white at its offset. */
#include "decode_int.h"

#include <stdlib.h>
#include <string.h>

#include <webp/decode.h>
#include <webp/demux.h>

static const char *webp_status(VP8StatusCode s)
{
    switch (s) {
    case VP8_STATUS_OUT_OF_MEMORY: return "out of memory";
    case VP8_STATUS_INVALID_PARAM: return "invalid parameter";
    case VP8_STATUS_BITSTREAM_ERROR: return "bitstream error";
    case VP8_STATUS_UNSUPPORTED_FEATURE: return "unsupported feature";
    case VP8_STATUS_SUSPENDED: return "suspended";
    case VP8_STATUS_USER_ABORT: return "aborted";
    case VP8_STATUS_NOT_ENOUGH_DATA: return "not enough data";
    default: return "error";
    }
}

odx_status cap_dec_webp(const uint8_t *data, size_t len, const char *name,
                        const cap_limits *lim, cap_header *hdr, cap_image *out, odx_err *err)
{
    odx_status st = ODX_OK;
    uint8_t *rgba = NULL;
    WebPIterator it;
    bool have_it = false;
    /* The declared size first, from the bytes themselves: libwebpdemux
     * refuses a canvas that disagrees with its frame as a parse error, and
     * a huge declared size must read as one (ODX_ERR_LIMIT). VP8X: canvas
     * width-1 and height-1 as 24-bit values; a simple file: the frame's
     * own header (WebPGetInfo). */
    int64_t dw = 0, dh = 0;
    if (len >= 30 && memcmp(data + 12, "VP8X", 4) == 0) {
        dw = 1 + ((int64_t)data[24] | (int64_t)data[25] << 8 | (int64_t)data[26] << 16);
        dh = 1 + ((int64_t)data[27] | (int64_t)data[28] << 8 | (int64_t)data[29] << 16);
    } else {
        int iw = 0, ih = 0;
        if (WebPGetInfo(data, len, &iw, &ih)) {
            dw = iw;
            dh = ih;
        }
    }
    if (dw > 0 && dh > 0) {
        hdr->width = (int)dw;
        hdr->height = (int)dh;
        st = cap_dec_check_dims(dw, dh, lim, name, err);
        if (st != ODX_OK)
            return st;
    }
    WebPData wd = {data, len};
    WebPDemuxState state = WEBP_DEMUX_PARSE_ERROR;
    WebPDemuxer *dmx = WebPDemuxPartial(&wd, &state);
    if (!dmx || state == WEBP_DEMUX_PARSE_ERROR) {
        st = core_err(err, ODX_ERR_DECODE, "'%s': corrupt WebP (container does not parse)",
                      cap_dec_name(name));
        goto done;
    }
    uint32_t cw = WebPDemuxGetI(dmx, WEBP_FF_CANVAS_WIDTH);
    uint32_t ch = WebPDemuxGetI(dmx, WEBP_FF_CANVAS_HEIGHT);
    hdr->width = (int)cw;
    hdr->height = (int)ch;
    st = cap_dec_check_dims(cw, ch, lim, name, err);
    if (st != ODX_OK)
        goto done;
    if (state != WEBP_DEMUX_DONE) {
        st = core_err(err, ODX_ERR_DECODE, "'%s': truncated WebP", cap_dec_name(name));
        goto done;
    }
    uint32_t flags = WebPDemuxGetI(dmx, WEBP_FF_FORMAT_FLAGS);
    uint32_t frames = WebPDemuxGetI(dmx, WEBP_FF_FRAME_COUNT);
    hdr->n_frames = frames > INT32_MAX ? INT32_MAX : (int)frames;
    hdr->animated = (flags & ANIMATION_FLAG) && frames > 1;
    if (flags & EXIF_FLAG) {
        WebPChunkIterator ci;
        if (WebPDemuxGetChunk(dmx, "EXIF", 1, &ci)) {
            cap_dec_exif(ci.chunk.bytes, ci.chunk.size, hdr);
            WebPDemuxReleaseChunkIterator(&ci);
        }
    }
    if (!WebPDemuxGetFrame(dmx, 1, &it)) {
        st = core_err(err, ODX_ERR_DECODE, "'%s': corrupt WebP (no frame)", cap_dec_name(name));
        goto done;
    }
    have_it = true;
    hdr->has_alpha = it.has_alpha || (flags & ALPHA_FLAG);
    /* The frame lies inside the canvas (libwebpdemux checks it); its own
     * bitstream header must agree with the frame's size. */
    WebPDecoderConfig cfg;
    if (!WebPInitDecoderConfig(&cfg)) {
        st = core_err(err, ODX_ERR_INTERNAL, "'%s': libwebp version mismatch", cap_dec_name(name));
        goto done;
    }
    VP8StatusCode vs = WebPGetFeatures(it.fragment.bytes, it.fragment.size, &cfg.input);
    if (vs != VP8_STATUS_OK) {
        st = core_err(err, ODX_ERR_DECODE, "'%s': %s WebP (%s)", cap_dec_name(name),
                      vs == VP8_STATUS_NOT_ENOUGH_DATA ? "truncated" : "corrupt", webp_status(vs));
        goto done;
    }
    int fw = cfg.input.width, fh = cfg.input.height;
    if (fw != it.width || fh != it.height || it.x_offset < 0 || it.y_offset < 0 ||
        (int64_t)it.x_offset + fw > cw || (int64_t)it.y_offset + fh > ch) {
        st = core_err(err, ODX_ERR_DECODE, "'%s': corrupt WebP (frame %dx%d does not fit the "
                      "%ux%u canvas)", cap_dec_name(name), fw, fh, cw, ch);
        goto done;
    }
    size_t fstride = (size_t)fw * 4;
    rgba = malloc((size_t)cw * ch * 4);
    uint8_t *frame = malloc(fstride * (size_t)fh);
    if (!rgba || !frame) {
        free(frame);
        st = core_err(err, ODX_ERR_NOMEM, "'%s': %ux%u pixels", cap_dec_name(name), cw, ch);
        goto done;
    }
    cfg.output.colorspace = MODE_RGBA;
    cfg.output.is_external_memory = 1;
    cfg.output.u.RGBA.rgba = frame;
    cfg.output.u.RGBA.stride = (int)fstride;
    cfg.output.u.RGBA.size = fstride * (size_t)fh;
    cfg.options.use_threads = 0;
    vs = WebPDecode(it.fragment.bytes, it.fragment.size, &cfg);
    WebPFreeDecBuffer(&cfg.output);
    if (vs != VP8_STATUS_OK) {
        free(frame);
        st = core_err(err, ODX_ERR_DECODE, "'%s': %s WebP (%s)", cap_dec_name(name),
                      vs == VP8_STATUS_NOT_ENOUGH_DATA ? "truncated" : "corrupt", webp_status(vs));
        goto done;
    }
    /* The canvas starts transparent (shown on white, as for PNG); the
     * first frame's pixels are placed at its offset. */
    memset(rgba, 0, (size_t)cw * ch * 4);
    for (int y = 0; y < fh; y++)
        memcpy(rgba + (((size_t)(y + it.y_offset)) * cw + (size_t)it.x_offset) * 4,
               frame + (size_t)y * fstride, fstride);
    free(frame);
    size_t n = (size_t)cw * ch;
    cap_dec_rgba_on_white(rgba, n);
    uint8_t *rgb = realloc(rgba, n * 3);
    if (rgb)
        rgba = rgb;
    out->rgb = rgba;
    out->w = (int)cw;
    out->h = (int)ch;
    rgba = NULL;
done:
    if (have_it)
        WebPDemuxReleaseIterator(&it);
    WebPDemuxDelete(dmx);
    free(rgba);
    return st;
}

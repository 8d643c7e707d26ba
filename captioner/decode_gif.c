/* decode_gif.c - GIF (87a/89a) to 8-bit RGB through giflib's record-level
 * calls (never DGifSlurp, which decodes and keeps every frame): the
 * logical screen is checked first, the first image is decoded onto it
 * (transparency from its graphic control extension shows as white), and
 * the frames that follow are only counted, their LZW data skipped undecoded,
 * so an animation is flagged for the price of reading its bytes. */
#include "decode_int.h"

#include <stdlib.h>
#include <string.h>

#include <gif_lib.h>

/* Frames counted past the first; giflib keeps a small record per frame
 * (and a copy of its colour map), so counting stops here. */
#define GIF_MAX_COUNTED_FRAMES 4096

typedef struct gif_src {
    const uint8_t *p;
    size_t len, pos;
} gif_src;

static int gif_read(GifFileType *g, GifByteType *buf, int n)
{
    gif_src *s = g->UserData;
    if (n <= 0)
        return 0;
    size_t k = (size_t)n;
    if (k > s->len - s->pos)
        k = s->len - s->pos;
    memcpy(buf, s->p + s->pos, k);
    s->pos += k;
    return (int)k;
}

static odx_status gif_fail(const char *name, int code, odx_err *err)
{
    if (code == D_GIF_ERR_READ_FAILED || code == D_GIF_ERR_EOF_TOO_SOON)
        return core_err(err, ODX_ERR_DECODE, "'%s': truncated GIF", cap_dec_name(name));
    if (code == D_GIF_ERR_NOT_ENOUGH_MEM)
        return core_err(err, ODX_ERR_NOMEM, "'%s': GIF: no memory", cap_dec_name(name));
    const char *m = GifErrorString(code);
    return core_err(err, ODX_ERR_DECODE, "'%s': corrupt GIF: %s", cap_dec_name(name),
                    m ? m : "unknown error");
}

/* Skips one image's LZW data without decoding it. */
static bool gif_skip_image(GifFileType *g)
{
    int cs;
    GifByteType *blk = NULL;
    if (DGifGetCode(g, &cs, &blk) == GIF_ERROR)
        return false;
    while (blk)
        if (DGifGetCodeNext(g, &blk) == GIF_ERROR)
            return false;
    return true;
}

static bool gif_skip_ext(GifFileType *g, int *transparent, bool first)
{
    int code;
    GifByteType *ext = NULL;
    if (DGifGetExtension(g, &code, &ext) == GIF_ERROR)
        return false;
    /* Graphic control: ext[0] is the block length, ext[1] the packed
     * flags (bit 0: a transparent index), ext[4] that index. */
    if (first && code == GRAPHICS_EXT_FUNC_CODE && ext && ext[0] >= 4)
        *transparent = (ext[1] & 1) ? ext[4] : -1;
    while (ext)
        if (DGifGetExtensionNext(g, &ext) == GIF_ERROR)
            return false;
    return true;
}

odx_status cap_dec_gif(const uint8_t *data, size_t len, const char *name,
                       const cap_limits *lim, cap_header *hdr, cap_image *out, odx_err *err)
{
    gif_src src = {data, len, 0};
    int code = 0;
    odx_status st = ODX_OK;
    uint8_t *rgb = NULL, *line = NULL;
    GifFileType *g = DGifOpen(&src, gif_read, &code);
    if (!g)
        return gif_fail(name, code, err);
    int sw = g->SWidth, sh = g->SHeight;
    hdr->width = sw;
    hdr->height = sh;
    hdr->bit_depth = 8;
    st = cap_dec_check_dims(sw, sh, lim, name, err);
    if (st != ODX_OK)
        goto done;
    int transparent = -1, frames = 0;
    bool done_first = false;
    for (;;) {
        GifRecordType rt;
        if (DGifGetRecordType(g, &rt) == GIF_ERROR) {
            if (done_first)
                break; /* damage after the first frame: it is still good */
            st = gif_fail(name, g->Error, err);
            goto done;
        }
        if (rt == TERMINATE_RECORD_TYPE)
            break;
        if (rt == EXTENSION_RECORD_TYPE) {
            if (!gif_skip_ext(g, &transparent, !done_first)) {
                if (done_first)
                    break;
                st = gif_fail(name, g->Error, err);
                goto done;
            }
            continue;
        }
        if (rt != IMAGE_DESC_RECORD_TYPE) {
            if (done_first)
                break;
            st = core_err(err, ODX_ERR_DECODE, "'%s': corrupt GIF: unknown record",
                          cap_dec_name(name));
            goto done;
        }
        if (DGifGetImageDesc(g) == GIF_ERROR) {
            if (done_first)
                break;
            st = gif_fail(name, g->Error, err);
            goto done;
        }
        frames++;
        if (done_first) {
            if (!gif_skip_image(g) || frames > GIF_MAX_COUNTED_FRAMES)
                break;
            continue;
        }
        /* The first image: placed on the screen at (Left, Top), clipped to
         * it; what it leaves uncovered is the (transparent) background. */
        GifImageDesc *im = &g->Image;
        const ColorMapObject *cm = im->ColorMap ? im->ColorMap : g->SColorMap;
        if (!cm || !cm->Colors || cm->ColorCount <= 0) {
            st = core_err(err, ODX_ERR_DECODE, "'%s': corrupt GIF: no colour map",
                          cap_dec_name(name));
            goto done;
        }
        int fw = im->Width, fh = im->Height;
        st = cap_dec_check_dims(fw, fh, lim, name, err);
        if (st != ODX_OK)
            goto done;
        rgb = malloc((size_t)sw * sh * 3);
        line = malloc((size_t)fw);
        if (!rgb || !line) {
            st = core_err(err, ODX_ERR_NOMEM, "'%s': %dx%d pixels", cap_dec_name(name), sw, sh);
            goto done;
        }
        memset(rgb, 255, (size_t)sw * sh * 3);
        static const int start[4] = {0, 4, 2, 1}, step[4] = {8, 8, 4, 2};
        int pass = 0, y = im->Interlace ? start[0] : 0;
        for (int r = 0; r < fh; r++) {
            if (DGifGetLine(g, line, fw) == GIF_ERROR) {
                st = gif_fail(name, g->Error, err);
                goto done;
            }
            int sy = im->Top + y;
            if (sy >= 0 && sy < sh) {
                uint8_t *o = rgb + (size_t)sy * sw * 3;
                for (int x = 0; x < fw; x++) {
                    int sx = im->Left + x;
                    if (sx < 0 || sx >= sw || line[x] == transparent)
                        continue;
                    int ix = line[x] < cm->ColorCount ? line[x] : 0;
                    o[3 * sx] = cm->Colors[ix].Red;
                    o[3 * sx + 1] = cm->Colors[ix].Green;
                    o[3 * sx + 2] = cm->Colors[ix].Blue;
                }
            }
            if (im->Interlace) {
                y += step[pass];
                while (y >= fh && pass < 3)
                    y = start[++pass];
            } else {
                y++;
            }
        }
        hdr->has_alpha = transparent >= 0;
        done_first = true;
    }
    if (!done_first) {
        st = core_err(err, ODX_ERR_DECODE, "'%s': GIF holds no image", cap_dec_name(name));
        goto done;
    }
    hdr->n_frames = frames;
    hdr->animated = frames > 1;
    out->rgb = rgb;
    out->w = sw;
    out->h = sh;
    rgb = NULL;
done:
    free(rgb);
    free(line);
    DGifCloseFile(g, &code);
    return st;
}

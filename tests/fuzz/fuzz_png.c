/* fuzz_png.c - libFuzzer target: the captioner's PNG decoding (see
 * fuzz_image.h). Seeds: corpus/fuzz_png.
 *
 * libpng rejects a chunk whose CRC does not match, so nearly every mutation
 * of a chunk's bytes stops at the CRC check and the code behind it (IHDR
 * limits, palettes, transparency, interlacing, text and ICC chunks) is
 * hardly reached. So the chunk CRCs of most inputs are recomputed before
 * decoding; inputs whose size is a multiple of 8 are decoded as they are,
 * which keeps the CRC-error path fuzzed too. */
#include "fuzz_image.h"

#include <zlib.h>

static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Rewrites the CRC of every whole chunk after the signature; stops at the
 * first chunk that runs past the end. */
static void png_fix_crcs(uint8_t *p, size_t n)
{
    size_t off = sizeof png_sig;
    while (off + 12 <= n) {
        uint32_t len = be32(p + off);
        if (len > n - off - 12)
            break;
        uLong crc = crc32(0L, p + off + 4, (uInt)len + 4);
        uint8_t *c = p + off + 8 + len;
        c[0] = (uint8_t)(crc >> 24);
        c[1] = (uint8_t)(crc >> 16);
        c[2] = (uint8_t)(crc >> 8);
        c[3] = (uint8_t)crc;
        off += (size_t)len + 12;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size % 8 == 0)
        return fuzz_image(png_sig, sizeof png_sig, data, size);
    bool has_sig = size >= sizeof png_sig && memcmp(data, png_sig, sizeof png_sig) == 0;
    size_t n = size + (has_sig ? 0 : sizeof png_sig);
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf)
        return 0;
    if (!has_sig)
        memcpy(buf, png_sig, sizeof png_sig);
    if (size)
        memcpy(buf + (has_sig ? 0 : sizeof png_sig), data, size);
    png_fix_crcs(buf, n);
    int r = fuzz_image(png_sig, sizeof png_sig, buf, n);
    free(buf);
    return r;
}

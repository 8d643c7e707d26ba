/* fuzz_heif.c - libFuzzer target: the captioner's HEIC and AVIF decoding
 * through libheif (see fuzz_image.h). Seeds: corpus/fuzz_heif (HEIC, AVIF,
 * with alpha, rotated with EXIF). */
#include "fuzz_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const fmts[] = {"heic", "avif", "heif", NULL};
    static const uint8_t sig[24] = {0,   0,   0,   24,  'f', 't', 'y', 'p', 'h', 'e', 'i', 'c',
                                    0,   0,   0,   0,   'm', 'i', 'f', '1', 'h', 'e', 'i', 'c'};
    return fuzz_image_as(fmts, sig, sizeof sig, data, size);
}

/* fuzz_bmp.c - libFuzzer target: the captioner's own BMP reader (headers,
 * palettes, masks, RLE; see fuzz_image.h). Seeds: corpus/fuzz_bmp. */
#include "fuzz_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const fmts[] = {"bmp", NULL};
    /* "BM", file size, reserved, pixel offset 54, INFO header size 40 */
    static const uint8_t sig[18] = {'B', 'M', 0, 0, 0, 0, 0, 0, 0, 0, 54, 0, 0, 0, 40, 0, 0, 0};
    return fuzz_image_as(fmts, sig, sizeof sig, data, size);
}

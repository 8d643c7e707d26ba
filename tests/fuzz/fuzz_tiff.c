/* fuzz_tiff.c - libFuzzer target: the captioner's TIFF decoding through
 * libtiff (first page, pages counted; see fuzz_image.h). Seeds:
 * corpus/fuzz_tiff (little- and big-endian). */
#include "fuzz_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const fmts[] = {"tiff", NULL};
    static const uint8_t sig[8] = {'I', 'I', 42, 0, 8, 0, 0, 0};
    return fuzz_image_as(fmts, sig, sizeof sig, data, size);
}

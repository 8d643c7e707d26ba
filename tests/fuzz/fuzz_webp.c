/* fuzz_webp.c - libFuzzer target: the captioner's WebP decoding, still and
 * animated (see fuzz_image.h). Seeds: corpus/fuzz_webp. */
#include "fuzz_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const fmts[] = {"webp", NULL};
    static const uint8_t sig[16] = {'R', 'I', 'F', 'F', 0, 0, 0, 0, 'W', 'E', 'B', 'P',
                                    'V', 'P', '8', 'L'};
    return fuzz_image_as(fmts, sig, sizeof sig, data, size);
}

/* fuzz_png.c - libFuzzer target: the captioner's PNG decoding (see
 * fuzz_image.h). Seeds: corpus/fuzz_png. */
#include "fuzz_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    return fuzz_image(sig, sizeof sig, data, size);
}

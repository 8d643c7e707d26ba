/* fuzz_jpeg.c - libFuzzer target: the captioner's JPEG decoding, EXIF
 * included (see fuzz_image.h). Seeds: corpus/fuzz_jpeg. */
#include "fuzz_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t soi[3] = {0xFF, 0xD8, 0xFF};
    return fuzz_image(soi, sizeof soi, data, size);
}

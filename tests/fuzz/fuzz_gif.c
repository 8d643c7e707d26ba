/* fuzz_gif.c - libFuzzer target: the captioner's GIF decoding (first frame,
 * the others counted; see fuzz_image.h). Seeds: corpus/fuzz_gif. */
#include "fuzz_image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const fmts[] = {"gif", NULL};
    static const uint8_t sig[6] = {'G', 'I', 'F', '8', '9', 'a'};
    return fuzz_image_as(fmts, sig, sizeof sig, data, size);
}

/* fuzz.h - shared by the fuzz targets: an invariant check that ends the
 * process (libFuzzer records the input as a crash), in every build type. */
#ifndef ODX_FUZZ_H
#define ODX_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FUZZ_CHECK(cond, ...)                                                   \
    do {                                                                        \
        if (!(cond)) {                                                          \
            fprintf(stderr, "%s:%d: invariant failed: %s: ", __FILE__, __LINE__, \
                    #cond);                                                     \
            fprintf(stderr, __VA_ARGS__);                                       \
            fputc('\n', stderr);                                                \
            abort();                                                            \
        }                                                                       \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* With ODX_FUZZ_VERBOSE set, says what an input came to (replaying seeds or
 * a crash file: is it accepted, refused and why). */
#define FUZZ_NOTE(...)                                                          \
    do {                                                                        \
        static int verbose_ = -1;                                               \
        if (verbose_ < 0) verbose_ = getenv("ODX_FUZZ_VERBOSE") != NULL;        \
        if (verbose_) {                                                         \
            fprintf(stderr, "  ");                                              \
            fprintf(stderr, __VA_ARGS__);                                       \
            fputc('\n', stderr);                                                \
        }                                                                       \
    } while (0)

#endif

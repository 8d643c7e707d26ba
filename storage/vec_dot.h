/* vec_dot.h - out[i] = <x row i, q> for the n rows of d floats of x (row
 * after row), on one thread: AVX2 + FMA where the CPU has them, else a
 * portable loop (vec_dots_kernel names the one in use). Sums are in float,
 * in another order than a plain loop: results differ from it by rounding
 * only. */
#ifndef ODX_VEC_DOT_H
#define ODX_VEC_DOT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

void vec_dots(const float *x, size_t n, int d, const float *q, float *out);
/* The portable loop whatever the CPU (tests compare the two). */
void vec_dots_scalar(const float *x, size_t n, int d, const float *q, float *out);
/* "avx2" or "scalar". */
const char *vec_dots_kernel(void);

#ifdef __cplusplus
}
#endif

#endif

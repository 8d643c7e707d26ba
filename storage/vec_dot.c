/* vec_dot.c - inner products of one query with the rows of a matrix, for
 * the IVF scan (store_ivf.cpp). Debian's FAISS is built without SIMD (its
 * scan is a scalar loop per vector) and OpenBLAS's sgemv spreads a small
 * matrix over threads that spin (a query on a busy 2-core machine took
 * twice as long), so the kernel is ours: AVX2 + FMA where the CPU has them
 * (tested at each call), else a portable loop. */
#include "vec_dot.h"

#include <stdbool.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define VEC_X86 1
#endif

static void dots_scalar(const float *x, size_t n, int d, const float *q, float *out)
{
    for (size_t i = 0; i < n; i++) {
        const float *r = x + i * (size_t)d;
        float a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        int j = 0;
        for (; j + 4 <= d; j += 4) {
            a0 += r[j] * q[j];
            a1 += r[j + 1] * q[j + 1];
            a2 += r[j + 2] * q[j + 2];
            a3 += r[j + 3] * q[j + 3];
        }
        for (; j < d; j++)
            a0 += r[j] * q[j];
        out[i] = (a0 + a1) + (a2 + a3);
    }
}

#ifdef VEC_X86
__attribute__((target("avx2,fma"))) static inline float hsum256(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
    return _mm_cvtss_f32(s);
}

/* Four rows at a time (the query's 8-float piece loaded once for four);
 * the tail of d past a multiple of 8 in scalar. */
__attribute__((target("avx2,fma"))) static void dots_avx2(const float *x, size_t n, int d,
                                                          const float *q, float *out)
{
    const int d8 = d & ~7;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        const float *r0 = x + i * (size_t)d, *r1 = r0 + d, *r2 = r1 + d, *r3 = r2 + d;
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
        __m256 a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
        for (int j = 0; j < d8; j += 8) {
            __m256 qv = _mm256_loadu_ps(q + j);
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(r0 + j), qv, a0);
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(r1 + j), qv, a1);
            a2 = _mm256_fmadd_ps(_mm256_loadu_ps(r2 + j), qv, a2);
            a3 = _mm256_fmadd_ps(_mm256_loadu_ps(r3 + j), qv, a3);
        }
        float s0 = hsum256(a0), s1 = hsum256(a1), s2 = hsum256(a2), s3 = hsum256(a3);
        for (int j = d8; j < d; j++) {
            s0 += r0[j] * q[j];
            s1 += r1[j] * q[j];
            s2 += r2[j] * q[j];
            s3 += r3[j] * q[j];
        }
        out[i] = s0;
        out[i + 1] = s1;
        out[i + 2] = s2;
        out[i + 3] = s3;
    }
    for (; i < n; i++) {
        const float *r = x + i * (size_t)d;
        __m256 a = _mm256_setzero_ps();
        for (int j = 0; j < d8; j += 8)
            a = _mm256_fmadd_ps(_mm256_loadu_ps(r + j), _mm256_loadu_ps(q + j), a);
        float s = hsum256(a);
        for (int j = d8; j < d; j++)
            s += r[j] * q[j];
        out[i] = s;
    }
}
#endif

typedef void (*dots_fn)(const float *, size_t, int, const float *, float *);

/* The CPU's features are read by libgcc's constructor: a test per call
 * costs a load and keeps no state of ours. */
static dots_fn pick(void)
{
#ifdef VEC_X86
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return dots_avx2;
#endif
    return dots_scalar;
}

void vec_dots(const float *x, size_t n, int d, const float *q, float *out)
{
    pick()(x, n, d, q, out);
}

void vec_dots_scalar(const float *x, size_t n, int d, const float *q, float *out)
{
    dots_scalar(x, n, d, q, out);
}

const char *vec_dots_kernel(void)
{
#ifdef VEC_X86
    if (pick() == dots_avx2)
        return "avx2";
#endif
    return "scalar";
}

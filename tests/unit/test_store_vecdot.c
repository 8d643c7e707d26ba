/* test_store_vecdot.c - vec_dots (storage/vec_dot.c, the IVF scan's
 * kernel) against inner products summed in double, for sizes that are and
 * are not multiples of the kernel's blocks (4 rows, 8 floats), on the
 * kernel the CPU chose and on the portable loop. */
#include "check.h"
#include "vec_dot.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rs = 0x9E3779B97F4A7C15ull;
static float rndf(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return (float)((double)(rs >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

int main(void)
{
    static const int ds[] = {1, 3, 7, 8, 9, 16, 31, 64, 100, 512, 515};
    static const size_t ns[] = {1, 2, 3, 4, 5, 7, 8, 13, 100};
    double worst = 0, worst_scalar = 0;
    int cases = 0;
    for (size_t a = 0; a < sizeof ds / sizeof *ds; a++) {
        for (size_t b = 0; b < sizeof ns / sizeof *ns; b++) {
            int d = ds[a];
            size_t n = ns[b];
            float *x = malloc(sizeof *x * n * (size_t)d), *q = malloc(sizeof *q * (size_t)d);
            float *o = malloc(sizeof *o * (n + 1)), *o2 = malloc(sizeof *o2 * (n + 1));
            CHECK(x && q && o && o2);
            if (!x || !q || !o || !o2)
                return 1;
            for (size_t i = 0; i < n * (size_t)d; i++)
                x[i] = rndf();
            for (int j = 0; j < d; j++)
                q[j] = rndf();
            o[n] = o2[n] = 12345.0f; /* nothing is written past n */
            vec_dots(x, n, d, q, o);
            vec_dots_scalar(x, n, d, q, o2);
            CHECK(o[n] == 12345.0f && o2[n] == 12345.0f);
            for (size_t i = 0; i < n; i++) {
                double ref = 0, mag = 0;
                for (int j = 0; j < d; j++) {
                    ref += (double)x[i * (size_t)d + j] * q[j];
                    mag += fabs((double)x[i * (size_t)d + j] * q[j]);
                }
                /* float sums: error bounded by d ulps of the magnitude */
                double tol = 1e-6 * mag + 1e-7;
                double e1 = fabs(o[i] - ref), e2 = fabs(o2[i] - ref);
                CHECK_MSG(e1 <= tol, "d %d n %zu row %zu: %g vs %g", d, n, i, o[i], ref);
                CHECK_MSG(e2 <= tol, "scalar d %d n %zu row %zu: %g vs %g", d, n, i, o2[i],
                          ref);
                if (e1 / (mag + 1e-12) > worst)
                    worst = e1 / (mag + 1e-12);
                if (e2 / (mag + 1e-12) > worst_scalar)
                    worst_scalar = e2 / (mag + 1e-12);
                cases++;
            }
            free(x);
            free(q);
            free(o);
            free(o2);
        }
    }
    const char *k = vec_dots_kernel();
    CHECK(strcmp(k, "avx2") == 0 || strcmp(k, "scalar") == 0);
    fprintf(stderr, "kernel %s: %d rows, worst relative error %.2g (portable loop %.2g)\n", k,
            cases, worst, worst_scalar);
    return check_result("test_store_vecdot");
}

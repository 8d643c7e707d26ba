/* bench_sha256.c - SHA-256 of large files' bytes (the indexer hashes every
 * new or changed file): core_sha256_hex (OpenSSL's libcrypto, SHA-NI or
 * AVX2 code where the CPU has it) next to the portable FIPS 180-4 code
 * omnidex used before (kept here, only as the baseline), in the same run,
 * interleaved. Not a test: prints JSON.
 * Usage: bench_sha256 [--mib N] [--reps R] */
#include "core.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* --------------------------------------- baseline: portable C code ---- */

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void ref_block(uint32_t h[8], const uint8_t *p)
{
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = hh + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K[i] +
                      w[i];
        uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        hh = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
    }
    h[0] += a, h[1] += b, h[2] += c, h[3] += d;
    h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
}

static void ref_hex(const uint8_t *p, size_t n, char hex[65])
{
    uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                     0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    uint64_t bits = (uint64_t)n * 8;
    size_t full = n / 64 * 64;
    for (size_t i = 0; i < full; i += 64)
        ref_block(h, p + i);
    uint8_t tail[128] = {0};
    size_t rest = n - full;
    memcpy(tail, p + full, rest);
    tail[rest] = 0x80;
    size_t tl = rest + 1 + 8 <= 64 ? 64 : 128;
    for (int i = 0; i < 8; i++)
        tail[tl - 1 - i] = (uint8_t)(bits >> (8 * i));
    for (size_t i = 0; i < tl; i += 64)
        ref_block(h, tail + i);
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        uint8_t byte = (uint8_t)(h[i / 4] >> (24 - 8 * (i % 4)));
        hex[2 * i] = digits[byte >> 4];
        hex[2 * i + 1] = digits[byte & 15];
    }
    hex[64] = 0;
}

/* ------------------------------------------------------------- run ---- */

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    size_t mib = 64;
    int reps = 7;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--mib") == 0)
            mib = (size_t)atol(argv[i + 1]);
        else if (strcmp(argv[i], "--reps") == 0)
            reps = atoi(argv[i + 1]);
    }
    if (mib < 1 || reps < 1 || reps > 100) {
        fprintf(stderr, "usage: bench_sha256 [--mib N] [--reps R]\n");
        return 2;
    }
    /* sizes of files people index: a phone photo, a scan, a large TIFF-ish
     * PNG, and the file cap's order of magnitude */
    const size_t sizes[] = {4u << 20, 16u << 20, mib << 20};
    size_t max = 0;
    for (int i = 0; i < 3; i++)
        max = sizes[i] > max ? sizes[i] : max;
    uint8_t *buf = malloc(max);
    if (!buf)
        return 1;
    uint64_t x = 0x9E3779B97F4A7C15ULL;
    for (size_t i = 0; i < max; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        buf[i] = (uint8_t)x;
    }
    double *t_lib = calloc((size_t)reps, sizeof(double));
    double *t_ref = calloc((size_t)reps, sizeof(double));
    printf("{\n\"bench\": \"sha256\", \"reps\": %d, \"runs\": [\n", reps);
    for (int s = 0; s < 3; s++) {
        size_t n = sizes[s];
        char h1[65], h2[65];
        for (int r = 0; r < reps; r++) {
            double t0 = now_s();
            core_sha256_hex(buf, n, h1);
            double t1 = now_s();
            ref_hex(buf, n, h2);
            double t2 = now_s();
            t_lib[r] = t1 - t0;
            t_ref[r] = t2 - t1;
            if (strcmp(h1, h2) != 0) {
                fprintf(stderr, "digests differ at %zu bytes: %s vs %s\n", n, h1, h2);
                return 1;
            }
        }
        qsort(t_lib, (size_t)reps, sizeof(double), cmp_d);
        qsort(t_ref, (size_t)reps, sizeof(double), cmp_d);
        double ml = t_lib[reps / 2], mr = t_ref[reps / 2];
        printf("  {\"bytes\": %zu, \"core_sha256_mb_s\": %.1f, \"portable_c_mb_s\": %.1f, "
               "\"core_ms\": %.2f, \"portable_ms\": %.2f, \"speedup\": %.2f, \"digest\": \"%s\"}%s\n",
               n, (double)n / ml / 1e6, (double)n / mr / 1e6, ml * 1e3, mr * 1e3, mr / ml, h1,
               s < 2 ? "," : "");
    }
    printf("]\n}\n");
    free(t_lib);
    free(t_ref);
    free(buf);
    return 0;
}

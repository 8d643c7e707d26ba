/* hash.c - SHA-256 for content keys (a renamed file keeps its captions),
 * from OpenSSL's libcrypto (SHA-NI / AVX2 code where the CPU has it:
 * bench_sha256 measured 6-8x the portable C code omnidex had), and a fast
 * 64-bit mixing hash for feature hashing. */
#include "core.h"

#include <openssl/evp.h>
#include <string.h>

bool core_sha256(const void *p, size_t n, uint8_t out[32])
{
    unsigned int len = 0;
    if (EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) != 1 || len != 32) {
        memset(out, 0, 32);
        return false;
    }
    return true;
}

bool core_sha256_hex(const void *p, size_t n, char hex[65])
{
    uint8_t d[32];
    if (!core_sha256(p, n, d)) {
        hex[0] = '\0';
        return false;
    }
    static const char digits[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        hex[2 * i] = digits[d[i] >> 4];
        hex[2 * i + 1] = digits[d[i] & 15];
    }
    hex[64] = '\0';
    return true;
}

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

uint64_t core_hash64(const void *data, size_t n, uint64_t seed)
{
    const uint8_t *p = data;
    uint64_t h = seed ^ (n * 0x9E3779B97F4A7C15ULL);
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        h = mix64(h ^ v) * 0x9E3779B97F4A7C15ULL;
        p += 8, n -= 8;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return mix64(h ^ v ^ 0x5bd1e995ULL);
}

const double core_pic_crops[CORE_N_PIC_CROPS][4] = {
    {0.025, 0.025, 0.975, 0.975}, {0.05, 0.05, 0.95, 0.95}, {0.075, 0.075, 0.925, 0.925},
    {0.1, 0.1, 0.9, 0.9},         {0, 0, 0.9, 0.9},          {0.1, 0, 1, 0.9},
    {0, 0.1, 0.9, 1},             {0.1, 0.1, 1, 1},
};

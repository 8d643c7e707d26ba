/* gemm_bf16.c - Y = W X for convolutions, with W and X rounded to
 * bfloat16 and the products summed in float (AVX512-BF16's VDPBF16PS),
 * chosen at run time where the CPU has it; elsewhere the callers keep
 * OpenBLAS's sgemm. Why: on the 1x1 convolutions that take ~80% of the
 * PP-OCR recogniser's time this runs 1.7-1.9x faster than sgemm (measured
 * in bench_ppocr; OpenBLAS 0.3.21 has no bf16 gemm), and rounding the
 * inputs to 8 significant bits moves a 480-term sum by ~0.2% of its scale.
 *
 * Layout. W (M x K, one group) is packed once at load into blocks of MR
 * rows: for each pair of columns k = 2kk, 2kk+1 and row r of the block one
 * 32-bit word holding bf16(w[r][2kk]) (low half) and bf16(w[r][2kk+1])
 * (high half); rows past M and the column past an odd K are zero. For each
 * block of 32 output columns, X's K x 32 panel is packed the same way into
 * pairs (x[2kk][p], x[2kk+1][p]), so that one VDPBF16PS multiplies a
 * broadcast weight pair by 16 columns' pairs and adds both products. A tile
 * is MR x 32 outputs in 24 zmm accumulators. */
#include "runtime_int.h"

#include <stdlib.h>
#include <string.h>

#define MR 12
#define NR 32

/* Round to nearest even, as VCVTNE2PS2BF16 does (NaN stays NaN). */
static uint16_t to_bf16(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

float tfj_bf16_round(float f)
{
    uint32_t u = (uint32_t)to_bf16(f) << 16;
    float r;
    memcpy(&r, &u, sizeof r);
    return r;
}

size_t tfj_bf16_packed_words(int64_t M, int64_t K)
{
    return (size_t)((M + MR - 1) / MR) * (size_t)((K + 1) / 2) * MR;
}

void tfj_bf16_pack_w(const float *w, int64_t M, int64_t K, uint32_t *out)
{
    int64_t KK = (K + 1) / 2;
    memset(out, 0, tfj_bf16_packed_words(M, K) * sizeof *out);
    for (int64_t m = 0; m < M; m++)
        for (int64_t kk = 0; kk < KK; kk++) {
            uint32_t lo = to_bf16(w[m * K + 2 * kk]);
            uint32_t hi = 2 * kk + 1 < K ? to_bf16(w[m * K + 2 * kk + 1]) : 0;
            out[((m / MR) * KK + kk) * MR + m % MR] = lo | hi << 16;
        }
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define BF16_TARGET __attribute__((target("avx512f,avx512bw,avx512bf16")))

bool tfj_bf16_supported(void)
{
    __builtin_cpu_init(); /* idempotent; needed before constructors ran */
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512bf16");
}

/* Lane masks of the two 16-column halves of a block of pc <= 32 columns. */
static void col_masks(int pc, __mmask16 *m0, __mmask16 *m1)
{
    *m0 = pc >= 16 ? 0xffff : (__mmask16)((1u << pc) - 1);
    *m1 = pc >= 32 ? 0xffff : pc > 16 ? (__mmask16)((1u << (pc - 16)) - 1) : 0;
}

BF16_TARGET
static void pack_x(const float *x, int64_t ldx, int64_t K, int64_t p0, int pc, uint32_t *xp)
{
    __mmask16 m0, m1;
    col_masks(pc, &m0, &m1);
    /* cvtne2ps gives a0..a15 | b0..b15; this interleaves them to pairs */
    const __m512i idx = _mm512_set_epi16(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9,
                                         24, 8, 23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17,
                                         1, 16, 0);
    int64_t KK = (K + 1) / 2;
    for (int64_t kk = 0; kk < KK; kk++) {
        const float *r0 = x + 2 * kk * ldx + p0, *r1 = r0 + ldx;
        bool odd = 2 * kk + 1 >= K;
        for (int h = 0; h < 2; h++) {
            __mmask16 mk = h ? m1 : m0;
            __m512 a = _mm512_maskz_loadu_ps(mk, r0 + 16 * h);
            __m512 b = odd ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(mk, r1 + 16 * h);
            __m512i v = (__m512i)_mm512_cvtne2ps_pbh(b, a);
            _mm512_storeu_si512((void *)(xp + kk * NR + 16 * h), _mm512_permutexvar_epi16(idx, v));
        }
    }
}

BF16_TARGET
void tfj_bf16_gemm(const uint32_t *wp, int64_t M, int64_t K, int64_t P, const float *x,
                   int64_t ldx, float *y, int64_t ldy, uint32_t *xp)
{
    int64_t KK = (K + 1) / 2;
    for (int64_t p0 = 0; p0 < P; p0 += NR) {
        int pc = P - p0 < NR ? (int)(P - p0) : NR;
        __mmask16 s0, s1;
        col_masks(pc, &s0, &s1);
        pack_x(x, ldx, K, p0, pc, xp);
        for (int64_t m0 = 0; m0 < M; m0 += MR) {
            const uint32_t *w = wp + (m0 / MR) * KK * MR;
            __m512 c0[MR], c1[MR];
#pragma GCC unroll 12
            for (int r = 0; r < MR; r++) c0[r] = c1[r] = _mm512_setzero_ps();
            for (int64_t kk = 0; kk < KK; kk++) {
                __m512bh b0 = (__m512bh)_mm512_loadu_si512((const void *)(xp + kk * NR));
                __m512bh b1 = (__m512bh)_mm512_loadu_si512((const void *)(xp + kk * NR + 16));
                const uint32_t *wk = w + kk * MR;
#pragma GCC unroll 12
                for (int r = 0; r < MR; r++) {
                    __m512bh a = (__m512bh)_mm512_set1_epi32((int)wk[r]);
                    c0[r] = _mm512_dpbf16_ps(c0[r], a, b0);
                    c1[r] = _mm512_dpbf16_ps(c1[r], a, b1);
                }
            }
            int mr = M - m0 < MR ? (int)(M - m0) : MR;
            for (int r = 0; r < mr; r++) {
                float *yr = y + (m0 + r) * ldy + p0;
                _mm512_mask_storeu_ps(yr, s0, c0[r]);
                _mm512_mask_storeu_ps(yr + 16, s1, c1[r]);
            }
        }
    }
}
#else
bool tfj_bf16_supported(void) { return false; }

void tfj_bf16_gemm(const uint32_t *wp, int64_t M, int64_t K, int64_t P, const float *x,
                   int64_t ldx, float *y, int64_t ldy, uint32_t *xp)
{
    (void)wp, (void)M, (void)K, (void)P, (void)x, (void)ldx, (void)y, (void)ldy, (void)xp;
    abort(); /* callers check tfj_bf16_supported() first */
}
#endif

size_t tfj_bf16_xpack_words(int64_t K) { return (size_t)((K + 1) / 2) * NR; }

odx_status tfj_model_use_bf16(tfj_model *m, int *n_conv, odx_err *err)
{
    int n = 0;
    if (n_conv) *n_conv = 0;
    if (!m || !tfj_bf16_supported()) return ODX_OK;
    for (int i = 0; i < m->n_nodes; i++) {
        tfj_node *nd = &m->nodes[i];
        tfj_onnx_attr *a = nd->ox;
        if (nd->is_const || !a || !a->w || a->wbf || strcmp(nd->op, "Conv") || nd->n_in < 2)
            continue;
        const tfj_tensor *f = &m->nodes[nd->in_node[1]].value;
        if (!m->nodes[nd->in_node[1]].is_const || f->ndim != 4 || a->group < 1) continue;
        int64_t M = f->shape[0], K = f->shape[1] * f->shape[2] * f->shape[3], G = a->group;
        if (M % G || (f->shape[1] == 1 && M == G)) continue; /* depthwise: its own kernel */
        int64_t Mg = M / G;
        size_t per = tfj_bf16_packed_words(Mg, K);
        uint32_t *w = malloc(per * (size_t)G * sizeof *w);
        if (!w) return core_err(err, ODX_ERR_NOMEM, "out of memory for bf16 weights");
        for (int64_t g = 0; g < G; g++) tfj_bf16_pack_w(a->w + g * Mg * K, Mg, K, w + per * g);
        a->wbf = w;
        n++;
    }
    if (n_conv) *n_conv = n;
    return ODX_OK;
}

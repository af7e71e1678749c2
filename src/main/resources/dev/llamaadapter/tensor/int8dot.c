/*
 * The int8 matmul backend's kernels (dev.llamaadapter.tensor.Int8Dot binds them through FFM).
 *
 * Compiled on first use on the machine that runs them (cc -O3 -march=native), so the vector paths below are
 * whatever that CPU has: AVX-VNNI / AVX512-VNNI (vpdpbusd), else AVX2 (vpmaddubsw + vpmaddwd), else plain C.
 *
 * The product y[m, n] = sum_k x[m, k] * w[n, k] with w a GGUF block-quantised weight (Q8_0, Q4_0, Q4_K, Q5_K, Q6_K)
 * and x first quantised per block of 32 to int8 (q8_quantize): x[k] ~ xd[k/32] * xq[k], xd = max|x| / 127.
 * Every 32-element block's product is then an exact integer sum of int8 x small-integer products, scaled once
 * in fp32 by the weight's and the activation's scales. The only approximation is the activations' rounding
 * to 8 bits (what llama.cpp's CPU backend does too; its K-quants use one activation scale per 256, these
 * kernels one per 32 for every format).
 *
 * Offsets (Q4_0's -8, Q4_K's and Q5_K's mins, Q6_K's -32) are taken out after the integer dot through the sums of the
 * quantised activations per 16 and per 32 elements: sum_k (q_k - c) a_k = sum_k q_k a_k - c sum_k a_k, which
 * lets the weight's levels stay unsigned (the unsigned operand of vpdpbusd).
 *
 * The parts: this file (quantising the activations, the entry points), int8dot_ref.h (the plain C definitions),
 * int8dot_avx.h (vector kernels for 1 to 4 activation rows), int8dot_amx.h (AMX tiles for 6 rows and more).
 *
 * Each format's vector kernel takes R = 1..4 activation rows at once (a batch of sequences, a prompt): the weight
 * block is loaded and unpacked once for all R, and every row has its own accumulators. Accumulators are
 * several per row, since one per row would make each block wait for the previous block's FMA.
 */
#include <stdint.h>
#include <string.h>
#include <math.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#define QK 32
#ifndef PREFETCH
#define PREFETCH 4096
#endif

enum { FMT_Q8_0 = 0, FMT_Q4_0 = 1, FMT_Q4_K = 2, FMT_Q6_K = 3, FMT_Q5_K = 4 };

/* The version of this file's ABI: Int8Dot checks it. */
int int8dot_version(void) { return 3; }

/* Which vector path this build took (bench and tests print it). */
const char *int8dot_path(void) {
#if defined(__AMX_INT8__) && defined(__AMX_TILE__) && defined(__AVX512VNNI__) && defined(__AVX512VL__) && defined(__linux__)
    return "avx512-vnni (256-bit), amx-int8 from 6 rows";
#elif defined(__AVX512VNNI__) && defined(__AVX512VL__)
    return "avx512-vnni (256-bit)";
#elif defined(__AVXVNNI__)
    return "avx-vnni";
#elif defined(__AVX2__)
    return "avx2";
#else
    return "scalar";
#endif
}

static inline float f16(const uint8_t *p) {
    uint16_t h;
    memcpy(&h, p, 2);
#if defined(__F16C__)
    return _cvtsh_ss(h);
#else
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 31, man = h & 1023, bits;
    if (exp == 0) {
        if (man == 0) bits = sign;
        else { /* subnormal: normalise */
            exp = 113;
            while (!(man & 1024)) { man <<= 1; exp--; }
            bits = sign | (exp << 23) | ((man & 1023) << 13);
        }
    } else if (exp == 31) bits = sign | 0x7f800000u | (man << 13);
    else bits = sign | ((exp + 112) << 23) | (man << 13);
    float f;
    memcpy(&f, &bits, 4);
    return f;
#endif
}

/*
 * x [M, K] fp32 -> xq [M, K] int8, xd [M, K/32] scales, xs [M, K/16] sums of each 16 quants, xs32 [M, K/32]
 * sums of each 32.
 * Per block of 32: d = max|x| / 127, q = round-to-nearest-even(x / d) in [-127, 127] (all zero when max is 0).
 */
void int8dot_quantize(const float *x, int64_t M, int64_t K, int8_t *xq, float *xd, int32_t *xs, int32_t *xs32) {
    int64_t blocks = M * K / QK;
    for (int64_t b = 0; b < blocks; b++) {
        const float *v = x + b * QK;
        float amax = 0;
        for (int i = 0; i < QK; i++) amax = fmaxf(amax, fabsf(v[i]));
        float d = amax / 127.0f, id = amax > 0 ? 127.0f / amax : 0.0f;
        xd[b] = d;
        int8_t *q = xq + b * QK;
        for (int h = 0; h < 2; h++) {
            int32_t s = 0;
            for (int i = 16 * h; i < 16 * h + 16; i++) {
                int r = (int) nearbyintf(v[i] * id);
                r = r > 127 ? 127 : (r < -127 ? -127 : r);
                q[i] = (int8_t) r;
                s += r;
            }
            xs[2 * b + h] = s;
        }
        xs32[b] = xs[2 * b] + xs[2 * b + 1];
    }
}


/* One activation row as the kernels read it (see int8dot_quantize). */
typedef struct {
    const int8_t *q;     /* [K] quants */
    const float *d;      /* [K/32] scales */
    const int32_t *s16;  /* [K/16] sums of each 16 quants */
    const int32_t *s32;  /* [K/32] sums of each 32 */
} act_t;

/* Q4_K / Q5_K style 6-bit scale and min of sub-block j from the 12 packed bytes. */
static inline void scale_min_k4(const uint8_t *s, int j, int *sc, int *m) {
    if (j < 4) {
        *sc = s[j] & 63;
        *m = s[j + 4] & 63;
    } else {
        *sc = (s[j + 4] & 15) | ((s[j - 4] >> 6) << 4);
        *m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
}

/* The 6-bit level of element i of a Q6_K super-block (0 .. 63; the weight is d * sc[i / 16] * (level - 32)). */
static inline int q6_level(const uint8_t *blk, int i) {
    int h = i >> 7, g = (i >> 5) & 3, l = i & 31;
    int low = (blk[64 * h + 32 * (g & 1) + l] >> (4 * (g >> 1))) & 15;
    int high = (blk[128 + 32 * h + l] >> (2 * g)) & 3;
    return low | high << 4;
}

#include "int8dot_ref.h"
#include "int8dot_avx.h"
#include "int8dot_amx.h"


/* Whether products of AMX_MIN_M rows or more run on AMX tiles here (1), or on the vector kernels (0). */
int int8dot_amx(void) {
#if defined(AMX)
    return amx_ready();
#else
    return 0;
#endif
}

typedef void (*rows_fn)(const uint8_t *, int64_t, const act_t *, int, float *);
typedef float (*ref_fn)(const uint8_t *, int64_t, const act_t *);

/*
 * y[m, n] (+)= sum_k x[m, k] w[n, k] for rows n in [n0, n1) of the weight at w (rowBytes bytes a row) and the
 * M activation rows quantised by int8dot_quantize; y is [M, ldy]. reference != 0: the plain C definition
 * instead of the vector kernels (tests). Returns -1 for an unknown format. A weight row is read from memory
 * once per call and dotted with the activation rows four at a time while it is in L1.
 */
int int8dot_gemm(int fmt, const uint8_t *w, int64_t rowBytes, int64_t n0, int64_t n1, int64_t K,
                 const int8_t *xq, const float *xd, const int32_t *xs, const int32_t *xs32, int64_t M,
                 float *y, int64_t ldy, int accumulate, int reference) {
    rows_fn rows;
    ref_fn ref;
    switch (fmt) {
        case FMT_Q8_0: rows = q8_0_r; ref = ref_q8_0; break;
        case FMT_Q4_0: rows = q4_0_r; ref = ref_q4_0; break;
        case FMT_Q4_K: rows = q4_k_r; ref = ref_q4_k; break;
        case FMT_Q6_K: rows = q6_k_r; ref = ref_q6_k; break;
        case FMT_Q5_K: rows = q5_k_r; ref = ref_q5_k; break;
        default: return -1;
    }
#if defined(AMX)
    if (!reference && M >= AMX_MIN_M && gemm_amx(fmt, w, rowBytes, n0, n1, K, xq, xd, xs, M, y, ldy, accumulate)) return 0;
#endif
    const uint8_t *end = w + n1 * rowBytes;
    for (int64_t n = n0; n < n1; n++) {
        const uint8_t *row = w + n * rowBytes;
#if defined(__x86_64__) || defined(__i386__)
        /* ask for the rows PREFETCH bytes ahead now: one core's lone sequential stream leaves memory idle here */
        for (const uint8_t *p = row + PREFETCH; p < row + PREFETCH + rowBytes && p < end; p += 64) _mm_prefetch((const char *) p, _MM_HINT_T0);
#endif
        for (int64_t m = 0; m < M; m += 4) {
            int R = M - m < 4 ? (int) (M - m) : 4;
            act_t a[4];
            float v[4];
            for (int r = 0; r < R; r++) {
                int64_t i = m + r;
                a[r] = (act_t) {xq + i * K, xd + i * (K / QK), xs + i * (K / 16), xs32 + i * (K / QK)};
            }
            if (reference) for (int r = 0; r < R; r++) v[r] = ref(row, K, &a[r]);
            else rows(row, K, a, R, v);
            for (int r = 0; r < R; r++) {
                float *o = y + (m + r) * ldy + n;
                *o = accumulate ? *o + v[r] : v[r];
            }
        }
    }
    return 0;
}

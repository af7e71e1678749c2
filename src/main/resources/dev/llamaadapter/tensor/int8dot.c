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
 * Each format's kernel takes R = 1..4 activation rows at once (a batch of sequences, a prompt): the weight
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

/* ---- plain C: the definition the vector kernels must equal (up to fp32 summation order) ---------------- */

/*
 * Not auto-vectorised: GCC 12 with -march=native on a VNNI CPU turns the signed-by-signed int8 sums below
 * into wrong code (measured: ref_q8_0 gave -758.5 for 21.59 on K = 128), and these are the reference.
 */
#if defined(__GNUC__) && !defined(__clang__)
#define REFERENCE __attribute__((optimize("no-tree-vectorize")))
#else
#define REFERENCE
#endif

REFERENCE static float ref_q8_0(const uint8_t *w, int64_t K, const act_t *a) {
    float sum = 0;
    for (int64_t b = 0; b < K / QK; b++) {
        const uint8_t *blk = w + 34 * b;
        int32_t s = 0;
        for (int i = 0; i < QK; i++) s += (int32_t) (int8_t) blk[2 + i] * a->q[QK * b + i];
        sum += (float) s * (f16(blk) * a->d[b]);
    }
    return sum;
}

REFERENCE static float ref_q4_0(const uint8_t *w, int64_t K, const act_t *a) {
    float sum = 0;
    for (int64_t b = 0; b < K / QK; b++) {
        const uint8_t *blk = w + 18 * b;
        int32_t s = 0;
        for (int i = 0; i < 16; i++)
            s += ((blk[2 + i] & 15) - 8) * a->q[QK * b + i] + ((blk[2 + i] >> 4) - 8) * a->q[QK * b + 16 + i];
        sum += (float) s * (f16(blk) * a->d[b]);
    }
    return sum;
}

REFERENCE static float ref_q4_k(const uint8_t *w, int64_t K, const act_t *a) {
    float sum = 0;
    for (int64_t sb = 0; sb < K / 256; sb++) {
        const uint8_t *blk = w + 144 * sb;
        float d = f16(blk), dmin = f16(blk + 2);
        for (int j = 0; j < 8; j++) {
            int sc, m;
            scale_min_k4(blk + 4, j, &sc, &m);
            int32_t s = 0;
            for (int l = 0; l < 32; l++) s += ((blk[16 + 32 * (j / 2) + l] >> (4 * (j & 1))) & 15) * a->q[256 * sb + 32 * j + l];
            float da = a->d[8 * sb + j];
            sum += (float) s * (d * sc * da) - dmin * m * da * (float) a->s32[8 * sb + j];
        }
    }
    return sum;
}

REFERENCE static float ref_q5_k(const uint8_t *w, int64_t K, const act_t *a) {
    float sum = 0;
    for (int64_t sb = 0; sb < K / 256; sb++) {
        const uint8_t *blk = w + 176 * sb, *qh = blk + 16, *qs = blk + 48;
        float d = f16(blk), dmin = f16(blk + 2);
        for (int j = 0; j < 8; j++) {
            int sc, m;
            scale_min_k4(blk + 4, j, &sc, &m);
            int32_t s = 0;
            for (int l = 0; l < 32; l++) {
                int q = ((qs[32 * (j / 2) + l] >> (4 * (j & 1))) & 15) | ((qh[l] >> j) & 1) << 4;
                s += q * a->q[256 * sb + 32 * j + l];
            }
            float da = a->d[8 * sb + j];
            sum += (float) s * (d * sc * da) - dmin * m * da * (float) a->s32[8 * sb + j];
        }
    }
    return sum;
}

REFERENCE static float ref_q6_k(const uint8_t *w, int64_t K, const act_t *a) {
    float sum = 0;
    for (int64_t sb = 0; sb < K / 256; sb++) {
        const uint8_t *blk = w + 210 * sb;
        const int8_t *sc = (const int8_t *) (blk + 192);
        float d = f16(blk + 208);
        for (int g = 0; g < 16; g++) {
            int32_t s = 0;
            for (int l = 0; l < 16; l++) s += (q6_level(blk, 16 * g + l) - 32) * a->q[256 * sb + 16 * g + l];
            sum += (float) s * (d * sc[g] * a->d[8 * sb + g / 2]);
        }
    }
    return sum;
}

#if defined(__AVX2__)
#define INLINE static inline __attribute__((always_inline))

/* 8 int32 lanes, lane i = sum of products 4i .. 4i+3 of u (unsigned bytes) and s (signed bytes). */
INLINE __m256i dot_u8s8(__m256i u, __m256i s) {
#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s);
#elif defined(__AVXVNNI__)
    return _mm256_dpbusd_avx_epi32(_mm256_setzero_si256(), u, s);
#else
    /* pairs first (int16; no saturation: u <= 128 and |s| <= 127 here, 2 * 128 * 127 < 32768), then quads */
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
#endif
}

INLINE float hsum(__m256 v) {
    __m128 a = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    a = _mm_add_ps(a, _mm_movehl_ps(a, a));
    a = _mm_add_ss(a, _mm_movehdup_ps(a));
    return _mm_cvtss_f32(a);
}

INLINE __m256i load32(const void *p) {
    return _mm256_loadu_si256((const __m256i *) p);
}

/* the sum of a row's accumulators */
INLINE float total(const __m256 *acc, int U) {
    __m256 t = acc[0];
    for (int j = 1; j < U; j++) t = _mm256_add_ps(t, acc[j]);
    return hsum(t);
}

#define ACC(U) { _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps() }

/* Q8_0: |q| as the unsigned operand and the activation with q's sign: the same products. */
INLINE void q8_0_rows(const uint8_t *w, int64_t K, const act_t *a, int R, float *out) {
    const int U = R == 1 ? 4 : 2; /* blocks in flight per row */
    __m256 acc[4][4] = {ACC(4), ACC(4), ACC(4), ACC(4)};
    int64_t nb = K / QK, b = 0;
    for (; b + U <= nb; b += U)
        for (int j = 0; j < U; j++) {
            const uint8_t *blk = w + 34 * (b + j);
            __m256i q = load32(blk + 2), u = _mm256_sign_epi8(q, q);
            float dw = f16(blk);
            for (int r = 0; r < R; r++) {
                __m256i p = dot_u8s8(u, _mm256_sign_epi8(load32(a[r].q + QK * (b + j)), q));
                acc[r][j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(dw * a[r].d[b + j]), acc[r][j]);
            }
        }
    for (int r = 0; r < R; r++) {
        out[r] = total(acc[r], U);
        for (int64_t t = b; t < nb; t++) { /* a tail shorter than U blocks */
            act_t one = {a[r].q + QK * t, a[r].d + t, 0, 0};
            out[r] += ref_q8_0(w + 34 * t, QK, &one);
        }
    }
}

/* Q4_0: the levels 0..15 unsigned; the -8 leaves through the activation sums (8 lanes x sum = 8 sum). */
INLINE void q4_0_rows(const uint8_t *w, int64_t K, const act_t *a, int R, float *out) {
    const int U = R == 1 ? 4 : 2;
    __m256 acc[4][4] = {ACC(4), ACC(4), ACC(4), ACC(4)};
    const __m256i lo4 = _mm256_set1_epi8(15);
    int64_t nb = K / QK, b = 0;
    for (; b + U <= nb; b += U)
        for (int j = 0; j < U; j++) {
            const uint8_t *blk = w + 18 * (b + j);
            __m128i q = _mm_loadu_si128((const __m128i *) (blk + 2));
            /* elements 0..15 are the low nibbles, 16..31 the high ones */
            __m256i u = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(q, 4), q), lo4);
            float dw = f16(blk);
            for (int r = 0; r < R; r++) {
                __m256i p = dot_u8s8(u, load32(a[r].q + QK * (b + j)));
                p = _mm256_sub_epi32(p, _mm256_set1_epi32(a[r].s32[b + j]));
                acc[r][j] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), _mm256_set1_ps(dw * a[r].d[b + j]), acc[r][j]);
            }
        }
    for (int r = 0; r < R; r++) {
        out[r] = total(acc[r], U);
        for (int64_t t = b; t < nb; t++) {
            act_t one = {a[r].q + QK * t, a[r].d + t, 0, 0};
            out[r] += ref_q4_0(w + 18 * t, QK, &one);
        }
    }
}

/*
 * Q4_K, and Q5_K (bits5: its fifth bit of each level from qh): per super-block the eight (d sc_j da_j) and the
 * mins' share dmin m_j da_j sum_j as vectors.
 */
INLINE void qk_rows(const uint8_t *w, int64_t K, const act_t *a, int R, float *out, int bits5) {
    __m256 acc[4][4] = {ACC(4), ACC(4), ACC(4), ACC(4)};
    __m256 off[4] = ACC(4); /* per row: sum of dmin m_j da_j sum_j, lane j */
    const __m256i lo4 = _mm256_set1_epi8(15);
    for (int64_t sb = 0; sb < K / 256; sb++) {
        const uint8_t *blk = w + (bits5 ? 176 : 144) * sb, *qs = blk + (bits5 ? 48 : 16);
        /* the twelve scale bytes as eight 6-bit scales and eight 6-bit mins, four at a time in 32-bit words */
        uint32_t s0, s1, s2;
        memcpy(&s0, blk + 4, 4);
        memcpy(&s1, blk + 8, 4);
        memcpy(&s2, blk + 12, 4);
        /* built in registers: four 4-byte stores read back as one 16-byte load would stall (no store forwarding) */
        __m128i sm = _mm_setr_epi32((int) (s0 & 0x3f3f3f3fu),                                          /* scales 0..3 */
                                    (int) ((s2 & 0x0f0f0f0fu) | ((s0 >> 6) & 0x03030303u) << 4),        /* scales 4..7 */
                                    (int) (s1 & 0x3f3f3f3fu),                                          /* mins 0..3 */
                                    (int) (((s2 >> 4) & 0x0f0f0f0fu) | ((s1 >> 6) & 0x03030303u) << 4)); /* mins 4..7 */
        __m256 scd = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(sm)), _mm256_set1_ps(f16(blk)));
        __m256 mnd = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_srli_si128(sm, 8))), _mm256_set1_ps(f16(blk + 2)));
        __m256 fs[4]; /* per row: d sc_j da_j in lane j (kept in registers: a store and 4-byte reloads would stall) */
        for (int r = 0; r < R; r++) {
            __m256 da = _mm256_loadu_ps(a[r].d + 8 * sb);
            fs[r] = _mm256_mul_ps(scd, da);
            off[r] = _mm256_fmadd_ps(_mm256_mul_ps(mnd, da), _mm256_cvtepi32_ps(load32(a[r].s32 + 8 * sb)), off[r]);
        }
        for (int c = 0; c < 4; c++) { /* 64 elements: sub-blocks 2c (low nibbles) and 2c + 1 (high nibbles) */
            __m256i q = load32(qs + 32 * c);
            __m256i lo = _mm256_and_si256(q, lo4), hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), lo4);
            if (bits5) { /* bit 2c of qh[l] is the fifth bit of sub-block 2c's element l, bit 2c + 1 of 2c + 1's */
                __m256i qh = load32(blk + 16), b0 = _mm256_set1_epi8((char) (1 << (2 * c))), b1 = _mm256_set1_epi8((char) (2 << (2 * c)));
                __m256i sixteen = _mm256_set1_epi8(16);
                lo = _mm256_or_si256(lo, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(qh, b0), b0), sixteen));
                hi = _mm256_or_si256(hi, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(qh, b1), b1), sixteen));
            }
            int k = 2 * (c & 1);
            const __m256i j0 = _mm256_set1_epi32(2 * c), j1 = _mm256_set1_epi32(2 * c + 1);
            for (int r = 0; r < R; r++) {
                const int8_t *x = a[r].q + 256 * sb + 64 * c;
                __m256i p0 = dot_u8s8(lo, load32(x)), p1 = dot_u8s8(hi, load32(x + 32));
                acc[r][k] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p0), _mm256_permutevar8x32_ps(fs[r], j0), acc[r][k]);
                acc[r][k + 1] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p1), _mm256_permutevar8x32_ps(fs[r], j1), acc[r][k + 1]);
            }
        }
    }
    for (int r = 0; r < R; r++) out[r] = total(acc[r], 4) - hsum(off[r]);
}

INLINE void q4_k_rows(const uint8_t *w, int64_t K, const act_t *a, int R, float *out) {
    qk_rows(w, K, a, R, out, 0);
}

INLINE void q5_k_rows(const uint8_t *w, int64_t K, const act_t *a, int R, float *out) {
    qk_rows(w, K, a, R, out, 1);
}

/* Q6_K: levels 0..63 unsigned, the -32 through the sums per 16; each 32 has two scales (lanes 0-3, 4-7). */
INLINE void q6_k_rows(const uint8_t *w, int64_t K, const act_t *a, int R, float *out) {
    __m256 acc[4][4] = {ACC(4), ACC(4), ACC(4), ACC(4)};
    __m256 off[4] = ACC(4); /* per row: sum of d sc_g da 32 sum16_g */
    const __m256i lo4 = _mm256_set1_epi8(15), hi2 = _mm256_set1_epi8(0x30);
    const __m256i dup_lo = _mm256_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3), dup_hi = _mm256_setr_epi32(4, 4, 5, 5, 6, 6, 7, 7);
    for (int64_t sb = 0; sb < K / 256; sb++) {
        const uint8_t *blk = w + 210 * sb, *ql = blk, *qh = blk + 128;
        __m128i sc8 = _mm_loadu_si128((const __m128i *) (blk + 192));
        __m256 d = _mm256_set1_ps(f16(blk + 208));
        __m256 sc_lo = _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(sc8)));
        __m256 sc_hi = _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(sc8, 8))));
        __m256 f_lo[4], f_hi[4]; /* per row: d sc_g da_(g/2) for groups 0..7 and 8..15 */
        for (int r = 0; r < R; r++) {
            __m256 da = _mm256_loadu_ps(a[r].d + 8 * sb);
            f_lo[r] = _mm256_mul_ps(sc_lo, _mm256_permutevar8x32_ps(da, dup_lo));
            f_hi[r] = _mm256_mul_ps(sc_hi, _mm256_permutevar8x32_ps(da, dup_hi));
            const int32_t *s16 = a[r].s16 + 16 * sb;
            off[r] = _mm256_fmadd_ps(f_lo[r], _mm256_cvtepi32_ps(load32(s16)), off[r]);
            off[r] = _mm256_fmadd_ps(f_hi[r], _mm256_cvtepi32_ps(load32(s16 + 8)), off[r]);
        }
        for (int h = 0; h < 2; h++) {
            __m256i l0 = load32(ql + 64 * h), l1 = load32(ql + 64 * h + 32), hb = load32(qh + 32 * h);
            /* the four groups of 32 of this half: a nibble of ql and 2 bits of qh each */
            __m256i u[4] = {
                _mm256_or_si256(_mm256_and_si256(l0, lo4), _mm256_and_si256(_mm256_slli_epi16(hb, 4), hi2)),
                _mm256_or_si256(_mm256_and_si256(l1, lo4), _mm256_and_si256(_mm256_slli_epi16(hb, 2), hi2)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), lo4), _mm256_and_si256(hb, hi2)),
                _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), lo4), _mm256_and_si256(_mm256_srli_epi16(hb, 2), hi2)),
            };
            for (int g = 0; g < 4; g++) {
                /* the activation block is 4h + g; its two groups of 16 take lanes 0-3 and 4-7 */
                const __m256i pick = _mm256_setr_epi32(2 * g, 2 * g, 2 * g, 2 * g, 2 * g + 1, 2 * g + 1, 2 * g + 1, 2 * g + 1);
                for (int r = 0; r < R; r++) {
                    __m256i p = dot_u8s8(u[g], load32(a[r].q + 256 * sb + 32 * (4 * h + g)));
                    __m256 scale = _mm256_permutevar8x32_ps(h == 0 ? f_lo[r] : f_hi[r], pick);
                    acc[r][g] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(p), scale, acc[r][g]);
                }
            }
        }
    }
    for (int r = 0; r < R; r++) out[r] = total(acc[r], 4) - 32 * hsum(off[r]);
}

#define ROWS_OF(fn) \
    static void fn##_r(const uint8_t *w, int64_t K, const act_t *a, int R, float *out) { \
        switch (R) { \
            case 1: fn##_rows(w, K, a, 1, out); break; \
            case 2: fn##_rows(w, K, a, 2, out); break; \
            case 3: fn##_rows(w, K, a, 3, out); break; \
            default: fn##_rows(w, K, a, 4, out); break; \
        } \
    }
ROWS_OF(q8_0)
ROWS_OF(q4_0)
ROWS_OF(q4_k)
ROWS_OF(q5_k)
ROWS_OF(q6_k)
#else
#define REF_ROWS(fn) \
    static void fn##_r(const uint8_t *w, int64_t K, const act_t *a, int R, float *out) { \
        for (int r = 0; r < R; r++) out[r] = ref_##fn(w, K, &a[r]); \
    }
REF_ROWS(q8_0)
REF_ROWS(q4_0)
REF_ROWS(q4_k)
REF_ROWS(q5_k)
REF_ROWS(q6_k)
#endif



/* ---- AMX: 16 weight rows x 16 activation rows per tile product ----------------------------------------------- */
#if defined(__AMX_INT8__) && defined(__AMX_TILE__) && defined(__AVX512F__) && defined(__AVX2__) && defined(__linux__)
#define AMX 1
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>
#ifndef AMX_MIN_M
#define AMX_MIN_M 6
#endif

/*
 * Linux hands a process the AMX tile registers only when asked (arch_prctl ARCH_REQ_XCOMP_PERM for the
 * XTILEDATA state): once per process; a kernel that refuses (or a CPU without AMX under a build for one) leaves
 * the vector kernels in charge.
 */
static int amx_state; /* 0: not asked yet, 1: granted, -1: refused */

static int amx_ready(void) {
    if (amx_state == 0) amx_state = syscall(SYS_arch_prctl, 0x1023 /* ARCH_REQ_XCOMP_PERM */, 18 /* XFEATURE_XTILEDATA */) == 0 ? 1 : -1;
    return amx_state > 0;
}

/* The tile configuration (palette 1): 0 = C [16 x 16 int32], 1/2 = A/B for steps of 32, 3/4 = A/B for steps of 16. */
typedef struct {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} tilecfg_t;

static void amx_configure(void) {
    tilecfg_t c;
    memset(&c, 0, sizeof c);
    c.palette = 1;
    c.colsb[0] = 64; c.rows[0] = 16;  /* C: weight row x activation row, int32 */
    c.colsb[1] = 32; c.rows[1] = 16;  /* A: 16 weight rows x 32 levels (unsigned) */
    c.colsb[2] = 64; c.rows[2] = 8;   /* B: 32 activations x 16 rows, four consecutive k per dword */
    c.colsb[3] = 16; c.rows[3] = 16;  /* A and B for Q6_K's steps of 16 */
    c.colsb[4] = 64; c.rows[4] = 4;
    _tile_loadconfig(&c);
}

/*
 * Weights as the tiles read them, for 16 rows: w_k = ws[step][n] * (lv[n][k] + 0) + o[step][n] with lv an
 * unsigned level (Q8_0's signed quant + 128), ws the step's scale and o its offset per unit of activation
 * (so that sum_k w_k x_k = ws sum lv x + o sum x over the step). A step is 32 elements (16 for Q6_K).
 */
static void amx_unpack(int fmt, const uint8_t *row, int64_t K, uint8_t *lv, float *ws, float *o, int n) {
    const __m256i lo4 = _mm256_set1_epi8(15);
    switch (fmt) {
        case FMT_Q8_0:
            for (int64_t b = 0; b < K / QK; b++) {
                const uint8_t *blk = row + 34 * b;
                float d = f16(blk);
                _mm256_storeu_si256((__m256i *) (lv + QK * b), _mm256_xor_si256(load32(blk + 2), _mm256_set1_epi8((char) 0x80)));
                ws[16 * b + n] = d;
                o[16 * b + n] = -128 * d;
            }
            break;
        case FMT_Q4_0:
            for (int64_t b = 0; b < K / QK; b++) {
                const uint8_t *blk = row + 18 * b;
                float d = f16(blk);
                __m128i q = _mm_loadu_si128((const __m128i *) (blk + 2));
                _mm256_storeu_si256((__m256i *) (lv + QK * b), _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(q, 4), q), lo4));
                ws[16 * b + n] = d;
                o[16 * b + n] = -8 * d;
            }
            break;
        case FMT_Q4_K:
        case FMT_Q5_K: {
            int five = fmt == FMT_Q5_K;
            for (int64_t sb = 0; sb < K / 256; sb++) {
                const uint8_t *blk = row + (five ? 176 : 144) * sb, *qs = blk + (five ? 48 : 16);
                float d = f16(blk), dmin = f16(blk + 2);
                __m256i qh = five ? load32(blk + 16) : _mm256_setzero_si256();
                for (int c = 0; c < 4; c++) {
                    __m256i q = load32(qs + 32 * c);
                    __m256i lo = _mm256_and_si256(q, lo4), hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), lo4);
                    if (five) {
                        __m256i b0 = _mm256_set1_epi8((char) (1 << (2 * c))), b1 = _mm256_set1_epi8((char) (2 << (2 * c))), x16 = _mm256_set1_epi8(16);
                        lo = _mm256_or_si256(lo, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(qh, b0), b0), x16));
                        hi = _mm256_or_si256(hi, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(qh, b1), b1), x16));
                    }
                    _mm256_storeu_si256((__m256i *) (lv + 256 * sb + 64 * c), lo);
                    _mm256_storeu_si256((__m256i *) (lv + 256 * sb + 64 * c + 32), hi);
                }
                for (int j = 0; j < 8; j++) {
                    int sc, m;
                    scale_min_k4(blk + 4, j, &sc, &m);
                    ws[16 * (8 * sb + j) + n] = d * sc;
                    o[16 * (8 * sb + j) + n] = -dmin * m;
                }
            }
            break;
        }
        case FMT_Q6_K: {
            const __m256i hi2 = _mm256_set1_epi8(0x30);
            for (int64_t sb = 0; sb < K / 256; sb++) {
                const uint8_t *blk = row + 210 * sb, *ql = blk, *qh = blk + 128;
                const int8_t *sc = (const int8_t *) (blk + 192);
                float d = f16(blk + 208);
                for (int h = 0; h < 2; h++) {
                    __m256i l0 = load32(ql + 64 * h), l1 = load32(ql + 64 * h + 32), hb = load32(qh + 32 * h);
                    uint8_t *out = lv + 256 * sb + 128 * h;
                    _mm256_storeu_si256((__m256i *) out, _mm256_or_si256(_mm256_and_si256(l0, lo4), _mm256_and_si256(_mm256_slli_epi16(hb, 4), hi2)));
                    _mm256_storeu_si256((__m256i *) (out + 32), _mm256_or_si256(_mm256_and_si256(l1, lo4), _mm256_and_si256(_mm256_slli_epi16(hb, 2), hi2)));
                    _mm256_storeu_si256((__m256i *) (out + 64),
                                        _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), lo4), _mm256_and_si256(hb, hi2)));
                    _mm256_storeu_si256((__m256i *) (out + 96),
                                        _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), lo4), _mm256_and_si256(_mm256_srli_epi16(hb, 2), hi2)));
                }
                for (int g = 0; g < 16; g++) {
                    ws[16 * (16 * sb + g) + n] = d * sc[g];
                    o[16 * (16 * sb + g) + n] = -32 * d * sc[g];
                }
            }
            break;
        }
    }
}

/* Per-thread buffers that only grow (16-row weight tiles, packed activations). */
static __thread void *amx_buf[5];
static __thread size_t amx_len[5];

static void *amx_buffer(int i, size_t n) {
    if (amx_len[i] < n) {
        free(amx_buf[i]);
        amx_buf[i] = aligned_alloc(64, (n + 63) / 64 * 64);
        amx_len[i] = amx_buf[i] ? n : 0;
    }
    return amx_buf[i];
}

/*
 * y[m, n] (+)= ... for rows n in [n0, n1) and M activation rows, 16 x 16 at a time: per step (32 elements, 16 for
 * Q6_K) one tile product gives every (weight row, activation row) its exact integer sum, which is scaled into 16
 * fp32 accumulators (one per weight row, lanes = activation rows). Returns 0 when AMX is not available.
 */
static int gemm_amx(int fmt, const uint8_t *w, int64_t rowBytes, int64_t n0, int64_t n1, int64_t K, const int8_t *xq, const float *xd,
                    const int32_t *xs, int64_t M, float *y, int64_t ldy, int accumulate) {
    if (!amx_ready()) return 0;
    int step = fmt == FMT_Q6_K ? 16 : 32;
    int64_t steps = K / step, groups = (M + 15) / 16;
    /* activations: B tiles [group][32-block][8 rows][64] (k = 4 r + t of row m at 4 m + t), zero past row M;
       per group and step the scales da[16] and da * (sum of the step's quants)[16] */
    int8_t *bp = amx_buffer(0, (size_t) (groups * K * 16));
    float *da = amx_buffer(1, (size_t) (groups * steps * 16) * 4), *ds = amx_buffer(2, (size_t) (groups * steps * 16) * 4);
    uint8_t *lv = amx_buffer(3, (size_t) (16 * K));
    float *wso = amx_buffer(4, (size_t) (2 * steps * 16) * 4);
    if (!bp || !da || !ds || !lv || !wso) return 0;
    float *ws = wso, *wo = wso + steps * 16;
    memset(bp, 0, (size_t) (groups * K * 16));
    memset(da, 0, (size_t) (groups * steps * 16) * 4);
    memset(ds, 0, (size_t) (groups * steps * 16) * 4);
    for (int64_t m = 0; m < M; m++) {
        int64_t g = m / 16, r = m % 16;
        const int8_t *q = xq + m * K;
        for (int64_t b = 0; b < K / QK; b++) {
            int8_t *tile = bp + (g * (K / QK) + b) * 512;
            for (int k4 = 0; k4 < 8; k4++) memcpy(tile + 64 * k4 + 4 * r, q + QK * b + 4 * k4, 4); /* four consecutive k per dword */
        }
        for (int64_t t = 0; t < steps; t++) {
            float d = xd[m * (K / QK) + t * step / QK];
            da[(g * steps + t) * 16 + r] = d;
            int32_t sum = step == 32 ? xs[m * (K / 16) + 2 * t] + xs[m * (K / 16) + 2 * t + 1] : xs[m * (K / 16) + t];
            ds[(g * steps + t) * 16 + r] = d * (float) sum;
        }
    }
    amx_configure();
    int32_t c[16][16] __attribute__((aligned(64)));
    for (int64_t nt = n0; nt < n1; nt += 16) {
        int nr = n1 - nt < 16 ? (int) (n1 - nt) : 16;
        if (nr < 16) memset(lv, 0, (size_t) (16 * K));
        for (int i = 0; i < 16; i++) {
            if (i < nr) amx_unpack(fmt, w + (nt + i) * rowBytes, K, lv + i * K, ws, wo, i);
            else for (int64_t t = 0; t < steps; t++) ws[16 * t + i] = wo[16 * t + i] = 0;
        }
        for (int64_t g = 0; g < groups; g++) {
            __m512 acc[16];
            for (int i = 0; i < 16; i++) acc[i] = _mm512_setzero_ps();
            for (int64_t t = 0; t < steps; t++) {
                _tile_zero(0);
                if (step == 32) {
                    _tile_loadd(1, lv + 32 * t, K);
                    _tile_loadd(2, bp + (g * (K / QK) + t) * 512, 64);
                    _tile_dpbusd(0, 1, 2);
                } else {
                    _tile_loadd(3, lv + 16 * t, K);
                    _tile_loadd(4, bp + (g * (K / QK) + t / 2) * 512 + 256 * (t % 2), 64);
                    _tile_dpbusd(0, 3, 4);
                }
                _tile_stored(0, c, 64);
                __m512 dv = _mm512_loadu_ps(da + (g * steps + t) * 16), sv = _mm512_loadu_ps(ds + (g * steps + t) * 16);
                for (int i = 0; i < 16; i++) {
                    __m512 p = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_load_si512(c[i])), dv);
                    acc[i] = _mm512_fmadd_ps(p, _mm512_set1_ps(ws[16 * t + i]), acc[i]);
                    acc[i] = _mm512_fmadd_ps(sv, _mm512_set1_ps(wo[16 * t + i]), acc[i]);
                }
            }
            float out[16] __attribute__((aligned(64)));
            for (int i = 0; i < nr; i++) {
                _mm512_store_ps(out, acc[i]);
                for (int r = 0; r < 16 && g * 16 + r < M; r++) {
                    float *o = y + (g * 16 + r) * ldy + nt + i;
                    *o = accumulate ? *o + out[r] : out[r];
                }
            }
        }
    }
    _tile_release();
    return 1;
}
#endif

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

/* int8dot.c's AMX-INT8 tile products for many activation rows (included once, by int8dot.c). */
#ifndef INT8DOT_AMX_H
#define INT8DOT_AMX_H

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
static __thread void *amx_buf[6];
static __thread size_t amx_len[6];

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
    /* A format whose offset is a fixed number of levels (Q8_0's 128, Q4_0's 8, Q6_K's 32) starts each tile product
       at -c0 x (the step's activation sum) for every weight row: the sum comes out integer and exact, and the
       scaling then takes one FMA a row instead of two. Q4_K's and Q5_K's mins vary by row: they go through wo. */
    int c0 = fmt == FMT_Q8_0 ? 128 : fmt == FMT_Q4_0 ? 8 : fmt == FMT_Q6_K ? 32 : 0;
    int32_t *ci = amx_buffer(5, (size_t) (groups * steps * 16) * 4);
    if (!ci) return 0;
    memset(ci, 0, (size_t) (groups * steps * 16) * 4);
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
            if (c0) ci[(g * steps + t) * 16 + r] = -c0 * sum; /* the offset inside the integer sum */
            else ds[(g * steps + t) * 16 + r] = d * (float) sum; /* the mins' share, scaled per row */
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
                if (c0) _tile_loadd(0, ci + (g * steps + t) * 16, 0); /* the same row for all 16 weight rows */
                else _tile_zero(0);
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
                    __m512 p = _mm512_cvtepi32_ps(_mm512_load_si512(c[i]));
                    acc[i] = _mm512_fmadd_ps(p, _mm512_mul_ps(dv, _mm512_set1_ps(ws[16 * t + i])), acc[i]);
                    if (!c0) acc[i] = _mm512_fmadd_ps(sv, _mm512_set1_ps(wo[16 * t + i]), acc[i]);
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

#endif /* INT8DOT_AMX_H */

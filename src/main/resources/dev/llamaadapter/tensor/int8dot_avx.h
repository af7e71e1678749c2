/* int8dot.c's vector kernels (AVX2, AVX-VNNI, AVX512-VNNI on 256-bit registers) for 1 to 4 activation rows, and their plain C stand-ins elsewhere (included once, by int8dot.c). */
#ifndef INT8DOT_AVX_H
#define INT8DOT_AVX_H

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

#endif /* INT8DOT_AVX_H */

/* int8dot.c's plain C definitions: what every vector kernel must equal, up to fp32 summation order (included once, by int8dot.c). */
#ifndef INT8DOT_REF_H
#define INT8DOT_REF_H

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

/* Q4_K, and Q5_K (five: the fifth bit of each level from qh[32] after the scales, the quants 32 bytes further). */
REFERENCE static float ref_qk(const uint8_t *w, int64_t K, const act_t *a, int five) {
    float sum = 0;
    for (int64_t sb = 0; sb < K / 256; sb++) {
        const uint8_t *blk = w + (five ? 176 : 144) * sb, *qh = blk + 16, *qs = blk + (five ? 48 : 16);
        float d = f16(blk), dmin = f16(blk + 2);
        for (int j = 0; j < 8; j++) {
            int sc, m;
            scale_min_k4(blk + 4, j, &sc, &m);
            int32_t s = 0;
            for (int l = 0; l < 32; l++) {
                int q = (qs[32 * (j / 2) + l] >> (4 * (j & 1))) & 15;
                if (five) q |= ((qh[l] >> j) & 1) << 4;
                s += q * a->q[256 * sb + 32 * j + l];
            }
            float da = a->d[8 * sb + j];
            sum += (float) s * (d * sc * da) - dmin * m * da * (float) a->s32[8 * sb + j];
        }
    }
    return sum;
}

static float ref_q4_k(const uint8_t *w, int64_t K, const act_t *a) {
    return ref_qk(w, K, a, 0);
}

static float ref_q5_k(const uint8_t *w, int64_t K, const act_t *a) {
    return ref_qk(w, K, a, 1);
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


#endif /* INT8DOT_REF_H */

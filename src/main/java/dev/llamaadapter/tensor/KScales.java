package dev.llamaadapter.tensor;

import java.lang.foreign.MemorySegment;

import static dev.llamaadapter.tensor.BlockVectors.I16;
import static dev.llamaadapter.tensor.BlockVectors.I8;
import static dev.llamaadapter.tensor.BlockVectors.f16;
import static dev.llamaadapter.tensor.BlockVectors.u8;

/**
 * The super-block header Q4_K and Q5_K share: d and dmin (fp16) at bytes 0 and 2, then twelve bytes s[12]
 * holding eight 6-bit (sc, m) pairs, one per sub-block of 32:
 * <pre>
 * j &lt; 4:  sc = s[j] &amp; 63,                          m = s[j+4] &amp; 63
 * j ≥ 4:  sc = (s[j+4] &amp; 15) | (s[j-4] &gt;&gt; 6) &lt;&lt; 4,   m = (s[j+4] &gt;&gt; 4) | (s[j] &gt;&gt; 6) &lt;&lt; 4
 * element = (d·sc)·q − dmin·m
 * </pre>
 * Reading it, and choosing it when quantising: each sub-block's own (scale, min) comes from
 * {@link KQuantSearch#withMin}, then the eight scales are expressed as 6-bit multiples of d = max scale / 63
 * (the mins likewise of dmin), and the levels are re-rounded against the scales as stored.
 */
final class KScales {
    private KScales() {}

    static final int SUPER = 256, SUB = 32;

    /** Sub-block j's 6-bit scale, from the super-block at byte b. */
    static int scale(MemorySegment d, long b, int j) {
        return j < 4 ? u8(d, b + 4 + j) & 63 : (u8(d, b + 8 + j) & 15) | (u8(d, b + j) >>> 6) << 4;
    }

    /** Sub-block j's 6-bit min. */
    static int min(MemorySegment d, long b, int j) {
        return j < 4 ? u8(d, b + 8 + j) & 63 : (u8(d, b + 8 + j) >>> 4) | (u8(d, b + 4 + j) >>> 6) << 4;
    }

    /**
     * Quantises the 256 values x[xo ..] with levels 0 .. nmax: writes d, dmin and the packed pairs at byte b of
     * dst, and the levels (as stored scales imply them) into L[0 .. 256). rmin, rdelta, nstep: the search's fan.
     */
    static void quantize(float[] x, int xo, int nmax, float rmin, float rdelta, int nstep, MemorySegment dst, long b, byte[] L) {
        float[] w = new float[SUB];               // [32] weights of one sub-block
        float[] scales = new float[SUPER / SUB];  // [8] each sub-block's own scale
        float[] mins = new float[SUPER / SUB];    // [8] and min (subtracted, ≥ 0)
        byte[] aux = new byte[SUB];               // [32] the search's scratch levels
        float maxScale = 0, maxMin = 0;
        for (int j = 0; j < SUPER / SUB; j++) {
            int o = xo + j * SUB;
            float sumX2 = 0;
            for (int l = 0; l < SUB; l++) sumX2 += x[o + l] * x[o + l];
            float av = (float) Math.sqrt(sumX2 / SUB);
            // weight |x| + rms: large values matter more, but small ones are not ignored
            for (int l = 0; l < SUB; l++) w[l] = av + Math.abs(x[o + l]);
            scales[j] = KQuantSearch.withMin(x, o, SUB, nmax, w, L, j * SUB, mins, j, aux, rmin, rdelta, nstep);
            maxScale = Math.max(maxScale, scales[j]);
            maxMin = Math.max(maxMin, mins[j]);
        }
        float invScale = maxScale > 0 ? 63f / maxScale : 0f, invMin = maxMin > 0 ? 63f / maxMin : 0f;
        int[] ls = new int[SUPER / SUB], lm = new int[SUPER / SUB]; // [8] the 6-bit pairs
        for (int j = 0; j < SUPER / SUB; j++) {
            ls[j] = Math.min(63, KQuantSearch.nearest(invScale * scales[j]));
            lm[j] = Math.min(63, KQuantSearch.nearest(invMin * mins[j]));
        }
        dst.set(I16, b, Float.floatToFloat16(maxScale / 63f));
        dst.set(I16, b + 2, Float.floatToFloat16(maxMin / 63f));
        for (int k = 0; k < 12; k++) dst.set(I8, b + 4 + k, (byte) 0);
        for (int j = 0; j < SUPER / SUB; j++) {
            if (j < 4) {
                dst.set(I8, b + 4 + j, (byte) (u8(dst, b + 4 + j) | ls[j]));
                dst.set(I8, b + 8 + j, (byte) (u8(dst, b + 8 + j) | lm[j]));
            } else {
                dst.set(I8, b + 8 + j, (byte) ((ls[j] & 15) | (lm[j] & 15) << 4));
                dst.set(I8, b + j, (byte) (u8(dst, b + j) | (ls[j] >> 4) << 6));      // top bits of sc into s[j-4]
                dst.set(I8, b + 4 + j, (byte) (u8(dst, b + 4 + j) | (lm[j] >> 4) << 6)); // of m into s[j]
            }
        }
        float dd = f16(dst, b), dm = f16(dst, b + 2);
        for (int j = 0; j < SUPER / SUB; j++) {
            float d1 = dd * scale(dst, b, j);
            if (d1 == 0) continue; // an all-zero scale: the levels do not matter, keep the search's
            float m1 = dm * min(dst, b, j);
            for (int l = 0; l < SUB; l++)
                L[j * SUB + l] = (byte) Math.max(0, Math.min(nmax, KQuantSearch.nearest((x[xo + j * SUB + l] + m1) / d1)));
        }
    }
}

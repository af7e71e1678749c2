package dev.llamaadapter.tensor;

import java.lang.foreign.MemorySegment;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import static dev.llamaadapter.tensor.BlockVectors.I8;
import static dev.llamaadapter.tensor.BlockVectors.L;
import static dev.llamaadapter.tensor.BlockVectors.LE;
import static dev.llamaadapter.tensor.BlockVectors.QVEC;
import static dev.llamaadapter.tensor.BlockVectors.S;
import static dev.llamaadapter.tensor.BlockVectors.SB;
import static dev.llamaadapter.tensor.BlockVectors.f16;
import static dev.llamaadapter.tensor.BlockVectors.u8;

/**
 * GGUF Q5_K, 176 bytes per super-block of 256 elements, eight sub-blocks of 32 that each have a 6-bit scale
 * sc and a 6-bit min m (the header Q4_K has, see {@link KScales}):
 * <pre>
 * bytes [0, 16)    d, dmin (fp16), s[12]   as Q4_K
 *       [16, 48)   qh[32]       the fifth bit: element l of sub-block j has it at bit j of qh[l]
 *       [48, 176)  qs[128]      the low 4 bits, as Q4_K's quants: sub-blocks 2c and 2c+1 share qs[32c ..],
 *                               element l of sub-block 2c in the low nibble of qs[32c + l], of 2c+1 in the high one
 * q = low | fifth &lt;&lt; 4 (0 .. 31),   element = (d·sc)·q − dmin·m   (each product rounded to fp32)
 * </pre>
 * Quantising as Q4_K with levels 0 .. 31 (search fan: 16 candidates from nmax − 0.5 step 0.1, as llama.cpp's
 * non-imatrix path).
 */
final class BlockQ5_K implements BlockFormat {
    static final BlockQ5_K INSTANCE = new BlockQ5_K();
    private static final int QK = 256, BYTES = 176, SUB = 32, QH = 16, QS = 48;

    private BlockQ5_K() {}

    @Override public String name() { return "Q5_K"; }
    @Override public int blockElements() { return QK; }
    @Override public int blockBytes() { return BYTES; }

    /** The level (0 .. 31) of element l of sub-block j in the super-block at byte b. */
    private static int quant(MemorySegment d, long b, int j, int l) {
        int low = u8(d, b + QS + 32 * (j >> 1) + l) >>> (4 * (j & 1)) & 15;
        return low | (u8(d, b + QH + l) >>> j & 1) << 4;
    }

    @Override
    public float get(MemorySegment d, long e) {
        long b = e / QK * BYTES;
        int i = (int) (e % QK), j = i / SUB;
        float d1 = f16(d, b) * KScales.scale(d, b, j), m1 = f16(d, b + 2) * KScales.min(d, b, j);
        return d1 * quant(d, b, j, i % SUB) - m1;
    }

    /** Levels u .. u + L of sub-block j as fp32 lanes: the nibble, or'ed with bit j of qh moved to bit 4. */
    private static FloatVector quants(MemorySegment d, long b, int j, int u) {
        ByteVector lo = ByteVector.fromMemorySegment(SB, d, b + QS + 32 * (j >> 1) + u, LE);
        lo = (j & 1) == 0 ? lo.and((byte) 15) : lo.lanewise(VectorOperators.LSHR, 4);
        ByteVector hi = ByteVector.fromMemorySegment(SB, d, b + QH + u, LE)
                .lanewise(VectorOperators.LSHR, j).and((byte) 1).lanewise(VectorOperators.LSHL, 4);
        return (FloatVector) lo.or(hi).convertShape(VectorOperators.B2F, S, 0);
    }

    /** Whole sub-blocks as vectors (levels times d·sc, minus dmin·m), partial ones element by element. */
    @Override
    public void dequantize(MemorySegment d, long e, float[] dst, int off, int n) {
        int i = 0;
        while (i < n) {
            long b = (e + i) / QK * BYTES;
            int in = (int) ((e + i) % QK), j = in / SUB, l = in % SUB;
            float d1 = f16(d, b) * KScales.scale(d, b, j), m1 = f16(d, b + 2) * KScales.min(d, b, j);
            if (QVEC && l == 0 && n - i >= SUB) {
                for (int u = 0; u < SUB; u += L) quants(d, b, j, u).mul(d1).sub(m1).intoArray(dst, off + i + u);
                i += SUB;
            } else {
                for (int end = Math.min(SUB, l + n - i); l < end; l++, i++) dst[off + i] = d1 * quant(d, b, j, l) - m1;
            }
        }
    }

    /** Per sub-block Σ q·x and Σ x as vector sums, then (d·sc)·Σq·x − (dmin·m)·Σx into the running sum. */
    @Override
    public float dot(float[] x, int xo, MemorySegment d, long b, int K) {
        if (!QVEC) return dotScalar(x, xo, d, b, K);
        FloatVector s = FloatVector.zero(S);
        for (int k = 0; k < K; k += QK, b += BYTES) {
            float dd = f16(d, b), dm = f16(d, b + 2);
            for (int j = 0; j < QK / SUB; j++) {
                int xj = xo + k + j * SUB;
                FloatVector a = FloatVector.zero(S), sx = a;
                for (int u = 0; u < SUB; u += L) {
                    FloatVector xv = FloatVector.fromArray(S, x, xj + u);
                    a = quants(d, b, j, u).fma(xv, a);
                    sx = sx.add(xv);
                }
                s = a.fma(FloatVector.broadcast(S, dd * KScales.scale(d, b, j)), s);
                s = sx.fma(FloatVector.broadcast(S, -(dm * KScales.min(d, b, j))), s);
            }
        }
        return Vec.sum(s);
    }

    private static float dotScalar(float[] x, int xo, MemorySegment d, long b, int K) {
        float s = 0;
        for (int k = 0; k < K; k += QK, b += BYTES) {
            float dd = f16(d, b), dm = f16(d, b + 2);
            for (int j = 0; j < QK / SUB; j++) {
                float a = 0, sx = 0;
                for (int l = 0; l < SUB; l++) {
                    float xv = x[xo + k + j * SUB + l];
                    a += quant(d, b, j, l) * xv;
                    sx += xv;
                }
                s += dd * KScales.scale(d, b, j) * a - dm * KScales.min(d, b, j) * sx;
            }
        }
        return s;
    }

    @Override
    public boolean canQuantize() {
        return true;
    }

    @Override
    public void quantize(float[] src, int so, int n, MemorySegment dst, long dstOff) {
        if (n % QK != 0) throw new IllegalArgumentException(n + " values are not whole super-blocks of " + QK);
        byte[] levels = new byte[QK]; // [256] one super-block's levels 0 .. 31
        for (int blk = 0; blk < n / QK; blk++) {
            long b = dstOff + (long) blk * BYTES;
            KScales.quantize(src, so + blk * QK, 31, -0.5f, 0.1f, 15, dst, b, levels);
            for (int l = 0; l < SUB; l++) {
                int qh = 0;
                for (int j = 0; j < QK / SUB; j++) qh |= (levels[j * SUB + l] >> 4 & 1) << j;
                dst.set(I8, b + QH + l, (byte) qh);
            }
            for (int j = 0; j < QK / SUB; j += 2)
                for (int l = 0; l < SUB; l++)
                    dst.set(I8, b + QS + 32 * (j >> 1) + l, (byte) (levels[j * SUB + l] & 15 | (levels[(j + 1) * SUB + l] & 15) << 4));
        }
    }
}

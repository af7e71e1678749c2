package dev.llamaadapter.tensor;

import java.lang.foreign.MemorySegment;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import static dev.llamaadapter.tensor.BlockVectors.B16;
import static dev.llamaadapter.tensor.BlockVectors.L;
import static dev.llamaadapter.tensor.BlockVectors.LE;
import static dev.llamaadapter.tensor.BlockVectors.P;
import static dev.llamaadapter.tensor.BlockVectors.QVEC;
import static dev.llamaadapter.tensor.BlockVectors.S;
import static dev.llamaadapter.tensor.BlockVectors.f16;
import static dev.llamaadapter.tensor.BlockVectors.part;
import static dev.llamaadapter.tensor.BlockVectors.u8;

/**
 * GGUF Q3_K, 110 bytes per super-block of 256 elements, sixteen groups of 16 that each have a signed 6-bit scale:
 * <pre>
 * bytes [0, 32)    hmask[32]   third bits: element 32j + l has bit j of hmask[l]
 *       [32, 96)   qs[64]      low 2 bits, four to a byte: element 128h + 32s + l has (qs[32h + l] &gt;&gt; 2s) &amp; 3
 *       [96, 108)  sc[12]      the 16 scales, 6 bits each: group k's low 4 bits are the low nibble of sc[k]
 *                              (k &lt; 8) or the high nibble of sc[k − 8]; its high 2 bits are (sc[8 + k % 4] &gt;&gt; 2·(k / 4)) &amp; 3
 *       [108, 110) d (fp16)
 * q = low2 − (third bit set ? 0 : 4)    (−4 .. 3)
 * element = (d·(scale6 − 32))·q   (each product rounded to fp32), scale of group i / 16
 * </pre>
 * Read-only here: llama-quantize writes these files.
 */
final class BlockQ3_K implements BlockFormat {
    static final BlockQ3_K INSTANCE = new BlockQ3_K();
    private static final int QK = 256, BYTES = 110, GROUP = 16;

    private BlockQ3_K() {}

    @Override public String name() { return "Q3_K"; }
    @Override public int blockElements() { return QK; }
    @Override public int blockBytes() { return BYTES; }

    /** Group k's scale (−32 .. 31) in the super-block at b (small enough to be inlined in the loops). */
    private static int scale(MemorySegment d, long b, int k) {
        return (u8(d, b + 96 + (k & 7)) >>> 4 * (k >> 3) & 15 | (u8(d, b + 104 + (k & 3)) >>> 2 * (k >> 2) & 3) << 4) - 32;
    }

    @Override
    public float get(MemorySegment d, long e) {
        long b = e / QK * BYTES;
        int i = (int) (e % QK), l = i & 31, j = i >> 5;
        int low = u8(d, b + 32 + 32 * (i >> 7) + l) >>> 2 * (j & 3) & 3;
        int q = low - ((u8(d, b + l) >>> j & 1) == 0 ? 4 : 0);
        return f16(d, b + 108) * scale(d, b, i / GROUP) * q;
    }

    /**
     * Whole groups of 16 as vectors, the ends of a range element by element. (The vector steps are written out
     * in each loop rather than in a helper: a vector returned from a call that is not inlined is boxed.)
     */
    @Override
    public void dequantize(MemorySegment d, long e, float[] dst, int off, int n) {
        int i = 0;
        while (i < n) {
            if (QVEC && (e + i) % GROUP == 0 && n - i >= GROUP) {
                long b = (e + i) / QK * BYTES;
                int g = (int) ((e + i) % QK) / GROUP;
                float dl = f16(d, b + 108) * scale(d, b, g);
                int at = g * GROUP;
                ByteVector q = ByteVector.fromMemorySegment(B16, d, b + 32 + 32 * (at >> 7) + (at & 31), LE).lanewise(VectorOperators.LSHR, 2 * ((at >> 5) & 3)).and((byte) 3)
                        .add(ByteVector.fromMemorySegment(B16, d, b + (at & 31), LE).lanewise(VectorOperators.LSHR, at >> 5).and((byte) 1).lanewise(VectorOperators.LSHL, 2))
                        .sub((byte) 4); // low − 4 + 4·third bit
                for (int p = 0; p < P; p++) part(q, p).mul(dl).intoArray(dst, off + i + p * L);
                i += GROUP;
            } else {
                dst[off + i] = get(d, e + i);
                i++;
            }
        }
    }

    /** Per group of 16, Σ q·x as a vector sum, scaled by d·scale into the running sum. */
    @Override
    public float dot(float[] x, int xo, MemorySegment d, long b, int K) {
        if (!QVEC) return dotScalar(x, xo, d, b, K);
        FloatVector s = FloatVector.zero(S);
        for (int k = 0; k < K; k += QK, b += BYTES) {
            float dd = f16(d, b + 108);
            for (int g = 0; g < QK / GROUP; g++) {
                int at = g * GROUP; // the 16 quants (−4 .. 3) of group g, written out here: see dequantize
                ByteVector q = ByteVector.fromMemorySegment(B16, d, b + 32 + 32 * (at >> 7) + (at & 31), LE).lanewise(VectorOperators.LSHR, 2 * ((at >> 5) & 3)).and((byte) 3)
                        .add(ByteVector.fromMemorySegment(B16, d, b + (at & 31), LE).lanewise(VectorOperators.LSHR, at >> 5).and((byte) 1).lanewise(VectorOperators.LSHL, 2))
                        .sub((byte) 4); // low − 4 + 4·third bit
                FloatVector a = FloatVector.zero(S);
                for (int p = 0; p < P; p++) a = part(q, p).fma(FloatVector.fromArray(S, x, xo + k + g * GROUP + p * L), a);
                s = a.fma(FloatVector.broadcast(S, dd * scale(d, b, g)), s);
            }
        }
        return Vec.sum(s);
    }

    private float dotScalar(float[] x, int xo, MemorySegment d, long b, int K) {
        float s = 0;
        long e0 = b / BYTES * QK;
        for (int k = 0; k < K; k++) s += x[xo + k] * get(d, e0 + k);
        return s;
    }
}

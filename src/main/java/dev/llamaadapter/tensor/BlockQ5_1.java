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
import static dev.llamaadapter.tensor.BlockVectors.BIT;
import static dev.llamaadapter.tensor.BlockVectors.QH_HIGH;
import static dev.llamaadapter.tensor.BlockVectors.QH_LOW;
import static dev.llamaadapter.tensor.BlockVectors.part;
import static dev.llamaadapter.tensor.BlockVectors.u8;

/**
 * GGUF Q5_1, 24 bytes per 32 elements: Q4_1 (scale and offset) with a fifth bit per quant kept apart.
 * <pre>
 * bytes [0, 2)   d (fp16)
 *       [2, 4)   m (fp16)
 *       [4, 8)   qh: a little-endian uint32, bit i is the fifth bit of element i
 *       [8, 24)  qs[16]: element i &lt; 16 is the low nibble of qs[i], element 16 + i its high nibble
 * element = d·(nibble + 16·bit) + m   (the product rounded to fp32, then the sum)
 * </pre>
 * Read-only here: llama-quantize writes these files.
 */
final class BlockQ5_1 implements BlockFormat {
    static final BlockQ5_1 INSTANCE = new BlockQ5_1();
    private static final int QK = 32, BYTES = 24;

    private BlockQ5_1() {}

    @Override public String name() { return "Q5_1"; }
    @Override public int blockElements() { return QK; }
    @Override public int blockBytes() { return BYTES; }

    @Override
    public float get(MemorySegment d, long e) {
        long b = e / QK * BYTES;
        int i = (int) (e % QK), by = u8(d, b + 8 + (i & 15));
        int q = (i < 16 ? by & 15 : by >>> 4) | (u8(d, b + 4 + i / 8) >>> (i % 8) & 1) << 4;
        return f16(d, b) * q + f16(d, b + 2);
    }

    /**
     * Whole blocks as vectors, the ends of a range element by element. (The vector steps are written out in
     * each loop rather than in a helper: a vector returned from a call that is not inlined is boxed.)
     */
    @Override
    public void dequantize(MemorySegment d, long e, float[] dst, int off, int n) {
        int i = 0;
        while (i < n) {
            if (QVEC && (e + i) % QK == 0 && n - i >= QK) {
                long b = (e + i) / QK * BYTES;
                float scale = f16(d, b), min = f16(d, b + 2);
                ByteVector qs = ByteVector.fromMemorySegment(B16, d, b + 8, LE), qh = ByteVector.fromMemorySegment(B16, d, b + 4, LE);
                ByteVector lo = qs.and((byte) 15).lanewise(VectorOperators.OR, (byte) 16, QH_LOW.selectFrom(qh).and(BIT).compare(VectorOperators.NE, 0));
                ByteVector hi = qs.lanewise(VectorOperators.LSHR, 4).lanewise(VectorOperators.OR, (byte) 16, QH_HIGH.selectFrom(qh).and(BIT).compare(VectorOperators.NE, 0));
                for (int p = 0; p < P; p++) {
                    part(lo, p).mul(scale).add(min).intoArray(dst, off + i + p * L);
                    part(hi, p).mul(scale).add(min).intoArray(dst, off + i + 16 + p * L);
                }
                i += QK;
            } else {
                dst[off + i] = get(d, e + i);
                i++;
            }
        }
    }

    /** Per block Σ q·x and Σ x as vector sums, then d·Σq·x + m·Σx into the running sum. */
    @Override
    public float dot(float[] x, int xo, MemorySegment d, long b, int K) {
        if (!QVEC) return dotScalar(x, xo, d, b, K);
        FloatVector s = FloatVector.zero(S);
        for (int k = 0; k < K; k += QK, b += BYTES) {
            ByteVector qs = ByteVector.fromMemorySegment(B16, d, b + 8, LE), qh = ByteVector.fromMemorySegment(B16, d, b + 4, LE);
            ByteVector lo = qs.and((byte) 15).lanewise(VectorOperators.OR, (byte) 16, QH_LOW.selectFrom(qh).and(BIT).compare(VectorOperators.NE, 0));
            ByteVector hi = qs.lanewise(VectorOperators.LSHR, 4).lanewise(VectorOperators.OR, (byte) 16, QH_HIGH.selectFrom(qh).and(BIT).compare(VectorOperators.NE, 0));
            FloatVector a = FloatVector.zero(S), sx = a;
            for (int p = 0; p < P; p++) {
                FloatVector x0 = FloatVector.fromArray(S, x, xo + k + p * L), x1 = FloatVector.fromArray(S, x, xo + k + 16 + p * L);
                a = part(hi, p).fma(x1, part(lo, p).fma(x0, a));
                sx = sx.add(x0).add(x1);
            }
            s = a.fma(FloatVector.broadcast(S, f16(d, b)), s);
            s = sx.fma(FloatVector.broadcast(S, f16(d, b + 2)), s);
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

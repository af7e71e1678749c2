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
 * GGUF Q4_1, 20 bytes per 32 elements: an offset as well as a scale, so a block's range need not straddle zero.
 * <pre>
 * bytes [0, 2)   d (fp16)
 *       [2, 4)   m (fp16)
 *       [4, 20)  qs[16]: element i &lt; 16 is the low nibble of qs[i], element 16 + i its high nibble
 * element = d·q + m   (the product rounded to fp32, then the sum)
 * </pre>
 * Read-only here: llama-quantize writes these files.
 */
final class BlockQ4_1 implements BlockFormat {
    static final BlockQ4_1 INSTANCE = new BlockQ4_1();
    private static final int QK = 32, BYTES = 20;

    private BlockQ4_1() {}

    @Override public String name() { return "Q4_1"; }
    @Override public int blockElements() { return QK; }
    @Override public int blockBytes() { return BYTES; }

    @Override
    public float get(MemorySegment d, long e) {
        long b = e / QK * BYTES;
        int i = (int) (e % QK), by = u8(d, b + 4 + (i & 15));
        return f16(d, b) * (i < 16 ? by & 15 : by >>> 4) + f16(d, b + 2);
    }

    /** Whole blocks as vectors (both nibble halves from one 16-byte load), the ends of a range element by element. */
    @Override
    public void dequantize(MemorySegment d, long e, float[] dst, int off, int n) {
        int i = 0;
        while (i < n) {
            if (QVEC && (e + i) % QK == 0 && n - i >= QK) {
                long b = (e + i) / QK * BYTES;
                float scale = f16(d, b), min = f16(d, b + 2);
                ByteVector v = ByteVector.fromMemorySegment(B16, d, b + 4, LE);
                ByteVector lo = v.and((byte) 15), hi = v.lanewise(VectorOperators.LSHR, 4);
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
            ByteVector v = ByteVector.fromMemorySegment(B16, d, b + 4, LE);
            ByteVector lo = v.and((byte) 15), hi = v.lanewise(VectorOperators.LSHR, 4);
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

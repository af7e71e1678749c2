package dev.llamaadapter.tensor;

import java.lang.foreign.MemorySegment;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import static dev.llamaadapter.tensor.BlockVectors.B16;
import static dev.llamaadapter.tensor.BlockVectors.IQ4_GRID;
import static dev.llamaadapter.tensor.BlockVectors.IQ4_TABLE;
import static dev.llamaadapter.tensor.BlockVectors.L;
import static dev.llamaadapter.tensor.BlockVectors.LE;
import static dev.llamaadapter.tensor.BlockVectors.P;
import static dev.llamaadapter.tensor.BlockVectors.QVEC;
import static dev.llamaadapter.tensor.BlockVectors.S;
import static dev.llamaadapter.tensor.BlockVectors.f16;
import static dev.llamaadapter.tensor.BlockVectors.part;
import static dev.llamaadapter.tensor.BlockVectors.u8;

/**
 * GGUF IQ4_NL, 18 bytes per 32 elements: Q4_0's layout, but a nibble indexes a fixed non-linear grid
 * ({@link BlockVectors#IQ4_GRID}, −127 .. 113) instead of being a value.
 * <pre>
 * bytes [0, 2)   d (fp16)
 *       [2, 18)  qs[16]: element i &lt; 16 is the low nibble of qs[i], element 16 + i its high nibble
 * element = d·grid[nibble]   (rounded to fp32)
 * </pre>
 * Read-only here: llama-quantize writes these files.
 */
final class BlockIQ4_NL implements BlockFormat {
    static final BlockIQ4_NL INSTANCE = new BlockIQ4_NL();
    private static final int QK = 32, BYTES = 18;

    private BlockIQ4_NL() {}

    @Override public String name() { return "IQ4_NL"; }
    @Override public int blockElements() { return QK; }
    @Override public int blockBytes() { return BYTES; }

    @Override
    public float get(MemorySegment d, long e) {
        long b = e / QK * BYTES;
        int i = (int) (e % QK), by = u8(d, b + 2 + (i & 15));
        return f16(d, b) * IQ4_GRID[i < 16 ? by & 15 : by >>> 4];
    }

    /** Whole blocks as vectors (16 nibbles looked up in the grid by one shuffle), the ends of a range element by element. */
    @Override
    public void dequantize(MemorySegment d, long e, float[] dst, int off, int n) {
        int i = 0;
        while (i < n) {
            if (QVEC && (e + i) % QK == 0 && n - i >= QK) {
                long b = (e + i) / QK * BYTES;
                float scale = f16(d, b);
                ByteVector v = ByteVector.fromMemorySegment(B16, d, b + 2, LE);
                ByteVector lo = v.and((byte) 15).selectFrom(IQ4_TABLE), hi = v.lanewise(VectorOperators.LSHR, 4).selectFrom(IQ4_TABLE);
                for (int p = 0; p < P; p++) {
                    part(lo, p).mul(scale).intoArray(dst, off + i + p * L);
                    part(hi, p).mul(scale).intoArray(dst, off + i + 16 + p * L);
                }
                i += QK;
            } else {
                dst[off + i] = get(d, e + i);
                i++;
            }
        }
    }

    /** Per block one vector sum of grid[nibble]·x, scaled by d into the running sum. */
    @Override
    public float dot(float[] x, int xo, MemorySegment d, long b, int K) {
        if (!QVEC) return dotScalar(x, xo, d, b, K);
        FloatVector s = FloatVector.zero(S);
        for (int k = 0; k < K; k += QK, b += BYTES) {
            ByteVector v = ByteVector.fromMemorySegment(B16, d, b + 2, LE);
            ByteVector lo = v.and((byte) 15).selectFrom(IQ4_TABLE), hi = v.lanewise(VectorOperators.LSHR, 4).selectFrom(IQ4_TABLE);
            FloatVector a = FloatVector.zero(S);
            for (int p = 0; p < P; p++) {
                a = part(lo, p).fma(FloatVector.fromArray(S, x, xo + k + p * L), a);
                a = part(hi, p).fma(FloatVector.fromArray(S, x, xo + k + 16 + p * L), a);
            }
            s = a.fma(FloatVector.broadcast(S, f16(d, b)), s);
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

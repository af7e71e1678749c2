package dev.llamaadapter.tensor;

import java.lang.foreign.MemorySegment;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import static dev.llamaadapter.tensor.BlockVectors.B16;
import static dev.llamaadapter.tensor.BlockVectors.I16;
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
 * GGUF IQ4_XS, 136 bytes per super-block of 256 elements: IQ4_NL's non-linear grid
 * ({@link BlockVectors#IQ4_GRID}) with one fp16 scale per 256 and a signed 6-bit scale per sub-block of 32.
 * <pre>
 * bytes [0, 2)    d (fp16)
 *       [2, 4)    sh: a little-endian uint16, sub-block j's high 2 scale bits are (sh &gt;&gt; 2j) &amp; 3
 *       [4, 8)    sl[4]: sub-block j's low 4 scale bits are the low (j even) or high nibble of sl[j / 2]
 *       [8, 136)  qs[128]: sub-block j uses qs[16j .. 16j + 16): element l &lt; 16 the low nibble of qs[16j + l],
 *                 element 16 + l its high nibble
 * element = (d·(scale6 − 32))·grid[nibble]   (each product rounded to fp32)
 * </pre>
 * Read-only here: llama-quantize writes these files.
 */
final class BlockIQ4_XS implements BlockFormat {
    static final BlockIQ4_XS INSTANCE = new BlockIQ4_XS();
    private static final int QK = 256, BYTES = 136, SUB = 32;

    private BlockIQ4_XS() {}

    @Override public String name() { return "IQ4_XS"; }
    @Override public int blockElements() { return QK; }
    @Override public int blockBytes() { return BYTES; }

    /** Sub-block j's scale (−32 .. 31) in the super-block at b. */
    private static int scale(MemorySegment d, long b, int j) {
        int low = u8(d, b + 4 + j / 2) >>> 4 * (j & 1) & 15;
        int high = (d.get(I16, b + 2) & 0xffff) >>> 2 * j & 3;
        return (low | high << 4) - 32;
    }

    @Override
    public float get(MemorySegment d, long e) {
        long b = e / QK * BYTES;
        int i = (int) (e % QK), j = i / SUB, l = i % SUB, by = u8(d, b + 8 + 16 * j + (l & 15));
        return f16(d, b) * scale(d, b, j) * IQ4_GRID[l < 16 ? by & 15 : by >>> 4];
    }

    /** Whole sub-blocks of 32 as vectors (16 nibbles looked up in the grid by one shuffle), the ends of a range element by element. */
    @Override
    public void dequantize(MemorySegment d, long e, float[] dst, int off, int n) {
        int i = 0;
        while (i < n) {
            if (QVEC && (e + i) % SUB == 0 && n - i >= SUB) {
                long b = (e + i) / QK * BYTES;
                int j = (int) ((e + i) % QK) / SUB;
                float dl = f16(d, b) * scale(d, b, j);
                ByteVector v = ByteVector.fromMemorySegment(B16, d, b + 8 + 16 * j, LE);
                ByteVector lo = v.and((byte) 15).selectFrom(IQ4_TABLE), hi = v.lanewise(VectorOperators.LSHR, 4).selectFrom(IQ4_TABLE);
                for (int p = 0; p < P; p++) {
                    part(lo, p).mul(dl).intoArray(dst, off + i + p * L);
                    part(hi, p).mul(dl).intoArray(dst, off + i + 16 + p * L);
                }
                i += SUB;
            } else {
                dst[off + i] = get(d, e + i);
                i++;
            }
        }
    }

    /** Per sub-block of 32, Σ grid[nibble]·x as a vector sum, scaled by d·scale into the running sum. */
    @Override
    public float dot(float[] x, int xo, MemorySegment d, long b, int K) {
        if (!QVEC) return dotScalar(x, xo, d, b, K);
        FloatVector s = FloatVector.zero(S);
        for (int k = 0; k < K; k += QK, b += BYTES) {
            float dd = f16(d, b);
            for (int j = 0; j < QK / SUB; j++) {
                ByteVector v = ByteVector.fromMemorySegment(B16, d, b + 8 + 16 * j, LE);
                ByteVector lo = v.and((byte) 15).selectFrom(IQ4_TABLE), hi = v.lanewise(VectorOperators.LSHR, 4).selectFrom(IQ4_TABLE);
                int xj = xo + k + j * SUB;
                FloatVector a = FloatVector.zero(S);
                for (int p = 0; p < P; p++) {
                    a = part(lo, p).fma(FloatVector.fromArray(S, x, xj + p * L), a);
                    a = part(hi, p).fma(FloatVector.fromArray(S, x, xj + 16 + p * L), a);
                }
                s = a.fma(FloatVector.broadcast(S, dd * scale(d, b, j)), s);
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

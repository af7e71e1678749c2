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
 * GGUF Q2_K, 84 bytes per super-block of 256 elements, sixteen groups of 16 that each have a 4-bit scale and
 * a 4-bit min:
 * <pre>
 * bytes [0, 16)   sc[16]      group g: scale sc[g] &amp; 15, min sc[g] &gt;&gt; 4
 *       [16, 80)  qs[64]      2-bit quants, four to a byte
 *       [80, 82)  d    (fp16) scale of the scales
 *       [82, 84)  dmin (fp16) scale of the mins
 * element i = 128h + 32s + l (h &lt; 2, s &lt; 4, l &lt; 32):  q = (qs[32h + l] &gt;&gt; 2s) &amp; 3
 * element = (d·(sc &amp; 15))·q − dmin·(sc &gt;&gt; 4)   (each product rounded to fp32), sc = sc[i / 16]
 * </pre>
 * Read-only here: llama-quantize writes these files.
 */
final class BlockQ2_K implements BlockFormat {
    static final BlockQ2_K INSTANCE = new BlockQ2_K();
    private static final int QK = 256, BYTES = 84, GROUP = 16;

    private BlockQ2_K() {}

    @Override public String name() { return "Q2_K"; }
    @Override public int blockElements() { return QK; }
    @Override public int blockBytes() { return BYTES; }

    /** Byte (in the super-block) holding element i's quant; its shift is {@link #shift}. */
    private static int quantByte(int i) {
        return 16 + 32 * (i >> 7) + (i & 31);
    }

    private static int shift(int i) {
        return 2 * ((i >> 5) & 3);
    }

    @Override
    public float get(MemorySegment d, long e) {
        long b = e / QK * BYTES;
        int i = (int) (e % QK), sc = u8(d, b + i / GROUP);
        int q = u8(d, b + quantByte(i)) >>> shift(i) & 3;
        return f16(d, b + 80) * (sc & 15) * q - f16(d, b + 82) * (sc >>> 4);
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
                int g = (int) ((e + i) % QK) / GROUP, sc = u8(d, b + g);
                float dl = f16(d, b + 80) * (sc & 15), ml = f16(d, b + 82) * (sc >>> 4);
                int at = g * GROUP;
                ByteVector q = ByteVector.fromMemorySegment(B16, d, b + quantByte(at), LE).lanewise(VectorOperators.LSHR, shift(at)).and((byte) 3);
                for (int p = 0; p < P; p++) part(q, p).mul(dl).sub(ml).intoArray(dst, off + i + p * L);
                i += GROUP;
            } else {
                dst[off + i] = get(d, e + i);
                i++;
            }
        }
    }

    /**
     * Per group of 16, Σ q·x and Σ x as vector sums, then (d·scale)·Σq·x − (dmin·min)·Σx into the running
     * sum: the scales are applied once per 16 weights.
     */
    @Override
    public float dot(float[] x, int xo, MemorySegment d, long b, int K) {
        if (!QVEC) return dotScalar(x, xo, d, b, K);
        FloatVector s = FloatVector.zero(S);
        for (int k = 0; k < K; k += QK, b += BYTES) {
            float dd = f16(d, b + 80), dm = f16(d, b + 82);
            for (int g = 0; g < QK / GROUP; g++) {
                int at = g * GROUP; // the 16 quants (0 .. 3) of group g, written out here: see dequantize
                ByteVector q = ByteVector.fromMemorySegment(B16, d, b + quantByte(at), LE).lanewise(VectorOperators.LSHR, shift(at)).and((byte) 3);
                FloatVector a = FloatVector.zero(S), sx = a;
                for (int p = 0; p < P; p++) {
                    FloatVector xv = FloatVector.fromArray(S, x, xo + k + g * GROUP + p * L);
                    a = part(q, p).fma(xv, a);
                    sx = sx.add(xv);
                }
                int sc = u8(d, b + g);
                s = a.fma(FloatVector.broadcast(S, dd * (sc & 15)), s);
                s = sx.fma(FloatVector.broadcast(S, -(dm * (sc >>> 4))), s);
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

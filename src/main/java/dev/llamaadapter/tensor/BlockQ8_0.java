package dev.llamaadapter.tensor;

import java.lang.foreign.MemorySegment;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import static dev.llamaadapter.tensor.BlockVectors.I16;
import static dev.llamaadapter.tensor.BlockVectors.I8;
import static dev.llamaadapter.tensor.BlockVectors.L;
import static dev.llamaadapter.tensor.BlockVectors.LE;
import static dev.llamaadapter.tensor.BlockVectors.QVEC;
import static dev.llamaadapter.tensor.BlockVectors.S;
import static dev.llamaadapter.tensor.BlockVectors.SB;

/**
 * GGUF Q8_0, 34 bytes per 32 elements: d (fp16, little-endian), then q[0..31] as int8; element = q · d in
 * fp32. Quantising as llama.cpp's reference quantiser: d = max|x| / 127, q = x / d rounded to nearest,
 * halves away from zero.
 */
final class BlockQ8_0 implements BlockFormat {
    static final BlockQ8_0 INSTANCE = new BlockQ8_0();
    private static final int QK = 32, BYTES = 34;

    private BlockQ8_0() {}

    @Override public String name() { return "Q8_0"; }
    @Override public int blockElements() { return QK; }
    @Override public int blockBytes() { return BYTES; }

    @Override
    public float get(MemorySegment d, long e) {
        long bo = e / QK * BYTES;
        return d.get(I8, bo + 2 + e % QK) * BlockVectors.f16(d, bo);
    }

    /**
     * Whole blocks as vectors (q widened, times d), the parts of blocks that a range starting or ending
     * inside a block covers one by one; the same fp32 products either way.
     */
    @Override
    public void dequantize(MemorySegment d, long e, float[] dst, int off, int n) {
        int i = 0;
        while (i < n) {
            long b = (e + i) / QK * BYTES;
            int in = (int) ((e + i) % QK);
            float scale = Float.float16ToFloat(d.get(I16, b));
            if (QVEC && in == 0 && n - i >= QK) {
                for (int j = 0; j < QK; j += L)
                    ((FloatVector) ByteVector.fromMemorySegment(SB, d, b + 2 + j, LE).convertShape(VectorOperators.B2F, S, 0))
                            .mul(scale).intoArray(dst, off + i + j);
                i += QK;
            } else {
                for (int c = in, end = Math.min(QK, in + n - i); c < end; c++, i++) dst[off + i] = d.get(I8, b + 2 + c) * scale;
            }
        }
    }

    /**
     * Per block, the 32 quants widened to fp32 are dotted with x in one vector sum, which is then scaled by
     * the block's d into the running sum (one multiply per block rather than per weight).
     */
    @Override
    public float dot(float[] x, int xo, MemorySegment d, long b, int K) {
        if (!QVEC) return dotScalar(x, xo, d, b, K);
        FloatVector s = FloatVector.zero(S);
        for (int k = 0; k < K; k += QK, b += BYTES) {
            FloatVector scale = FloatVector.broadcast(S, Float.float16ToFloat(d.get(I16, b)));
            FloatVector a = FloatVector.zero(S);
            for (int j = 0; j < QK; j += L) {
                FloatVector q = (FloatVector) ByteVector.fromMemorySegment(SB, d, b + 2 + j, LE).convertShape(VectorOperators.B2F, S, 0);
                a = q.fma(FloatVector.fromArray(S, x, xo + k + j), a);
            }
            s = a.fma(scale, s);
        }
        return Vec.sum(s);
    }

    /** Two rows side by side (two memory streams), each in {@link #dot}'s order. */
    @Override
    public void dot2(float[] x, MemorySegment d, long b1, long b2, int K, float[] out) {
        if (!QVEC) {
            BlockFormat.super.dot2(x, d, b1, b2, K, out);
            return;
        }
        FloatVector s1 = FloatVector.zero(S), s2 = s1;
        for (int k = 0; k < K; k += QK, b1 += BYTES, b2 += BYTES) {
            FloatVector a1 = FloatVector.zero(S), a2 = a1;
            for (int j = 0; j < QK; j += L) {
                FloatVector xv = FloatVector.fromArray(S, x, k + j);
                a1 = ((FloatVector) ByteVector.fromMemorySegment(SB, d, b1 + 2 + j, LE).convertShape(VectorOperators.B2F, S, 0)).fma(xv, a1);
                a2 = ((FloatVector) ByteVector.fromMemorySegment(SB, d, b2 + 2 + j, LE).convertShape(VectorOperators.B2F, S, 0)).fma(xv, a2);
            }
            s1 = a1.fma(FloatVector.broadcast(S, Float.float16ToFloat(d.get(I16, b1))), s1);
            s2 = a2.fma(FloatVector.broadcast(S, Float.float16ToFloat(d.get(I16, b2))), s2);
        }
        out[0] = Vec.sum(s1);
        out[1] = Vec.sum(s2);
    }

    /** As {@link #dot} for four activation rows: each block's quants are widened once and used four times. */
    @Override
    public void dot4(float[] x, int[] r, MemorySegment d, long b, int K, float[] out) {
        if (!QVEC) {
            BlockFormat.super.dot4(x, r, d, b, K, out);
            return;
        }
        int x0 = r[0], x1 = r[1], x2 = r[2], x3 = r[3];
        FloatVector s0 = FloatVector.zero(S), s1 = s0, s2 = s0, s3 = s0;
        for (int k = 0; k < K; k += QK, b += BYTES) {
            FloatVector scale = FloatVector.broadcast(S, Float.float16ToFloat(d.get(I16, b)));
            FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
            for (int j = 0; j < QK; j += L) {
                FloatVector q = (FloatVector) ByteVector.fromMemorySegment(SB, d, b + 2 + j, LE).convertShape(VectorOperators.B2F, S, 0);
                a0 = q.fma(FloatVector.fromArray(S, x, x0 + k + j), a0);
                a1 = q.fma(FloatVector.fromArray(S, x, x1 + k + j), a1);
                a2 = q.fma(FloatVector.fromArray(S, x, x2 + k + j), a2);
                a3 = q.fma(FloatVector.fromArray(S, x, x3 + k + j), a3);
            }
            s0 = a0.fma(scale, s0);
            s1 = a1.fma(scale, s1);
            s2 = a2.fma(scale, s2);
            s3 = a3.fma(scale, s3);
        }
        RowStream.sums(out, s0, s1, s2, s3);
    }

    /** Without vectors of bytes (fewer than 8 float lanes): per block Σ q·x, then times d. */
    private static float dotScalar(float[] x, int xo, MemorySegment d, long b, int K) {
        float s = 0;
        for (int k = 0; k < K; k += QK, b += BYTES) {
            float scale = Float.float16ToFloat(d.get(I16, b)), a = 0;
            for (int j = 0; j < QK; j++) a += d.get(I8, b + 2 + j) * x[xo + k + j];
            s += a * scale;
        }
        return s;
    }

    @Override
    public boolean canQuantize() {
        return true;
    }

    @Override
    public void quantize(float[] src, int so, int n, MemorySegment dst, long dstOff) {
        if (n % QK != 0) throw new IllegalArgumentException(n + " values are not whole blocks of " + QK);
        for (int blk = 0; blk < n / QK; blk++) {
            int s = so + blk * QK;
            long bo = dstOff + (long) blk * BYTES;
            float amax = 0;
            for (int i = 0; i < QK; i++) amax = Math.max(amax, Math.abs(src[s + i]));
            float scale = amax / 127f, inv = scale != 0 ? 1f / scale : 0f;
            dst.set(I16, bo, Float.floatToFloat16(scale));
            for (int i = 0; i < QK; i++) { // round half away from zero, as C's roundf
                float v = src[s + i] * inv;
                dst.set(I8, bo + 2 + i, (byte) (v < 0 ? -Math.round(-v) : Math.round(v)));
            }
        }
    }
}

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
 * GGUF Q4_0, 18 bytes per 32 elements: d (fp16), then 16 bytes; byte i holds element i in its low nibble
 * and element 16 + i in its high nibble, as an unsigned nibble u; element = (u − 8) · d. Quantising as
 * llama.cpp's reference: the element m of largest magnitude gives d = m / −8 and u = min(15, trunc(x / d + 8.5)),
 * so m itself is exactly −8·d and the other end of the range is clipped at 7·d.
 */
final class BlockQ4_0 implements BlockFormat {
    static final BlockQ4_0 INSTANCE = new BlockQ4_0();
    private static final int QK = 32, BYTES = 18;

    private BlockQ4_0() {}

    @Override public String name() { return "Q4_0"; }
    @Override public int blockElements() { return QK; }
    @Override public int blockBytes() { return BYTES; }

    @Override
    public float get(MemorySegment d, long e) {
        long bo = e / QK * BYTES;
        int i = (int) (e % QK);
        int by = d.get(I8, bo + 2 + (i & 15)) & 0xff;
        return ((i < 16 ? by & 15 : by >>> 4) - 8) * BlockVectors.f16(d, bo);
    }

    @Override
    public void dequantize(MemorySegment d, long e, float[] dst, int off, int n) {
        int i = 0;
        while (i < n) {
            long b = (e + i) / QK * BYTES;
            int in = (int) ((e + i) % QK);
            float scale = Float.float16ToFloat(d.get(I16, b));
            if (QVEC && in == 0 && n - i >= QK) {
                for (int j = 0; j < QK / 2; j += L) {
                    ByteVector v = ByteVector.fromMemorySegment(SB, d, b + 2 + j, LE);
                    ((FloatVector) v.and((byte) 15).sub((byte) 8).convertShape(VectorOperators.B2F, S, 0))
                            .mul(scale).intoArray(dst, off + i + j);
                    ((FloatVector) v.lanewise(VectorOperators.LSHR, 4).sub((byte) 8).convertShape(VectorOperators.B2F, S, 0))
                            .mul(scale).intoArray(dst, off + i + QK / 2 + j);
                }
                i += QK;
            } else {
                for (int c = in, end = Math.min(QK, in + n - i); c < end; c++, i++) {
                    int by = d.get(I8, b + 2 + (c & 15)) & 0xff;
                    dst[off + i] = ((c < 16 ? by & 15 : by >>> 4) - 8) * scale;
                }
            }
        }
    }

    /** As Q8_0's dot: per block one vector sum of (u − 8)·x, scaled by d into the running sum. */
    @Override
    public float dot(float[] x, int xo, MemorySegment d, long b, int K) {
        if (!QVEC) return dotScalar(x, xo, d, b, K);
        FloatVector s = FloatVector.zero(S);
        for (int k = 0; k < K; k += QK, b += BYTES) {
            FloatVector scale = FloatVector.broadcast(S, Float.float16ToFloat(d.get(I16, b)));
            FloatVector a = FloatVector.zero(S);
            for (int j = 0; j < QK / 2; j += L) {
                ByteVector v = ByteVector.fromMemorySegment(SB, d, b + 2 + j, LE);
                FloatVector lo = (FloatVector) v.and((byte) 15).sub((byte) 8).convertShape(VectorOperators.B2F, S, 0);
                FloatVector hi = (FloatVector) v.lanewise(VectorOperators.LSHR, 4).sub((byte) 8).convertShape(VectorOperators.B2F, S, 0);
                a = lo.fma(FloatVector.fromArray(S, x, xo + k + j), a);
                a = hi.fma(FloatVector.fromArray(S, x, xo + k + QK / 2 + j), a);
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
            for (int j = 0; j < QK / 2; j += L) {
                FloatVector xl = FloatVector.fromArray(S, x, k + j), xh = FloatVector.fromArray(S, x, k + QK / 2 + j);
                ByteVector v1 = ByteVector.fromMemorySegment(SB, d, b1 + 2 + j, LE), v2 = ByteVector.fromMemorySegment(SB, d, b2 + 2 + j, LE);
                a1 = ((FloatVector) v1.and((byte) 15).sub((byte) 8).convertShape(VectorOperators.B2F, S, 0)).fma(xl, a1);
                a2 = ((FloatVector) v2.and((byte) 15).sub((byte) 8).convertShape(VectorOperators.B2F, S, 0)).fma(xl, a2);
                a1 = ((FloatVector) v1.lanewise(VectorOperators.LSHR, 4).sub((byte) 8).convertShape(VectorOperators.B2F, S, 0)).fma(xh, a1);
                a2 = ((FloatVector) v2.lanewise(VectorOperators.LSHR, 4).sub((byte) 8).convertShape(VectorOperators.B2F, S, 0)).fma(xh, a2);
            }
            s1 = a1.fma(FloatVector.broadcast(S, Float.float16ToFloat(d.get(I16, b1))), s1);
            s2 = a2.fma(FloatVector.broadcast(S, Float.float16ToFloat(d.get(I16, b2))), s2);
        }
        out[0] = Vec.sum(s1);
        out[1] = Vec.sum(s2);
    }

    /** As {@link #dot} for four activation rows: each block's nibbles are unpacked once and used four times. */
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
            for (int j = 0; j < QK / 2; j += L) {
                ByteVector v = ByteVector.fromMemorySegment(SB, d, b + 2 + j, LE);
                FloatVector lo = (FloatVector) v.and((byte) 15).sub((byte) 8).convertShape(VectorOperators.B2F, S, 0);
                FloatVector hi = (FloatVector) v.lanewise(VectorOperators.LSHR, 4).sub((byte) 8).convertShape(VectorOperators.B2F, S, 0);
                int kl = k + j, kh = k + QK / 2 + j;
                a0 = hi.fma(FloatVector.fromArray(S, x, x0 + kh), lo.fma(FloatVector.fromArray(S, x, x0 + kl), a0));
                a1 = hi.fma(FloatVector.fromArray(S, x, x1 + kh), lo.fma(FloatVector.fromArray(S, x, x1 + kl), a1));
                a2 = hi.fma(FloatVector.fromArray(S, x, x2 + kh), lo.fma(FloatVector.fromArray(S, x, x2 + kl), a2));
                a3 = hi.fma(FloatVector.fromArray(S, x, x3 + kh), lo.fma(FloatVector.fromArray(S, x, x3 + kl), a3));
            }
            s0 = a0.fma(scale, s0);
            s1 = a1.fma(scale, s1);
            s2 = a2.fma(scale, s2);
            s3 = a3.fma(scale, s3);
        }
        RowStream.sums(out, s0, s1, s2, s3);
    }

    private static float dotScalar(float[] x, int xo, MemorySegment d, long b, int K) {
        float s = 0;
        for (int k = 0; k < K; k += QK, b += BYTES) {
            float scale = Float.float16ToFloat(d.get(I16, b)), a = 0;
            for (int j = 0; j < QK; j++) a += (((d.get(I8, b + 2 + (j & 15)) & 0xff) >>> (j < 16 ? 0 : 4) & 15) - 8) * x[xo + k + j];
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
            float amax = 0, max = 0;
            for (int i = 0; i < QK; i++) {
                float v = src[s + i];
                if (Math.abs(v) > amax) {
                    amax = Math.abs(v);
                    max = v;
                }
            }
            float scale = max / -8f, inv = scale != 0 ? 1f / scale : 0f;
            dst.set(I16, bo, Float.floatToFloat16(scale));
            for (int i = 0; i < QK / 2; i++) {
                int lo = Math.min(15, (int) (src[s + i] * inv + 8.5f));
                int hi = Math.min(15, (int) (src[s + QK / 2 + i] * inv + 8.5f));
                dst.set(I8, bo + 2 + i, (byte) (Math.max(0, lo) | Math.max(0, hi) << 4));
            }
        }
    }
}

package dev.llamaadapter.tensor;

import java.lang.foreign.MemorySegment;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

import static dev.llamaadapter.tensor.BlockVectors.L;
import static dev.llamaadapter.tensor.BlockVectors.LE;
import static dev.llamaadapter.tensor.BlockVectors.QVEC;
import static dev.llamaadapter.tensor.BlockVectors.S;
import static dev.llamaadapter.tensor.BlockVectors.SB;
import static dev.llamaadapter.tensor.BlockVectors.f16;
import static dev.llamaadapter.tensor.BlockVectors.u8;

/**
 * GGUF Q4_K, 144 bytes per super-block of 256 elements, eight sub-blocks of 32 that each have a 6-bit scale
 * sc and a 6-bit min m:
 * <pre>
 * bytes [0, 2)    d    (fp16)   scale of the scales
 *       [2, 4)    dmin (fp16)   scale of the mins
 *       [4, 16)   s[12]         the 8 (sc, m) pairs, packed:
 *                               j &lt; 4:  sc = s[j] &amp; 63,                          m = s[j+4] &amp; 63
 *                               j ≥ 4:  sc = (s[j+4] &amp; 15) | (s[j-4] &gt;&gt; 6) &lt;&lt; 4,   m = (s[j+4] &gt;&gt; 4) | (s[j] &gt;&gt; 6) &lt;&lt; 4
 *       [16, 144) qs[128]       4-bit quants: sub-blocks 2c and 2c+1 share the 32 bytes qs[32c ..]:
 *                               element l of sub-block 2c is the low nibble of qs[32c + l], of 2c+1 the high one
 * element = (d·sc)·q − dmin·m   (each product rounded to fp32, as ggml and gguf-py compute it)
 * </pre>
 * Quantising: per sub-block a weighted least-squares search for (scale, min) over levels 0 .. 15, then the
 * 6-bit header ({@link KScales#quantize}); llama.cpp's non-imatrix method, the same round-trip error.
 */
final class BlockQ4_K implements BlockFormat {
    static final BlockQ4_K INSTANCE = new BlockQ4_K();
    private static final int QK = 256, BYTES = 144, SUB = 32;

    private BlockQ4_K() {}

    @Override public String name() { return "Q4_K"; }
    @Override public int blockElements() { return QK; }
    @Override public int blockBytes() { return BYTES; }

    /** Sub-block j's 6-bit scale, from the super-block at byte b (the header is {@link KScales}'). */
    private static int scale(MemorySegment d, long b, int j) {
        return KScales.scale(d, b, j);
    }

    /** Sub-block j's 6-bit min. */
    private static int min(MemorySegment d, long b, int j) {
        return KScales.min(d, b, j);
    }

    /** Byte offset (in the super-block) of the byte holding element l of sub-block j, and the nibble's shift. */
    private static long quantByte(int j, int l) {
        return 16 + 32 * (j >> 1) + l;
    }

    @Override
    public float get(MemorySegment d, long e) {
        long b = e / QK * BYTES;
        int i = (int) (e % QK), j = i / SUB;
        float d1 = f16(d, b) * scale(d, b, j), m1 = f16(d, b + 2) * min(d, b, j);
        int q = u8(d, b + quantByte(j, i % SUB)) >>> (4 * (j & 1)) & 15;
        return d1 * q - m1;
    }

    /** Whole sub-blocks as vectors (nibbles widened, times d·sc, minus dmin·m), partial ones element by element. */
    @Override
    public void dequantize(MemorySegment d, long e, float[] dst, int off, int n) {
        int i = 0;
        while (i < n) {
            long b = (e + i) / QK * BYTES;
            int in = (int) ((e + i) % QK), j = in / SUB, l = in % SUB;
            float d1 = f16(d, b) * scale(d, b, j), m1 = f16(d, b + 2) * min(d, b, j);
            long qb = b + quantByte(j, 0);
            int shift = 4 * (j & 1);
            if (QVEC && l == 0 && n - i >= SUB) {
                for (int u = 0; u < SUB; u += L) {
                    ByteVector v = ByteVector.fromMemorySegment(SB, d, qb + u, LE);
                    v = shift == 0 ? v.and((byte) 15) : v.lanewise(VectorOperators.LSHR, 4);
                    ((FloatVector) v.convertShape(VectorOperators.B2F, S, 0)).mul(d1).sub(m1).intoArray(dst, off + i + u);
                }
                i += SUB;
            } else {
                for (int end = Math.min(SUB, l + n - i); l < end; l++, i++) dst[off + i] = d1 * (u8(d, qb + l) >>> shift & 15) - m1;
            }
        }
    }

    /**
     * Per sub-block, Σ q·x and Σ x as vector sums, then (d·sc)·Σq·x − (dmin·m)·Σx into the running sum: the
     * scales are applied once per 32 weights.
     */
    @Override
    public float dot(float[] x, int xo, MemorySegment d, long b, int K) {
        if (!QVEC) return dotScalar(x, xo, d, b, K);
        FloatVector s = FloatVector.zero(S);
        for (int k = 0; k < K; k += QK, b += BYTES) {
            float dd = f16(d, b), dm = f16(d, b + 2);
            for (int j = 0; j < QK / SUB; j++) {
                long qb = b + quantByte(j, 0);
                int xj = xo + k + j * SUB;
                FloatVector a = FloatVector.zero(S), sx = a;
                for (int u = 0; u < SUB; u += L) {
                    ByteVector v = ByteVector.fromMemorySegment(SB, d, qb + u, LE);
                    v = (j & 1) == 0 ? v.and((byte) 15) : v.lanewise(VectorOperators.LSHR, 4);
                    FloatVector xv = FloatVector.fromArray(S, x, xj + u);
                    a = ((FloatVector) v.convertShape(VectorOperators.B2F, S, 0)).fma(xv, a);
                    sx = sx.add(xv);
                }
                s = a.fma(FloatVector.broadcast(S, dd * scale(d, b, j)), s);
                s = sx.fma(FloatVector.broadcast(S, -(dm * min(d, b, j))), s);
            }
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
            float dd1 = f16(d, b1), dm1 = f16(d, b1 + 2), dd2 = f16(d, b2), dm2 = f16(d, b2 + 2);
            for (int j = 0; j < QK / SUB; j++) {
                long q1 = b1 + quantByte(j, 0), q2 = b2 + quantByte(j, 0);
                int xj = k + j * SUB;
                FloatVector a1 = FloatVector.zero(S), a2 = a1, sx = a1;
                for (int u = 0; u < SUB; u += L) {
                    ByteVector v1 = ByteVector.fromMemorySegment(SB, d, q1 + u, LE), v2 = ByteVector.fromMemorySegment(SB, d, q2 + u, LE);
                    if ((j & 1) == 0) {
                        v1 = v1.and((byte) 15);
                        v2 = v2.and((byte) 15);
                    } else {
                        v1 = v1.lanewise(VectorOperators.LSHR, 4);
                        v2 = v2.lanewise(VectorOperators.LSHR, 4);
                    }
                    FloatVector xv = FloatVector.fromArray(S, x, xj + u);
                    a1 = ((FloatVector) v1.convertShape(VectorOperators.B2F, S, 0)).fma(xv, a1);
                    a2 = ((FloatVector) v2.convertShape(VectorOperators.B2F, S, 0)).fma(xv, a2);
                    sx = sx.add(xv);
                }
                s1 = sx.fma(FloatVector.broadcast(S, -(dm1 * min(d, b1, j))), a1.fma(FloatVector.broadcast(S, dd1 * scale(d, b1, j)), s1));
                s2 = sx.fma(FloatVector.broadcast(S, -(dm2 * min(d, b2, j))), a2.fma(FloatVector.broadcast(S, dd2 * scale(d, b2, j)), s2));
            }
        }
        out[0] = Vec.sum(s1);
        out[1] = Vec.sum(s2);
    }

    /** As {@link #dot} for four activation rows: each sub-block's nibbles are widened once and used four times. */
    @Override
    public void dot4(float[] x, int[] r, MemorySegment d, long b, int K, float[] out) {
        if (!QVEC) {
            BlockFormat.super.dot4(x, r, d, b, K, out);
            return;
        }
        int x0 = r[0], x1 = r[1], x2 = r[2], x3 = r[3];
        FloatVector s0 = FloatVector.zero(S), s1 = s0, s2 = s0, s3 = s0;
        for (int k = 0; k < K; k += QK, b += BYTES) {
            float dd = f16(d, b), dm = f16(d, b + 2);
            for (int j = 0; j < QK / SUB; j++) {
                long qb = b + quantByte(j, 0);
                int xj = k + j * SUB;
                FloatVector z = FloatVector.zero(S);
                FloatVector a0 = z, a1 = z, a2 = z, a3 = z, t0 = z, t1 = z, t2 = z, t3 = z;
                for (int u = 0; u < SUB; u += L) {
                    ByteVector v = ByteVector.fromMemorySegment(SB, d, qb + u, LE);
                    v = (j & 1) == 0 ? v.and((byte) 15) : v.lanewise(VectorOperators.LSHR, 4);
                    FloatVector q = (FloatVector) v.convertShape(VectorOperators.B2F, S, 0);
                    FloatVector y0 = FloatVector.fromArray(S, x, x0 + xj + u), y1 = FloatVector.fromArray(S, x, x1 + xj + u);
                    FloatVector y2 = FloatVector.fromArray(S, x, x2 + xj + u), y3 = FloatVector.fromArray(S, x, x3 + xj + u);
                    a0 = q.fma(y0, a0); t0 = t0.add(y0);
                    a1 = q.fma(y1, a1); t1 = t1.add(y1);
                    a2 = q.fma(y2, a2); t2 = t2.add(y2);
                    a3 = q.fma(y3, a3); t3 = t3.add(y3);
                }
                FloatVector sc = FloatVector.broadcast(S, dd * scale(d, b, j)), mn = FloatVector.broadcast(S, -(dm * min(d, b, j)));
                s0 = t0.fma(mn, a0.fma(sc, s0));
                s1 = t1.fma(mn, a1.fma(sc, s1));
                s2 = t2.fma(mn, a2.fma(sc, s2));
                s3 = t3.fma(mn, a3.fma(sc, s3));
            }
        }
        RowStream.sums(out, s0, s1, s2, s3);
    }

    private static float dotScalar(float[] x, int xo, MemorySegment d, long b, int K) {
        float s = 0;
        for (int k = 0; k < K; k += QK, b += BYTES) {
            float dd = f16(d, b), dm = f16(d, b + 2);
            for (int j = 0; j < QK / SUB; j++) {
                float a = 0, sx = 0;
                for (int l = 0; l < SUB; l++) {
                    float xv = x[xo + k + j * SUB + l];
                    a += (u8(d, b + quantByte(j, l)) >>> (4 * (j & 1)) & 15) * xv;
                    sx += xv;
                }
                s += dd * scale(d, b, j) * a - dm * min(d, b, j) * sx;
            }
        }
        return s;
    }

    @Override
    public boolean canQuantize() {
        return true;
    }

    /** Levels from {@link KScales#quantize} (search fan: 21 candidates from nmax − 1 step 0.1), packed two per byte. */
    @Override
    public void quantize(float[] src, int so, int n, MemorySegment dst, long dstOff) {
        if (n % QK != 0) throw new IllegalArgumentException(n + " values are not whole super-blocks of " + QK);
        byte[] levels = new byte[QK]; // [256] one super-block's levels 0 .. 15
        for (int blk = 0; blk < n / QK; blk++) {
            long b = dstOff + (long) blk * BYTES;
            KScales.quantize(src, so + blk * QK, 15, -1f, 0.1f, 20, dst, b, levels);
            for (int j = 0; j < QK / SUB; j += 2)
                for (int l = 0; l < SUB; l++)
                    dst.set(BlockVectors.I8, b + quantByte(j, l), (byte) (levels[j * SUB + l] | levels[(j + 1) * SUB + l] << 4));
        }
    }
}

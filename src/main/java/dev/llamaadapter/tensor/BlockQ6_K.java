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
 * GGUF Q6_K, 210 bytes per super-block of 256 elements, sixteen groups of 16 that each have an int8 scale:
 * <pre>
 * bytes [0, 128)   ql[128]    low 4 bits of each quant
 *       [128, 192) qh[64]     high 2 bits
 *       [192, 208) sc[16]     int8 scales, sc[i / 16] for element i
 *       [208, 210) d (fp16)
 * element i = 128h + 32g + l (h &lt; 2, g &lt; 4, l &lt; 32):
 *       low  = ql[64h + 32·(g &amp; 1) + l], its low nibble for g &lt; 2, its high nibble for g ≥ 2
 *       high = (qh[32h + l] &gt;&gt; 2g) &amp; 3
 *       q = (low | high &lt;&lt; 4) − 32,   element = (d·sc[i / 16])·q   (each product rounded to fp32)
 * </pre>
 * Quantising: per group of 16 a weighted (x²) least-squares search for its scale over levels −32 .. 31
 * ({@link KQuantSearch#symmetric}), then the sixteen scales as int8 multiples of d = −(largest)/128 and the
 * levels re-rounded against the scales as stored: llama.cpp's non-imatrix method, the same round-trip error.
 */
final class BlockQ6_K implements BlockFormat {
    static final BlockQ6_K INSTANCE = new BlockQ6_K();
    private static final int QK = 256, BYTES = 210, GROUP = 16;

    private BlockQ6_K() {}

    @Override public String name() { return "Q6_K"; }
    @Override public int blockElements() { return QK; }
    @Override public int blockBytes() { return BYTES; }

    /** d · sc[group] for the super-block at byte b. */
    private static float groupScale(MemorySegment d, long b, int group) {
        return f16(d, b + 208) * d.get(I8, b + 192 + group);
    }

    /** The quant (−32 .. 31) of element i of the super-block at byte b. */
    private static int quant(MemorySegment d, long b, int i) {
        int h = i >> 7, g = (i >> 5) & 3, l = i & 31;
        int low = u8(d, b + 64 * h + 32 * (g & 1) + l) >>> (4 * (g >> 1)) & 15;
        int high = u8(d, b + 128 + 32 * h + l) >>> (2 * g) & 3;
        return (low | high << 4) - 32;
    }

    @Override
    public float get(MemorySegment d, long e) {
        long b = e / QK * BYTES;
        int i = (int) (e % QK);
        return groupScale(d, b, i / GROUP) * quant(d, b, i);
    }

    /** The L quants of elements i .. i + L (within one group of 32) as fp32 lanes. */
    private static FloatVector quants(MemorySegment d, long b, int i) {
        int h = i >> 7, g = (i >> 5) & 3, l = i & 31;
        ByteVector lo = ByteVector.fromMemorySegment(SB, d, b + 64 * h + 32 * (g & 1) + l, LE);
        lo = g < 2 ? lo.and((byte) 15) : lo.lanewise(VectorOperators.LSHR, 4);
        ByteVector hi = ByteVector.fromMemorySegment(SB, d, b + 128 + 32 * h + l, LE)
                .lanewise(VectorOperators.LSHR, 2 * g).and((byte) 3).lanewise(VectorOperators.LSHL, 4);
        return (FloatVector) lo.or(hi).sub((byte) 32).convertShape(VectorOperators.B2F, S, 0);
    }

    /** Whole groups of 16 as vectors (quants times d·sc), partial ones element by element. */
    @Override
    public void dequantize(MemorySegment d, long e, float[] dst, int off, int n) {
        int i = 0;
        while (i < n) {
            long b = (e + i) / QK * BYTES;
            int in = (int) ((e + i) % QK), l = in % GROUP;
            float ds = groupScale(d, b, in / GROUP);
            if (QVEC && l == 0 && n - i >= GROUP) {
                for (int u = 0; u < GROUP; u += L) quants(d, b, in + u).mul(ds).intoArray(dst, off + i + u);
                i += GROUP;
            } else {
                for (int end = Math.min(GROUP, l + n - i); l < end; l++, i++, in++) dst[off + i] = ds * quant(d, b, in);
            }
        }
    }

    /** Per group of 16, Σ q·x as a vector sum, scaled by d·sc into the running sum. */
    @Override
    public float dot(float[] x, int xo, MemorySegment d, long b, int K) {
        if (!QVEC) return dotScalar(x, xo, d, b, K);
        FloatVector s = FloatVector.zero(S);
        for (int k = 0; k < K; k += QK, b += BYTES) {
            float dd = f16(d, b + 208); // the super-block's d, read once for its 16 groups
            for (int grp = 0; grp < QK / GROUP; grp++) {
                FloatVector a = FloatVector.zero(S);
                for (int u = 0; u < GROUP; u += L) {
                    int i = grp * GROUP + u;
                    a = quants(d, b, i).fma(FloatVector.fromArray(S, x, xo + k + i), a);
                }
                s = a.fma(FloatVector.broadcast(S, dd * d.get(I8, b + 192 + grp)), s);
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
            float dd1 = f16(d, b1 + 208), dd2 = f16(d, b2 + 208);
            for (int grp = 0; grp < QK / GROUP; grp++) {
                FloatVector a1 = FloatVector.zero(S), a2 = a1;
                for (int u = 0; u < GROUP; u += L) {
                    int i = grp * GROUP + u;
                    FloatVector xv = FloatVector.fromArray(S, x, k + i);
                    a1 = quants(d, b1, i).fma(xv, a1);
                    a2 = quants(d, b2, i).fma(xv, a2);
                }
                s1 = a1.fma(FloatVector.broadcast(S, dd1 * d.get(I8, b1 + 192 + grp)), s1);
                s2 = a2.fma(FloatVector.broadcast(S, dd2 * d.get(I8, b2 + 192 + grp)), s2);
            }
        }
        out[0] = Vec.sum(s1);
        out[1] = Vec.sum(s2);
    }

    /** As {@link #dot} for four activation rows: each group's 6-bit quants are assembled once and used four times. */
    @Override
    public void dot4(float[] x, int[] r, MemorySegment d, long b, int K, float[] out) {
        if (!QVEC) {
            BlockFormat.super.dot4(x, r, d, b, K, out);
            return;
        }
        int x0 = r[0], x1 = r[1], x2 = r[2], x3 = r[3];
        FloatVector s0 = FloatVector.zero(S), s1 = s0, s2 = s0, s3 = s0;
        for (int k = 0; k < K; k += QK, b += BYTES) {
            float dd = f16(d, b + 208);
            for (int grp = 0; grp < QK / GROUP; grp++) {
                FloatVector a0 = FloatVector.zero(S), a1 = a0, a2 = a0, a3 = a0;
                for (int u = 0; u < GROUP; u += L) {
                    int i = grp * GROUP + u;
                    FloatVector q = quants(d, b, i);
                    a0 = q.fma(FloatVector.fromArray(S, x, x0 + k + i), a0);
                    a1 = q.fma(FloatVector.fromArray(S, x, x1 + k + i), a1);
                    a2 = q.fma(FloatVector.fromArray(S, x, x2 + k + i), a2);
                    a3 = q.fma(FloatVector.fromArray(S, x, x3 + k + i), a3);
                }
                FloatVector sc = FloatVector.broadcast(S, dd * d.get(I8, b + 192 + grp));
                s0 = a0.fma(sc, s0);
                s1 = a1.fma(sc, s1);
                s2 = a2.fma(sc, s2);
                s3 = a3.fma(sc, s3);
            }
        }
        RowStream.sums(out, s0, s1, s2, s3);
    }

    private static float dotScalar(float[] x, int xo, MemorySegment d, long b, int K) {
        float s = 0;
        for (int k = 0; k < K; k += QK, b += BYTES)
            for (int grp = 0; grp < QK / GROUP; grp++) {
                float a = 0;
                for (int i = grp * GROUP; i < (grp + 1) * GROUP; i++) a += quant(d, b, i) * x[xo + k + i];
                s += groupScale(d, b, grp) * a;
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
        byte[] levels = new byte[QK];             // [256] level + 32, 0 .. 63
        float[] scales = new float[QK / GROUP];   // [16] each group's own scale
        for (int blk = 0; blk < n / QK; blk++) {
            int x = so + blk * QK;
            long b = dstOff + (long) blk * BYTES;
            float maxScale = 0, maxAbs = 0;
            for (int g = 0; g < QK / GROUP; g++) {
                scales[g] = KQuantSearch.symmetric(src, x + g * GROUP, GROUP, 32, levels, g * GROUP);
                if (Math.abs(scales[g]) > maxAbs) {
                    maxAbs = Math.abs(scales[g]);
                    maxScale = scales[g];
                }
            }
            if (maxAbs < KQuantSearch.GROUP_EPS) { // all zero: d = 0 and any levels
                dst.asSlice(b, BYTES).fill((byte) 0);
                continue;
            }
            // the scale of largest magnitude becomes int8 −128, the only int8 without a positive twin
            float iscale = -128f / maxScale;
            dst.set(BlockVectors.I16, b + 208, Float.floatToFloat16(1 / iscale));
            for (int g = 0; g < QK / GROUP; g++)
                dst.set(I8, b + 192 + g, (byte) Math.min(127, KQuantSearch.nearest(iscale * scales[g])));
            float dd = f16(dst, b + 208);
            for (int g = 0; g < QK / GROUP; g++) {
                float ds = dd * dst.get(I8, b + 192 + g);
                if (ds == 0) continue;
                for (int i = g * GROUP; i < (g + 1) * GROUP; i++)
                    levels[i] = (byte) (32 + Math.max(-32, Math.min(31, KQuantSearch.nearest(src[x + i] / ds))));
            }
            for (int i = 0; i < 128; i++) { dst.set(I8, b + i, (byte) 0); }
            for (int i = 0; i < 64; i++) { dst.set(I8, b + 128 + i, (byte) 0); }
            for (int i = 0; i < QK; i++) { // element i = 128h + 32g + l: see the layout above
                int h = i >> 7, g = (i >> 5) & 3, l = i & 31, q = levels[i];
                long lo = b + 64 * h + 32 * (g & 1) + l, hi = b + 128 + 32 * h + l;
                dst.set(I8, lo, (byte) (u8(dst, lo) | (q & 15) << (4 * (g >> 1))));
                dst.set(I8, hi, (byte) (u8(dst, hi) | (q >> 4) << (2 * g)));
            }
        }
    }
}

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
 * Read-only here: llama-quantize writes these files.
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
}

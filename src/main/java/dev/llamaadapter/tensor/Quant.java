package dev.llamaadapter.tensor;

import java.lang.foreign.MemorySegment;

/**
 * Entry points for the block-quantised types by {@link DType}: each call goes to the type's
 * {@link BlockFormat} (Q8_0, Q4_0, Q4_K, Q6_K, ...), which holds the layout and the code; this class only keeps
 * the callers that name a dtype short. Quantising is implemented where the format has a quantiser (Q8_0, Q4_0, Q4_K, Q5_K, Q6_K: see {@link BlockFormat#canQuantize}).
 */
public final class Quant {
    private Quant() {}

    /** Elements per block of Q8_0 and Q4_0 (the K-quants' super-blocks hold 256: use {@link DType#blockSize}). */
    public static final int QK = 32;

    /** Checks that a row of {@code cols} elements is whole blocks of {@code t}; the message names the tensor. */
    public static void checkCols(String name, DType t, long cols) {
        if (t.isQuantized() && cols % t.blockSize != 0)
            throw new IllegalArgumentException("tensor " + name + ": " + t + " needs rows of whole " + t.blockSize
                    + "-element blocks, but it has " + cols + " columns (not a multiple of " + t.blockSize + ")");
    }

    /** Element e (flat index) of a block-quantised tensor as fp32. */
    public static float get(DType t, MemorySegment d, long e) {
        return t.format().get(d, e);
    }

    /** dst[off + i] = element e + i as fp32, i &lt; n. */
    public static void dequantize(DType t, MemorySegment d, long e, float[] dst, int off, int n) {
        t.format().dequantize(d, e, dst, off, n);
    }

    /** Quantises n values (whole blocks of t) from src[so..] into dst from byte dstOff. */
    public static void quantize(DType t, float[] src, int so, int n, MemorySegment dst, long dstOff) {
        t.format().quantize(src, so, n, dst, dstOff);
    }
}

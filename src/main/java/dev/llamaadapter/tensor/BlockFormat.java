package dev.llamaadapter.tensor;

import java.lang.foreign.MemorySegment;

/**
 * One block-quantised weight format (GGUF's Q8_0, Q4_0, Q4_K, Q6_K, Q2_K, ...: one class each): a tensor row is whole blocks of
 * {@link #blockElements} values stored in {@link #blockBytes} bytes, and the format alone knows what is in a
 * block (scales, mins, packed quants). The kernels ({@link Matmul}, {@link WeightMatrix}) never look inside:
 * they call {@link #dequantize} once per row slice and {@link #dot} once per row, so every vector loop lives
 * in one format's class, compiled for that format alone, and no vector crosses a call.
 *
 * <p>Every method takes the tensor's bytes {@code d} from its first block: element e is element e mod
 * blockElements of block e / blockElements. {@link #get} and {@link #dequantize} give the same fp32 value
 * for an element, bit for bit, whichever path (vector or scalar) runs; {@link #dot} may sum in another order.
 */
public interface BlockFormat {

    /** The format's GGUF name (Q8_0, Q4_K, ...). */
    String name();

    /** Elements per block (32, or 256 for the K-quants' super-blocks). */
    int blockElements();

    /** Bytes per block. */
    int blockBytes();

    /** Element e as fp32 (scalar: tests, single reads). */
    float get(MemorySegment d, long e);

    /** dst[off + i] = element e + i as fp32 for i &lt; n; the range may start and end inside a block. */
    void dequantize(MemorySegment d, long e, float[] dst, int off, int n);

    /** Σ_k x[xo + k] · w[k] for the K elements (whole blocks) of a row that starts at byte b of d. */
    float dot(float[] x, int xo, MemorySegment d, long b, int K);

    /**
     * out[0], out[1] = Σ_k x[k] · w[k] for the K-element rows at bytes b1 and b2: one sequence's decoding reads two
     * far-apart rows side by side (two memory streams per core); each sum equals {@link #dot}'s bit for bit. The
     * default runs the two dots one after the other (one stream).
     */
    default void dot2(float[] x, MemorySegment d, long b1, long b2, int K, float[] out) {
        out[0] = dot(x, 0, d, b1, K);
        out[1] = dot(x, 0, d, b2, K);
    }

    /**
     * out[i] = Σ_k x[r[i] + k] · w[k] for i &lt; 4 (four activation rows at offsets r, which may repeat) and the K
     * elements of the row at byte b: the batched-decoding form, which should decode each block once for the
     * four rows (the default reads the row four times, from cache after the first).
     */
    default void dot4(float[] x, int[] r, MemorySegment d, long b, int K, float[] out) {
        for (int i = 0; i < 4; i++) out[i] = dot(x, r[i], d, b, K);
    }

    /** Whether {@link #quantize} is implemented here. */
    default boolean canQuantize() {
        return false;
    }

    /** Quantises n values (whole blocks) from src[so..] into dst from byte dstOff. */
    default void quantize(float[] src, int so, int n, MemorySegment dst, long dstOff) {
        throw new UnsupportedOperationException("quantising to " + name() + " is not implemented (it can be read, not written)");
    }
}

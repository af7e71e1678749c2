package dev.llamaadapter.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * GGUF's block quantisation Q8_0 and Q4_0 (scalar reference code: quantising, and dequantising single
 * elements or ranges). The vector kernels in {@link Matmul} decode the same layout and give the same
 * values: element = q · d in fp32, d the block's fp16 scale as fp32.
 * <ul>
 * <li>Q8_0, 34 bytes per 32 elements: d (fp16, little-endian), then q[0..31] as int8.</li>
 * <li>Q4_0, 18 bytes per 32 elements: d (fp16), then 16 bytes; byte i holds element i in its low nibble and
 * element 16 + i in its high nibble, as an unsigned nibble u with q = u − 8.</li>
 * </ul>
 * Quantising (as llama.cpp's reference quantisers do): Q8_0 takes d = max|x| / 127 and q = x / d rounded to
 * nearest, halves away from zero; Q4_0 takes the element m of largest magnitude, d = m / −8 and u = min(15, trunc(x / d + 8.5)),
 * so m itself is exactly −8·d and the other end of the range is clipped at 7·d.
 */
public final class Quant {
    private Quant() {}

    /** Elements per block of both types. */
    public static final int QK = 32;

    static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Checks that a row of {@code cols} elements is whole blocks of {@code t}; the message names the tensor. */
    public static void checkCols(String name, DType t, long cols) {
        if (t.isQuantized() && cols % t.blockSize != 0)
            throw new IllegalArgumentException("tensor " + name + ": " + t + " needs rows of whole " + t.blockSize
                    + "-element blocks, but it has " + cols + " columns (not a multiple of " + t.blockSize + ")");
    }

    /** Element e (flat index) of a Q8_0 or Q4_0 tensor as fp32. */
    public static float get(DType t, MemorySegment d, long e) {
        long b = e / QK;
        int i = (int) (e % QK);
        long bo = b * t.blockBytes;
        float scale = Float.float16ToFloat(d.get(I16, bo));
        return switch (t) {
            case Q8_0 -> d.get(ValueLayout.JAVA_BYTE, bo + 2 + i) * scale;
            case Q4_0 -> {
                int by = d.get(ValueLayout.JAVA_BYTE, bo + 2 + (i & 15)) & 0xff;
                yield ((i < 16 ? by & 15 : by >>> 4) - 8) * scale;
            }
            default -> throw new IllegalArgumentException(t + " is not a block type");
        };
    }

    /** dst[off + i] = element e + i as fp32, i &lt; n (scalar: WeightMatrix.row and tests). */
    public static void dequantize(DType t, MemorySegment d, long e, float[] dst, int off, int n) {
        for (int i = 0; i < n; i++) dst[off + i] = get(t, d, e + i);
    }

    /**
     * Quantises n values (a multiple of 32) from src[so..] into dst from byte dstOff (n / 32 blocks).
     */
    public static void quantize(DType t, float[] src, int so, int n, MemorySegment dst, long dstOff) {
        if (n % QK != 0) throw new IllegalArgumentException(n + " values are not whole blocks of " + QK);
        for (int b = 0; b < n / QK; b++) {
            int s = so + b * QK;
            long bo = dstOff + (long) b * t.blockBytes;
            switch (t) {
                case Q8_0 -> {
                    float amax = 0;
                    for (int i = 0; i < QK; i++) amax = Math.max(amax, Math.abs(src[s + i]));
                    float scale = amax / 127f, inv = scale != 0 ? 1f / scale : 0f;
                    dst.set(I16, bo, Float.floatToFloat16(scale));
                    for (int i = 0; i < QK; i++) { // round half away from zero, as C's roundf
                        float v = src[s + i] * inv;
                        dst.set(ValueLayout.JAVA_BYTE, bo + 2 + i, (byte) (v < 0 ? -Math.round(-v) : Math.round(v)));
                    }
                }
                case Q4_0 -> {
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
                        dst.set(ValueLayout.JAVA_BYTE, bo + 2 + i, (byte) (Math.max(0, lo) | Math.max(0, hi) << 4));
                    }
                }
                default -> throw new IllegalArgumentException(t + " is not a block type");
            }
        }
    }
}

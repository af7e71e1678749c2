package dev.llamaadapter.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * A frozen 2-D weight [rows, cols], row-major, kept in its file dtype (F32, F16 or BF16) inside a
 * MemorySegment: usually a slice of a memory-mapped safetensors file, never copied into the heap.
 * Kernels convert to fp32 as they read. In torch's Linear layout rows are output features.
 */
public record WeightMatrix(String name, MemorySegment data, DType dtype, int rows, int cols) {

    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public WeightMatrix {
        if (!dtype.isWeightType())
            throw new IllegalArgumentException("tensor " + name + ": dtype " + dtype + " is not a weight type (F32, F16, BF16)");
        long need = (long) rows * cols * dtype.size;
        if (data.byteSize() != need)
            throw new IllegalArgumentException("tensor " + name + ": " + data.byteSize() + " bytes for shape [" + rows + ", "
                    + cols + "] " + dtype + " (expected " + need + ")");
    }

    /** fp32 weights on the heap (tests, small trainable matrices). */
    public static WeightMatrix ofFloats(String name, float[] values, int rows, int cols) {
        MemorySegment s = Arena.ofAuto().allocate((long) rows * cols * 4, 64);
        MemorySegment.copy(values, 0, s, F32, 0, rows * cols);
        return new WeightMatrix(name, s, DType.F32, rows, cols);
    }

    /** Off-heap weights of the given dtype, rounded from fp32 values (benchmarks, tests). */
    public static WeightMatrix of(String name, DType dtype, float[] values, int rows, int cols, Arena arena) {
        long n = (long) rows * cols;
        MemorySegment s = arena.allocate(n * dtype.size, 64);
        for (long i = 0; i < n; i++) {
            float v = values[(int) i];
            switch (dtype) {
                case F32 -> s.setAtIndex(F32, i, v);
                case BF16 -> s.setAtIndex(I16, i, DType.floatToBf16(v));
                case F16 -> s.setAtIndex(I16, i, Float.floatToFloat16(v));
                default -> throw new IllegalArgumentException(dtype.toString());
            }
        }
        return new WeightMatrix(name, s, dtype, rows, cols);
    }

    /** Element (r, c) as fp32. */
    public float get(int r, int c) {
        long i = (long) r * cols + c;
        return switch (dtype) {
            case F32 -> data.getAtIndex(F32, i);
            case BF16 -> DType.bf16ToFloat(data.getAtIndex(I16, i));
            case F16 -> Float.float16ToFloat(data.getAtIndex(I16, i));
            default -> throw new IllegalStateException();
        };
    }

    /** Copies row r, converted to fp32, into dst[dstOff .. dstOff+cols). */
    public void row(int r, float[] dst, int dstOff) {
        long base = (long) r * cols;
        switch (dtype) {
            case F32 -> MemorySegment.copy(data, F32, base * 4, dst, dstOff, cols);
            case BF16 -> {
                for (int c = 0; c < cols; c++) dst[dstOff + c] = DType.bf16ToFloat(data.getAtIndex(I16, base + c));
            }
            case F16 -> {
                for (int c = 0; c < cols; c++) dst[dstOff + c] = Float.float16ToFloat(data.getAtIndex(I16, base + c));
            }
            default -> throw new IllegalStateException();
        }
    }

    /** All elements as fp32 (tests and small tensors only: this copies). */
    public float[] toFloats() {
        float[] out = new float[rows * cols];
        for (int r = 0; r < rows; r++) row(r, out, r * cols);
        return out;
    }
}

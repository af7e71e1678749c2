package dev.llamaadapter.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * A frozen 2-D weight [rows, cols], row-major, kept in its file dtype (F32, F16, BF16, or a GGUF block
 * type, Q8_0, Q4_K and the other GGUF block types, whose rows are whole blocks: see {@link BlockFormat}) inside a MemorySegment: usually a slice of
 * a memory-mapped file, never copied into the heap. Kernels convert to fp32 as they read. In torch's
 * Linear layout rows are output features.
 *
 * <p>{@code rowOrder}, when not null, says that logical row r is stored as row {@code rowOrder[r]} of
 * {@code data}: a permutation applied without copying the weight (GGUF and llama2.c files keep q/k rows in
 * the interleaved-RoPE order; see {@link #interleavedToHalves}). Every reader here and in {@link Matmul}
 * honours it.
 */
public record WeightMatrix(String name, MemorySegment data, DType dtype, int rows, int cols, int[] rowOrder) {

    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    public WeightMatrix {
        if (!dtype.isWeightType())
            throw new IllegalArgumentException("tensor " + name + ": dtype " + dtype + " is not a weight type " + DType.weightTypes());
        Quant.checkCols(name, dtype, cols);
        long need = dtype.bytes((long) rows * cols);
        if (data.byteSize() != need)
            throw new IllegalArgumentException("tensor " + name + ": " + data.byteSize() + " bytes for shape [" + rows + ", "
                    + cols + "] " + dtype + " (expected " + need + ")");
        if (rowOrder != null) {
            if (rowOrder.length != rows)
                throw new IllegalArgumentException("tensor " + name + ": row order of " + rowOrder.length + " entries for " + rows + " rows");
            rowOrder = rowOrder.clone();
            boolean[] seen = new boolean[rows];
            for (int r : rowOrder) {
                if (r < 0 || r >= rows || seen[r])
                    throw new IllegalArgumentException("tensor " + name + ": row order is not a permutation of 0.." + (rows - 1));
                seen[r] = true;
            }
        }
    }

    /** A weight stored in its natural row order. */
    public WeightMatrix(String name, MemorySegment data, DType dtype, int rows, int cols) {
        this(name, data, dtype, rows, cols, null);
    }

    /** fp32 weights on the heap (tests, small trainable matrices). */
    public static WeightMatrix ofFloats(String name, float[] values, int rows, int cols) {
        MemorySegment s = Arena.ofAuto().allocate((long) rows * cols * 4, 64);
        MemorySegment.copy(values, 0, s, F32, 0, rows * cols);
        return new WeightMatrix(name, s, DType.F32, rows, cols);
    }

    /** Off-heap weights of the given dtype, rounded (or quantised: the block types with a quantiser, Q8_0 and Q4_0) from fp32 values (benchmarks, tests). */
    public static WeightMatrix of(String name, DType dtype, float[] values, int rows, int cols, Arena arena) {
        long n = (long) rows * cols;
        if (dtype.isQuantized()) {
            Quant.checkCols(name, dtype, cols);
            MemorySegment s = arena.allocate(dtype.bytes(n), 64);
            long rowBytes = dtype.bytes(cols);
            for (int r = 0; r < rows; r++) Quant.quantize(dtype, values, r * cols, cols, s, r * rowBytes);
            return new WeightMatrix(name, s, dtype, rows, cols);
        }
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

    /** The same weight with logical row r read from stored row order[r] (see the class comment). */
    public WeightMatrix withRowOrder(int[] order) {
        return new WeightMatrix(name, data, dtype, rows, cols, order);
    }

    /**
     * Rows [from, from + count) as a weight of their own, without copying (phi3's fused qkv_proj and
     * gate_up_proj are read as their q, k, v and gate, up parts). Rows are whole blocks in every dtype.
     */
    public WeightMatrix rowSlice(String sliceName, int from, int count) {
        if (rowOrder != null) throw new IllegalStateException("tensor " + name + ": a row slice of a reordered weight");
        if (from < 0 || count <= 0 || from + count > rows)
            throw new IllegalArgumentException("tensor " + name + ": rows [" + from + ", " + (from + count) + ") of " + rows);
        long rowBytes = dtype.bytes(cols);
        return new WeightMatrix(sliceName, data.asSlice(from * rowBytes, count * rowBytes), dtype, count, cols);
    }

    /** The stored matrix without the row order (its row r is stored row r). */
    public WeightMatrix stored() {
        return rowOrder == null ? this : new WeightMatrix(name, data, dtype, rows, cols, null);
    }

    /** The stored row that holds logical row r. */
    public int storedRow(int r) {
        return rowOrder == null ? r : rowOrder[r];
    }

    /**
     * The row order that turns a projection stored with RoPE pairs interleaved (2j, 2j+1 within each head:
     * Meta's layout, llama2.c and GGUF) into Hugging Face's rotate_half layout (j, j + hd/2): HF row
     * h·hd + t is stored row h·hd + 2·(t mod hd/2) + t div (hd/2). The inverse of the permutation
     * transformers' conversion script applies (and llama.cpp's converter undoes).
     */
    public static int[] interleavedToHalves(int heads, int headDim) {
        if (headDim % 2 != 0) throw new IllegalArgumentException("head_dim " + headDim + " is odd");
        int half = headDim / 2;
        int[] order = new int[heads * headDim];
        for (int h = 0; h < heads; h++)
            for (int t = 0; t < headDim; t++) order[h * headDim + t] = h * headDim + 2 * (t % half) + t / half;
        return order;
    }

    /** Element (r, c) as fp32. */
    public float get(int r, int c) {
        long i = (long) storedRow(r) * cols + c;
        return switch (dtype) {
            case F32 -> data.getAtIndex(F32, i);
            case BF16 -> DType.bf16ToFloat(data.getAtIndex(I16, i));
            case F16 -> Float.float16ToFloat(data.getAtIndex(I16, i));
            default -> dtype.format().get(data, i);
        };
    }

    /** Copies row r, converted to fp32, into dst[dstOff .. dstOff+cols). */
    public void row(int r, float[] dst, int dstOff) {
        long base = (long) storedRow(r) * cols;
        switch (dtype) {
            case F32 -> MemorySegment.copy(data, F32, base * 4, dst, dstOff, cols);
            case BF16 -> {
                for (int c = 0; c < cols; c++) dst[dstOff + c] = DType.bf16ToFloat(data.getAtIndex(I16, base + c));
            }
            case F16 -> {
                for (int c = 0; c < cols; c++) dst[dstOff + c] = Float.float16ToFloat(data.getAtIndex(I16, base + c));
            }
            default -> dtype.format().dequantize(data, base, dst, dstOff, cols);
        }
    }

    /** The bytes of stored row r (whole blocks for the quantised types). */
    public MemorySegment storedRowBytes(int storedRow) {
        long rowBytes = dtype.bytes(cols);
        return data.asSlice(storedRow * rowBytes, rowBytes);
    }

    /** All elements as fp32 (tests and small tensors only: this copies). */
    public float[] toFloats() {
        float[] out = new float[rows * cols];
        for (int r = 0; r < rows; r++) row(r, out, r * cols);
        return out;
    }
}

package dev.llamaadapter.io;

import dev.llamaadapter.tensor.DType;
import dev.llamaadapter.tensor.WeightMatrix;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Set;

/**
 * Named tensors read from safetensors: one file ({@link SafeTensors}) or a model directory that may be
 * sharded ({@link SafeTensorsDir}); or from a GGUF file ({@link GgufSource}) or a llama2.c checkpoint
 * ({@link Llama2cSource}), presented under the same Hugging Face names. The typed readers check dtype and shape and name the file and the
 * tensor in every error, so callers never need to format their own messages.
 */
public sealed interface TensorSource extends AutoCloseable permits SafeTensors, SafeTensorsDir, GgufSource, Llama2cSource {

    // safetensors is little-endian and makes no alignment promise (tensors sit back to back after the header)
    ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    ValueLayout.OfInt I32_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    ValueLayout.OfLong I64_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** The file or directory this was opened from. */
    Path path();

    /** String metadata ({@code __metadata__} of a file; the index's {@code metadata} of a sharded model). */
    Map<String, String> metadata();

    /** All tensor names. */
    Set<String> names();

    /** The tensor, or null when absent. */
    TensorInfo info(String name);

    /** The files the tensors are read from, each once (for sizes on disk). */
    default java.util.List<Path> files() {
        return java.util.List.of(path());
    }

    /** The file that holds the tensor (the file to name in messages); {@link #path()} when absent. */
    Path fileOf(String name);

    /** Unmaps the file(s): every {@link TensorInfo#data()} and {@link WeightMatrix} read from here becomes invalid. */
    @Override
    void close();

    /**
     * Whether gemma2-style norm weights are stored as 1+w rather than HF's w (llama.cpp's converter adds
     * the one); the weight loader then takes them as they are.
     */
    default boolean normsHoldOnePlusW() {
        return false;
    }

    default boolean has(String name) {
        return info(name) != null;
    }

    /** The tensor; an error "&lt;file&gt;: tensor 'x' not found" when absent. */
    default TensorInfo require(String name) throws SafeTensorsException {
        TensorInfo t = info(name);
        if (t == null) throw new SafeTensorsException(fileOf(name), name, "not found");
        return t;
    }

    /** A weight of exactly shape [rows, cols] and dtype F32, F16 or BF16, as a zero-copy view of the file. */
    default WeightMatrix matrix(String name, int rows, int cols) throws SafeTensorsException {
        TensorInfo t = require(name);
        if (!t.dtype().isWeightType())
            throw new SafeTensorsException(fileOf(name), name, "has dtype " + t.dtype() + ", expected F32, F16 or BF16");
        checkDims(t, rows, cols);
        return new WeightMatrix(name, t.data(), t.dtype(), rows, cols);
    }

    /** A vector of exactly shape [n], converted to fp32 (norm weights, biases). */
    default float[] vector(String name, int n) throws SafeTensorsException {
        TensorInfo t = require(name);
        checkDims(t, n);
        return floats(name);
    }

    /** Any F32 / F16 / BF16 tensor as fp32 on the heap (a copy: meant for small tensors such as adapters). */
    default float[] floats(String name) throws SafeTensorsException {
        TensorInfo t = require(name);
        int n = heapLength(t);
        MemorySegment s = t.data();
        float[] out = new float[n];
        switch (t.dtype()) {
            case F32 -> MemorySegment.copy(s, F32_LE, 0, out, 0, n);
            case BF16 -> {
                for (int i = 0; i < n; i++) out[i] = DType.bf16ToFloat(s.getAtIndex(I16_LE, i));
            }
            case F16 -> {
                for (int i = 0; i < n; i++) out[i] = Float.float16ToFloat(s.getAtIndex(I16_LE, i));
            }
            default -> throw new SafeTensorsException(fileOf(name), name,
                    "has dtype " + t.dtype() + ", expected a float type (F32, F16 or BF16)");
        }
        return out;
    }

    /** Like {@link #floats(String)}, after checking the shape is exactly {@code expectedShape}. */
    default float[] floats(String name, long... expectedShape) throws SafeTensorsException {
        checkShape(require(name), expectedShape);
        return floats(name);
    }

    /** An I32 tensor, or an I64 one whose values all fit an int (token ids), on the heap. */
    default int[] ints(String name) throws SafeTensorsException {
        TensorInfo t = require(name);
        int n = heapLength(t);
        MemorySegment s = t.data();
        int[] out = new int[n];
        switch (t.dtype()) {
            case I32 -> MemorySegment.copy(s, I32_LE, 0, out, 0, n);
            case I64 -> {
                for (int i = 0; i < n; i++) {
                    long v = s.getAtIndex(I64_LE, i);
                    if (v != (int) v)
                        throw new SafeTensorsException(fileOf(name), name,
                                "element " + i + " = " + v + " does not fit a 32-bit int");
                    out[i] = (int) v;
                }
            }
            default -> throw new SafeTensorsException(fileOf(name), name,
                    "has dtype " + t.dtype() + ", expected an integer type (I32 or I64)");
        }
        return out;
    }

    /** Throws unless the tensor's shape is exactly {@code expected}; the message gives both shapes. */
    default void checkShape(TensorInfo t, long... expected) throws SafeTensorsException {
        if (!Arrays.equals(t.shape(), expected))
            throw new SafeTensorsException(fileOf(t.name()), t.name(),
                    "has shape " + t.shapeString() + ", expected " + Arrays.toString(expected));
    }

    private static long[] longs(int... dims) {
        long[] out = new long[dims.length];
        for (int i = 0; i < dims.length; i++) out[i] = dims[i];
        return out;
    }

    private void checkDims(TensorInfo t, int... expected) throws SafeTensorsException {
        checkShape(t, longs(expected));
    }

    private int heapLength(TensorInfo t) throws SafeTensorsException {
        long n = t.numel();
        if (n > Integer.MAX_VALUE - 16)
            throw new SafeTensorsException(fileOf(t.name()), t.name(),
                    "has " + n + " elements, too many for a Java array: read it through info(...).data()");
        return (int) n;
    }
}

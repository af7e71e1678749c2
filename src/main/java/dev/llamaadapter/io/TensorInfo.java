package dev.llamaadapter.io;

import dev.llamaadapter.tensor.DType;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * One tensor of a safetensors file: its dtype, its shape and its bytes. {@code data} is a slice of the
 * memory-mapped file (little-endian, read-only, possibly unaligned): it stays valid only while the
 * {@link SafeTensors} that produced it is open.
 */
public record TensorInfo(String name, DType dtype, long[] shape, MemorySegment data) {

    /** Number of elements: the product of the shape (1 for a scalar of shape []). */
    public long numel() {
        long n = 1;
        for (long d : shape) n *= d; // cannot overflow: the reader checked the product against the file size
        return n;
    }

    /** Number of dimensions. */
    public int rank() {
        return shape.length;
    }

    /** The shape as {@code [a, b, c]}, for messages. */
    public String shapeString() {
        return Arrays.toString(shape);
    }

    @Override
    public String toString() {
        return name + " " + dtype + " " + shapeString();
    }
}

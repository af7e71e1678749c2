package dev.llamaadapter.io.gguf;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * One tensor of a GGUF file as the file describes it. {@code ne} lists the dimensions innermost first
 * (ne[0] is the number of columns of a row-major matrix, the reverse of torch's shape); {@code offset} is
 * relative to the data section; {@code data} is the slice of the mapping it occupies (valid while the
 * {@link GgufFile} is open).
 */
public record GgufTensor(String name, long[] ne, GgmlType type, long offset, MemorySegment data) {

    /** Number of elements. */
    public long numel() {
        long n = 1;
        for (long d : ne) n *= d; // checked against overflow by the reader
        return n;
    }

    /** The shape in torch's order (outermost first), e.g. [rows, cols] for a matrix. */
    public long[] shape() {
        long[] s = new long[ne.length];
        for (int i = 0; i < ne.length; i++) s[i] = ne[ne.length - 1 - i];
        return s;
    }

    @Override
    public String toString() {
        return name + " " + type + " ne=" + Arrays.toString(ne);
    }
}

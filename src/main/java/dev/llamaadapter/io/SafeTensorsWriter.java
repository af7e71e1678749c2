package dev.llamaadapter.io;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llamaadapter.tensor.DType;
import dev.llamaadapter.tensor.WeightMatrix;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * Writes a safetensors file: tensors sorted by name (in the header and in the data buffer), optional
 * string metadata, compact JSON padded with spaces to a multiple of 8 bytes so the data buffer starts
 * 8-aligned. For the same content the bytes equal those of {@code save_safetensors} in
 * {@code ../parity/llama_adapter_ref.py}. The file is written atomically
 * ({@link AtomicFile}): a crash never leaves a half-written file behind.
 *
 * <pre>{@code
 * new SafeTensorsWriter()
 *     .put("adapter_query.weight", DType.F32, prompts, L * K, D)
 *     .metadata("adapter_len", "10")
 *     .write(path);
 * }</pre>
 * Arrays given to {@code put} are wrapped, not copied, when no conversion is needed: do not modify
 * them before {@link #write(Path)}.
 */
public final class SafeTensorsWriter {

    private static final boolean NATIVE_LE = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN;
    private static final int CHUNK = 1 << 20;

    /** One tensor to write; {@code bytes} holds exactly product(shape) * dtype.size little-endian bytes. */
    public record Tensor(DType dtype, long[] shape, MemorySegment bytes) {

        public Tensor {
            long n = 1;
            for (long d : shape) {
                if (d < 0) throw new IllegalArgumentException("negative dimension in shape " + Arrays.toString(shape));
                n = Math.multiplyExact(n, d);
            }
            if (bytes.byteSize() != n * dtype.size)
                throw new IllegalArgumentException(bytes.byteSize() + " bytes for shape " + Arrays.toString(shape)
                        + " of " + dtype + ", expected " + n * dtype.size);
            shape = shape.clone();
        }

        /** fp32 values stored as F32, F16, BF16 (rounded to nearest even) or F64. */
        public static Tensor of(DType dtype, long[] shape, float[] values) {
            return switch (dtype) {
                case F32 -> new Tensor(dtype, shape, le(MemorySegment.ofArray(values), ValueLayout.JAVA_FLOAT, values.length));
                case BF16, F16 -> {
                    short[] bits = new short[values.length];
                    for (int i = 0; i < bits.length; i++)
                        bits[i] = dtype == DType.BF16 ? DType.floatToBf16(values[i]) : Float.floatToFloat16(values[i]);
                    yield of(dtype, shape, bits);
                }
                case F64 -> {
                    double[] d = new double[values.length];
                    for (int i = 0; i < d.length; i++) d[i] = values[i];
                    yield new Tensor(dtype, shape, le(MemorySegment.ofArray(d), ValueLayout.JAVA_DOUBLE, d.length));
                }
                default -> throw new IllegalArgumentException("float values cannot be stored as " + dtype);
            };
        }

        /** int values stored as I32 or I64 (token ids, labels). */
        public static Tensor of(DType dtype, long[] shape, int[] values) {
            return switch (dtype) {
                case I32 -> new Tensor(dtype, shape, le(MemorySegment.ofArray(values), ValueLayout.JAVA_INT, values.length));
                case I64 -> {
                    long[] l = new long[values.length];
                    for (int i = 0; i < l.length; i++) l[i] = values[i];
                    yield new Tensor(dtype, shape, le(MemorySegment.ofArray(l), ValueLayout.JAVA_LONG, l.length));
                }
                default -> throw new IllegalArgumentException("int values cannot be stored as " + dtype);
            };
        }

        /** Raw 16-bit patterns stored as BF16, F16 or I16. */
        public static Tensor of(DType dtype, long[] shape, short[] bits) {
            if (dtype.size != 2) throw new IllegalArgumentException("16-bit values cannot be stored as " + dtype);
            return new Tensor(dtype, shape, le(MemorySegment.ofArray(bits), ValueLayout.JAVA_SHORT, bits.length));
        }

        /** Raw little-endian bytes (any dtype), e.g. a slice of another safetensors file. */
        public static Tensor of(DType dtype, long[] shape, MemorySegment littleEndianBytes) {
            return new Tensor(dtype, shape, littleEndianBytes);
        }

        /** A frozen weight as it is, in its own dtype. */
        public static Tensor of(WeightMatrix w) {
            return new Tensor(w.dtype(), new long[]{w.rows(), w.cols()}, w.data());
        }

        /** A tensor read from a file, copied as it is. */
        public static Tensor of(TensorInfo t) {
            return new Tensor(t.dtype(), t.shape(), t.data());
        }

        /** Heap arrays are in native order; only a big-endian machine needs a byte-swapping copy. */
        private static MemorySegment le(MemorySegment nativeOrder, ValueLayout l, int n) {
            return NATIVE_LE ? nativeOrder : swap(nativeOrder, l, n);
        }

        private static MemorySegment swap(MemorySegment src, ValueLayout l, int n) {
            MemorySegment dst = Arena.ofAuto().allocate(src.byteSize());
            MemorySegment.copy(src, l, 0, dst, l.withOrder(ByteOrder.LITTLE_ENDIAN), 0, n);
            return dst;
        }
    }

    private final Map<String, Tensor> tensors = new LinkedHashMap<>();
    private final Map<String, String> metadata = new LinkedHashMap<>();

    public SafeTensorsWriter put(String name, Tensor t) {
        if (name.equals(SafeTensorsHeader.METADATA_KEY))
            throw new IllegalArgumentException(SafeTensorsHeader.METADATA_KEY + " is reserved for metadata");
        if (tensors.putIfAbsent(name, t) != null) throw new IllegalArgumentException("tensor '" + name + "' added twice");
        return this;
    }

    public SafeTensorsWriter put(String name, DType dtype, float[] values, long... shape) {
        return put(name, Tensor.of(dtype, shape, values));
    }

    public SafeTensorsWriter put(String name, DType dtype, int[] values, long... shape) {
        return put(name, Tensor.of(dtype, shape, values));
    }

    public SafeTensorsWriter put(String name, DType dtype, short[] bits, long... shape) {
        return put(name, Tensor.of(dtype, shape, bits));
    }

    public SafeTensorsWriter put(String name, DType dtype, MemorySegment littleEndianBytes, long... shape) {
        return put(name, Tensor.of(dtype, shape, littleEndianBytes));
    }

    /** A weight under its own name, in its own dtype. */
    public SafeTensorsWriter put(WeightMatrix w) {
        return put(w.name(), Tensor.of(w));
    }

    public SafeTensorsWriter metadata(String key, String value) {
        metadata.put(key, value);
        return this;
    }

    public SafeTensorsWriter metadata(Map<String, String> entries) {
        metadata.putAll(entries);
        return this;
    }

    /** Writes the file atomically, replacing any existing one. */
    public void write(Path file) throws IOException {
        write(file, tensors, metadata);
    }

    /** Writes {@code tensors} (any map order: the file is sorted by name) and {@code metadata} atomically. */
    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        Map<String, Tensor> sorted = new TreeMap<>(tensors);
        byte[] header = header(sorted, metadata);
        AtomicFile.write(file, out -> {
            ByteBuffer head = ByteBuffer.allocate(8 + header.length).order(ByteOrder.LITTLE_ENDIAN);
            head.putLong(header.length).put(header).flip();
            AtomicFile.writeFully(out, head);
            ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK);
            MemorySegment bufSeg = MemorySegment.ofBuffer(buf);
            for (Tensor t : sorted.values()) writeBytes(out, t.bytes(), buf, bufSeg);
        });
    }

    /** The JSON header, padded with spaces so that 8 + its length is a multiple of 8. */
    static byte[] header(Map<String, Tensor> sorted, Map<String, String> metadata) throws IOException {
        ObjectNode root = SafeTensorsHeader.JSON.createObjectNode();
        long offset = 0;
        for (Map.Entry<String, Tensor> e : sorted.entrySet()) {
            Tensor t = e.getValue();
            ObjectNode o = root.putObject(e.getKey());
            o.put("dtype", t.dtype().name());
            ArrayNode shape = o.putArray("shape");
            for (long d : t.shape()) shape.add(d);
            long end = offset + t.bytes().byteSize();
            o.putArray("data_offsets").add(offset).add(end);
            offset = end;
        }
        if (!metadata.isEmpty()) { // last, as ../parity/llama_adapter_ref.py writes it: same bytes for the same content
            ObjectNode m = root.putObject(SafeTensorsHeader.METADATA_KEY);
            metadata.forEach(m::put);
        }
        byte[] json = SafeTensorsHeader.JSON.writeValueAsString(root).getBytes(StandardCharsets.UTF_8);
        byte[] padded = Arrays.copyOf(json, (json.length + 7) / 8 * 8);
        Arrays.fill(padded, json.length, padded.length, (byte) ' ');
        return padded;
    }

    /** Streams a segment of any kind (heap array, native, mapped) through a direct buffer. */
    private static void writeBytes(FileChannel out, MemorySegment src, ByteBuffer buf, MemorySegment bufSeg) throws IOException {
        long size = src.byteSize();
        for (long off = 0; off < size; off += CHUNK) {
            int n = (int) Math.min(CHUNK, size - off);
            MemorySegment.copy(src, off, bufSeg, 0, n);
            buf.clear().limit(n);
            AtomicFile.writeFully(out, buf);
        }
    }
}

package dev.llamaadapter.io.gguf;

import dev.llamaadapter.io.AtomicFile;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a GGUF version 3 file (the layout {@link GgufFile} reads), atomically: into a temporary file that
 * is renamed over the target only once complete ({@link AtomicFile}). Tensor data is streamed from each
 * tensor's {@link Body}, so a model larger than memory can be written.
 *
 * <pre>{@code
 * new GgufWriter()
 *     .put("general.architecture", GgufValue.string("llama"))
 *     .tensor("token_embd.weight", GgmlType.F32, new long[]{D, V}, bytes, out -> ...)
 *     .write(path);
 * }</pre>
 */
public final class GgufWriter {

    /** Produces exactly the tensor's declared number of bytes into the channel. */
    @FunctionalInterface
    public interface Body {
        void writeTo(FileChannel out) throws IOException;
    }

    private record Tensor(String name, GgmlType type, long[] ne, long bytes, Body body) {}

    private final Map<String, GgufValue> kv = new LinkedHashMap<>();
    private final List<Tensor> tensors = new ArrayList<>();

    /** Adds (or replaces) a metadata entry. */
    public GgufWriter put(String key, GgufValue value) {
        kv.put(key, value);
        return this;
    }

    /** Adds a tensor of the given type and ne (innermost first) whose bytes the body writes. */
    public GgufWriter tensor(String name, GgmlType type, long[] ne, long bytes, Body body) {
        long numel = 1;
        for (long d : ne) numel = Math.multiplyExact(numel, d);
        long ne0 = ne.length == 0 ? 1 : ne[0];
        if (ne0 % type.blockSize != 0) throw new IllegalArgumentException("tensor " + name + ": rows of " + ne0 + " are not whole " + type + " blocks");
        long want = ne0 == 0 ? 0 : numel / ne0 * type.rowBytes(ne0);
        if (bytes != want) throw new IllegalArgumentException("tensor " + name + ": " + bytes + " bytes declared, " + want + " expected");
        for (Tensor t : tensors) if (t.name.equals(name)) throw new IllegalArgumentException("tensor " + name + " added twice");
        tensors.add(new Tensor(name, type, ne.clone(), bytes, body));
        return this;
    }

    /** Adds a tensor whose bytes are in a segment (copied out when writing). */
    public GgufWriter tensor(String name, GgmlType type, long[] ne, MemorySegment data) {
        return tensor(name, type, ne, data.byteSize(), out -> writeSegment(out, data));
    }

    /** Writes the segment's bytes to the channel. */
    public static void writeSegment(FileChannel out, MemorySegment data) throws IOException {
        byte[] chunk = new byte[(int) Math.min(1 << 20, data.byteSize())];
        for (long off = 0, n = data.byteSize(); off < n; ) {
            int len = (int) Math.min(chunk.length, n - off);
            MemorySegment.copy(data, off, MemorySegment.ofArray(chunk), 0, len); // any segment: mapped, native or heap
            AtomicFile.writeFully(out, ByteBuffer.wrap(chunk, 0, len));
            off += len;
        }
    }

    public void write(Path file) throws IOException {
        long alignment = GgufFile.DEFAULT_ALIGNMENT;
        GgufValue a = kv.get("general.alignment");
        if (a != null) {
            if (!a.type().isInteger() || (Long) a.value() <= 0 || Long.bitCount((Long) a.value()) != 1)
                throw new IllegalArgumentException("general.alignment must be a power of two, not " + a);
            alignment = (Long) a.value();
        }
        final long align = alignment;
        AtomicFile.write(file, out -> {
            Header h = new Header();
            h.u32(GgufFile.MAGIC).u32(3).u64(tensors.size()).u64(kv.size());
            for (Map.Entry<String, GgufValue> e : kv.entrySet()) {
                h.string(e.getKey()).u32(e.getValue().type().id);
                h.value(e.getValue().type(), e.getValue().value());
            }
            long offset = 0;
            long[] offsets = new long[tensors.size()];
            for (int i = 0; i < tensors.size(); i++) {
                Tensor t = tensors.get(i);
                h.string(t.name).u32(t.ne.length);
                for (long d : t.ne) h.u64(d);
                h.u32(t.type.id).u64(offset);
                offsets[i] = offset;
                offset = pad(offset + t.bytes, align);
            }
            ByteBuffer header = h.finish();
            AtomicFile.writeFully(out, header);
            long dataStart = pad(header.limit(), align);
            zeros(out, dataStart - header.limit());
            for (int i = 0; i < tensors.size(); i++) {
                Tensor t = tensors.get(i);
                long before = out.position();
                if (before != dataStart + offsets[i]) throw new IllegalStateException("tensor " + t.name + " at the wrong offset");
                t.body.writeTo(out);
                long written = out.position() - before;
                if (written != t.bytes)
                    throw new IOException(file + ": tensor " + t.name + " wrote " + written + " bytes, expected " + t.bytes);
                if (i + 1 < tensors.size()) zeros(out, pad(written, align) - written);
            }
        });
    }

    private static long pad(long n, long align) {
        return (n + align - 1) / align * align;
    }

    private static void zeros(FileChannel out, long n) throws IOException {
        if (n > 0) AtomicFile.writeFully(out, ByteBuffer.allocate((int) n));
    }

    /** The header, built in a growing little-endian buffer. */
    private static final class Header {
        ByteBuffer b = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);

        void ensure(long n) {
            if (b.remaining() >= n) return;
            long cap = Math.max(b.capacity() * 2L, b.position() + n + 1024);
            if (cap > Integer.MAX_VALUE - 16) throw new IllegalArgumentException("GGUF header too large");
            ByteBuffer nb = ByteBuffer.allocate((int) cap).order(ByteOrder.LITTLE_ENDIAN);
            b.flip();
            nb.put(b);
            b = nb;
        }

        Header u32(long v) {
            ensure(4);
            b.putInt((int) v);
            return this;
        }

        Header u64(long v) {
            ensure(8);
            b.putLong(v);
            return this;
        }

        Header string(String s) {
            byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
            u64(bytes.length);
            ensure(bytes.length);
            b.put(bytes);
            return this;
        }

        void value(GgufValueType t, Object v) {
            switch (t) {
                case UINT8, INT8 -> { ensure(1); b.put((byte) (long) (Long) v); }
                case UINT16, INT16 -> { ensure(2); b.putShort((short) (long) (Long) v); }
                case UINT32, INT32 -> u32((Long) v);
                case UINT64, INT64 -> u64((Long) v);
                case FLOAT32 -> { ensure(4); b.putFloat((Float) v); }
                case FLOAT64 -> { ensure(8); b.putDouble((Double) v); }
                case BOOL -> { ensure(1); b.put((byte) ((Boolean) v ? 1 : 0)); }
                case STRING -> string((String) v);
                case ARRAY -> {
                    GgufValue.Array a = (GgufValue.Array) v;
                    u32(a.elementType().id).u64(a.length());
                    switch (a.elements()) {
                        case long[] l -> { for (long x : l) value(a.elementType(), x); }
                        case float[] f -> { for (float x : f) value(a.elementType(), x); }
                        case double[] d -> { for (double x : d) value(a.elementType(), x); }
                        case boolean[] z -> { for (boolean x : z) value(a.elementType(), x); }
                        case String[] s -> { for (String x : s) value(a.elementType(), x); }
                        case GgufValue.Array[] n -> { for (GgufValue.Array x : n) value(a.elementType(), x); }
                        default -> throw new IllegalStateException();
                    }
                }
            }
        }

        ByteBuffer finish() {
            b.flip();
            return b;
        }
    }
}

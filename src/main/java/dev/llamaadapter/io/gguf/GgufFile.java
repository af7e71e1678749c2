package dev.llamaadapter.io.gguf;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A GGUF file (llama.cpp's format, versions 2 and 3), memory-mapped read-only. Layout, all little-endian:
 * magic "GGUF", u32 version, u64 tensor count, u64 metadata count; the metadata, each a string key
 * (u64 length + UTF-8 bytes), a u32 value type and the value (arrays: u32 element type, u64 count, the
 * elements); the tensor infos, each a string name, u32 n_dims, u64 ne[n_dims] (innermost first), u32 ggml
 * type and u64 offset into the data section; then padding to {@code general.alignment} (default 32) and the
 * data section.
 *
 * <p>Everything is checked against the file size before it is read: counts that the remaining bytes
 * cannot hold, strings or arrays longer than the file, tensors that end past the end, misaligned offsets,
 * unknown value or tensor types, all become a {@link GgufException} naming the file (and key or tensor).
 * Tensor data is never copied: each {@link GgufTensor#data()} is a slice of the mapping, which lives in
 * a shared arena until {@link #close()}.
 */
public final class GgufFile implements AutoCloseable {

    /** "GGUF" read as a little-endian u32. */
    public static final int MAGIC = 0x46554747;
    public static final int DEFAULT_ALIGNMENT = 32;
    /** ggml's GGML_MAX_DIMS. */
    public static final int MAX_DIMS = 4;
    private static final int MAX_NESTING = 8;

    static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Path path;
    private final Arena arena;
    private final int version;
    private final GgufMetadata metadata;
    private final Map<String, GgufTensor> tensors;
    private final long alignment, dataOffset, fileSize;
    private boolean closed;

    private GgufFile(Path path, Arena arena, int version, GgufMetadata metadata, Map<String, GgufTensor> tensors,
                     long alignment, long dataOffset, long fileSize) {
        this.path = path;
        this.arena = arena;
        this.version = version;
        this.metadata = metadata;
        this.tensors = Collections.unmodifiableMap(tensors);
        this.alignment = alignment;
        this.dataOffset = dataOffset;
        this.fileSize = fileSize;
    }

    /** Maps and validates the file; every problem is a {@link GgufException} naming the file. */
    public static GgufFile open(Path file) throws IOException {
        Arena arena = Arena.ofShared();
        try {
            MemorySegment all;
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                all = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            } catch (NoSuchFileException e) {
                throw new GgufException(file, "no such file", e);
            } catch (IOException e) {
                throw new GgufException(file, "cannot be mapped: " + e, e);
            }
            return new Parser(file, all).parse(arena);
        } catch (IndexOutOfBoundsException e) { // a check missed above: still an error about the file, never a crash
            arena.close();
            throw new GgufException(file, "truncated or corrupt (read past the end: " + e.getMessage() + ")", e);
        } catch (IOException | RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    public Path path() {
        return path;
    }

    public int version() {
        return version;
    }

    public GgufMetadata metadata() {
        return metadata;
    }

    /** Tensors in file order. */
    public List<GgufTensor> tensors() {
        return List.copyOf(tensors.values());
    }

    /** The tensor with this (GGUF) name, or null. */
    public GgufTensor tensor(String name) {
        return tensors.get(name);
    }

    public long alignment() {
        return alignment;
    }

    /** Where the data section starts. */
    public long dataOffset() {
        return dataOffset;
    }

    public long fileSize() {
        return fileSize;
    }

    /** Unmaps the file. Idempotent; tensor data read before fails with IllegalStateException afterwards. */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        arena.close();
    }

    @Override
    public String toString() {
        return "GgufFile[" + path + ", v" + version + ", " + metadata.keys().size() + " keys, " + tensors.size() + " tensors]";
    }

    /** A bounds-checked cursor over the mapping. */
    private static final class Parser {
        final Path file;
        final MemorySegment s;
        final long size;
        long pos;

        Parser(Path file, MemorySegment s) {
            this.file = file;
            this.s = s;
            this.size = s.byteSize();
        }

        GgufException fail(String detail) {
            return new GgufException(file, detail);
        }

        void need(long n, String what) throws GgufException {
            if (n < 0 || n > size - pos)
                throw fail(what + " at byte " + pos + " needs " + (n < 0 ? "an absurd number of" : String.valueOf(n))
                        + " bytes, but the file ends at byte " + size + ": truncated or corrupt");
        }

        int u32(String what) throws GgufException {
            need(4, what);
            int v = s.get(U32, pos);
            pos += 4;
            return v;
        }

        long u64(String what) throws GgufException {
            need(8, what);
            long v = s.get(U64, pos);
            pos += 8;
            return v;
        }

        String string(String what) throws GgufException {
            long n = u64(what + " length");
            if (n < 0 || n > size - pos)
                throw fail(what + " at byte " + (pos - 8) + " has length " + Long.toUnsignedString(n) + ", beyond the end of the file ("
                        + size + " bytes): truncated or corrupt");
            if (n > Integer.MAX_VALUE - 16) throw fail(what + " at byte " + (pos - 8) + " is absurdly long (" + n + " bytes)");
            byte[] b = s.asSlice(pos, n).toArray(ValueLayout.JAVA_BYTE);
            pos += n;
            return new String(b, StandardCharsets.UTF_8);
        }

        GgufFile parse(Arena arena) throws GgufException {
            if (size < 4) throw fail("is " + size + " bytes, too short for a GGUF file");
            int magic = u32("magic");
            if (magic != MAGIC) {
                byte[] m = s.asSlice(0, 4).toArray(ValueLayout.JAVA_BYTE);
                throw fail("not a GGUF file (starts with bytes " + String.format("%02x %02x %02x %02x", m[0], m[1], m[2], m[3])
                        + ", expected \"GGUF\")");
            }
            int version = u32("version");
            if (version == 1) throw fail("GGUF version 1 is not supported (only 2 and 3): re-convert it with a current llama.cpp");
            if (version != 2 && version != 3)
                throw fail("unsupported GGUF version " + Integer.toUnsignedString(version)
                        + (Integer.reverseBytes(version) == 2 || Integer.reverseBytes(version) == 3 ? " (a big-endian GGUF? only little-endian is supported)" : " (only 2 and 3)"));
            long nTensors = u64("tensor count"), nKv = u64("metadata count");
            // each metadata entry takes at least 13 bytes (key length, type, a 1-byte value), each tensor info 24
            if (nKv < 0 || nKv > (size - pos) / 13)
                throw fail("metadata count " + Long.toUnsignedString(nKv) + " is absurd for a file of " + size + " bytes: corrupt");
            if (nTensors < 0 || nTensors > (size - pos) / 24)
                throw fail("tensor count " + Long.toUnsignedString(nTensors) + " is absurd for a file of " + size + " bytes: corrupt");

            Map<String, GgufValue> kv = new LinkedHashMap<>();
            for (long i = 0; i < nKv; i++) {
                String key = string("metadata key #" + i);
                int t = u32("type of metadata '" + key + "'");
                GgufValueType type = GgufValueType.of(Integer.toUnsignedLong(t));
                if (type == null) throw fail("metadata '" + key + "' has unknown value type " + Integer.toUnsignedString(t));
                GgufValue v = new GgufValue(type, value(type, key, 0));
                if (kv.put(key, v) != null) throw fail("metadata key '" + key + "' appears twice");
            }
            GgufMetadata md = new GgufMetadata(file, kv);

            long alignment = DEFAULT_ALIGNMENT;
            if (md.has("general.alignment")) {
                Long a = md.integer("general.alignment");
                if (a <= 0 || a > (1 << 30) || Long.bitCount(a) != 1)
                    throw fail("metadata 'general.alignment' = " + a + " is not a power of two");
                alignment = a;
            }

            record Info(String name, long[] ne, GgmlType type, long offset, long bytes) {}
            Map<String, Info> infos = new LinkedHashMap<>();
            for (long i = 0; i < nTensors; i++) {
                String name = string("name of tensor #" + i);
                int nd = u32("dimension count of tensor '" + name + "'");
                if (nd < 0 || nd > MAX_DIMS) throw fail("tensor '" + name + "' has " + Integer.toUnsignedString(nd) + " dimensions (at most " + MAX_DIMS + ")");
                long[] ne = new long[nd];
                long numel = 1;
                for (int d = 0; d < nd; d++) {
                    ne[d] = u64("dimension " + d + " of tensor '" + name + "'");
                    if (ne[d] < 0) throw fail("tensor '" + name + "' has an absurd dimension " + Long.toUnsignedString(ne[d]));
                    try {
                        numel = Math.multiplyExact(numel, ne[d]);
                    } catch (ArithmeticException e) {
                        throw fail("tensor '" + name + "' has an absurd shape " + java.util.Arrays.toString(ne) + " (element count overflows)");
                    }
                }
                int t = u32("type of tensor '" + name + "'");
                GgmlType type = GgmlType.of(Integer.toUnsignedLong(t));
                if (type == null) throw fail("tensor '" + name + "' has unknown ggml type " + Integer.toUnsignedString(t));
                long offset = u64("offset of tensor '" + name + "'");
                long ne0 = nd == 0 ? 1 : ne[0];
                if (ne0 % type.blockSize != 0)
                    throw fail("tensor '" + name + "' of type " + type + " has rows of " + ne0 + " elements, not whole " + type.blockSize + "-element blocks");
                long bytes;
                try {
                    bytes = Math.multiplyExact(ne0 == 0 ? 0 : numel / ne0, type.rowBytes(ne0));
                } catch (ArithmeticException e) {
                    throw fail("tensor '" + name + "' is absurdly large");
                }
                if (infos.put(name, new Info(name, ne, type, offset, bytes)) != null) throw fail("tensor '" + name + "' appears twice");
            }

            long dataOffset = (pos + alignment - 1) / alignment * alignment;
            Map<String, GgufTensor> tensors = new LinkedHashMap<>();
            for (Info in : infos.values()) {
                if (in.offset < 0 || in.offset % alignment != 0)
                    throw fail("tensor '" + in.name + "' has offset " + Long.toUnsignedString(in.offset) + ", not a multiple of the alignment " + alignment);
                if (in.offset > size - dataOffset || in.bytes > size - dataOffset - in.offset)
                    throw fail("tensor '" + in.name + "' (" + in.type + ", ne=" + java.util.Arrays.toString(in.ne) + ", " + in.bytes
                            + " bytes at data offset " + in.offset + ") ends beyond the end of the file (" + size
                            + " bytes, data from byte " + dataOffset + "): truncated or corrupt");
                tensors.put(in.name, new GgufTensor(in.name, in.ne, in.type, in.offset, s.asSlice(dataOffset + in.offset, in.bytes)));
            }
            return new GgufFile(file, arena, version, md, tensors, alignment, dataOffset, size);
        }

        Object value(GgufValueType type, String key, int depth) throws GgufException {
            String what = "value of metadata '" + key + "'";
            return switch (type) {
                case UINT8 -> { need(1, what); yield (long) (s.get(ValueLayout.JAVA_BYTE, pos++) & 0xff); }
                case INT8 -> { need(1, what); yield (long) s.get(ValueLayout.JAVA_BYTE, pos++); }
                case UINT16 -> { need(2, what); long v = s.get(U16, pos) & 0xffff; pos += 2; yield v; }
                case INT16 -> { need(2, what); long v = s.get(U16, pos); pos += 2; yield v; }
                case UINT32 -> Integer.toUnsignedLong(u32(what));
                case INT32 -> (long) u32(what);
                case UINT64, INT64 -> u64(what);
                case FLOAT32 -> { need(4, what); float v = s.get(F32, pos); pos += 4; yield v; }
                case FLOAT64 -> { need(8, what); double v = s.get(F64, pos); pos += 8; yield v; }
                case BOOL -> {
                    need(1, what);
                    byte b = s.get(ValueLayout.JAVA_BYTE, pos++);
                    if (b != 0 && b != 1) throw fail("metadata '" + key + "' is a bool with byte value " + (b & 0xff));
                    yield b == 1;
                }
                case STRING -> string(what);
                case ARRAY -> array(key, depth);
            };
        }

        GgufValue.Array array(String key, int depth) throws GgufException {
            if (depth >= MAX_NESTING) throw fail("metadata '" + key + "' nests arrays more than " + MAX_NESTING + " deep");
            int et = u32("array type of metadata '" + key + "'");
            GgufValueType type = GgufValueType.of(Integer.toUnsignedLong(et));
            if (type == null) throw fail("metadata '" + key + "' is an array of unknown value type " + Integer.toUnsignedString(et));
            long n = u64("array length of metadata '" + key + "'");
            if (n < 0 || n > (size - pos) / type.minBytes || n > Integer.MAX_VALUE - 16)
                throw fail("metadata '" + key + "' is an array of " + Long.toUnsignedString(n) + " " + type
                        + " elements, more than the rest of the file can hold: truncated or corrupt");
            int len = (int) n;
            Object elements;
            switch (type) {
                case FLOAT32 -> {
                    float[] f = new float[len];
                    MemorySegment.copy(s, F32, pos, f, 0, len);
                    pos += 4L * len;
                    elements = f;
                }
                case FLOAT64 -> {
                    double[] d = new double[len];
                    MemorySegment.copy(s, F64, pos, d, 0, len);
                    pos += 8L * len;
                    elements = d;
                }
                case BOOL -> {
                    boolean[] b = new boolean[len];
                    for (int i = 0; i < len; i++) b[i] = (Boolean) value(type, key, depth + 1);
                    elements = b;
                }
                case STRING -> {
                    String[] a = new String[len];
                    for (int i = 0; i < len; i++) a[i] = string("element " + i + " of metadata '" + key + "'");
                    elements = a;
                }
                case ARRAY -> {
                    GgufValue.Array[] a = new GgufValue.Array[len];
                    for (int i = 0; i < len; i++) a[i] = array(key, depth + 1);
                    elements = a;
                }
                default -> {
                    long[] l = new long[len];
                    for (int i = 0; i < len; i++) l[i] = (Long) value(type, key, depth + 1);
                    elements = l;
                }
            }
            return new GgufValue.Array(type, elements);
        }
    }
}

package dev.llamaadapter.io;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * One safetensors file, memory-mapped read-only. Layout: an 8-byte little-endian header length N, N
 * bytes of JSON {@code {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {..}}}, then
 * the data buffer that the offsets index. Tensor data is never copied into the heap: each
 * {@link TensorInfo#data()} is a slice of the mapping, so a multi-gigabyte model costs page cache, not
 * Java heap. The mapping lives in a shared arena (kernels read it from many threads) until {@link #close()}.
 */
public final class SafeTensors implements TensorSource {

    private static final ValueLayout.OfLong U64_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Path path;
    private final Arena arena;
    private final Map<String, TensorInfo> tensors; // header order
    private final Map<String, String> metadata;
    private boolean closed;

    private SafeTensors(Path path, Arena arena, Map<String, TensorInfo> tensors, Map<String, String> metadata) {
        this.path = path;
        this.arena = arena;
        this.tensors = Collections.unmodifiableMap(tensors);
        this.metadata = metadata;
    }

    /** Maps and validates the file; every problem is an IOException naming the file (and tensor). */
    public static SafeTensors open(Path file) throws IOException {
        Arena arena = Arena.ofShared();
        try {
            MemorySegment all = map(file, arena);
            long size = all.byteSize();
            if (size < 8)
                throw new SafeTensorsException(file, null, "is " + size + " bytes, too short for the 8-byte header length");
            long n = all.get(U64_LE, 0); // unsigned in the format: a negative long is an absurd length too
            if (n < 0 || n > SafeTensorsHeader.MAX_HEADER_BYTES)
                throw new SafeTensorsException(file, null, "header length " + Long.toUnsignedString(n)
                        + " is absurd (limit " + SafeTensorsHeader.MAX_HEADER_BYTES + "): not a safetensors file?");
            if (n > size - 8)
                throw new SafeTensorsException(file, null, "header length " + n + " exceeds the file ("
                        + size + " bytes, " + (size - 8) + " after the length): truncated or not a safetensors file?");

            byte[] json = all.asSlice(8, n).toArray(ValueLayout.JAVA_BYTE);
            MemorySegment data = all.asSlice(8 + n);
            SafeTensorsHeader h = SafeTensorsHeader.parse(file, json, data.byteSize(), n);

            Map<String, TensorInfo> tensors = new LinkedHashMap<>();
            for (SafeTensorsHeader.Entry e : h.tensors.values())
                tensors.put(e.name(), new TensorInfo(e.name(), e.dtype(), e.shape(), data.asSlice(e.begin(), e.end() - e.begin())));
            return new SafeTensors(file, arena, tensors, h.metadataView());
        } catch (IOException | RuntimeException | Error e) {
            arena.close(); // nothing escapes: unmap before reporting
            throw e;
        }
    }

    private static MemorySegment map(Path file, Arena arena) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            // the mapping outlives the channel; it is released with the arena
            return ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
        } catch (NoSuchFileException e) {
            throw new SafeTensorsException(file, null, "no such file", e);
        } catch (SafeTensorsException e) {
            throw e;
        } catch (IOException e) {
            throw new SafeTensorsException(file, null, "cannot be mapped: " + e, e);
        }
    }

    @Override
    public Path path() {
        return path;
    }

    @Override
    public Map<String, String> metadata() {
        return metadata;
    }

    /** Tensor names in header order. */
    @Override
    public Set<String> names() {
        return tensors.keySet();
    }

    @Override
    public TensorInfo info(String name) {
        return tensors.get(name);
    }

    @Override
    public Path fileOf(String name) {
        return path;
    }

    /** Unmaps the file. Idempotent. Slices handed out before fail with IllegalStateException afterwards. */
    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        arena.close();
    }

    @Override
    public String toString() {
        return "SafeTensors[" + path + ", " + tensors.size() + " tensors]";
    }
}

package dev.llamaadapter.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Hand-made safetensors bytes, for inputs our writer would never produce. */
final class RawFiles {

    private RawFiles() {
    }

    /** An 8-byte length, the header as given, then {@code dataBytes} bytes of data. */
    static Path write(Path file, String header, int dataBytes) throws IOException {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        return write(file, h.length, h, dataBytes);
    }

    /** Like {@link #write(Path, String, int)} but with a header length field that may lie. */
    static Path write(Path file, long declaredHeaderLength, byte[] header, int dataBytes) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(8 + header.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(declaredHeaderLength).put(header);
        for (int i = 0; i < dataBytes; i++) b.put((byte) i);
        Files.write(file, b.array());
        return file;
    }
}

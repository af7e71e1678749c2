package dev.llamaadapter.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Writes a file so that readers see either the old content or the complete new content, never a
 * prefix: the bytes go to a temporary file in the same directory (same file system, so the rename is
 * atomic), are forced to disk, and only then renamed over the target. A crash mid-write leaves at most
 * a stray hidden {@code .name.*.tmp} file. Replacing a file that is currently memory-mapped is safe:
 * the old mapping keeps the old inode.
 */
public final class AtomicFile {

    private AtomicFile() {
    }

    /** Produces the file's content into an open channel. */
    @FunctionalInterface
    public interface Body {
        void writeTo(FileChannel out) throws IOException;
    }

    /** Atomically replaces {@code target} with what {@code body} writes; creates missing parent directories. */
    public static void write(Path target, Body body) throws IOException {
        Path abs = target.toAbsolutePath();
        Path dir = abs.getParent();
        Files.createDirectories(dir);
        Path tmp = null;
        boolean moved = false;
        try {
            FileChannel ch = null;
            while (ch == null) { // CREATE_NEW, not createTempFile: keeps the umask's permissions for the final file
                tmp = dir.resolve("." + abs.getFileName() + "." + Long.toHexString(ThreadLocalRandom.current().nextLong()) + ".tmp");
                try {
                    ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
                } catch (FileAlreadyExistsException retry) {
                    tmp = null;
                }
            }
            try (FileChannel out = ch) {
                body.writeTo(out);
                out.force(true);
            }
            Files.move(tmp, abs, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            moved = true;
            syncDirectory(dir);
        } finally {
            if (!moved && tmp != null) Files.deleteIfExists(tmp);
        }
    }

    /** Atomically replaces {@code target} with {@code bytes}. */
    public static void write(Path target, byte[] bytes) throws IOException {
        write(target, out -> writeFully(out, ByteBuffer.wrap(bytes)));
    }

    /** Writes all remaining bytes of {@code buf} (a single write may be partial). */
    public static void writeFully(FileChannel out, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) out.write(buf);
    }

    /** Makes the rename itself durable. Not every platform can open a directory; there it is best effort. */
    private static void syncDirectory(Path dir) {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException | UnsupportedOperationException ignored) {
            // e.g. Windows: the rename is still atomic, only its durability after power loss is not guaranteed
        }
    }
}

package dev.llamaadapter.io;

import dev.llamaadapter.io.gguf.GgufFile;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * What a weights file is, told by its structure, never by its name alone. Every reader that has to
 * choose between formats asks here, so the rules live in one place and are tested together.
 * <p>
 * The order matters: formats whose structure can be checked come first, heuristics last. A safetensors
 * file starts with its header length as a little-endian u64, so a header of 640, 896, 1152 or 1408 bytes
 * begins {@code 80 02..05}, which is also how a pickle begins; only after the safetensors structure
 * (a sane length, {@code {} at byte 8, {@code }} closing the header) has failed does a pickle PROTO
 * opcode mean anything. A llama2.c checkpoint has no magic at all (dim = 640 begins {@code 80 02} too):
 * it is recognised by its header implying exactly the file's size.
 */
public enum FileKind {
    SAFETENSORS("a safetensors file"),
    GGUF("a GGUF file"),
    TORCH_ZIP("a torch.save zip archive"),
    LLAMA2C("a llama2.c checkpoint"),
    /** A pickle stream: what torch.save wrote before PyTorch 1.6. */
    PICKLE("a Python pickle (the legacy torch.save format)"),
    /** Missing, unreadable, empty, or none of the above: the reader chosen by name says what is wrong. */
    UNKNOWN("an unrecognised file");

    private final String description;

    FileKind(String description) {
        this.description = description;
    }

    /** e.g. "a safetensors file", for messages. */
    public String description() {
        return description;
    }

    /** Bytes read from the start: the llama2.c header (7 × int32) is the longest fixed part looked at. */
    private static final int HEAD = 28;
    /** How far back from the end of a safetensors header to look for its closing brace past the padding. */
    private static final int TAIL = 4096;

    /** The kind of {@code file}; UNKNOWN for a directory, a missing or an unreadable file. */
    public static FileKind of(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            ByteBuffer head = read(ch, 0, (int) Math.min(size, HEAD));
            if (isSafetensors(ch, head, size)) return SAFETENSORS;
            if (head.limit() >= 4 && head.getInt(0) == GgufFile.MAGIC) return GGUF;
            if (head.limit() >= 4 && head.get(0) == 'P' && head.get(1) == 'K' && head.get(2) == 3 && head.get(3) == 4) return TORCH_ZIP;
            if (isLlama2c(head, size)) return LLAMA2C;
            if (head.limit() >= 2 && (head.get(0) & 0xff) == 0x80 && head.get(1) >= 2 && head.get(1) <= 5) return PICKLE;
            return UNKNOWN;
        } catch (IOException | RuntimeException e) {
            return UNKNOWN;
        }
    }

    /** u64 length N with 2 ≤ N ≤ what the file holds, '{' at byte 8, and '}' as the header's last byte before any padding spaces. */
    static boolean isSafetensors(FileChannel ch, ByteBuffer head, long size) throws IOException {
        if (head.limit() < 10) return false;
        long n = head.getLong(0);
        if (n < 2 || n > SafeTensorsHeader.MAX_HEADER_BYTES || n > size - 8) return false;
        if (head.get(8) != '{') return false;
        int w = (int) Math.min(n, TAIL);
        ByteBuffer tail = read(ch, 8 + n - w, w);
        for (int i = tail.limit() - 1; i >= 0; i--) {
            byte b = tail.get(i);
            if (b == ' ' || b == '\n' || b == '\r' || b == '\t') continue;
            return b == '}';
        }
        return false;
    }

    /** Seven plausible int32 whose implied layout is exactly the file's size. */
    static boolean isLlama2c(ByteBuffer head, long size) {
        if (head.limit() < HEAD) return false;
        int[] h = new int[7];
        for (int i = 0; i < 7; i++) h[i] = head.getInt(4 * i);
        return Llama2cSource.impliedSize(h) == size;
    }

    private static ByteBuffer read(FileChannel ch, long at, int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
        while (b.hasRemaining() && ch.read(b, at + b.position()) >= 0) { }
        return b.flip();
    }
}

package dev.llamaadapter.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Reads a text file that must be UTF-8. The JDK's own error for a bad byte is "Input length = 1", which
 * names neither the file nor the place; this one says which file, line and byte, and what to do.
 */
public final class TextFiles {
    private TextFiles() {}

    /** The whole file as text; a byte sequence that is not UTF-8 is an IOException naming file, line and offset. */
    public static String readUtf8(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        CharsetDecoder dec = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate(bytes.length);
        CoderResult r = dec.decode(in, out, true);
        if (r.isUnderflow()) r = dec.flush(out);
        if (r.isError()) {
            int at = in.position();
            int line = 1;
            for (int i = 0; i < at; i++) if (bytes[i] == '\n') line++;
            throw new IOException(file + ":" + line + ": not UTF-8 (byte 0x" + String.format(Locale.ROOT, "%02X", bytes[at] & 0xff) + " at offset " + at
                    + "): save the file as UTF-8");
        }
        return out.flip().toString();
    }

}

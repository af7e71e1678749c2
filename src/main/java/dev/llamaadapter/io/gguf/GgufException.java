package dev.llamaadapter.io.gguf;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A GGUF file that cannot be read or used as asked. The message starts with the file, then names the
 * tensor or metadata key where one is involved: {@code /m/x.gguf: tensor 'blk.0.attn_q.weight' ends at
 * byte 9000, beyond the file (8192 bytes): truncated?}.
 */
public class GgufException extends IOException {

    private final Path file;

    public GgufException(Path file, String detail) {
        this(file, detail, null);
    }

    public GgufException(Path file, String detail, Throwable cause) {
        super(file + ": " + detail, cause);
        this.file = file;
    }

    /** The file at fault. */
    public Path file() {
        return file;
    }
}

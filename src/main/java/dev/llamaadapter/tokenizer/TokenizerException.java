package dev.llamaadapter.tokenizer;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A tokenizer file (or model directory) that cannot be used. The message starts with the file so that a
 * user can find the broken input without a stack trace:
 * {@code /m/tokenizer.model: corrupt SentencePiece model: truncated field at byte 4096}.
 */
public class TokenizerException extends IOException {

    private final Path file;

    public TokenizerException(Path file, String detail) {
        this(file, detail, null);
    }

    public TokenizerException(Path file, String detail, Throwable cause) {
        super(file + ": " + detail, cause);
        this.file = file;
    }

    /** The file or directory at fault. */
    public Path file() {
        return file;
    }
}

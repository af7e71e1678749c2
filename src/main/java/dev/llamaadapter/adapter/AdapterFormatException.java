package dev.llamaadapter.adapter;

import java.io.IOException;
import java.nio.file.Path;

/**
 * An adapter, in any of the formats {@link AdapterFormats} reads, that cannot be used as asked: missing
 * or wrong config fields, unexpected tensors, shapes that do not fit each other or the base model. The
 * message starts with the file (or directory), then names the tensor or field at fault.
 */
public class AdapterFormatException extends IOException {

    private final Path file;

    public AdapterFormatException(Path file, String detail) {
        this(file, detail, null);
    }

    public AdapterFormatException(Path file, String detail, Throwable cause) {
        super(file + ": " + detail, cause);
        this.file = file;
    }

    /** The file or directory at fault. */
    public Path file() {
        return file;
    }
}

package dev.llamaadapter.io;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A safetensors file (or model directory) that cannot be read as asked. The message always starts with
 * the file, then names the tensor where one is involved, so a user can find the broken input without a
 * stack trace: {@code /m/model.safetensors: tensor 'lm_head.weight' has shape [97, 64], expected [97, 32]}.
 */
public class SafeTensorsException extends IOException {

    private final Path file;
    private final String tensor;

    public SafeTensorsException(Path file, String tensor, String detail) {
        this(file, tensor, detail, null);
    }

    public SafeTensorsException(Path file, String tensor, String detail, Throwable cause) {
        super(file + ": " + (tensor == null ? "" : "tensor '" + tensor + "' ") + detail, cause);
        this.file = file;
        this.tensor = tensor;
    }

    /** The file (or directory) at fault. */
    public Path file() {
        return file;
    }

    /** The tensor at fault, or null when the problem is not about one tensor. */
    public String tensor() {
        return tensor;
    }
}

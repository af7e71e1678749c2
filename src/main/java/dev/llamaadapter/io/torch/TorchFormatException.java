package dev.llamaadapter.io.torch;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A torch.save checkpoint (a zip of a pickle and raw storages) that cannot be read as asked: truncated or
 * corrupt zip, a pickle opcode or global outside what a tensor state dict needs, a storage that does not
 * hold its tensor. The message always starts with the file, so the broken input can be found without a
 * stack trace: {@code /a/adapter.pth: data.pkl: global os.system is not allowed ...}.
 */
public class TorchFormatException extends IOException {

    private final Path file;

    public TorchFormatException(Path file, String detail) {
        this(file, detail, null);
    }

    public TorchFormatException(Path file, String detail, Throwable cause) {
        super(file + ": " + detail, cause);
        this.file = file;
    }

    /** The file at fault. */
    public Path file() {
        return file;
    }
}

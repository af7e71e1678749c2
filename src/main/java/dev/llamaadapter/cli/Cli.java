package dev.llamaadapter.cli;

import dev.llamaadapter.tokenizer.Tokenizer;

import java.nio.file.Files;
import java.nio.file.Path;

/** Small helpers shared by commands. */
final class Cli {
    private Cli() {}

    /** The model's tokenizer, or null when its directory has none (ids still work). */
    static Tokenizer tokenizerOrNull(Path model) throws java.io.IOException {
        Path dir = Files.isDirectory(model) ? model : model.toAbsolutePath().getParent();
        for (String n : new String[]{"tokenizer.model", "tokenizer.json", "original/tokenizer.model"})
            if (Files.exists(dir.resolve(n))) return Tokenizer.load(dir);
        return null;
    }
}

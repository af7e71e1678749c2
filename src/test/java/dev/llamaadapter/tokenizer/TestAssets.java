package dev.llamaadapter.tokenizer;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** The shared tokenizer assets (read-only, never copied into the project); tests skip when they are absent. */
final class TestAssets {
    private TestAssets() {}

    static final Path SHARED = Path.of("../shared/assets");
    static final Path LLAMA2 = SHARED.resolve("tokenizers/llama2/tokenizer.model");
    static final Path LLAMA3 = SHARED.resolve("tokenizers/llama3/tokenizer.model");
    static final Path STORIES = SHARED.resolve("stories260K");

    static Path require(Path p) {
        assumeTrue(Files.exists(p), "shared assets absent: " + p);
        return p;
    }
}

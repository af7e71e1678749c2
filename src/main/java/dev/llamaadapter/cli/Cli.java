package dev.llamaadapter.cli;

import dev.llamaadapter.model.BaseModel;
import dev.llamaadapter.tokenizer.Tokenizer;

import java.nio.file.Path;

/** Small helpers shared by commands. */
final class Cli {
    private Cli() {}

    /**
     * The base model's tokenizer (beside a Hugging Face directory, inside a GGUF, beside a llama2.c
     * checkpoint), or null when it has none: token ids still work.
     */
    static Tokenizer tokenizerOrNull(BaseModel base) {
        try {
            return base.tokenizer();
        } catch (java.io.IOException e) {
            return null;
        }
    }

    /** Kept for callers that only have the path: opens nothing, looks beside it. */
    static Tokenizer tokenizerOrNull(Path model) throws java.io.IOException {
        try (BaseModel base = BaseModel.open(model)) {
            return tokenizerOrNull(base);
        }
    }
}

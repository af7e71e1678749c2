package dev.llamaadapter.cli;

import dev.llamaadapter.model.BaseModel;
import dev.llamaadapter.tokenizer.Tokenizer;

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
}

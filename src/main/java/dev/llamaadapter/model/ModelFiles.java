package dev.llamaadapter.model;

import dev.llamaadapter.io.GgufSource;
import dev.llamaadapter.io.Llama2cSource;
import dev.llamaadapter.io.gguf.GgufException;
import dev.llamaadapter.io.gguf.GgufValue;

import java.util.List;
import java.util.Map;

/** The model configuration that GGUF metadata and llama2.c headers carry, as the engine's {@link LlamaConfig}, and back. */
final class ModelFiles {
    private ModelFiles() {}

    /** The config of a GGUF model: see {@link GgufConfig#read}. */
    static LlamaConfig fromGguf(GgufSource src) throws GgufException {
        return GgufConfig.read(src.gguf());
    }

    /** The config of a llama2.c checkpoint: its header, with llama2.c's fixed eps 1e-5 and theta 10000, BOS 1 and EOS 2. */
    static LlamaConfig fromLlama2c(Llama2cSource src) throws java.io.IOException {
        Llama2cSource.Header h = src.header();
        try {
            return new LlamaConfig(h.dim(), h.hiddenDim(), h.nLayers(), h.nHeads(), h.nKvHeads(), h.vocabSize(), 1e-5,
                    LlamaConfig.DEFAULT_ROPE_THETA, h.sharedClassifier(), "float32", h.seqLen(), 1, List.of(2), "silu");
        } catch (IllegalArgumentException e) {
            throw new java.io.IOException(src.path() + ": " + e.getMessage());
        }
    }

    /** The GGUF metadata of a config (llama.cpp's keys for its family), into {@code out}. */
    static void putGguf(LlamaConfig c, String name, Map<String, GgufValue> out) {
        GgufConfig.write(c, name, out);
    }
}

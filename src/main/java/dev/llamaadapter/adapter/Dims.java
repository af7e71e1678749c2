package dev.llamaadapter.adapter;

import dev.llamaadapter.model.LlamaConfig;

/** What an adapter reader knows of the base model: layers N, hidden size D, heads H; 0 where unknown. */
record Dims(int n, int d, int h) {
    static final Dims UNKNOWN = new Dims(0, 0, 0);

    /** Refuses an adapter too large for the engine's arrays (L·K·D values), before any is allocated. */
    static void checkSize(java.nio.file.Path file, int K, int L, int D, int H) throws AdapterFormatException {
        if ((long) L * K * D > Integer.MAX_VALUE - 16 || (long) L * H > Integer.MAX_VALUE - 16)
            throw new AdapterFormatException(file, "adapter of " + L + " × " + K + " × " + D + " prompt values is too large");
    }

    static Dims of(LlamaConfig c) {
        return c == null ? UNKNOWN : new Dims(c.numHiddenLayers(), c.hiddenSize(), c.numAttentionHeads());
    }
}

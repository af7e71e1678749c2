package dev.llamaadapter.adapter;

import dev.llamaadapter.model.LlamaConfig;

/** What an adapter reader knows of the base model: layers N, hidden size D, heads H; 0 where unknown. */
record Dims(int n, int d, int h) {
    static final Dims UNKNOWN = new Dims(0, 0, 0);

    static Dims of(LlamaConfig c) {
        return c == null ? UNKNOWN : new Dims(c.numHiddenLayers(), c.hiddenSize(), c.numAttentionHeads());
    }
}

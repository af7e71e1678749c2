package dev.llamaadapter.model;

/**
 * Keys (after RoPE) and values of every layer for a fixed number of sequence slots, so decoding
 * processes each new token once. Slot s, position p of layer i lives at k[i][(s·maxSeq + p)·kw].
 */
public final class KvCache {
    public final int slots, maxSeq, layers, kw;
    final float[][] k, v; // [layer][slots·maxSeq·kw]

    public KvCache(LlamaConfig c, int slots, int maxSeq) {
        this.slots = slots;
        this.maxSeq = maxSeq;
        this.layers = c.numHiddenLayers();
        this.kw = c.kvDim();
        long per = (long) slots * maxSeq * kw;
        if (per > Integer.MAX_VALUE - 16) throw new IllegalArgumentException("KV cache of " + slots + " × " + maxSeq + " positions is too large");
        k = new float[layers][(int) per];
        v = new float[layers][(int) per];
    }

    /** Bytes held (keys and values of all layers). */
    public long bytes() {
        return 2L * layers * slots * maxSeq * kw * 4;
    }

    /** Bytes a cache of this shape would hold, without making one. */
    public static long bytes(LlamaConfig c, int slots, int maxSeq) {
        return 2L * c.numHiddenLayers() * slots * maxSeq * c.kvDim() * 4;
    }

    int offset(int slot, int pos) {
        return (slot * maxSeq + pos) * kw;
    }
}

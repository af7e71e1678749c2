package dev.llamaadapter.model;

/**
 * An adapter made ready for inference over one base: each adapted layer's prompt keys and values
 * (through that layer's frozen projections, no RoPE) and its gate weights γ = act(g), computed once
 * and reused for every token of every request (PEFT recomputes them at each forward).
 */
public final class PreparedPrompts {
    public final int firstLayer, adapterLen, heads;
    final float[][] ak, av; // [L][K·kw]
    final float[][] gamma;  // [L][H]

    PreparedPrompts(int firstLayer, int adapterLen, int heads, float[][] ak, float[][] av, float[][] gamma) {
        this.firstLayer = firstLayer;
        this.adapterLen = adapterLen;
        this.heads = heads;
        this.ak = ak;
        this.av = av;
        this.gamma = gamma;
    }

    /** Bytes held (what one more loaded adapter costs at inference). */
    public long bytes() {
        long n = 0;
        for (int j = 0; j < ak.length; j++) n += ak[j].length + av[j].length + gamma[j].length;
        return n * 4;
    }
}

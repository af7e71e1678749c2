package dev.llamaadapter.model;

import java.util.Arrays;

/**
 * The trainable part of LLaMA-Adapter (spec §2), fp32 whatever the base dtype: the adaption prompts
 * P_j (K rows of D) for the top L layers and one gate per head of each adapted layer. Also used, with
 * the same shapes, to hold their gradients. With {@link GateSharing#PER_LAYER} the layer has one gate that
 * all its heads share: {@link #gate} still holds a value per head (what the kernels read), all equal.
 */
public final class AdaptionPrompts {
    public final int adapterLen;     // K
    public final int adapterLayers;  // L
    public final int dim;            // D
    public final int heads;          // H
    public final GateActivation gateActivation;
    public final GateSharing gates;  // per head (the paper's) or one per layer shared by its heads (PEFT's)
    public final float[] prompt;     // [L·K, D]: rows j·K..(j+1)·K−1 are P_j, for layer N−L+j
    public final float[] gate;       // [L, H]: raw gate g of head h in adapted layer j
    public final VisualProjection visual; // the multimodal adapter's projection (spec §5); null for a text-only adapter

    public AdaptionPrompts(int adapterLen, int adapterLayers, int dim, int heads, GateActivation gateActivation) {
        this(adapterLen, adapterLayers, dim, heads, gateActivation, null);
    }

    /** With a visual projection (null: text-only); its width must be D. */
    public AdaptionPrompts(int adapterLen, int adapterLayers, int dim, int heads, GateActivation gateActivation, VisualProjection visual) {
        this(adapterLen, adapterLayers, dim, heads, gateActivation, GateSharing.PER_HEAD, visual);
    }

    /** With the gates' sharing; all gates start at 0, so a per-layer adapter starts consistent. */
    public AdaptionPrompts(int adapterLen, int adapterLayers, int dim, int heads, GateActivation gateActivation, GateSharing gates,
                           VisualProjection visual) {
        if (adapterLen <= 0) throw new IllegalArgumentException("adapter_len must be positive, got " + adapterLen);
        if (adapterLayers <= 0) throw new IllegalArgumentException("adapter_layers must be positive, got " + adapterLayers);
        this.adapterLen = adapterLen;
        this.adapterLayers = adapterLayers;
        this.dim = dim;
        this.heads = heads;
        this.gateActivation = gateActivation;
        this.gates = java.util.Objects.requireNonNull(gates, "gates");
        this.prompt = new float[adapterLayers * adapterLen * dim];
        this.gate = new float[adapterLayers * heads];
        if (visual != null && visual.dim != dim)
            throw new IllegalArgumentException("visual_proj gives " + visual.dim + "-wide tokens but the adapter's dim is " + dim);
        this.visual = visual;
    }

    /** A copy of the prompts and gates with a visual projection added or replaced. */
    public AdaptionPrompts withVisual(VisualProjection v) {
        AdaptionPrompts a = new AdaptionPrompts(adapterLen, adapterLayers, dim, heads, gateActivation, gates, v);
        System.arraycopy(prompt, 0, a.prompt, 0, prompt.length);
        System.arraycopy(gate, 0, a.gate, 0, gate.length);
        return a;
    }

    /** Zero-init adapter as the paper trains it: prompts N(0,1) (nn.Embedding's default), gates 0. */
    public static AdaptionPrompts init(int K, int L, int D, int H, GateActivation act, long seed) {
        return init(K, L, D, H, act, GateSharing.PER_HEAD, seed);
    }

    /** As {@link #init(int, int, int, int, GateActivation, long)} with the gates' sharing (the prompts are drawn the same). */
    public static AdaptionPrompts init(int K, int L, int D, int H, GateActivation act, GateSharing gates, long seed) {
        AdaptionPrompts a = new AdaptionPrompts(K, L, D, H, act, gates, null);
        java.util.Random r = new java.util.Random(seed);
        for (int i = 0; i < a.prompt.length; i++) a.prompt[i] = (float) r.nextGaussian();
        return a;
    }

    /** Same shapes, all zero: a gradient buffer. */
    public AdaptionPrompts zerosLike() {
        return new AdaptionPrompts(adapterLen, adapterLayers, dim, heads, gateActivation, gates, visual == null ? null : visual.zerosLike());
    }

    public void zero() {
        Arrays.fill(prompt, 0f);
        Arrays.fill(gate, 0f);
        if (visual != null) visual.zero();
    }

    /** Index of the lowest adapted layer in a model of n layers. */
    public int firstLayer(int nLayers) {
        return nLayers - adapterLayers;
    }

    /** Trainable parameter count L·K·D + L·H, or + L with per-layer gates (+ the visual projection's). */
    public long parameterCount() {
        long gateParams = gates == GateSharing.PER_LAYER ? adapterLayers : gate.length;
        return (long) prompt.length + gateParams + (visual == null ? 0 : visual.parameterCount());
    }

    /**
     * Σ_h gate[j, h]: used on a gradient buffer, the gradient of adapted layer j's one shared gate (every head
     * uses that value, so the chain rule adds the heads' gradients). Summed in double, in head order.
     */
    public float headSum(int j) {
        double s = 0;
        for (int h = 0; h < heads; h++) s += gate[j * heads + h];
        return (float) s;
    }

    /**
     * The first adapted layer j (0-based among the adapted ones) whose heads hold different gate values, or
     * −1: what a per-layer adapter must never have, and what PEFT's one gate per layer cannot hold.
     */
    public int firstLayerWithUnequalHeads() {
        for (int j = 0; j < adapterLayers; j++)
            for (int h = 1; h < heads; h++)
                if (Float.compare(gate[j * heads + h], gate[j * heads]) != 0) return j;
        return -1;
    }
}

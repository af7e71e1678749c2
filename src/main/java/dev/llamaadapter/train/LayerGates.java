package dev.llamaadapter.train;

import dev.llamaadapter.model.AdaptionPrompts;
import dev.llamaadapter.model.GateSharing;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Per-layer gates as a trainable parameter (train --gates per-layer, PEFT's model). The sharing lives here,
 * at the parameter level, not in the attention kernels: the engine keeps computing with a gate per head
 * ([L, H] in {@link AdaptionPrompts#gate}) and its backward keeps producing a gradient per head. What the
 * optimizer, the checkpoint and the gradient norm see is one value per layer: its gradient is the sum over
 * the layer's heads of the per-head gradient (the chain rule for a value used by every head), and after
 * each change to it the value is written back into every head.
 */
final class LayerGates {
    /** The name and the checkpoint shape: the per-head param's [L, 1, H, 1, 1] with one head. */
    static final String NAME = "gates";

    private final AdaptionPrompts p, g;
    private final int L, H;
    private final float[] value; // [L] the raw gate of each adapted layer
    private final float[] grad;  // [L] Σ_h of the per-head gradient

    /** For p's per-layer gates, with g (same shapes) as the engine's per-head gradient buffer. */
    LayerGates(AdaptionPrompts p, AdaptionPrompts g) {
        if (p.gates != GateSharing.PER_LAYER) throw new IllegalArgumentException("the adapter has per-head gates");
        int j = p.firstLayerWithUnequalHeads();
        if (j >= 0) throw new IllegalArgumentException("adapted layer " + j + " has different gates per head: not a per-layer adapter");
        this.p = p; this.g = g; this.L = p.adapterLayers; this.H = p.heads;
        value = new float[L];
        grad = new float[L];
        for (int l = 0; l < L; l++) value[l] = p.gate[l * H];
    }

    /** The param to train: decays like the per-head gates (Param.decays names "gates"). */
    Param param() {
        long[] shape = {L, 1, 1, 1, 1};
        return new Param(NAME, value, grad, shape, Param.decays(NAME, shape));
    }

    /** params(p, g) with the per-head gates replaced by the per-layer param, in the same place. */
    List<Param> replaceIn(List<Param> perHead) {
        List<Param> out = new ArrayList<>(perHead);
        for (int i = 0; i < out.size(); i++) if (out.get(i).name().equals(NAME)) out.set(i, param());
        return out;
    }

    /** Writes each layer's value into all its heads: after an optimizer step, a resume, a new value from a driver. */
    void toHeads() {
        for (int l = 0; l < L; l++) Arrays.fill(p.gate, l * H, (l + 1) * H, value[l]);
    }

    /**
     * Adds the heads' gradients of each layer into the per-layer gradient and clears them, so the next
     * micro-batch's backward (which adds) starts from zero.
     */
    void foldGradient() {
        for (int l = 0; l < L; l++) grad[l] += g.headSum(l);
        Arrays.fill(g.gate, 0f);
    }

    /**
     * What per-layer gates add to a run's identity: a checkpoint of per-head gates is not resumed as per-layer
     * (and per-head runs keep the identity they always had).
     */
    static String describe(LayerGates shared) {
        return shared == null ? "" : " gates=per-layer";
    }

    /** The per-layer gates of p, or null for per-head gates (nothing to share). */
    static LayerGates of(AdaptionPrompts p, AdaptionPrompts g) {
        return p.gates == GateSharing.PER_LAYER ? new LayerGates(p, g) : null;
    }
}

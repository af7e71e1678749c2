package dev.llamaadapter.model;

/**
 * A config's family resolved into the numbers and switches the engine runs (spec §7); for a plain LLaMA
 * every switch is off and headDim = D / H.
 *
 * @param family         the decoder family
 * @param headDim        hd (may differ from D / H: q, k, v and o shapes follow it)
 * @param rope           rope_scaling
 * @param rotaryDim      dimensions of each head that RoPE rotates (hd, or hd·partial_rotary_factor)
 * @param qkvBias        q, k, v projections carry biases
 * @param oBias          o_proj carries a bias (llama attention_bias)
 * @param mlpBias        gate, up and down projections carry biases (llama mlp_bias)
 * @param slidingWindow  W: query i sees keys j with i − W &lt; j ≤ i on the layers the family windows; 0 = none
 * @param queryScale     multiplies q·k (1/sqrt(hd), or gemma2's query_pre_attn_scalar^−1/2)
 * @param attnSoftcap    attention scores become c·tanh(s/c); 0 = none (gemma2)
 * @param finalSoftcap   logits become c·tanh(z/c); 0 = none (gemma2)
 */
public record Architecture(Family family, int headDim, RopeScaling rope, int rotaryDim, boolean qkvBias, boolean oBias, boolean mlpBias,
                           int slidingWindow, double queryScale, double attnSoftcap, double finalSoftcap) {

    public Architecture {
        if (headDim <= 0) throw new IllegalArgumentException("head_dim " + headDim + " must be positive");
        if (rotaryDim % 2 != 0)
            throw new IllegalArgumentException((rotaryDim == headDim ? "head_dim " : "the rotated part of head_dim, ") + rotaryDim
                    + ", is odd: RoPE rotates pairs of dimensions");
        if (rotaryDim <= 0 || rotaryDim > headDim)
            throw new IllegalArgumentException("the rotated dimensions " + rotaryDim + " must be within head_dim " + headDim);
        if (slidingWindow < 0) throw new IllegalArgumentException("sliding_window " + slidingWindow + " must not be negative");
    }

    /** Plain LLaMA of head size hd. */
    public static Architecture llama(int headDim) {
        return new Architecture(Family.LLAMA, headDim, RopeScaling.NONE, headDim, false, false, false, 0, 1 / Math.sqrt(headDim), 0, 0);
    }

    /** The same switches under another family. */
    public Architecture withFamily(Family f) {
        return new Architecture(f, headDim, rope, rotaryDim, qkvBias, oBias, mlpBias, slidingWindow, queryScale, attnSoftcap, finalSoftcap);
    }

    /** True when this is LLaMA exactly as spec §1 states it (what the GGUF writer and the official formats assume). */
    public boolean isPlainLlama() {
        return family == Family.LLAMA && "none".equals(rope.type()) && rotaryDim == headDim && !qkvBias && !oBias && !mlpBias;
    }

    /** The sliding window of layer i (0: causal only). */
    public int windowOf(int layer) {
        if (slidingWindow == 0) return 0;
        return switch (family.window()) {
            case NONE -> 0;
            case EVERY_LAYER, OPT_IN -> slidingWindow; // OPT_IN: the reader keeps the window only when use_sliding_window is set
            case EVEN_LAYERS -> layer % 2 == 0 ? slidingWindow : 0;
        };
    }

    /** A one-line description for inspect and fingerprints. */
    public String describe() {
        StringBuilder sb = new StringBuilder(family.modelType()).append(" head_dim ").append(headDim);
        if (!"none".equals(rope.type())) sb.append(", rope_scaling ").append(rope.describe());
        if (rotaryDim != headDim) sb.append(", rotary ").append(rotaryDim);
        if (qkvBias) sb.append(", qkv bias");
        if (oBias) sb.append(", o bias");
        if (mlpBias) sb.append(", mlp bias");
        if (slidingWindow > 0) sb.append(", sliding_window ").append(slidingWindow);
        if (attnSoftcap > 0) sb.append(", attn softcap ").append(attnSoftcap);
        if (finalSoftcap > 0) sb.append(", final softcap ").append(finalSoftcap);
        return sb.toString();
    }
}

package dev.llamaadapter.tensor;

/** The MLP's gate: SwiGLU (LLaMA and most families) or GeGLU (gemma2); one switch, the kernels beside each other. */
public enum GatedActivation {
    SWIGLU, GEGLU;

    /** The gate of a config's hidden_act. */
    public static GatedActivation of(String hiddenAct) {
        return switch (hiddenAct) {
            case "silu" -> SWIGLU;
            case "gelu_pytorch_tanh" -> GEGLU;
            default -> throw new IllegalArgumentException("hidden_act \"" + hiddenAct + "\" has no kernel");
        };
    }

    /** a = act(g)·u over n elements, in parallel. */
    public void forward(float[] g, float[] u, float[] a, int n) {
        Parallel.forRange(n, (lo, hi) -> forwardRange(g, u, a, lo, hi - lo));
    }

    /** a[o, o + n) = act(g)·u. */
    public void forwardRange(float[] g, float[] u, float[] a, int o, int n) {
        if (this == SWIGLU) SwiGlu.forwardRange(g, u, a, o, n);
        else GeGlu.forwardRange(g, u, a, o, n);
    }

    /** da → dg, du over [o, o + n) (see the kernels). */
    public void backwardRange(float[] g, float[] u, float[] da, float[] dg, float[] du, int o, int n) {
        if (this == SWIGLU) SwiGlu.backwardRange(g, u, da, dg, du, o, n);
        else GeGlu.backwardRange(g, u, da, dg, du, o, n);
    }
}

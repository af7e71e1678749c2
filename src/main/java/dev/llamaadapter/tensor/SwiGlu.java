package dev.llamaadapter.tensor;

/** SwiGLU gating: a = silu(g)·u with silu(g) = g·σ(g); its backward beside it. */
public final class SwiGlu {
    private SwiGlu() {}

    static float sigmoid(float x) {
        return (float) (1.0 / (1.0 + Math.exp(-x)));
    }

    /** g, u, a [n] (flat): a = silu(g)·u. */
    public static void forward(float[] g, float[] u, float[] a, int n) {
        Parallel.forRange(n, (lo, hi) -> {
            for (int i = lo; i < hi; i++) {
                float s = sigmoid(g[i]);
                a[i] = g[i] * s * u[i];
            }
        });
    }

    /** da → dg = da·u·σ(g)(1 + g(1−σ(g))), du = da·silu(g). dg and du are overwritten. */
    public static void backward(float[] g, float[] u, float[] da, float[] dg, float[] du, int n) {
        Parallel.forRange(n, (lo, hi) -> {
            for (int i = lo; i < hi; i++) {
                float x = g[i], s = sigmoid(x), d = da[i];
                du[i] = d * x * s;
                dg[i] = d * u[i] * s * (1f + x * (1f - s));
            }
        });
    }
}

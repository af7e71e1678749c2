package dev.llamaadapter.tensor;

/**
 * GeGLU gating (gemma2, spec §7): a = gelu_tanh(g)·u with gelu_tanh(x) = x/2·(1 + tanh(√(2/π)·(x + 0.044715·x³))),
 * transformers' "gelu_pytorch_tanh"; its backward beside it. The range forms run as the same epilogues as
 * {@link SwiGlu}'s. Scalar: the tanh has no vector form in the incubator API that matches Math.tanh's accuracy.
 */
public final class GeGlu {
    private GeGlu() {}

    private static final float C = (float) Math.sqrt(2 / Math.PI), A = 0.044715f;

    static float gelu(float x) {
        return 0.5f * x * (1f + (float) Math.tanh(C * (x + A * x * x * x)));
    }

    /** a[o, o + n) = gelu_tanh(g)·u over the same range of g and u. */
    public static void forwardRange(float[] g, float[] u, float[] a, int o, int n) {
        for (int i = o; i < o + n; i++) a[i] = gelu(g[i]) * u[i];
    }

    /**
     * Over [o, o + n): da → dg = da·u·gelu'(g), du = da·gelu(g), with
     * gelu'(x) = (1 + t)/2 + x/2·(1 − t²)·√(2/π)·(1 + 3·0.044715·x²), t = tanh(√(2/π)·(x + 0.044715·x³)).
     * dg and du are overwritten (du may alias da).
     */
    public static void backwardRange(float[] g, float[] u, float[] da, float[] dg, float[] du, int o, int n) {
        for (int i = o; i < o + n; i++) {
            float x = g[i], d = da[i];
            float t = (float) Math.tanh(C * (x + A * x * x * x));
            float slope = 0.5f * (1f + t) + 0.5f * x * (1f - t * t) * C * (1f + 3f * A * x * x);
            float dgi = d * u[i] * slope;
            du[i] = d * 0.5f * x * (1f + t);
            dg[i] = dgi;
        }
    }
}

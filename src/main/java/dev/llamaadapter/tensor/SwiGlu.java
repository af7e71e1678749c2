package dev.llamaadapter.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * SwiGLU gating: a = silu(g)·u with silu(g) = g·σ(g); its backward beside it. Vectorised, exp included.
 * The range forms do one piece of a row: the engine runs them as epilogues of the up projection (forward)
 * and of the down projection's input gradient (backward), on tiles still in cache.
 */
public final class SwiGlu {
    private SwiGlu() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    static float sigmoid(float x) {
        return 1f / (1f + Vec.exp(-x));
    }

    /** g, u, a [n] (flat): a = silu(g)·u. */
    public static void forward(float[] g, float[] u, float[] a, int n) {
        Parallel.forRange(n, (lo, hi) -> forwardRange(g, u, a, lo, hi - lo));
    }

    /** a[o, o + n) = silu(g)·u over the same range of g and u. */
    public static void forwardRange(float[] g, float[] u, float[] a, int o, int n) {
        int i = o, hi = o + n;
        for (int ub = o + S.loopBound(n); i < ub; i += S.length()) {
            FloatVector x = FloatVector.fromArray(S, g, i);
            FloatVector s = FloatVector.broadcast(S, 1f).div(Vec.exp(x.neg()).add(1f));
            x.mul(s).mul(FloatVector.fromArray(S, u, i)).intoArray(a, i);
        }
        for (; i < hi; i++) a[i] = g[i] * sigmoid(g[i]) * u[i];
    }

    /**
     * Over [o, o + n) of every array: da → dg = da·u·σ(g)(1 + g(1−σ(g))), du = da·silu(g). dg and du are
     * overwritten (du may alias da).
     */
    public static void backwardRange(float[] g, float[] u, float[] da, float[] dg, float[] du, int o, int n) {
        int i = o, hi = o + n;
        for (int ub = o + S.loopBound(n); i < ub; i += S.length()) {
            FloatVector x = FloatVector.fromArray(S, g, i), d = FloatVector.fromArray(S, da, i);
            FloatVector s = FloatVector.broadcast(S, 1f).div(Vec.exp(x.neg()).add(1f));
            FloatVector dgv = d.mul(FloatVector.fromArray(S, u, i)).mul(s).mul(x.mul(s.neg().add(1f)).add(1f));
            d.mul(x).mul(s).intoArray(du, i);
            dgv.intoArray(dg, i);
        }
        for (; i < hi; i++) {
            float x = g[i], s = sigmoid(x), d = da[i];
            float dgi = d * u[i] * s * (1f + x * (1f - s));
            du[i] = d * x * s;
            dg[i] = dgi;
        }
    }
}

package dev.llamaadapter.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * Vectorised level-1 operations on float[] slices (attention rows, head vectors, norms), and the two
 * lane operations every kernel shares: a horizontal sum and exp.
 *
 * <p>Both are written so that a result never depends on how the JIT compiled the code: Vector API's
 * own reduceLanes(ADD) sums in a different order once intrinsified, and lanewise(EXP) switches from
 * Math.exp to a vector library, so training would not be bit-reproducible (a resumed run would drift
 * from an uninterrupted one). Here every step is a plain IEEE add, multiply or fma in a fixed order.
 */
public final class Vec {
    private Vec() {}

    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    // butterfly shuffles, one constant per distance (lanes i and i xor d); null where the species is narrower
    private static final VectorShuffle<Float> SW1 = swap(1), SW2 = swap(2), SW4 = swap(4), SW8 = swap(8), SW16 = swap(16);

    private static VectorShuffle<Float> swap(int d) {
        return S.length() > d ? VectorShuffle.fromOp(S, i -> i ^ d) : null;
    }

    /** Σ of the lanes, in a fixed butterfly order (deterministic in every JIT tier). */
    public static float sum(FloatVector v) {
        int n = S.length();
        if (n > 16) v = v.add(v.rearrange(SW16));
        if (n > 8) v = v.add(v.rearrange(SW8));
        if (n > 4) v = v.add(v.rearrange(SW4));
        if (n > 2) v = v.add(v.rearrange(SW2));
        if (n > 1) v = v.add(v.rearrange(SW1));
        return v.lane(0);
    }

    // exp: Cody-Waite reduction x = n·ln2 + r, a degree-7 polynomial for e^r (Cephes' expf), then 2^n
    private static final float LOG2E = 1.44269504088896341f, LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;
    private static final float P0 = 1.9875691500e-4f, P1 = 1.3981999507e-3f, P2 = 8.3334519073e-3f,
            P3 = 4.1665795894e-2f, P4 = 1.6666665459e-1f, P5 = 5.0000001201e-1f;
    private static final float MAX_X = 88.72283f, MIN_X = -103.0f;

    /** e^x per lane, within 2 ulp for normal results; +inf above ln(FLT_MAX), 0 below −103, NaN stays NaN. */
    public static FloatVector exp(FloatVector x) {
        FloatVector xc = x.max(MIN_X).min(MAX_X);
        FloatVector t = xc.fma(LOG2E, 0.5f);
        IntVector ti = (IntVector) t.convert(VectorOperators.F2I, 0);
        FloatVector n = (FloatVector) ti.convert(VectorOperators.I2F, 0);
        var over = n.compare(VectorOperators.GT, t); // truncation went up for negatives: floor
        n = n.sub(FloatVector.broadcast(S, 1f), over);
        FloatVector r = n.fma(FloatVector.broadcast(S, -LN2_HI), xc);
        r = n.fma(FloatVector.broadcast(S, -LN2_LO), r);
        FloatVector z = r.mul(r);
        FloatVector y = r.fma(P0, P1).fma(r, FloatVector.broadcast(S, P2)).fma(r, FloatVector.broadcast(S, P3))
                .fma(r, FloatVector.broadcast(S, P4)).fma(r, FloatVector.broadcast(S, P5)).fma(z, r).add(1f);
        // 2^n as two factors 2^(n>>1)·2^(n−(n>>1)), each a normal float, so n may reach 128 or −149
        IntVector ni = (IntVector) n.convert(VectorOperators.F2I, 0), h = ni.lanewise(VectorOperators.ASHR, 1);
        FloatVector a = h.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector b = ni.sub(h).add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        FloatVector out = y.mul(a).mul(b);
        out = out.blend(Float.POSITIVE_INFINITY, x.compare(VectorOperators.GT, MAX_X));
        out = out.blend(0f, x.compare(VectorOperators.LT, MIN_X));
        return out.blend(x, x.compare(VectorOperators.NE, x)); // NaN in, NaN out
    }

    /** The scalar twin of {@link #exp(FloatVector)}: bit-identical results, for loop tails. */
    public static float exp(float x) {
        if (x != x) return x;
        if (x > MAX_X) return Float.POSITIVE_INFINITY;
        if (x < MIN_X) return 0f;
        float t = Math.fma(x, LOG2E, 0.5f);
        float n = (int) t;
        if (n > t) n -= 1f;
        float r = Math.fma(n, -LN2_HI, x);
        r = Math.fma(n, -LN2_LO, r);
        float z = r * r;
        float y = Math.fma(r, P0, P1);
        y = Math.fma(y, r, P2);
        y = Math.fma(y, r, P3);
        y = Math.fma(y, r, P4);
        y = Math.fma(y, r, P5);
        y = Math.fma(y, z, r) + 1f;
        int ni = (int) n, h = ni >> 1;
        return y * Float.intBitsToFloat((h + 127) << 23) * Float.intBitsToFloat((ni - h + 127) << 23);
    }

    /** Σ a[ao+i]·b[bo+i], i < n. */
    public static float dot(float[] a, int ao, float[] b, int bo, int n) {
        int i = 0;
        float s = 0f;
        if (n >= S.length()) {
            FloatVector acc = FloatVector.zero(S);
            for (int ub = S.loopBound(n); i < ub; i += S.length())
                acc = FloatVector.fromArray(S, a, ao + i).fma(FloatVector.fromArray(S, b, bo + i), acc);
            s = sum(acc);
        }
        for (; i < n; i++) s += a[ao + i] * b[bo + i];
        return s;
    }

    /** y[yo+i] += alpha·x[xo+i], i < n. */
    public static void axpy(float alpha, float[] x, int xo, float[] y, int yo, int n) {
        int i = 0;
        if (n >= S.length()) {
            FloatVector va = FloatVector.broadcast(S, alpha);
            for (int ub = S.loopBound(n); i < ub; i += S.length())
                FloatVector.fromArray(S, x, xo + i).fma(va, FloatVector.fromArray(S, y, yo + i)).intoArray(y, yo + i);
        }
        for (; i < n; i++) y[yo + i] += alpha * x[xo + i];
    }

    /** Σ x[xo+i]², i < n. */
    public static float sumSq(float[] x, int xo, int n) {
        return dot(x, xo, x, xo, n);
    }

    /** y[yo+i] += x[xo+i], i < n. */
    public static void add(float[] x, int xo, float[] y, int yo, int n) {
        int i = 0;
        for (int ub = S.loopBound(n); i < ub; i += S.length())
            FloatVector.fromArray(S, x, xo + i).add(FloatVector.fromArray(S, y, yo + i)).intoArray(y, yo + i);
        for (; i < n; i++) y[yo + i] += x[xo + i];
    }
}

package dev.llamaadapter.tensor;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.Random;
import java.util.function.Function;

import static org.assertj.core.api.Assertions.assertThat;

/** Each small kernel against its scalar twin, and each backward against central finite differences. */
class KernelsTest {
    static float[] rand(Random r, int n, double scale) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (r.nextGaussian() * scale);
        return a;
    }

    static double relErr(float[] got, double[] want) {
        double num = 0, den = 0;
        for (int i = 0; i < want.length; i++) {
            num += (got[i] - want[i]) * (got[i] - want[i]);
            den += want[i] * want[i];
        }
        return Math.sqrt(num / Math.max(den, 1e-300));
    }

    /** Central differences of a scalar function f(x) in double, for every element of x (x restored after). */
    static double[] numericGrad(float[] x, Function<float[], Double> f, float eps) {
        double[] g = new double[x.length];
        for (int i = 0; i < x.length; i++) {
            float old = x[i];
            x[i] = old + eps;
            double up = f.apply(x);
            x[i] = old - eps;
            double down = f.apply(x);
            x[i] = old;
            g[i] = (up - down) / (2.0 * eps);
        }
        return g;
    }

    static double weightedD(double[] y, float[] r) {
        double s = 0;
        for (int i = 0; i < y.length; i++) s += y[i] * r[i];
        return s;
    }

    static double weighted(float[] y, float[] r) {
        double s = 0;
        for (int i = 0; i < y.length; i++) s += (double) y[i] * r[i];
        return s;
    }

    @ParameterizedTest
    @CsvSource({"1,3", "3,7", "5,33", "2,64", "7,100"})
    void rmsNormMatchesTwinAndFiniteDifferences(int M, int D) {
        Random r = new Random(M * 31 + D);
        float[] x = rand(r, M * D, 1), w = rand(r, D, 1), y = new float[M * D], rstd = new float[M];
        RmsNorm.forward(x, w, 1e-5f, M, D, y, rstd);
        assertThat(relErr(y, ScalarKernels.rmsNorm(x, w, 1e-5, M, D))).isLessThan(1e-6);

        float[] dy = rand(r, M * D, 1), dx = new float[M * D];
        RmsNorm.backwardAccumulate(x, w, rstd, dy, M, D, dx);
        double[] num = numericGrad(x, xx -> weightedD((ScalarKernels.rmsNorm(xx, w, 1e-5, M, D)), dy), 1e-3f);
        assertThat(relErr(dx, num)).isLessThan(2e-3);

        // the weight's gradient, added to what is there
        float[] dw0 = rand(r, D, 1), dw = dw0.clone();
        RmsNorm.weightGradAccumulate(x, rstd, dy, M, D, dw);
        double[] numW = numericGrad(w, ww -> weightedD(ScalarKernels.rmsNorm(x, ww, 1e-5, M, D), dy), 1e-3f);
        for (int i = 0; i < D; i++) numW[i] += dw0[i];
        assertThat(relErr(dw, numW)).isLessThan(2e-3);
    }

    @ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(ints = {10, 40, 64}) // scalar only; a vector plus a tail; whole vectors
    void ropeMatchesTwinAndItsInverseIsTheTranspose(int hd) {
        Random r = new Random(7);
        int B = 2, T = 9, heads = 3;
        float[] x = rand(r, B * T * heads * hd, 1), y = x.clone();
        Rope rope = new Rope(hd, 10000.0, 64);
        rope.apply(y, B, T, heads, 0, false);
        assertThat(relErr(y, ScalarKernels.rope(x, B, T, heads, hd, 10000.0))).isLessThan(1e-6);
        // backward: <R x, d> = <x, Rᵀ d> for any d
        float[] d = rand(r, x.length, 1), rd = d.clone();
        rope.apply(rd, B, T, heads, 0, true);
        assertThat(weighted(y, d)).isCloseTo(weighted(x, rd), org.assertj.core.data.Offset.offset(1e-3));
    }

    @Test
    void swigluMatchesTwinAndFiniteDifferences() {
        Random r = new Random(3);
        int n = 37;
        float[] g = rand(r, n, 2), u = rand(r, n, 1), a = new float[n];
        SwiGlu.forward(g, u, a, n);
        assertThat(relErr(a, ScalarKernels.swiglu(g, u))).isLessThan(1e-6);
        float[] da = rand(r, n, 1), dg = new float[n], du = new float[n];
        SwiGlu.backwardRange(g, u, da, dg, du, 0, n);
        assertThat(relErr(dg, numericGrad(g, gg -> weightedD((ScalarKernels.swiglu(gg, u)), da), 1e-3f))).isLessThan(1e-3);
        assertThat(relErr(du, numericGrad(u, uu -> weightedD((ScalarKernels.swiglu(g, uu)), da), 1e-3f))).isLessThan(1e-3);
    }

    @Test
    void crossEntropyMatchesTwinAndFiniteDifferences() {
        Random r = new Random(5);
        int M = 6, V = 11;
        float[] logits = rand(r, M * V, 2);
        int[] labels = {3, -100, 0, 10, -100, 7};
        float[] d = new float[M * V];
        float loss = CrossEntropy.forwardBackward(logits, labels, M, V, d);
        assertThat((double) loss).isCloseTo(ScalarKernels.crossEntropy(logits, labels, M, V), org.assertj.core.data.Offset.offset(1e-5));
        assertThat(relErr(d, numericGrad(logits, l -> ScalarKernels.crossEntropy(l, labels, M, V), 1e-2f))).isLessThan(1e-3);
        // unscored rows get no gradient
        for (int i = V; i < 2 * V; i++) assertThat(d[i]).isZero();
        // in place (training) gives the same gradient
        float[] inPlace = logits.clone();
        assertThat(CrossEntropy.forwardBackward(inPlace, labels, M, V, inPlace)).isEqualTo(loss);
        assertThat(inPlace).containsExactly(d);
    }

    @ParameterizedTest
    // the last two: more prompts than lanes (two vector blocks, the second partial), head sizes with a vector and a tail
    @CsvSource({"1,1,1,1,4,0", "2,5,4,4,6,3", "2,7,4,2,8,1", "1,4,6,3,4,2", "3,3,2,1,10,5", "2,6,4,2,20,17", "1,5,2,2,36,33"})
    void attentionMatchesTwinAndFiniteDifferences(int B, int T, int H, int Hkv, int hd, int K) {
        AttentionRun a = AttentionRun.of(new Random(B * 1000 + T * 100 + H * 10 + K), B, T, H, Hkv, hd, K);
        Function<float[], Double> f = ignored -> weightedD(a.twin(a.q, a.k, a.v), a.dout);
        float eps = 1e-2f;
        assertThat(relErr(a.dq, numericGrad(a.q, f, eps))).isLessThan(1e-3);
        assertThat(relErr(a.dk, numericGrad(a.k, f, eps))).isLessThan(1e-3);
        assertThat(relErr(a.dv, numericGrad(a.v, f, eps))).isLessThan(1e-3);
        if (K > 0) {
            assertThat(relErr(sumOverBatch(a.dakp, B), numericGrad(a.ak, f, eps))).isLessThan(1e-3);
            assertThat(relErr(sumOverBatch(a.davp, B), numericGrad(a.av, f, eps))).isLessThan(1e-3);
            float[] dgamma = new float[H];
            for (int b = 0; b < B; b++) for (int h = 0; h < H; h++) dgamma[h] += a.dgp[b * H + h];
            assertThat(relErr(dgamma, numericGrad(a.gamma, f, eps))).isLessThan(1e-3);
        }
    }

    /**
     * Shapes past the tiled attention's blocks (T ≥ Attention.TILED_MIN_T, partial diagonal blocks): forward
     * against the twin, backward by a directional derivative of the twin along one random direction over q, k
     * and v at once.
     */
    @ParameterizedTest
    @CsvSource({"1,40,4,2,64,3", "2,67,2,1,32,0", "1,130,2,2,64,10", "1,256,32,4,64,10"})
    void attentionAtLargerShapesMatchesTwinAndADirectionalDerivative(int B, int T, int H, int Hkv, int hd, int K) {
        Random r = new Random(T * 31 + hd);
        AttentionRun a = AttentionRun.of(r, B, T, H, Hkv, hd, K);
        float[] eq = rand(r, a.q.length, 1), ek = rand(r, a.k.length, 1), ev = rand(r, a.v.length, 1);
        double analytic = 0;
        for (int i = 0; i < a.q.length; i++) analytic += eq[i] * a.dq[i];
        for (int i = 0; i < a.k.length; i++) analytic += ek[i] * a.dk[i] + ev[i] * a.dv[i];
        double step = 1e-3, f[] = new double[2];
        for (int s = 0; s < 2; s++) {
            double sign = s == 0 ? step : -step;
            float[] q2 = a.q.clone(), k2 = a.k.clone(), v2 = a.v.clone();
            for (int i = 0; i < q2.length; i++) q2[i] += (float) (sign * eq[i]);
            for (int i = 0; i < k2.length; i++) { k2[i] += (float) (sign * ek[i]); v2[i] += (float) (sign * ev[i]); }
            f[s] = weightedD(a.twin(q2, k2, v2), a.dout);
        }
        assertThat((f[0] - f[1]) / (2 * step)).isCloseTo(analytic, org.assertj.core.data.Offset.offset(2e-3 * Math.abs(analytic) + 1e-2));
    }

    /**
     * One attention forward (checked against the twin at 1e-5) and backward on random inputs, drawn from r in a
     * fixed order: q, k, v, prompt keys and values, gates, then the output gradient.
     */
    record AttentionRun(int B, int T, int H, int Hkv, int hd, int K, float[] q, float[] k, float[] v, float[] ak, float[] av,
                        float[] gamma, float[] dout, float[] dq, float[] dk, float[] dv, float[] dgp, float[] dakp, float[] davp) {
        static AttentionRun of(Random r, int B, int T, int H, int Hkv, int hd, int K) {
            int qw = H * hd, kw = Hkv * hd, M = B * T, Kp = Math.max(K, 1);
            float[] q = rand(r, M * qw, 1), k = rand(r, M * kw, 1), v = rand(r, M * kw, 1);
            float[] ak = rand(r, Kp * kw, 1), av = rand(r, Kp * kw, 1), gamma = rand(r, H, 0.7);
            Attention att = new Attention(B, T, H, Hkv, hd, K);
            float[] out = new float[M * qw], saved = new float[(int) Attention.savedFloats(B, T, H, hd)];
            float[] pp = new float[B * H * T * Kp], po = new float[M * qw];
            att.forward(q, k, v, out, saved, ak, av, gamma, pp, po);
            assertThat(relErr(out, ScalarKernels.attention(q, k, v, ak, av, gamma, B, T, H, Hkv, hd, K))).isLessThan(1e-5);
            float[] dout = rand(r, M * qw, 1);
            float[] dq = new float[M * qw], dk = new float[M * kw], dv = new float[M * kw];
            float[] dgp = new float[B * H], dakp = new float[B * Kp * kw], davp = new float[B * Kp * kw];
            att.backward(q, k, v, saved, dout, dq, dk, dv, ak, av, gamma, pp, po, dgp, dakp, davp);
            return new AttentionRun(B, T, H, Hkv, hd, K, q, k, v, ak, av, gamma, dout, dq, dk, dv, dgp, dakp, davp);
        }

        /** The double-precision twin's output for these prompts and gates, at the given q, k, v. */
        double[] twin(float[] q, float[] k, float[] v) {
            return ScalarKernels.attention(q, k, v, ak, av, gamma, B, T, H, Hkv, hd, K);
        }
    }

    static float[] sumOverBatch(float[] part, int B) {
        int n = part.length / B;
        float[] s = new float[n];
        for (int b = 0; b < B; b++) for (int i = 0; i < n; i++) s[i] += part[b * n + i];
        return s;
    }

    static float[] toFloat(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
        return f;
    }

    @Test
    void expIsAccurateAndItsVectorAndScalarFormsAgreeBitForBit() {
        var S = jdk.incubator.vector.FloatVector.SPECIES_PREFERRED;
        Random r = new Random(9);
        float[] x = new float[S.length() * 4096];
        for (int i = 0; i < x.length; i++) x[i] = (float) (r.nextDouble() * 200 - 100);
        x[0] = Float.NaN; x[1] = 88.3f; x[2] = 88.5f; x[3] = -87.3f; x[4] = -90f; x[5] = 0f; x[6] = -0f; x[7] = 1f;
        float[] v = new float[x.length];
        for (int i = 0; i < x.length; i += S.length())
            Vec.exp(jdk.incubator.vector.FloatVector.fromArray(S, x, i)).intoArray(v, i);
        for (int i = 0; i < x.length; i++) {
            float s = Vec.exp(x[i]);
            assertThat(Float.floatToRawIntBits(v[i])).as("lane form of exp(%s)", x[i]).isEqualTo(Float.floatToRawIntBits(s));
            double want = Math.exp(x[i]);
            if (Float.isNaN(x[i])) assertThat(s).isNaN();
            else if (want > Float.MAX_VALUE) assertThat(s).isEqualTo(Float.POSITIVE_INFINITY);
            else if (want < 1.2e-38) assertThat(s).isLessThan(1.2e-38f);
            else assertThat(Math.abs(s - want) / want).as("exp(%s)", x[i]).isLessThan(3e-7);
        }
    }

    @Test
    void laneSumIsTheSameWhateverTheLaneOrderOfOperations() {
        var S = jdk.incubator.vector.FloatVector.SPECIES_PREFERRED;
        float[] a = new float[S.length()];
        for (int i = 0; i < a.length; i++) a[i] = 1f / (i + 1);
        double want = 0;
        for (float f : a) want += f;
        assertThat((double) Vec.sum(jdk.incubator.vector.FloatVector.fromArray(S, a, 0))).isCloseTo(want, org.assertj.core.data.Offset.offset(1e-6));
    }
}

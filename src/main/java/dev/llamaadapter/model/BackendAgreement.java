package dev.llamaadapter.model;

import dev.llamaadapter.tensor.GemmBackend;
import dev.llamaadapter.tensor.Matmul;
import dev.llamaadapter.tensor.WeightMatrix;

/**
 * How far a matmul backend that rounds (int8, onednn-bf16) moves a model's logits from the exact Java kernels:
 * one token sequence teacher-forced through the base model on both, position by position. The sequence is
 * short enough (at most 64 tokens) that its products are the few-row ones decoding makes, which int8 takes.
 *
 * <p>A model with random weights (the bench's) amplifies any rounding through its layers until the logits are
 * unrelated: measured on the tinyllama-shaped bench file in Q8_0, llama.cpp's own logits are 0.77 (relative) from
 * the exact ones, int8's 0.78. So the product's own error is reported beside the model's: layer 0's seven
 * projections on Gaussian inputs, which no depth amplifies.
 *
 * @param positions     tokens compared
 * @param top1          the fraction of positions whose most likely next token is the same on both
 * @param maxLogitDiff  the largest |logit difference| over every position and vocabulary entry
 * @param relErr        ‖difference‖ / ‖exact logits‖ over all of them
 * @param productRelErr the same ratio for layer 0's projections, one row each
 */
public record BackendAgreement(String backend, int positions, double top1, double maxLogitDiff, double relErr, double productRelErr) {

    /** The longest sequence compared: longer ones would run as prompts, on other kernels. */
    public static final int MAX_POSITIONS = 64;

    /** ids through t on the named backend and on the Java kernels; the backend in use before is restored. */
    public static BackendAgreement measure(Transformer t, int[] ids, String backend) {
        if (ids.length == 0 || ids.length > MAX_POSITIONS)
            throw new IllegalArgumentException("compare 1 to " + MAX_POSITIONS + " tokens, not " + ids.length);
        String was = GemmBackend.current().name();
        int T = ids.length, V = t.config.vocabSize();
        try {
            GemmBackend.use("java");
            float[] exact = t.forward(t.activations(1, T, null, false, false), ids, null).clone(); // [T, V]
            String name = GemmBackend.use(backend).name();
            float[] got = t.forward(t.activations(1, T, null, false, false), ids, null); // [T, V]
            int same = 0;
            double max = 0, num = 0, den = 0;
            for (int p = 0; p < T; p++) {
                int a = 0, b = 0;
                for (int v = 0; v < V; v++) {
                    int i = p * V + v;
                    if (exact[i] > exact[p * V + a]) a = v;
                    if (got[i] > got[p * V + b]) b = v;
                    double d = got[i] - exact[i];
                    max = Math.max(max, Math.abs(d));
                    num += d * d;
                    den += (double) exact[i] * exact[i];
                }
                if (a == b) same++;
            }
            return new BackendAgreement(name, T, (double) same / T, max, Math.sqrt(num / Math.max(den, 1e-300)), productRelErr(t, backend));
        } finally {
            GemmBackend.use(was);
        }
    }

    /** ‖y_backend − y_exact‖ / ‖y_exact‖ over layer 0's seven projections of one Gaussian row each (seeded). */
    static double productRelErr(Transformer t, String backend) {
        java.util.Random r = new java.util.Random(7);
        double num = 0, den = 0;
        LlamaWeights.Layer l = t.weights.layers()[0];
        for (WeightMatrix w : java.util.List.of(l.wq(), l.wk(), l.wv(), l.wo(), l.wGate(), l.wUp(), l.wDown())) {
            float[] x = new float[w.cols()], exact = new float[w.rows()], got = new float[w.rows()];
            for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
            GemmBackend.use("java");
            Matmul.xwT(x, 1, w, exact, false);
            GemmBackend.use(backend);
            Matmul.xwT(x, 1, w, got, false);
            for (int i = 0; i < exact.length; i++) {
                num += (double) (got[i] - exact[i]) * (got[i] - exact[i]);
                den += (double) exact[i] * exact[i];
            }
        }
        return Math.sqrt(num / Math.max(den, 1e-300));
    }
}

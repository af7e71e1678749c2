package dev.llamaadapter.model;

import dev.llamaadapter.tensor.Matmul;
import dev.llamaadapter.tensor.RmsNorm;

import java.util.Arrays;

/**
 * Hidden rows → queries, keys, values: the one place a family's projection details live (spec §7), forward
 * beside backward. The training forward, the cached decoding step, the adapter's prompt keys/values and the
 * backward all call it, so a family's k-bias or k-norm cannot reach the tokens and miss the prompts.
 * <p>
 * q = h·Wqᵀ + bq, k = h·Wkᵀ + bk, v = h·Wvᵀ + bv (biases where the family has them), then, for qwen3, a
 * per-head RMSNorm of q and k over hd (before RoPE, which the caller applies to the token rows only).
 */
final class QkvStep {
    private final int H, Hkv, hd;
    private final float eps;

    QkvStep(LlamaConfig c) {
        H = c.numAttentionHeads(); Hkv = c.numKeyValueHeads(); hd = c.headDim();
        eps = (float) c.rmsNormEps();
    }

    /**
     * h [M, D] → q [M, H·hd], k, v [M, Hkv·hd] (overwritten). With per-head norms, qPre, kPre (same shapes) and
     * qRstd [M·H], kRstd [M·Hkv] keep what {@link #normBackward} needs; all four null when no backward follows.
     */
    void forward(LlamaWeights.Layer w, float[] h, int M, float[] q, float[] k, float[] v,
                 float[] qPre, float[] kPre, float[] qRstd, float[] kRstd) {
        project(h, M, w.wq(), w.x().bq(), q);
        keysValues(w, h, M, k, v, kPre, kRstd);
        if (w.x().qNorm() != null) headNorm(q, M * H, w.x().qNorm(), qPre, qRstd);
    }

    /** Keys and values only (the prompt rows of an adapted layer): rows [n, D] → k, v [n, Hkv·hd]; kPre, kRstd as in forward. */
    void keysValues(LlamaWeights.Layer w, float[] rows, int n, float[] k, float[] v, float[] kPre, float[] kRstd) {
        project(rows, n, w.wk(), w.x().bk(), k);
        project(rows, n, w.wv(), w.x().bv(), v);
        if (w.x().kNorm() != null) headNorm(k, n * Hkv, w.x().kNorm(), kPre, kRstd);
    }

    /** y [n, out] = x·Wᵀ (+ b on every row). */
    static void project(float[] x, int n, dev.llamaadapter.tensor.WeightMatrix W, float[] b, float[] y) {
        Matmul.xwT(x, n, W, y, false);
        if (b != null) addRows(y, n, b);
    }

    /** y[r, :] += b for r in [0, n). */
    static void addRows(float[] y, int n, float[] b) {
        int w = b.length;
        for (int r = 0; r < n; r++) dev.llamaadapter.tensor.Vec.add(b, 0, y, r * w, w);
    }

    /** x [rows, hd] normed in place by norm [hd]; pre (null: not kept) receives x before. */
    private void headNorm(float[] x, int rows, float[] norm, float[] pre, float[] rstd) {
        if (pre != null) {
            System.arraycopy(x, 0, pre, 0, rows * hd);
            RmsNorm.forward(pre, norm, eps, rows, hd, x, rstd);
        } else {
            RmsNorm.forward(x, norm, eps, rows, hd, x, null);
        }
    }

    /** True when the family norms q and k per head (the backward then needs {@link #normBackward}). */
    static boolean hasHeadNorms(LlamaWeights.Layer w) {
        return w.x().qNorm() != null;
    }

    /**
     * The per-head norms' backward, in place: dq [M, H·hd] (may be null), dk [n, Hkv·hd] arrive as gradients of
     * the normed rows and leave as gradients of the projections' outputs. scratch holds at least the larger.
     */
    void normBackward(LlamaWeights.Layer w, float[] dq, int M, float[] qPre, float[] qRstd,
                      float[] dk, int n, float[] kPre, float[] kRstd, float[] scratch) {
        if (w.x().qNorm() == null) return;
        if (dq != null) headNormBackward(dq, M * H, w.x().qNorm(), qPre, qRstd, scratch);
        if (dk != null) headNormBackward(dk, n * Hkv, w.x().kNorm(), kPre, kRstd, scratch);
    }

    private void headNormBackward(float[] dy, int rows, float[] norm, float[] pre, float[] rstd, float[] scratch) {
        Arrays.fill(scratch, 0, rows * hd, 0f);
        RmsNorm.backwardAccumulate(pre, norm, rstd, dy, rows, hd, scratch);
        System.arraycopy(scratch, 0, dy, 0, rows * hd);
    }

    /** db[j] += Σ_m dy[m, j]: a bias's gradient (full fine-tuning); nothing when db is null. Rows in order: deterministic. */
    static void biasGrad(float[] dy, int M, float[] db) {
        if (db == null) return;
        int n = db.length;
        for (int m = 0; m < M; m++) dev.llamaadapter.tensor.Vec.add(dy, m * n, db, 0, n);
    }

    /**
     * The per-head norms' weight gradients (full fine-tuning), from dq, dk as gradients of the normed rows:
     * call before {@link #normBackward}, which turns them into the projections' gradients.
     */
    void normWeightGrads(LlamaWeights.Layer w, LlamaWeights.Extras g, float[] dq, float[] qPre, float[] qRstd,
                         float[] dk, float[] kPre, float[] kRstd, int M) {
        if (w.x().qNorm() == null) return;
        RmsNorm.weightGradAccumulate(qPre, qRstd, dq, M * H, hd, g.qNorm());
        RmsNorm.weightGradAccumulate(kPre, kRstd, dk, M * Hkv, hd, g.kNorm());
    }

    /** dh [M, D] (+)= dq·Wq + dk·Wk + dv·Wv; dq may be null (the prompt rows have no queries). */
    static void inputGradient(LlamaWeights.Layer w, float[] dq, float[] dk, float[] dv, int M, float[] dh, boolean accumulate) {
        boolean acc = accumulate;
        if (dq != null) {
            Matmul.xw(dq, M, w.wq(), dh, acc);
            acc = true;
        }
        Matmul.xw(dk, M, w.wk(), dh, acc);
        Matmul.xw(dv, M, w.wv(), dh, true);
    }
}

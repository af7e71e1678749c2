package dev.llamaadapter.model;

import dev.llamaadapter.tensor.CrossEntropy;
import dev.llamaadapter.tensor.Matmul;
import dev.llamaadapter.tensor.WeightMatrix;

import java.util.Arrays;

/**
 * The output head and its loss, forward beside backward: logits = h·headᵀ (softcapped to c·tanh(z/c) for
 * gemma2), the cross-entropy over scored rows, and the gradient back to the normed rows (and, for full
 * fine-tuning, to the head). Training runs it on scored rows only, in blocks of {@link Activations#HEAD_CHUNK}
 * rows, so a 151,936-token vocabulary needs a [64, V] block, never [M, V], and masked prompt rows cost nothing.
 */
final class OutputHead {
    private final WeightMatrix head; // [V, D] (the embedding when tied)
    private final int V, D;
    private final float cap;         // gemma2's final_logit_softcapping; 0 = none

    OutputHead(LlamaConfig c, LlamaWeights w) {
        this.head = w.head();
        this.V = c.vocabSize();
        this.D = c.hiddenSize();
        this.cap = (float) c.arch().finalSoftcap();
    }

    /** out [rows, V] = h [rows, D]·headᵀ, softcapped. */
    void logits(float[] h, int rows, float[] out) {
        Matmul.xwT(h, rows, head, out, false);
        if (cap <= 0) return;
        for (int i = 0, n = rows * V; i < n; i++) out[i] = cap * (float) Math.tanh(out[i] / cap);
    }

    /** grad [rows, V], the loss's gradient of the softcapped logits, becomes that of the raw ones: ·(1 − (logit/c)²). */
    void capBackward(float[] logits, float[] grad, int rows) {
        if (cap <= 0) return;
        for (int i = 0, n = rows * V; i < n; i++) {
            float t = logits[i] / cap;
            grad[i] *= 1f - t * t;
        }
    }

    /** dh [rows, D] = grad·head (overwritten) and, when wg is not null, the head's gradient += gradᵀ·h. */
    void backward(float[] grad, float[] h, int rows, float[] dh, WeightGrads wg) {
        if (wg != null) Matmul.weightGrad(grad, h, rows, V, D, wg.head() != null ? wg.head() : wg.embed());
        Matmul.xw(grad, rows, head, dh, false);
    }

    /**
     * The mean cross-entropy over the scored rows of labels [M] (−100: not scored), from the final normed rows
     * a.h [M, D], block by block; with backward, a.dh [M, D] receives the rows' gradients (0 on unscored rows).
     */
    float loss(Activations a, int[] labels, WeightGrads wg, boolean backward) {
        int M = a.M;
        int count = CrossEntropy.scored(labels, M, V);
        if (backward) Arrays.fill(a.dh, 0, M * D, 0f);
        if (count == 0) return 0f;
        a.headBuffers(D, backward && cap > 0);
        float inv = 1f / count;
        int C = Activations.HEAD_CHUNK;
        float[] rows = a.headRows, logits = a.headLogits, grad = cap > 0 ? a.headGrad : a.headLogits; // [C, D], [C, V]
        int[] idx = a.headIndex;
        double total = 0;
        int m = 0;
        while (m < M) {
            int R = 0;
            for (; m < M && R < C; m++) if (labels[m] != CrossEntropy.IGNORE) idx[R++] = m;
            if (R == 0) break;
            for (int r = 0; r < R; r++) System.arraycopy(a.h, idx[r] * D, rows, r * D, D);
            logits(rows, R, logits);
            total += CrossEntropy.chunk(logits, labels, idx, R, V, inv, backward ? grad : null);
            if (!backward) continue;
            capBackward(logits, grad, R);
            backward(grad, rows, R, a.headDRows, wg);
            for (int r = 0; r < R; r++) System.arraycopy(a.headDRows, r * D, a.dh, idx[r] * D, D);
        }
        return (float) (total * inv);
    }
}

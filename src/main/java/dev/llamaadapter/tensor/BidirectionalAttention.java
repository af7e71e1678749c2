package dev.llamaadapter.tensor;

import java.lang.foreign.MemorySegment;

/**
 * Multi-head attention without a mask (every token sees every token), as in the CLIP vision encoder:
 * out_t = Σ_j softmax_j(q_t·k_j·s) v_j per head, s = 1/sqrt(hd). Forward only: the tower is frozen.
 *
 * <p>Per (image, head) the two products are whole matrix products on the tiled GEMM: scores = Q·Kᵀ
 * [T, T] and out = P·V [T, hd], with K and V gathered into small contiguous buffers that serve as the
 * "weights". One dot product and one axpy per (query, key) pair, the first form, spent most of a ViT's
 * time in call overhead on 64-wide heads.
 */
public final class BidirectionalAttention {
    private final int T, H, hd;
    private final float[] qh, kh, vh, oh; // [T, hd] one head's queries, keys, values and output
    private final float[] scores;         // [T, T]
    private final WeightMatrix kView, vView;

    /** Buffers for sequences of T tokens, H heads of hd. */
    public BidirectionalAttention(int T, int H, int hd) {
        this.T = T; this.H = H; this.hd = hd;
        qh = new float[T * hd]; kh = new float[T * hd]; vh = new float[T * hd]; oh = new float[T * hd];
        scores = new float[T * T];
        kView = new WeightMatrix("attention keys", MemorySegment.ofArray(kh), DType.F32, T, hd);
        vView = new WeightMatrix("attention values", MemorySegment.ofArray(vh), DType.F32, T, hd);
    }

    /** q, k, v [B·T, H·hd] → out [B·T, H·hd] (overwritten). Not thread-safe: one call at a time per instance. */
    public void forward(float[] q, float[] k, float[] v, float[] out, int B) {
        int w = H * hd;
        float scale = (float) (1.0 / Math.sqrt(hd));
        for (int b = 0; b < B; b++)
            for (int h = 0; h < H; h++) {
                for (int t = 0; t < T; t++) {
                    int o = (b * T + t) * w + h * hd;
                    System.arraycopy(q, o, qh, t * hd, hd);
                    System.arraycopy(k, o, kh, t * hd, hd);
                    System.arraycopy(v, o, vh, t * hd, hd);
                }
                Matmul.xwT(qh, T, kView, scores, false); // scores [T, T] = Q Kᵀ
                Parallel.forRange(T, (lo, hi) -> {
                    for (int t = lo; t < hi; t++) {
                        float max = Float.NEGATIVE_INFINITY;
                        for (int j = 0; j < T; j++) max = Math.max(max, scores[t * T + j] *= scale);
                        softmaxRow(scores, t * T, T, max);
                    }
                });
                Matmul.xw(scores, T, vView, oh, false); // out [T, hd] = P V
                for (int t = 0; t < T; t++) System.arraycopy(oh, t * hd, out, (b * T + t) * w + h * hd, hd);
            }
    }

    private static void softmaxRow(float[] p, int off, int n, float max) {
        CrossEntropy.scaledExp(p, off, n, max, 1f, p);
        float sum = 0f;
        for (int j = 0; j < n; j++) sum += p[off + j];
        float inv = 1f / sum;
        for (int j = 0; j < n; j++) p[off + j] *= inv;
    }

    /** The plain form, one dot and one axpy per (query, key) pair: the twin the tests compare against. */
    public static void forwardSimple(float[] q, float[] k, float[] v, float[] out, int B, int T, int H, int hd) {
        int w = H * hd;
        float scale = (float) (1.0 / Math.sqrt(hd));
        Parallel.forRange(B * H * T, (lo, hi) -> {
            float[] p = Scratch.floats(Scratch.PROBS, T); // [T] one row of probabilities
            for (int r = lo; r < hi; r++) {
                int b = r / (H * T), h = (r / T) % H, t = r % T;
                int qo = (b * T + t) * w + h * hd;
                float max = Float.NEGATIVE_INFINITY;
                for (int j = 0; j < T; j++) {
                    p[j] = Vec.dot(q, qo, k, (b * T + j) * w + h * hd, hd) * scale;
                    max = Math.max(max, p[j]);
                }
                Attention.softmaxInPlace(p, T, max);
                java.util.Arrays.fill(out, qo, qo + hd, 0f);
                for (int j = 0; j < T; j++) Vec.axpy(p[j], v, (b * T + j) * w + h * hd, out, qo, hd);
            }
        });
    }
}

package dev.llamaadapter.tensor;

/**
 * Multi-head attention without a mask (every token sees every token), as in the CLIP vision encoder:
 * out_t = Σ_j softmax_j(q_t·k_j·s) v_j per head, s = 1/sqrt(hd). Forward only: the tower is frozen.
 */
public final class BidirectionalAttention {
    private BidirectionalAttention() {}

    /** q, k, v [B·T, H·hd] → out [B·T, H·hd] (overwritten). */
    public static void forward(float[] q, float[] k, float[] v, float[] out, int B, int T, int H, int hd) {
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

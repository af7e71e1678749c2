package dev.llamaadapter.model;

/**
 * Floating-point operations of one training step (forward over all layers, backward down to the lowest
 * adapted layer, input gradients only), counted from the shapes: what a benchmark divides by time.
 * Multiply-adds count 2. Elementwise work (norms, RoPE, softmax) is left out: it is a rounding error.
 */
public final class StepFlops {
    private StepFlops() {}

    public static double trainingStep(LlamaConfig c, int B, int T, int K, int L) {
        return trainingStep(c, B, T, K, L, 1);
    }

    /** As above when only a share of the positions is scored: the head runs on those rows only. */
    public static double trainingStep(LlamaConfig c, int B, int T, int K, int L, double scored) {
        double M = (double) B * T;
        double D = c.hiddenSize(), F = c.intermediateSize(), V = c.vocabSize();
        double qw = c.numAttentionHeads() * (double) c.headDim(), kw = c.numKeyValueHeads() * (double) c.headDim();
        int N = c.numHiddenLayers();
        double projections = 2 * M * (D * qw + 2 * D * kw + qw * D + 3 * D * F); // one layer's matmuls
        double attention = 2 * 2 * B * c.numAttentionHeads() * (T * (T + 1) / 2.0) * c.headDim(); // q·k and p·v, causal
        double promptAttn = 2 * 2 * M * c.numAttentionHeads() * K * c.headDim();
        double promptKv = 2 * 2 * K * D * kw;
        double head = 2 * Math.ceil(M * scored) * D * V;
        double forward = N * (projections + attention) + L * (promptAttn + promptKv) + head;
        // backward: input gradients through head, every adapted layer's MLP and o_proj, and the token
        // attention and q/k/v of all but the lowest adapted layer; prompt branch twice its forward
        double mlpAndO = 2 * M * (qw * D + 3 * D * F);
        double qkv = 2 * M * (D * qw + 2 * D * kw);
        double backward = head + L * mlpAndO + Math.max(L - 1, 0) * (qkv + 2 * attention) + L * 2 * (promptAttn + promptKv);
        return forward + backward;
    }
}

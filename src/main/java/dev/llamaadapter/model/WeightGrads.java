package dev.llamaadapter.model;

/**
 * Gradient buffers of every base weight (full fine-tuning), laid out like {@link LlamaWeights}: matrices
 * row-major [rows, cols] as stored, norms [D]. head is null when the head is the embedding (tied): its
 * gradient then adds into embed. Transformer.backward ADDS into these, so micro-batches accumulate.
 */
public record WeightGrads(float[] embed,     // [V, D]
                          Layer[] layers,
                          float[] finalNorm, // [D]
                          float[] head) {    // [V, D] or null when tied

    public record Layer(float[] attnNorm, // [D]
                        float[] wq,       // [H·hd, D]
                        float[] wk,       // [Hkv·hd, D]
                        float[] wv,       // [Hkv·hd, D]
                        float[] wo,       // [D, H·hd]
                        float[] mlpNorm,  // [D]
                        float[] wGate,    // [F, D]
                        float[] wUp,      // [F, D]
                        float[] wDown) {  // [D, F]
    }
}

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
                        float[] wDown,    // [D, F]
                        LlamaWeights.Extras x) { // the family's extra weights' gradients, laid out as LlamaWeights.Extras (null fields where none)

        public Layer(float[] attnNorm, float[] wq, float[] wk, float[] wv, float[] wo, float[] mlpNorm, float[] wGate, float[] wUp, float[] wDown) {
            this(attnNorm, wq, wk, wv, wo, mlpNorm, wGate, wUp, wDown, LlamaWeights.Extras.NONE);
        }
    }
}

package dev.llamaadapter.model;

import dev.llamaadapter.io.SafeTensorsException;
import dev.llamaadapter.io.TensorSource;
import dev.llamaadapter.tensor.DType;
import dev.llamaadapter.tensor.WeightMatrix;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.util.Random;

/**
 * The frozen base model's weights (spec §1), each matrix a view in its file dtype. Norm weights are
 * small and kept as fp32 arrays. With tied embeddings, head is the embedding matrix itself.
 */
public record LlamaWeights(WeightMatrix embed,   // [V, D]
                           Layer[] layers,
                           float[] finalNorm,    // [D]
                           WeightMatrix head) {  // [V, D]

    public record Layer(float[] attnNorm,     // [D]
                        WeightMatrix wq,      // [H·hd, D]
                        WeightMatrix wk,      // [Hkv·hd, D]
                        WeightMatrix wv,      // [Hkv·hd, D]
                        WeightMatrix wo,      // [D, H·hd]
                        float[] mlpNorm,      // [D]
                        WeightMatrix wGate,   // [F, D]
                        WeightMatrix wUp,     // [F, D]
                        WeightMatrix wDown) { // [D, F]
    }

    /**
     * Views of every base tensor in source, each checked against the shape config.json implies: an error
     * names the file, the tensor, the expected and the found shape.
     */
    public static LlamaWeights load(TensorSource src, LlamaConfig c) throws IOException {
        int D = c.hiddenSize(), F = c.intermediateSize(), V = c.vocabSize(), hd = c.headDim();
        int qd = c.numAttentionHeads() * hd, kd = c.numKeyValueHeads() * hd;
        WeightMatrix embed = src.matrix("model.embed_tokens.weight", V, D);
        Layer[] layers = new Layer[c.numHiddenLayers()];
        for (int i = 0; i < layers.length; i++) {
            String p = "model.layers." + i + ".";
            layers[i] = new Layer(src.vector(p + "input_layernorm.weight", D),
                    src.matrix(p + "self_attn.q_proj.weight", qd, D),
                    src.matrix(p + "self_attn.k_proj.weight", kd, D),
                    src.matrix(p + "self_attn.v_proj.weight", kd, D),
                    src.matrix(p + "self_attn.o_proj.weight", D, qd),
                    src.vector(p + "post_attention_layernorm.weight", D),
                    src.matrix(p + "mlp.gate_proj.weight", F, D),
                    src.matrix(p + "mlp.up_proj.weight", F, D),
                    src.matrix(p + "mlp.down_proj.weight", D, F));
        }
        WeightMatrix head;
        if (c.tieWordEmbeddings()) head = embed;
        else if (src.has("lm_head.weight")) head = src.matrix("lm_head.weight", V, D);
        else throw new SafeTensorsException(src.fileOf("lm_head.weight"), "lm_head.weight",
                    "not found, and config.json does not set tie_word_embeddings");
        return new LlamaWeights(embed, layers, src.vector("model.norm.weight", D), head);
    }

    /** Random weights of the given dtype, off-heap in arena (benchmarks and tests), scaled like the parity cases. */
    public static LlamaWeights random(LlamaConfig c, DType dtype, long seed, Arena arena) {
        Random r = new Random(seed);
        int D = c.hiddenSize(), F = c.intermediateSize(), V = c.vocabSize(), hd = c.headDim();
        int qd = c.numAttentionHeads() * hd, kd = c.numKeyValueHeads() * hd;
        WeightMatrix embed = rand("model.embed_tokens.weight", V, D, 0.5f, dtype, r, arena);
        Layer[] layers = new Layer[c.numHiddenLayers()];
        for (int i = 0; i < layers.length; i++) {
            String p = "model.layers." + i + ".";
            layers[i] = new Layer(norm(D, r),
                    rand(p + "self_attn.q_proj.weight", qd, D, 0.15f, dtype, r, arena),
                    rand(p + "self_attn.k_proj.weight", kd, D, 0.15f, dtype, r, arena),
                    rand(p + "self_attn.v_proj.weight", kd, D, 0.15f, dtype, r, arena),
                    rand(p + "self_attn.o_proj.weight", D, qd, 0.15f / (float) Math.sqrt(D / 64.0), dtype, r, arena),
                    norm(D, r),
                    rand(p + "mlp.gate_proj.weight", F, D, 0.15f / (float) Math.sqrt(D / 64.0), dtype, r, arena),
                    rand(p + "mlp.up_proj.weight", F, D, 0.15f / (float) Math.sqrt(D / 64.0), dtype, r, arena),
                    rand(p + "mlp.down_proj.weight", D, F, 0.15f / (float) Math.sqrt(F / 64.0), dtype, r, arena));
        }
        WeightMatrix head = c.tieWordEmbeddings() ? embed : rand("lm_head.weight", V, D, 0.1f, dtype, r, arena);
        return new LlamaWeights(embed, layers, norm(D, r), head);
    }

    private static WeightMatrix rand(String name, int rows, int cols, float scale, DType dtype, Random r, Arena arena) {
        // uniform with the variance of N(0, scale²): fast enough to build a 1B-parameter model in seconds
        java.util.SplittableRandom u = new java.util.SplittableRandom(r.nextLong());
        float a = scale * (float) Math.sqrt(3.0);
        float[] v = new float[rows * cols];
        for (int i = 0; i < v.length; i++) v[i] = a * (2f * (float) u.nextDouble() - 1f);
        return WeightMatrix.of(name, dtype, v, rows, cols, arena);
    }

    private static float[] norm(int D, Random r) {
        float[] w = new float[D];
        for (int i = 0; i < D; i++) w[i] = 1f + 0.1f * (float) r.nextGaussian();
        return w;
    }
}

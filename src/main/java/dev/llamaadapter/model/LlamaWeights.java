package dev.llamaadapter.model;

import dev.llamaadapter.io.SafeTensorsException;
import dev.llamaadapter.io.TensorSource;
import dev.llamaadapter.tensor.DType;
import dev.llamaadapter.tensor.WeightMatrix;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.util.Random;

/**
 * The frozen base model's weights (spec §1, §7), each matrix a view in its file dtype. Norm weights and
 * biases are small and kept as fp32 arrays. With tied embeddings, head is the embedding matrix itself.
 * A family's extra weights (biases, q/k norms, gemma2's norms after attention and MLP) are in
 * {@link Extras}; gemma2's (1+w) norms are stored here as 1+w, so every norm is one RMSNorm x·r·w.
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
                        float[] mlpNorm,      // [D] the norm before the MLP (gemma2: pre_feedforward_layernorm)
                        WeightMatrix wGate,   // [F, D]
                        WeightMatrix wUp,     // [F, D]
                        WeightMatrix wDown,   // [D, F]
                        Extras x) {

        /** A plain LLaMA layer. */
        public Layer(float[] attnNorm, WeightMatrix wq, WeightMatrix wk, WeightMatrix wv, WeightMatrix wo, float[] mlpNorm,
                     WeightMatrix wGate, WeightMatrix wUp, WeightMatrix wDown) {
            this(attnNorm, wq, wk, wv, wo, mlpNorm, wGate, wUp, wDown, Extras.NONE);
        }
    }

    /** A family's additional per-layer weights; null where the family has none. */
    public record Extras(float[] bq,            // [H·hd]
                         float[] bk,            // [Hkv·hd]
                         float[] bv,            // [Hkv·hd]
                         float[] bo,            // [D]
                         float[] qNorm,         // [hd] per-head RMSNorm of queries (qwen3)
                         float[] kNorm,         // [hd] per-head RMSNorm of keys (qwen3)
                         float[] postAttnNorm,  // [D] gemma2: on the attention output, before the residual
                         float[] postMlpNorm,   // [D] gemma2: on the MLP output, before the residual
                         float[] bGate,         // [F]
                         float[] bUp,           // [F]
                         float[] bDown) {       // [D]
        public static final Extras NONE = new Extras(null, null, null, null, null, null, null, null, null, null, null);
    }

    /**
     * Views of every base tensor in source, each checked against the shape config.json implies: an error
     * names the file, the tensor, the expected and the found shape.
     */
    public static LlamaWeights load(TensorSource src, LlamaConfig c) throws IOException {
        Architecture a = c.arch();
        Family fam = a.family();
        int D = c.hiddenSize(), F = c.intermediateSize(), V = c.vocabSize(), hd = c.headDim();
        int qd = c.numAttentionHeads() * hd, kd = c.numKeyValueHeads() * hd;
        WeightMatrix embed = src.matrix("model.embed_tokens.weight", V, D);
        Layer[] layers = new Layer[c.numHiddenLayers()];
        for (int i = 0; i < layers.length; i++) {
            String p = "model.layers." + i + ".";
            WeightMatrix wq, wk, wv, wGate, wUp;
            if (fam.fusedQkv()) {
                WeightMatrix qkv = src.matrix(p + "self_attn.qkv_proj.weight", qd + 2 * kd, D);
                wq = qkv.rowSlice(qkv.name() + "[q]", 0, qd);
                wk = qkv.rowSlice(qkv.name() + "[k]", qd, kd);
                wv = qkv.rowSlice(qkv.name() + "[v]", qd + kd, kd);
            } else {
                wq = src.matrix(p + "self_attn.q_proj.weight", qd, D);
                wk = src.matrix(p + "self_attn.k_proj.weight", kd, D);
                wv = src.matrix(p + "self_attn.v_proj.weight", kd, D);
            }
            if (fam.fusedGateUp()) {
                WeightMatrix gu = src.matrix(p + "mlp.gate_up_proj.weight", 2 * F, D);
                wGate = gu.rowSlice(gu.name() + "[gate]", 0, F);
                wUp = gu.rowSlice(gu.name() + "[up]", F, F);
            } else {
                wGate = src.matrix(p + "mlp.gate_proj.weight", F, D);
                wUp = src.matrix(p + "mlp.up_proj.weight", F, D);
            }
            float[] attnNorm = norm(src, p + "input_layernorm.weight", D, fam);
            float[] mlpNorm = norm(src, p + (fam.gemma() ? "pre_feedforward_layernorm.weight" : "post_attention_layernorm.weight"), D, fam);
            Extras x = new Extras(
                    a.qkvBias() ? src.vector(p + "self_attn.q_proj.bias", qd) : null,
                    a.qkvBias() ? src.vector(p + "self_attn.k_proj.bias", kd) : null,
                    a.qkvBias() ? src.vector(p + "self_attn.v_proj.bias", kd) : null,
                    a.oBias() ? src.vector(p + "self_attn.o_proj.bias", D) : null,
                    fam.qkNorm() ? src.vector(p + "self_attn.q_norm.weight", hd) : null,
                    fam.qkNorm() ? src.vector(p + "self_attn.k_norm.weight", hd) : null,
                    fam.gemma() ? norm(src, p + "post_attention_layernorm.weight", D, fam) : null,
                    fam.gemma() ? norm(src, p + "post_feedforward_layernorm.weight", D, fam) : null,
                    a.mlpBias() ? src.vector(p + "mlp.gate_proj.bias", F) : null,
                    a.mlpBias() ? src.vector(p + "mlp.up_proj.bias", F) : null,
                    a.mlpBias() ? src.vector(p + "mlp.down_proj.bias", D) : null);
            layers[i] = new Layer(attnNorm, wq, wk, wv, src.matrix(p + "self_attn.o_proj.weight", D, qd), mlpNorm, wGate, wUp,
                    src.matrix(p + "mlp.down_proj.weight", D, F), x);
        }
        WeightMatrix head;
        if (c.tieWordEmbeddings()) head = embed;
        else if (src.has("lm_head.weight")) head = src.matrix("lm_head.weight", V, D);
        else if (src instanceof dev.llamaadapter.io.GgufSource g) // the file itself lacks the tensor: say so by its GGUF name
            throw new SafeTensorsException(src.path(), g.ggufName("lm_head.weight"), "not found (the output head, lm_head.weight)");
        else throw new SafeTensorsException(src.fileOf("lm_head.weight"), "lm_head.weight",
                    "not found, and config.json does not set tie_word_embeddings");
        return new LlamaWeights(embed, layers, norm(src, "model.norm.weight", D, fam), head);
    }

    /**
     * A norm weight; gemma2 stores w for x·(1+w), kept here as 1+w (the same float the reference multiplies by).
     * A GGUF of llama.cpp's converter already holds that float (it adds the one in float32, as HF does).
     */
    private static float[] norm(TensorSource src, String name, int D, Family fam) throws SafeTensorsException {
        float[] w = src.vector(name, D);
        if (fam.gemma() && !src.normsHoldOnePlusW()) for (int i = 0; i < D; i++) w[i] = 1f + w[i];
        return w;
    }

    /** Random weights of the given dtype, off-heap in arena (benchmarks and tests), scaled like the parity cases. */
    public static LlamaWeights random(LlamaConfig c, DType dtype, long seed, Arena arena) {
        Random r = new Random(seed);
        Architecture a = c.arch();
        int D = c.hiddenSize(), F = c.intermediateSize(), V = c.vocabSize(), hd = c.headDim();
        int qd = c.numAttentionHeads() * hd, kd = c.numKeyValueHeads() * hd;
        WeightMatrix embed = rand("model.embed_tokens.weight", V, D, 0.5f, dtype, r, arena);
        Layer[] layers = new Layer[c.numHiddenLayers()];
        for (int i = 0; i < layers.length; i++) {
            String p = "model.layers." + i + ".";
            Extras x = a.isPlainLlama() ? Extras.NONE : new Extras(
                    a.qkvBias() ? small(qd, r) : null, a.qkvBias() ? small(kd, r) : null, a.qkvBias() ? small(kd, r) : null,
                    a.oBias() ? small(D, r) : null,
                    a.family().qkNorm() ? norm(hd, r) : null, a.family().qkNorm() ? norm(hd, r) : null,
                    a.family().gemma() ? norm(D, r) : null, a.family().gemma() ? norm(D, r) : null,
                    a.mlpBias() ? small(F, r) : null, a.mlpBias() ? small(F, r) : null, a.mlpBias() ? small(D, r) : null);
            layers[i] = new Layer(norm(D, r),
                    rand(p + "self_attn.q_proj.weight", qd, D, 0.15f, dtype, r, arena),
                    rand(p + "self_attn.k_proj.weight", kd, D, 0.15f, dtype, r, arena),
                    rand(p + "self_attn.v_proj.weight", kd, D, 0.15f, dtype, r, arena),
                    rand(p + "self_attn.o_proj.weight", D, qd, 0.15f / (float) Math.sqrt(D / 64.0), dtype, r, arena),
                    norm(D, r),
                    rand(p + "mlp.gate_proj.weight", F, D, 0.15f / (float) Math.sqrt(D / 64.0), dtype, r, arena),
                    rand(p + "mlp.up_proj.weight", F, D, 0.15f / (float) Math.sqrt(D / 64.0), dtype, r, arena),
                    rand(p + "mlp.down_proj.weight", D, F, 0.15f / (float) Math.sqrt(F / 64.0), dtype, r, arena), x);
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

    private static float[] small(int n, Random r) {
        float[] b = new float[n];
        for (int i = 0; i < n; i++) b[i] = 0.3f * (float) r.nextGaussian();
        return b;
    }
}

package dev.llamaadapter.model;

import java.util.List;

/**
 * What makes a decoder family differ from LLaMA (spec §7), as data: the engine reads these switches, so a
 * new family is one more constant here plus, where its config has fields of its own, a few lines in
 * {@link LlamaConfig}'s reader. Config-dependent choices (llama's optional biases, its rope_scaling,
 * an explicit head_dim) live in {@link Architecture}, which a config resolves from its family.
 *
 * @param modelType     config.json's model_type
 * @param architecture  config.json's architectures[0] as transformers writes it
 * @param qkvBias       q, k and v projections always carry biases (qwen2)
 * @param qkNorm        per-head RMSNorm on queries and keys after the projection, before RoPE (qwen3)
 * @param fusedQkv      one qkv_proj [(H+2Hkv)·hd, D] instead of q/k/v_proj (phi3)
 * @param fusedGateUp   one gate_up_proj [2F, D], gate rows first (phi3)
 * @param gemma         gemma2's differences: (1+w) norms, embeddings × sqrt(D), GeGLU, norms after attention and MLP,
 *                      query_pre_attn_scalar, logit softcaps, a window on even layers
 * @param window        which layers a sliding_window applies to
 * @param hiddenAct     the activation the family's config must name
 */
public record Family(String modelType, String architecture, boolean qkvBias, boolean qkNorm, boolean fusedQkv, boolean fusedGateUp,
                     boolean gemma, Window window, String hiddenAct) {

    /** Where a config's sliding_window takes effect. */
    public enum Window {
        /** never (llama, phi3) */
        NONE,
        /** every layer (mistral) */
        EVERY_LAYER,
        /** only when the config sets use_sliding_window (qwen2, qwen3; off in every released config) */
        OPT_IN,
        /** layers 0, 2, 4, … (gemma2) */
        EVEN_LAYERS
    }

    public static final Family LLAMA = new Family("llama", "LlamaForCausalLM", false, false, false, false, false, Window.NONE, "silu");
    public static final Family MISTRAL = new Family("mistral", "MistralForCausalLM", false, false, false, false, false, Window.EVERY_LAYER, "silu");
    public static final Family QWEN2 = new Family("qwen2", "Qwen2ForCausalLM", true, false, false, false, false, Window.OPT_IN, "silu");
    public static final Family QWEN3 = new Family("qwen3", "Qwen3ForCausalLM", false, true, false, false, false, Window.OPT_IN, "silu");
    public static final Family PHI3 = new Family("phi3", "Phi3ForCausalLM", false, false, true, true, false, Window.NONE, "silu");
    public static final Family GEMMA2 = new Family("gemma2", "Gemma2ForCausalLM", false, false, false, false, true, Window.EVEN_LAYERS, "gelu_pytorch_tanh");

    public static final List<Family> ALL = List.of(LLAMA, MISTRAL, QWEN2, QWEN3, PHI3, GEMMA2);

    /** The family of a model_type, or null. */
    public static Family of(String modelType) {
        for (Family f : ALL) if (f.modelType.equals(modelType)) return f;
        return null;
    }

    /** The model_types this build reads, for messages. */
    public static String known() {
        return String.join(", ", ALL.stream().map(f -> "\"" + f.modelType + "\"").toList());
    }

    @Override
    public String toString() {
        return modelType;
    }
}

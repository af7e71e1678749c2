package dev.llamaadapter.io.gguf;

import java.util.List;
import java.util.Map;

/**
 * How one llama.cpp architecture ({@code general.architecture}) lays out a decoder's tensors: the GGUF
 * name of each Hugging Face tensor inside a layer, and whether llama.cpp's converter permuted the q/k rows
 * into interleaved-RoPE order. Only llama.cpp's {@code llama} architecture is permuted (its converter's
 * {@code LlamaModel.permute}); qwen2, qwen3, phi3 and gemma2 keep Hugging Face's row order, because
 * llama.cpp runs them with NEOX-style (rotate_half) RoPE.
 *
 * @param name         general.architecture and the prefix of the metadata keys ("qwen2.block_count")
 * @param permutesQk   q/k weights (and biases) are stored in interleaved-RoPE row order
 * @param layerNames   GGUF name within blk.N → Hugging Face name within model.layers.N, for this architecture
 */
public record GgufArch(String name, boolean permutesQk, Map<String, String> layerNames) {

    /** Names every architecture here shares (llama's layout). */
    private static final Map<String, String> COMMON = Map.ofEntries(
            Map.entry("attn_q.weight", "self_attn.q_proj.weight"),
            Map.entry("attn_k.weight", "self_attn.k_proj.weight"),
            Map.entry("attn_v.weight", "self_attn.v_proj.weight"),
            Map.entry("attn_output.weight", "self_attn.o_proj.weight"),
            Map.entry("ffn_gate.weight", "mlp.gate_proj.weight"),
            Map.entry("ffn_up.weight", "mlp.up_proj.weight"),
            Map.entry("ffn_down.weight", "mlp.down_proj.weight"),
            Map.entry("attn_norm.weight", "input_layernorm.weight"),
            Map.entry("ffn_norm.weight", "post_attention_layernorm.weight"));

    /** Biases: llama's optional attention_bias / mlp_bias, qwen2's q/k/v biases. */
    private static final Map<String, String> BIASES = Map.of(
            "attn_q.bias", "self_attn.q_proj.bias",
            "attn_k.bias", "self_attn.k_proj.bias",
            "attn_v.bias", "self_attn.v_proj.bias",
            "attn_output.bias", "self_attn.o_proj.bias",
            "ffn_gate.bias", "mlp.gate_proj.bias",
            "ffn_up.bias", "mlp.up_proj.bias",
            "ffn_down.bias", "mlp.down_proj.bias");

    public static final GgufArch LLAMA = new GgufArch("llama", true, merge(COMMON, BIASES));
    public static final GgufArch QWEN2 = new GgufArch("qwen2", false, merge(COMMON, BIASES));
    /** qwen3: per-head q/k norms (llama.cpp's attn_q_norm / attn_k_norm). */
    public static final GgufArch QWEN3 = new GgufArch("qwen3", false, merge(COMMON, Map.of(
            "attn_q_norm.weight", "self_attn.q_norm.weight",
            "attn_k_norm.weight", "self_attn.k_norm.weight")));
    /** phi3: fused qkv, and the fused gate_up stored under ffn_up (gate rows first, as in the HF tensor). */
    public static final GgufArch PHI3 = new GgufArch("phi3", false, Map.of(
            "attn_qkv.weight", "self_attn.qkv_proj.weight",
            "attn_output.weight", "self_attn.o_proj.weight",
            "ffn_up.weight", "mlp.gate_up_proj.weight",
            "ffn_down.weight", "mlp.down_proj.weight",
            "attn_norm.weight", "input_layernorm.weight",
            "ffn_norm.weight", "post_attention_layernorm.weight"));
    /**
     * gemma2: four norms per layer. HF's post_attention_layernorm (on the attention output) is llama.cpp's
     * post_attention_norm, and the norm before the MLP is ffn_norm. llama.cpp's converter stores every
     * gemma2 norm as 1+w (see {@link #normsHoldOnePlusW}).
     */
    public static final GgufArch GEMMA2 = new GgufArch("gemma2", false, merge(Map.of(
            "attn_q.weight", "self_attn.q_proj.weight",
            "attn_k.weight", "self_attn.k_proj.weight",
            "attn_v.weight", "self_attn.v_proj.weight",
            "attn_output.weight", "self_attn.o_proj.weight",
            "ffn_gate.weight", "mlp.gate_proj.weight",
            "ffn_up.weight", "mlp.up_proj.weight",
            "ffn_down.weight", "mlp.down_proj.weight"), Map.of(
            "attn_norm.weight", "input_layernorm.weight",
            "post_attention_norm.weight", "post_attention_layernorm.weight",
            "ffn_norm.weight", "pre_feedforward_layernorm.weight",
            "post_ffw_norm.weight", "post_feedforward_layernorm.weight")));

    public static final List<GgufArch> ALL = List.of(LLAMA, QWEN2, QWEN3, PHI3, GEMMA2);

    /** The architecture of that name, or null. */
    public static GgufArch of(String name) {
        for (GgufArch a : ALL) if (a.name.equals(name)) return a;
        return null;
    }

    /** The names this build reads, for messages. */
    public static String known() {
        return String.join(", ", ALL.stream().map(a -> "\"" + a.name + "\"").toList());
    }

    /** llama.cpp's converter writes gemma2's norm weights as 1+w (HF's Gemma RMSNorm multiplies by 1+w). */
    public boolean normsHoldOnePlusW() {
        return name.equals("gemma2");
    }

    /** The metadata key "ARCH.suffix", e.g. key("block_count") = "qwen2.block_count". */
    public String key(String suffix) {
        return name + "." + suffix;
    }

    private static Map<String, String> merge(Map<String, String> a, Map<String, String> b) {
        java.util.HashMap<String, String> m = new java.util.HashMap<>(a);
        m.putAll(b);
        return Map.copyOf(m);
    }
}

package dev.llamaadapter.io.gguf;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * llama.cpp's tensor names and the Hugging Face names the engine uses (spec §1), both ways. Names that are
 * not part of a LLaMA model's weights map to themselves.
 */
public final class GgufNames {
    private GgufNames() {}

    private static final String[][] GLOBAL = {
            {"token_embd.weight", "model.embed_tokens.weight"},
            {"output_norm.weight", "model.norm.weight"},
            {"output.weight", "lm_head.weight"}};
    private static final String[][] LAYER = {
            {"attn_q.weight", "self_attn.q_proj.weight"},
            {"attn_k.weight", "self_attn.k_proj.weight"},
            {"attn_v.weight", "self_attn.v_proj.weight"},
            {"attn_output.weight", "self_attn.o_proj.weight"},
            {"ffn_gate.weight", "mlp.gate_proj.weight"},
            {"ffn_up.weight", "mlp.up_proj.weight"},
            {"ffn_down.weight", "mlp.down_proj.weight"},
            {"attn_norm.weight", "input_layernorm.weight"},
            {"ffn_norm.weight", "post_attention_layernorm.weight"}};
    private static final Pattern GGUF_LAYER = Pattern.compile("blk\\.(\\d+)\\.(.+)");
    private static final Pattern HF_LAYER = Pattern.compile("model\\.layers\\.(\\d+)\\.(.+)");

    /** The Hugging Face name of a GGUF tensor of architecture arch (its own layer names; the global ones are shared). */
    public static String toHf(String gguf, GgufArch arch) {
        for (String[] g : GLOBAL) if (g[0].equals(gguf)) return g[1];
        Matcher m = GGUF_LAYER.matcher(gguf);
        if (m.matches()) {
            String hf = arch.layerNames().get(m.group(2));
            if (hf != null) return "model.layers." + m.group(1) + "." + hf;
        }
        return gguf;
    }

    /** The GGUF name, in architecture arch, of a Hugging Face tensor (the inverse of {@link #toHf(String, GgufArch)}). */
    public static String toGguf(String hf, GgufArch arch) {
        for (String[] g : GLOBAL) if (g[1].equals(hf)) return g[0];
        Matcher m = HF_LAYER.matcher(hf);
        if (m.matches())
            for (java.util.Map.Entry<String, String> e : arch.layerNames().entrySet())
                if (e.getValue().equals(m.group(2))) return "blk." + m.group(1) + "." + e.getKey();
        return hf;
    }

    /** The Hugging Face name of a GGUF tensor (e.g. blk.3.attn_q.weight → model.layers.3.self_attn.q_proj.weight). */
    public static String toHf(String gguf) {
        for (String[] g : GLOBAL) if (g[0].equals(gguf)) return g[1];
        Matcher m = GGUF_LAYER.matcher(gguf);
        if (m.matches()) for (String[] l : LAYER) if (l[0].equals(m.group(2))) return "model.layers." + m.group(1) + "." + l[1];
        return gguf;
    }

    /** The GGUF name of a Hugging Face tensor (the inverse of {@link #toHf}). */
    public static String toGguf(String hf) {
        for (String[] g : GLOBAL) if (g[1].equals(hf)) return g[0];
        Matcher m = HF_LAYER.matcher(hf);
        if (m.matches()) for (String[] l : LAYER) if (l[1].equals(m.group(2))) return "blk." + m.group(1) + "." + l[0];
        return hf;
    }
}

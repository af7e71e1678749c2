package dev.llamaadapter.model;

import dev.llamaadapter.io.gguf.GgufArch;
import dev.llamaadapter.io.gguf.GgufException;
import dev.llamaadapter.io.gguf.GgufFile;
import dev.llamaadapter.io.gguf.GgufMetadata;
import dev.llamaadapter.io.gguf.GgufTensor;
import dev.llamaadapter.io.gguf.GgufValue;
import dev.llamaadapter.io.gguf.GgufValueType;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * A GGUF file's model configuration as the engine's {@link LlamaConfig}, and back: the keys every
 * architecture shares ({@code ARCH.embedding_length}, {@code feed_forward_length}, {@code block_count},
 * {@code attention.head_count(_kv)}, {@code attention.key_length}/{@code value_length},
 * {@code attention.layer_norm_rms_epsilon}, {@code rope.freq_base}, {@code rope.dimension_count},
 * {@code context_length}), then the family's own through {@link GgufFamily}.
 */
final class GgufConfig {
    private GgufConfig() {}

    /**
     * The shape every architecture stores the same way.
     *
     * @param headDim   attention.key_length, else D / H
     * @param rotaryDim rope.dimension_count, else headDim
     */
    record Shape(int hidden, int ffn, int layers, int heads, int kvHeads, int headDim, int rotaryDim) {
        static Shape of(LlamaConfig c) {
            return new Shape(c.hiddenSize(), c.intermediateSize(), c.numHiddenLayers(), c.numAttentionHeads(), c.numKeyValueHeads(),
                    c.headDim(), c.arch().rotaryDim());
        }
    }

    /**
     * The config of a GGUF model of any architecture read here. The head is tied when there is no
     * output.weight, or when it holds exactly the embedding's bytes. What would change the math silently
     * is refused: another architecture, mixture of experts, RoPE scaling that is not implemented.
     */
    static LlamaConfig read(GgufFile f) throws GgufException {
        GgufMetadata md = f.metadata();
        Path file = f.path();
        String archName = md.string("general.architecture");
        if (archName == null) throw new GgufException(file, "no 'general.architecture' metadata: not a model file (a vocabulary-only GGUF?)");
        GgufFamily fam = GgufFamily.of(archName);
        if (fam == null)
            throw new GgufException(file, "architecture \"" + archName + "\" is not supported (supported: " + GgufArch.known() + ")");
        GgufArch a = fam.arch();
        Integer experts = md.intIn(a.key("expert_count"), 0, Integer.MAX_VALUE);
        if (experts != null && experts > 0)
            throw new GgufException(file, "a mixture-of-experts model (" + a.key("expert_count") + " = " + experts + ") is not supported");
        if (f.tensors().isEmpty()) throw new GgufException(file, "has no tensors: a vocabulary-only GGUF, not a model");

        int D = required(md, a.key("embedding_length")), F = required(md, a.key("feed_forward_length"));
        int N = required(md, a.key("block_count")), H = required(md, a.key("attention.head_count"));
        Integer hkv = md.intIn(a.key("attention.head_count_kv"), 1, Integer.MAX_VALUE);
        Integer keyLen = md.intIn(a.key("attention.key_length"), 1, Integer.MAX_VALUE);
        Integer valueLen = md.intIn(a.key("attention.value_length"), 1, Integer.MAX_VALUE);
        if (keyLen == null && D % H != 0)
            throw new GgufException(file, a.key("embedding_length") + " " + D + " is not divisible by " + a.key("attention.head_count") + " " + H
                    + " and there is no " + a.key("attention.key_length"));
        int hd = keyLen != null ? keyLen : D / H;
        if (valueLen != null && valueLen != hd)
            throw new GgufException(file, a.key("attention.value_length") + " " + valueLen + " differs from the key length " + hd + ": not supported");
        Integer rotDims = md.intIn(a.key("rope.dimension_count"), 1, Integer.MAX_VALUE);
        Shape s = new Shape(D, F, N, H, hkv == null ? H : hkv, hd, rotDims == null ? hd : rotDims);
        Architecture arch;
        try {
            arch = fam.read(f, s);
        } catch (IllegalArgumentException e) {
            throw new GgufException(file, e.getMessage());
        }

        double eps = shortest(md, a.key("attention.layer_norm_rms_epsilon"), LlamaConfig.DEFAULT_RMS_NORM_EPS);
        double theta = shortest(md, a.key("rope.freq_base"), LlamaConfig.DEFAULT_ROPE_THETA);
        GgufTensor embed = f.tensor("token_embd.weight");
        Integer V = md.intIn(a.key("vocab_size"), 1, Integer.MAX_VALUE);
        if (V == null && md.has("tokenizer.ggml.tokens")) V = md.strings("tokenizer.ggml.tokens").length;
        if (V == null && embed != null && embed.ne().length == 2) V = (int) Math.min(Integer.MAX_VALUE, embed.ne()[1]);
        if (V == null) throw new GgufException(file, "cannot tell the vocabulary size: no " + a.key("vocab_size") + ", token list or token_embd.weight");
        if (embed != null && (embed.ne().length != 2 || embed.ne()[1] != V || embed.ne()[0] != D))
            throw new GgufException(file, "tensor 'token_embd.weight' has ne " + Arrays.toString(embed.ne()) + ", expected ["
                    + D + ", " + V + "] (embedding_length, vocabulary size)");
        GgufTensor out = f.tensor("output.weight");
        boolean tied = out == null || (embed != null && out.type() == embed.type() && Arrays.equals(out.ne(), embed.ne())
                && out.data().mismatch(embed.data()) == -1);

        Long bos = md.integer("tokenizer.ggml.bos_token_id"), eos = md.integer("tokenizer.ggml.eos_token_id");
        Integer ctx = md.intIn(a.key("context_length"), 1, Integer.MAX_VALUE);
        try {
            return new LlamaConfig(D, F, N, H, s.kvHeads(), V, eps, theta, tied, null, ctx, validId(bos, V),
                    validId(eos, V) == null ? List.of() : List.of(validId(eos, V)), arch.family().hiddenAct(), arch);
        } catch (IllegalArgumentException e) {
            throw new GgufException(file, e.getMessage());
        }
    }

    /** The GGUF metadata of a config (llama.cpp's keys for its family's architecture), into out. */
    static void write(LlamaConfig c, String name, Map<String, GgufValue> out) {
        GgufFamily fam = GgufFamily.of(c.arch().family());
        GgufArch a = fam.arch();
        out.put("general.architecture", GgufValue.string(a.name()));
        if (name != null) out.put("general.name", GgufValue.string(name));
        out.put(a.key("context_length"), GgufValue.uint32(contextLength(c)));
        out.put(a.key("embedding_length"), GgufValue.uint32(c.hiddenSize()));
        out.put(a.key("feed_forward_length"), GgufValue.uint32(c.intermediateSize()));
        out.put(a.key("block_count"), GgufValue.uint32(c.numHiddenLayers()));
        out.put(a.key("attention.head_count"), GgufValue.uint32(c.numAttentionHeads()));
        out.put(a.key("attention.head_count_kv"), GgufValue.uint32(c.numKeyValueHeads()));
        if (c.headDim() * c.numAttentionHeads() != c.hiddenSize() || c.arch().family() == Family.GEMMA2 || c.arch().family() == Family.QWEN3) {
            out.put(a.key("attention.key_length"), GgufValue.uint32(c.headDim()));
            out.put(a.key("attention.value_length"), GgufValue.uint32(c.headDim()));
        }
        out.put(a.key("rope.dimension_count"), GgufValue.uint32(c.arch().rotaryDim()));
        out.put(a.key("rope.freq_base"), GgufValue.float32((float) c.ropeTheta()));
        out.put(a.key("attention.layer_norm_rms_epsilon"), GgufValue.float32((float) c.rmsNormEps()));
        fam.write(c, out);
    }

    /** context_length: max_position_embeddings, 2048 when unknown. */
    static int contextLength(LlamaConfig c) {
        return c.maxPositionEmbeddings() != null ? c.maxPositionEmbeddings() : 2048;
    }

    private static int required(GgufMetadata md, String key) throws GgufException {
        Integer v = md.intIn(key, 1, Integer.MAX_VALUE);
        if (v == null) throw new GgufException(md.file(), "missing metadata '" + key + "'");
        return v;
    }

    /** A float32 value as the shortest decimal that rounds to it (1e-5f reads 1.0E-5, as config.json has it), so fingerprints agree across formats. */
    static double shortest(GgufMetadata md, String key, double dflt) throws GgufException {
        GgufValue v = md.get(key);
        if (v == null) return dflt;
        if (v.type() == GgufValueType.FLOAT32) return Double.parseDouble(Float.toString((Float) v.value()));
        return md.number(key);
    }

    private static Integer validId(Long id, int V) {
        return id == null || id < 0 || id >= V ? null : (int) (long) id;
    }
}

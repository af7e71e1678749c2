package dev.llamaadapter.model;

import dev.llamaadapter.io.GgufSource;
import dev.llamaadapter.io.Llama2cSource;
import dev.llamaadapter.io.gguf.GgufException;
import dev.llamaadapter.io.gguf.GgufFile;
import dev.llamaadapter.io.gguf.GgufMetadata;
import dev.llamaadapter.io.gguf.GgufTensor;
import dev.llamaadapter.io.gguf.GgufValue;
import dev.llamaadapter.io.gguf.GgufValueType;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/** The model configuration that GGUF metadata and llama2.c headers carry, as the engine's {@link LlamaConfig}, and back. */
final class ModelFiles {
    private ModelFiles() {}

    /**
     * The config of a GGUF LLaMA: {@code llama.embedding_length}, {@code feed_forward_length},
     * {@code block_count}, {@code attention.head_count(_kv)}, {@code attention.layer_norm_rms_epsilon},
     * {@code rope.freq_base}; the vocabulary size from {@code llama.vocab_size}, the token list or the
     * embedding. The head is tied when there is no {@code output.weight}, or when it holds exactly the
     * embedding's bytes. What would change the math silently is refused: another architecture, mixture of
     * experts, RoPE scaling, partial rotary dimensions.
     */
    static LlamaConfig fromGguf(GgufSource src) throws GgufException {
        GgufFile f = src.gguf();
        GgufMetadata md = f.metadata();
        Path file = f.path();
        String arch = md.string("general.architecture");
        if (arch == null) throw new GgufException(file, "no 'general.architecture' metadata: not a model file (a vocabulary-only GGUF?)");
        if (!arch.equals("llama"))
            throw new GgufException(file, "architecture \"" + arch + "\" is not supported (only \"llama\")");
        Integer experts = md.intIn("llama.expert_count", 0, Integer.MAX_VALUE);
        if (experts != null && experts > 0) throw new GgufException(file, "a mixture-of-experts model (llama.expert_count = " + experts + ") is not supported");
        String scaling = md.string("llama.rope.scaling.type");
        if (scaling != null && !scaling.equals("none"))
            throw new GgufException(file, "RoPE scaling (llama.rope.scaling.type = \"" + scaling + "\") is not supported (plain RoPE only)");
        if (f.tensor("rope_freqs.weight") != null)
            throw new GgufException(file, "tensor 'rope_freqs.weight' (Llama 3.1-style RoPE frequency scaling) is not supported (plain RoPE only)");

        if (f.tensors().isEmpty()) throw new GgufException(file, "has no tensors: a vocabulary-only GGUF, not a model");
        int D = required(md, "llama.embedding_length"), F = required(md, "llama.feed_forward_length");
        int N = required(md, "llama.block_count"), H = required(md, "llama.attention.head_count");
        Integer hkv = md.intIn("llama.attention.head_count_kv", 1, Integer.MAX_VALUE);
        Integer rotDims = md.intIn("llama.rope.dimension_count", 0, Integer.MAX_VALUE);
        if (rotDims != null && H > 0 && rotDims * H != D)
            throw new GgufException(file, "llama.rope.dimension_count " + rotDims + " differs from the head size " + D / H + ": partial RoPE is not supported");
        for (String key : new String[] {"llama.attention.key_length", "llama.attention.value_length"}) {
            Integer len = md.intIn(key, 0, Integer.MAX_VALUE);
            if (len != null && len * H != D)
                throw new GgufException(file, key + " " + len + " differs from embedding_length / head_count = " + D / H + ": not supported");
        }
        double eps = shortest(md, "llama.attention.layer_norm_rms_epsilon", LlamaConfig.DEFAULT_RMS_NORM_EPS);
        double theta = shortest(md, "llama.rope.freq_base", LlamaConfig.DEFAULT_ROPE_THETA);

        GgufTensor embed = f.tensor("token_embd.weight");
        Integer V = md.intIn("llama.vocab_size", 1, Integer.MAX_VALUE);
        if (V == null && md.has("tokenizer.ggml.tokens")) V = md.strings("tokenizer.ggml.tokens").length;
        if (V == null && embed != null && embed.ne().length == 2) V = (int) Math.min(Integer.MAX_VALUE, embed.ne()[1]);
        if (V == null) throw new GgufException(file, "cannot tell the vocabulary size: no llama.vocab_size, token list or token_embd.weight");
        if (embed != null && (embed.ne().length != 2 || embed.ne()[1] != V || embed.ne()[0] != D))
            throw new GgufException(file, "tensor 'token_embd.weight' has ne " + java.util.Arrays.toString(embed.ne()) + ", expected ["
                    + D + ", " + V + "] (embedding_length, vocabulary size)");

        GgufTensor out = f.tensor("output.weight");
        boolean tied = out == null || (embed != null && out.type() == embed.type() && java.util.Arrays.equals(out.ne(), embed.ne())
                && out.data().mismatch(embed.data()) == -1);

        Long bos = md.integer("tokenizer.ggml.bos_token_id"), eos = md.integer("tokenizer.ggml.eos_token_id");
        Integer ctx = md.intIn("llama.context_length", 1, Integer.MAX_VALUE);
        try {
            return new LlamaConfig(D, F, N, H, hkv == null ? H : hkv, V, eps, theta, tied, null, ctx,
                    validId(bos, V), validId(eos, V) == null ? List.of() : List.of(validId(eos, V)), "silu");
        } catch (IllegalArgumentException e) {
            throw new GgufException(file, e.getMessage());
        }
    }

    private static int required(GgufMetadata md, String key) throws GgufException {
        Integer v = md.intIn(key, 1, Integer.MAX_VALUE);
        if (v == null) throw new GgufException(md.file(), "missing metadata '" + key + "'");
        return v;
    }

    /** A float32 value as the shortest decimal that rounds to it (1e-5f reads 1.0E-5, as config.json has it), so fingerprints agree across formats. */
    private static double shortest(GgufMetadata md, String key, double dflt) throws GgufException {
        GgufValue v = md.get(key);
        if (v == null) return dflt;
        if (v.type() == GgufValueType.FLOAT32) return Double.parseDouble(Float.toString((Float) v.value()));
        return md.number(key);
    }

    private static Integer validId(Long id, int V) {
        return id == null || id < 0 || id >= V ? null : (int) (long) id;
    }

    /** The config of a llama2.c checkpoint: its header, with llama2.c's fixed eps 1e-5 and theta 10000, BOS 1 and EOS 2. */
    static LlamaConfig fromLlama2c(Llama2cSource src) throws java.io.IOException {
        Llama2cSource.Header h = src.header();
        try {
            return new LlamaConfig(h.dim(), h.hiddenDim(), h.nLayers(), h.nHeads(), h.nKvHeads(), h.vocabSize(), 1e-5,
                    LlamaConfig.DEFAULT_ROPE_THETA, h.sharedClassifier(), "float32", h.seqLen(), 1, List.of(2), "silu");
        } catch (IllegalArgumentException e) {
            throw new java.io.IOException(src.path() + ": " + e.getMessage());
        }
    }

    /** The GGUF metadata of a config (llama.cpp's keys), into {@code out}. */
    static void putGguf(LlamaConfig c, String name, Map<String, GgufValue> out) {
        out.put("general.architecture", GgufValue.string("llama"));
        if (name != null) out.put("general.name", GgufValue.string(name));
        out.put("llama.context_length", GgufValue.uint32(c.maxPositionEmbeddings() != null ? c.maxPositionEmbeddings() : 2048));
        out.put("llama.embedding_length", GgufValue.uint32(c.hiddenSize()));
        out.put("llama.feed_forward_length", GgufValue.uint32(c.intermediateSize()));
        out.put("llama.block_count", GgufValue.uint32(c.numHiddenLayers()));
        out.put("llama.attention.head_count", GgufValue.uint32(c.numAttentionHeads()));
        out.put("llama.attention.head_count_kv", GgufValue.uint32(c.numKeyValueHeads()));
        out.put("llama.rope.dimension_count", GgufValue.uint32(c.headDim()));
        out.put("llama.rope.freq_base", GgufValue.float32((float) c.ropeTheta()));
        out.put("llama.attention.layer_norm_rms_epsilon", GgufValue.float32((float) c.rmsNormEps()));
        out.put("llama.vocab_size", GgufValue.uint32(c.vocabSize()));
    }
}

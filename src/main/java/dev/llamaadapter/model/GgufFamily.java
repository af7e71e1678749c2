package dev.llamaadapter.model;

import dev.llamaadapter.io.gguf.GgufArch;
import dev.llamaadapter.io.gguf.GgufException;
import dev.llamaadapter.io.gguf.GgufFile;
import dev.llamaadapter.io.gguf.GgufMetadata;
import dev.llamaadapter.io.gguf.GgufValue;

import java.util.Map;

/**
 * One decoder family as llama.cpp's GGUF files store it (spec §7 over llama.cpp's {@code convert_hf_to_gguf.py}):
 * its architecture name and tensor names ({@link GgufArch}), how the family's switches are read back from the
 * metadata and tensors, and which metadata keys it writes beyond the ones every architecture shares
 * ({@link GgufConfig}). One small description per family; the engine does not know about GGUF.
 */
sealed interface GgufFamily {

    /** llama.cpp's architecture: general.architecture, the key prefix and the tensor names. */
    GgufArch arch();

    /** The family's switches from a file of this architecture; the shared shape is in s. */
    Architecture read(GgufFile f, GgufConfig.Shape s) throws GgufException;

    /** The family's metadata beyond the shared keys, into out (keys prefixed by the architecture). */
    void write(LlamaConfig c, Map<String, GgufValue> out);

    /** Whether the file carries output.weight even when tied (llama.cpp's phi3 loader requires one). */
    default boolean writesTiedHead() {
        return false;
    }

    /** The description of a config's family. */
    static GgufFamily of(Family f) {
        if (f == Family.QWEN2) return new Qwen2();
        if (f == Family.QWEN3) return new Qwen3();
        if (f == Family.PHI3) return new Phi3();
        if (f == Family.GEMMA2) return new Gemma2();
        return new Llama(); // llama and mistral: llama.cpp has one architecture for both
    }

    /** The description of a file's general.architecture, or null when llama.cpp's name is not one read here. */
    static GgufFamily of(String arch) {
        for (GgufFamily g : new GgufFamily[] {new Llama(), new Qwen2(), new Qwen3(), new Phi3(), new Gemma2()})
            if (g.arch().name().equals(arch)) return g;
        return null;
    }

    /**
     * llama and Mistral (llama.cpp converts both as "llama"): a sliding window in the metadata makes it Mistral;
     * linear RoPE scaling from rope.scaling.*, Llama 3's through the rope_freqs.weight tensor; optional biases
     * by their tensors. q/k rows are permuted (GgufSource undoes it).
     */
    record Llama() implements GgufFamily {
        public GgufArch arch() {
            return GgufArch.LLAMA;
        }

        public Architecture read(GgufFile f, GgufConfig.Shape s) throws GgufException {
            GgufMetadata md = f.metadata();
            if (s.rotaryDim() != s.headDim())
                throw new GgufException(f.path(), "llama.rope.dimension_count " + s.rotaryDim() + " differs from the head size " + s.headDim()
                        + ": partial RoPE is not supported for llama");
            RopeScaling rope = GgufRope.read(f, s);
            Integer window = md.intIn("llama.attention.sliding_window", 0, Integer.MAX_VALUE);
            boolean qkvBias = f.tensor("blk.0.attn_q.bias") != null, oBias = f.tensor("blk.0.attn_output.bias") != null;
            boolean mlpBias = f.tensor("blk.0.ffn_gate.bias") != null;
            Family fam = window != null && window > 0 ? Family.MISTRAL : Family.LLAMA;
            return new Architecture(fam, s.headDim(), rope, s.headDim(), qkvBias, oBias, mlpBias, window == null ? 0 : window,
                    1 / Math.sqrt(s.headDim()), 0, 0);
        }

        public void write(LlamaConfig c, Map<String, GgufValue> out) {
            Architecture a = c.arch();
            out.put("llama.vocab_size", GgufValue.uint32(c.vocabSize()));
            if (a.rope().type().equals("linear")) {
                out.put("llama.rope.scaling.type", GgufValue.string("linear"));
                out.put("llama.rope.scaling.factor", GgufValue.float32((float) a.rope().factor()));
            }
            // llama.cpp runs llama without a window; the key keeps a Mistral's window for this reader (and newer llama.cpp)
            if (a.slidingWindow() > 0) out.put("llama.attention.sliding_window", GgufValue.uint32(a.slidingWindow()));
        }
    }

    /** qwen2: q/k/v biases always; use_sliding_window is off in every released config, and the converter writes no window. */
    record Qwen2() implements GgufFamily {
        public GgufArch arch() {
            return GgufArch.QWEN2;
        }

        public Architecture read(GgufFile f, GgufConfig.Shape s) throws GgufException {
            return plain(f, s, Family.QWEN2, true);
        }

        public void write(LlamaConfig c, Map<String, GgufValue> out) {}
    }

    /** qwen3: per-head q/k norms (attn_q_norm, attn_k_norm) and an explicit head size (attention.key_length). */
    record Qwen3() implements GgufFamily {
        public GgufArch arch() {
            return GgufArch.QWEN3;
        }

        public Architecture read(GgufFile f, GgufConfig.Shape s) throws GgufException {
            return plain(f, s, Family.QWEN3, false);
        }

        public void write(LlamaConfig c, Map<String, GgufValue> out) {}
    }

    /**
     * phi3: fused attn_qkv and ffn_up (gate rows first); partial RoPE through rope.dimension_count. LongRoPE
     * (rope_factors_long/short tensors) is refused, as config.json's longrope is.
     */
    record Phi3() implements GgufFamily {
        public GgufArch arch() {
            return GgufArch.PHI3;
        }

        public Architecture read(GgufFile f, GgufConfig.Shape s) throws GgufException {
            for (String t : new String[] {"rope_factors_long.weight", "rope_factors_short.weight"})
                if (f.tensor(t) != null)
                    throw new GgufException(f.path(), "tensor '" + t + "' (LongRoPE scaling) is not supported: longrope is not implemented");
            return new Architecture(Family.PHI3, s.headDim(), RopeScaling.NONE, s.rotaryDim(), false, false, false, 0,
                    1 / Math.sqrt(s.headDim()), 0, 0);
        }

        public void write(LlamaConfig c, Map<String, GgufValue> out) {
            // as the converter writes them: 0 = no window (llama.cpp's loader falls back to a guess by shape otherwise)
            out.put("phi3.attention.sliding_window", GgufValue.uint32(0));
            out.put("phi3.rope.scaling.original_context_length", GgufValue.uint32(GgufConfig.contextLength(c)));
        }

        public boolean writesTiedHead() {
            return true;
        }
    }

    /**
     * gemma2: norms stored as 1+w, softcaps and the window in the metadata, the window on even layers. The
     * converter does not store query_pre_attn_scalar: llama.cpp scales queries by 1/sqrt(head_dim), or by
     * 1/sqrt(D/H) for the 46-layer 27B; a file of ours with another scale says so in attention.scale.
     */
    record Gemma2() implements GgufFamily {
        public GgufArch arch() {
            return GgufArch.GEMMA2;
        }

        public Architecture read(GgufFile f, GgufConfig.Shape s) throws GgufException {
            GgufMetadata md = f.metadata();
            Integer window = md.intIn("gemma2.attention.sliding_window", 0, Integer.MAX_VALUE);
            double attnCap = GgufConfig.shortest(md, "gemma2.attn_logit_softcapping", 50.0); // llama.cpp's defaults
            double finalCap = GgufConfig.shortest(md, "gemma2.final_logit_softcapping", 30.0);
            double scale = md.has("gemma2.attention.scale") ? fromFloat32(GgufConfig.shortest(md, "gemma2.attention.scale", 0)) : llamaCppScale(s);
            if (!(scale > 0) || Double.isInfinite(scale))
                throw new GgufException(f.path(), "metadata 'gemma2.attention.scale' = " + scale + " must be a positive number");
            for (double cap : new double[] {attnCap, finalCap})
                if (!(cap >= 0) || Double.isInfinite(cap))
                    throw new GgufException(f.path(), "gemma2 softcap " + cap + " (attn_logit_softcapping / final_logit_softcapping) must be a number ≥ 0");
            return new Architecture(Family.GEMMA2, s.headDim(), RopeScaling.NONE, s.rotaryDim(), false, false, false,
                    window == null ? 4096 : window, scale, attnCap, finalCap);
        }

        /**
         * A scale stored as float32 back to query_pre_attn_scalar^−1/2 in double: the scalar is a whole number in
         * every Gemma config, so one within float32's rounding of a whole number is taken as that number.
         */
        static double fromFloat32(double scale) {
            if (!(scale > 0)) return scale;
            double q = 1 / (scale * scale), whole = Math.rint(q);
            return whole >= 1 && Math.abs(q - whole) <= 1e-6 * q ? 1 / Math.sqrt(whole) : scale;
        }

        /** The query scale llama.cpp gives a gemma2 file: 1/sqrt(D/H) for 46 layers (27B), else 1/sqrt(head_dim). */
        static double llamaCppScale(GgufConfig.Shape s) {
            return s.layers() == 46 ? 1 / Math.sqrt((double) s.hidden() / s.heads()) : 1 / Math.sqrt(s.headDim());
        }

        public void write(LlamaConfig c, Map<String, GgufValue> out) {
            Architecture a = c.arch();
            out.put("gemma2.attn_logit_softcapping", GgufValue.float32((float) a.attnSoftcap()));
            out.put("gemma2.final_logit_softcapping", GgufValue.float32((float) a.finalSoftcap()));
            out.put("gemma2.attention.sliding_window", GgufValue.uint32(a.slidingWindow()));
            GgufConfig.Shape s = GgufConfig.Shape.of(c);
            if (Math.abs(a.queryScale() - llamaCppScale(s)) > 1e-12 * llamaCppScale(s))
                out.put("gemma2.attention.scale", GgufValue.float32((float) a.queryScale()));
        }
    }

    /** A family whose GGUF adds nothing to the shared keys: its own switches, plain RoPE, no window. */
    private static Architecture plain(GgufFile f, GgufConfig.Shape s, Family fam, boolean qkvBias) throws GgufException {
        if (s.rotaryDim() != s.headDim())
            throw new GgufException(f.path(), fam + ".rope.dimension_count " + s.rotaryDim() + " differs from the head size " + s.headDim()
                    + ": partial RoPE is not supported for " + fam);
        String scaling = f.metadata().string(fam + ".rope.scaling.type");
        if (scaling != null && !scaling.equals("none"))
            throw new GgufException(f.path(), "RoPE scaling (" + fam + ".rope.scaling.type = \"" + scaling + "\") is not supported for " + fam);
        return new Architecture(fam, s.headDim(), RopeScaling.NONE, s.headDim(), qkvBias, false, false, 0, 1 / Math.sqrt(s.headDim()), 0, 0);
    }
}

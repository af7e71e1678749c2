package dev.llamaadapter.model;

import dev.llamaadapter.io.gguf.GgufArch;
import dev.llamaadapter.io.gguf.GgufNames;
import dev.llamaadapter.tensor.WeightMatrix;

import java.util.ArrayList;
import java.util.List;

/**
 * The tensors of a model as llama.cpp's architecture for its family lays them out (the inverse of what
 * GgufSource and {@link LlamaWeights#load} read): GGUF names, q/k rows (and llama's q/k biases) in
 * interleaved-RoPE order for the llama architecture only, phi3's fused attn_qkv and ffn_up (gate rows
 * first), gemma2's four norms (held as 1+w, which is what llama.cpp's converter stores), Llama 3 RoPE as
 * the rope_freqs.weight tensor, and output.weight where the head is untied or the architecture needs one.
 */
final class GgufLayout {
    private GgufLayout() {}

    /** Rows of one matrix: file row j of the part is logical row rowOf[j] of m (null: the rows in order). */
    record Part(WeightMatrix m, int[] rowOf) {}

    /**
     * One GGUF tensor: a matrix stacking parts' rows, or a vector (F32).
     *
     * @param edge the token embedding or the output head (kept at a higher precision by the quantiser)
     */
    record Tensor(String name, List<Part> parts, float[] vector, boolean edge) {
        int rows() {
            int n = 0;
            for (Part p : parts) n += p.m().rows();
            return n;
        }

        int cols() {
            return parts.getFirst().m().cols();
        }
    }

    static List<Tensor> of(LlamaConfig c, LlamaWeights w) {
        GgufFamily fam = GgufFamily.of(c.arch().family());
        GgufArch arch = fam.arch();
        Architecture a = c.arch();
        int hd = c.headDim();
        int[] qOrder = arch.permutesQk() ? inverse(WeightMatrix.interleavedToHalves(c.numAttentionHeads(), hd)) : null;
        int[] kOrder = arch.permutesQk() ? inverse(WeightMatrix.interleavedToHalves(c.numKeyValueHeads(), hd)) : null;
        List<Tensor> out = new ArrayList<>();
        out.add(matrix("token_embd.weight", true, new Part(w.embed(), null)));
        if (a.rope().type().equals("llama3") || a.rope().type().equals("freqs"))
            out.add(vector("rope_freqs.weight", GgufRope.tensorOf(a.rope(), c.ropeTheta(), a.rotaryDim())));
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            LlamaWeights.Layer l = w.layers()[i];
            LlamaWeights.Extras x = l.x();
            String p = "model.layers." + i + ".";
            Layer L = new Layer(out, arch, p);
            L.vector("input_layernorm.weight", l.attnNorm());
            if (arch == GgufArch.PHI3) {
                L.matrix("self_attn.qkv_proj.weight", new Part(l.wq(), null), new Part(l.wk(), null), new Part(l.wv(), null));
            } else {
                L.matrix("self_attn.q_proj.weight", new Part(l.wq(), qOrder));
                L.matrix("self_attn.k_proj.weight", new Part(l.wk(), kOrder));
                L.matrix("self_attn.v_proj.weight", new Part(l.wv(), null));
            }
            L.vector("self_attn.q_proj.bias", permuted(x.bq(), qOrder));
            L.vector("self_attn.k_proj.bias", permuted(x.bk(), kOrder));
            L.vector("self_attn.v_proj.bias", x.bv());
            L.vector("self_attn.q_norm.weight", x.qNorm());
            L.vector("self_attn.k_norm.weight", x.kNorm());
            L.matrix("self_attn.o_proj.weight", new Part(l.wo(), null));
            L.vector("self_attn.o_proj.bias", x.bo());
            if (a.family().gemma()) {
                L.vector("post_attention_layernorm.weight", x.postAttnNorm());
                L.vector("pre_feedforward_layernorm.weight", l.mlpNorm());
                L.vector("post_feedforward_layernorm.weight", x.postMlpNorm());
            } else {
                L.vector("post_attention_layernorm.weight", l.mlpNorm());
            }
            if (arch == GgufArch.PHI3) {
                L.matrix("mlp.gate_up_proj.weight", new Part(l.wGate(), null), new Part(l.wUp(), null));
            } else {
                L.matrix("mlp.gate_proj.weight", new Part(l.wGate(), null));
                L.matrix("mlp.up_proj.weight", new Part(l.wUp(), null));
            }
            L.matrix("mlp.down_proj.weight", new Part(l.wDown(), null));
            L.vector("mlp.gate_proj.bias", x.bGate());
            L.vector("mlp.up_proj.bias", x.bUp());
            L.vector("mlp.down_proj.bias", x.bDown());
        }
        out.add(vector("output_norm.weight", w.finalNorm()));
        if (!c.tieWordEmbeddings() || fam.writesTiedHead()) out.add(matrix("output.weight", true, new Part(w.head(), null)));
        return out;
    }

    /** Adds one layer's tensors under their GGUF names; absent (null) vectors are skipped. */
    private record Layer(List<Tensor> out, GgufArch arch, String prefix) {
        void vector(String hf, float[] v) {
            if (v != null) out.add(GgufLayout.vector(GgufNames.toGguf(prefix + hf, arch), v));
        }

        void matrix(String hf, Part... parts) {
            out.add(GgufLayout.matrix(GgufNames.toGguf(prefix + hf, arch), false, parts));
        }
    }

    private static Tensor matrix(String name, boolean edge, Part... parts) {
        return new Tensor(name, List.of(parts), null, edge);
    }

    private static Tensor vector(String name, float[] v) {
        return new Tensor(name, List.of(), v, false);
    }

    /** v in file order: file element j is v[rowOf[j]]. */
    private static float[] permuted(float[] v, int[] rowOf) {
        if (v == null || rowOf == null) return v;
        float[] out = new float[v.length];
        for (int j = 0; j < v.length; j++) out[j] = v[rowOf[j]];
        return out;
    }

    /** The file order of a rotate_half order: rowOf[order[r]] = r. */
    private static int[] inverse(int[] order) {
        int[] rowOf = new int[order.length];
        for (int r = 0; r < order.length; r++) rowOf[order[r]] = r;
        return rowOf;
    }
}

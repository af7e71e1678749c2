package dev.llamaadapter.model;

import dev.llamaadapter.tensor.DType;
import dev.llamaadapter.tensor.WeightMatrix;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

/**
 * A base model whose every weight is trainable: full fine-tuning (the "Alpaca-style" baseline the paper
 * compares with) and the demo's pretraining. Each tensor is one fp32 array, the optimizer's master copy;
 * the {@link LlamaWeights} the kernels read are views of those very arrays (heap memory segments, norm
 * vectors shared outright), so an optimizer update is what the next forward sees, with nothing copied.
 * Gradients live in {@link #grads}, the same layout. A family's extra weights (spec §7: biases, q/k norms,
 * gemma2's post-norms) are tensors like the others; phi3's fused projections are trained as their parts
 * (named "…qkv_proj.weight#q" and so on) and written back fused; gemma2's norms are held as 1+w, as the
 * engine reads them, and written back as w.
 */
public final class TrainableWeights {
    /** One trainable tensor: its Hugging Face name, shape, value and gradient. */
    public record Tensor(String name, long[] shape, float[] value, float[] grad) {}

    public final LlamaConfig config;
    public final LlamaWeights weights; // views over the values below
    public final WeightGrads grads;
    private final List<Tensor> tensors = new ArrayList<>();

    /** The values of `from` (any dtype), converted to fp32 and copied: the source file is never written. */
    public TrainableWeights(LlamaConfig c, LlamaWeights from) {
        this.config = c;
        int D = c.hiddenSize();
        WeightMatrix embed = copy("model.embed_tokens.weight", from.embed());
        float[] gEmbed = gradOf(embed);
        LlamaWeights.Layer[] layers = new LlamaWeights.Layer[from.layers().length];
        WeightGrads.Layer[] gLayers = new WeightGrads.Layer[layers.length];
        Family fam = c.arch().family();
        String qkv = "self_attn.qkv_proj.weight", gateUp = "mlp.gate_up_proj.weight";
        for (int i = 0; i < layers.length; i++) {
            LlamaWeights.Layer l = from.layers()[i];
            LlamaWeights.Extras x = l.x();
            String p = "model.layers." + i + ".";
            float[] attnNorm = norm(p + "input_layernorm.weight", l.attnNorm(), fam);
            WeightMatrix wq = copy(p + (fam.fusedQkv() ? qkv + "#q" : "self_attn.q_proj.weight"), l.wq()),
                    wk = copy(p + (fam.fusedQkv() ? qkv + "#k" : "self_attn.k_proj.weight"), l.wk()),
                    wv = copy(p + (fam.fusedQkv() ? qkv + "#v" : "self_attn.v_proj.weight"), l.wv()),
                    wo = copy(p + "self_attn.o_proj.weight", l.wo());
            String mlpNormName = p + (fam.gemma() ? "pre_feedforward_layernorm.weight" : "post_attention_layernorm.weight");
            float[] mlpNorm = norm(mlpNormName, l.mlpNorm(), fam);
            WeightMatrix wg = copy(p + (fam.fusedGateUp() ? gateUp + "#gate" : "mlp.gate_proj.weight"), l.wGate()),
                    wu = copy(p + (fam.fusedGateUp() ? gateUp + "#up" : "mlp.up_proj.weight"), l.wUp()),
                    wd = copy(p + "mlp.down_proj.weight", l.wDown());
            LlamaWeights.Extras xv = new LlamaWeights.Extras(
                    optional(p + "self_attn.q_proj.bias", x.bq()), optional(p + "self_attn.k_proj.bias", x.bk()),
                    optional(p + "self_attn.v_proj.bias", x.bv()), optional(p + "self_attn.o_proj.bias", x.bo()),
                    optional(p + "self_attn.q_norm.weight", x.qNorm()), optional(p + "self_attn.k_norm.weight", x.kNorm()),
                    x.postAttnNorm() == null ? null : norm(p + "post_attention_layernorm.weight", x.postAttnNorm(), fam),
                    x.postMlpNorm() == null ? null : norm(p + "post_feedforward_layernorm.weight", x.postMlpNorm(), fam),
                    optional(p + "mlp.gate_proj.bias", x.bGate()), optional(p + "mlp.up_proj.bias", x.bUp()),
                    optional(p + "mlp.down_proj.bias", x.bDown()));
            layers[i] = new LlamaWeights.Layer(attnNorm, wq, wk, wv, wo, mlpNorm, wg, wu, wd, xv);
            LlamaWeights.Extras xg = new LlamaWeights.Extras(gradOf(xv.bq()), gradOf(xv.bk()), gradOf(xv.bv()), gradOf(xv.bo()),
                    gradOf(xv.qNorm()), gradOf(xv.kNorm()), gradOf(xv.postAttnNorm()), gradOf(xv.postMlpNorm()),
                    gradOf(xv.bGate()), gradOf(xv.bUp()), gradOf(xv.bDown()));
            gLayers[i] = new WeightGrads.Layer(gradOf(p + "input_layernorm.weight"), gradOf(wq), gradOf(wk), gradOf(wv), gradOf(wo),
                    gradOf(mlpNormName), gradOf(wg), gradOf(wu), gradOf(wd), xg);
        }
        float[] finalNorm = norm("model.norm.weight", from.finalNorm(), fam);
        float[] gFinal = gradOf("model.norm.weight");
        boolean tied = from.head() == from.embed();
        WeightMatrix head = tied ? embed : copy("lm_head.weight", from.head());
        float[] gHead = tied ? null : gradOf(head);
        this.weights = new LlamaWeights(embed, layers, finalNorm, head);
        this.grads = new WeightGrads(gEmbed, gLayers, gFinal, gHead);
        if (D <= 0) throw new IllegalArgumentException("hidden size " + D);
    }

    /** Every tensor in file order, as the optimizer and checkpoints see them. */
    public List<Tensor> tensors() {
        return tensors;
    }

    public long parameterCount() {
        long n = 0;
        for (Tensor t : tensors) n += t.value().length;
        return n;
    }

    /**
     * Writes the weights as a Hugging Face model directory: config.json and model.safetensors (F32), each
     * atomically. The tokenizer is the caller's to add.
     */
    public void writeHf(java.nio.file.Path dir, java.util.Map<String, String> metadata) throws java.io.IOException {
        java.nio.file.Files.createDirectories(dir);
        dev.llamaadapter.io.SafeTensorsWriter w = new dev.llamaadapter.io.SafeTensorsWriter();
        java.util.Map<String, List<Tensor>> fused = new java.util.LinkedHashMap<>(); // "…qkv_proj.weight" -> its parts in order
        for (Tensor t : tensors) {
            int cut = t.name().indexOf('#');
            if (cut >= 0) {
                fused.computeIfAbsent(t.name().substring(0, cut), k -> new ArrayList<>()).add(t);
                continue;
            }
            float[] v = t.value();
            if (plusOne.contains(t.name())) { // gemma2 stores w of x·(1+w)
                v = v.clone();
                for (int i = 0; i < v.length; i++) v[i] -= 1f;
            }
            w.put(t.name(), DType.F32, v, t.shape());
        }
        for (java.util.Map.Entry<String, List<Tensor>> e : fused.entrySet()) {
            int n = 0;
            long rows = 0;
            for (Tensor t : e.getValue()) {
                n += t.value().length;
                rows += t.shape()[0];
            }
            float[] all = new float[n]; // [Σ rows, D], parts in the order the family fuses them
            int at = 0;
            for (Tensor t : e.getValue()) {
                System.arraycopy(t.value(), 0, all, at, t.value().length);
                at += t.value().length;
            }
            w.put(e.getKey(), DType.F32, all, rows, e.getValue().getFirst().shape()[1]);
        }
        w.metadata("format", "pt").metadata(metadata).write(dir.resolve("model.safetensors"));
        config.write(dir.resolve("config.json"));
    }

    private WeightMatrix copy(String name, WeightMatrix w) {
        float[] v = w.toFloats(); // logical row order: the copy has none
        tensors.add(new Tensor(name, new long[]{w.rows(), w.cols()}, v, new float[v.length]));
        return new WeightMatrix(name, MemorySegment.ofArray(v), DType.F32, w.rows(), w.cols());
    }

    /** Norm weights; gemma2's are remembered, to be written back as w (the engine holds 1+w). */
    private final java.util.Set<String> plusOne = new java.util.HashSet<>();

    private float[] norm(String name, float[] src, Family fam) {
        if (fam.gemma()) plusOne.add(name);
        return vector(name, src);
    }

    /** A family's optional vector (a bias or a q/k norm), or null where the model has none. */
    private float[] optional(String name, float[] src) {
        return src == null ? null : vector(name, src);
    }

    /** The gradient array of a vector registered here, or null for an absent one. */
    private float[] gradOf(float[] value) {
        if (value == null) return null;
        for (Tensor t : tensors) if (t.value() == value) return t.grad();
        throw new IllegalStateException("not a registered tensor");
    }

    private float[] vector(String name, float[] src) {
        float[] v = src.clone();
        tensors.add(new Tensor(name, new long[]{v.length}, v, new float[v.length]));
        return v;
    }

    private float[] gradOf(WeightMatrix w) {
        return gradOf(w.name());
    }

    private float[] gradOf(String name) {
        for (int i = tensors.size() - 1; i >= 0; i--) if (tensors.get(i).name().equals(name)) return tensors.get(i).grad();
        throw new IllegalStateException(name);
    }
}

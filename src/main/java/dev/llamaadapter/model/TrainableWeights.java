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
 * Gradients live in {@link #grads}, the same layout.
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
        for (int i = 0; i < layers.length; i++) {
            LlamaWeights.Layer l = from.layers()[i];
            String p = "model.layers." + i + ".";
            float[] attnNorm = vector(p + "input_layernorm.weight", l.attnNorm());
            WeightMatrix wq = copy(p + "self_attn.q_proj.weight", l.wq()), wk = copy(p + "self_attn.k_proj.weight", l.wk()),
                    wv = copy(p + "self_attn.v_proj.weight", l.wv()), wo = copy(p + "self_attn.o_proj.weight", l.wo());
            float[] mlpNorm = vector(p + "post_attention_layernorm.weight", l.mlpNorm());
            WeightMatrix wg = copy(p + "mlp.gate_proj.weight", l.wGate()), wu = copy(p + "mlp.up_proj.weight", l.wUp()),
                    wd = copy(p + "mlp.down_proj.weight", l.wDown());
            layers[i] = new LlamaWeights.Layer(attnNorm, wq, wk, wv, wo, mlpNorm, wg, wu, wd);
            gLayers[i] = new WeightGrads.Layer(gradOf(p + "input_layernorm.weight"), gradOf(wq), gradOf(wk), gradOf(wv), gradOf(wo),
                    gradOf(p + "post_attention_layernorm.weight"), gradOf(wg), gradOf(wu), gradOf(wd));
        }
        float[] finalNorm = vector("model.norm.weight", from.finalNorm());
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
        for (Tensor t : tensors) w.put(t.name(), DType.F32, t.value(), t.shape());
        w.metadata("format", "pt").metadata(metadata).write(dir.resolve("model.safetensors"));
        config.write(dir.resolve("config.json"));
    }

    private WeightMatrix copy(String name, WeightMatrix w) {
        float[] v = w.toFloats(); // logical row order: the copy has none
        tensors.add(new Tensor(name, new long[]{w.rows(), w.cols()}, v, new float[v.length]));
        return new WeightMatrix(name, MemorySegment.ofArray(v), DType.F32, w.rows(), w.cols());
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

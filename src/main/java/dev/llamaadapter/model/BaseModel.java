package dev.llamaadapter.model;

import dev.llamaadapter.io.SafeTensorsDir;
import dev.llamaadapter.io.TensorSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A frozen base model opened from a Hugging Face directory: config.json plus memory-mapped weights
 * (model.safetensors or a sharded index). Closing unmaps the weights.
 */
public record BaseModel(Path dir, LlamaConfig config, LlamaWeights weights, TensorSource source) implements AutoCloseable {

    public static BaseModel open(Path dir) throws IOException {
        Path cfgFile = dir.resolve("config.json");
        if (!Files.isRegularFile(cfgFile))
            throw new IOException(dir + ": no config.json (expected a Hugging Face LLaMA model directory)");
        LlamaConfig config = LlamaConfig.read(cfgFile);
        TensorSource src = SafeTensorsDir.open(dir);
        try {
            return new BaseModel(dir, config, LlamaWeights.load(src, config), src);
        } catch (IOException | RuntimeException e) {
            src.close();
            throw e;
        }
    }

    /** The engine over these weights. */
    public Transformer transformer() {
        return new Transformer(config, weights);
    }

    /**
     * Identifies the base an adapter was trained on: SHA-256 over the architecture of config.json and
     * the canonical tensor index it implies (names and shapes of every weight, tied head or not). It
     * depends on neither the file format nor the dtype, so the same model as safetensors, GGUF or
     * BF16 carries the same adapters; a model of another shape is refused. (Two fine-tunes of one
     * architecture share a fingerprint: telling them apart would need the weights' values.)
     */
    public String fingerprint() {
        LlamaConfig c = config;
        StringBuilder sb = new StringBuilder("llama ").append(shape()).append(" eps=").append(c.rmsNormEps())
                .append(" theta=").append(c.ropeTheta()).append(" tie=").append(c.tieWordEmbeddings()).append('\n');
        sb.append(weights.embed().name()).append(' ').append(weights.embed().rows()).append('x').append(weights.embed().cols()).append('\n');
        for (LlamaWeights.Layer l : weights.layers())
            for (var w : java.util.List.of(l.wq(), l.wk(), l.wv(), l.wo(), l.wGate(), l.wUp(), l.wDown()))
                sb.append(w.name()).append(' ').append(w.rows()).append('x').append(w.cols()).append('\n');
        if (!c.tieWordEmbeddings()) sb.append(weights.head().name()).append('\n');
        try {
            byte[] d = java.security.MessageDigest.getInstance("SHA-256").digest(sb.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
            return java.util.HexFormat.of().formatHex(d, 0, 12);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The architecture in one line, e.g. "D=4096 F=11008 N=32 H=32 Hkv=32 V=32000". */
    public String shape() {
        LlamaConfig c = config;
        return "D=" + c.hiddenSize() + " F=" + c.intermediateSize() + " N=" + c.numHiddenLayers() + " H=" + c.numAttentionHeads()
                + " Hkv=" + c.numKeyValueHeads() + " V=" + c.vocabSize();
    }

    /** Parameters of the base model (all weights, the head counted once when tied). */
    public long parameterCount() {
        long n = 0;
        for (String name : source.names()) {
            long k = 1;
            for (long d : source.info(name).shape()) k *= d;
            n += k;
        }
        return n;
    }

    /** The weights' dtype(s) as stored, e.g. "BF16". */
    public String dtypes() {
        java.util.Set<String> s = new java.util.TreeSet<>();
        for (String name : source.names()) s.add(source.info(name).dtype().name());
        return String.join("+", s);
    }

    /** Bytes of the weight files. */
    public long bytesOnDisk() {
        long n = 0;
        for (Path p : ((SafeTensorsDir) source).files()) {
            try {
                n += Files.size(p);
            } catch (IOException e) {
                // size is informational only
            }
        }
        return n;
    }

    @Override
    public void close() {
        source.close();
    }
}

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
     * Identifies the base an adapter was trained on: SHA-256 over the architecture fields of config.json
     * and the sorted tensor index (names and shapes). Dtypes are left out on purpose, so that the same
     * model converted to BF16 still carries its adapters; any other change gives another fingerprint.
     */
    public String fingerprint() {
        LlamaConfig c = config;
        StringBuilder sb = new StringBuilder(shape()).append(" eps=").append(c.rmsNormEps()).append(" theta=").append(c.ropeTheta())
                .append(" tie=").append(c.tieWordEmbeddings()).append('\n');
        for (String name : new java.util.TreeSet<>(source.names()))
            sb.append(name).append(java.util.Arrays.toString(source.info(name).shape())).append('\n');
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

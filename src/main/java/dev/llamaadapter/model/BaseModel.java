package dev.llamaadapter.model;

import dev.llamaadapter.io.GgufSource;
import dev.llamaadapter.io.Llama2cSource;
import dev.llamaadapter.io.SafeTensorsDir;
import dev.llamaadapter.io.TensorSource;
import dev.llamaadapter.io.FileKind;
import dev.llamaadapter.tokenizer.Tokenizer;
import dev.llamaadapter.tokenizer.TokenizerException;
import dev.llamaadapter.tokenizer.Tokenizers;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A frozen base model opened from where users keep one: a Hugging Face directory (config.json plus
 * model.safetensors or a sharded index), a GGUF file (llama.cpp: F32, F16, BF16 or block-quantised (Q8_0, Q4_K, Q6_K, Q2_K, ...) weights,
 * config and usually the tokenizer in its metadata), or a llama2.c checkpoint (.bin, with its
 * tokenizer.bin / tok&lt;V&gt;.bin beside it). Weights stay memory-mapped in their file type; closing unmaps
 * them. {@code dir} is the path it was opened from (a directory or a file).
 */
public record BaseModel(Path dir, LlamaConfig config, LlamaWeights weights, TensorSource source) implements AutoCloseable {

    /** Opens a model directory, .gguf file or llama2.c .bin file, told apart by what the path is and holds. */
    public static BaseModel open(Path path) throws IOException {
        if (Files.isDirectory(path)) return openHf(path);
        if (!Files.exists(path))
            throw new IOException(path + ": no such model (expected a Hugging Face directory, a .gguf file or a llama2.c .bin checkpoint)");
        if (!Files.isRegularFile(path))
            throw new IOException(path + ": is not a regular file (a device, pipe or socket): expected a Hugging Face directory, a .gguf file or a llama2.c .bin checkpoint");
        String name = path.getFileName().toString().toLowerCase(java.util.Locale.ROOT);
        FileKind kind = FileKind.of(path);
        if (kind == FileKind.GGUF || kind == FileKind.UNKNOWN && name.endsWith(".gguf")) {
            GgufSource src = GgufSource.open(path);
            return load(path, src, () -> ModelFiles.fromGguf(src));
        }
        if (kind == FileKind.LLAMA2C || kind == FileKind.UNKNOWN && name.endsWith(".bin")) {
            Llama2cSource src = Llama2cSource.open(path);
            return load(path, src, () -> ModelFiles.fromLlama2c(src));
        }
        if (kind == FileKind.SAFETENSORS)
            throw new IOException(path + ": is a safetensors file: give the Hugging Face model directory that holds it (with config.json)"
                    + " as --model (an adapter goes to --adapter)");
        if (kind != FileKind.UNKNOWN)
            throw new IOException(path + ": is " + kind.description() + ", not a model: expected a Hugging Face directory (config.json), a .gguf file or a llama2.c .bin checkpoint");
        throw new IOException(path + ": not a model: expected a Hugging Face directory (config.json), a .gguf file or a llama2.c .bin checkpoint");
    }

    private static BaseModel openHf(Path dir) throws IOException {
        Path cfgFile = dir.resolve("config.json");
        if (!Files.isRegularFile(cfgFile))
            throw new IOException(dir + ": no config.json (expected a Hugging Face LLaMA model directory)");
        LlamaConfig config = GenerationConfig.withDeclaredEos(dir, LlamaConfig.read(cfgFile));
        TensorSource src = SafeTensorsDir.open(dir);
        return load(dir, src, () -> config);
    }

    private interface ConfigReader {
        LlamaConfig read() throws IOException;
    }

    private static BaseModel load(Path path, TensorSource src, ConfigReader config) throws IOException {
        try {
            LlamaConfig c = config.read();
            return new BaseModel(path, c, LlamaWeights.load(src, c), src);
        } catch (IOException | RuntimeException e) {
            src.close();
            throw e;
        }
    }

    /**
     * The tokenizer that comes with the model: a Hugging Face directory's tokenizer file, a GGUF's
     * metadata vocabulary, or for a llama2.c checkpoint tok&lt;V&gt;.bin or tokenizer.bin beside it.
     *
     * @throws TokenizerException when the model carries none (the message says where one was looked for)
     */
    public Tokenizer tokenizer() throws IOException {
        return switch (source) {
            case GgufSource g -> {
                Tokenizer t = g.tokenizer();
                if (t == null) throw new TokenizerException(dir, "no tokenizer in the GGUF metadata (tokenizer.ggml.model): give one with --tokenizer");
                yield t;
            }
            case Llama2cSource b -> {
                Path parent = dir.toAbsolutePath().getParent();
                Path[] candidates = {parent.resolve("tok" + config.vocabSize() + ".bin"), parent.resolve("tokenizer.bin")};
                for (Path p : candidates)
                    if (Files.isRegularFile(p)) {
                        Tokenizer t = Tokenizers.llama2c(p);
                        if (t.vocabSize() != config.vocabSize())
                            throw new TokenizerException(p, "has " + t.vocabSize() + " tokens but " + dir + " has a vocabulary of " + config.vocabSize());
                        yield t;
                    }
                throw new TokenizerException(dir, "no llama2.c tokenizer beside the checkpoint (looked for " + candidates[0].getFileName()
                        + " and " + candidates[1].getFileName() + "): give one with --tokenizer");
            }
            default -> Tokenizer.load(dir);
        };
    }

    /** The engine over these weights. */
    public Transformer transformer() {
        return new Transformer(config, weights);
    }

    /**
     * Identifies the base an adapter was trained on: SHA-256 over the architecture of config.json and
     * the canonical tensor index it implies (names and shapes of every weight, tied head or not). It
     * depends on neither the file format nor the dtype, so the same model as safetensors, GGUF or
     * BF16 carries the same adapters; a model of another shape is refused. Two models of one architecture
     * share a fingerprint: {@link BaseSketch} tells them apart by their weights.
     */
    public String fingerprint() {
        LlamaConfig c = config;
        StringBuilder sb = new StringBuilder("llama ").append(shape()).append(" eps=").append(c.rmsNormEps())
                .append(" theta=").append(c.ropeTheta()).append(" tie=").append(c.tieWordEmbeddings()).append('\n');
        Architecture a = c.arch();
        // a Mistral without a window computes what a LLaMA does, and llama.cpp stores both as "llama": one fingerprint for both copies
        if (a.family() == Family.MISTRAL && a.slidingWindow() == 0) a = a.withFamily(Family.LLAMA);
        if (!a.isPlainLlama()) sb.append(a.describe()).append('\n'); // a plain LLaMA keeps the fingerprint it always had
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

    /**
     * Opens a model just written (quantize, train --full) to prove it loads as the model it should be: the
     * same architecture (a tied head may be stored once or twice, so parameter counts may differ). An error names the file, so the run that wrote it fails
     * instead of the next command that reads it.
     */
    public static void verifyWritten(Path out, BaseModel expected) throws IOException {
        String shape;
        try (BaseModel m = open(out)) {
            shape = m.shape();
        } catch (IOException | RuntimeException e) {
            throw new IOException(out + ": was written but does not load (" + e.getMessage() + "): please report this", e);
        }
        if (!shape.equals(expected.shape()))
            throw new IOException(out + ": was written but reads back as " + shape + " instead of " + expected.shape() + ": please report this");
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
        for (Path p : source.files()) {
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

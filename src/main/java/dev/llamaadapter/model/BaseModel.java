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

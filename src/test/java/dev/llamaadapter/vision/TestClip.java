package dev.llamaadapter.vision;

import dev.llamaadapter.io.SafeTensorsWriter;
import dev.llamaadapter.tensor.DType;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

/** Writes random CLIPVisionModel directories (config.json + model.safetensors) for tests and benchmarks. */
public final class TestClip {
    private TestClip() {}

    public static ClipVisionConfig config(int image, int patch, int hidden, int layers, int heads, int inter) {
        return new ClipVisionConfig(hidden, inter, layers, heads, image, patch, 3, 1e-5, "quick_gelu");
    }

    /** Scales as the parity generator's random towers: N(0, 0.1) mostly, norms 1 + N(0, 0.1). */
    public static Path write(Path dir, ClipVisionConfig c, long seed) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("config.json"), c.toJson());
        Random r = new Random(seed);
        int C = c.hiddenSize(), I = c.intermediateSize(), p = c.patchSize(), T = c.tokens();
        String P = "vision_model.";
        SafeTensorsWriter w = new SafeTensorsWriter();
        w.put(P + "embeddings.patch_embedding.weight", DType.F32, rand(r, C * 3 * p * p, 0.1, 0), C, 3, p, p);
        w.put(P + "embeddings.class_embedding", DType.F32, rand(r, C, 0.5, 0), C);
        w.put(P + "embeddings.position_embedding.weight", DType.F32, rand(r, T * C, 0.1, 0), T, C);
        for (String n : new String[]{"pre_layrnorm", "post_layernorm"}) {
            w.put(P + n + ".weight", DType.F32, rand(r, C, 0.1, 1), C);
            w.put(P + n + ".bias", DType.F32, rand(r, C, 0.1, 0), C);
        }
        double sc = Math.min(0.2, 1.5 / Math.sqrt(C));
        for (int i = 0; i < c.numLayers(); i++) {
            String q = P + "encoder.layers." + i + ".";
            for (String n : new String[]{"q_proj", "k_proj", "v_proj", "out_proj"}) {
                w.put(q + "self_attn." + n + ".weight", DType.F32, rand(r, C * C, sc, 0), C, C);
                w.put(q + "self_attn." + n + ".bias", DType.F32, rand(r, C, 0.1, 0), C);
            }
            for (String n : new String[]{"layer_norm1", "layer_norm2"}) {
                w.put(q + n + ".weight", DType.F32, rand(r, C, 0.1, 1), C);
                w.put(q + n + ".bias", DType.F32, rand(r, C, 0.1, 0), C);
            }
            w.put(q + "mlp.fc1.weight", DType.F32, rand(r, I * C, sc, 0), I, C);
            w.put(q + "mlp.fc1.bias", DType.F32, rand(r, I, 0.1, 0), I);
            w.put(q + "mlp.fc2.weight", DType.F32, rand(r, C * I, Math.min(0.2, 1.5 / Math.sqrt(I)), 0), C, I);
            w.put(q + "mlp.fc2.bias", DType.F32, rand(r, C, 0.1, 0), C);
        }
        w.write(dir.resolve("model.safetensors"));
        return dir;
    }

    private static float[] rand(Random r, int n, double scale, double mean) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (mean + r.nextGaussian() * scale);
        return a;
    }
}

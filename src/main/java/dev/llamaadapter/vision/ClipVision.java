package dev.llamaadapter.vision;

import dev.llamaadapter.io.SafeTensorsDir;
import dev.llamaadapter.io.SafeTensorsException;
import dev.llamaadapter.io.TensorInfo;
import dev.llamaadapter.io.TensorSource;
import dev.llamaadapter.tensor.Bias;
import dev.llamaadapter.tensor.BidirectionalAttention;
import dev.llamaadapter.tensor.LayerNorm;
import dev.llamaadapter.tensor.Matmul;
import dev.llamaadapter.tensor.QuickGelu;
import dev.llamaadapter.tensor.Vec;
import dev.llamaadapter.tensor.WeightMatrix;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The frozen CLIP vision tower (spec §5), Hugging Face CLIPVisionModel layout ({@code vision_model.*}),
 * memory-mapped like the LLaMA weights and run on the same kernels: the patch embedding (a conv with
 * stride = kernel = patch, no bias) is a matmul over flattened patches; then class token and position
 * embedding, pre_layrnorm, encoder layers (LayerNorm, biased q/k/v/out projections, unmasked attention
 * scaled by hd^-0.5, quick_gelu MLP), and post_layernorm on the CLS token of each layer the adapter reads.
 * A full CLIP checkpoint works the same: its {@code vision_config} and {@code vision_model.*} tensors.
 *
 * <p>{@link #features} is synchronized: one workspace, sized for {@link #CHUNK} images, is reused.
 */
public final class ClipVision implements AutoCloseable {
    static final String P = "vision_model.";
    /** Images per pass through the tower (bounds the workspace: CHUNK·tokens rows). */
    static final int CHUNK = 8;

    public final ClipVisionConfig config;
    private final Path dir;
    private final TensorSource src;
    private final WeightMatrix patch;         // [C, 3·p·p] the conv kernel, flattened (c, ky, kx)
    private final float[] classEmb;           // [C]
    private final float[] posEmb;             // [tokens, C]
    private final float[] preW, preB, postW, postB; // [C]
    private final Layer[] layers;

    record Layer(float[] ln1W, float[] ln1B, WeightMatrix q, float[] qB, WeightMatrix k, float[] kB, WeightMatrix v, float[] vB,
                 WeightMatrix o, float[] oB, float[] ln2W, float[] ln2B, WeightMatrix fc1, float[] fc1B, WeightMatrix fc2, float[] fc2B) {}

    private ClipVision(Path dir, ClipVisionConfig c, TensorSource src) throws IOException {
        this.dir = dir;
        this.config = c;
        this.src = src;
        int C = c.hiddenSize(), p = c.patchSize(), I = c.intermediateSize();
        String pe = P + "embeddings.patch_embedding.weight";
        TensorInfo t = src.require(pe);
        src.checkShape(t, C, c.numChannels(), p, p);
        if (!t.dtype().isWeightType() || t.dtype().isQuantized())
            throw new SafeTensorsException(src.fileOf(pe), pe, "has dtype " + t.dtype() + ", expected F32, F16 or BF16");
        patch = new WeightMatrix(pe, t.data(), t.dtype(), C, 3 * p * p);
        classEmb = src.vector(P + "embeddings.class_embedding", C);
        posEmb = src.floats(P + "embeddings.position_embedding.weight", c.tokens(), C);
        preW = src.vector(P + "pre_layrnorm.weight", C);
        preB = src.vector(P + "pre_layrnorm.bias", C);
        postW = src.vector(P + "post_layernorm.weight", C);
        postB = src.vector(P + "post_layernorm.bias", C);
        layers = new Layer[c.numLayers()];
        for (int i = 0; i < layers.length; i++) {
            String q = P + "encoder.layers." + i + ".";
            layers[i] = new Layer(src.vector(q + "layer_norm1.weight", C), src.vector(q + "layer_norm1.bias", C),
                    src.matrix(q + "self_attn.q_proj.weight", C, C), src.vector(q + "self_attn.q_proj.bias", C),
                    src.matrix(q + "self_attn.k_proj.weight", C, C), src.vector(q + "self_attn.k_proj.bias", C),
                    src.matrix(q + "self_attn.v_proj.weight", C, C), src.vector(q + "self_attn.v_proj.bias", C),
                    src.matrix(q + "self_attn.out_proj.weight", C, C), src.vector(q + "self_attn.out_proj.bias", C),
                    src.vector(q + "layer_norm2.weight", C), src.vector(q + "layer_norm2.bias", C),
                    src.matrix(q + "mlp.fc1.weight", I, C), src.vector(q + "mlp.fc1.bias", I),
                    src.matrix(q + "mlp.fc2.weight", C, I), src.vector(q + "mlp.fc2.bias", C));
        }
    }

    /**
     * Opens a Hugging Face CLIPVisionModel directory or a full CLIP directory (config.json with
     * vision_config, safetensors weights). A LLaMA or any other checkpoint is refused, naming what it is.
     */
    public static ClipVision open(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) throw new IOException(dir + ": no such vision tower directory (expected a Hugging Face CLIPVisionModel or CLIP directory)");
        boolean[] full = new boolean[1];
        ClipVisionConfig c = ClipVisionConfig.read(dir, full);
        TensorSource src = SafeTensorsDir.open(dir);
        try {
            if (!src.has(P + "embeddings.patch_embedding.weight")) {
                boolean llama = src.has("model.embed_tokens.weight");
                throw new IOException(dir + ": holds no " + P + "* tensors" + (llama ? " (it holds LLaMA weights, model.*)" : "")
                        + ": not a CLIP vision tower");
            }
            return new ClipVision(dir, c, src);
        } catch (IOException | RuntimeException e) {
            src.close();
            throw e;
        }
    }

    public Path dir() {
        return dir;
    }

    public int imageSize() {
        return config.imageSize();
    }

    public int hiddenSize() {
        return config.hiddenSize();
    }

    public int numLayers() {
        return config.numLayers();
    }

    /** Checks 1-based layer numbers (0 = the embeddings after pre_layrnorm) against this tower; the message names the bad one. */
    public void checkLayers(int[] visualLayers) {
        if (visualLayers.length == 0) throw new IllegalArgumentException("visual_layers is empty");
        for (int l : visualLayers)
            if (l < 0 || l > numLayers())
                throw new IllegalArgumentException("visual layer " + l + " does not exist: the vision tower " + dir + " has layers 1.." + numLayers());
    }

    // workspace, sized for CHUNK images on first use
    private float[] x, h, q, k, v, att, mlp, patches; // [rows, C | I | 3p²]
    private float[] cls;                               // [CHUNK, C]
    private BidirectionalAttention attention;

    /**
     * pixels [B, 3, S, S] (pre-processed, {@link ImagePreprocessor}) → [B, visualLayers.length·C]: for each
     * listed layer l in order, the CLS token of layer l's output through post_layernorm.
     */
    public synchronized float[] features(float[] pixels, int B, int[] visualLayers) {
        int S = imageSize(), C = hiddenSize(), Ml = visualLayers.length;
        checkLayers(visualLayers);
        if (pixels.length != B * 3 * S * S)
            throw new IllegalArgumentException("pixel_values: " + pixels.length + " floats, expected [" + B + ", 3, " + S + ", " + S + "]");
        int maxLayer = 0;
        for (int l : visualLayers) maxLayer = Math.max(maxLayer, l);
        ensure();
        float[] out = new float[B * Ml * C]; // [B, Ml·C]
        for (int b0 = 0; b0 < B; b0 += CHUNK) {
            int cb = Math.min(CHUNK, B - b0);
            run(pixels, b0, cb, maxLayer, visualLayers, out);
        }
        return out;
    }

    private void ensure() {
        if (x != null) return;
        int T = config.tokens(), C = hiddenSize(), I = config.intermediateSize(), p = config.patchSize();
        int rows = CHUNK * T;
        x = new float[rows * C]; h = new float[rows * C]; q = new float[rows * C]; k = new float[rows * C];
        v = new float[rows * C]; att = new float[rows * C]; mlp = new float[rows * I];
        patches = new float[CHUNK * (T - 1) * 3 * p * p];
        cls = new float[CHUNK * C];
        attention = new BidirectionalAttention(T, config.numHeads(), config.headDim());
    }

    private void run(float[] pixels, int b0, int B, int maxLayer, int[] visualLayers, float[] out) {
        ClipVisionConfig c = config;
        int S = c.imageSize(), p = c.patchSize(), G = c.grid(), T = c.tokens(), C = c.hiddenSize(), I = c.intermediateSize();
        int M = B * T, NP = G * G, pp = 3 * p * p;
        float eps = (float) c.layerNormEps();
        // patches [B·NP, 3·p·p], each flattened (channel, row, column) like the conv kernel
        for (int b = 0; b < B; b++)
            for (int gy = 0; gy < G; gy++)
                for (int gx = 0; gx < G; gx++) {
                    int po = ((b * NP) + gy * G + gx) * pp;
                    for (int ch = 0; ch < 3; ch++)
                        for (int ky = 0; ky < p; ky++)
                            System.arraycopy(pixels, (((b0 + b) * 3 + ch) * S + gy * p + ky) * S + gx * p, patches, po + (ch * p + ky) * p, p);
                }
        Matmul.xwT(patches, B * NP, patch, h, false); // h [B·NP, C]
        for (int b = 0; b < B; b++) {
            System.arraycopy(classEmb, 0, x, b * T * C, C);
            System.arraycopy(h, b * NP * C, x, (b * T + 1) * C, NP * C);
            for (int t = 0; t < T; t++) Vec.add(posEmb, t * C, x, (b * T + t) * C, C);
        }
        LayerNorm.forward(x, preW, preB, eps, M, C, x, null, null);
        takeCls(0, B, T, visualLayers, out, b0, eps);
        for (int i = 0; i < maxLayer; i++) {
            Layer w = layers[i];
            LayerNorm.forward(x, w.ln1W(), w.ln1B(), eps, M, C, h, null, null);
            Matmul.xwT(h, M, w.q(), q, false);
            Bias.add(q, w.qB(), M, C);
            Matmul.xwT(h, M, w.k(), k, false);
            Bias.add(k, w.kB(), M, C);
            Matmul.xwT(h, M, w.v(), v, false);
            Bias.add(v, w.vB(), M, C);
            attention.forward(q, k, v, att, B);
            Bias.add(x, w.oB(), M, C);
            Matmul.xwT(att, M, w.o(), x, true); // residual: x += att·Woᵀ + b
            LayerNorm.forward(x, w.ln2W(), w.ln2B(), eps, M, C, h, null, null);
            Matmul.xwT(h, M, w.fc1(), mlp, false);
            Bias.add(mlp, w.fc1B(), M, I);
            QuickGelu.forward(mlp, M * I);
            Bias.add(x, w.fc2B(), M, C);
            Matmul.xwT(mlp, M, w.fc2(), x, true); // residual: x += gelu(·)·W2ᵀ + b
            takeCls(i + 1, B, T, visualLayers, out, b0, eps);
        }
    }

    /** For every listed position of layer l, the CLS rows through post_layernorm into out[b, slot·C..]. */
    private void takeCls(int l, int B, int T, int[] visualLayers, float[] out, int b0, float eps) {
        int C = hiddenSize(), Ml = visualLayers.length;
        boolean any = false;
        for (int vl : visualLayers) any |= vl == l;
        if (!any) return;
        for (int b = 0; b < B; b++) System.arraycopy(x, b * T * C, cls, b * C, C);
        LayerNorm.forward(cls, postW, postB, eps, B, C, cls, null, null);
        for (int s = 0; s < Ml; s++) {
            if (visualLayers[s] != l) continue;
            for (int b = 0; b < B; b++) System.arraycopy(cls, b * C, out, ((b0 + b) * Ml + s) * C, C);
        }
    }

    @Override
    public void close() {
        src.close();
    }
}

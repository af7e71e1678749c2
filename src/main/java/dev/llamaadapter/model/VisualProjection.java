package dev.llamaadapter.model;

import dev.llamaadapter.tensor.LayerNorm;
import dev.llamaadapter.tensor.Parallel;
import dev.llamaadapter.tensor.Vec;

import java.util.Arrays;
import java.util.Random;

/**
 * The trainable half of the multimodal adapter (spec §5): the concatenated multi-scale CLIP features f
 * [M·Cv] of an image become one visual token I_p = LayerNorm(visual_proj(f)) [D], which is added to every
 * prompt row of every adapted layer. Also used, with the same shapes, to hold its gradients.
 */
public final class VisualProjection {
    public static final float NORM_EPS = 1e-5f;

    public final int[] visualLayers; // 1-based CLIP layer outputs whose CLS features are concatenated, in order
    public final int in;             // M·Cv
    public final int dim;            // D
    public final float[] weight;     // [D, M·Cv] visual_proj.weight
    public final float[] bias;       // [D] visual_proj.bias
    public final float[] normWeight; // [D] visual_norm.weight
    public final float[] normBias;   // [D] visual_norm.bias

    public VisualProjection(int[] visualLayers, int in, int dim) {
        if (visualLayers.length == 0) throw new IllegalArgumentException("visual_layers is empty");
        if (in <= 0 || in % visualLayers.length != 0)
            throw new IllegalArgumentException("visual_proj input width " + in + " is not a multiple of the " + visualLayers.length + " visual layers");
        this.visualLayers = visualLayers.clone();
        this.in = in;
        this.dim = dim;
        weight = new float[dim * in];
        bias = new float[dim];
        normWeight = new float[dim];
        normBias = new float[dim];
    }

    /** torch's defaults: Linear weight and bias U(−1/√in, 1/√in), LayerNorm weight 1 and bias 0. */
    public static VisualProjection init(int[] visualLayers, int in, int dim, long seed) {
        VisualProjection v = new VisualProjection(visualLayers, in, dim);
        Random r = new Random(seed ^ 0x7615a1L);
        double bound = 1.0 / Math.sqrt(in);
        for (int i = 0; i < v.weight.length; i++) v.weight[i] = (float) ((r.nextDouble() * 2 - 1) * bound);
        for (int i = 0; i < dim; i++) v.bias[i] = (float) ((r.nextDouble() * 2 - 1) * bound);
        Arrays.fill(v.normWeight, 1f);
        return v;
    }

    /** Width of one CLIP layer's features (Cv). */
    public int clipWidth() {
        return in / visualLayers.length;
    }

    public VisualProjection zerosLike() {
        return new VisualProjection(visualLayers, in, dim);
    }

    public void zero() {
        Arrays.fill(weight, 0f);
        Arrays.fill(bias, 0f);
        Arrays.fill(normWeight, 0f);
        Arrays.fill(normBias, 0f);
    }

    public VisualProjection copy() {
        VisualProjection v = new VisualProjection(visualLayers, in, dim);
        System.arraycopy(weight, 0, v.weight, 0, weight.length);
        System.arraycopy(bias, 0, v.bias, 0, dim);
        System.arraycopy(normWeight, 0, v.normWeight, 0, dim);
        System.arraycopy(normBias, 0, v.normBias, 0, dim);
        return v;
    }

    public long parameterCount() {
        return (long) weight.length + 3L * dim;
    }

    /** "1,2,3": the metadata form of visual_layers. */
    public String layersString() {
        StringBuilder sb = new StringBuilder();
        for (int l : visualLayers) sb.append(sb.isEmpty() ? "" : ",").append(l);
        return sb.toString();
    }

    /** Parses "1,2,3"; the message names what is wrong. */
    public static int[] parseLayers(String s) {
        if (s == null || s.isBlank()) throw new IllegalArgumentException("visual_layers is empty (expected e.g. 1,2,3)");
        String[] parts = s.split(",");
        int[] out = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                out[i] = Integer.parseInt(parts[i].strip());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("visual_layers '" + s + "': '" + parts[i].strip() + "' is not a layer number");
            }
            if (out[i] < 0) throw new IllegalArgumentException("visual_layers '" + s + "': layer " + out[i] + " is negative");
        }
        return out;
    }

    /** What forward keeps for backward, sized for up to maxB images. */
    public static final class Saved {
        final float[] pre;        // [B, D] visual_proj output, the norm's input
        final float[] mean, rstd; // [B]

        public Saved(int maxB, int dim) {
            pre = new float[maxB * dim];
            mean = new float[maxB];
            rstd = new float[maxB];
        }
    }

    /**
     * feats [B, in] → out [B, D] visual tokens. Rows with has[b] false (a sample without an image; has may
     * be null = all have one) get a zero token: their prompts stay the text-only adapter's.
     */
    public void forward(float[] feats, boolean[] has, int B, float[] out, Saved s) {
        float[] pre = s.pre;
        Parallel.forRange(B * dim, (lo, hi) -> {
            for (int r = lo; r < hi; r++) {
                int b = r / dim, d = r % dim;
                pre[r] = Vec.dot(feats, b * in, weight, d * in, in) + bias[d];
            }
        });
        LayerNorm.forward(pre, normWeight, normBias, NORM_EPS, B, dim, out, s.mean, s.rstd);
        if (has != null) for (int b = 0; b < B; b++) if (!has[b]) Arrays.fill(out, b * dim, (b + 1) * dim, 0f);
    }

    /** Adds the gradients of the projection given dOut [B, D] = ∂L/∂I_p (rows without an image contribute nothing). */
    public void backward(float[] feats, boolean[] has, int B, float[] dOut, Saved s, VisualProjection grads) {
        float[] dPre = new float[B * dim]; // [B, D]; a handful of rows per step
        float[] dOutKept = dOut;
        if (has != null) {
            dOutKept = dOut.clone();
            for (int b = 0; b < B; b++) if (!has[b]) Arrays.fill(dOutKept, b * dim, (b + 1) * dim, 0f);
        }
        LayerNorm.backward(s.pre, normWeight, s.mean, s.rstd, dOutKept, B, dim, dPre, grads.normWeight, grads.normBias);
        // dW[d, :] += Σ_b dPre[b, d]·f_b ; db += Σ_b dPre[b, :]
        Parallel.forRange(dim, (lo, hi) -> {
            for (int d = lo; d < hi; d++)
                for (int b = 0; b < B; b++) {
                    float g = dPre[b * dim + d];
                    if (g != 0f) Vec.axpy(g, feats, b * in, grads.weight, d * in, in);
                }
        });
        for (int b = 0; b < B; b++) Vec.add(dPre, b * dim, grads.bias, 0, dim);
    }
}

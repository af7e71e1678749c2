package dev.llamaadapter.tensor;

/**
 * Rotary position embedding, Hugging Face "rotate_half" convention: within each head, element j pairs
 * with j + hd/2, angle p·θ^(−2j/hd) for position p (spec §1). Angles are computed in double and
 * rounded once, as the reference does, so positions far along stay exact.
 */
public final class Rope {
    private final int headDim, half;
    private final float[] cos, sin; // [maxPos, hd/2]
    private final int maxPos;

    public Rope(int headDim, double theta, int maxPos) {
        if (headDim % 2 != 0) throw new IllegalArgumentException("RoPE needs an even head_dim, got " + headDim);
        this.headDim = headDim;
        this.half = headDim / 2;
        this.maxPos = maxPos;
        this.cos = new float[maxPos * half];
        this.sin = new float[maxPos * half];
        for (int j = 0; j < half; j++) {
            double inv = 1.0 / Math.pow(theta, (2.0 * j) / headDim);
            for (int p = 0; p < maxPos; p++) {
                double a = p * inv;
                cos[p * half + j] = (float) Math.cos(a);
                sin[p * half + j] = (float) Math.sin(a);
            }
        }
    }

    public int maxPositions() {
        return maxPos;
    }

    /**
     * Rotates x [B·T, heads·hd] in place; row b·T+t has position pos0 + t. With inverse, applies the
     * transpose rotation (the backward: gradients rotate by −angle).
     */
    public void apply(float[] x, int B, int T, int heads, int pos0, boolean inverse) {
        if (pos0 + T > maxPos) throw new IllegalArgumentException("position " + (pos0 + T - 1) + " beyond the RoPE table (" + maxPos + ")");
        int width = heads * headDim;
        float sign = inverse ? -1f : 1f;
        Parallel.forRange(B * T, (lo, hi) -> {
            for (int m = lo; m < hi; m++) {
                int p = pos0 + m % T;
                int co = p * half;
                for (int h = 0; h < heads; h++) {
                    int o = m * width + h * headDim;
                    for (int j = 0; j < half; j++) {
                        float c = cos[co + j], s = sign * sin[co + j];
                        float x1 = x[o + j], x2 = x[o + j + half];
                        x[o + j] = x1 * c - x2 * s;
                        x[o + j + half] = x2 * c + x1 * s;
                    }
                }
            }
        });
    }
}

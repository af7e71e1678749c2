package dev.llamaadapter.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Rotary position embedding, Hugging Face "rotate_half" convention: within each head, element j pairs
 * with j + rot/2, angle p·inv_freq[j] for position p (spec §1; inv_freq = θ^(−2j/rot), or as a
 * rope_scaling rescales it, spec §7). rot = hd except for partial rotary (phi3): then only each head's
 * first rot dimensions turn and the rest pass through. Angles are computed in double and rounded once,
 * as the reference does, so positions far along stay exact.
 */
public final class Rope {
    private final int headDim, half;
    private final double[] invFreq;   // [rot/2]
    private volatile float[][] table; // {cos, sin}, each [positions, rot/2]; grown on demand

    /** Plain RoPE over whole heads: inv_freq[j] = θ^(−2j/hd). */
    public Rope(int headDim, double theta, int initialPositions) {
        this(headDim, plain(headDim, theta), initialPositions);
    }

    /** RoPE turning the first 2·invFreq.length dimensions of each head by these inverse frequencies. */
    public Rope(int headDim, double[] invFreq, int initialPositions) {
        if (headDim % 2 != 0) throw new IllegalArgumentException("RoPE needs an even head_dim, got " + headDim);
        if (invFreq.length == 0 || 2 * invFreq.length > headDim)
            throw new IllegalArgumentException("RoPE over " + 2 * invFreq.length + " of " + headDim + " dimensions");
        this.headDim = headDim;
        this.half = invFreq.length;
        this.invFreq = invFreq.clone();
        this.table = build(Math.max(1, initialPositions));
    }

    private static double[] plain(int headDim, double theta) {
        if (headDim % 2 != 0) throw new IllegalArgumentException("RoPE needs an even head_dim, got " + headDim);
        double[] inv = new double[headDim / 2];
        for (int j = 0; j < inv.length; j++) inv[j] = 1.0 / Math.pow(theta, (2.0 * j) / headDim);
        return inv;
    }

    private float[][] build(int positions) {
        float[] cos = new float[positions * half], sin = new float[positions * half];
        for (int j = 0; j < half; j++) {
            double inv = invFreq[j];
            for (int p = 0; p < positions; p++) {
                double a = p * inv;
                cos[p * half + j] = (float) Math.cos(a);
                sin[p * half + j] = (float) Math.sin(a);
            }
        }
        return new float[][]{cos, sin};
    }

    /** The table, grown (doubling) to cover positions [0, n). */
    private float[][] tableFor(int n) {
        float[][] t = table;
        if (t[0].length >= n * half) return t;
        synchronized (this) {
            if (table[0].length < n * half) table = build(Math.max(n, 2 * table[0].length / half));
            return table;
        }
    }

    /**
     * Rotates x [B·T, heads·hd] in place; row b·T+t has position pos0 + t. With inverse, applies the
     * transpose rotation (the backward: gradients rotate by −angle).
     */
    public void apply(float[] x, int B, int T, int heads, int pos0, boolean inverse) {
        float[][] t = tableFor(pos0 + T);
        Parallel.forRange(B * T, (lo, hi) -> {
            for (int m = lo; m < hi; m++) rotateRow(x, m, heads, pos0 + m % T, inverse, t);
        });
    }

    /** Rotates rows [rows, heads·hd] in place, row m at its own position pos[m] (decoding with a KV cache). */
    public void applyAt(float[] x, int rows, int heads, int[] pos) {
        int max = 0;
        for (int m = 0; m < rows; m++) max = Math.max(max, pos[m]);
        float[][] t = tableFor(max + 1);
        Parallel.forRange(rows, (lo, hi) -> {
            for (int m = lo; m < hi; m++) rotateRow(x, m, heads, pos[m], false, t);
        });
    }

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    /** One row, every head: vectors over j, then a scalar tail; the same products and differences either way (same bits). */
    private void rotateRow(float[] x, int m, int heads, int p, boolean inverse, float[][] t) {
        float[] cos = t[0], sin = t[1];
        float sign = inverse ? -1f : 1f;
        int co = p * half, width = heads * headDim, vecEnd = S.loopBound(half);
        for (int h = 0; h < heads; h++) {
            int o = m * width + h * headDim;
            for (int j = 0; j < vecEnd; j += S.length()) {
                FloatVector c = FloatVector.fromArray(S, cos, co + j), s = FloatVector.fromArray(S, sin, co + j).mul(sign);
                FloatVector x1 = FloatVector.fromArray(S, x, o + j), x2 = FloatVector.fromArray(S, x, o + j + half);
                x1.mul(c).sub(x2.mul(s)).intoArray(x, o + j);
                x2.mul(c).add(x1.mul(s)).intoArray(x, o + j + half);
            }
            for (int j = vecEnd; j < half; j++) {
                float c = cos[co + j], s = sign * sin[co + j];
                float x1 = x[o + j], x2 = x[o + j + half];
                x[o + j] = x1 * c - x2 * s;
                x[o + j + half] = x2 * c + x1 * s;
            }
        }
    }
}

package dev.llamaadapter.model;

/**
 * How a config's {@code rope_scaling} changes RoPE's inverse frequencies (spec §7). The inverse
 * frequencies are computed in double, as transformers does, before the angle tables are rounded.
 *
 * @param type     "none", "linear" or "llama3"
 * @param factor   linear: divide every frequency; llama3: the low-frequency divisor
 * @param lowFreqFactor, highFreqFactor, originalMaxPositions  llama3's band edges (unused otherwise)
 */
public record RopeScaling(String type, double factor, double lowFreqFactor, double highFreqFactor, int originalMaxPositions) {

    public static final RopeScaling NONE = new RopeScaling("none", 1, 0, 0, 0);

    public static RopeScaling linear(double factor) {
        if (!(factor > 0) || Double.isInfinite(factor)) throw new IllegalArgumentException("rope_scaling.factor " + factor + " must be a positive number");
        return new RopeScaling("linear", factor, 0, 0, 0);
    }

    public static RopeScaling llama3(double factor, double lo, double hi, int original) {
        if (!(factor > 0) || Double.isInfinite(factor)) throw new IllegalArgumentException("rope_scaling.factor " + factor + " must be a positive number");
        if (!(lo > 0) || !(hi > lo)) throw new IllegalArgumentException("rope_scaling low_freq_factor " + lo + " and high_freq_factor " + hi
                + " must be positive with high > low");
        if (original <= 0) throw new IllegalArgumentException("rope_scaling.original_max_position_embeddings " + original + " must be positive");
        return new RopeScaling("llama3", factor, lo, hi, original);
    }

    /**
     * inv_freq[j] = θ^(−2j/rot) for j in [0, rot/2), then scaled. llama3: with wavelength w = 2π/inv, w above
     * C/lo is divided by factor, w below C/hi is kept, and the band between blends the two linearly in C/w.
     */
    public double[] inverseFrequencies(double theta, int rotaryDim) {
        double[] inv = new double[rotaryDim / 2];
        for (int j = 0; j < inv.length; j++) {
            double f = 1.0 / Math.pow(theta, (2.0 * j) / rotaryDim);
            inv[j] = switch (type) {
                case "linear" -> f / factor;
                case "llama3" -> llama3(f);
                default -> f;
            };
        }
        return inv;
    }

    private double llama3(double f) {
        double C = originalMaxPositions, wl = 2 * Math.PI / f;
        if (wl > C / lowFreqFactor) return f / factor;
        if (wl < C / highFreqFactor) return f;
        double s = (C / wl - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
        return (1 - s) * f / factor + s * f;
    }

    /** A short form for fingerprints and inspect, e.g. "llama3(8, 1, 4, 8192)". */
    public String describe() {
        return switch (type) {
            case "linear" -> "linear(" + factor + ")";
            case "llama3" -> "llama3(" + factor + ", " + lowFreqFactor + ", " + highFreqFactor + ", " + originalMaxPositions + ")";
            default -> "none";
        };
    }
}

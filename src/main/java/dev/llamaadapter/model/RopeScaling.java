package dev.llamaadapter.model;

/**
 * How a config's {@code rope_scaling} changes RoPE's inverse frequencies (spec §7). The inverse
 * frequencies are computed in double, as transformers does, before the angle tables are rounded.
 *
 * @param type     "none", "linear", "llama3", or "freqs" (explicit per-frequency divisors, as a GGUF's
 *                 rope_freqs.weight tensor gives them when they match no llama3 parameters)
 * @param factor   linear: divide every frequency; llama3: the low-frequency divisor
 * @param lowFreqFactor, highFreqFactor, originalMaxPositions  llama3's band edges (unused otherwise)
 * @param divisors "freqs": inv_freq[j] is divided by divisors[j] ([rot/2]); null otherwise
 */
public record RopeScaling(String type, double factor, double lowFreqFactor, double highFreqFactor, int originalMaxPositions,
                          double[] divisors) {

    public static final RopeScaling NONE = new RopeScaling("none", 1, 0, 0, 0, null);

    /** Explicit divisors of each inverse frequency (llama.cpp's rope_freqs.weight), [rot/2]. */
    public static RopeScaling freqs(double[] divisors) {
        for (double d : divisors)
            if (!(d > 0) || Double.isInfinite(d)) throw new IllegalArgumentException("RoPE frequency divisor " + d + " must be a positive number");
        return new RopeScaling("freqs", 1, 0, 0, 0, divisors.clone());
    }

    public static RopeScaling linear(double factor) {
        if (!(factor > 0) || Double.isInfinite(factor)) throw new IllegalArgumentException("rope_scaling.factor " + factor + " must be a positive number");
        return new RopeScaling("linear", factor, 0, 0, 0, null);
    }

    public static RopeScaling llama3(double factor, double lo, double hi, int original) {
        if (!(factor > 0) || Double.isInfinite(factor)) throw new IllegalArgumentException("rope_scaling.factor " + factor + " must be a positive number");
        if (!(lo > 0) || !(hi > lo)) throw new IllegalArgumentException("rope_scaling low_freq_factor " + lo + " and high_freq_factor " + hi
                + " must be positive with high > low");
        if (original <= 0) throw new IllegalArgumentException("rope_scaling.original_max_position_embeddings " + original + " must be positive");
        return new RopeScaling("llama3", factor, lo, hi, original, null);
    }

    /**
     * inv_freq[j] = θ^(−2j/rot) for j in [0, rot/2), then scaled. llama3: with wavelength w = 2π/inv, w above
     * C/lo is divided by factor, w below C/hi is kept, and the band between blends the two linearly in C/w.
     */
    public double[] inverseFrequencies(double theta, int rotaryDim) {
        double[] inv = new double[rotaryDim / 2];
        if (divisors != null && divisors.length != inv.length)
            throw new IllegalArgumentException(divisors.length + " RoPE frequency divisors for " + inv.length + " frequencies (rotary dimensions " + rotaryDim + ")");
        for (int j = 0; j < inv.length; j++) {
            double f = 1.0 / Math.pow(theta, (2.0 * j) / rotaryDim);
            inv[j] = switch (type) {
                case "linear" -> f / factor;
                case "llama3" -> llama3(f);
                case "freqs" -> f / divisors[j];
                default -> f;
            };
        }
        return inv;
    }

    /**
     * The divisor of each inverse frequency this scaling applies, as llama.cpp's converter writes them into
     * rope_freqs.weight for llama3 (factor, 1, or the blend's reciprocal) — 1 everywhere for no scaling.
     */
    public double[] divisorsFor(double theta, int rotaryDim) {
        double[] d = inverseFrequencies(theta, rotaryDim); // [rot/2], becomes the divisors in place
        for (int j = 0; j < d.length; j++) d[j] = 1.0 / Math.pow(theta, (2.0 * j) / rotaryDim) / d[j];
        return d;
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
            case "freqs" -> "freqs" + java.util.Arrays.toString(divisors);
            default -> "none";
        };
    }
}

package dev.llamaadapter.tensor;

/**
 * The scale searches the K-quant quantisers share: for a small group of values x, the integer levels L and the
 * scale (and min) that make scale·L (+ min) close to x in a weighted least-squares sense. Rounding x/scale to
 * the nearest level for the scale max|x|/levels alone is a poor choice: the largest value is exact, every other
 * value pays for it. These searches try a fan of candidate scales around that one, re-round the levels for each,
 * solve the weighted least-squares problem for the scale (and min) those levels imply, and keep the best. This is
 * the method of llama.cpp's non-imatrix K-quant path (weights x² for the symmetric search, |x| + rms(x) for the
 * one with a min), which is what makes our round-trip error equal to llama-quantize's.
 *
 * <p>Everything is in fp32, rounding to nearest with ties to even, as the reference computes it, so that the
 * same input gives the same levels here and there in nearly every group.
 */
final class KQuantSearch {
    private KQuantSearch() {}

    /** Groups whose largest magnitude is below this are all zero. */
    static final float GROUP_EPS = 1e-15f;

    /** Round to nearest, ties to even (C's nearbyint under the default mode). */
    static int nearest(float v) {
        return (int) Math.rint(v);
    }

    /**
     * Symmetric levels −nmax .. nmax−1 for x[xo .. xo + n): fills L[lo ..] with level + nmax and returns the scale
     * (negative when the largest-magnitude value is positive: it maps to −nmax, the level with no positive twin).
     * Weights x², candidates iscale = −(nmax + 0.1·s)/max for s = −9 .. 9.
     */
    static float symmetric(float[] x, int xo, int n, int nmax, byte[] L, int lo) {
        float amax = 0, max = 0;
        for (int i = 0; i < n; i++) {
            float a = Math.abs(x[xo + i]);
            if (a > amax) {
                amax = a;
                max = x[xo + i];
            }
        }
        if (amax < GROUP_EPS) {
            for (int i = 0; i < n; i++) L[lo + i] = 0;
            return 0f;
        }
        float best = -1, scale = 0;
        for (int s = 0; s <= 18; s++) { // s = 0 is the plain candidate −nmax/max; then the fan −9 .. 9 around it
            int step = s == 0 ? 0 : s <= 9 ? s - 10 : s - 9;
            if (s != 0 && step == 0) continue;
            float iscale = -(nmax + 0.1f * step) / max;
            float sumlx = 0, suml2 = 0;
            for (int i = 0; i < n; i++) {
                float v = x[xo + i];
                int l = Math.max(-nmax, Math.min(nmax - 1, nearest(iscale * v)));
                float w = v * v;
                sumlx += w * v * l;
                suml2 += w * l * l;
            }
            // the least-squares scale for these levels is sumlx/suml2 and its error falls as sumlx²/suml2 rises
            boolean better = s == 0 ? true : suml2 > 0 && sumlx * sumlx > best * suml2;
            if (better) {
                scale = suml2 != 0 ? sumlx / suml2 : 0f;
                best = scale * sumlx;
                for (int i = 0; i < n; i++) L[lo + i] = (byte) (nmax + Math.max(-nmax, Math.min(nmax - 1, nearest(iscale * x[xo + i]))));
            }
        }
        return scale;
    }

    /**
     * Levels 0 .. nmax with a scale and a min, x ≈ scale·L − min, for x[xo .. xo + n) and weights w[0 .. n): fills
     * L[lo ..], stores the min (≥ 0, subtracted) in minOut[mo] and returns the scale. Candidates iscale =
     * (nmax + rmin + rdelta·s)/(max − min) for s = 0 .. nstep; for each, the weighted least-squares (scale, min) of
     * its levels, with the min clamped so that it never adds (the format stores it unsigned). aux: n bytes of scratch.
     */
    static float withMin(float[] x, int xo, int n, int nmax, float[] w, byte[] L, int lo, float[] minOut, int mo,
                         byte[] aux, float rmin, float rdelta, int nstep) {
        float min = x[xo], max = x[xo], sumW = w[0], sumX = w[0] * x[xo];
        for (int i = 1; i < n; i++) {
            float v = x[xo + i];
            if (v < min) min = v;
            if (v > max) max = v;
            sumW += w[i];
            sumX += w[i] * v;
        }
        if (min > 0) min = 0; // a group of positives keeps the origin: the format's min only subtracts
        if (max == min) {
            for (int i = 0; i < n; i++) L[lo + i] = 0;
            minOut[mo] = -min;
            return 0f;
        }
        float iscale = nmax / (max - min), scale = 1 / iscale, bestErr = 0;
        for (int i = 0; i < n; i++) {
            int l = Math.max(0, Math.min(nmax, nearest(iscale * (x[xo + i] - min))));
            L[lo + i] = (byte) l;
            float diff = scale * l + min - x[xo + i];
            bestErr += w[i] * diff * diff;
        }
        for (int s = 0; s <= nstep; s++) {
            iscale = (rmin + rdelta * s + nmax) / (max - min);
            float sumL = 0, sumL2 = 0, sumXL = 0;
            for (int i = 0; i < n; i++) {
                float v = x[xo + i];
                int l = Math.max(0, Math.min(nmax, nearest(iscale * (v - min))));
                aux[i] = (byte) l;
                sumL += w[i] * l;
                sumL2 += w[i] * l * l;
                sumXL += w[i] * l * v;
            }
            float det = sumW * sumL2 - sumL * sumL;
            if (det <= 0) continue;
            float thisScale = (sumW * sumXL - sumX * sumL) / det;
            float thisMin = (sumL2 * sumX - sumL * sumXL) / det;
            if (thisMin > 0) { // a positive offset cannot be stored: refit the scale alone through the origin
                thisMin = 0;
                thisScale = sumXL / sumL2;
            }
            float err = 0;
            for (int i = 0; i < n; i++) {
                float diff = thisScale * aux[i] + thisMin - x[xo + i];
                err += w[i] * diff * diff;
            }
            if (err < bestErr) {
                System.arraycopy(aux, 0, L, lo, n);
                bestErr = err;
                scale = thisScale;
                min = thisMin;
            }
        }
        minOut[mo] = -min;
        return scale;
    }
}

package dev.llamaadapter.train;

import java.util.List;

/**
 * AdamW as torch.optim.AdamW computes it (decoupled weight decay applied first, bias corrections, eps
 * added to the corrected second-moment root), in fp32 like the official fp32 master weights.
 */
public final class AdamW {
    public final double beta1, beta2, eps, weightDecay;
    private final List<Param> params;
    public final float[][] m, v; // first and second moments, one per param, same lengths
    private long step;           // optimizer steps taken

    public AdamW(List<Param> params, double beta1, double beta2, double eps, double weightDecay) {
        this.params = params;
        this.beta1 = beta1; this.beta2 = beta2; this.eps = eps; this.weightDecay = weightDecay;
        m = new float[params.size()][];
        v = new float[params.size()][];
        for (int i = 0; i < params.size(); i++) {
            m[i] = new float[params.get(i).value().length];
            v[i] = new float[params.get(i).value().length];
        }
    }

    public long step() {
        return step;
    }

    /** Restores the step count with the moments (a resumed run). */
    public void restore(long step) {
        this.step = step;
    }

    /** One update with learning rate lr from the params' current gradients. */
    public void update(double lr) {
        step++;
        double bc1 = 1 - Math.pow(beta1, step), bc2 = 1 - Math.pow(beta2, step);
        double stepSize = lr / bc1, bc2Sqrt = Math.sqrt(bc2);
        float b1 = (float) beta1, b2 = (float) beta2;
        for (int i = 0; i < params.size(); i++) {
            Param p = params.get(i);
            float[] w = p.value(), g = p.grad(), mi = m[i], vi = v[i];
            float decay = p.decay() ? (float) (1 - lr * weightDecay) : 1f;
            for (int j = 0; j < w.length; j++) {
                w[j] *= decay;
                mi[j] = b1 * mi[j] + (1 - b1) * g[j];
                vi[j] = b2 * vi[j] + (1 - b2) * g[j] * g[j];
                double denom = Math.sqrt(vi[j]) / bc2Sqrt + eps;
                w[j] -= (float) (stepSize * mi[j] / denom);
            }
        }
    }
}

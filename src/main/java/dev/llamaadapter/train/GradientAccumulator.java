package dev.llamaadapter.train;

import dev.llamaadapter.data.MicroBatch;

import java.util.Arrays;
import java.util.List;

/**
 * One step's gradient accumulated over its micro-batches under a {@link LossNorm}. Micro-batch b weighs
 * w_b (its scored tokens for TOKENS, 1 for MICRO_MEAN) and the step's gradient is Σ w_b·g_b / Σ w_b, g_b
 * being the gradient of b's mean loss, which the objective ADDS into the params' grads as it is.
 * <p>
 * The engine's backward cannot be told to scale g_b, so the grads are kept in units of the last weight:
 * they hold Σ_{a≤b} w_a·g_a / w_b. Scaling them by w_b / w_{b+1} before the next backward makes its plain
 * g_{b+1} count as w_{b+1}·g_{b+1}. The math is exact, at one float rounding per change of weight, and no
 * second gradient buffer is needed (full fine-tuning could not afford one). With equal weights (MICRO_MEAN,
 * or one micro-batch a step) nothing is rescaled and the result is the plain mean, bit for bit.
 */
public final class GradientAccumulator {
    private final Objective objective;
    private final List<Param> params;
    private final LossNorm norm;
    private double lossSum; // Σ w_b·loss_b
    private long weight;    // Σ w_b
    private long tokens;    // positions processed, padding excluded
    private int count;      // micro-batches
    private long unit;      // the grads hold Σ w_a·g_a / unit; 0 until a micro-batch with weight

    /** Starts a step: zeroes the objective's grads. */
    public GradientAccumulator(Objective objective, LossNorm norm) {
        this.objective = objective;
        this.params = objective.params();
        this.norm = norm;
        for (Param p : params) Arrays.fill(p.grad(), 0f);
    }

    /** Forward and backward of b (examples: its indices into the training list), weighed by the norm. */
    public void add(MicroBatch b, int[] examples) {
        long w = norm == LossNorm.TOKENS ? b.scored() : 1;
        // a micro-batch without scored tokens adds a zero gradient: it needs no units of its own
        if (w > 0 && unit > 0 && w != unit) StepGradient.scale(params, (double) unit / w);
        double loss = objective.accumulate(b, examples);
        if (w > 0) unit = w;
        lossSum += w * loss; // exact in double: loss is a float, w < 2^29
        weight += w;
        tokens += b.tokens();
        count++;
    }

    /** Leaves Σ w_b·g_b / divisor in the grads: divisor {@link #weight()} gives the step's gradient, 1 the weighted sum. */
    public void finish(double divisor) {
        if (unit > 0) StepGradient.scale(params, unit / divisor);
    }

    /** The step's loss: Σ w_b·loss_b / Σ w_b (0 when nothing is scored, as a micro-batch's mean is). */
    public double meanLoss() {
        return weight == 0 ? 0 : lossSum / weight;
    }

    public double lossSum() {
        return lossSum;
    }

    /** Σ w_b: the scored tokens (TOKENS) or the micro-batches (MICRO_MEAN) added. */
    public long weight() {
        return weight;
    }

    public long tokens() {
        return tokens;
    }

    public int count() {
        return count;
    }
}

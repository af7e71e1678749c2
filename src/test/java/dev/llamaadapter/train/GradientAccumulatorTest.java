package dev.llamaadapter.train;

import dev.llamaadapter.data.MicroBatch;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * The accumulation's arithmetic against a stand-in objective whose micro-batch b adds a known gradient
 * g_b and returns a known mean loss: the default norm gives Σ n_b·g_b / Σ n_b (n_b: scored tokens),
 * micro-mean Σ g_b / count, and partitions' weighted sums add up to the single-process result.
 */
class GradientAccumulatorTest {
    static final int[] SCORED = {3, 17, 0, 1, 40}; // very unequal, and one micro-batch with nothing scored

    /** g_b[i] = (b+1)·(i+1) − 2, loss_b = 1 + b/10: what the engine would add for micro-batch b. */
    static Objective fake(float[] value, float[] grad) {
        List<Param> params = List.of(new Param("w", value, grad, new long[]{value.length}, false));
        return new Objective() {
            public List<Param> params() {
                return params;
            }

            public double accumulate(MicroBatch b) {
                int id = b.ids()[0];
                if (b.scored() == 0) return 0; // the engine's cross-entropy: no scored row, no loss, no gradient
                for (int i = 0; i < grad.length; i++) grad[i] += (id + 1) * (i + 1) - 2;
                return 1 + id / 10.0;
            }

            public double loss(MicroBatch b) {
                throw new UnsupportedOperationException();
            }

            public String describe() {
                return "";
            }
        };
    }

    static MicroBatch batch(int b) {
        return new MicroBatch(1, 1, new int[]{b}, new int[]{-100}, 50, SCORED[b]);
    }

    static double[] expected(boolean tokens) {
        double[] g = new double[4];
        double w = 0;
        for (int b = 0; b < SCORED.length; b++) {
            if (SCORED[b] == 0 && tokens) continue;
            double wb = tokens ? SCORED[b] : 1;
            for (int i = 0; i < g.length; i++) g[i] += wb * (SCORED[b] == 0 ? 0 : (b + 1) * (i + 1) - 2);
            w += wb;
        }
        for (int i = 0; i < g.length; i++) g[i] /= w;
        return g;
    }

    static GradientAccumulator run(Objective o, LossNorm norm, int from, int to) {
        GradientAccumulator acc = new GradientAccumulator(o, norm);
        for (int b = from; b < to; b++) acc.add(batch(b), new int[]{b});
        return acc;
    }

    @Test
    void theDefaultWeighsEveryScoredTokenTheSame() {
        float[] grad = {9, 9, 9, 9}; // left over from the previous step: cleared
        GradientAccumulator acc = run(fake(new float[4], grad), LossNorm.TOKENS, 0, SCORED.length);
        acc.finish(acc.weight());
        double[] want = expected(true);
        for (int i = 0; i < grad.length; i++) assertThat((double) grad[i]).isCloseTo(want[i], within(1e-6 * Math.abs(want[i])));
        assertThat(acc.weight()).isEqualTo(61);
        assertThat(acc.meanLoss()).isCloseTo((3 * 1.0 + 17 * 1.1 + 1 * 1.3 + 40 * 1.4) / 61, within(1e-12));
        assertThat(acc.tokens()).isEqualTo(250);
    }

    @Test
    void microMeanIsThePlainMeanOfMicroBatchMeans() {
        float[] grad = new float[4];
        GradientAccumulator acc = run(fake(new float[4], grad), LossNorm.MICRO_MEAN, 0, SCORED.length);
        acc.finish(acc.weight());
        double[] want = expected(false);
        for (int i = 0; i < grad.length; i++) assertThat((double) grad[i]).isCloseTo(want[i], within(1e-6 * Math.abs(want[i])));
        assertThat(acc.meanLoss()).isCloseTo((1.0 + 1.1 + 0 + 1.3 + 1.4) / 5, within(1e-12));
    }

    @Test
    void partitionsWeightedSumsAddUpToTheSingleProcessStep() {
        float[] g1 = new float[4], g2 = new float[4];
        GradientAccumulator a = run(fake(new float[4], g1), LossNorm.TOKENS, 0, 2), b = run(fake(new float[4], g2), LossNorm.TOKENS, 2, SCORED.length);
        a.finish(1);
        b.finish(1);
        long weight = a.weight() + b.weight();
        double[] want = expected(true);
        for (int i = 0; i < 4; i++) assertThat((g1[i] + g2[i]) / (double) weight).isCloseTo(want[i], within(1e-6 * Math.abs(want[i])));
        assertThat((a.lossSum() + b.lossSum()) / weight).isCloseTo(run(fake(new float[4], new float[4]), LossNorm.TOKENS, 0, 5).meanLoss(), within(1e-12));
    }
}

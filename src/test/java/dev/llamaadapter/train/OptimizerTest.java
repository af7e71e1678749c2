package dev.llamaadapter.train;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** AdamW, the schedule, the decay groups and the lr scaling against numbers worked by hand. */
class OptimizerTest {

    @Test
    void adamwTwoStepsByHand() {
        // w = 1, g = 0.5 then −0.25, lr 0.1, wd 0.02, betas (0.9, 0.95), eps 1e-8
        // step 1: w·(1 − 0.1·0.02) = 0.998; m = 0.05, v = 0.0125; m̂ = 0.5, √v̂ = 0.5 → w = 0.998 − 0.1 = 0.898
        // step 2: w = 0.898·0.998 = 0.896204; m = 0.02, v = 0.015; m̂ = 0.02/0.19, √v̂ = √(0.015/0.0975)
        //         update 0.1·0.1052631579/0.3922322703 = 0.0268369667 → w = 0.8693670333
        float[] w = {1f}, g = {0.5f}, b = {1f}, gb = {0.5f};
        AdamW adam = new AdamW(List.of(new Param("w", w, g, new long[]{1, 1}, true), new Param("b", b, gb, new long[]{1}, false)),
                0.9, 0.95, 1e-8, 0.02);
        adam.update(0.1);
        assertThat(w[0]).isCloseTo(0.898f, within(1e-6f));
        assertThat(b[0]).isCloseTo(0.9f, within(1e-6f)); // no decay on vectors
        g[0] = -0.25f;
        gb[0] = -0.25f;
        adam.update(0.1);
        assertThat(w[0]).isCloseTo(0.8693670333f, within(1e-6f));
        assertThat(b[0]).isCloseTo(0.9f - 0.0268369667f, within(1e-6f));
        assertThat(adam.step()).isEqualTo(2);
        assertThat(adam.m[0][0]).isCloseTo(0.02f, within(1e-7f));
        assertThat(adam.v[0][0]).isCloseTo(0.015f, within(1e-7f));
    }

    @Test
    void zeroLearningRateLeavesWeightsButMovesMoments() {
        float[] w = {2f}, g = {1f};
        AdamW adam = new AdamW(List.of(new Param("w", w, g, new long[]{1, 1}, true)), 0.9, 0.95, 1e-8, 0.02);
        adam.update(0.0); // the official schedule's first step
        assertThat(w[0]).isEqualTo(2f);
        assertThat(adam.m[0][0]).isCloseTo(0.1f, within(1e-7f));
    }

    @Test
    void scheduleWarmsUpLinearlyThenHalfCosine() {
        LrSchedule s = new LrSchedule(0.01, 0, 2, 5);
        assertThat(s.at(0)).isEqualTo(0);
        assertThat(s.at(1)).isCloseTo(0.005, within(1e-12));
        assertThat(s.at(2)).isCloseTo(0.01, within(1e-12));
        assertThat(s.at(2.75)).isCloseTo(0.0085355339, within(1e-9)); // 0.01·½(1 + cos(π/4))
        assertThat(s.at(3.5)).isCloseTo(0.005, within(1e-12));
        assertThat(s.at(5)).isCloseTo(0, within(1e-12));
        assertThat(new LrSchedule(0.01, 0.001, 0, 4).at(2)).isCloseTo(0.0055, within(1e-12));
    }

    @Test
    void learningRateScalesWithTheEffectiveBatch() {
        assertThat(LrSchedule.scaled(9e-3, 64)).isCloseTo(0.00225, within(1e-15));
        assertThat(LrSchedule.scaled(9e-3, 32)).isCloseTo(0.001125, within(1e-15));
        assertThat(LrSchedule.scaled(9e-3, 256)).isCloseTo(9e-3, within(1e-15));
    }

    @Test
    void weightDecayGroupsFollowTheOfficialRule() {
        assertThat(Param.decays("adapter_query.weight", new long[]{300, 4096})).isTrue();
        assertThat(Param.decays("gates", new long[]{30, 1, 32, 1, 1})).isTrue();
        assertThat(Param.decays("visual_proj.weight", new long[]{4096, 3072})).isTrue();
        assertThat(Param.decays("visual_proj.bias", new long[]{4096})).isFalse();
        assertThat(Param.decays("visual_norm.weight", new long[]{4096})).isFalse();
    }
}

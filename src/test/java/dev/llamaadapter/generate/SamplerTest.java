package dev.llamaadapter.generate;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Sampling rules on hand-made logits. */
class SamplerTest {
    static final float[] LOGITS = {1f, 3f, 2f, -1f, 2.9f};

    static SamplingParams p(double t, int k, double topP, double pen, long seed) {
        return new SamplingParams(t, k, topP, pen, seed, 10, List.of(), true);
    }

    @Test
    void greedyTopOneAndTinyTopPAllPickTheArgmax() {
        assertThat(new Sampler(p(0, 0, 1, 1, 0)).next(LOGITS, 0, 5, new int[0], 0)).isEqualTo(1);
        assertThat(new Sampler(p(1, 1, 1, 1, 0)).next(LOGITS, 0, 5, new int[0], 0)).isEqualTo(1);
        for (int s = 0; s < 20; s++) assertThat(new Sampler(p(1, 0, 0.01, 1, s)).next(LOGITS, 0, 5, new int[0], 0)).isEqualTo(1);
    }

    @Test
    void topKLimitsTheCandidatesAndTheSeedFixesTheDraw() {
        java.util.Set<Integer> seen = new java.util.HashSet<>();
        for (int s = 0; s < 200; s++) seen.add(new Sampler(p(5, 2, 1, 1, s)).next(LOGITS, 0, 5, new int[0], 0));
        assertThat(seen).containsExactlyInAnyOrder(1, 4);
        Sampler a = new Sampler(p(1, 0, 1, 1, 42)), b = new Sampler(p(1, 0, 1, 1, 42));
        for (int i = 0; i < 50; i++) assertThat(a.next(LOGITS, 0, 5, new int[0], 0)).isEqualTo(b.next(LOGITS, 0, 5, new int[0], 0));
    }

    @Test
    void repetitionPenaltyDemotesSeenTokens() {
        // token 1 (3.0) seen: 3.0 / 1.5 = 2.0 < 2.9 → token 4 wins greedily
        assertThat(new Sampler(p(0, 0, 1, 1.5, 0)).next(LOGITS, 0, 5, new int[]{1}, 1)).isEqualTo(4);
    }

    @Test
    void invalidValuesAreRefusedWithTheirName() {
        assertThatThrownBy(() -> p(-1, 0, 1, 1, 0)).hasMessageContaining("temperature");
        assertThatThrownBy(() -> p(1, -2, 1, 1, 0)).hasMessageContaining("top_k");
        assertThatThrownBy(() -> p(1, 0, 0, 1, 0)).hasMessageContaining("top_p");
        assertThatThrownBy(() -> p(1, 0, 1, 0, 0)).hasMessageContaining("repetition_penalty");
    }
}

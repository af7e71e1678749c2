package dev.llamaadapter.train;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** How a checkpoint's run identity is matched: the base weights' hash, and checkpoints written before it. */
class CheckpointIdentityTest {
    static final String RUN = "epochs=2 lr=0.01 data=abc base=1a2b base_weights=d59a";

    @Test
    void aCheckpointWithoutTheWeightsHashMatchesWhenAllElseDoes() {
        assertThat(Checkpoint.olderWithoutWeights("epochs=2 lr=0.01 data=abc base=1a2b", RUN)).isTrue();
        assertThat(Checkpoint.olderWithoutWeights("epochs=3 lr=0.01 data=abc base=1a2b", RUN)).isFalse();
        assertThat(Checkpoint.olderWithoutWeights("epochs=2 lr=0.01 data=abc base=1a2b base_weights=0000", RUN)).as("a recorded hash must match").isFalse();
        assertThat(Checkpoint.olderWithoutWeights("epochs=2 lr=0.01 data=abc base=1a2b full=7tensors", RUN + " full=7tensors")).isTrue();
    }

    @Test
    void theDifferencesAreNamedAndOtherWeightsSaidInWords() {
        assertThat(Checkpoint.differences("epochs=2 lr=0.01 data=abc base=1a2b base_weights=0000", RUN))
                .isEqualTo(" (it differs in base_weights; the base model's weights are not those it was trained on: another model of the same shape, "
                        + "or the same model in another dtype or format)");
        assertThat(Checkpoint.differences("epochs=3 lr=0.02 data=abc base=1a2b base_weights=d59a", RUN)).isEqualTo(" (it differs in epochs, lr)");
        assertThat(Checkpoint.differences("epochs=2 lr=0.01 data=abc base=9999 base_weights=0000", RUN)).isEqualTo(" (it differs in base, base_weights)");
    }
}

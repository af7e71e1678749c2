package dev.llamaadapter.train;

import dev.llamaadapter.adapter.AdapterFile;
import dev.llamaadapter.io.SafeTensors;
import dev.llamaadapter.model.AdaptionPrompts;
import dev.llamaadapter.model.BaseModel;
import dev.llamaadapter.model.GateActivation;
import dev.llamaadapter.model.GateSharing;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Training with per-layer gates on stories260K through the ordinary job: the checkpoint holds one gate per
 * layer, a run stopped after a checkpoint and resumed ends with the uninterrupted run's adapter bit for bit,
 * a per-head checkpoint is not resumed as per-layer, and random-init gates are drawn once per layer.
 */
class PerLayerTrainingTest {
    static final Path MODEL = Path.of("../shared/assets/stories260K/hf");
    static final PrintStream QUIET = new PrintStream(java.io.OutputStream.nullOutputStream());

    @TempDir
    static Path tmp;
    static Path data;

    @BeforeAll
    static void makeData() throws Exception {
        assumeTrue(Files.isDirectory(MODEL), "../shared is absent");
        String[] names = {"Lily", "Tom", "Ben", "Mia", "Sam", "Anna"};
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            String name = names[i % names.length];
            lines.add("{\"instruction\": \"Continue the story about " + name + ".\", \"input\": \"\", \"output\": \"" + name + " saw a big dog.\"}");
        }
        data = tmp.resolve("d.jsonl");
        Files.write(data, lines);
    }

    static TrainingJob.Options options(Path out, boolean resume, double gateInitStd, GateSharing gates) {
        return new TrainingJob.Options(MODEL, data, out, null, null, "8", 3, 1, 8, 4, 2e-2, 9e-3, 0, 0.02, 0,
                4, null, GateActivation.TANH, 512, 5, false, true, null, 1, null, null, null, resume, gateInitStd, false, null, null)
                .withGates(gates);
    }

    /** Stops the run right after the checkpoint of step `at` is written, as a killed process would. */
    static Trainer.Listener stopAfterCheckpoint(long at) {
        return new Trainer.Listener() {
            public void step(Trainer.StepRow r) {}

            public void checkpoint(long step, Path file) {
                if (step == at) throw new IllegalStateException("stopped after the checkpoint of step " + at);
            }
        };
    }

    @Test
    void aStoppedPerLayerRunResumesToTheUninterruptedResult() throws Exception {
        Path whole = tmp.resolve("whole.safetensors");
        TrainingJob.run(options(whole, false, 0, GateSharing.PER_LAYER), QUIET, s -> r -> {});

        Path cut = tmp.resolve("cut.safetensors");
        assertThatThrownBy(() -> TrainingJob.run(options(cut, false, 0, GateSharing.PER_LAYER), QUIET, s -> stopAfterCheckpoint(5)))
                .hasMessageContaining("stopped after the checkpoint of step 5");
        assertThat(cut).doesNotExist();
        try (SafeTensors ck = SafeTensors.open(tmp.resolve("cut.ckpt.safetensors"))) {
            assertThat(ck.info("param.gates").shape()).as("one gate per adapted layer").containsExactly(3, 1, 1, 1, 1);
            assertThat(ck.info("optim.exp_avg.gates").shape()).containsExactly(3, 1, 1, 1, 1);
            assertThat(ck.metadata().get("checkpoint.identity")).endsWith(" gates=per-layer");
        }
        TrainingJob.run(options(cut, true, 0, GateSharing.PER_LAYER), QUIET, s -> r -> {});

        try (BaseModel base = BaseModel.open(MODEL)) {
            AdaptionPrompts a = AdapterFile.read(whole, base).prompts(), b = AdapterFile.read(cut, base).prompts();
            assertThat(a.gates).isEqualTo(GateSharing.PER_LAYER);
            assertThat(a.firstLayerWithUnequalHeads()).isEqualTo(-1);
            assertThat(a.gate[0]).as("the gates moved").isNotZero();
            assertThat(b.prompt).containsExactly(a.prompt);
            assertThat(b.gate).containsExactly(a.gate);
        }
    }

    @Test
    void aPerHeadCheckpointIsNotResumedAsPerLayer() throws Exception {
        Path out = tmp.resolve("heads.safetensors");
        assertThatThrownBy(() -> TrainingJob.run(options(out, false, 0, GateSharing.PER_HEAD), QUIET, s -> stopAfterCheckpoint(2)))
                .hasMessageContaining("stopped");
        assertThatThrownBy(() -> TrainingJob.run(options(out, true, 0, GateSharing.PER_LAYER), QUIET, s -> r -> {}))
                .hasMessageContaining("belongs to a different run").hasMessageContaining("gates=per-layer");
    }

    @Test
    void randomInitGatesAreDrawnOncePerLayer() throws Exception {
        Path out = tmp.resolve("random.safetensors");
        TrainingJob.run(options(out, false, 0.5, GateSharing.PER_LAYER), QUIET, s -> r -> {});
        try (BaseModel base = BaseModel.open(MODEL)) {
            AdaptionPrompts p = AdapterFile.read(out, base).prompts();
            assertThat(p.firstLayerWithUnequalHeads()).isEqualTo(-1);
            assertThat(p.gate[0]).isNotEqualTo(p.gate[p.heads]);
        }
    }
}

package dev.llamaadapter.train;

import dev.llamaadapter.adapter.AdapterFile;
import dev.llamaadapter.model.BaseModel;
import dev.llamaadapter.model.BaseSketch;
import dev.llamaadapter.model.GateActivation;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Trains real adapters on the real stories260K model with an instruction set made here: "continue
 * the story about {name}", whose outputs use that name. Validation loss must fall well below the base
 * model's, step 0 must equal the base model exactly (zero-init), and a training process killed mid-run
 * and resumed must give the same adapter as an uninterrupted run.
 */
class TrainEndToEndTest {
    static final Path MODEL = Path.of("../shared/assets/stories260K/hf");
    static final String[] NAMES = {"Lily", "Tom", "Ben", "Mia", "Sam", "Anna", "Max", "Lucy", "Tim", "Sue", "Jack", "Zoe", "Bob", "Kim", "Dan", "Amy"};
    static final String[] PLACES = {"park", "garden", "beach", "forest", "shop", "river"};

    @TempDir
    static Path tmp;
    static Path data;

    @BeforeAll
    static void makeData() throws Exception {
        assumeTrue(Files.isDirectory(MODEL), "../shared is absent");
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 96; i++) {
            String name = NAMES[i % NAMES.length], place = PLACES[(i / NAMES.length) % PLACES.length];
            String instruction = "Continue the story about " + name + ".";
            String input = i % 3 == 0 ? "" : "The story is set at the " + place + ".";
            String output = name + " went to the " + place + ". " + name + " saw a big dog. " + name + " was very happy.";
            lines.add(String.format("{\"instruction\": \"%s\", \"input\": \"%s\", \"output\": \"%s\"}", instruction, input, output));
        }
        data = tmp.resolve("names.jsonl");
        Files.write(data, lines);
    }

    static TrainingJob.Options options(Path out, int epochs, Integer saveEvery, boolean resume) {
        return new TrainingJob.Options(MODEL, data, out, null, null, "16", epochs, 1, 8, 4, 2e-2, 9e-3, 0, 0.02, 0,
                10, null, GateActivation.TANH, 512, 3, false, true, null, saveEvery, null, null, null, resume);
    }

    static final PrintStream QUIET = new PrintStream(java.io.OutputStream.nullOutputStream());

    static Trainer.Listener silent(long ignored) {
        return r -> {};
    }

    @Test
    void fullFineTuningLowersTheLossAndWritesAWholeModel() throws Exception {
        Path out = tmp.resolve("full-model");
        byte[] before = Files.readAllBytes(MODEL.resolve("model.safetensors"));
        var o = options(out, 3, null, false);
        o = new TrainingJob.Options(o.model(), o.data(), out, null, null, "16", 3, 1, 8, 4, 1e-3, 9e-3, 0, 0.0, 1.0,
                10, null, GateActivation.TANH, 512, 3, false, true, null, null, null, null, null, false, 0, true, null, null);
        TrainingJob.Result r = TrainingJob.run(o, QUIET, TrainEndToEndTest::silent);
        assertThat(r.lastValidation().loss()).as("full fine-tuning: validation loss after vs before").isLessThan(0.7 * r.baseValidation().loss());
        assertThat(Files.readAllBytes(MODEL.resolve("model.safetensors"))).as("the base files are never written").isEqualTo(before);
        try (BaseModel tuned = BaseModel.open(out); BaseModel base = BaseModel.open(MODEL)) {
            assertThat(tuned.config()).isEqualTo(base.config());
            assertThat(tuned.tokenizer().encode("Lily went to the park.")).isEqualTo(base.tokenizer().encode("Lily went to the park."));
            assertThat(tuned.weights().layers()[0].wq().get(0, 0)).isNotEqualTo(base.weights().layers()[0].wq().get(0, 0));
            assertThat(tuned.parameterCount()).isEqualTo(base.parameterCount());
            // same architecture, other weights: the sketch sees the change (README quotes the figure)
            assertThat(tuned.fingerprint()).isEqualTo(base.fingerprint());
            BaseSketch.Match m = BaseSketch.of(tuned).compare(BaseSketch.of(base));
            System.out.printf(java.util.Locale.ROOT, "train --full (3 epochs, lr 1e-3) vs its base: similarity %.6f (weakest %s), by kind %s%n",
                    m.similarity(), m.weakestKind(), m.byKind());
            assertThat(m.exact()).isFalse();
            assertThat(m.similarity()).isLessThan(1.0);
        }
        assertThat(out.resolve("tokenizer.model")).isNotEmptyFile();
    }

    @Test
    void validationLossFallsWellBelowTheBaseModelAndStepZeroIsTheBaseModel() throws Exception {
        Path out = tmp.resolve("names.safetensors");
        TrainingJob.Result r = TrainingJob.run(options(out, 10, null, false), QUIET, TrainEndToEndTest::silent);
        assertThat(r.baseValidation()).isNotNull();
        assertThat(r.lastValidation().loss()).as("validation loss after training vs base").isLessThan(0.5 * r.baseValidation().loss());

        try (BaseModel base = BaseModel.open(MODEL)) {
            // zero-init: step 0's validation loss is the base model's, exactly (same batches, no adapter)
            double baseLoss = TrainingJob.baseModelValidationLoss(options(out, 10, null, false), base);
            assertThat(r.baseValidation().loss()).isEqualTo(baseLoss);
            // the file is a plug-and-play adapter for this base, and refuses another
            var a = AdapterFile.read(out, base);
            assertThat(a.metadata()).containsKeys(AdapterFile.BASE_FINGERPRINT, AdapterFile.BASE_SKETCH, "train.lr", "summary.final_val_loss");
            assertThat(AdapterFile.baseMatch(out, a.metadata(), base).exact()).isTrue();
            assertThat(a.prompts().adapterLayers).isEqualTo(3); // all but the bottom 2 of 5
        }
        assertThat(Files.size(out)).isLessThan(20_000);
        assertThat(out.resolveSibling("names.metrics.jsonl")).isNotEmptyFile();
        assertThat(out.resolveSibling("names.loss.png")).isNotEmptyFile();
    }

    @Test
    void aKilledRunResumesToTheUninterruptedResult() throws Exception {
        int epochs = 12;
        Path whole = tmp.resolve("whole.safetensors");
        TrainingJob.run(options(whole, epochs, null, false), QUIET, TrainEndToEndTest::silent);

        Path cut = tmp.resolve("cut.safetensors");
        Path metrics = tmp.resolve("cut.metrics.jsonl");
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = new ArrayList<>(List.of(java, "--add-modules", "jdk.incubator.vector", "-cp", System.getProperty("java.class.path"),
                "dev.llamaadapter.cli.Main", "train", "--model", MODEL.toString(), "--data", data.toString(), "--out", cut.toString(),
                "--val-split", "16", "--epochs", "" + epochs, "--warmup-epochs", "1", "--batch-size", "8", "--micro-batch-size", "4",
                "--lr", "2e-2", "--seed", "3", "--save-every", "1", "--quiet"));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(tmp.resolve("cut.log").toFile()).start();
        long deadline = System.nanoTime() + 120_000_000_000L;
        while (p.isAlive() && stepsLogged(metrics) < 15 && System.nanoTime() < deadline) Thread.sleep(5);
        assertThat(p.isAlive()).as("the training process must still be running when killed: " + Files.readString(tmp.resolve("cut.log"))).isTrue();
        p.destroyForcibly().waitFor(); // SIGKILL: no shutdown hooks, no chance to tidy up
        assertThat(cut).doesNotExist();
        assertThat(tmp.resolve("cut.ckpt.safetensors")).exists();

        TrainingJob.run(options(cut, epochs, 1, true), QUIET, TrainEndToEndTest::silent);
        try (BaseModel base = BaseModel.open(MODEL)) {
            var a = AdapterFile.read(whole, base).prompts();
            var b = AdapterFile.read(cut, base).prompts();
            assertThat(b.prompt).containsExactly(a.prompt);
            assertThat(b.gate).containsExactly(a.gate);
        }
    }

    static long stepsLogged(Path metrics) {
        try {
            return Files.exists(metrics) ? Files.readAllLines(metrics).stream().filter(l -> l.contains("\"train\"")).count() : 0;
        } catch (Exception e) {
            return 0;
        }
    }
}

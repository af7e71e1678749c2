package dev.llamaadapter.train;

import dev.llamaadapter.adapter.AdapterFile;
import dev.llamaadapter.model.AdaptionPrompts;
import dev.llamaadapter.model.BaseModel;
import dev.llamaadapter.model.GateActivation;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * --micro-batch-size is a memory knob: on the real stories260K model, with length bucketing on and
 * responses of very different lengths (so micro-batches hold very different numbers of scored tokens),
 * micro-batches of 8, 4, 2 and 1 make the same optimizer steps under the default loss normalisation.
 * --loss-norm micro-mean keeps the official recipe's mean of micro-batch means, which does depend on it.
 */
class MicroBatchInvarianceTest {
    static final Path MODEL = Path.of("../shared/assets/stories260K/hf");
    static final String[] NAMES = {"Lily", "Tom", "Ben", "Mia", "Sam", "Anna", "Max", "Lucy"};
    static final String[] SENTENCES = {"%s went to the park.", "%s saw a big dog.", "The dog was very happy.", "%s played with a red ball.",
            "Then it began to rain.", "%s ran home to mom.", "Mom gave %s a warm hug.", "They ate cake and smiled."};
    /**
     * Observed (2 cores, AVX-512): step losses within 5.2e-7, adapters within 2.2e-6 relative (gates; prompt 1.1e-6),
     * full fine-tuning's weights within 1.3e-7; asserted as issue #22 states them.
     */
    static final double ADAPTER_REL_TOL = 1e-5, LOSS_TOL = 1e-6;

    @TempDir
    static Path tmp;
    static Path data;

    @BeforeAll
    static void makeData() throws Exception {
        assumeTrue(Files.isDirectory(MODEL), "../shared is absent");
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 48; i++) {
            String name = NAMES[i % NAMES.length];
            StringBuilder out = new StringBuilder();
            for (int s = 0; s <= (i * 5) % 8; s++) out.append(s == 0 ? "" : " ").append(String.format(SENTENCES[s], name));
            String input = i % 3 == 0 ? "" : "It is a sunny day.";
            lines.add(String.format("{\"instruction\": \"Tell a story about %s.\", \"input\": \"%s\", \"output\": \"%s\"}", name, input, out));
        }
        data = tmp.resolve("stories.jsonl");
        Files.write(data, lines);
    }

    record Run(AdaptionPrompts adapter, List<Trainer.StepRow> steps, Map<String, String> metadata) {}

    static Run train(int micro, LossNorm norm, boolean full) throws Exception {
        Path out = tmp.resolve("m" + micro + "-" + norm.id() + (full ? "-full" : ".safetensors"));
        var o = new TrainingJob.Options(MODEL, data, out, null, null, "0", full ? 1 : 2, 1, 8, micro, full ? 1e-3 : 2e-2, 9e-3, 0, 0.02, 0,
                10, null, GateActivation.TANH, 512, 3, false, true, null, null, null, null, null, false, 0, full, null, null, null, null, norm);
        TrainingJob.Result r = TrainingJob.run(o, TrainEndToEndTest.QUIET, TrainEndToEndTest::silent);
        if (full) return new Run(null, r.stepRows(), Map.of());
        try (BaseModel base = BaseModel.open(MODEL)) {
            AdapterFile.Adapter a = AdapterFile.read(out, base);
            return new Run(a.prompts(), r.stepRows(), a.metadata());
        }
    }

    /** max |a − b| over max |a|: the difference relative to the tensor's scale. */
    static double relative(float[] a, float[] b) {
        double diff = 0, scale = 0;
        for (int i = 0; i < a.length; i++) {
            diff = Math.max(diff, Math.abs(a[i] - b[i]));
            scale = Math.max(scale, Math.abs(a[i]));
        }
        return diff / scale;
    }

    static double worstLoss(Run a, Run b) {
        assertThat(b.steps()).hasSameSizeAs(a.steps());
        double worst = 0;
        for (int i = 0; i < a.steps().size(); i++) {
            assertThat(b.steps().get(i).tokens()).as("step %d processes the same tokens", i + 1).isEqualTo(a.steps().get(i).tokens());
            worst = Math.max(worst, Math.abs(b.steps().get(i).loss() - a.steps().get(i).loss()));
        }
        return worst;
    }

    @Test
    void microBatchesOf8421MakeTheSameSteps() throws Exception {
        Run whole = train(8, LossNorm.TOKENS, false);
        assertThat(whole.steps()).hasSize(12); // 48 examples, batches of 8, 2 epochs
        assertThat(whole.metadata()).containsEntry("train.loss_norm", "tokens");
        assertThat(whole.adapter().gate).as("the gates moved from zero").isNotEqualTo(new float[whole.adapter().gate.length]);
        for (int micro : new int[]{4, 2, 1}) {
            Run r = train(micro, LossNorm.TOKENS, false);
            double loss = worstLoss(whole, r), prompt = relative(whole.adapter().prompt, r.adapter().prompt),
                    gate = relative(whole.adapter().gate, r.adapter().gate);
            System.out.printf(Locale.ROOT, "tokens, micro-batch %d vs 8: worst step-loss difference %.3g, adapter relative: prompt %.3g, gates %.3g%n",
                    micro, loss, prompt, gate);
            assertThat(loss).as("micro-batch %d: step losses", micro).isLessThanOrEqualTo(LOSS_TOL);
            assertThat(prompt).as("micro-batch %d: prompt", micro).isLessThanOrEqualTo(ADAPTER_REL_TOL);
            assertThat(gate).as("micro-batch %d: gates", micro).isLessThanOrEqualTo(ADAPTER_REL_TOL);
        }
    }

    @Test
    void microMeanKeepsTheOfficialRecipeWhichDependsOnTheMicroBatchSize() throws Exception {
        Run one = train(8, LossNorm.MICRO_MEAN, false), tokens = train(8, LossNorm.TOKENS, false), two = train(2, LossNorm.MICRO_MEAN, false);
        assertThat(one.metadata()).containsEntry("train.loss_norm", "micro-mean");
        // one micro-batch a step: a mean of one mean is the token mean, bit for bit
        assertThat(one.adapter().prompt).containsExactly(tokens.adapter().prompt);
        assertThat(one.adapter().gate).containsExactly(tokens.adapter().gate);
        for (int i = 0; i < one.steps().size(); i++) assertThat(one.steps().get(i).loss()).isEqualTo(tokens.steps().get(i).loss());
        // four micro-batches of unequal scored tokens: each token weighs by its micro-batch, as the official code does
        double loss = worstLoss(one, two), gate = relative(one.adapter().gate, two.adapter().gate);
        System.out.printf(Locale.ROOT, "micro-mean, micro-batch 2 vs 8: worst step-loss difference %.3g, gates relative %.3g%n", loss, gate);
        assertThat(loss).isGreaterThan(1e-3);
        assertThat(gate).isGreaterThan(1e-3);
    }

    @Test
    void fullFineTuningFollowsTheSameNormalisation() throws Exception {
        Run a = train(8, LossNorm.TOKENS, true), b = train(2, LossNorm.TOKENS, true);
        double loss = worstLoss(a, b);
        System.out.printf(Locale.ROOT, "train --full, micro-batch 2 vs 8: worst step-loss difference %.3g%n", loss);
        assertThat(loss).isLessThanOrEqualTo(LOSS_TOL);
        try (BaseModel x = BaseModel.open(tmp.resolve("m8-tokens-full")); BaseModel y = BaseModel.open(tmp.resolve("m2-tokens-full"));
             BaseModel base = BaseModel.open(MODEL)) {
            var ta = new dev.llamaadapter.model.TrainableWeights(x.config(), x.weights()).tensors();
            var tb = new dev.llamaadapter.model.TrainableWeights(y.config(), y.weights()).tensors();
            var t0 = new dev.llamaadapter.model.TrainableWeights(base.config(), base.weights()).tensors();
            double worst = 0, moved = 0;
            for (int i = 0; i < ta.size(); i++) {
                worst = Math.max(worst, relative(ta.get(i).value(), tb.get(i).value()));
                moved = Math.max(moved, relative(t0.get(i).value(), ta.get(i).value()));
            }
            System.out.printf(Locale.ROOT, "train --full, micro-batch 2 vs 8: worst weight difference %.3g relative (training moved them by %.3g)%n", worst, moved);
            assertThat(moved).isGreaterThan(1e-3);
            assertThat(worst).isLessThanOrEqualTo(ADAPTER_REL_TOL);
        }
    }
}

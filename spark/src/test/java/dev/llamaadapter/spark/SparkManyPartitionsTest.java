package dev.llamaadapter.spark;

import dev.llamaadapter.data.Example;
import dev.llamaadapter.model.AdaptionPrompts;
import dev.llamaadapter.model.BaseModel;
import dev.llamaadapter.model.LlamaConfig;
import dev.llamaadapter.train.TrainConfig;
import dev.llamaadapter.train.Trainer;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A step split into 5 partitions (one per micro-batch, 3 task threads), so that treeAggregate combines
 * partials in task-completion order: still the single-process trainer's curve and adapter within the
 * stated tolerance.
 */
class SparkManyPartitionsTest {
    @TempDir
    static Path tmp;

    @Test
    void fivePartitionsPerStepMatchTheSingleProcessTrainer() throws Exception {
        LlamaConfig c = LlamaConfig.of(64, 172, 4, 4, 2, 256, false);
        Path dir = Fixtures.model(tmp.resolve("model"), c, 21);
        List<Example> train = Fixtures.examples(40, c.vocabSize(), 8, 30, 8);
        TrainConfig cfg = Fixtures.config(1, 10, 2, 4, 2, 5); // 20 micro-batches of 2, 5 per step: 4 steps
        try (BaseModel base = BaseModel.open(dir)) {
            List<Trainer.StepRow> a = new ArrayList<>(), b = new ArrayList<>();
            AdaptionPrompts pa = run(base, cfg, train, a, null);
            JavaSparkContext sc = Fixtures.spark(3, 1, 8);
            AdaptionPrompts pb;
            try (SparkStepGradient g = new SparkStepGradient(sc, dir, base.fingerprint(), cfg, train, 30, TaskHook.NONE)) {
                assertThat(g.slots()).isEqualTo(8);
                pb = run(base, cfg, train, b, g);
            } finally {
                sc.stop();
            }
            assertThat(b).hasSize(4).hasSameSizeAs(a);
            for (int i = 0; i < a.size(); i++)
                assertThat(Math.abs(b.get(i).loss() - a.get(i).loss()) / a.get(i).loss()).as("step %d", i + 1).isLessThanOrEqualTo(SparkTrainingTest.LOSS_REL_TOL);
            for (int i = 0; i < pa.prompt.length; i++) assertThat(Math.abs(pb.prompt[i] - pa.prompt[i])).isLessThanOrEqualTo((float) SparkTrainingTest.WEIGHT_TOL);
            for (int i = 0; i < pa.gate.length; i++) assertThat(Math.abs(pb.gate[i] - pa.gate[i])).isLessThanOrEqualTo((float) SparkTrainingTest.WEIGHT_TOL);
        }
    }

    static AdaptionPrompts run(BaseModel base, TrainConfig cfg, List<Example> train, List<Trainer.StepRow> rows, SparkStepGradient g) throws Exception {
        Trainer t = new Trainer(base.transformer(), cfg, train, List.of(), null, base.fingerprint(), rows::add);
        if (g != null) t.withStepGradient(g);
        LlamaConfig c = base.config();
        AdaptionPrompts p = AdaptionPrompts.init(cfg.adapterLen(), cfg.adapterLayers(), c.hiddenSize(), c.numAttentionHeads(), cfg.gateActivation(), cfg.seed());
        t.run(p, false);
        return p;
    }
}

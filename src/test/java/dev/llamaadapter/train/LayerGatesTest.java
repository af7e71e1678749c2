package dev.llamaadapter.train;

import dev.llamaadapter.data.Example;
import dev.llamaadapter.data.MicroBatch;
import dev.llamaadapter.model.AdaptionPrompts;
import dev.llamaadapter.model.GateActivation;
import dev.llamaadapter.model.GateSharing;
import dev.llamaadapter.model.LlamaConfig;
import dev.llamaadapter.model.LlamaWeights;
import dev.llamaadapter.model.Transformer;
import dev.llamaadapter.tensor.DType;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Per-layer gates as the training objective sees them, on random tiny models: the trained param is one
 * value per layer; its gradient is the sum of the per-head gradients the unchanged per-head path gives for
 * the same values (which also gives identical losses), and matches finite differences of the loss in the
 * shared value; micro-batches accumulate; AdamW decays it like the per-head gates, and a step leaves every
 * head of a layer equal.
 */
class LayerGatesTest {
    static final int V = 29, T = 7;

    record Setup(Transformer model, MicroBatch batch, MicroBatch batch2) {}

    static Setup setup(int D, int F, int N, int H, int Hkv) {
        LlamaConfig cfg = LlamaConfig.of(D, F, N, H, Hkv, V, false);
        Transformer model = new Transformer(cfg, LlamaWeights.random(cfg, DType.F32, 11, Arena.ofAuto()));
        Random r = new Random(D + H);
        return new Setup(model, batch(r, 2), batch(r, 2));
    }

    static MicroBatch batch(Random r, int B) {
        List<Example> ex = new ArrayList<>();
        for (int b = 0; b < B; b++) {
            int[] ids = new int[T], labels = new int[T];
            for (int t = 0; t < T; t++) {
                ids[t] = r.nextInt(V);
                labels[t] = t % 3 == 0 ? -100 : r.nextInt(V);
            }
            ex.add(new Example(ids, labels, false, "test " + b));
        }
        return MicroBatch.of(ex, 0);
    }

    /** An adapter with a non-zero gate per layer (so the prompts matter), the same value in each head. */
    static AdaptionPrompts adapter(int K, int L, int D, int H, GateActivation act, GateSharing gates) {
        AdaptionPrompts p = AdaptionPrompts.init(K, L, D, H, act, gates, 3);
        Random r = new Random(K * 31 + L);
        for (int j = 0; j < L; j++) java.util.Arrays.fill(p.gate, j * H, (j + 1) * H, (float) (r.nextGaussian() * 0.6));
        return p;
    }

    static Param gates(Objective o) {
        return o.params().stream().filter(p -> p.name().equals("gates")).findFirst().orElseThrow();
    }

    @ParameterizedTest(name = "H={3} Hkv={4} K={5} L={6} {7}")
    @CsvSource({
            "16, 24, 3, 4, 4, 3, 2, tanh",
            "16, 24, 3, 4, 2, 2, 3, identity",
            "24, 40, 4, 6, 3, 4, 1, tanh",
            "32, 48, 3, 4, 1, 5, 3, identity",
    })
    void theSharedGradientIsTheHeadsSumAndMatchesFiniteDifferences(int D, int F, int N, int H, int Hkv, int K, int L, String act) {
        Setup s = setup(D, F, N, H, Hkv);
        GateActivation a = GateActivation.parse(act);
        AdaptionPrompts shared = adapter(K, L, D, H, a, GateSharing.PER_LAYER), perHead = adapter(K, L, D, H, a, GateSharing.PER_HEAD);
        Objective os = Objective.adapter(s.model(), shared, 2, T), oh = Objective.adapter(s.model(), perHead, 2, T);

        Param g = gates(os), gh = gates(oh);
        assertThat(g.shape()).containsExactly(L, 1, 1, 1, 1);
        assertThat(g.value()).hasSize(L);
        assertThat(gh.value()).hasSize(L * H);
        assertThat(os.params()).extracting(Param::name).containsExactly("adapter_query.weight", "gates");

        double lossShared = os.accumulate(s.batch()), lossPerHead = oh.accumulate(s.batch());
        assertThat(lossShared).as("the per-head path with all heads equal is the same model").isEqualTo(lossPerHead);
        assertThat(os.params().getFirst().grad()).as("prompt gradient").containsExactly(oh.params().getFirst().grad());
        for (int j = 0; j < L; j++) {
            double sum = 0;
            for (int h = 0; h < H; h++) sum += gh.grad()[j * H + h];
            assertThat(g.grad()[j]).as("layer %d: the per-head gradients' sum", j).isEqualTo((float) sum);
        }

        // finite differences in the ONE shared value (all heads move together)
        java.util.function.DoubleSupplier loss = () -> {
            os.paramsChanged();
            return os.loss(s.batch());
        };
        double gMax = 0;
        for (float v : g.grad()) gMax = Math.max(gMax, Math.abs(v));
        assertThat(gMax).isGreaterThan(1e-4);
        float eps = 2e-3f;
        for (int j = 0; j < L; j++) {
            float old = g.value()[j];
            g.value()[j] = old + eps;
            double up = loss.getAsDouble();
            g.value()[j] = old - eps;
            double down = loss.getAsDouble();
            g.value()[j] = old;
            os.paramsChanged();
            assertThat((up - down) / (2 * eps)).as("layer %d", j).isCloseTo(g.grad()[j], Offset.offset(2e-3 * gMax + 2e-4));
        }
    }

    @Test
    void microBatchesAccumulateIntoTheSharedGradient() {
        Setup s = setup(16, 24, 3, 4, 2);
        AdaptionPrompts p = adapter(3, 2, 16, 4, GateActivation.TANH, GateSharing.PER_LAYER);
        Objective o = Objective.adapter(s.model(), p, 2, T);
        float[] g = gates(o).grad();
        o.accumulate(s.batch());
        float[] first = g.clone();
        java.util.Arrays.fill(g, 0f);
        o.accumulate(s.batch2());
        float[] second = g.clone();
        java.util.Arrays.fill(g, 0f);
        o.accumulate(s.batch());
        o.accumulate(s.batch2());
        for (int j = 0; j < 2; j++) assertThat(g[j]).isCloseTo(first[j] + second[j], Offset.offset(1e-6f * (Math.abs(first[j]) + Math.abs(second[j]))));
    }

    @Test
    void adamWDecaysTheSharedGateAndAStepLeavesEveryHeadEqual() throws Exception {
        assertThat(Param.decays("gates", new long[]{3})).as("PEFT's [1]-per-layer shape still decays").isTrue();
        assertThat(Param.decays("gates", new long[]{2, 1, 4, 1, 1})).isTrue();
        Setup s = setup(16, 24, 3, 4, 2);
        AdaptionPrompts p = adapter(3, 2, 16, 4, GateActivation.TANH, GateSharing.PER_LAYER);
        Objective o = Objective.adapter(s.model(), p, 2, T);
        Param g = gates(o);
        assertThat(g.decay()).isTrue();

        // decay alone (zero gradient): the value shrinks by lr·wd, in every head
        AdamW adam = new AdamW(o.params(), 0.9, 0.95, 1e-8, 0.5);
        float before = g.value()[1];
        adam.update(0.1);
        o.paramsChanged();
        assertThat(g.value()[1]).isEqualTo(before * (float) (1 - 0.1 * 0.5));
        for (int h = 0; h < 4; h++) assertThat(p.gate[4 + h]).isEqualTo(g.value()[1]);

        // a real step through the trainer's loop: the heads stay equal to the param
        o.accumulate(s.batch());
        adam.update(0.05);
        o.paramsChanged();
        assertThat(p.firstLayerWithUnequalHeads()).isEqualTo(-1);
        for (int j = 0; j < 2; j++) assertThat(p.gate[j * 4]).isEqualTo(g.value()[j]);
    }

    @Test
    void theMultimodalObjectiveSharesTheGatesTheSameWay() {
        Setup s = setup(16, 24, 3, 4, 2);
        var visual = dev.llamaadapter.model.VisualProjection.init(new int[]{1, 2}, 12, 16, 5);
        List<float[]> feats = new ArrayList<>();
        Random r = new Random(9);
        for (int i = 0; i < 2; i++) {
            float[] f = new float[12]; // [M·Cv] one example's CLIP features
            for (int k = 0; k < f.length; k++) f[k] = (float) r.nextGaussian();
            feats.add(f);
        }
        AdaptionPrompts shared = adapter(3, 2, 16, 4, GateActivation.TANH, GateSharing.PER_LAYER).withVisual(visual);
        AdaptionPrompts perHead = adapter(3, 2, 16, 4, GateActivation.TANH, GateSharing.PER_HEAD).withVisual(visual);
        Objective os = new MultimodalObjective(s.model(), shared, 2, T, feats, List.of());
        Objective oh = new MultimodalObjective(s.model(), perHead, 2, T, feats, List.of());
        assertThat(gates(os).shape()).containsExactly(2, 1, 1, 1, 1);
        assertThat(os.describe()).isEqualTo(" gates=per-layer");
        assertThat(os.accumulate(s.batch(), new int[]{0, 1})).isEqualTo(oh.accumulate(s.batch(), new int[]{0, 1}));
        for (int j = 0; j < 2; j++) {
            double sum = 0;
            for (int h = 0; h < 4; h++) sum += gates(oh).grad()[j * 4 + h];
            assertThat(gates(os).grad()[j]).isEqualTo((float) sum);
        }
        gates(os).value()[1] = 0.3f;
        os.paramsChanged();
        for (int h = 0; h < 4; h++) assertThat(shared.gate[4 + h]).isEqualTo(0.3f);
    }

    @Test
    void anAdapterWhoseHeadsDifferCannotTrainPerLayer() {
        Setup s = setup(16, 24, 3, 4, 2);
        AdaptionPrompts p = adapter(3, 2, 16, 4, GateActivation.TANH, GateSharing.PER_LAYER);
        p.gate[5] += 0.25f;
        assertThatThrownBy(() -> Objective.adapter(s.model(), p, 2, T)).hasMessageContaining("adapted layer 1").hasMessageContaining("per head");
    }

    @Test
    void perLayerParamsCountOneGatePerLayerAndEnterTheRunsIdentity() {
        Setup s = setup(16, 24, 3, 4, 2);
        AdaptionPrompts shared = adapter(3, 2, 16, 4, GateActivation.TANH, GateSharing.PER_LAYER);
        assertThat(shared.parameterCount()).isEqualTo(3L * 2 * 16 + 2);
        assertThat(adapter(3, 2, 16, 4, GateActivation.TANH, GateSharing.PER_HEAD).parameterCount()).isEqualTo(3L * 2 * 16 + 2 * 4);
        assertThat(Objective.adapter(s.model(), shared, 2, T).describe()).isEqualTo(" gates=per-layer");
        assertThat(Objective.adapter(s.model(), adapter(3, 2, 16, 4, GateActivation.TANH, GateSharing.PER_HEAD), 2, T).describe())
                .as("per-head runs keep their checkpoints' identity").isEmpty();
    }
}

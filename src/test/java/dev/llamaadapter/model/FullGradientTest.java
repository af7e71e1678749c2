package dev.llamaadapter.model;

import dev.llamaadapter.tensor.DType;
import org.assertj.core.data.Offset;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.foreign.Arena;
import java.util.Random;
import java.util.function.DoubleSupplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Finite-difference check of full fine-tuning's weight gradients: for every tensor of a random tiny model
 * (embedding, each norm, each projection, head; tied and untied; GQA and not), sampled elements by central
 * differences and the whole tensor along a random direction.
 */
class FullGradientTest {

    @ParameterizedTest(name = "D={0} N={2} H={3} Hkv={4} tied={5} T={6}")
    @CsvSource({
            // D, F, N, H, Hkv, tied, T (from 32: tiled attention)
            "16, 24, 2, 4, 2, false, 7",
            "32, 40, 3, 4, 4, true, 7",
            "24, 36, 2, 6, 3, false, 7",
            "16, 24, 2, 4, 2, false, 40",
    })
    void everyWeightGradientMatchesFiniteDifferences(int D, int F, int N, int H, int Hkv, boolean tied, int T) {
        check(LlamaConfig.of(D, F, N, H, Hkv, 29, tied), T);
    }

    /**
     * The families' weights (spec §7) under full fine-tuning: biases (q/k/v, o, MLP), per-head q/k norms,
     * gemma2's post-norms, (1+w) norms, GeGLU, scaled embeddings and softcaps, with rope scaling, partial
     * rotary, explicit head_dim and windows shaping the gradients that reach them.
     */
    @ParameterizedTest(name = "{0} T={1}")
    @CsvSource({"llama3-bias, 7", "mistral, 40", "qwen2, 7", "qwen3, 7", "phi3, 7", "gemma2, 7", "gemma2, 40"})
    void familyWeightGradientsMatchFiniteDifferences(String family, int T) {
        LlamaConfig base = LlamaConfig.of(16, 24, 2, 4, 2, 29, false);
        double s12 = 1 / Math.sqrt(12), s8 = 1 / Math.sqrt(8), s4 = 1 / Math.sqrt(4);
        Architecture a = switch (family) {
            case "llama3-bias" -> new Architecture(Family.LLAMA, 12, RopeScaling.llama3(8, 1, 4, 16), 12, true, true, true, 0, s12, 0, 0);
            case "mistral" -> new Architecture(Family.MISTRAL, 4, RopeScaling.NONE, 4, false, false, false, 5, s4, 0, 0);
            case "qwen2" -> new Architecture(Family.QWEN2, 4, RopeScaling.NONE, 4, true, false, false, 0, s4, 0, 0);
            case "qwen3" -> new Architecture(Family.QWEN3, 8, RopeScaling.NONE, 8, false, false, false, 0, s8, 0, 0);
            case "phi3" -> new Architecture(Family.PHI3, 8, RopeScaling.linear(2), 4, false, false, false, 0, s8, 0, 0);
            case "gemma2" -> new Architecture(Family.GEMMA2, 8, RopeScaling.NONE, 8, false, false, false, 3, 0.3, 5, 3);
            default -> throw new IllegalArgumentException(family);
        };
        check(base.withArch(a), T);
    }

    private void check(LlamaConfig cfg, int T) {
        int V = cfg.vocabSize(), D = cfg.hiddenSize(), N = cfg.numHiddenLayers();
        boolean tied = cfg.tieWordEmbeddings();
        TrainableWeights tw = new TrainableWeights(cfg, LlamaWeights.random(cfg, DType.F32, 5, Arena.ofAuto()));
        Transformer model = new Transformer(cfg, tw.weights);
        Random r = new Random(D * 31 + N);
        int B = 2;
        int[] ids = new int[B * T], labels = new int[B * T];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = r.nextInt(V);
            labels[i] = i % 5 == 2 ? -100 : r.nextInt(V);
        }
        Activations a = model.activationsFull(B, T);
        model.forward(a, ids, null);
        model.backwardFull(a, labels, tw.grads);

        Activations eval = model.activations(B, T, null, false, false);
        DoubleSupplier loss = () -> model.evalLoss(eval, ids, labels, null);
        LlamaWeights.Extras x0 = tw.weights.layers()[0].x();
        int extras = 0;
        for (Object o : new Object[]{x0.bq(), x0.bk(), x0.bv(), x0.bo(), x0.qNorm(), x0.kNorm(), x0.postAttnNorm(), x0.postMlpNorm(),
                x0.bGate(), x0.bUp(), x0.bDown()})
            if (o != null) extras++;
        assertThat(tw.tensors()).hasSize(2 + (9 + extras) * N + (tied ? 0 : 1));
        for (TrainableWeights.Tensor t : tw.tensors()) {
            float[] x = t.value(), g = t.grad();
            double gMax = 0;
            for (float v : g) gMax = Math.max(gMax, Math.abs(v));
            assertThat(gMax).as("%s has a gradient", t.name()).isGreaterThan(1e-5);
            Offset<Double> tol = Offset.offset(3e-3 * gMax + 3e-4);
            // the largest entry and a few random ones
            int big = 0;
            for (int i = 0; i < g.length; i++) if (Math.abs(g[i]) > Math.abs(g[big])) big = i;
            assertThat(FiniteDifferences.central(x, big, 2e-3f, loss)).as("%s[%d]", t.name(), big).isCloseTo(g[big], tol);
            for (int n = 0; n < 6; n++) {
                int i = r.nextInt(x.length);
                assertThat(FiniteDifferences.central(x, i, 2e-3f, loss)).as("%s[%d]", t.name(), i).isCloseTo(g[i], tol);
            }
            // directional derivative over the whole tensor
            float[] dir = new float[x.length], saved = x.clone();
            double gDotDir = 0;
            for (int i = 0; i < x.length; i++) {
                dir[i] = (float) r.nextGaussian();
                gDotDir += dir[i] * g[i];
            }
            float step = 1e-3f;
            for (int i = 0; i < x.length; i++) x[i] = saved[i] + step * dir[i];
            double up = loss.getAsDouble();
            for (int i = 0; i < x.length; i++) x[i] = saved[i] - step * dir[i];
            double down = loss.getAsDouble();
            System.arraycopy(saved, 0, x, 0, x.length);
            assertThat((up - down) / (2 * step)).as("%s along a random direction", t.name())
                    .isCloseTo(gDotDir, Offset.offset(2e-2 * Math.abs(gDotDir) + 2e-3));
        }
    }
}

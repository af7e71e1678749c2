package dev.llamaadapter.model;

import dev.llamaadapter.tensor.DType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.foreign.Arena;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Finite-difference check of the whole hand-written backward on random tiny models: every gate and a
 * sample of prompt elements, plus a directional derivative over all prompt elements at once.
 */
class TransformerGradientTest {

    @ParameterizedTest(name = "H={3} Hkv={4} K={5} L={6} {7} recompute={8} T={9}")
    @CsvSource({
            // D, F, N, H, Hkv, K, L, act, recompute (activation recomputation in the backward), T (from 32: tiled attention)
            "16, 24, 3, 4, 4, 3, 2, tanh, false, 6",
            "16, 24, 3, 4, 2, 1, 3, identity, false, 6",
            "24, 40, 4, 6, 3, 4, 1, tanh, false, 6",
            "16, 20, 2, 2, 1, 2, 2, identity, false, 6",
            "32, 48, 3, 4, 1, 5, 3, tanh, false, 6",
            "16, 24, 3, 4, 2, 3, 2, tanh, true, 6",
            "32, 48, 3, 4, 1, 5, 3, tanh, true, 6",
            "16, 24, 3, 4, 2, 3, 2, tanh, false, 70",
            "32, 48, 3, 4, 1, 5, 3, identity, true, 70",
    })
    void backwardMatchesFiniteDifferences(int D, int F, int N, int H, int Hkv, int K, int L, String act, boolean recompute, int T) {
        LlamaConfig cfg = LlamaConfig.of(D, F, N, H, Hkv, 29, false);
        LlamaWeights w = LlamaWeights.random(cfg, DType.F32, 11, Arena.ofAuto());
        Transformer model = new Transformer(cfg, w);
        AdaptionPrompts p = AdaptionPrompts.init(K, L, D, H, GateActivation.parse(act), 3);
        Random r = new Random(D * 7 + K);
        for (int i = 0; i < p.gate.length; i++) p.gate[i] = (float) (r.nextGaussian() * 0.6); // non-zero: prompts get a gradient
        int B = 2;
        int[] ids = new int[B * T], labels = new int[B * T];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = r.nextInt(29);
            labels[i] = i % 4 == 1 ? -100 : r.nextInt(29);
        }
        Activations a = model.activations(B, T, p, true, false, recompute);
        AdaptionPrompts grad = p.zerosLike();
        model.forward(a, ids, p);
        model.backward(a, labels, p, grad);

        Activations eval = model.activations(B, T, p, true, false, recompute);
        java.util.function.DoubleSupplier loss = () -> {
            model.forward(eval, ids, p);
            return model.backward(eval, labels, p, p.zerosLike());
        };
        float eps = 2e-3f;
        double gMax = 0;
        for (float g : grad.gate) gMax = Math.max(gMax, Math.abs(g));
        for (float g : grad.prompt) gMax = Math.max(gMax, Math.abs(g));
        assertThat(gMax).isGreaterThan(1e-4);
        for (int i = 0; i < p.gate.length; i++)
            assertThat(FiniteDifferences.central(p.gate, i, eps, loss)).as("gate %d", i).isCloseTo(grad.gate[i], org.assertj.core.data.Offset.offset(2e-3 * gMax + 2e-4));
        for (int n = 0; n < 24; n++) {
            int i = r.nextInt(p.prompt.length);
            assertThat(FiniteDifferences.central(p.prompt, i, eps, loss)).as("prompt %d", i).isCloseTo(grad.prompt[i], org.assertj.core.data.Offset.offset(2e-3 * gMax + 2e-4));
        }
        // directional derivative along a random direction over all prompt elements
        float[] dir = new float[p.prompt.length];
        double gDotDir = 0;
        for (int i = 0; i < dir.length; i++) {
            dir[i] = (float) r.nextGaussian();
            gDotDir += dir[i] * grad.prompt[i];
        }
        float[] saved = p.prompt.clone();
        float step = 1e-3f;
        for (int i = 0; i < dir.length; i++) p.prompt[i] = saved[i] + step * dir[i];
        double up = loss.getAsDouble();
        for (int i = 0; i < dir.length; i++) p.prompt[i] = saved[i] - step * dir[i];
        double down = loss.getAsDouble();
        System.arraycopy(saved, 0, p.prompt, 0, dir.length);
        double fd = (up - down) / (2 * step);
        assertThat(fd).isCloseTo(gDotDir, org.assertj.core.data.Offset.offset(2e-2 * Math.abs(gDotDir) + 1e-3));
    }
}

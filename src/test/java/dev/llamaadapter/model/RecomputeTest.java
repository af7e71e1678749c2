package dev.llamaadapter.model;

import dev.llamaadapter.tensor.DType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.foreign.Arena;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Activation recomputation changes what is kept, not what is computed: the layer's forward runs again with
 * the same kernels on the same input, so loss and every gradient equal the stored path bit for bit.
 */
class RecomputeTest {

    @ParameterizedTest(name = "D={0} N={2} H={3}/{4} K={5} L={6} visual={7} T={8}")
    @CsvSource({
            // D, F, N, H, Hkv, K, L, visual, T (from 32: tiled attention)
            "16, 24, 3, 4, 2, 3, 2, false, 7",
            "32, 48, 4, 4, 1, 5, 4, false, 7",
            "24, 40, 3, 6, 3, 4, 3, true, 7",
            "32, 48, 4, 4, 1, 5, 4, false, 70",
            "24, 40, 3, 6, 3, 4, 3, true, 66",
    })
    void adapterGradientsAreBitwiseTheStoredOnes(int D, int F, int N, int H, int Hkv, int K, int L, boolean visual, int T) {
        LlamaConfig cfg = LlamaConfig.of(D, F, N, H, Hkv, 31, false);
        Transformer model = new Transformer(cfg, LlamaWeights.random(cfg, DType.F32, 17, Arena.ofAuto()));
        Random r = new Random(D + N);
        AdaptionPrompts p = AdaptionPrompts.init(K, L, D, H, GateActivation.TANH, 5);
        if (visual) p = p.withVisual(VisualProjection.init(new int[]{1}, 4, D, 6));
        for (int i = 0; i < p.gate.length; i++) p.gate[i] = (float) (r.nextGaussian() * 0.7);
        int B = 3;
        int[] ids = new int[B * T], labels = new int[B * T];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = r.nextInt(31);
            labels[i] = i % 3 == 0 ? -100 : r.nextInt(31);
        }
        float[] tokens = null;
        if (visual) {
            tokens = new float[B * D]; // [B, D] visual tokens, one sample without (zero row)
            for (int i = D; i < tokens.length; i++) tokens[i] = (float) r.nextGaussian();
        }
        AdaptionPrompts stored = p.zerosLike(), recomputed = p.zerosLike();
        Activations a = model.activations(B, T, p, true, false, false);
        Activations b = model.activations(B, T, p, true, false, true);
        model.forward(a, ids, p, tokens);
        float lossA = model.backward(a, labels, p, stored);
        model.forward(b, ids, p, tokens);
        float lossB = model.backward(b, labels, p, recomputed);
        assertThat(lossB).isEqualTo(lossA);
        assertThat(recomputed.gate).containsExactly(stored.gate);
        assertThat(recomputed.prompt).containsExactly(stored.prompt);
        if (visual) assertThat(b.dVisual).containsExactly(a.dVisual);
        assertThat(Activations.keptBytes(cfg, B, T, K, L, false, visual, true))
                .isLessThan(Activations.keptBytes(cfg, B, T, K, L, false, visual, false));
    }

    @ParameterizedTest(name = "D={0} N={2} T={5}")
    @CsvSource({"16, 24, 3, 4, 2, 6", "24, 36, 2, 6, 3, 6", "16, 24, 3, 4, 2, 67"})
    void fullFineTuningGradientsAreBitwiseTheStoredOnes(int D, int F, int N, int H, int Hkv, int T) {
        LlamaConfig cfg = LlamaConfig.of(D, F, N, H, Hkv, 29, false);
        LlamaWeights w = LlamaWeights.random(cfg, DType.F32, 5, Arena.ofAuto());
        TrainableWeights stored = new TrainableWeights(cfg, w), recomputed = new TrainableWeights(cfg, w);
        Transformer model = new Transformer(cfg, stored.weights);
        Random r = new Random(D);
        int B = 2;
        int[] ids = new int[B * T], labels = new int[B * T];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = r.nextInt(29);
            labels[i] = r.nextInt(29);
        }
        Activations a = model.activationsFull(B, T, false), b = model.activationsFull(B, T, true);
        model.forward(a, ids, null);
        float lossA = model.backwardFull(a, labels, stored.grads);
        model.forward(b, ids, null);
        float lossB = model.backwardFull(b, labels, recomputed.grads);
        assertThat(lossB).isEqualTo(lossA);
        var ta = stored.tensors();
        var tb = recomputed.tensors();
        for (int t = 0; t < ta.size(); t++) assertThat(tb.get(t).grad()).as(ta.get(t).name()).containsExactly(ta.get(t).grad());
    }
}

package dev.llamaadapter.model;

import dev.llamaadapter.tensor.DType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.foreign.Arena;
import java.util.Random;
import java.util.function.DoubleSupplier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * Finite differences through the whole multimodal step: features → visual_proj → visual_norm → I_p added
 * to every prompt row → loss. Checks visual_proj.weight/bias, visual_norm.weight/bias, the prompt and the
 * gates, with one sample of the batch without an image (it must give the projection no gradient).
 */
class VisualGradientTest {

    @ParameterizedTest(name = "H={3} Hkv={4} K={5} L={6}")
    @CsvSource({
            // D, F, N, H, Hkv, K, L
            "16, 24, 3, 4, 4, 3, 2",
            "16, 24, 3, 4, 2, 2, 3",
    })
    void projectionGradientMatchesFiniteDifferences(int D, int F, int N, int H, int Hkv, int K, int L) {
        LlamaConfig cfg = LlamaConfig.of(D, F, N, H, Hkv, 29, false);
        Transformer model = new Transformer(cfg, LlamaWeights.random(cfg, DType.F32, 11, Arena.ofAuto()));
        Random r = new Random(D + K);
        int Cv = 6, B = 3, T = 5;
        VisualProjection vp = VisualProjection.init(new int[]{1, 2}, 2 * Cv, D, 5);
        for (int i = 0; i < D; i++) {
            vp.normWeight[i] += (float) (r.nextGaussian() * 0.3);
            vp.normBias[i] = (float) (r.nextGaussian() * 0.3);
        }
        AdaptionPrompts p = AdaptionPrompts.init(K, L, D, H, GateActivation.TANH, 3).withVisual(vp);
        for (int i = 0; i < p.gate.length; i++) p.gate[i] = (float) (r.nextGaussian() * 0.8);
        float[] feats = new float[B * 2 * Cv];
        for (int i = 0; i < feats.length; i++) feats[i] = (float) r.nextGaussian();
        boolean[] has = {true, false, true};
        int[] ids = new int[B * T], labels = new int[B * T];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = r.nextInt(29);
            labels[i] = i % 4 == 1 ? -100 : r.nextInt(29);
        }
        AdaptionPrompts grad = p.zerosLike();
        DoubleSupplier loss = () -> step(model, p, feats, has, B, T, ids, labels, p.zerosLike());
        step(model, p, feats, has, B, T, ids, labels, grad);

        double gMax = 0;
        for (float g : grad.visual.weight) gMax = Math.max(gMax, Math.abs(g));
        assertThat(gMax).as("the projection gets a gradient").isGreaterThan(1e-4);
        float eps = 2e-3f;
        VisualProjection v = p.visual, gv = grad.visual;
        float[][][] pairs = {{v.weight, gv.weight}, {v.bias, gv.bias}, {v.normWeight, gv.normWeight}, {v.normBias, gv.normBias},
                {p.prompt, grad.prompt}, {p.gate, grad.gate}};
        String[] names = {"visual_proj.weight", "visual_proj.bias", "visual_norm.weight", "visual_norm.bias", "prompt", "gate"};
        for (int t = 0; t < pairs.length; t++) {
            float[] val = pairs[t][0], g = pairs[t][1];
            double scale = 0;
            for (float x : g) scale = Math.max(scale, Math.abs(x));
            for (int n = 0; n < 12; n++) {
                int i = r.nextInt(val.length);
                assertThat(FiniteDifferences.central(val, i, eps, loss)).as("%s[%d]", names[t], i).isCloseTo(g[i], within(3e-3 * scale + 2e-4));
            }
        }

        // a sample without an image contributes nothing to the projection: all samples imageless → zero gradient
        AdaptionPrompts none = p.zerosLike();
        step(model, p, feats, new boolean[]{false, false, false}, B, T, ids, labels, none);
        for (float g : none.visual.weight) assertThat(g).isZero();
    }

    /** One multimodal step; returns the loss and adds gradients into grad. */
    static float step(Transformer model, AdaptionPrompts p, float[] feats, boolean[] has, int B, int T, int[] ids, int[] labels, AdaptionPrompts grad) {
        int D = p.dim;
        VisualProjection.Saved s = new VisualProjection.Saved(B, D);
        float[] tokens = new float[B * D];
        p.visual.forward(feats, has, B, tokens, s);
        Activations a = model.activations(B, T, p, true, false);
        model.forward(a, ids, p, tokens);
        float loss = model.backward(a, labels, p, grad);
        p.visual.backward(feats, has, B, a.dVisual, s, grad.visual);
        return loss;
    }
}

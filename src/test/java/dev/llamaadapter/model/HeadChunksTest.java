package dev.llamaadapter.model;

import dev.llamaadapter.tensor.DType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.Arena;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.offset;

/**
 * Training runs the output head on the scored rows only, in chunks (no [M, V] buffer): loss and every
 * adapter gradient equal those of the whole-logits path (dump-step's) and of validation's evalLoss, with
 * rows masked across chunk boundaries, and through gemma2's final softcap.
 */
class HeadChunksTest {

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void chunkedHeadEqualsTheWholeLogitsPath(boolean softcap) {
        LlamaConfig base = LlamaConfig.of(32, 48, 2, 4, 2, 301, false);
        LlamaConfig cfg = softcap ? base.withArch(new Architecture(Family.GEMMA2, 8, RopeScaling.NONE, 8, false, false, false, 0, 0.35, 0, 2.5))
                : base;
        Transformer t = new Transformer(cfg, LlamaWeights.random(cfg, DType.F32, 3, Arena.ofAuto()));
        AdaptionPrompts p = AdaptionPrompts.init(3, 2, 32, 4, GateActivation.TANH, 2);
        java.util.Arrays.fill(p.gate, 0.4f);
        int B = 2, T = 90, M = B * T; // 180 rows: three chunks of 64, some wholly masked
        Random r = new Random(5);
        int[] ids = new int[M], labels = new int[M];
        for (int i = 0; i < M; i++) {
            ids[i] = r.nextInt(301);
            labels[i] = (i % T) < 40 || (i > 100 && i < 170) ? -100 : r.nextInt(301);
        }
        Activations whole = t.activations(B, T, p, true, true), chunked = t.activations(B, T, p, true, false);
        AdaptionPrompts gw = p.zerosLike(), gc = p.zerosLike();
        assertThat(t.forward(whole, ids, p)).isNotNull();
        float lw = t.backward(whole, labels, p, gw);
        assertThat(t.forward(chunked, ids, p)).isNull();
        float lc = t.backward(chunked, labels, p, gc);
        assertThat(chunked.logits()).as("no [M, V] buffer in training").isNull();
        assertThat(lc).isCloseTo(lw, offset(1e-6f * Math.abs(lw)));
        assertThat(KvCacheTest.relErr(gc.prompt, 0, gw.prompt, 0, gw.prompt.length)).isLessThan(1e-6);
        assertThat(KvCacheTest.relErr(gc.gate, 0, gw.gate, 0, gw.gate.length)).isLessThan(1e-6);
        Activations eval = t.activations(B, T, p, false, false);
        assertThat(t.evalLoss(eval, ids, labels, p)).isCloseTo(lw, offset(1e-6f * Math.abs(lw)));
        assertThat(eval.logits()).as("validation needs no [M, V] buffer either").isNull();
    }
}

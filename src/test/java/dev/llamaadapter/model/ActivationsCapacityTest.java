package dev.llamaadapter.model;

import dev.llamaadapter.tensor.Attention;
import dev.llamaadapter.tensor.DType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.lang.foreign.Arena;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Buffers are sized once for a capacity [maxB, maxT] and reused for smaller batches, while the attention's
 * saved state changes form at {@link Attention#TILED_MIN_T} (probabilities [B, H, T, T] below, lse and the
 * token output above): a batch on either side of it, in buffers sized for the other, trains exactly as in
 * buffers of its own size, and the bytes reported are the bytes held.
 */
class ActivationsCapacityTest {

    @ParameterizedTest(name = "capacity T={0}, batch T={1}, recompute={2}")
    @CsvSource({"80, 20, false", "80, 50, false", "40, 31, true", "31, 12, false", "200, 130, true"})
    void aSmallerBatchInLargerBuffersGetsTheSameGradients(int maxT, int T, boolean recompute) {
        int D = 16, F = 24, N = 3, H = 4, Hkv = 2, K = 3, L = 2, V = 29, B = 2;
        LlamaConfig cfg = LlamaConfig.of(D, F, N, H, Hkv, V, false);
        Transformer model = new Transformer(cfg, LlamaWeights.random(cfg, DType.F32, 7, Arena.ofAuto()));
        AdaptionPrompts p = AdaptionPrompts.init(K, L, D, H, GateActivation.TANH, 3);
        Random r = new Random(maxT * 100 + T);
        for (int i = 0; i < p.gate.length; i++) p.gate[i] = (float) (r.nextGaussian() * 0.6);
        int[] ids = new int[B * T], labels = new int[B * T];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = r.nextInt(V);
            labels[i] = r.nextInt(V);
        }
        Activations own = model.activations(B, T, p, true, false, recompute);
        Activations big = model.activations(B, maxT, p, true, false, recompute).reshape(B, T);
        AdaptionPrompts gOwn = p.zerosLike(), gBig = p.zerosLike();
        model.forward(own, ids, p);
        float lossOwn = model.backward(own, labels, p, gOwn);
        model.forward(big, ids, p);
        float lossBig = model.backward(big, labels, p, gBig);
        assertThat(lossBig).isEqualTo(lossOwn);
        assertThat(gBig.gate).containsExactly(gOwn.gate);
        assertThat(gBig.prompt).containsExactly(gOwn.prompt);
        // what bench reports is what is held: the kept blocks' bytes are counted by bytes() too
        long kept = Activations.keptBytes(cfg, B, maxT, K, L, false, false, recompute);
        Activations none = model.activations(B, maxT, p, false, false, false);
        assertThat(big.bytes()).isGreaterThanOrEqualTo(kept);
        assertThat(none.bytes()).isLessThan(big.bytes());
    }

    @ParameterizedTest(name = "T={0}")
    @CsvSource({"16", "31", "32", "64", "1024"})
    void theTokenBranchKeepsOrderTPerRowFromTheTiledThreshold(int T) {
        int B = 2, H = 32, hd = 64;
        long kept = Attention.savedFloats(B, T, H, hd);
        if (T < Attention.TILED_MIN_T) assertThat(kept).isEqualTo((long) B * H * T * T);
        else assertThat(kept).isEqualTo((long) B * H * T + (long) B * T * H * hd); // lse, then the token output
        assertThat(Attention.savedFloatsCapacity(B, T, H, hd)).isGreaterThanOrEqualTo(kept);
        for (int t = 1; t <= T; t += 7) assertThat(Attention.savedFloatsCapacity(B, T, H, hd)).isGreaterThanOrEqualTo(Attention.savedFloats(B, t, H, hd));
    }
}

package dev.llamaadapter.model;

import dev.llamaadapter.adapter.AdapterFile;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Every family of spec §7 decodes through the KV cache (prompt processing, then one token at a time) to the
 * training forward's logits at every position, with the case's adapter: biases, q/k norms, rope scaling,
 * windows, softcaps and post-norms all live in both paths. 40 positions: past every case's window and into
 * the tiled attention. Tolerance 1e-5 relative (L2), as {@link KvCacheTest}.
 */
class FamiliesKvCacheTest {
    static final Path FAMILIES = Path.of("../shared/parity/families");

    @ParameterizedTest
    @ValueSource(strings = {"llama3-rope", "llama-linear-rope", "llama-headdim-bias", "mistral-window", "qwen2", "qwen3", "phi3", "gemma2"})
    void cachedDecodingEqualsTheFullForward(String name) throws Exception {
        Path c = FAMILIES.resolve(name);
        assumeTrue(Files.isDirectory(c), "../shared absent");
        try (BaseModel base = BaseModel.open(c.resolve("model"))) {
            Transformer t = base.transformer();
            AdaptionPrompts p = AdapterFile.read(c.resolve("adapter.safetensors"), base.config()).prompts();
            int T = 40, V = base.config().vocabSize();
            Random r = new Random(name.hashCode());
            int[] ids = new int[T];
            for (int i = 0; i < T; i++) ids[i] = r.nextInt(V);
            float[] full = t.forward(t.activations(1, T, p, false, false), ids, p).clone();

            KvCache cache = new KvCache(base.config(), 1, T);
            PreparedPrompts pp = t.prepare(p);
            Transformer.Scratch s = new Transformer.Scratch();
            float[] logits = new float[T * V];
            int pre = 9;
            int[] slot = new int[pre], pos = new int[pre], rows = new int[pre];
            PreparedPrompts[] pr = new PreparedPrompts[pre];
            for (int m = 0; m < pre; m++) {
                pos[m] = m; rows[m] = m; pr[m] = pp;
            }
            t.forwardCached(cache, pre, java.util.Arrays.copyOf(ids, pre), slot, pos, pr, rows, logits, s);
            float[] one = new float[V];
            for (int m = pre; m < T; m++) {
                t.forwardCached(cache, 1, new int[]{ids[m]}, new int[]{0}, new int[]{m}, new PreparedPrompts[]{pp}, new int[]{0}, one, s);
                System.arraycopy(one, 0, logits, m * V, V);
            }
            for (int m = 0; m < T; m++)
                assertThat(KvCacheTest.relErr(logits, m * V, full, m * V, V)).as("%s position %d", name, m).isLessThan(1e-5);
        }
    }
}

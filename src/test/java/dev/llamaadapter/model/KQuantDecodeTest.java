package dev.llamaadapter.model;

import dev.llamaadapter.tensor.DType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Decoding from the llama-quantize files of ../shared/parity/gguf (skipped when absent): one token at a time
 * the products take the streaming row-dot form (each format's dot), the parity cases' batches the tiled
 * ones (its dequantize); both must give the same logits, within 1e-5 relative, at every position.
 */
class KQuantDecodeTest {

    @ParameterizedTest
    @ValueSource(strings = {"Q4_K_M", "Q6_K", "Q4_0"})
    void oneTokenAtATimeEqualsTheFullForward(String name) throws Exception {
        Path file = Path.of("../shared/parity/gguf", name, "model.gguf");
        assumeTrue(Files.isRegularFile(file), "../shared absent");
        decode(name, file, name.equals("Q4_0") ? "Q4_0" : "Q6_K");
    }

    /** The same on this repository's cases of the other formats (src/test/resources/parity/gguf), each holding its type. */
    @ParameterizedTest
    @ValueSource(strings = {"Q2_K", "Q3_K", "IQ4_XS", "IQ4_NL", "Q4_1", "Q5_0", "Q5_1"})
    void oneTokenAtATimeEqualsTheFullForwardOnEachFormat(String name) throws Exception {
        decode(name, Path.of("src/test/resources/parity/gguf", name, "model.gguf"), name);
    }

    static void decode(String name, Path file, String holds) throws Exception {
        try (BaseModel base = BaseModel.open(file)) {
            assertThat(base.dtypes()).contains(holds);
            if (name.equals("Q4_K_M")) assertThat(base.dtypes()).contains(DType.Q4_K.name());
            LlamaConfig cfg = base.config();
            Transformer t = base.transformer();
            int T = 9, V = cfg.vocabSize();
            Random r = new Random(4);
            int[] ids = new int[T];
            for (int i = 0; i < T; i++) ids[i] = r.nextInt(V);
            float[] full = t.forward(t.activations(1, T, null, false, false), ids, null).clone(); // [T, V]

            KvCache cache = new KvCache(cfg, 1, 16);
            Transformer.Scratch s = new Transformer.Scratch();
            float[] one = new float[V]; // [1, V]: the logits of the token just fed
            for (int m = 0; m < T; m++) {
                t.forwardCached(cache, 1, new int[] {ids[m]}, new int[] {0}, new int[] {m}, new PreparedPrompts[] {null}, new int[] {0}, one, s);
                assertThat(KvCacheTest.relErr(one, 0, full, m * V, V)).as("%s position %d", name, m).isLessThan(1e-5);
            }
        }
    }
}

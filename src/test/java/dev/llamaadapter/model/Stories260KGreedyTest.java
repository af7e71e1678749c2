package dev.llamaadapter.model;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The real stories260K model (Hugging Face layout) continues BOS greedily for 200 tokens exactly as
 * llama2.c's own test says. A plain loop over the full forward: the fast generator is tested elsewhere.
 */
class Stories260KGreedyTest {
    static final Path DIR = Path.of("../shared/assets/stories260K");

    @Test
    void greedyContinuationOfBosMatchesLlama2c() throws Exception {
        assumeTrue(Files.isDirectory(DIR.resolve("hf")), "../shared is absent");
        int[] expected = Arrays.stream(Files.readString(DIR.resolve("expected_greedy200_ids.txt")).trim().split("\\s+"))
                .mapToInt(Integer::parseInt).toArray();
        assertThat(expected).hasSize(201);
        try (BaseModel base = BaseModel.open(DIR.resolve("hf"))) {
            Transformer t = base.transformer();
            int V = base.config().vocabSize();
            int[] ids = new int[expected.length];
            ids[0] = 1; // BOS
            for (int n = 1; n < ids.length; n++) {
                Activations a = t.activations(1, n, null, false, false);
                float[] logits = t.forward(a, Arrays.copyOf(ids, n), null);
                int best = 0;
                for (int v = 1; v < V; v++) if (logits[(n - 1) * V + v] > logits[(n - 1) * V + best]) best = v;
                ids[n] = best;
            }
            assertThat(ids).containsExactly(expected);
        }
    }
}

package dev.llamaadapter.model;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * stories260K as GGUF and as a llama2.c checkpoint continues BOS greedily for 200 tokens exactly as
 * llama2.c's own test says (the same loop as {@link Stories260KGreedyTest}), which checks the name
 * mapping, the shapes and the q/k row order of both loaders; and both carry the same fingerprint as the
 * Hugging Face copy, so adapters move between formats.
 */
class ModelFormatsGreedyTest {
    static final Path DIR = Path.of("../shared/assets/stories260K");

    static int[] expected() throws Exception {
        assumeTrue(Files.isDirectory(DIR), "../shared is absent");
        int[] expected = Arrays.stream(Files.readString(DIR.resolve("expected_greedy200_ids.txt")).trim().split("\\s+"))
                .mapToInt(Integer::parseInt).toArray();
        assertThat(expected).hasSize(201);
        return expected;
    }

    /** BOS, then n greedy tokens, by a plain loop over the full forward. */
    static int[] greedy(BaseModel base, int n) {
        Transformer t = base.transformer();
        int V = base.config().vocabSize();
        int[] ids = new int[n + 1];
        ids[0] = 1; // BOS
        for (int k = 1; k < ids.length; k++) {
            Activations a = t.activations(1, k, null, false, false);
            float[] logits = t.forward(a, Arrays.copyOf(ids, k), null);
            int best = 0;
            for (int v = 1; v < V; v++) if (logits[(k - 1) * V + v] > logits[(k - 1) * V + best]) best = v;
            ids[k] = best;
        }
        return ids;
    }

    @Test
    void ggufGreedyContinuationMatchesLlama2c() throws Exception {
        int[] expected = expected();
        try (BaseModel base = BaseModel.open(DIR.resolve("stories260K.gguf")); BaseModel hf = BaseModel.open(DIR.resolve("hf"))) {
            assertThat(base.config().vocabSize()).isEqualTo(512);
            assertThat(base.fingerprint()).isEqualTo(hf.fingerprint());
            assertThat(greedy(base, 200)).containsExactly(expected);
            assertThat(base.tokenizer().encode("Once upon a time")).containsExactly(hf.tokenizer().encode("Once upon a time"));
        }
    }

    @Test
    void llama2cCheckpointGreedyContinuationMatchesLlama2c() throws Exception {
        int[] expected = expected();
        try (BaseModel base = BaseModel.open(DIR.resolve("stories260K.bin")); BaseModel hf = BaseModel.open(DIR.resolve("hf"))) {
            assertThat(base.config()).isEqualTo(hf.config());
            assertThat(base.fingerprint()).isEqualTo(hf.fingerprint());
            assertThat(greedy(base, 200)).containsExactly(expected);
        }
    }
}

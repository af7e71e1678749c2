package dev.llamaadapter.cli;

import dev.llamaadapter.io.SafeTensors;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The decoder families of spec §7 (../shared/parity/families, made by families_ref.py from transformers'
 * modeling code) reproduced through dump-step: logits, loss and every adapter gradient within 1e-4 relative
 * error, as the LLaMA cases of {@link ParityTest}. Read in place (skipped when ../shared is absent).
 */
class FamiliesParityTest {
    static final Path FAMILIES = Path.of("../shared/parity/families");

    @TempDir
    Path tmp;

    /**
     * Longer cases made here with ../shared/parity/make_family_case.py (python3-torch), so the tiled attention
     * (T ≥ 32) runs each family's switches: gemma2-long (--seed 31 --seq 45 --layers 4 --dim 32 --ffn 64
     * --heads 4 --kv 2 --head-dim 16: softcaps and a window of 4 across blocks), mistral-long (--seed 32 --seq 70
     * --dim 32 --ffn 64 --json '{"sliding_window":7}'), qwen3-long (--seed 33 --seq 40 --dim 32 --ffn 64
     * --head-dim 16 --gate identity), gemma2-bf16 (--seed 34 --seq 12 --dim 48 --ffn 64 --heads 4 --kv 2 --head-dim 16 --bf16:
     * BF16 weights, so sqrt(D) is rounded to bf16 before it scales the embeddings).
     */
    @ParameterizedTest
    @ValueSource(strings = {"gemma2-long", "mistral-long", "qwen3-long", "gemma2-bf16"})
    void longCasesTakeTheTiledAttention(String name) throws Exception {
        check(Path.of("src/test/resources/parity/families").resolve(name), name);
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama3-rope", "llama-linear-rope", "llama-headdim-bias", "mistral-window", "qwen2", "qwen3", "phi3", "gemma2"})
    void dumpStepReproducesTheReference(String name) throws Exception {
        Path c = FAMILIES.resolve(name);
        assumeTrue(Files.isDirectory(c), "../shared absent");
        check(c, name);
    }

    private void check(Path c, String name) throws Exception {
        Path out = tmp.resolve(name + ".out.safetensors");
        int rc = Main.commandLine().execute("dump-step", "--model", c.resolve("model").toString(), "--adapter",
                c.resolve("adapter.safetensors").toString(), "--batch", c.resolve("batch.safetensors").toString(), "--out", out.toString());
        assertThat(rc).isZero();
        try (SafeTensors got = SafeTensors.open(out); SafeTensors want = SafeTensors.open(c.resolve("expected.safetensors"))) {
            assertThat(got.names()).containsExactlyInAnyOrderElementsOf(want.names());
            for (String t : want.names())
                assertThat(ParityTest.relErr(got.floats(t), want.floats(t))).as("%s: %s", name, t).isLessThan(ParityTest.TOL);
        }
    }
}

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

    @ParameterizedTest
    @ValueSource(strings = {"llama3-rope", "llama-linear-rope", "llama-headdim-bias", "mistral-window", "qwen2", "qwen3", "phi3", "gemma2"})
    void dumpStepReproducesTheReference(String name) throws Exception {
        Path c = FAMILIES.resolve(name), out = tmp.resolve(name + ".out.safetensors");
        assumeTrue(Files.isDirectory(c), "../shared absent");
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

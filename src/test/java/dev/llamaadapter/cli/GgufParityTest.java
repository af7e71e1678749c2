package dev.llamaadapter.cli;

import dev.llamaadapter.io.SafeTensors;
import dev.llamaadapter.io.gguf.GgmlType;
import dev.llamaadapter.io.gguf.GgufFile;
import dev.llamaadapter.io.gguf.GgufTensor;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The GGUF files people download, as llama.cpp's llama-quantize writes them (../shared/parity/gguf): Q4_K_M
 * (Q4_K with some Q6_K tensors), Q6_K, and the standard Q4_0 mix whose output.weight is Q6_K. Their expected
 * logits, loss and adapter gradients come from the weights as gguf-py dequantises them, so an exact reading
 * of every block matches within the reference tolerance 1e-4 whatever the quantisation. Read in place
 * (skipped when ../shared is absent).
 */
class GgufParityTest {
    static final Path CASES = Path.of("../shared/parity/gguf");

    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"Q4_K_M", "Q6_K", "Q4_0"})
    void dumpStepReproducesTheReference(String name) throws Exception {
        Path c = CASES.resolve(name), out = tmp.resolve(name + ".out.safetensors");
        assumeTrue(Files.isDirectory(c), "../shared absent");
        // the case tests the formats its name promises: the 2-D weights are of these types
        try (GgufFile f = GgufFile.open(c.resolve("model.gguf"))) {
            Set<GgmlType> types = f.tensors().stream().filter(t -> t.ne().length == 2).map(GgufTensor::type).collect(Collectors.toSet());
            assertThat(types).as(name).containsExactlyInAnyOrderElementsOf(switch (name) {
                case "Q4_K_M" -> List.of(GgmlType.Q4_K, GgmlType.Q6_K);
                case "Q6_K" -> List.of(GgmlType.Q6_K);
                default -> List.of(GgmlType.Q4_0, GgmlType.Q6_K);
            });
            if (name.equals("Q4_0")) assertThat(f.tensor("output.weight").type()).isEqualTo(GgmlType.Q6_K);
        }
        check(name, c, out);
    }

    static final Path OWN = Path.of("src/test/resources/parity/gguf");

    /**
     * The other formats people download, one small case each (src/test/resources/parity/gguf, made by
     * scripts/make_quant_cases.sh with llama-quantize b4747): every 2-D weight is of the named type (--pure),
     * except the Q2_K mix, which brings Q3_K, Q4_K and Q6_K in as llama-quantize does. The models tie their
     * head to the embedding, so the type is read by the lookup and by the output matmul too.
     */
    @ParameterizedTest
    @ValueSource(strings = {"Q2_K", "Q3_K", "IQ4_XS", "IQ4_NL", "Q4_1", "Q5_0", "Q5_1"})
    void dumpStepReproducesTheReferenceOnEachFormat(String name) throws Exception {
        Path c = OWN.resolve(name), out = tmp.resolve(name + ".out.safetensors");
        try (GgufFile f = GgufFile.open(c.resolve("model.gguf"))) {
            Set<GgmlType> types = f.tensors().stream().filter(t -> t.ne().length == 2).map(GgufTensor::type).collect(Collectors.toSet());
            assertThat(types).as(name).containsExactlyInAnyOrderElementsOf(name.equals("Q2_K")
                    ? List.of(GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.Q4_K, GgmlType.Q6_K) : List.of(GgmlType.valueOf(name)));
            assertThat(f.tensor("output.weight")).as("tied head").isNull();
        }
        check(name, c, out);
    }

    /** dump-step on the case's model.gguf, and every expected tensor within {@link ParityTest#TOL}. */
    static void check(String name, Path c, Path out) throws Exception {
        int rc = Main.commandLine().execute("dump-step", "--model", c.resolve("model.gguf").toString(), "--adapter",
                c.resolve("adapter.safetensors").toString(), "--batch", c.resolve("batch.safetensors").toString(), "--out", out.toString());
        assertThat(rc).isZero();
        try (SafeTensors got = SafeTensors.open(out); SafeTensors want = SafeTensors.open(c.resolve("expected.safetensors"))) {
            assertThat(got.names()).containsExactlyInAnyOrderElementsOf(want.names());
            for (String t : want.names()) {
                double err = ParityTest.relErr(got.floats(t), want.floats(t));
                System.out.printf(Locale.ROOT, "gguf %s %s: relative error %.2e%n", name, t, err);
                assertThat(err).as("%s: %s", name, t).isLessThan(ParityTest.TOL);
            }
        }
    }
}

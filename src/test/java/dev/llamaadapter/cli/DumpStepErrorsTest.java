package dev.llamaadapter.cli;

import dev.llamaadapter.io.SafeTensorsWriter;
import dev.llamaadapter.model.LlamaConfig;
import dev.llamaadapter.model.TestModels;
import dev.llamaadapter.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** dump-step's errors, as a user sees them: exit code 2 and one line naming the file and tensor at fault. */
class DumpStepErrorsTest {
    static final Path CASE = Path.of("src/test/resources/parity/mha-tanh");

    @TempDir
    Path tmp;

    String run(Path model, Path adapter, Path batch) {
        StringWriter err = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setErr(new PrintWriter(err));
        int rc = cl.execute("dump-step", "--model", model.toString(), "--adapter", adapter.toString(),
                "--batch", batch.toString(), "--out", tmp.resolve("out.safetensors").toString());
        assertThat(rc).isEqualTo(2);
        assertThat(tmp.resolve("out.safetensors")).doesNotExist();
        return err.toString();
    }

    Path batch(int[] ids, int[] labels, int B, int T) throws Exception {
        Path f = tmp.resolve("batch.safetensors");
        new SafeTensorsWriter().put("input_ids", DType.I32, ids, B, T).put("labels", DType.I32, labels, B, T).write(f);
        return f;
    }

    @Test
    void tokenIdOutsideTheVocabularyIsNamed() throws Exception {
        Path b = batch(new int[]{1, 2, 97, 4}, new int[]{2, -100, 4, 5}, 2, 2);
        String err = run(CASE.resolve("model"), CASE.resolve("adapter.safetensors"), b);
        assertThat(err).contains(b.toString()).contains("input_ids").contains("97").contains("[1, 0]");
    }

    @Test
    void labelOutsideTheVocabularyIsNamed() throws Exception {
        Path b = batch(new int[]{1, 2, 3, 4}, new int[]{2, -7, 4, 5}, 2, 2);
        assertThat(run(CASE.resolve("model"), CASE.resolve("adapter.safetensors"), b)).contains("labels").contains("-7");
    }

    @Test
    void truncatedModelFileIsNamed() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("model"));
        Files.copy(CASE.resolve("model/config.json"), dir.resolve("config.json"));
        byte[] all = Files.readAllBytes(CASE.resolve("model/model.safetensors"));
        Files.write(dir.resolve("model.safetensors"), java.util.Arrays.copyOf(all, all.length - 1000));
        String err = run(dir, CASE.resolve("adapter.safetensors"), CASE.resolve("batch.safetensors"));
        assertThat(err).contains("model.safetensors").contains("error:");
    }

    @Test
    void shapeThatContradictsConfigIsNamed() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("model"));
        String cfg = Files.readString(CASE.resolve("model/config.json")).replace("\"intermediate_size\": 172", "\"intermediate_size\": 128");
        Files.writeString(dir.resolve("config.json"), cfg);
        Files.copy(CASE.resolve("model/model.safetensors"), dir.resolve("model.safetensors"));
        String err = run(dir, CASE.resolve("adapter.safetensors"), CASE.resolve("batch.safetensors"));
        assertThat(err).contains("model.safetensors").contains("model.layers.0.mlp.gate_proj.weight").contains("[172, 64]").contains("[128, 64]");
    }

    @Test
    void adapterForAnotherBaseIsNamed() throws Exception {
        // same N and H as the adapter's base, but hidden size 32 instead of 64
        Path other = TestModels.write(tmp.resolve("d32"), LlamaConfig.of(32, 48, 3, 4, 4, 97, false), DType.F32, 1);
        String err = run(other, CASE.resolve("adapter.safetensors"), CASE.resolve("batch.safetensors"));
        assertThat(err).contains(CASE.resolve("adapter.safetensors").toString()).contains("adapter_query.weight").contains("hidden_size is 32");
    }
}

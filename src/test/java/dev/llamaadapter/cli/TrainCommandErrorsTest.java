package dev.llamaadapter.cli;

import dev.llamaadapter.io.SafeTensors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** train's bad-input contract as a user meets it: exit code 2, one line naming what is wrong, no data lost. */
class TrainCommandErrorsTest {
    static final Path MODEL = Path.of("../shared/assets/stories260K/hf");

    @TempDir
    Path tmp;
    Path data;

    @BeforeEach
    void data() throws Exception {
        assumeTrue(Files.isDirectory(MODEL), "../shared is absent");
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 24; i++) sb.append("{\"instruction\": \"Tell about Tom.\", \"output\": \"Tom saw a cat.\"}\n");
        data = tmp.resolve("d.jsonl");
        Files.writeString(data, sb);
    }

    String train(String... extra) {
        return trainTo(tmp.resolve("a.safetensors"), extra);
    }

    String trainTo(Path out, String... extra) {
        StringWriter err = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setErr(new PrintWriter(err, true));
        String[] base = {"train", "--model", MODEL.toString(), "--data", data.toString(), "--out", out.toString(),
                "--epochs", "2", "--batch-size", "4", "--quiet"};
        String[] args = java.util.stream.Stream.concat(java.util.Arrays.stream(base), java.util.Arrays.stream(extra)).toArray(String[]::new);
        int rc = cl.execute(args);
        assertThat(rc).as(err.toString()).isEqualTo(2);
        return err.toString();
    }

    @Test
    void malformedDataNamesFileAndLine() throws Exception {
        Files.writeString(data, "{\"instruction\": \"a\", \"output\": \"b\"}\n{\"instruction\": \"a\" \"output\": \"b\"}\n");
        assertThat(train()).contains(data + ":2").contains("malformed JSON");
    }

    @Test
    void aTokenizerForAnotherVocabularyIsRefused() {
        Path llama2 = Path.of("../shared/assets/tokenizers/llama2/tokenizer.model");
        assertThat(train("--tokenizer", llama2.toString())).contains("32000").contains("vocab_size is 512");
    }

    @Test
    void anUnwritableOutputIsRefusedBeforeTraining() {
        String err = trainTo(tmp.resolve("no/such/dir/a.safetensors"));
        assertThat(err).contains("no/such/dir").contains("does not exist");
        assertThat(tmp.resolve("a.ckpt.safetensors")).doesNotExist();
    }

    @Test
    void divergenceStopsNamesTheStepAndKeepsTheLastGoodCheckpoint() throws Exception {
        String err = train("--lr", "1e37", "--warmup-epochs", "0", "--save-every", "1", "--val-split", "0");
        assertThat(err).contains("training diverged at step");
        assertThat(tmp.resolve("a.safetensors")).doesNotExist();
        Path ckpt = tmp.resolve("a.ckpt.safetensors");
        assertThat(ckpt).exists();
        try (SafeTensors st = SafeTensors.open(ckpt)) {
            for (float v : st.floats("param.adapter_query.weight")) assertThat(Float.isFinite(v)).isTrue();
            long step = Long.parseLong(st.metadata().get("checkpoint.step"));
            assertThat(err).contains("at step " + (step + 1));
        }
    }

    @Test
    void examplesCutAtTheLimitAreCountedAndReported() throws Exception {
        java.io.PrintStream old = System.err;
        java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream();
        try {
            System.setErr(new java.io.PrintStream(buf, true, java.nio.charset.StandardCharsets.UTF_8));
            int rc = Main.commandLine().execute("train", "--model", MODEL.toString(), "--data", data.toString(), "--out",
                    tmp.resolve("cut.safetensors").toString(), "--epochs", "1", "--batch-size", "4", "--quiet", "--max-seq-len", "107");
            assertThat(rc).isZero();
        } finally {
            System.setErr(old);
        }
        String log = buf.toString(java.nio.charset.StandardCharsets.UTF_8);
        // BOS + the prompt is 105 tokens here: at 107 every example is cut but keeps two scored targets
        assertThat(log).containsPattern("\\d+ examples longer than --max-seq-len 107 were cut");
        // at 40 no example keeps a response token: refused, naming the data file
        assertThat(train("--max-seq-len", "40")).contains(data.toString()).contains("no training example keeps a response token");
    }

    @Test
    void resumingOnAnotherModelOfTheSameShapeIsRefused() throws Exception {
        Path out = tmp.resolve("r.safetensors");
        String[] run = {"train", "--data", data.toString(), "--out", out.toString(), "--epochs", "1", "--batch-size", "4", "--val-split", "0", "--quiet"};
        assertThat(Main.commandLine().execute(concat(run, "--model", MODEL.toString()))).isZero();
        byte[] adapter = Files.readAllBytes(out);
        Path ckpt = tmp.resolve("r.ckpt.safetensors");
        assertThat(ckpt).exists();
        // stories260K's shape (and so its fingerprint) with random weights
        Path random;
        try (var base = dev.llamaadapter.model.BaseModel.open(MODEL)) {
            random = dev.llamaadapter.model.TestModels.write(tmp.resolve("random"), base.config(), dev.llamaadapter.tensor.DType.F32, 5);
        }
        Files.copy(MODEL.resolve("tokenizer.model"), random.resolve("tokenizer.model"));
        StringWriter err = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setErr(new PrintWriter(err, true));
        assertThat(cl.execute(concat(run, "--model", random.toString(), "--resume"))).as(err.toString()).isEqualTo(2);
        assertThat(err.toString()).contains(ckpt.toString()).contains("differs in base_weights")
                .contains("the base model's weights are not those it was trained on");
        assertThat(Files.readAllBytes(out)).as("the finished run's adapter is left alone").isEqualTo(adapter);
    }

    @Test
    void anUnknownLossNormIsRefusedAndACheckpointResumesOnlyUnderItsOwn() throws Exception {
        assertThat(train("--loss-norm", "mean")).contains("--loss-norm 'mean'").contains("tokens or micro-mean");
        Path out = tmp.resolve("n.safetensors");
        String[] run = {"train", "--model", MODEL.toString(), "--data", data.toString(), "--out", out.toString(), "--epochs", "1",
                "--batch-size", "4", "--micro-batch-size", "2", "--val-split", "0", "--quiet"};
        assertThat(Main.commandLine().execute(run)).isZero();
        try (SafeTensors st = SafeTensors.open(out)) {
            assertThat(st.metadata()).as("the adapter file records the normalisation").containsEntry("train.loss_norm", "tokens");
        }
        StringWriter err = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setErr(new PrintWriter(err, true));
        // the same flags but the official recipe's loss: other steps, so the checkpoint is not this run's
        assertThat(cl.execute(concat(run, "--resume", "--loss-norm", "micro-mean"))).as(err.toString()).isEqualTo(2);
        assertThat(err.toString()).contains("differs in loss_norm");
    }

    static String[] concat(String[] a, String... b) {
        return java.util.stream.Stream.concat(java.util.Arrays.stream(a), java.util.Arrays.stream(b)).toArray(String[]::new);
    }

    @Test
    void anAdapterTrainedOnAnotherBaseIsRefused() throws Exception {
        Path other = Path.of("src/test/resources/parity/mha-tanh");
        var p = dev.llamaadapter.model.AdaptionPrompts.init(4, 2, 64, 4, dev.llamaadapter.model.GateActivation.TANH, 1);
        Path a = tmp.resolve("foreign.safetensors");
        dev.llamaadapter.adapter.AdapterFile.write(a, p, 3, java.util.Map.of(dev.llamaadapter.adapter.AdapterFile.BASE_FINGERPRINT, "0123456789ab",
                dev.llamaadapter.adapter.AdapterFile.BASE_SHAPE, "D=64 F=999 N=3 H=4 Hkv=4 V=97"));
        try (var base = dev.llamaadapter.model.BaseModel.open(other.resolve("model"))) {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> dev.llamaadapter.adapter.AdapterFile.read(a, base))
                    .hasMessageContaining(a.toString()).hasMessageContaining("another base model").hasMessageContaining("F=999");
        }
    }

    @Test
    void peftRefusesWhatPeftCannotHoldAndGatesNamesItsChoices() {
        assertThat(train("--peft", "--gates", "per-head")).contains("--peft").contains("--gates per-head");
        assertThat(train("--peft", "--gate-activation", "tanh")).contains("--peft trains identity gates").contains("--gates per-layer --gate-activation tanh");
        assertThat(train("--peft", "--full")).contains("--peft").contains("--full");
        assertThat(train("--gates", "per-head", "--full")).contains("--gates").contains("--full");
        assertThat(train("--gates", "per-token")).contains("per-token").contains("per-head or per-layer");
        assertThat(tmp.resolve("a.safetensors")).doesNotExist();
    }
}

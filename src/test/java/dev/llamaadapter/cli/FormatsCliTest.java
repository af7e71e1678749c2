package dev.llamaadapter.cli;

import dev.llamaadapter.adapter.AdapterFormats;
import dev.llamaadapter.io.SafeTensors;
import dev.llamaadapter.model.GateSharing;
import dev.llamaadapter.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The interop formats through the command line: dump-step on the official .pth and the PEFT directory of
 * the interop-identity case gives the case's expected logits, loss and gradients (under the native names;
 * a PEFT adapter has one gate per layer, so its gate gradient is the sum of the case's per-head ones);
 * so do adapters written by {@code convert}; {@code inspect} says what a file is and whether it fits.
 */
class FormatsCliTest {
    static final Path CASE = Path.of("src/test/resources/parity/interop-identity");

    @TempDir
    Path tmp;

    record Run(int rc, String out, String err) {}

    static Run run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int rc = cl.execute(args);
        return new Run(rc, out.toString(), err.toString());
    }

    /** A base of another shape (D 32, N 2, H 2). */
    Path otherModel() throws Exception {
        Path dir = tmp.resolve("other-model");
        if (!Files.exists(dir))
            dev.llamaadapter.model.TestModels.write(dir, dev.llamaadapter.model.LlamaConfig.of(32, 64, 2, 2, 2, 97, false), DType.F32, 1);
        return dir;
    }

    void assertMatchesExpected(Path adapter, String... extra) throws Exception {
        Path out = tmp.resolve("dump-" + Math.abs(adapter.hashCode()) + ".safetensors");
        String[] base = {"dump-step", "--model", CASE.resolve("model").toString(), "--adapter", adapter.toString(),
                "--batch", CASE.resolve("batch.safetensors").toString(), "--out", out.toString()};
        String[] args = java.util.Arrays.copyOf(base, base.length + extra.length);
        System.arraycopy(extra, 0, args, base.length, extra.length);
        Run r = run(args);
        assertThat(r.rc()).as(r.err()).isZero();
        try (SafeTensors got = SafeTensors.open(out); SafeTensors want = SafeTensors.open(CASE.resolve("expected.safetensors"));
             var model = dev.llamaadapter.model.BaseModel.open(CASE.resolve("model"))) {
            assertThat(got.names()).containsExactlyInAnyOrderElementsOf(want.names());
            boolean perLayer = AdapterFormats.read(adapter, model, null).prompts().gates == GateSharing.PER_LAYER;
            for (String t : want.names()) {
                float[] w = want.floats(t);
                long[] shape = want.info(t).shape();
                if (perLayer && t.endsWith(".attention.gate")) { // PEFT's one gate per layer: its gradient is the heads' sum
                    double sum = 0;
                    for (float v : w) sum += v;
                    w = new float[]{(float) sum};
                    shape = new long[]{1, 1, 1, 1};
                }
                assertThat(got.info(t).shape()).as(t).containsExactly(shape);
                assertThat(ParityTest.relErr(got.floats(t), w)).as("%s: %s relative error", adapter, t).isLessThan(ParityTest.TOL);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"formats/official.pth", "formats/peft", "formats/peft/adapter_model.safetensors"})
    void dumpStepOnTheInteropFormatsMatchesTheReference(String adapter) throws Exception {
        assertMatchesExpected(CASE.resolve(adapter));
    }

    @Test
    void gateActivationOverrideChangesTheResult() throws Exception {
        Path out = tmp.resolve("tanh.safetensors");
        Run r = run("dump-step", "--model", CASE.resolve("model").toString(), "--adapter", CASE.resolve("formats/official.pth").toString(),
                "--batch", CASE.resolve("batch.safetensors").toString(), "--out", out.toString(), "--gate-activation", "tanh");
        assertThat(r.rc()).as(r.err()).isZero();
        try (SafeTensors got = SafeTensors.open(out); SafeTensors want = SafeTensors.open(CASE.resolve("expected.safetensors"))) {
            assertThat(ParityTest.relErr(got.floats("logits"), want.floats("logits"))).isGreaterThan(1e-4);
        }
        Run bad = run("dump-step", "--model", CASE.resolve("model").toString(), "--adapter", CASE.resolve("formats/official.pth").toString(),
                "--batch", CASE.resolve("batch.safetensors").toString(), "--out", out.toString(), "--gate-activation", "sigmoid");
        assertThat(bad.rc()).isNotZero();
        assertThat(bad.err()).contains("sigmoid");
    }

    @Test
    void convertedAdaptersGiveTheSameNumbers() throws Exception {
        Path peft = tmp.resolve("peft"), pth = tmp.resolve("a.pth"), nat = tmp.resolve("a.safetensors");
        Run r1 = run("convert", "--adapter", CASE.resolve("formats/official.pth").toString(), "--to", "peft", "--out", peft.toString());
        assertThat(r1.rc()).as(r1.err()).isZero();
        assertThat(r1.out()).contains("official").contains("K=3 L=2 D=64 H=4").contains("peft");
        Run r2 = run("convert", "--adapter", peft.toString(), "--to", "official", "--out", pth.toString(), "--model", CASE.resolve("model").toString());
        assertThat(r2.rc()).as(r2.err()).isZero();
        Run r3 = run("convert", "--adapter", pth.toString(), "--to", "native", "--out", nat.toString(), "--model", CASE.resolve("model").toString());
        assertThat(r3.rc()).as(r3.err()).isZero();
        for (Path p : new Path[]{peft, pth, nat}) assertMatchesExpected(p);
        try (SafeTensors st = SafeTensors.open(nat)) {
            assertThat(st.metadata()).containsKeys("base_model.fingerprint", "base_model.sketch").containsEntry("gate_activation", "identity")
                    .containsEntry("converted_from", "official:" + pth.toAbsolutePath().normalize());
        }
        assertThat(Files.readString(peft.resolve("adapter_config.json"))).contains("\"peft_type\": \"ADAPTION_PROMPT\"");
    }

    @Test
    void convertErrorsAreOneLineNamingTheFile() throws Exception {
        Run peftNoModel = run("convert", "--adapter", CASE.resolve("formats/peft").toString(), "--to", "native", "--out", tmp.resolve("x").toString());
        assertThat(peftNoModel.rc()).isEqualTo(2);
        assertThat(peftNoModel.err()).startsWith("error: ").contains("adapter_model.safetensors").contains("--model");
        Run mha = run("convert", "--adapter", "src/test/resources/parity/mha-tanh/adapter.safetensors", "--to", "peft",
                "--out", tmp.resolve("mha").toString());
        assertThat(mha.rc()).isEqualTo(2);
        assertThat(mha.err()).contains("one scalar gate per layer");
        Run badTo = run("convert", "--adapter", CASE.resolve("adapter.safetensors").toString(), "--to", "lora", "--out", tmp.resolve("y").toString());
        assertThat(badTo.rc()).isNotZero();
        assertThat(badTo.err()).contains("lora");
        Run otherBase = run("convert", "--adapter", CASE.resolve("formats/official.pth").toString(), "--to", "native",
                "--out", tmp.resolve("z").toString(), "--model", otherModel().toString());
        assertThat(otherBase.rc()).isEqualTo(2);
        assertThat(otherBase.err()).contains("official.pth").contains("hidden_size is 32");
        assertThat(tmp.resolve("z")).doesNotExist();
    }

    @Test
    void inspectSaysWhatAnAdapterIsAndWhetherItFits() throws Exception {
        Run pth = run("inspect", CASE.resolve("formats/official.pth").toString());
        assertThat(pth.rc()).as(pth.err()).isZero();
        assertThat(pth.out()).contains("format: official (torch.save zip").contains("adapter_query.weight").contains("F32").contains("[6, 64]")
                .contains("layers.0.attention.gate").contains("[1, 4, 1, 1]").contains("396 parameters as stored")
                .contains("K=3, adapter_layers L=2 (layers 1..2 of 3), D=64, H=4").contains("gate activation: identity")
                .contains("trainable parameters: 392");
        Run peft = run("inspect", CASE.resolve("formats/peft").toString());
        assertThat(peft.rc()).isZero();
        assertThat(peft.out()).contains("format: peft (safetensors)").contains("base_model.model.model.layers.2.self_attn.adaption_prompt")
                .contains("[1, 3, 64]").contains("peft_type = ADAPTION_PROMPT").contains("--model");
        Run fits = run("inspect", CASE.resolve("formats/peft").toString(), "--model", CASE.resolve("model").toString());
        assertThat(fits.rc()).as(fits.err()).isZero();
        assertThat(fits.out()).contains("fits").contains(": yes").contains("H=4");
        Run nat = run("inspect", CASE.resolve("adapter.safetensors").toString(), "--model", otherModel().toString());
        assertThat(nat.rc()).isEqualTo(1);
        assertThat(nat.out()).contains("format: native (safetensors)").contains("gate_activation = identity").contains(": no: ");
    }

    @Test
    void inspectDescribesAModel() {
        Run m = run("inspect", CASE.resolve("model").toString());
        assertThat(m.rc()).as(m.err()).isZero();
        assertThat(m.out()).contains("format: Hugging Face directory").contains("D=64 F=172 N=3 H=4 Hkv=2 V=97").contains("tensors: ")
                .contains("dtypes: F32").contains("parameters: ").contains("size: ").contains("fingerprint: ");
    }

    @Test
    void aMaliciousPthIsRefusedByDumpStep() throws Exception {
        // a torch.save-like zip whose pickle calls os.system
        Path evil = tmp.resolve("evil.pth");
        try (var z = new java.util.zip.ZipOutputStream(Files.newOutputStream(evil))) {
            z.putNextEntry(new java.util.zip.ZipEntry("archive/data.pkl"));
            z.write("\u0080\u0002cos\nsystem\nX\u0004\u0000\u0000\u0000true\u0085R.".getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
        }
        Run r = run("dump-step", "--model", CASE.resolve("model").toString(), "--adapter", evil.toString(),
                "--batch", CASE.resolve("batch.safetensors").toString(), "--out", tmp.resolve("o.safetensors").toString());
        assertThat(r.rc()).isEqualTo(2);
        assertThat(r.err()).contains(evil.toString()).contains("os.system is not allowed");
        assertThat(tmp.resolve("o.safetensors")).doesNotExist();
    }
}

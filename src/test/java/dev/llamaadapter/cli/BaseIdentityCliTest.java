package dev.llamaadapter.cli;

import dev.llamaadapter.adapter.AdapterFile;
import dev.llamaadapter.model.AdaptionPrompts;
import dev.llamaadapter.model.BaseModel;
import dev.llamaadapter.model.BaseSketch;
import dev.llamaadapter.model.GateActivation;
import dev.llamaadapter.model.GgufExport;
import dev.llamaadapter.model.TestModels;
import dev.llamaadapter.tensor.DType;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The issue as a user met it: a copy of stories260K with random weights (same shape, same architecture
 * fingerprint) took an adapter made for stories260K. Now inspect says it does not fit and generate refuses;
 * the Q4_0 copy of stories260K still takes it.
 */
class BaseIdentityCliTest {
    static final Path STORIES = Path.of("../shared/assets/stories260K/hf");

    @TempDir
    static Path tmp;
    static Path random, q4, adapter;

    @BeforeAll
    static void models() throws Exception {
        assumeTrue(Files.isDirectory(STORIES), "../shared is absent");
        try (BaseModel base = BaseModel.open(STORIES)) {
            random = TestModels.write(tmp.resolve("stories260K-random"), base.config(), DType.F32, 5);
            Files.copy(STORIES.resolve("tokenizer.model"), random.resolve("tokenizer.model"));
            q4 = tmp.resolve("stories260K.q4_0.gguf");
            GgufExport.write(base, DType.Q4_0, q4);
            Map<String, String> meta = new LinkedHashMap<>(); // what train records about its base
            meta.put(AdapterFile.BASE_FINGERPRINT, base.fingerprint());
            meta.put(AdapterFile.BASE_SHAPE, base.shape());
            meta.put(AdapterFile.BASE_SKETCH, BaseSketch.of(base).encode());
            meta.put("base_model.path", STORIES.toString());
            adapter = tmp.resolve("stories.safetensors");
            AdaptionPrompts p = AdaptionPrompts.init(4, 3, 64, 8, GateActivation.TANH, 1);
            for (int i = 0; i < p.gate.length; i++) p.gate[i] = 0.1f;
            AdapterFile.write(adapter, p, 5, meta);
        }
    }

    record Run(int rc, String out, String err) {}

    static Run run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int rc = cl.execute(args);
        return new Run(rc, out.toString(), err.toString());
    }

    @Test
    void inspectSaysARandomCopyOfTheSameShapeDoesNotFit() {
        Run r = run("inspect", adapter.toString(), "--model", random.toString());
        assertThat(r.rc()).as(r.out() + r.err()).isEqualTo(1);
        assertThat(r.out()).contains("fits " + random + " (D=64 F=172 N=5 H=8 Hkv=4 V=512): no: ")
                .contains("other weights").contains("similarity ").contains(STORIES.toString());
    }

    @Test
    void inspectAcceptsTheSameModelAndSaysHowCloseItIs() {
        Run same = run("inspect", adapter.toString(), "--model", STORIES.toString());
        assertThat(same.rc()).as(same.out() + same.err()).isZero();
        assertThat(same.out()).contains("base weights: identical to the adapter's base").contains(": yes");
        Run quantised = run("inspect", adapter.toString(), "--model", q4.toString());
        assertThat(quantised.rc()).as(quantised.out() + quantised.err()).isZero();
        assertThat(quantised.out()).containsPattern("base weights: similarity 0\\.99\\d\\d to the adapter's base").contains(": yes");
    }

    @Test
    void generateRefusesTheAdapterOnARandomCopy() {
        Run r = run("generate", "--model", random.toString(), "--adapter", adapter.toString(), "--prompt", "Once upon", "--max-tokens", "2", "--json");
        assertThat(r.rc()).as(r.out() + r.err()).isEqualTo(2);
        assertThat(r.err()).startsWith("error: " + adapter).contains("other weights").contains(random.toString());
        Run ok = run("generate", "--model", q4.toString(), "--adapter", adapter.toString(), "--prompt", "Once upon", "--max-tokens", "2", "--json");
        assertThat(ok.rc()).as(ok.err()).isZero();
    }
}

package dev.llamaadapter.model;

import dev.llamaadapter.cli.Main;
import dev.llamaadapter.io.gguf.GgmlType;
import dev.llamaadapter.io.gguf.GgufFile;
import dev.llamaadapter.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Writing GGUF ({@link GgufExport}, the quantize command) and loading it back. Plain F32 output from each
 * source format is lossless; Q8_0 and Q4_0 stay close to the F32 model, measured by teacher-forced top-1
 * agreement and the largest logit difference over llama2.c's 200-token greedy continuation.
 */
class GgufExportTest {
    static final Path DIR = ModelFormatsGreedyTest.DIR;

    /** Logits [T, V] for the first T ids of {@code ids} in one forward. */
    static float[] logits(BaseModel m, int[] ids, int T) {
        Transformer t = m.transformer();
        return t.forward(t.activations(1, T, null, false, false), Arrays.copyOf(ids, T), null).clone();
    }

    record Closeness(double top1Agreement, double maxAbsDiff, double maxLogit) {}

    static Closeness compare(float[] ref, float[] got, int T, int V) {
        int agree = 0;
        double maxDiff = 0, maxLogit = 0;
        for (int t = 0; t < T; t++) {
            int a = 0, b = 0;
            for (int v = 0; v < V; v++) {
                if (ref[t * V + v] > ref[t * V + a]) a = v;
                if (got[t * V + v] > got[t * V + b]) b = v;
                maxDiff = Math.max(maxDiff, Math.abs(ref[t * V + v] - got[t * V + v]));
                maxLogit = Math.max(maxLogit, Math.abs(ref[t * V + v]));
            }
            if (a == b) agree++;
        }
        return new Closeness(agree / (double) T, maxDiff, maxLogit);
    }

    static int quantize(String... args) {
        StringWriter err = new StringWriter();
        var cl = Main.commandLine();
        cl.setErr(new PrintWriter(err));
        int rc = cl.execute(args);
        assertThat(err.toString()).as("stderr").isEmpty();
        return rc;
    }

    @Test
    void f32FromEveryFormatIsLosslessAndRunsTheSame(@TempDir Path tmp) throws Exception {
        int[] expected = ModelFormatsGreedyTest.expected();
        try (BaseModel hf = BaseModel.open(DIR.resolve("hf"))) {
            float[] ref = logits(hf, expected, 200);
            for (String src : new String[] {"hf", "stories260K.gguf", "stories260K.bin"}) {
                Path out = tmp.resolve(src + ".f32.gguf");
                assertThat(quantize("quantize", "--model", DIR.resolve(src).toString(), "--to", "f32", "--out", out.toString())).isZero();
                try (BaseModel m = BaseModel.open(out)) {
                    assertThat(m.config().bosTokenId()).isEqualTo(1);
                    assertThat(m.config().eosTokenIds()).containsExactly(2);
                    assertThat(m.fingerprint()).isEqualTo(hf.fingerprint());
                    assertThat(m.dtypes()).isEqualTo("F32");
                    assertThat(compare(ref, logits(m, expected, 200), 200, 512).maxAbsDiff()).as(src).isLessThan(1e-5);
                    assertThat(m.tokenizer().encode("Once upon a time")).containsExactly(hf.tokenizer().encode("Once upon a time"));
                }
            }
            // and the written file reads as a llama.cpp-style GGUF: names, types and ne innermost first
            try (GgufFile f = GgufFile.open(tmp.resolve("hf.f32.gguf"))) {
                assertThat(f.tensor("blk.0.attn_q.weight").ne()).containsExactly(64, 64);
                assertThat(f.tensor("blk.0.ffn_down.weight").ne()).containsExactly(172, 64);
                assertThat(f.tensor("output.weight")).as("tied head: no output.weight").isNull();
                assertThat(f.metadata().string("tokenizer.ggml.model")).isEqualTo("llama");
            }
        }
    }

    @Test
    void quantisedModelsStayClose(@TempDir Path tmp) throws Exception {
        int[] expected = ModelFormatsGreedyTest.expected();
        try (BaseModel hf = BaseModel.open(DIR.resolve("hf"))) {
            float[] ref = logits(hf, expected, 200);
            for (String to : new String[] {"q8_0", "q4_0"}) {
                Path out = tmp.resolve("stories260K." + to + ".gguf");
                assertThat(quantize("quantize", "--model", DIR.resolve("hf").toString(), "--to", to, "--out", out.toString())).isZero();
                try (BaseModel m = BaseModel.open(out); GgufFile f = GgufFile.open(out)) {
                    GgmlType want = to.equals("q8_0") ? GgmlType.Q8_0 : GgmlType.Q4_0;
                    assertThat(f.tensor("blk.3.attn_k.weight").type()).isEqualTo(want);
                    assertThat(f.tensor("blk.3.ffn_gate.weight").type()).isEqualTo(want);
                    assertThat(f.tensor("token_embd.weight").type()).isEqualTo(GgmlType.Q8_0);
                    assertThat(f.tensor("token_embd.weight").type()).as("the tied head: Q6_K, rows of 64 fall back to Q8_0").isEqualTo(GgmlType.Q8_0);
                    assertThat(f.tensor("blk.3.ffn_down.weight").type()).as("172 columns: not whole blocks; F16, llama-quantize's last fallback").isEqualTo(GgmlType.F16);
                    assertThat(f.tensor("blk.3.ffn_norm.weight").type()).isEqualTo(GgmlType.F32);
                    Closeness c = compare(ref, logits(m, expected, 200), 200, 512);
                    int[] greedy = ModelFormatsGreedyTest.greedy(m, 200);
                    int same = 0;
                    while (same < 201 && greedy[same] == expected[same]) same++;
                    System.out.printf(Locale.ROOT, "%s: teacher-forced top-1 agreement %.3f, max |logit diff| %.4f (max |logit| %.2f), greedy prefix %d/200%n",
                            to, c.top1Agreement(), c.maxAbsDiff(), c.maxLogit(), same - 1);
                    // measured: Q8_0 0.990, 0.31, 114 tokens; Q4_0 0.890, 6.8, 27 tokens (a 64-wide model is hard on 4 bits)
                    if (to.equals("q8_0")) {
                        assertThat(c.top1Agreement()).isGreaterThanOrEqualTo(0.97);
                        assertThat(c.maxAbsDiff()).isLessThan(0.6);
                        assertThat(same - 1).isGreaterThanOrEqualTo(50);
                    } else {
                        assertThat(c.top1Agreement()).isGreaterThanOrEqualTo(0.8);
                        assertThat(c.maxAbsDiff()).isLessThan(10);
                    }
                }
            }
            // quantisation is deterministic and independent of the source format: the same model from GGUF and llama2.c gives the same logits
            float[] fromHf;
            try (BaseModel m = BaseModel.open(tmp.resolve("stories260K.q8_0.gguf"))) {
                fromHf = logits(m, expected, 50);
            }
            for (String src : new String[] {"stories260K.gguf", "stories260K.bin"}) {
                Path out = tmp.resolve(src + ".q8_0.gguf");
                assertThat(quantize("quantize", "--model", DIR.resolve(src).toString(), "--to", "q8_0", "--out", out.toString())).isZero();
                try (BaseModel m = BaseModel.open(out)) {
                    assertThat(logits(m, expected, 50)).as(src).containsExactly(fromHf);
                }
                // re-quantising a Q8_0 file to Q8_0 copies the blocks unchanged
                Path again = tmp.resolve(src + ".again.gguf");
                assertThat(quantize("quantize", "--model", out.toString(), "--to", "q8_0", "--out", again.toString())).isZero();
                try (BaseModel m = BaseModel.open(again)) {
                    assertThat(logits(m, expected, 50)).as(src + " again").containsExactly(fromHf);
                }
            }
        }
    }
}

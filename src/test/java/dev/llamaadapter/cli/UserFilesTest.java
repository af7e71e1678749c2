package dev.llamaadapter.cli;

import dev.llamaadapter.io.SafeTensors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Issue #21, items 1, 3, 4 and 8, as a user meets them: no command writes over its own inputs (checked on
 * real paths, before any work), an interrupted run's checkpoint is not silently replaced, the context
 * follows the model and refuses nonsense, and the messages name the file and what is wrong.
 */
class UserFilesTest {
    static final Path STORIES = Path.of("../shared/assets/stories260K/hf");
    static final Path SQA = Path.of("../shared/assets/scienceqa/problems_150.json");

    @TempDir
    Path tmp;
    Path model, data;

    record Run(int rc, String out, String err) {}

    /** Runs the command line: picocli's out and err, plus what went to System.out (quantize's summary). */
    static Run run(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        PrintStream oldOut = System.out;
        ByteArrayOutputStream sysOut = new ByteArrayOutputStream();
        System.setOut(new PrintStream(sysOut, true, StandardCharsets.UTF_8));
        int rc;
        try {
            rc = cl.execute(args);
        } finally {
            System.setOut(oldOut);
        }
        return new Run(rc, out + sysOut.toString(StandardCharsets.UTF_8), err.toString());
    }

    @BeforeEach
    void setUp() throws Exception {
        assumeTrue(Files.isDirectory(STORIES), "../shared is absent");
        model = tmp.resolve("m");
        Files.createDirectories(model);
        try (Stream<Path> s = Files.list(STORIES)) {
            for (Path f : s.toList()) Files.copy(f, model.resolve(f.getFileName()));
        }
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 24; i++) sb.append("{\"instruction\": \"Tell about Tom.\", \"output\": \"Tom saw a cat.\"}\n");
        data = tmp.resolve("d.jsonl");
        Files.writeString(data, sb);
    }

    String[] train(Path out, String... extra) {
        String[] base = {"train", "--model", model.toString(), "--data", data.toString(), "--out", out.toString(),
                "--epochs", "1", "--batch-size", "8", "--micro-batch-size", "4", "--quiet"};
        return Stream.concat(Stream.of(base), Stream.of(extra)).toArray(String[]::new);
    }

    /** Every file under tmp by its SHA-256: what a refused command must leave as it was. */
    Map<String, String> snapshot() throws Exception {
        Map<String, String> m = new TreeMap<>();
        try (Stream<Path> s = Files.walk(tmp)) {
            for (Path f : s.filter(Files::isRegularFile).toList())
                m.put(tmp.relativize(f).toString(), HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(f))));
        }
        return m;
    }

    void assertRefused(String mustSay, String... args) throws Exception {
        Map<String, String> before = snapshot();
        Run r = run(args);
        assertThat(r.rc()).as(r.err()).isEqualTo(2);
        assertThat(r.err()).contains(mustSay);
        assertThat(snapshot()).as("no file changed, none added").isEqualTo(before);
    }

    // item 1: outputs never overwrite inputs

    @Test
    void trainRefusesToWriteOverTheModelOrTheData() throws Exception {
        assertRefused("is inside --model", train(model.resolve("model.safetensors")));
        assertRefused("is inside --model", train(model.resolve("config.json")));
        assertRefused("is the same file as --data", train(data));
        assertRefused("is the same file as --data", train(tmp.resolve("x.safetensors"), "--metrics", data.toString()));
        assertRefused("is the same file as --data", train(tmp.resolve("m/../d.jsonl")));
        Files.createSymbolicLink(tmp.resolve("link.jsonl"), data);
        assertRefused("is the same file as --data", train(tmp.resolve("link.jsonl")));
        assertRefused("are the same file", train(tmp.resolve("a.safetensors"), "--checkpoint", tmp.resolve("a.safetensors").toString()));
    }

    @Test
    void fullFineTuningNeverWritesIntoTheBase() throws Exception {
        assertRefused("is the same file as --model", train(model, "--full"));
        Path dataAsConfig = tmp.resolve("out/config.json"); // data where --full would write its config
        Files.createDirectories(dataAsConfig.getParent());
        Files.copy(data, dataAsConfig);
        String[] args = train(tmp.resolve("out"), "--full");
        args[4] = dataAsConfig.toString();
        assertRefused("is the same file as --data", args);
    }

    @Test
    void evalConvertQuantizeAndDumpStepRefuseTheirInputs() throws Exception {
        assumeTrue(Files.isRegularFile(SQA), "../shared is absent");
        Path sq = tmp.resolve("sq.json");
        Files.copy(SQA, sq);
        assertRefused("is the same file as --data", "eval", "scienceqa", "--model", model.toString(), "--data", sq.toString(), "--out", sq.toString());

        Path adapter = tmp.resolve("a.safetensors");
        Run t = run(train(adapter));
        assertThat(t.rc()).as(t.err()).isZero();
        assertRefused("is inside --model", "convert", "--adapter", adapter.toString(), "--model", model.toString(), "--to", "native",
                "--out", model.resolve("model.safetensors").toString());
        assertRefused("is the same file as --adapter", "convert", "--adapter", adapter.toString(), "--to", "official", "--out", adapter.toString());

        Path gguf = tmp.resolve("in.gguf");
        assertThat(run("quantize", "--model", model.toString(), "--to", "f32", "--out", gguf.toString()).rc()).isZero();
        assertRefused("is the same file as --model", "quantize", "--model", gguf.toString(), "--to", "q8_0", "--out", gguf.toString());
        assertRefused("is a directory", "quantize", "--model", gguf.toString(), "--to", "q8_0", "--out", tmp.toString());

        Path parity = Path.of("src/test/resources/parity/interop-identity"), batch = tmp.resolve("batch.safetensors");
        Files.copy(parity.resolve("batch.safetensors"), batch);
        assertRefused("is the same file as --batch", "dump-step", "--model", parity.resolve("model").toString(), "--adapter",
                parity.resolve("adapter.safetensors").toString(), "--batch", batch.toString(), "--out", batch.toString());
    }

    // item 3: an interrupted run's checkpoint is not silently replaced

    @Test
    void reRunningWithoutResumeStopsAndSaysHowToGoOn() throws Exception {
        Path out = tmp.resolve("a.safetensors"), ckpt = tmp.resolve("a.ckpt.safetensors");
        assertThat(run(train(out)).rc()).isZero();
        long step = step(ckpt);
        assertRefused("--resume", train(out));
        Run again = run(train(out));
        assertThat(again.err()).contains(ckpt.toString()).contains("step " + step).contains("--overwrite");
        assertThat(step(ckpt)).isEqualTo(step);

        Run over = run(train(out, "--overwrite", "--adapter-len", "5")); // another run: its checkpoint replaces the old one
        assertThat(over.rc()).as(over.err()).isZero();
        try (SafeTensors st = SafeTensors.open(ckpt)) {
            assertThat(st.info("param.adapter_query.weight").shape()[0] % 5).isZero();
            assertThat(st.metadata().get("checkpoint.identity")).contains("K=5");
        }
        Run resumed = run(train(out, "--resume", "--adapter-len", "5"));
        assertThat(resumed.rc()).as(resumed.err()).isZero();
        assertThat(run(train(out, "--overwrite", "--resume")).err()).contains("exclude each other");
    }

    static long step(Path ckpt) throws Exception {
        try (SafeTensors st = SafeTensors.open(ckpt)) {
            return Long.parseLong(st.metadata().get("checkpoint.step"));
        }
    }

    // item 4: the context

    @Test
    void contextZeroNegativeOrShorterThanThePromptIsAnError() throws Exception {
        String[] prompt = {"generate", "--model", model.toString(), "--prompt-ids", "1,400,401,402,403,404,405", "--greedy", "--json"};
        for (String c : new String[]{"0", "-1"}) {
            Run r = run(Stream.concat(Stream.of(prompt), Stream.of("--context", c)).toArray(String[]::new));
            assertThat(r.rc()).as(c).isEqualTo(2);
            assertThat(r.err()).contains("--context " + c).contains("at least one generated token");
        }
        Run r = run(Stream.concat(Stream.of(prompt), Stream.of("--context", "2")).toArray(String[]::new));
        assertThat(r.rc()).isEqualTo(2);
        assertThat(r.err()).contains("--context 2 is too short for the prompt's 7 tokens");
    }

    @Test
    void theDefaultContextIsTheModelsAndGoingPastItWarns() throws Exception {
        String[] gen = {"--model", model.toString(), "--prompt-ids", "1,400,401", "--greedy", "--ignore-eos", "--max-tokens", "5000", "--json"};
        String[] got = generate(gen);
        assertThat(got[0]).contains("\"completion_tokens\":509"); // 512 positions, 3 for the prompt
        assertThat(got[1]).doesNotContain("warning");

        got = generate(Stream.concat(Stream.of(gen), Stream.of("--context", "600")).toArray(String[]::new));
        assertThat(got[0]).contains("\"completion_tokens\":597");
        assertThat(got[1]).containsOnlyOnce("past the model's max_position_embeddings 512");
    }

    /** generate's stdout (its JSON line) and what went to System.err. */
    static String[] generate(String... args) {
        PrintStream old = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            String out = GenerateCommand.runForTest(args);
            return new String[]{out, err.toString(StandardCharsets.UTF_8)};
        } finally {
            System.setErr(old);
        }
    }

    // item 8: messages that name the file and what is wrong

    @Test
    void aDataFileThatIsNotUtf8IsNamedWithItsLine() throws Exception {
        byte[] latin1 = "{\"instruction\": \"a\", \"output\": \"b\"}\n{\"instruction\": \"caf\u00e9\", \"output\": \"b\"}\n".getBytes(StandardCharsets.ISO_8859_1);
        Files.write(data, latin1);
        Run r = run(train(tmp.resolve("a.safetensors")));
        assertThat(r.rc()).isEqualTo(2);
        assertThat(r.err()).contains(data + ":2: not UTF-8 (byte 0xE9");
    }

    @Test
    void valSplitOutOfRangeAndValDataEqualToDataAreExplained() throws Exception {
        assertRefused("is negative", train(tmp.resolve("a.safetensors"), "--val-split", "-1"));
        assertRefused("a fraction must be at least 0 and below 1", train(tmp.resolve("a.safetensors"), "--val-split", "1.5"));
        assertRefused("leaves no training data", train(tmp.resolve("a.safetensors"), "--val-split", "24"));
        assertRefused("is the --data file itself", train(tmp.resolve("a.safetensors"), "--val-data", data.toString()));
    }

    @Test
    void inspectOfADeviceSaysItIsNotAFile() throws Exception {
        assumeTrue(Files.exists(Path.of("/dev/zero")));
        Run r = run("inspect", "/dev/zero");
        assertThat(r.rc()).isEqualTo(2);
        assertThat(r.err()).contains("/dev/zero").contains("not a regular file").doesNotContain("0 bytes");
    }

    @Test
    void requantizingSaysSo() throws Exception {
        Path q8 = tmp.resolve("q8.gguf"), q4 = tmp.resolve("q4.gguf");
        assertThat(run("quantize", "--model", model.toString(), "--to", "q8_0", "--out", q8.toString()).rc()).isZero();
        Run r = run("quantize", "--model", q8.toString(), "--to", "q4_0", "--out", q4.toString());
        assertThat(r.rc()).as(r.err()).isZero();
        assertThat(r.out()).contains("already quantized").contains("Q8_0").contains("both roundings");
    }
}

package dev.llamaadapter.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llamaadapter.eval.Category;
import dev.llamaadapter.eval.Problem;
import dev.llamaadapter.eval.ScienceQaData;
import org.junit.jupiter.api.BeforeAll;
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
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * eval scienceqa and train --format scienceqa on the real stories260K model over the 150 real
 * problems (near chance, or below: the point is the pipeline and the table), and their errors.
 */
class EvalScienceQaCommandTest {
    static final Path MODEL = Path.of("../shared/assets/stories260K/hf");
    static final Path SQA = Path.of("../shared/assets/scienceqa");
    static final Path PROBLEMS = SQA.resolve("problems_150.json");

    @TempDir
    static Path tmp;

    @BeforeAll
    static void shared() {
        assumeTrue(Files.isDirectory(MODEL) && Files.isRegularFile(PROBLEMS), "../shared is absent");
    }

    /** Runs eval scienceqa; returns stdout. */
    static String eval(String... args) {
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        EvalScienceQaCommand c = new EvalScienceQaCommand();
        c.stdout = new PrintStream(buf, true, StandardCharsets.UTF_8);
        StringWriter err = new StringWriter();
        CommandLine cl = new CommandLine(c);
        cl.setErr(new PrintWriter(err, true));
        int rc = cl.execute(args);
        assertThat(rc).as(err.toString()).isZero();
        return buf.toString(StandardCharsets.UTF_8);
    }

    /** Runs a command that must fail; returns its one-line error. */
    static String fails(String... args) {
        StringWriter err = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setErr(new PrintWriter(err, true));
        int rc = cl.execute(args);
        assertThat(rc).as(err.toString()).isEqualTo(2);
        return err.toString();
    }

    @Test
    void theTestSplitRunsEndToEndWithTheTableAndTheResultsFile() throws Exception {
        Path out = tmp.resolve("predictions.json");
        String table = eval("--model", MODEL.toString(), "--data", PROBLEMS.toString(), "--split", "test", "--out", out.toString(), "--quiet");
        assertThat(table).contains("| | Average | NAT | SOC | LAN | TXT | IMG | NO | G1-6 | G7-12 |").contains("problems/s")
                .contains("ScienceQA test: 50 problems");

        // every problem answered once, in the benchmark's results layout, counted in its categories
        JsonNode n = new ObjectMapper().readTree(out.toFile());
        List<Problem> test = ScienceQaData.read(PROBLEMS, null, null, null).split("test");
        assertThat(n.get("count").asInt()).isEqualTo(50);
        assertThat(n.get("results").size()).isEqualTo(50);
        assertThat(n.get("outputs").size()).isEqualTo(50);
        int correct = 0;
        for (Problem p : test) {
            int pred = n.get("results").get(p.pid()).asInt();
            assertThat(pred).isBetween(-1, p.choices().size() - 1);
            if (pred == p.answer()) correct++;
        }
        assertThat(n.get("correct").asInt()).isEqualTo(correct);
        for (Category c : Category.values())
            assertThat(table).contains("/" + test.stream().filter(c::contains).count() + " |");
    }

    @Test
    void jsonIsOneLineWithEveryCategoryAndGreedyIsRepeatable() throws Exception {
        String[] args = {"--model", MODEL.toString(), "--data", PROBLEMS.toString(), "--pid-splits", SQA.resolve("pid_splits_150.json").toString(),
                "--captions", SQA.resolve("captions.json").toString(), "--split", "val", "--limit", "12", "--json", "--quiet"};
        String line = eval(concat(args, "--batch", "5")).strip();
        assertThat(line).doesNotContain("\n");
        JsonNode n = new ObjectMapper().readTree(line);
        assertThat(n.get("count").asInt()).isEqualTo(12);
        for (Category c : Category.values()) assertThat(n.get("accuracy").has(c.title)).as(c.title).isTrue();
        assertThat(n.get("problems_per_s").asDouble()).isPositive();
        // greedy decoding in batches of 5 and of 12 gives the same answers
        JsonNode again = new ObjectMapper().readTree(eval(concat(args, "--batch", "12")).strip());
        assertThat(again.get("counts")).isEqualTo(n.get("counts"));
    }

    @Test
    void trainOnTheTrainSplitThenEvaluateTheAdapter() throws Exception {
        Path adapter = tmp.resolve("sqa.safetensors");
        StringWriter err = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setErr(new PrintWriter(err, true));
        int rc = cl.execute("train", "--model", MODEL.toString(), "--data", PROBLEMS.toString(), "--format", "scienceqa", "--split", "train",
                "--val-split", "val", "--out", adapter.toString(), "--epochs", "1", "--batch-size", "16", "--micro-batch-size", "8",
                "--lr", "2e-2", "--warmup-epochs", "0", "--quiet");
        assertThat(rc).as(err.toString()).isZero();
        assertThat(adapter).isNotEmptyFile();
        String metrics = Files.readString(tmp.resolve("sqa.metrics.jsonl"));
        assertThat(metrics).contains("\"train\"").contains("\"val\"");
        String table = eval("--model", MODEL.toString(), "--adapter", adapter.toString(), "--data", PROBLEMS.toString(), "--limit", "8", "--quiet");
        assertThat(table).contains("+ " + adapter).contains("correct / count");
    }

    @Test
    void badInputIsOneClearLine() throws Exception {
        String[] base = {"eval", "scienceqa", "--model", MODEL.toString(), "--quiet"};
        assertThat(fails(concat(base, "--data", PROBLEMS.toString(), "--split", "dev"))).contains("no split 'dev'").contains("train, test, val");
        Path broken = tmp.resolve("broken.json");
        Files.writeString(broken, "{\"1\": {\"question\": \"q\",\n \"choices\": [\"a\" \"b\"]}}");
        assertThat(fails(concat(base, "--data", broken.toString()))).contains(broken + ":2:").contains("malformed JSON");
        // the full official splits name problems this 150-problem file does not hold
        assertThat(fails(concat(base, "--data", PROBLEMS.toString(), "--pid-splits", SQA.resolve("pid_splits.json").toString())))
                .contains("pid_splits.json: pid").contains("is not in " + PROBLEMS);
        assertThat(fails(concat(base, "--data", PROBLEMS.toString(), "--image-root", tmp.resolve("nope").toString()))).contains("nope: the image folder does not exist");
        assertThat(fails("train", "--model", MODEL.toString(), "--data", PROBLEMS.toString(), "--format", "scienceqa", "--split", "nope",
                "--out", tmp.resolve("x.safetensors").toString(), "--quiet")).contains("no split 'nope'");
        assertThat(fails("train", "--model", MODEL.toString(), "--data", PROBLEMS.toString(), "--format", "csv",
                "--out", tmp.resolve("x.safetensors").toString(), "--quiet")).contains("--format csv");
    }

    static String[] concat(String[] a, String... b) {
        return java.util.stream.Stream.concat(java.util.Arrays.stream(a), java.util.Arrays.stream(b)).toArray(String[]::new);
    }
}

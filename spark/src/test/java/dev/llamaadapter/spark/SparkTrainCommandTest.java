package dev.llamaadapter.spark;

import dev.llamaadapter.adapter.AdapterFile;
import dev.llamaadapter.cli.Main;
import dev.llamaadapter.model.AdaptionPrompts;
import dev.llamaadapter.model.BaseModel;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * train --spark local[2] as a user runs it, on the real stories260K model: the core finds the Spark
 * module through ServiceLoader; the run matches the single-process trainer step by step; a driver
 * killed mid-run (SIGKILL) resumes from its checkpoint to the uninterrupted run's adapter.
 */
class SparkTrainCommandTest {
    static final Path MODEL = Path.of("../../shared/assets/stories260K/hf"); // from spark/, the module's directory
    static final String[] NAMES = {"Lily", "Tom", "Ben", "Mia", "Sam", "Anna", "Max", "Lucy"};

    @TempDir
    static Path tmp;
    static Path data;

    @BeforeAll
    static void makeData() throws Exception {
        assumeTrue(Files.isDirectory(MODEL), "../shared is absent");
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 56; i++) {
            String name = NAMES[i % NAMES.length];
            lines.add(String.format("{\"instruction\": \"Continue the story about %s.\", \"input\": \"%s\", \"output\": \"%s went to the park. %s saw a big dog.\"}",
                    name, i % 3 == 0 ? "" : "It is sunny.", name, name));
        }
        data = tmp.resolve("names.jsonl");
        Files.write(data, lines);
    }

    /** 48 training examples, micro-batches of 4, 8 per step: 6 steps an epoch, 3 epochs. */
    static List<String> args(Path out, String... extra) {
        List<String> a = new ArrayList<>(List.of("train", "--model", MODEL.toString(), "--data", data.toString(), "--out", out.toString(),
                "--val-split", "8", "--epochs", "3", "--warmup-epochs", "1", "--batch-size", "8", "--micro-batch-size", "4",
                "--lr", "2e-2", "--seed", "3", "--quiet"));
        a.addAll(Arrays.asList(extra));
        return a;
    }

    static void train(Path out, String... extra) {
        StringWriter err = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setErr(new PrintWriter(err, true));
        int rc = cl.execute(args(out, extra).toArray(String[]::new));
        assertThat(rc).as(err.toString()).isZero();
    }

    static AdaptionPrompts adapter(Path file) throws Exception {
        try (BaseModel base = BaseModel.open(MODEL)) {
            return AdapterFile.read(file, base).prompts();
        }
    }

    static List<Double> losses(Path metrics) throws Exception {
        List<Double> out = new ArrayList<>();
        for (String l : Files.readAllLines(metrics))
            if (l.contains("\"train\"")) out.add(Double.parseDouble(l.replaceAll(".*\"loss\":([-0-9.Ee]+).*", "$1")));
        return out;
    }

    @Test
    void sparkMatchesTheSingleProcessAndAKilledDriverResumesToTheSameAdapter() throws Exception {
        Path single = tmp.resolve("single.safetensors"), spark = tmp.resolve("spark.safetensors");
        train(single);
        train(spark, "--spark", "local[2]");

        // the same loss curve step by step and the same adapter, up to float summation order
        List<Double> a = losses(tmp.resolve("single.metrics.jsonl")), b = losses(tmp.resolve("spark.metrics.jsonl"));
        assertThat(b).hasSize(18).hasSameSizeAs(a);
        for (int i = 0; i < a.size(); i++)
            assertThat(Math.abs(b.get(i) - a.get(i)) / a.get(i)).as("step %d: spark %s, single process %s", i + 1, b.get(i), a.get(i))
                    .isLessThanOrEqualTo(SparkTrainingTest.LOSS_REL_TOL);
        AdaptionPrompts s = adapter(single), p = adapter(spark);
        for (int i = 0; i < s.prompt.length; i++) assertThat((double) p.prompt[i]).isCloseTo(s.prompt[i], org.assertj.core.data.Offset.offset(SparkTrainingTest.WEIGHT_TOL));
        for (int i = 0; i < s.gate.length; i++) assertThat((double) p.gate[i]).isCloseTo(s.gate[i], org.assertj.core.data.Offset.offset(SparkTrainingTest.WEIGHT_TOL));

        // a driver process killed after some steps, then resumed from its checkpoint
        Path cut = tmp.resolve("cut.safetensors"), metrics = tmp.resolve("cut.metrics.jsonl"), log = tmp.resolve("cut.log");
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse("java"));
        cmd.addAll(Arrays.asList(System.getProperty("spark.jvm.flags", "--add-modules=jdk.incubator.vector").trim().split("\\s+")));
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(args(cut, "--spark", "local[2]", "--save-every", "1"));
        Process proc = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        long deadline = System.nanoTime() + 120_000_000_000L;
        while (proc.isAlive() && steps(metrics) < 7 && System.nanoTime() < deadline) Thread.sleep(5);
        assertThat(proc.isAlive()).as("the driver must still be running when killed: " + Files.readString(log)).isTrue();
        proc.destroyForcibly().waitFor(); // SIGKILL: no shutdown hook, no tidying up
        assertThat(cut).doesNotExist();
        assertThat(tmp.resolve("cut.ckpt.safetensors")).exists();

        train(cut, "--spark", "local[2]", "--save-every", "1", "--resume");
        AdaptionPrompts whole = adapter(spark), resumed = adapter(cut);
        // two partitions per step: their partials add the same in either order, so Spark runs repeat bit for bit
        assertThat(resumed.prompt).containsExactly(whole.prompt);
        assertThat(resumed.gate).containsExactly(whole.gate);
    }

    static long steps(Path metrics) {
        try {
            return Files.exists(metrics) ? Files.readAllLines(metrics).stream().filter(l -> l.contains("\"train\"")).count() : 0;
        } catch (Exception e) {
            return 0;
        }
    }
}

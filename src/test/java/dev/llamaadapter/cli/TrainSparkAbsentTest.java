package dev.llamaadapter.cli;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;

import static org.assertj.core.api.Assertions.assertThat;

/** The core jar has no Spark: train --spark must say how to get the Spark module, before touching any file. */
class TrainSparkAbsentTest {
    static String train(String... extra) {
        StringWriter err = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setErr(new PrintWriter(err, true));
        String[] base = {"train", "--model", "no-such-model", "--data", "no-such-data.jsonl", "--out", "never.safetensors", "--spark", "local[2]"};
        int rc = cl.execute(java.util.stream.Stream.concat(java.util.Arrays.stream(base), java.util.Arrays.stream(extra)).toArray(String[]::new));
        assertThat(rc).isEqualTo(2);
        return err.toString();
    }

    @Test
    void sparkWithoutTheModuleSaysHowToRunIt() {
        assertThat(train()).contains("--spark needs the spark module").contains("llama-adapter-spark.jar").contains("spark-submit")
                .doesNotContain("no-such-model");
    }

    @Test
    void sparkTrainsAdaptersOnly() {
        assertThat(train("--full")).contains("--spark trains adapters only");
    }
}

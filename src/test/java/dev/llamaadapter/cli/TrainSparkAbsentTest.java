package dev.llamaadapter.cli;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;

import static org.assertj.core.api.Assertions.assertThat;

/** The core jar has no Spark: train --spark must say how to get the Spark module, before touching any file. */
class TrainSparkAbsentTest {
    @Test
    void sparkWithoutTheModuleSaysHowToRunIt() {
        StringWriter err = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setErr(new PrintWriter(err, true));
        int rc = cl.execute("train", "--model", "no-such-model", "--data", "no-such-data.jsonl", "--out", "never.safetensors", "--spark", "local[2]");
        assertThat(rc).isEqualTo(2);
        assertThat(err.toString()).contains("--spark needs the spark module").contains("llama-adapter-spark.jar").contains("spark-submit")
                .doesNotContain("no-such-model");
    }
}

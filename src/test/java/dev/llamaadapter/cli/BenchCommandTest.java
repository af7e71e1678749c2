package dev.llamaadapter.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/** `bench --json` as anyone checks us: one JSON line with the contract's fields, for training and for generation. */
class BenchCommandTest {

    static JsonNode run(String... args) throws Exception {
        PrintStream old = System.out;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        int rc;
        try {
            System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
            rc = new picocli.CommandLine(new BenchCommand()).execute(args);
        } finally {
            System.setOut(old);
        }
        assertThat(rc).isZero();
        String[] lines = buf.toString(StandardCharsets.UTF_8).strip().split("\n");
        return new ObjectMapper().readTree(lines[lines.length - 1]);
    }

    @Test
    void trainingStepLine() throws Exception {
        JsonNode n = run("--shape", "small", "--steps", "1", "--warmup", "0", "--json");
        assertThat(n.get("shape").asText()).isEqualTo("small");
        assertThat(n.get("dtype").asText()).isEqualTo("f32");
        for (String f : new String[] {"ms_per_step", "tokens_per_s", "gflops", "peak_rss_mb"})
            assertThat(n.get(f).asDouble()).as(f).isPositive();
        assertThat(n.get("backend").asText()).isNotEmpty();
    }

    @Test
    void generationLineSetsDecodingAgainstTheBandwidthBound() throws Exception {
        JsonNode n = run("--shape", "small", "--generate", "--json");
        assertThat(n.get("mode").asText()).isEqualTo("generate");
        assertThat(n.get("decode")).hasSize(3);
        assertThat(n.get("weight_bytes_per_token").asLong()).isEqualTo(111_149_056L); // 8 layers of f32 projections plus the head, read once per token
        double copy = n.get("copy_gbps").asDouble(), read = n.get("read_gbps").asDouble(), tps = n.get("decode_tokens_per_s").asDouble();
        assertThat(copy).isPositive();
        assertThat(read).isPositive();
        assertThat(tps).isPositive();
        // the bounds follow from the medians; each fraction is the median of the rounds' own ratios, so it is near, not equal to, the ratio of medians
        assertThat(n.get("bound_tokens_per_s").asDouble()).isCloseTo(copy * 1e9 / 111_149_056L, org.assertj.core.data.Percentage.withPercentage(1));
        assertThat(n.get("bound_tokens_per_s_read").asDouble()).isCloseTo(read * 1e9 / 111_149_056L, org.assertj.core.data.Percentage.withPercentage(1));
        assertThat(n.get("fraction_of_bound").asDouble()).isBetween(0.0, 3.0);
        assertThat(n.get("fraction_of_read_bound").asDouble()).isBetween(0.0, 3.0);
        assertThat(n.get("rounds").asInt()).isEqualTo(5);
    }

    @Test
    void generationWithAnAbsentLlamaCppPeerSaysWhyInTheLine() throws Exception {
        JsonNode n = run("--shape", "small", "--generate", "--json", "--peer", "llamacpp", "--peers-dir", "/nonexistent/peers");
        assertThat(n.get("mode").asText()).isEqualTo("generate");
        assertThat(n.get("llamacpp").get("note").asText()).contains("/nonexistent/peers");
        assertThat(n.get("decode").get(1).get("ms_per_step").asDouble()).isPositive();
    }

    @Test
    void serveUnderConcurrentStreamingClients() throws Exception {
        java.nio.file.Path model = java.nio.file.Path.of("../shared/assets/stories260K/stories260K.gguf");
        org.junit.jupiter.api.Assumptions.assumeTrue(java.nio.file.Files.isRegularFile(model), "../shared is absent");
        JsonNode n = run("--serve", "4", "--model", model.toString(), "--tokens", "12", "--json");
        assertThat(n.get("mode").asText()).isEqualTo("serve");
        assertThat(n.get("clients").asInt()).isEqualTo(4);
        assertThat(n.get("aggregate_tokens_per_s").asDouble()).isPositive();
        assertThat(n.get("one").get("tokens_per_s").asDouble()).isPositive();
        assertThat(n.get("first_token_s_max").asDouble()).isGreaterThanOrEqualTo(n.get("first_token_s_median").asDouble());
    }
}

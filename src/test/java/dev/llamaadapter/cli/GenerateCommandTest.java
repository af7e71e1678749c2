package dev.llamaadapter.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** `generate --json` as anyone checks us: stories260K's greedy continuation of BOS through the KV cache. */
class GenerateCommandTest {
    static final Path DIR = Path.of("../shared/assets/stories260K");

    @Test
    void greedyContinuationOfBosThroughTheKvCache() throws Exception {
        assumeTrue(Files.isDirectory(DIR.resolve("hf")), "../shared is absent");
        JsonNode n = new ObjectMapper().readTree(GenerateCommand.runForTest("--model", DIR.resolve("hf").toString(), "--prompt-ids", "1",
                "--max-tokens", "200", "--greedy", "--json"));
        int[] expected = Arrays.stream(Files.readString(DIR.resolve("expected_greedy200_ids.txt")).trim().split("\\s+")).mapToInt(Integer::parseInt).toArray();
        int[] got = new int[n.get("token_ids").size()];
        for (int i = 0; i < got.length; i++) got[i] = n.get("token_ids").get(i).asInt();
        assertThat(got).containsExactly(Arrays.copyOfRange(expected, 1, expected.length));
        assertThat(n.get("prompt_tokens").asInt()).isEqualTo(1);
        assertThat(n.get("finish_reason").asText()).isEqualTo("length");
        assertThat(n.get("text").asText()).isEqualTo(Files.readString(DIR.resolve("expected_greedy200.txt")).strip());
        assertThat(n.has("decode_tokens_per_s")).isTrue();
    }

    @Test
    void stopStringsEndTheTextBeforeThem() throws Exception {
        assumeTrue(Files.isDirectory(DIR.resolve("hf")), "../shared is absent");
        JsonNode n = new ObjectMapper().readTree(GenerateCommand.runForTest("--model", DIR.resolve("hf").toString(), "--prompt-ids", "1",
                "--max-tokens", "200", "--greedy", "--stop", "Lily", "--json"));
        assertThat(n.get("text").asText()).isEqualTo("Once upon a time, there was a little girl named ");
        assertThat(n.get("finish_reason").asText()).isEqualTo("stop");
    }

    @Test
    void generatedTextContinuesThePromptWithItsSpaces() throws Exception {
        assumeTrue(Files.isDirectory(DIR.resolve("hf")), "../shared is absent");
        JsonNode n = new ObjectMapper().readTree(GenerateCommand.runForTest("--model", DIR.resolve("hf").toString(), "--prompt", "Once upon",
                "--max-tokens", "3", "--greedy", "--json"));
        assertThat(n.get("text").asText()).isEqualTo(" a time,");
    }
}

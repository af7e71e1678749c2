package dev.llamaadapter.bench;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

/** llama-bench's JSON (a real one, kept as test data: b4747 on stories260K, -p 16 -n 8 -r 2) read as the peer's figures. */
class LlamaCppPeerTest {

    @Test
    void readsPromptAndGenerationFiguresFromLlamaBenchJson() throws Exception {
        String json;
        try (var in = getClass().getResourceAsStream("/bench/llama-bench-stories260K.json")) {
            json = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        // llama-bench prints its log to stderr and the JSON array to stdout; anything before '[' is skipped
        LlamaCppPeer.Figures f = LlamaCppPeer.parse("build: unknown\n" + json);
        assertThat(f.ran()).isTrue();
        var tree = new com.fasterxml.jackson.databind.ObjectMapper().readTree(json);
        assertThat(f.promptTokensPerS()).isEqualTo(tree.get(0).get("avg_ts").asDouble());
        assertThat(f.decodeTokensPerS()).isEqualTo(tree.get(1).get("avg_ts").asDouble());
        assertThat(f.promptStdev()).isEqualTo(tree.get(0).get("stddev_ts").asDouble());
        assertThat(f.cpu()).isNotEmpty();
    }

    @Test
    void noJsonIsAFailureWithAReason() throws Exception {
        LlamaCppPeer.Figures f = LlamaCppPeer.parse("error: failed to load model\n");
        assertThat(f.ran()).isFalse();
        assertThat(f.note()).contains("no JSON");
    }
}

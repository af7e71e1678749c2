package dev.llamaadapter.generate;

import dev.llamaadapter.model.LlamaConfig;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The one context rule of generate, chat, serve and eval (issue #21 item 4). */
class ContextLengthTest {
    static LlamaConfig model(Integer maxPos) {
        return new LlamaConfig(64, 128, 2, 4, 2, 100, 1e-5, 10000, false, null, maxPos, null, List.of(), "silu");
    }

    @Test
    void defaultsToTheModelsPositionsElse2048() {
        List<String> warnings = new ArrayList<>();
        assertThat(ContextLength.resolve(null, "--context", model(512), warnings::add)).isEqualTo(512);
        assertThat(ContextLength.resolve(null, "--context", model(null), warnings::add)).isEqualTo(ContextLength.FALLBACK);
        assertThat(ContextLength.resolve(300, "--context", model(512), warnings::add)).isEqualTo(300);
        assertThat(warnings).isEmpty();
    }

    @Test
    void pastTheModelWarnsOnceAndNonsenseIsRefused() {
        List<String> warnings = new ArrayList<>();
        assertThat(ContextLength.resolve(4096, "--context", model(512), warnings::add)).isEqualTo(4096);
        assertThat(warnings).singleElement().asString().contains("4096").contains("max_position_embeddings 512");
        assertThatThrownBy(() -> ContextLength.resolve(0, "--context", model(512), warnings::add)).hasMessageContaining("--context 0");
        assertThatThrownBy(() -> ContextLength.resolve(-1, "--context", model(512), warnings::add)).hasMessageContaining("--context -1");
        assertThatThrownBy(() -> ContextLength.checkPrompt(7, 7, "--context")).hasMessageContaining("too short for the prompt's 7 tokens");
        ContextLength.checkPrompt(6, 7, "--context");
    }
}

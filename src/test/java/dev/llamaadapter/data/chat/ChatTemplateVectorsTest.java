package dev.llamaadapter.data.chat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The real chat templates of Llama 3.1, Qwen3 and Gemma 3 (tokenizer_config.json in ../shared, skipped when
 * absent) against Hugging Face's JavaScript Jinja: each conversation of
 * src/test/resources/chat/chat-template-vectors.json (regenerate with scripts/hf_chat_template_vectors.mjs),
 * with and without the generation prompt, renders to the same text; where the reference raised, ours raises
 * with the same reason, in one line naming the file. All disagreements are collected before failing.
 */
class ChatTemplateVectorsTest {

    static final Path TOKENIZERS = Path.of("../shared/assets/tokenizers");

    /** Small templates of our own, one construct of the real ones each (no shared assets needed). */
    @Test
    void constructsRenderAsTheReference() throws IOException {
        JsonNode root;
        try (InputStream in = getClass().getResourceAsStream("/chat/chat-template-vectors.json")) {
            root = new ObjectMapper().readTree(in);
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> variables = new ObjectMapper().treeToValue(root.get("construct_variables"), Map.class);
        List<String> wrong = new ArrayList<>();
        JsonNode constructs = root.get("constructs");
        for (int i = 0; i < constructs.size(); i++) {
            JsonNode c = constructs.get(i);
            ChatTemplate template = new ChatTemplate(Path.of("construct-" + i), c.get("template").asText(), Map.of());
            try {
                String text = template.render(variables, true);
                if (c.has("error") || !text.equals(c.get("text").asText()))
                    wrong.add("#" + i + ": got " + text + ", reference " + (c.has("error") ? "raised " + c.get("error") : c.get("text")));
            } catch (ChatTemplateException e) {
                wrong.add("#" + i + ": raised " + e.getMessage() + ", reference " + c);
            }
        }
        assertThat(constructs.size()).isGreaterThanOrEqualTo(10);
        assertThat(wrong).as(wrong.size() + " disagreements over " + constructs.size() + " constructs").isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"hf-llama3_1", "hf-qwen3", "hf-gemma3"})
    void rendersAsTheReference(String family) throws IOException {
        Path dir = TOKENIZERS.resolve(family);
        assumeTrue(Files.isRegularFile(dir.resolve("tokenizer_config.json")), "shared assets absent: " + dir);
        ChatTemplate template = ChatTemplate.load(dir);
        JsonNode root;
        try (InputStream in = getClass().getResourceAsStream("/chat/chat-template-vectors.json")) {
            root = new ObjectMapper().readTree(in);
        }
        ObjectMapper mapper = new ObjectMapper();
        List<String> wrong = new ArrayList<>();
        int cases = 0;
        for (JsonNode c : root.get("cases")) {
            if (!c.get("family").asText().equals(family)) continue;
            cases++;
            String name = c.get("conversation").asText();
            boolean generationPrompt = c.get("add_generation_prompt").asBoolean();
            Map<String, Object> variables = ChatTemplate.variables(mapper.treeToValue(root.get("conversations").get(name), Object.class));
            String label = name + (generationPrompt ? "" : " (no generation prompt)");
            try {
                String text = template.render(variables, generationPrompt);
                if (c.has("error")) wrong.add(label + ": rendered, reference raised " + c.get("error").asText());
                else if (!text.equals(c.get("text").asText()))
                    wrong.add(label + ":\n got       " + mapper.writeValueAsString(text) + "\n reference " + mapper.writeValueAsString(c.get("text").asText()));
            } catch (ChatTemplateException e) {
                if (!c.has("error")) wrong.add(label + ": raised " + e.getMessage());
                else if (!e.getMessage().equals(dir.resolve("tokenizer_config.json") + ": the template raised: " + c.get("error").asText()))
                    wrong.add(label + ": raised " + e.getMessage() + ", reference " + c.get("error").asText());
            }
        }
        assertThat(cases).isGreaterThan(10);
        assertThat(wrong).as(family + ": " + wrong.size() + " disagreements over " + cases + " renderings").isEmpty();
    }
}

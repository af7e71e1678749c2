package dev.llamaadapter.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llamaadapter.adapter.AdapterFile;
import dev.llamaadapter.data.PromptTemplate;
import dev.llamaadapter.data.chat.ChatTemplate;
import dev.llamaadapter.generate.AdapterRegistry;
import dev.llamaadapter.model.AdaptionPrompts;
import dev.llamaadapter.model.BaseModel;
import dev.llamaadapter.model.GateActivation;
import dev.llamaadapter.tokenizer.Tokenizer;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * generate --chat and chat give an adapter the prompt it was trained on: the chat template it records, or the
 * Alpaca template when it records none.
 */
class ChatAdapterPromptTest {
    static final Path MODEL = Path.of("../shared/assets/stories260K/hf");
    static final String TEMPLATE = "{{ bos_token }}{% for m in messages %}[{{ m.role }}] {{ m.content }}\n{% endfor %}"
            + "{% if add_generation_prompt %}[assistant] {% endif %}";

    @TempDir
    Path tmp;
    Path chatAdapter, alpacaAdapter;

    @BeforeEach
    void adapters() throws Exception {
        assumeTrue(Files.isDirectory(MODEL), "../shared is absent");
        AdaptionPrompts p = AdaptionPrompts.init(4, 3, 64, 8, GateActivation.TANH, 1);
        Map<String, String> meta = new HashMap<>(new ChatTemplate(Path.of("t"), TEMPLATE, Map.of("bos_token", "<s>")).metadata());
        chatAdapter = tmp.resolve("chat.safetensors");
        AdapterFile.write(chatAdapter, p, 5, meta);
        alpacaAdapter = tmp.resolve("alpaca.safetensors");
        AdapterFile.write(alpacaAdapter, p, 5, Map.of());
    }

    static JsonNode generate(Path adapter, String message) throws Exception {
        return new ObjectMapper().readTree(GenerateCommand.runForTest("--model", MODEL.toString(), "--adapter", adapter.toString(),
                "--chat", message, "--max-tokens", "2", "--greedy", "--json", "--context", "256"));
    }

    @Test
    void generateChatUsesTheRecordedTemplateElseAlpacas() throws Exception {
        Tokenizer tok = Tokenizer.load(MODEL);
        int[] templated = tok.encode("<s>[user] Tell me a story.\n[assistant] ");
        assertThat(generate(chatAdapter, "Tell me a story.").get("prompt_tokens").asInt()).isEqualTo(templated.length);
        int alpaca = 1 + tok.encode(PromptTemplate.prompt("Tell me a story.", "")).length;
        assertThat(generate(alpacaAdapter, "Tell me a story.").get("prompt_tokens").asInt()).isEqualTo(alpaca);
        assertThat(templated.length).isNotEqualTo(alpaca);
    }

    @Test
    void chatRendersEachLineAsTheAdapterWasTrained() throws Exception {
        try (BaseModel base = BaseModel.open(MODEL)) {
            Tokenizer tok = base.tokenizer();
            AdapterRegistry registry = new AdapterRegistry(base, base.transformer());
            assertThat(ChatCommand.prompt(tok, registry.load("chat", chatAdapter), null, "Hi"))
                    .isEqualTo(tok.encode("<s>[user] Hi\n[assistant] "));
            int[] body = tok.encode(PromptTemplate.prompt("Hi", ""));
            int[] alpaca = ChatCommand.prompt(tok, registry.load("alpaca", alpacaAdapter), null, "Hi");
            assertThat(alpaca[0]).isEqualTo(tok.bosId());
            assertThat(java.util.Arrays.copyOfRange(alpaca, 1, alpaca.length)).isEqualTo(body);
            assertThat(ChatCommand.prompt(tok, null, null, "Hi")).as("a base model without a template: Alpaca").isEqualTo(alpaca);
            ChatTemplate own = new ChatTemplate(Path.of("t"), TEMPLATE, Map.of("bos_token", "<s>"));
            assertThat(ChatCommand.prompt(tok, null, own, "Hi")).as("an instruct base model: its own template")
                    .isEqualTo(tok.encode("<s>[user] Hi\n[assistant] "));
            assertThat(ChatCommand.prompt(tok, registry.get("alpaca"), own, "Hi")).as("an Alpaca adapter keeps Alpaca").isEqualTo(alpaca);
        }
    }

    @Test
    void aBaseModelAnswersWithTheTemplateItsDirectoryDeclares() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("instruct"));
        try (var files = Files.list(MODEL)) {
            for (Path f : (Iterable<Path>) files::iterator) Files.copy(f, dir.resolve(f.getFileName()));
        }
        assertThat(ChatTemplate.ofModel(dir)).as("stories260K declares no template").isNull();
        Files.writeString(dir.resolve("tokenizer_config.json"), new ObjectMapper().writeValueAsString(Map.of("chat_template", TEMPLATE, "bos_token", "<s>")));
        Tokenizer tok = Tokenizer.load(MODEL);
        JsonNode out = new ObjectMapper().readTree(GenerateCommand.runForTest("--model", dir.toString(), "--chat", "Tell me a story.",
                "--max-tokens", "2", "--greedy", "--json", "--context", "256"));
        assertThat(out.get("prompt_tokens").asInt()).isEqualTo(tok.encode("<s>[user] Tell me a story.\n[assistant] ").length);
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"chat_template\": ");
        assertThatThrownBy(() -> ChatTemplate.ofModel(dir)).hasMessageContaining("tokenizer_config.json").hasMessageContaining("not valid JSON");
    }

    @Test
    void aConversationKeepsItsTurnsAsServeRendersThem() throws Exception {
        try (BaseModel base = BaseModel.open(MODEL)) {
            Tokenizer tok = base.tokenizer();
            AdapterRegistry registry = new AdapterRegistry(base, base.transformer());
            var turns = List.of(new dev.llamaadapter.serve.ChatPrompt.Message("user", "Hi"),
                    new dev.llamaadapter.serve.ChatPrompt.Message("assistant", "Hello."),
                    new dev.llamaadapter.serve.ChatPrompt.Message("user", "A story?"));
            assertThat(ChatCommand.prompt(tok, registry.load("chat", chatAdapter), null, turns))
                    .isEqualTo(tok.encode("<s>[user] Hi\n[assistant] Hello.\n[user] A story?\n[assistant] "));
            // an Alpaca adapter: the earlier turns go into the input, as serve's chat endpoint puts them
            int[] alpaca = ChatCommand.prompt(tok, registry.load("alpaca", alpacaAdapter), null, turns);
            int[] body = tok.encode(PromptTemplate.prompt("A story?", "User: Hi\nAssistant: Hello."));
            assertThat(java.util.Arrays.copyOfRange(alpaca, 1, alpaca.length)).isEqualTo(body);
            assertThat(body).isEqualTo(tok.encode(dev.llamaadapter.serve.ChatPrompt.render(turns).text()));
        }
    }
}

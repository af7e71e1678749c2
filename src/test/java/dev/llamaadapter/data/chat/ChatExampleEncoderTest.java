package dev.llamaadapter.data.chat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llamaadapter.data.Example;
import dev.llamaadapter.tokenizer.EndOfTurn;
import dev.llamaadapter.tokenizer.Tokenizer;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Conversations through the real chat templates and tokenizers of Llama 3.1, Qwen3 and Gemma 3 (../shared,
 * skipped when absent): the example's ids are the rendered text tokenized whole, and the scored targets are
 * exactly each assistant turn as the model must write it, through its end-of-turn token: nothing of the
 * system, user or header text, nor the newline some templates write after the marker.
 */
class ChatExampleEncoderTest {
    static final Path TOKENIZERS = Path.of("../shared/assets/tokenizers");

    static final String CONVERSATION = """
            {"messages": [
              {"role": "system", "content": "You are terse."},
              {"role": "user", "content": "Say hi."},
              {"role": "assistant", "content": "Hi there!"},
              {"role": "user", "content": "And now bye, in two words."},
              {"role": "assistant", "content": "Bye, friend."}]}""";

    static Conversation conversation(String json) throws Exception {
        return ConversationFile.conversation("test.jsonl:1", new ObjectMapper().readTree(json));
    }

    /**
     * turn1 / turn2: each assistant turn as the template writes it after its header (Qwen3 gives the last turn, the
     * one after the last user message, its empty think block; Llama and Gemma trim content). eot: the marker.
     */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = ';', value = {
            "hf-llama3_1 ; Hi there!<|eot_id|>        ; Bye, friend.<|eot_id|>",
            "hf-qwen3    ; Hi there!<|im_end|>        ; <think>\\n\\n</think>\\n\\nBye, friend.<|im_end|>",
            "hf-gemma3   ; Hi there!<end_of_turn>     ; Bye, friend.<end_of_turn>"})
    void onlyAssistantTurnsAndTheirEndOfTurnAreScored(String name, String turn1, String turn2) throws Exception {
        Path dir = TOKENIZERS.resolve(name);
        assumeTrue(Files.isRegularFile(dir.resolve("tokenizer_config.json")), "shared assets absent: " + dir);
        Tokenizer tok = tokenizer(dir);
        ChatTemplate template = ChatTemplate.load(dir);
        Conversation c = conversation(CONVERSATION);
        Example e = new ChatExampleEncoder(template, tok, EndOfTurn.ids(tok, List.of()), 4096, false).encode(c);

        String text = template.render(c.variables(), false);
        assertThat(e.ids()).as("the rendered text, tokenized whole, no BOS added").isEqualTo(tok.encode(text));
        List<Integer> scored = new ArrayList<>();
        for (int t = 0; t < e.length(); t++) if (e.labels()[t] != -100) {
            assertThat(e.labels()[t]).as("label t is the id at t+1").isEqualTo(e.ids()[t + 1]);
            scored.add(e.labels()[t]);
        }
        int[] expected = IntStream.concat(IntStream.of(tok.encode(unescape(turn1))), IntStream.of(tok.encode(unescape(turn2)))).toArray();
        assertThat(scored).as("the scored targets are the two assistant turns through their end-of-turn tokens")
                .containsExactly(IntStream.of(expected).boxed().toArray(Integer[]::new));
        assertThat(e.scored()).isEqualTo(expected.length);
        // every scored span ends on an end-of-turn token the model declares
        assertThat(EndOfTurn.ids(tok, List.of())).contains(expected[expected.length - 1]);
        System.out.printf("%s: %d tokens, %d scored (assistant turns) of the rendered text%n", name, e.length(), e.scored());
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"hf-llama3_1", "hf-qwen3", "hf-gemma3"})
    void scorePromptScoresEveryTarget(String name) throws Exception {
        Path dir = TOKENIZERS.resolve(name);
        assumeTrue(Files.isRegularFile(dir.resolve("tokenizer_config.json")), "shared assets absent: " + dir);
        Tokenizer tok = tokenizer(dir);
        Example e = new ChatExampleEncoder(ChatTemplate.load(dir), tok, EndOfTurn.ids(tok, List.of()), 4096, true).encode(conversation(CONVERSATION));
        assertThat(e.scored()).isEqualTo(e.length() - 1);
    }

    /** Generation stops at each family's end-of-turn marker (Generator takes these ids), and at EOS. */
    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = ';', value = {"hf-llama3_1; <|eot_id|>; 128009", "hf-qwen3; <|im_end|>; 151645", "hf-gemma3; <end_of_turn>; 106"})
    void endOfTurnHoldsEachFamilysMarker(String name, String marker, int id) throws Exception {
        Path dir = TOKENIZERS.resolve(name);
        assumeTrue(Files.isRegularFile(dir.resolve("tokenizer.json")), "shared assets absent: " + dir);
        Tokenizer tok = tokenizer(dir);
        assertThat(tok.specialTokenId(marker)).isEqualTo(id);
        assertThat(EndOfTurn.ids(tok, List.of(7))).contains(id, 7, tok.eosId());
    }

    @org.junit.jupiter.api.Test
    void gemmasRoleRuleIsOneLineNamingTheRecord() throws Exception {
        Path dir = TOKENIZERS.resolve("hf-gemma3");
        assumeTrue(Files.isRegularFile(dir.resolve("tokenizer_config.json")), "shared assets absent: " + dir);
        Tokenizer tok = tokenizer(dir);
        Conversation twoUsers = conversation("""
                {"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}, {"role": "assistant", "content": "c"}]}""");
        assertThatThrownBy(() -> new ChatExampleEncoder(ChatTemplate.load(dir), tok, EndOfTurn.ids(tok, List.of()), 512, false).encode(twoUsers))
                .hasMessage("test.jsonl:1: " + dir.resolve("tokenizer_config.json")
                        + ": the template raised: Conversation roles must alternate user/assistant/user/assistant/...");
    }

    /** A template that ends turns in plain text, no end-of-turn token: the turn ends where its rendering ends. */
    @org.junit.jupiter.api.Test
    void aTemplateWithoutEndOfTurnTokensEndsTurnsByRendering() throws Exception {
        Path dir = TOKENIZERS.resolve("hf-qwen3");
        assumeTrue(Files.isRegularFile(dir.resolve("tokenizer.json")), "shared assets absent: " + dir);
        Tokenizer tok = tokenizer(dir);
        ChatTemplate plain = new ChatTemplate(Path.of("plain.jinja"),
                "{% for m in messages %}{{ m.role }}:\n{{ m.content }}\n{% endfor %}{% if add_generation_prompt %}assistant:\n{% endif %}", Map.of());
        Example e = new ChatExampleEncoder(plain, tok, EndOfTurn.ids(tok, List.of()), 512, false).encode(conversation(CONVERSATION));
        List<Integer> scored = new ArrayList<>();
        for (int l : e.labels()) if (l != -100) scored.add(l);
        int[] expected = IntStream.concat(IntStream.of(tok.encode("Hi there!\n")), IntStream.of(tok.encode("Bye, friend.\n"))).toArray();
        assertThat(scored).containsExactly(IntStream.of(expected).boxed().toArray(Integer[]::new));
    }

    private static final Map<Path, Tokenizer> LOADED = new java.util.concurrent.ConcurrentHashMap<>();

    /** Each real tokenizer loaded once for the class (Gemma's file is 33 MB). */
    static Tokenizer tokenizer(Path dir) throws Exception {
        Tokenizer t = LOADED.get(dir);
        if (t == null) LOADED.put(dir, t = Tokenizer.load(dir));
        return t;
    }

    static String unescape(String s) {
        return s.strip().replace("\\n", "\n");
    }
}

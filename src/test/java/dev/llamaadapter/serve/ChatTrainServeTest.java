package dev.llamaadapter.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llamaadapter.cli.Main;
import dev.llamaadapter.data.Example;
import dev.llamaadapter.data.chat.ChatTemplate;
import dev.llamaadapter.generate.Generator;
import dev.llamaadapter.generate.SamplingParams;
import dev.llamaadapter.io.SafeTensors;
import dev.llamaadapter.model.BaseModel;
import dev.llamaadapter.model.GateActivation;
import dev.llamaadapter.model.LlamaConfig;
import dev.llamaadapter.model.PreparedPrompts;
import dev.llamaadapter.model.TestModels;
import dev.llamaadapter.tensor.DType;
import dev.llamaadapter.tokenizer.Tokenizer;
import dev.llamaadapter.train.TrainingJob;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * train --format chat end to end on a tiny random LLaMA whose tokenizer is Qwen3's real one, chat template
 * included (../shared, skipped when absent): only the assistant turns and their {@code <|im_end|>} are scored,
 * the adapter records the template, and serve's chat endpoint renders with it (the base model keeps Alpaca's).
 */
class ChatTrainServeTest {
    static final Path QWEN3 = Path.of("../shared/assets/tokenizers/hf-qwen3");
    static final String[] NAMES = {"Tom", "Ann", "Bob", "Sue", "Max", "Zoe", "Kim", "Dan"};
    static final String THINK = "<think>\n\n</think>\n\n"; // Qwen3's empty think block, written into the last assistant turn

    @TempDir
    static Path tmp;
    static Path model, data, adapters, adapter;
    static Tokenizer tok;
    /** Each conversation's assistant turns as the template writes them after the header, through <|im_end|>. */
    static final List<List<String>> TURNS = new ArrayList<>();
    static String trainLog;

    @BeforeAll
    static void trainOnConversations() throws Exception {
        assumeTrue(Files.isRegularFile(QWEN3.resolve("tokenizer.json")), "../shared is absent");
        model = Files.createDirectories(tmp.resolve("tiny-qwen-tok"));
        for (String f : List.of("tokenizer.json", "tokenizer_config.json")) Files.copy(QWEN3.resolve(f), model.resolve(f));
        tok = Tokenizer.load(model);
        int V = (tok.vocabSize() + 63) / 64 * 64; // padded past the tokenizer, as Qwen's own vocabularies are
        TestModels.write(model, LlamaConfig.of(32, 64, 2, 4, 2, V, true), DType.F32, 7);
        Files.writeString(model.resolve("generation_config.json"), "{\"eos_token_id\": [151645, 151643]}");

        ObjectMapper json = new ObjectMapper();
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 16; i++) {
            String name = NAMES[i % NAMES.length];
            List<Map<String, String>> m = new ArrayList<>();
            if (i % 2 == 0) {
                m.add(Map.of("role", "user", "content", "Say hi to " + name + "."));
                m.add(Map.of("role", "assistant", "content", "Hi " + name + "!"));
                TURNS.add(List.of(THINK + "Hi " + name + "!<|im_end|>"));
            } else {
                m.add(Map.of("role", "system", "content", "Be brief."));
                m.add(Map.of("role", "user", "content", "Name a friend of " + name + "."));
                m.add(Map.of("role", "assistant", "content", "Ann."));
                m.add(Map.of("role", "user", "content", "Another?"));
                m.add(Map.of("role", "assistant", "content", "Bob and " + name + "."));
                // an assistant turn before the last user message gets no think block
                TURNS.add(List.of("Ann.<|im_end|>", THINK + "Bob and " + name + ".<|im_end|>"));
            }
            sb.append(json.writeValueAsString(Map.of("messages", m))).append('\n');
        }
        data = tmp.resolve("conversations.jsonl");
        Files.writeString(data, sb);
        adapters = Files.createDirectories(tmp.resolve("adapters"));
        adapter = adapters.resolve("qwen-chat.safetensors");
        StringWriter err = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setErr(new PrintWriter(err, true));
        java.io.ByteArrayOutputStream log = new java.io.ByteArrayOutputStream();
        java.io.PrintStream oldErr = System.err;
        System.setErr(new java.io.PrintStream(log, true, java.nio.charset.StandardCharsets.UTF_8));
        int rc;
        try {
            rc = cl.execute("train", "--model", model.toString(), "--data", data.toString(), "--format", "chat", "--out", adapter.toString(),
                    "--epochs", "1", "--batch-size", "4", "--micro-batch-size", "2", "--adapter-len", "2", "--adapter-layers", "2",
                    "--val-split", "0", "--lr", "0.05", "--quiet");
        } finally {
            System.setErr(oldErr);
        }
        trainLog = log.toString(java.nio.charset.StandardCharsets.UTF_8);
        assertThat(rc).as(err + trainLog).isZero();
    }

    @Test
    void onlyAssistantTurnsAndTheirEndOfTurnAreScored() throws Exception {
        var o = new TrainingJob.Options(model, data, tmp.resolve("unused.safetensors"), null, null, "0", 1, 0, 4, 2, 0.05, 9e-3, 0, 0, 0,
                2, 2, GateActivation.TANH, 512, 0, false, false, null, null, null, null, null, false).withChatTemplate(model);
        List<Example> train;
        try (BaseModel base = BaseModel.open(model)) {
            train = dev.llamaadapter.train.TrainingData.prepare(o, base).train();
        }
        assertThat(train).hasSize(TURNS.size());
        ChatTemplate template = ChatTemplate.load(model);
        int scoredAll = 0, tokensAll = 0;
        for (int i = 0; i < train.size(); i++) {
            Example e = train.get(i);
            // the rendered text, tokenized whole
            String text = template.render(Map.of("messages", new ObjectMapper().readValue(Files.readAllLines(data).get(i), Map.class).get("messages")), false);
            assertThat(e.ids()).isEqualTo(tok.encode(text));
            List<Integer> scored = new ArrayList<>();
            for (int l : e.labels()) if (l != -100) scored.add(l);
            int[] expected = TURNS.get(i).stream().flatMapToInt(t -> IntStream.of(tok.encode(t))).toArray();
            assertThat(scored).as("conversation %d: the scored targets are its assistant turns", i)
                    .containsExactly(IntStream.of(expected).boxed().toArray(Integer[]::new));
            assertThat(scored.getLast()).as("each ends on <|im_end|>").isEqualTo(tok.specialTokenId("<|im_end|>"));
            scoredAll += scored.size();
            tokensAll += e.length();
        }
        System.out.printf("train --format chat (Qwen3 template): %d of %d tokens scored over %d conversations%n", scoredAll, tokensAll, train.size());
        assertThat(scoredAll).isLessThan(tokensAll / 2);
        assertThat(trainLog).contains("only assistant turns are scored");
    }

    @Test
    void theAdapterRecordsTheTemplate() throws Exception {
        Map<String, String> meta;
        try (SafeTensors st = SafeTensors.open(adapter)) {
            meta = st.metadata();
        }
        String expected = new ObjectMapper().readTree(QWEN3.resolve("tokenizer_config.json").toFile()).get("chat_template").asText();
        assertThat(meta.get(ChatTemplate.METADATA)).isEqualTo(expected);
        JsonNode specials = new ObjectMapper().readTree(meta.get(ChatTemplate.METADATA_SPECIAL_TOKENS));
        assertThat(specials.get("eos_token").asText()).isEqualTo("<|im_end|>");
        ChatTemplate t = ChatTemplate.fromMetadata(meta, adapter);
        List<Map<String, String>> msgs = List.of(Map.of("role", "user", "content", "Hi"));
        assertThat(t.render(Map.of("messages", msgs), true)).isEqualTo(ChatTemplate.load(model).render(Map.of("messages", msgs), true));
        assertThat(ChatTemplate.fromMetadata(Map.of("adapter_len", "2"), adapter)).as("an Alpaca adapter records none").isNull();
    }

    @Test
    void serveRendersChatWithTheAdaptersTemplateAndTheBaseWithItsOwn() throws Exception {
        try (BaseModel base = BaseModel.open(model)) {
            Server server = new Server(base, tok, Server.Options.defaults().withSlots(2).withContext(256).withQueue(8).withAdapterDir(adapters));
            try {
                server.adapters().loadDirectory(adapters);
                ServeFixture.Client client = new ServeFixture.Client(server.start(0));
                var reply = client.post("/v1/chat/completions", ServeFixture.chat("qwen-chat", 6, "user", "Say hi to Tom."));
                assertThat(reply.status()).as(reply.body()).isEqualTo(200);
                int[] prompt = ChatTemplate.load(model).promptIds(tok, List.of(Map.of("role", "user", "content", "Say hi to Tom.")));
                assertThat(tok.decode(prompt)).as("the prompt is the template's").contains("user\nSay hi to Tom.").contains("assistant\n");
                JsonNode o = reply.json();
                assertThat(o.get("usage").get("prompt_tokens").asInt()).isEqualTo(prompt.length);
                PreparedPrompts pp = server.adapters().get("qwen-chat").prompts();
                Generator.Result alone = new Generator(base.transformer(), tok, 1, 256).generate(prompt, pp, SamplingParams.greedy(6), null);
                assertThat(o.get("choices").get(0).get("message").get("content").asText()).isEqualTo(alone.text());

                // a conversation the adapter's template rejects: 400 with the template's words, no server path
                Path gemma = Path.of("../shared/assets/tokenizers/hf-gemma3");
                if (Files.isRegularFile(gemma.resolve("tokenizer_config.json"))) {
                    var p = dev.llamaadapter.model.AdaptionPrompts.init(2, 2, 32, 4, GateActivation.TANH, 3);
                    Path f = tmp.resolve("gemma-template.safetensors");
                    dev.llamaadapter.adapter.AdapterFile.write(f, p, 2, ChatTemplate.load(gemma).metadata());
                    server.adapters().load("gemma-template", f);
                    var bad = client.post("/v1/chat/completions", ServeFixture.chat("gemma-template", 2, "user", "a", "user", "b"));
                    assertThat(bad.status()).as(bad.body()).isEqualTo(400);
                    assertThat(bad.error().get("message").asText()).isEqualTo("the adapter's chat template refuses this conversation: "
                            + "the template raised: Conversation roles must alternate user/assistant/user/assistant/...");
                    assertThat(bad.error().get("param").asText()).isEqualTo("messages");
                }

                // the base model's directory declares Qwen3's template: the base answers with it, as an instruct model does
                var own = client.post("/v1/chat/completions", ServeFixture.chat(server.baseModelId(), 2, "user", "Say hi to Tom.")).json();
                assertThat(own.get("usage").get("prompt_tokens").asInt()).isEqualTo(prompt.length);
            } finally {
                server.stop();
            }
        }
    }

    @Test
    void generationStopsAtEveryEndOfTurnTheModelDeclares() throws Exception {
        try (BaseModel base = BaseModel.open(model)) {
            assertThat(base.config().eosTokenIds()).as("generation_config.json's list").contains(151645, 151643);
            int[] prompt = ChatTemplate.load(model).promptIds(tok, List.of(Map.of("role", "user", "content", "Hi")));
            SamplingParams ignore = new SamplingParams(0, 0, 1, 1, 0, 3, List.of(), false);
            int first = new Generator(base.transformer(), tok, 1, 64).generate(prompt, null, ignore, null).tokenIds()[0];
            // declare the id the model writes first as an end of turn: generation stops there, before writing anything
            Files.writeString(model.resolve("generation_config.json"), "{\"eos_token_id\": [151645, " + first + "]}");
            try (BaseModel again = BaseModel.open(model)) {
                Generator.Result r = new Generator(again.transformer(), tok, 1, 64).generate(prompt, null, SamplingParams.greedy(3), null);
                assertThat(r.finishReason()).isEqualTo("eos");
                assertThat(r.text()).isEmpty();
            } finally {
                Files.writeString(model.resolve("generation_config.json"), "{\"eos_token_id\": [151645, 151643]}");
            }
        }
    }
}

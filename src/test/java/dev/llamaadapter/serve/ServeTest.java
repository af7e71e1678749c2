package dev.llamaadapter.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llamaadapter.adapter.AdapterFile;
import dev.llamaadapter.data.PromptTemplate;
import dev.llamaadapter.generate.Generator;
import dev.llamaadapter.generate.SamplingParams;
import dev.llamaadapter.model.BaseModel;
import dev.llamaadapter.model.PreparedPrompts;
import dev.llamaadapter.model.Transformer;
import dev.llamaadapter.tokenizer.Tokenizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.InputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static dev.llamaadapter.serve.ServeFixture.JSON;
import static dev.llamaadapter.serve.ServeFixture.chat;
import static dev.llamaadapter.serve.ServeFixture.completion;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** A real server over stories260K with two adapters, and a real HTTP client against it. */
class ServeTest {
    static final int CONTEXT = 256;

    @TempDir
    static Path tmp;

    static BaseModel base;
    static Tokenizer tok;
    static Transformer model;
    static Server server;
    static ServeFixture.Client client;
    static String baseId;
    static PreparedPrompts storyA, storyB;
    static Path adapterDir;

    @BeforeAll
    static void start() throws Exception {
        assumeTrue(ServeFixture.modelPresent(), "../shared is absent");
        base = BaseModel.open(ServeFixture.MODEL);
        tok = Tokenizer.load(ServeFixture.MODEL);
        model = base.transformer();
        Path dir = adapterDir = Files.createDirectories(tmp.resolve("adapters"));
        Path a = ServeFixture.writeAdapter(dir, "story-a", 1, Map.of());
        Path b = ServeFixture.writeAdapter(dir, "story-b", 2, Map.of());
        storyA = model.prepare(AdapterFile.read(a, base).prompts());
        storyB = model.prepare(AdapterFile.read(b, base).prompts());
        server = new Server(base, tok, Server.Options.defaults().withDrainMillis(10_000).withSlots(4).withContext(CONTEXT).withQueue(32)
                .withAdmin(true).withAdapterDir(dir));
        server.adapters().loadDirectory(dir);
        client = new ServeFixture.Client(server.start(0));
        baseId = server.baseModelId();
    }

    @AfterAll
    static void stop() {
        if (server != null) server.stop();
        if (base != null) base.close();
    }

    /** What the Generator gives alone, greedy: the reference every served answer is held to. */
    static Generator.Result alone(int[] prompt, PreparedPrompts adapter, int maxTokens) {
        return new Generator(model, tok, 1, CONTEXT).generate(prompt, adapter, SamplingParams.greedy(maxTokens), null);
    }

    static int[] bosAnd(String text) {
        int[] body = tok.encode(text);
        int[] ids = new int[body.length + 1];
        ids[0] = tok.bosId();
        System.arraycopy(body, 0, ids, 1, body.length);
        return ids;
    }

    @Test
    void greedyCompletionOfTokenIdsIsWhatTheGeneratorGives() throws Exception {
        int[] prompt = {1, 403, 407};
        var r = client.post("/v1/completions", completion(baseId, prompt, 40));
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        assertThat(r.contentType()).startsWith("application/json");
        JsonNode o = r.json();
        Generator.Result ref = alone(prompt, null, 40);
        assertThat(o.get("object").asText()).isEqualTo("text_completion");
        assertThat(o.get("id").asText()).startsWith("cmpl-");
        assertThat(o.get("model").asText()).isEqualTo(baseId);
        assertThat(o.get("created").asLong()).isPositive();
        JsonNode c = o.get("choices").get(0);
        assertThat(c.get("index").asInt()).isZero();
        assertThat(c.get("text").asText()).isEqualTo(ref.text()).isNotEmpty();
        assertThat(c.get("logprobs").isNull()).isTrue();
        assertThat(c.get("finish_reason").asText()).isEqualTo(ref.finishReason().equals("length") ? "length" : "stop");
        assertThat(o.get("usage").get("prompt_tokens").asInt()).isEqualTo(3);
        assertThat(o.get("usage").get("completion_tokens").asInt()).isEqualTo(ref.tokenIds().length);
        assertThat(o.get("usage").get("total_tokens").asInt()).isEqualTo(3 + ref.tokenIds().length);
    }

    @Test
    void greedyCompletionOfBosMatchesTheReferenceStory() throws Exception {
        Path dir = ServeFixture.MODEL.getParent();
        assumeTrue(Files.exists(dir.resolve("expected_greedy200.txt")));
        var r = client.post("/v1/completions", completion(baseId, new int[]{1}, 200));
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        assertThat(r.json().get("choices").get(0).get("text").asText()).isEqualTo(Files.readString(dir.resolve("expected_greedy200.txt")).strip());
    }

    @Test
    void textPromptsGetBosAndStopStringsCutTheText() throws Exception {
        ObjectNode q = JSON.createObjectNode().put("model", baseId).put("prompt", "Once upon a time").put("max_tokens", 60).put("temperature", 0);
        var r = client.post("/v1/completions", q);
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        Generator.Result ref = alone(bosAnd("Once upon a time"), null, 60);
        assertThat(r.json().get("choices").get(0).get("text").asText()).isEqualTo(ref.text());
        assertThat(r.json().get("usage").get("prompt_tokens").asInt()).isEqualTo(bosAnd("Once upon a time").length);

        String full = ref.text();
        String stop = full.substring(full.length() / 2, full.length() / 2 + 3);
        q.put("stop", stop);
        var s = client.post("/v1/completions", q).json().get("choices").get(0);
        assertThat(s.get("text").asText()).isEqualTo(full.substring(0, full.indexOf(stop)));
        assertThat(s.get("finish_reason").asText()).isEqualTo("stop");
    }

    @Test
    void chatAnswersTheLastUserMessageInTheAlpacaTemplate() throws Exception {
        var r = client.post("/v1/chat/completions", chat("story-a", 40, "system", "Be brief.", "user", "Tell me a story."));
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        JsonNode o = r.json();
        assertThat(o.get("object").asText()).isEqualTo("chat.completion");
        assertThat(o.get("id").asText()).startsWith("chatcmpl-");
        assertThat(o.get("model").asText()).isEqualTo("story-a");
        JsonNode c = o.get("choices").get(0);
        assertThat(c.get("message").get("role").asText()).isEqualTo("assistant");
        int[] prompt = bosAnd(PromptTemplate.prompt("Tell me a story.", "Be brief."));
        Generator.Result ref = alone(prompt, storyA, 40);
        assertThat(c.get("message").get("content").asText()).isEqualTo(ref.text());
        assertThat(c.get("finish_reason").asText()).isIn("stop", "length");
        assertThat(o.get("usage").get("prompt_tokens").asInt()).isEqualTo(prompt.length);

        // no system message: the template without input
        var plain = client.post("/v1/chat/completions", chat("story-a", 40, "user", "Tell me a story.")).json();
        assertThat(plain.get("choices").get(0).get("message").get("content").asText())
                .isEqualTo(alone(bosAnd(PromptTemplate.prompt("Tell me a story.", "")), storyA, 40).text());

        // earlier turns become a transcript in the input
        var turns = client.post("/v1/chat/completions", chat("story-a", 30, "system", "Be kind.", "user", "Hi", "assistant", "Hello!",
                "user", "Tell me a story.")).json();
        String input = "Be kind.\n\nUser: Hi\nAssistant: Hello!";
        assertThat(turns.get("choices").get(0).get("message").get("content").asText())
                .isEqualTo(alone(bosAnd(PromptTemplate.prompt("Tell me a story.", input)), storyA, 30).text());
    }

    @Test
    void chatRenderingRule() {
        var msgs = ChatPrompt.parse(JSON.valueToTree(List.of(Map.of("role", "system", "content", "S1"), Map.of("role", "user", "content", "U1"),
                Map.of("role", "assistant", "content", "A1"), Map.of("role", "developer", "content", "S2"),
                Map.of("role", "user", "content", List.of(Map.of("type", "text", "text", "Do "), Map.of("type", "text", "text", "it."))))));
        ChatPrompt.Rendered r = ChatPrompt.render(msgs);
        assertThat(r.instruction()).isEqualTo("Do it.");
        assertThat(r.input()).isEqualTo("S1\n\nS2\n\nUser: U1\nAssistant: A1");
        assertThat(ChatPrompt.render(ChatPrompt.parse(JSON.valueToTree(List.of(Map.of("role", "user", "content", "X"))))).text())
                .isEqualTo(PromptTemplate.prompt("X", ""));
    }

    @Test
    void streamedChunksConcatenateToTheWholeText() throws Exception {
        ObjectNode q = completion("story-b", new int[]{1, 403}, 50);
        String whole = client.post("/v1/completions", q).json().get("choices").get(0).get("text").asText();
        q.put("stream", true);
        q.putObject("stream_options").put("include_usage", true);
        var s = client.stream("/v1/completions", q);
        assertThat(s.status()).isEqualTo(200);
        assertThat(s.contentType()).startsWith("text/event-stream");
        List<JsonNode> ev = s.events();
        assertThat(ev.getLast().asText()).isEqualTo("[DONE]");
        StringBuilder sb = new StringBuilder();
        String finish = null;
        JsonNode usage = null;
        for (JsonNode e : ev.subList(0, ev.size() - 1)) {
            assertThat(e.get("object").asText()).isEqualTo("text_completion");
            if (e.has("usage")) {
                usage = e.get("usage");
                continue;
            }
            JsonNode c = e.get("choices").get(0);
            sb.append(c.get("text").asText());
            if (!c.get("finish_reason").isNull()) finish = c.get("finish_reason").asText();
        }
        assertThat(sb.toString()).isEqualTo(whole);
        assertThat(ev.size()).isGreaterThan(3);
        assertThat(finish).isIn("stop", "length");
        assertThat(usage).isNotNull();
        assertThat(usage.get("prompt_tokens").asInt()).isEqualTo(2);

        ObjectNode cq = chat("story-b", 40, "user", "Write about a cat.");
        String content = client.post("/v1/chat/completions", cq).json().get("choices").get(0).get("message").get("content").asText();
        cq.put("stream", true);
        var cs = client.stream("/v1/chat/completions", cq);
        List<JsonNode> cev = cs.events();
        assertThat(cev.getFirst().get("choices").get(0).get("delta").get("role").asText()).isEqualTo("assistant");
        assertThat(cev.getLast().asText()).isEqualTo("[DONE]");
        StringBuilder csb = new StringBuilder();
        for (JsonNode e : cev.subList(0, cev.size() - 1)) {
            assertThat(e.get("object").asText()).isEqualTo("chat.completion.chunk");
            csb.append(e.get("choices").get(0).get("delta").path("content").asText(""));
        }
        assertThat(csb.toString()).isEqualTo(content).isNotEmpty();
        assertThat(cev.get(cev.size() - 2).get("choices").get(0).get("finish_reason").asText()).isIn("stop", "length");
    }

    @Test
    void theRequestsModelPicksTheAdapter() throws Exception {
        int[] prompt = {1, 403, 407};
        String b = text(client.post("/v1/completions", completion(baseId, prompt, 40)));
        String a1 = text(client.post("/v1/completions", completion("story-a", prompt, 40)));
        String a2 = text(client.post("/v1/completions", completion("story-b", prompt, 40)));
        assertThat(b).isEqualTo(alone(prompt, null, 40).text());
        assertThat(a1).isEqualTo(alone(prompt, storyA, 40).text()).isNotEqualTo(b);
        assertThat(a2).isEqualTo(alone(prompt, storyB, 40).text()).isNotEqualTo(b).isNotEqualTo(a1);
        // no model: the base
        ObjectNode q = completion(baseId, prompt, 40);
        q.remove("model");
        assertThat(text(client.post("/v1/completions", q))).isEqualTo(b);
    }

    @Test
    void modelsListsTheBaseAndEveryAdapter() throws Exception {
        var r = client.get("/v1/models");
        assertThat(r.status()).isEqualTo(200);
        JsonNode o = r.json();
        assertThat(o.get("object").asText()).isEqualTo("list");
        List<String> ids = new ArrayList<>();
        for (JsonNode m : o.get("data")) {
            assertThat(m.get("object").asText()).isEqualTo("model");
            ids.add(m.get("id").asText());
        }
        assertThat(baseId).isEqualTo("hf");
        assertThat(ids).contains("hf", "story-a", "story-b");
        assertThat(ids.getFirst()).isEqualTo("hf");
        assertThat(client.get("/v1/models/story-a").json().get("parent").asText()).isEqualTo("hf");
        assertThat(client.get("/v1/models/nope").status()).isEqualTo(404);
    }

    @Test
    void badRequestsGetOpenAiErrorsAndTheServerKeepsServing() throws Exception {
        int[] prompt = {1, 403};
        String good = text(client.post("/v1/completions", completion(baseId, prompt, 10)));

        var badJson = client.post("/v1/completions", "{\"prompt\": [1, 2");
        assertThat(badJson.status()).isEqualTo(400);
        JsonNode e = badJson.error();
        assertThat(e.get("message").asText()).contains("not valid JSON");
        assertThat(e.get("type").asText()).isEqualTo("invalid_request_error");
        assertThat(e.has("param")).isTrue();
        assertThat(e.has("code")).isTrue();
        assertThat(text(client.post("/v1/completions", completion(baseId, prompt, 10)))).isEqualTo(good);

        ObjectNode hot = completion(baseId, prompt, 10).put("temperature", -1);
        var r = client.post("/v1/completions", hot);
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.error().get("param").asText()).isEqualTo("temperature");
        assertThat(r.error().get("message").asText()).contains("temperature");
        assertThat(client.post("/v1/completions", completion(baseId, prompt, 10).put("temperature", "hot")).error().get("param").asText())
                .isEqualTo("temperature");
        assertThat(client.post("/v1/completions", completion(baseId, prompt, 10).put("top_p", 0)).error().get("param").asText()).isEqualTo("top_p");
        assertThat(client.post("/v1/completions", completion(baseId, prompt, 10).put("top_k", -5)).error().get("param").asText()).isEqualTo("top_k");
        assertThat(client.post("/v1/completions", completion(baseId, prompt, 10).put("repetition_penalty", 0)).error().get("param").asText())
                .isEqualTo("repetition_penalty");
        assertThat(client.post("/v1/completions", completion(baseId, prompt, -1)).error().get("param").asText()).isEqualTo("max_tokens");
        assertThat(client.post("/v1/completions", completion(baseId, prompt, 10).put("stop", "")).error().get("param").asText()).isEqualTo("stop");
        assertThat(client.post("/v1/completions", completion(baseId, prompt, 10).put("n", 2)).status()).isEqualTo(400);

        var unknown = client.post("/v1/completions", completion("no-such-adapter", prompt, 10));
        assertThat(unknown.status()).isEqualTo(404);
        assertThat(unknown.error().get("code").asText()).isEqualTo("model_not_found");
        assertThat(unknown.error().get("param").asText()).isEqualTo("model");
        assertThat(client.post("/v1/chat/completions", chat("no-such-adapter", 10, "user", "hi")).status()).isEqualTo(404);

        int[] tooLong = new int[CONTEXT + 10];
        java.util.Arrays.fill(tooLong, 5);
        var tl = client.post("/v1/completions", completion(baseId, tooLong, 10));
        assertThat(tl.status()).isEqualTo(400);
        assertThat(tl.error().get("code").asText()).isEqualTo("context_length_exceeded");
        var mt = client.post("/v1/completions", completion(baseId, prompt, CONTEXT));
        assertThat(mt.status()).isEqualTo(400);
        assertThat(mt.error().get("param").asText()).isEqualTo("max_tokens");
        assertThat(client.post("/v1/completions", completion(baseId, new int[]{1, 9999}, 5)).status()).isEqualTo(400); // outside the vocabulary

        assertThat(client.post("/v1/completions", "{\"model\": \"hf\"}").error().get("param").asText()).isEqualTo("prompt");
        assertThat(client.post("/v1/completions", "[1, 2]").status()).isEqualTo(400);
        assertThat(client.post("/v1/chat/completions", "{\"model\": \"hf\"}").error().get("param").asText()).isEqualTo("messages");
        assertThat(client.post("/v1/chat/completions", chat(baseId, 10, "user", "hi", "assistant", "hello")).status()).isEqualTo(400);
        assertThat(client.post("/v1/chat/completions", chat(baseId, 10, "tool", "x", "user", "hi")).status()).isEqualTo(400);
        assertThat(client.get("/v1/completions").status()).isEqualTo(405);
        assertThat(client.get("/nowhere").status()).isEqualTo(404);

        assertThat(text(client.post("/v1/completions", completion(baseId, prompt, 10)))).isEqualTo(good);
    }

    @Test
    void adaptersLoadAndUnloadAtRunTime() throws Exception {
        Path c = ServeFixture.writeAdapter(adapterDir, "story-c", 3, Map.of());
        int[] prompt = {1, 403, 407};
        assertThat(client.post("/v1/completions", completion("c", prompt, 20)).status()).isEqualTo(404);
        var load = client.post("/admin/adapters", JSON.createObjectNode().put("name", "c").put("path", c.toString()));
        assertThat(load.status()).as(load.body()).isEqualTo(200);
        assertThat(load.json().get("id").asText()).isEqualTo("c");
        PreparedPrompts pc = model.prepare(AdapterFile.read(c, base).prompts());
        assertThat(text(client.post("/v1/completions", completion("c", prompt, 20)))).isEqualTo(alone(prompt, pc, 20).text());
        assertThat(client.get("/v1/models").body()).contains("\"c\"");

        assertThat(client.delete("/admin/adapters/c").status()).isEqualTo(200);
        assertThat(client.post("/v1/completions", completion("c", prompt, 20)).status()).isEqualTo(404);
        assertThat(client.delete("/admin/adapters/c").status()).isEqualTo(404);
        assertThat(client.get("/v1/models").body()).doesNotContain("\"c\"");

        // an adapter for another base, a missing file, an unusable name: 400 with the reason
        Path other = ServeFixture.writeAdapter(adapterDir, "other", 4, Map.of(AdapterFile.BASE_FINGERPRINT, "0123456789abcdef"));
        var wrong = client.post("/admin/adapters", JSON.createObjectNode().put("name", "other").put("path", other.toString()));
        assertThat(wrong.status()).isEqualTo(400);
        assertThat(wrong.error().get("message").asText()).contains("another base model");
        var missing = client.post("/admin/adapters", JSON.createObjectNode().put("name", "m").put("path", adapterDir.resolve("none.safetensors").toString()));
        assertThat(missing.status()).isEqualTo(400);
        assertThat(missing.error().get("message").asText()).contains("no such adapter file");
        assertThat(client.post("/admin/adapters", JSON.createObjectNode().put("name", baseId).put("path", c.toString())).status()).isEqualTo(400);
        assertThat(client.post("/admin/adapters", JSON.createObjectNode().put("name", "x")).status()).isEqualTo(400);
        assertThat(client.post("/v1/completions", completion("story-a", prompt, 20)).status()).isEqualTo(200);
    }

    @Test
    void concurrentRequestsWithDifferentAdaptersGetWhatEachGetsAlone() throws Exception {
        String[] models = {baseId, "story-a", "story-b"};
        PreparedPrompts[] adapters = {null, storyA, storyB};
        int n = 9;
        List<Future<ServeFixture.Reply>> replies = new ArrayList<>();
        server.pauseScheduling(true); // all arrive before decoding starts: they share the 4 slots' batches
        try (ExecutorService pool = Executors.newFixedThreadPool(n)) {
            for (int i = 0; i < n; i++) {
                int[] prompt = {1, 403 + i};
                String m = models[i % 3];
                boolean stream = i % 2 == 1;
                replies.add(pool.submit(() -> {
                    ObjectNode q = completion(m, prompt, 40);
                    if (!stream) return client.post("/v1/completions", q);
                    q.put("stream", true);
                    var s = client.stream("/v1/completions", q);
                    StringBuilder sb = new StringBuilder();
                    for (JsonNode e : s.events()) if (e.has("choices")) sb.append(e.get("choices").get(0).get("text").asText());
                    ObjectNode fake = JSON.createObjectNode();
                    fake.putArray("choices").addObject().put("text", sb.toString());
                    return new ServeFixture.Reply(s.status(), JSON.writeValueAsString(fake), s.contentType());
                }));
            }
            waitFor(() -> server.stats().inFlight() == n);
            server.pauseScheduling(false); // before the pool's close() waits for the replies
        } finally {
            server.pauseScheduling(false);
        }
        for (int i = 0; i < n; i++) {
            var r = replies.get(i).get();
            assertThat(r.status()).as(r.body()).isEqualTo(200);
            assertThat(text(r)).as("request %d through %s", i, models[i % 3]).isEqualTo(alone(new int[]{1, 403 + i}, adapters[i % 3], 40).text());
        }
        assertThat(server.stats().maxBatch()).isEqualTo(4);
    }

    @Test
    void aClientThatGoesAwayMidStreamCancelsItsSequence() throws Exception {
        long cancelledBefore = server.stats().cancelled();
        ObjectNode q = completion(baseId, new int[]{1}, CONTEXT - 1).put("stream", true).put("ignore_eos", true);
        server.throttleScheduling(10); // 255 tokens take seconds
        byte[] first = new byte[64];
        try {
            HttpResponse<InputStream> r = client.http.send(client.request("/v1/completions")
                    .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(q))).build(), HttpResponse.BodyHandlers.ofInputStream());
            InputStream in = r.body();
            assertThat(in.read(first)).isPositive(); // the stream has begun
            in.close();
            waitFor(() -> server.stats().inFlight() == 0);
        } finally {
            server.throttleScheduling(0);
        }
        assertThat(server.stats().cancelled()).isEqualTo(cancelledBefore + 1);
        assertThat(new String(first, StandardCharsets.UTF_8)).startsWith("data: ");
        // the slot is free again
        assertThat(client.post("/v1/completions", completion(baseId, new int[]{1, 403}, 10)).status()).isEqualTo(200);
    }

    @Test
    void aFailedStepFailsItsRequestsAndDecodingStartsOverClean() throws Exception {
        int[] prompt = {1, 403, 407};
        server.pauseScheduling(true);
        server.failNextStep();
        ServeFixture.Reply r;
        try (ExecutorService pool = Executors.newFixedThreadPool(2)) {
            Future<ServeFixture.Reply> plain = pool.submit(() -> client.post("/v1/completions", completion("story-a", prompt, 30)));
            Future<ServeFixture.Stream> streamed = pool.submit(() -> client.stream("/v1/completions", completion(baseId, prompt, 30).put("stream", true)));
            waitFor(() -> server.stats().inFlight() == 2);
            server.pauseScheduling(false);
            r = plain.get();
            ServeFixture.Stream s = streamed.get();
            assertThat(s.events().get(s.events().size() - 2).get("error").get("message").asText()).contains("injected failure");
            assertThat(s.events().getLast().asText()).isEqualTo("[DONE]");
        } finally {
            server.pauseScheduling(false);
        }
        assertThat(r.status()).isEqualTo(500);
        assertThat(r.error().get("type").asText()).isEqualTo("server_error");
        assertThat(r.error().get("message").asText()).contains("injected failure");
        waitFor(() -> server.stats().inFlight() == 0);
        assertThat(server.stats().failed()).isEqualTo(2);
        assertThat(text(client.post("/v1/completions", completion("story-a", prompt, 30)))).isEqualTo(alone(prompt, storyA, 30).text());
        assertThat(text(client.post("/v1/completions", completion(baseId, prompt, 30)))).isEqualTo(alone(prompt, null, 30).text());
    }

    static void waitFor(java.util.function.BooleanSupplier cond) throws InterruptedException {
        long end = System.nanoTime() + 10_000_000_000L;
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > end) throw new AssertionError("timed out waiting");
            Thread.sleep(5);
        }
    }

    static String text(ServeFixture.Reply r) throws Exception {
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        return r.json().get("choices").get(0).get("text").asText();
    }
}

package dev.llamaadapter.serve;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llamaadapter.model.BaseModel;
import dev.llamaadapter.tokenizer.Tokenizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayInputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

import static dev.llamaadapter.serve.ServeFixture.JSON;
import static dev.llamaadapter.serve.ServeFixture.completion;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Request bodies over the limit get 413 before they are parsed or tokenized: with a declared length at
 * once, sent in chunks as soon as the limit is passed. Each case on a server of its own.
 */
class ServeBodyLimitTest {
    static BaseModel base;
    static Tokenizer tok;

    @BeforeAll
    static void open() throws Exception {
        assumeTrue(ServeFixture.modelPresent(), "../shared is absent");
        base = BaseModel.open(ServeFixture.MODEL);
        tok = Tokenizer.load(ServeFixture.MODEL);
    }

    @AfterAll
    static void close() {
        if (base != null) base.close();
    }

    static Server.Options options() {
        return Server.Options.defaults().withDrainMillis(2_000).withSlots(1).withContext(64);
    }

    static void assertTooLarge(int status, String body, int limit) throws Exception {
        assertThat(status).as(body).isEqualTo(413);
        JsonNode e = JSON.readTree(body).get("error");
        assertThat(e.get("type").asText()).isEqualTo("invalid_request_error");
        assertThat(e.get("message").asText()).contains("larger than " + limit + " bytes");
    }

    /** The case: a 10 MB prompt, under the default limit of a few MB. */
    @Test
    void aTenMegabytePromptGets413UnderTheDefaultLimit() throws Exception {
        int limit = Server.Options.DEFAULT_MAX_BODY_BYTES;
        assertThat(limit).isBetween(1 << 20, 8 << 20);
        try (Server server = new Server(base, tok, options())) {
            ServeFixture.Client c = new ServeFixture.Client(server.start(0));
            String prompt = "Once upon a time. ".repeat((10 << 20) / 18);
            byte[] body = JSON.writeValueAsBytes(JSON.createObjectNode().put("model", "hf").put("prompt", prompt).put("max_tokens", 5));
            long t0 = System.nanoTime();
            HttpResponse<String> declared = c.http.send(c.request("/v1/completions").header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofString());
            assertTooLarge(declared.statusCode(), declared.body(), limit);
            // chunked: no length to judge by, so the reading stops where the limit is passed
            HttpResponse<String> chunked = c.http.send(c.request("/v1/completions").header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(body))).build(), HttpResponse.BodyHandlers.ofString());
            assertTooLarge(chunked.statusCode(), chunked.body(), limit);
            assertThat((System.nanoTime() - t0) / 1e9).as("seconds for both").isLessThan(10);
            assertThat(server.stats().admitted()).isZero();
            assertThat(c.post("/v1/completions", completion("hf", new int[]{1}, 2)).status()).isEqualTo(200); // and it keeps serving
        }
    }

    /** A declared length far past the limit is refused on its headers alone: nothing of the body is awaited. */
    @Test
    void aHugeDeclaredLengthIsRefusedOnItsHeaders() throws Exception {
        try (Server server = new Server(base, tok, options())) {
            int port = server.start(0);
            java.net.Socket s = ServeRobustnessTest.send("127.0.0.1", port, "/v1/completions", null, 1L << 30, new byte[0]);
            assertThat(s).isNotNull();
            String answer = ServeRobustnessTest.readAll(s);
            s.close();
            assertThat(answer).startsWith("HTTP/1.1 413").containsIgnoringCase("connection: close").contains("larger than");
        }
    }

    /** A configured limit, judged on bytes alone: a body just over it is refused even when it is not JSON at all, one under it served. */
    @Test
    void theLimitIsConfigurableAndComesBeforeParsing() throws Exception {
        int limit = 2_000;
        try (Server server = new Server(base, tok, options().withMaxBodyBytes(limit))) {
            ServeFixture.Client c = new ServeFixture.Client(server.start(0));
            ServeFixture.Reply notJson = c.post("/v1/completions", "x".repeat(limit + 1));
            assertTooLarge(notJson.status(), notJson.body(), limit);
            ServeFixture.Reply chat = c.post("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"" + "a".repeat(limit) + "\"}]}");
            assertTooLarge(chat.status(), chat.body(), limit);
            ServeFixture.Reply justUnder = c.post("/v1/completions", "x".repeat(limit));
            assertThat(justUnder.status()).isEqualTo(400); // read, then found not to be JSON
            assertThat(justUnder.error().get("code").asText()).isEqualTo("invalid_json");
            ServeFixture.Reply ok = c.post("/v1/completions", completion("hf", new int[]{1}, 2));
            assertThat(ok.status()).as(ok.body()).isEqualTo(200);
            assertThat(ok.json().get("object").asText()).isEqualTo("text_completion");
        }
    }

    /** The admin check comes before the body: a refused admin request is not read at all, however large. */
    @Test
    void aRefusedAdminRequestIsAnswered403WithoutReadingItsBody() throws Exception {
        try (Server server = new Server(base, tok, options().withMaxBodyBytes(1_000))) {
            ServeFixture.Client c = new ServeFixture.Client(server.start(0));
            ServeFixture.Reply r = c.post("/admin/adapters", "{\"path\": \"" + "x".repeat(5_000) + "\"}");
            assertThat(r.status()).isEqualTo(403);
        }
    }

    /**
     * A request refused before its body was read says Connection: close: Jetty drops such a connection when
     * the body has not all arrived, and a client reusing it found it closed ("header parser received no bytes").
     */
    @Test
    void aRefusalThatLeavesTheBodyUnreadClosesTheConnection() throws Exception {
        try (Server server = new Server(base, tok, options().withApiKey("sekret"))) {
            ServeFixture.Client c = new ServeFixture.Client(server.start(0));
            for (int i = 0; i < 40; i++) {
                c.apiKey = i % 2 == 0 ? null : "wrong";
                HttpResponse<String> refused = c.http.send(c.request(i % 4 < 2 ? "/v1/completions" : "/admin/adapters")
                        .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(completion("hf", new int[]{1}, 1)))).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(refused.statusCode()).isEqualTo(401);
                assertThat(refused.headers().firstValue("connection")).hasValue("close");
                c.apiKey = "sekret";
                assertThat(c.get("/v1/models").status()).isEqualTo(200);
            }
        }
    }
}

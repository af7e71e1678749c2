package dev.llamaadapter.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llamaadapter.model.BaseModel;
import dev.llamaadapter.tokenizer.Tokenizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;

import static dev.llamaadapter.serve.ServeFixture.JSON;
import static dev.llamaadapter.serve.ServeFixture.completion;
import static dev.llamaadapter.serve.ServeTest.waitFor;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Limits and lifecycle, each on a server of its own: the queue bound (429), the API key (401), graceful stop, batching. */
class ServeLimitsTest {
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

    static CompletableFuture<HttpResponse<String>> postAsync(ServeFixture.Client c, String path, JsonNode body) throws Exception {
        return c.http.sendAsync(c.request(path).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body))).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void aFloodBeyondTheQueueGets429AtOnce() throws Exception {
        Server server = new Server(base, tok, Server.Options.defaults().withDrainMillis(10_000).withSlots(1).withContext(128).withQueue(2));
        try {
            ServeFixture.Client c = new ServeFixture.Client(server.start(0));
            server.pauseScheduling(true); // nothing finishes: the first two wait, the rest must be refused
            List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
            for (int i = 0; i < 12; i++) all.add(postAsync(c, "/v1/completions", completion("hf", new int[]{1, 400 + i}, 50)));
            waitFor(() -> all.stream().filter(CompletableFuture::isDone).count() == 10);
            assertThat(server.stats().inFlight()).isEqualTo(2);
            int refused = 0;
            for (var f : all)
                if (f.isDone()) {
                    HttpResponse<String> r = f.get();
                    assertThat(r.statusCode()).isEqualTo(429);
                    JsonNode e = JSON.readTree(r.body()).get("error");
                    assertThat(e.get("code").asText()).isEqualTo("rate_limit_exceeded");
                    assertThat(e.get("message").asText()).contains("busy");
                    assertThat(r.headers().firstValue("retry-after")).isPresent();
                    refused++;
                }
            assertThat(refused).isEqualTo(10);
            server.pauseScheduling(false);
            for (var f : all) assertThat(f.get().statusCode()).isIn(200, 429);
            assertThat(all.stream().filter(f -> f.join().statusCode() == 200).count()).isEqualTo(2);
            assertThat(server.stats().rejected()).isEqualTo(10);
            // and it keeps serving
            assertThat(c.post("/v1/completions", completion("hf", new int[]{1}, 5)).status()).isEqualTo(200);
        } finally {
            server.stop();
        }
    }

    @Test
    void anApiKeyIsRequiredWhenSet() throws Exception {
        Server server = new Server(base, tok, Server.Options.defaults().withDrainMillis(10_000).withSlots(2).withContext(64).withApiKey("sekret"));
        try {
            ServeFixture.Client c = new ServeFixture.Client(server.start(0));
            var none = c.post("/v1/completions", completion("hf", new int[]{1}, 5));
            assertThat(none.status()).isEqualTo(401);
            assertThat(none.error().get("code").asText()).isEqualTo("invalid_api_key");
            assertThat(c.get("/v1/models").status()).isEqualTo(401);
            assertThat(c.post("/admin/adapters", "{\"name\": \"x\", \"path\": \"/etc/passwd\"}").status()).isEqualTo(401);
            c.apiKey = "wrong";
            assertThat(c.post("/v1/completions", completion("hf", new int[]{1}, 5)).status()).isEqualTo(401);
            c.apiKey = "sekret";
            assertThat(c.post("/v1/completions", completion("hf", new int[]{1}, 5)).status()).isEqualTo(200);
            assertThat(c.get("/v1/models").status()).isEqualTo(200);
            c.apiKey = null;
            assertThat(c.get("/health").status()).isEqualTo(200);
        } finally {
            server.stop();
        }
    }

    @Test
    void stopLetsRunningRequestsFinishAndRefusesNewOnes() throws Exception {
        Server server = new Server(base, tok, Server.Options.defaults().withDrainMillis(10_000).withSlots(2).withContext(128));
        ServeFixture.Client c = new ServeFixture.Client(server.start(0));
        server.pauseScheduling(true);
        var a = postAsync(c, "/v1/completions", completion("hf", new int[]{1}, 40));
        ObjectNode streamed = completion("hf", new int[]{1, 403}, 40).put("stream", true);
        var b = postAsync(c, "/v1/completions", streamed);
        waitFor(() -> server.stats().inFlight() == 2);
        int port = server.port();
        ServeFixture.Client kept = new ServeFixture.Client(port, Duration.ofSeconds(2));
        assertThat(kept.get("/health").status()).isEqualTo(200); // leaves an idle kept-alive connection
        Thread stopper = Thread.ofPlatform().start(server::stop);
        waitFor(() -> {
            try {
                new ServeFixture.Client(port, Duration.ofSeconds(2)).get("/health"); // a new connection each time
                return false;
            } catch (java.net.ConnectException refused) {
                return true; // the listening socket is closed
            } catch (Exception e) {
                return false;
            }
        });
        assertThat(stopper.isAlive()).isTrue(); // still draining
        try {
            var r = kept.post("/v1/completions", completion("hf", new int[]{1}, 5)); // a connection that was open: refused in JSON
            assertThat(r.status()).isEqualTo(503);
            assertThat(r.error().get("code").asText()).isEqualTo("server_shutting_down");
        } catch (java.io.IOException closed) {
            // or the server closed it first: as good
        }
        server.pauseScheduling(false);
        assertThat(a.get().statusCode()).isEqualTo(200);
        assertThat(JSON.readTree(a.get().body()).get("usage").get("completion_tokens").asInt()).isPositive();
        assertThat(b.get().statusCode()).isEqualTo(200);
        assertThat(b.get().body()).endsWith("data: [DONE]\n\n");
        stopper.join(10_000);
        assertThat(stopper.isAlive()).isFalse();
        assertThat(server.stats().completed()).isEqualTo(2);
        assertThat(server.stats().cancelled()).isZero();
    }

    /** Tokens per second with one request at a time against eight at once (printed; the eight share each step). */
    @Test
    void concurrentRequestsAreDecodedInOneBatch() throws Exception {
        int n = 8, tokens = 200;
        Server server = new Server(base, tok, Server.Options.defaults().withDrainMillis(10_000).withSlots(n).withContext(256));
        try {
            ServeFixture.Client c = new ServeFixture.Client(server.start(0));
            for (int i = 0; i < 3; i++) c.post("/v1/completions", completion("hf", new int[]{1}, tokens).put("ignore_eos", true)); // warm up
            long t0 = System.nanoTime();
            for (int i = 0; i < n; i++) {
                var r = c.post("/v1/completions", completion("hf", new int[]{1, 400 + i}, tokens).put("ignore_eos", true));
                assertThat(r.json().get("usage").get("completion_tokens").asInt()).isEqualTo(tokens);
            }
            double one = n * tokens / ((System.nanoTime() - t0) / 1e9);

            server.pauseScheduling(true);
            List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
            for (int i = 0; i < n; i++) all.add(postAsync(c, "/v1/completions", completion("hf", new int[]{1, 400 + i}, tokens).put("ignore_eos", true)));
            waitFor(() -> server.stats().inFlight() == n);
            long t1 = System.nanoTime();
            server.pauseScheduling(false);
            for (var f : all) assertThat(f.get().statusCode()).isEqualTo(200);
            double eight = n * tokens / ((System.nanoTime() - t1) / 1e9);
            System.out.printf(Locale.ROOT, "serve stories260K: %.0f tok/s one request at a time, %.0f tok/s with %d at once (%.1fx)%n", one, eight, n,
                    eight / one);
            assertThat(server.stats().maxBatch()).isEqualTo(n);
            assumeThat(eight).isPositive();
        } finally {
            server.stop();
        }
    }
}

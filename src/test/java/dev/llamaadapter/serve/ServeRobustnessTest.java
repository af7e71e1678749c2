package dev.llamaadapter.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llamaadapter.model.BaseModel;
import dev.llamaadapter.tokenizer.Tokenizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static dev.llamaadapter.serve.ServeFixture.JSON;
import static dev.llamaadapter.serve.ServeFixture.completion;
import static dev.llamaadapter.serve.ServeTest.waitFor;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * What clients that misbehave cannot do to the others, each on a server of its own: slow clients do not
 * starve a normal request (and the connections one address holds are capped), oversized prompts are
 * refused without tokenizing them, and a client that leaves a non-streaming request cancels it.
 */
class ServeRobustnessTest {
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
        return Server.Options.defaults().withDrainMillis(2_000);
    }

    /**
     * A raw connection from {@code from} (any 127.x.y.z address reaches the loopback on Linux) that sends a
     * request's headers and {@code body}; null when the server refused it before the request was written.
     */
    static Socket send(String from, int port, String path, String apiKey, long contentLength, byte[] body) throws IOException {
        Socket s = new Socket();
        s.bind(new InetSocketAddress(InetAddress.getByName(from), 0));
        s.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
        s.setSoTimeout(10_000);
        String head = "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                + (apiKey == null ? "" : "Authorization: Bearer " + apiKey + "\r\n") + "Content-Length: " + contentLength + "\r\n\r\n";
        try {
            OutputStream out = s.getOutputStream();
            out.write(head.getBytes(StandardCharsets.US_ASCII));
            out.write(body);
            out.flush();
        } catch (IOException refused) {
            s.close();
            return null;
        }
        return s;
    }

    /** What the server sends on this connection until it closes it (or the read times out). */
    static String readAll(Socket s) {
        StringBuilder sb = new StringBuilder();
        try (InputStream in = s.getInputStream()) {
            byte[] buf = new byte[4096];
            for (int n; (n = in.read(buf)) > 0; ) sb.append(new String(buf, 0, n, StandardCharsets.UTF_8));
        } catch (IOException e) {
            // a reset or a timeout ends what there is
        }
        return sb.toString();
    }

    static void closeAll(List<Socket> sockets) {
        for (Socket s : sockets)
            try {
                s.close();
            } catch (IOException ignored) {
                // closing is all that is wanted
            }
    }

    /**
     * Eighty connections send full headers (with the API key) and Content-Length 100000, then one byte, and
     * stall: more than the server's 64 threads. Eight addresses hold eight each (the cap) and 127.0.0.2 tries
     * sixteen more, which are refused with 429 as they connect. A normal request is answered at once.
     */
    @Test
    void slowClientsDoNotStarveANormalRequest() throws Exception {
        int cap = 8;
        Server server = new Server(base, tok, options().withSlots(1).withContext(64).withQueue(2).withApiKey("sekret")
                .withConnections(ConnectionLimits.defaults().withMaxPerClient(cap).withIdleTimeoutMillis(20_000)));
        List<Socket> slow = new ArrayList<>();
        try {
            int port = server.start(0);
            ServeFixture.Client c = new ServeFixture.Client(port, Duration.ofSeconds(5));
            c.apiKey = "sekret";
            assertThat(c.post("/v1/completions", completion("hf", new int[]{1, 403}, 3)).status()).isEqualTo(200); // warm: a cold first request is slow anyway
            byte[] oneByte = {'{'};
            for (int a = 2; a < 10; a++)
                for (int k = 0; k < cap + (a == 2 ? 16 : 0); k++) {
                    Socket s = send("127.0.0." + a, port, "/v1/completions", "sekret", 100_000, oneByte);
                    if (s != null) slow.add(s);
                }
            waitFor(() -> server.stats().refusedConnections() == 16);
            Thread.sleep(300); // the accepted ones reach the handler and wait for their bodies

            long t0 = System.nanoTime();
            ServeFixture.Reply r = c.post("/v1/completions", completion("hf", new int[]{1, 403}, 3));
            double ms = (System.nanoTime() - t0) / 1e6;
            System.out.printf(Locale.ROOT, "serve: a normal request beside %d stalled connections (%d more refused) answered in %.1f ms%n",
                    slow.size() - 16, 16, ms);
            assertThat(r.status()).as(r.body()).isEqualTo(200);
            assertThat(ms).isLessThan(1000);

            Socket over = new Socket(); // one more from the capped address, sending nothing: it reads the refusal
            over.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.2"), 0));
            over.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
            over.setSoTimeout(5_000);
            String refusal = readAll(over);
            assertThat(refusal).startsWith("HTTP/1.1 429").contains("too_many_connections").contains("at most 8");
            assertThat(server.stats().refusedConnections()).isEqualTo(17);
        } finally {
            closeAll(slow);
            server.stop();
        }
    }

    /** A body that stalls is cut off by the idle timeout, one that trickles by the minimum rate: 408, and the connection closes. */
    @Test
    void stalledAndTricklingBodiesGet408() throws Exception {
        Server server = new Server(base, tok, options().withSlots(1).withContext(64)
                .withConnections(ConnectionLimits.defaults().withIdleTimeoutMillis(400).withMinRequestBytesPerSecond(1_000)));
        try {
            int port = server.start(0);
            long t0 = System.nanoTime();
            Socket stalled = send("127.0.0.1", port, "/v1/completions", null, 100_000, new byte[]{'{'});
            String r = readAll(stalled);
            double stalledMs = (System.nanoTime() - t0) / 1e6;
            assertThat(r).startsWith("HTTP/1.1 408").contains("request_timeout");
            assertThat(stalledMs).isBetween(300.0, 3_000.0);

            t0 = System.nanoTime();
            Socket trickle = send("127.0.0.1", port, "/v1/completions", null, 1_000, new byte[]{'{'});
            String answer = "";
            try {
                for (int i = 0; i < 20; i++) { // a byte every 100 ms: 10 bytes/s, a hundredth of the minimum
                    Thread.sleep(100);
                    trickle.getOutputStream().write(' ');
                    trickle.getOutputStream().flush();
                }
            } catch (IOException closed) {
                // the server gave up on it
            }
            answer = readAll(trickle);
            double trickleMs = (System.nanoTime() - t0) / 1e6;
            System.out.printf(Locale.ROOT, "serve: a stalled body refused after %.0f ms, a trickling one after %.0f ms%n", stalledMs, trickleMs);
            assertThat(answer).startsWith("HTTP/1.1 408");
            assertThat(trickleMs).isLessThan(3_000); // well before the 20 bytes the loop would send
            assertThat(new ServeFixture.Client(port).post("/v1/completions", completion("hf", new int[]{1}, 2)).status()).isEqualTo(200);
        } finally {
            server.stop();
        }
    }

    /**
     * Six concurrent 4 MB prompts, far beyond a 128-token context: each gets its 400 quickly, and the heap
     * stays within 300 MB of where it started. Tokenizing them, as the server used to before refusing them
     * for length, takes seconds and over a gigabyte.
     */
    @Test
    void oversizedPromptsAreRefusedWithoutTokenizing() throws Exception {
        int n = 6;
        long boundBytes = 300L << 20;
        // bodies above the default limit (which would refuse them with 413 unread): this is about the prompt budget
        Server server = new Server(base, tok, options().withSlots(1).withContext(128).withQueue(n).withMaxBodyBytes(16 << 20));
        try {
            ServeFixture.Client c = new ServeFixture.Client(server.start(0), Duration.ofSeconds(60));
            String story = "Once upon a time, there was a little girl named Lily. She loved to play outside.\n";
            ObjectNode body = JSON.createObjectNode().put("model", "hf").put("prompt", story.repeat((4 << 20) / story.length())).put("max_tokens", 5);
            byte[] bytes = JSON.writeValueAsBytes(body); // one array for every request: the client adds no copies
            body = null;
            assertThat(c.post("/v1/completions", completion("hf", new int[]{1}, 1)).status()).isEqualTo(200); // warm

            MemoryMXBean mem = ManagementFactory.getMemoryMXBean();
            System.gc();
            long baseline = mem.getHeapMemoryUsage().getUsed();
            AtomicLong peak = new AtomicLong(baseline);
            AtomicBoolean sampling = new AtomicBoolean(true);
            Thread sampler = Thread.ofPlatform().daemon().start(() -> {
                while (sampling.get()) {
                    peak.accumulateAndGet(mem.getHeapMemoryUsage().getUsed(), Math::max);
                    try {
                        Thread.sleep(1);
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
            long t0 = System.nanoTime();
            List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
            List<Double> millis = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                all.add(c.http.sendAsync(c.request("/v1/completions").header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofByteArray(bytes)).build(), HttpResponse.BodyHandlers.ofString()));
            }
            for (var f : all) {
                HttpResponse<String> r = f.get();
                millis.add((System.nanoTime() - t0) / 1e6);
                assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
                JsonNode e = JSON.readTree(r.body()).get("error");
                assertThat(e.get("code").asText()).isEqualTo("context_length_exceeded");
                assertThat(e.get("param").asText()).isEqualTo("prompt");
                assertThat(e.get("message").asText()).startsWith("the prompt has at least ").contains("the context holds 128");
            }
            sampling.set(false);
            sampler.join();
            double overMb = (peak.get() - baseline) / 1048576.0;
            System.out.printf(Locale.ROOT, "serve: %d concurrent %.1f MB prompts refused in %s ms; heap peak %.0f MB over the baseline%n", n,
                    bytes.length / 1048576.0, millis.stream().map(m -> String.format(Locale.ROOT, "%.0f", m)).toList(), overMb);
            assertThat(peak.get() - baseline).as("heap growth, bytes").isLessThan(boundBytes);
            assertThat(millis.getLast()).isLessThan(5_000.0);
            assertThat(server.stats().admitted()).isEqualTo(1); // only the warm-up
        } finally {
            server.stop();
        }
    }

    /** The early refusal is exact at the edge: BOS + 126 tokens fits a 128-position context, BOS + 127 does not. */
    @Test
    void promptsRightAtTheContextAreJudgedExactly() throws Exception {
        int ctx = 128;
        Server server = new Server(base, tok, options().withSlots(1).withContext(ctx));
        try {
            ServeFixture.Client c = new ServeFixture.Client(server.start(0));
            String fits = textOfTokens(ctx - 2), over = textOfTokens(ctx - 1);
            ServeFixture.Reply ok = c.post("/v1/completions", JSON.createObjectNode().put("prompt", fits).put("max_tokens", 1));
            assertThat(ok.status()).as(ok.body()).isEqualTo(200);
            assertThat(ok.json().get("usage").get("prompt_tokens").asInt()).isEqualTo(ctx - 1);
            ServeFixture.Reply no = c.post("/v1/completions", JSON.createObjectNode().put("prompt", over).put("max_tokens", 1));
            assertThat(no.status()).isEqualTo(400);
            assertThat(no.error().get("message").asText()).startsWith("the prompt has " + ctx + " tokens but the context holds " + ctx);
        } finally {
            server.stop();
        }
    }

    /** Text of exactly {@code n} tokens (without BOS). */
    static String textOfTokens(int n) {
        StringBuilder sb = new StringBuilder("Once");
        String[] words = {" upon", " a", " time", " there", " was", " a", " girl", "."};
        for (int i = 0; tok.encode(sb.toString()).length < n; i++) sb.append(words[i % words.length]);
        while (tok.encode(sb.toString()).length > n) sb.setLength(sb.length() - 1);
        assertThat(tok.encode(sb.toString())).hasSize(n);
        return sb.toString();
    }

    /**
     * A long non-streaming request whose client closes its connection after 0.5 s stops decoding at once:
     * it counts as cancelled (not completed), and with one slot the next request starts straight away.
     */
    @Test
    void aNonStreamingRequestWhoseClientLeftIsCancelled() throws Exception {
        Server server = new Server(base, tok, options().withSlots(1).withContext(512).withQueue(4));
        try {
            int port = server.start(0);
            server.throttleScheduling(10); // 500 tokens: 5 s or more
            byte[] body = JSON.writeValueAsBytes(completion("hf", new int[]{1}, 500).put("ignore_eos", true));
            Socket leaving = send("127.0.0.1", port, "/v1/completions", null, body.length, body);
            waitFor(() -> server.stats().admitted() == 1);
            Thread.sleep(500);
            long stepsAtClose = server.stats().steps();
            leaving.close();
            long t0 = System.nanoTime();
            waitFor(() -> server.stats().inFlight() == 0);
            double cancelMs = (System.nanoTime() - t0) / 1e6;
            Server.Stats s = server.stats();
            assertThat(s.cancelled()).isEqualTo(1);
            assertThat(s.completed()).isZero();
            assertThat(s.completionTokens()).isZero();
            assertThat(cancelMs).isLessThan(1_000);
            assertThat(s.steps() - stepsAtClose).isLessThan(100); // of the 500 it would have run

            server.throttleScheduling(0);
            long t1 = System.nanoTime();
            ServeFixture.Reply next = new ServeFixture.Client(port).post("/v1/completions", completion("hf", new int[]{1, 403}, 5));
            double nextMs = (System.nanoTime() - t1) / 1e6;
            System.out.printf(Locale.ROOT, "serve: a left request cancelled %.0f ms after its client closed (%d steps); the next answered in %.0f ms%n",
                    cancelMs, s.steps() - stepsAtClose, nextMs);
            assertThat(next.status()).isEqualTo(200);
            assertThat(nextMs).isLessThan(1_000);
            assertThat(server.stats().completed()).isEqualTo(1);
            assertThat(server.stats().cancelled()).isEqualTo(1);
        } finally {
            server.stop();
        }
    }

    /**
     * Bytes of a next request that arrive while a non-streaming request waits are read by the watch and
     * cannot go back to Jetty: the first answer still comes whole, and the connection closes after it, so
     * that a pipelining client sends the rest again.
     */
    @Test
    void aRequestPipelinedWhileTheFirstWaitsClosesTheConnectionAfterTheFirstAnswer() throws Exception {
        Server server = new Server(base, tok, options().withSlots(1).withContext(128));
        try {
            int port = server.start(0);
            server.throttleScheduling(10);
            byte[] body = JSON.writeValueAsBytes(completion("hf", new int[]{1}, 40).put("ignore_eos", true));
            Socket s = send("127.0.0.1", port, "/v1/completions", null, body.length, body);
            Thread.sleep(3 * ClientWatch.CHECK_MILLIS);
            String second = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
            s.getOutputStream().write(second.getBytes(StandardCharsets.US_ASCII));
            s.getOutputStream().flush();
            String all = readAll(s);
            assertThat(all).startsWith("HTTP/1.1 200").containsIgnoringCase("Connection: close").contains("\"completion_tokens\":40");
            assertThat(all.split("HTTP/1.1 ", -1)).hasSize(2); // one answer
            assertThat(server.stats().completed()).isEqualTo(1);
            assertThat(server.stats().cancelled()).isZero();
        } finally {
            server.stop();
        }
    }
}

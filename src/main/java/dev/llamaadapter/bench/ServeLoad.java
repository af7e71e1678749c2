package dev.llamaadapter.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Streaming clients against a running {@code serve}, as users load it: each client sends one
 * {@code /v1/completions} request with {@code stream: true}, greedy, a fixed number of tokens and EOS ignored,
 * and reads the server-sent events as they come. The figures: aggregate tokens/s (all clients' tokens over the
 * wall time from the first request to the last answer), each client's first-token latency (request sent to
 * its first token's event) and its own decoding rate.
 */
public final class ServeLoad {
    private ServeLoad() {}

    /** One client's answer: tokens received, seconds to the first token and to the end. */
    public record Client(int tokens, double firstTokenS, double totalS) {}

    /** A round of n concurrent clients. */
    public record Round(int clients, int tokens, double wallS, List<Client> each) {
        public double tokensPerS() {
            return tokens / wallS;
        }

        public double medianFirstTokenS() {
            double[] v = each.stream().mapToDouble(Client::firstTokenS).sorted().toArray();
            return v.length == 0 ? Double.NaN : v[v.length / 2];
        }

        public double maxFirstTokenS() {
            return each.stream().mapToDouble(Client::firstTokenS).max().orElse(Double.NaN);
        }
    }

    /**
     * n clients at once against base (e.g. http://127.0.0.1:8080), each asking model (the base's id or an adapter's;
     * the i-th client takes models[i % models.length]) for maxTokens tokens after prompt.
     */
    public static Round round(String base, String[] models, String prompt, int n, int maxTokens) throws Exception {
        HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
        ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
        try {
            List<Callable<Client>> jobs = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                String model = models[i % models.length];
                jobs.add(() -> one(http, base, model, prompt, maxTokens));
            }
            long t0 = System.nanoTime();
            List<Future<Client>> fs = pool.invokeAll(jobs);
            double wall = (System.nanoTime() - t0) / 1e9;
            List<Client> each = new ArrayList<>();
            int tokens = 0;
            for (Future<Client> f : fs) {
                Client c = f.get();
                each.add(c);
                tokens += c.tokens();
            }
            return new Round(n, tokens, wall, each);
        } finally {
            pool.shutdown();
        }
    }

    private static Client one(HttpClient http, String base, String model, String prompt, int maxTokens) throws IOException, InterruptedException {
        ObjectMapper json = new ObjectMapper();
        ObjectNode body = json.createObjectNode().put("model", model).put("prompt", prompt).put("max_tokens", maxTokens)
                .put("temperature", 0).put("stream", true).put("ignore_eos", true);
        body.putObject("stream_options").put("include_usage", true);
        HttpRequest req = HttpRequest.newBuilder(URI.create(base + "/v1/completions")).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body.toString())).build();
        long t0 = System.nanoTime();
        HttpResponse<InputStream> res = http.send(req, HttpResponse.BodyHandlers.ofInputStream());
        if (res.statusCode() != 200) {
            String err = new String(res.body().readAllBytes(), StandardCharsets.UTF_8);
            throw new IOException("serve answered " + res.statusCode() + ": " + err);
        }
        double first = Double.NaN;
        int tokens = 0;
        try (BufferedReader r = new BufferedReader(new InputStreamReader(res.body(), StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                if (!line.startsWith("data: ") || line.equals("data: [DONE]")) continue;
                JsonNode ev = json.readTree(line.substring(6));
                if (ev.has("usage") && ev.get("usage").isObject()) tokens = ev.get("usage").path("completion_tokens").asInt(tokens);
                JsonNode ch = ev.path("choices");
                if (ch.isArray() && !ch.isEmpty() && Double.isNaN(first)) first = (System.nanoTime() - t0) / 1e9;
            }
        }
        return new Client(tokens, first, (System.nanoTime() - t0) / 1e9);
    }

    /** "median 0.12 s, max 0.30 s" for a round's first-token latencies. */
    public static String latency(Round r) {
        return String.format(java.util.Locale.ROOT, "first token median %.3f s, max %.3f s", r.medianFirstTokenS(), r.maxFirstTokenS());
    }

    /** The clients' own decoding rates, tokens/s after their first token. */
    public static double[] perClientRates(Round r) {
        return r.each().stream().mapToDouble(c -> (c.tokens() - 1) / Math.max(1e-9, c.totalS() - c.firstTokenS())).toArray();
    }

    /** The clients' own rates, rounded, for one line of output. */
    public static String describeRates(Round r) {
        return Arrays.toString(Arrays.stream(perClientRates(r)).map(x -> Math.round(x * 10) / 10.0).toArray());
    }
}

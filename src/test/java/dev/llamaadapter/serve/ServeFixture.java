package dev.llamaadapter.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llamaadapter.adapter.AdapterFile;
import dev.llamaadapter.model.AdaptionPrompts;
import dev.llamaadapter.model.GateActivation;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** The real tiny model, adapters made for it, and a plain HTTP client for the serve tests. */
final class ServeFixture {
    static final Path MODEL = Path.of("../shared/assets/stories260K/hf");
    static final ObjectMapper JSON = new ObjectMapper();

    private ServeFixture() {}

    static boolean modelPresent() {
        return Files.isDirectory(MODEL);
    }

    /** An adapter for stories260K (5 layers, D 64, 8 heads) with strong gates, so that it visibly changes the output. */
    static Path writeAdapter(Path dir, String name, long seed, Map<String, String> metadata) throws Exception {
        AdaptionPrompts p = AdaptionPrompts.init(4, 3, 64, 8, GateActivation.TANH, seed);
        java.util.Arrays.fill(p.gate, 2f);
        Path f = dir.resolve(name + ".safetensors");
        AdapterFile.write(f, p, 5, metadata);
        return f;
    }

    /** A client for one server. */
    static final class Client {
        final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
        final String base;
        final Duration timeout;
        String apiKey;

        Client(int port) {
            this(port, Duration.ofSeconds(60));
        }

        Client(int port, Duration timeout) {
            this.base = "http://127.0.0.1:" + port;
            this.timeout = timeout;
        }

        HttpRequest.Builder request(String path) {
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(timeout);
            if (apiKey != null) b.header("Authorization", "Bearer " + apiKey);
            return b;
        }

        Reply post(String path, String body) throws Exception {
            HttpResponse<String> r = http.send(request(path).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
            return new Reply(r.statusCode(), r.body(), r.headers().firstValue("content-type").orElse(""));
        }

        Reply post(String path, JsonNode body) throws Exception {
            return post(path, JSON.writeValueAsString(body));
        }

        Reply get(String path) throws Exception {
            HttpResponse<String> r = http.send(request(path).GET().build(), HttpResponse.BodyHandlers.ofString());
            return new Reply(r.statusCode(), r.body(), r.headers().firstValue("content-type").orElse(""));
        }

        Reply delete(String path) throws Exception {
            HttpResponse<String> r = http.send(request(path).DELETE().build(), HttpResponse.BodyHandlers.ofString());
            return new Reply(r.statusCode(), r.body(), r.headers().firstValue("content-type").orElse(""));
        }

        /** A streamed request's events (the JSON of each data line; [DONE] as a text node) and status. */
        Stream stream(String path, JsonNode body) throws Exception {
            HttpResponse<InputStream> r = http.send(request(path).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(body))).build(), HttpResponse.BodyHandlers.ofInputStream());
            List<JsonNode> events = new ArrayList<>();
            try (BufferedReader in = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8))) {
                for (String line; (line = in.readLine()) != null; ) {
                    if (!line.startsWith("data: ")) continue;
                    String d = line.substring(6);
                    events.add(d.equals("[DONE]") ? JSON.getNodeFactory().textNode("[DONE]") : JSON.readTree(d));
                }
            }
            return new Stream(r.statusCode(), r.headers().firstValue("content-type").orElse(""), events);
        }
    }

    record Reply(int status, String body, String contentType) {
        JsonNode json() throws Exception {
            return JSON.readTree(body);
        }

        /** The error object of an error reply. */
        JsonNode error() throws Exception {
            return json().get("error");
        }
    }

    record Stream(int status, String contentType, List<JsonNode> events) {}

    static ObjectNode completion(String model, int[] promptIds, int maxTokens) {
        ObjectNode o = JSON.createObjectNode().put("model", model).put("max_tokens", maxTokens).put("temperature", 0);
        var a = o.putArray("prompt");
        for (int id : promptIds) a.add(id);
        return o;
    }

    static ObjectNode chat(String model, int maxTokens, String... roleContent) {
        ObjectNode o = JSON.createObjectNode().put("model", model).put("max_tokens", maxTokens).put("temperature", 0);
        var msgs = o.putArray("messages");
        for (int i = 0; i < roleContent.length; i += 2) msgs.addObject().put("role", roleContent[i]).put("content", roleContent[i + 1]);
        return o;
    }
}

package dev.llamaadapter.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llamaadapter.model.BaseModel;
import dev.llamaadapter.tokenizer.Tokenizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static dev.llamaadapter.serve.ServeFixture.JSON;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Who may use the admin endpoints, and what they may load: off (403, saying why) without an API key or
 * {@code --admin}; {@code --admin} only on a loopback host, and then only for requests addressed to it
 * from no other origin; files only from the adapters directory; a file that does not load named, never
 * quoted. Each case on a server of its own, through the HTTP client the other serve tests use.
 */
class ServeAdminSecurityTest {
    @TempDir
    static Path tmp;

    static BaseModel base;
    static Tokenizer tok;
    static Path dir, outsideFile;

    @BeforeAll
    static void open() throws Exception {
        assumeTrue(ServeFixture.modelPresent(), "../shared is absent");
        base = BaseModel.open(ServeFixture.MODEL);
        tok = Tokenizer.load(ServeFixture.MODEL);
        dir = Files.createDirectories(tmp.resolve("adapters"));
        ServeFixture.writeAdapter(dir, "story-a", 1, Map.of());
        outsideFile = ServeFixture.writeAdapter(tmp, "outside", 2, Map.of()); // a good adapter, but not in the directory
    }

    @AfterAll
    static void close() {
        if (base != null) base.close();
    }

    static Server.Options options() {
        return Server.Options.defaults().withDrainMillis(2_000).withSlots(1).withContext(64).withAdapterDir(dir);
    }

    static ObjectNode load(String name, String path) {
        ObjectNode o = JSON.createObjectNode();
        if (name != null) o.put("name", name);
        if (path != null) o.put("path", path);
        return o;
    }

    @Test
    void withoutAKeyOrAdminTheAdminEndpointsAre403AndSayWhy() throws Exception {
        try (Server server = new Server(base, tok, options())) {
            ServeFixture.Client c = new ServeFixture.Client(server.start(0));
            ServeFixture.Reply r = c.post("/admin/adapters", load("x", "/etc/passwd"));
            assertThat(r.status()).isEqualTo(403);
            assertThat(r.error().get("code").asText()).isEqualTo("admin_disabled");
            assertThat(r.error().get("message").asText()).contains("--api-key").contains("--admin").doesNotContain("passwd");
            assertThat(c.post("/admin/adapters", load("story-a", "story-a.safetensors")).status()).isEqualTo(403);
            assertThat(c.get("/admin/adapters").status()).isEqualTo(403);
            assertThat(c.get("/admin/stats").status()).isEqualTo(403);
            assertThat(c.delete("/admin/adapters/story-a").status()).isEqualTo(403);
            assertThat(server.adapters().list()).isEmpty();
            // the API itself stays open
            assertThat(c.get("/v1/models").status()).isEqualTo(200);
        }
    }

    @Test
    void anApiKeyOpensTheAdminEndpointsToItsHolders() throws Exception {
        try (Server server = new Server(base, tok, options().withApiKey("sekret").withHost("0.0.0.0"))) {
            ServeFixture.Client c = new ServeFixture.Client(server.start(0));
            assertThat(c.post("/admin/adapters", load(null, "story-a.safetensors")).status()).isEqualTo(401);
            c.apiKey = "sekret";
            ServeFixture.Reply r = c.post("/admin/adapters", load(null, "story-a.safetensors"));
            assertThat(r.status()).as(r.body()).isEqualTo(200);
            assertThat(r.json().get("id").asText()).isEqualTo("story-a");
            assertThat(c.get("/admin/stats").json().has("admitted")).isTrue();
            assertThat(c.delete("/admin/adapters/story-a").status()).isEqualTo(200);
        }
    }

    @Test
    void adminWithoutAKeyIsOnlyForLoopbackHosts() {
        assertThatThrownBy(() -> new Server(base, tok, options().withHost("0.0.0.0").withAdmin(true)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("loopback");
        assertThat(AdminAccess.isLoopback("localhost")).isTrue();
        assertThat(AdminAccess.isLoopback("::1")).isTrue();
        assertThat(AdminAccess.isLoopback("")).isFalse();
        new Server(base, tok, options().withHost("localhost").withAdmin(true)).close();
    }

    /** A web page in this machine's browser may post to 127.0.0.1, directly or through a name rebound to it. */
    @Test
    void keylessAdminAnswersNoOtherOriginAndNoOtherHostName() throws Exception {
        try (Server server = new Server(base, tok, options().withAdmin(true))) {
            int port = server.start(0);
            ServeFixture.Client c = new ServeFixture.Client(port);
            var cross = c.http.send(c.request("/admin/adapters").header("Origin", "http://evil.example")
                    .POST(java.net.http.HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(load(null, "story-a.safetensors")))).build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            assertThat(cross.statusCode()).isEqualTo(403);
            assertThat(cross.body()).contains("cross-origin");
            assertThat(server.adapters().list()).isEmpty();
            var same = c.http.send(c.request("/admin/adapters").header("Origin", "http://127.0.0.1:" + port).GET().build(),
                    java.net.http.HttpResponse.BodyHandlers.ofString());
            assertThat(same.statusCode()).isEqualTo(200);

            String rebound = rawGet(port, "/admin/adapters", "evil.example:" + port);
            assertThat(rebound).startsWith("HTTP/1.1 403").contains("loopback host");
            assertThat(rawGet(port, "/admin/adapters", "localhost:" + port)).startsWith("HTTP/1.1 200");
            assertThat(rawGet(port, "/v1/models", "evil.example:" + port)).startsWith("HTTP/1.1 200"); // only admin is guarded
        }
    }

    static String rawGet(int port, String path, String host) throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.setSoTimeout(10_000);
            s.getOutputStream().write(("GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            return new String(s.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void adaptersLoadOnlyFromTheAdaptersDirectory() throws Exception {
        Path sub = Files.createDirectories(dir.resolve("sub"));
        Files.createSymbolicLink(dir.resolve("link-out.safetensors"), outsideFile);
        Files.createSymbolicLink(dir.resolve("dir-out"), tmp);
        Files.createSymbolicLink(sub.resolve("link-in.safetensors"), dir.resolve("story-a.safetensors"));
        Path peftOut = Files.createDirectories(dir.resolve("peft-out")); // a PEFT directory whose files lie elsewhere
        Files.createSymbolicLink(peftOut.resolve("adapter_model.safetensors"), outsideFile);
        try (Server server = new Server(base, tok, options().withAdmin(true))) {
            ServeFixture.Client c = new ServeFixture.Client(server.start(0));
            for (String path : new String[]{"/etc/passwd", outsideFile.toString(), "../outside.safetensors", "sub/../../outside.safetensors",
                    "sub/../story-a.safetensors", dir + "/../outside.safetensors", "link-out.safetensors", "dir-out/outside.safetensors",
                    "dir-out/no-such-file", "peft-out", "."}) {
                ServeFixture.Reply r = c.post("/admin/adapters", load("x", path));
                assertThat(r.status()).as(path + ": " + r.body()).isEqualTo(403);
                assertThat(r.error().get("code").asText()).isEqualTo("path_outside_adapters");
                assertThat(r.error().get("message").asText()).contains("--adapters directory");
            }
            assertThat(server.adapters().list()).isEmpty();

            // inside: by a path relative to it, an absolute one, a link that stays inside, or the name alone
            assertThat(c.post("/admin/adapters", load("a1", "story-a.safetensors")).status()).isEqualTo(200);
            assertThat(c.post("/admin/adapters", load("a2", dir.resolve("story-a.safetensors").toString())).status()).isEqualTo(200);
            assertThat(c.post("/admin/adapters", load("a3", "sub/link-in.safetensors")).status()).isEqualTo(200);
            ServeFixture.Reply byName = c.post("/admin/adapters", load("story-a", null));
            assertThat(byName.status()).as(byName.body()).isEqualTo(200);
            assertThat(server.adapters().list()).hasSize(4);
            ServeFixture.Reply none = c.post("/admin/adapters", load("nothing", null));
            assertThat(none.status()).isEqualTo(400);
            assertThat(c.post("/admin/adapters", load("..", null)).status()).isEqualTo(400); // not a usable name
        }
    }

    @Test
    void withoutAnAdaptersDirectoryNothingLoads() throws Exception {
        try (Server server = new Server(base, tok, options().withAdapterDir(null).withAdmin(true))) {
            ServeFixture.Client c = new ServeFixture.Client(server.start(0));
            ServeFixture.Reply r = c.post("/admin/adapters", load("x", outsideFile.toString()));
            assertThat(r.status()).isEqualTo(403);
            assertThat(r.error().get("message").asText()).contains("no --adapters directory");
            assertThat(server.adapters().list()).isEmpty();
        }
    }

    /** The report: /etc/passwd's first eight bytes came back as a "header length"; any file's bytes must not. */
    @Test
    void aFileThatDoesNotLoadIsNamedButNeitherQuotedNorReadAsNumbers() throws Exception {
        byte[] passwd = "root:x:0:0:root:/root:/bin/bash\n".getBytes(StandardCharsets.US_ASCII);
        Files.write(dir.resolve("passwd.safetensors"), passwd);
        long asLength = ByteBuffer.wrap(passwd, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        byte[] header = "{\"secret-token-xyz\": {\"dtype\": \"F32\"}}".getBytes(StandardCharsets.US_ASCII);
        ByteBuffer st = ByteBuffer.allocate(8 + header.length).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length).put(header);
        Files.write(dir.resolve("quoted.safetensors"), st.array());
        try (Server server = new Server(base, tok, options().withAdmin(true))) {
            ServeFixture.Client c = new ServeFixture.Client(server.start(0));
            for (String name : new String[]{"passwd", "quoted"}) {
                ServeFixture.Reply r = c.post("/admin/adapters", load(null, name + ".safetensors"));
                assertThat(r.status()).as(r.body()).isEqualTo(400);
                JsonNode e = r.error();
                assertThat(e.get("param").asText()).isEqualTo("path");
                assertThat(e.get("message").asText()).startsWith("cannot load " + name + ".safetensors: ")
                        .doesNotContain("root").doesNotContain("secret").doesNotContain("absurd")
                        .doesNotContain(Long.toUnsignedString(asLength)).doesNotContain(String.valueOf(asLength)).doesNotContain(String.valueOf(header.length));
            }
        }
    }
}

package dev.llamaadapter.serve;

import dev.llamaadapter.model.BaseModel;
import dev.llamaadapter.tokenizer.Tokenizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The playground's files as HTTP serves them (the browser test drives the page itself): content types,
 * revalidation by ETag, the security headers, open without the API key that the API needs, and nothing
 * outside the page's own flat list of files.
 */
class ServePageTest {
    static BaseModel base;
    static Server server;
    static ServeFixture.Client client;

    @BeforeAll
    static void open() throws Exception {
        assumeTrue(ServeFixture.modelPresent(), "../shared is absent");
        base = BaseModel.open(ServeFixture.MODEL);
        server = new Server(base, Tokenizer.load(ServeFixture.MODEL), Server.Options.defaults().withSlots(1).withContext(64)
                .withDrainMillis(2_000).withApiKey("k"));
        client = new ServeFixture.Client(server.start(0));
    }

    @AfterAll
    static void close() {
        if (server != null) server.close();
        if (base != null) base.close();
    }

    static HttpResponse<String> get(String path, String ifNoneMatch) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(client.base + path));
        if (ifNoneMatch != null) b.header("If-None-Match", ifNoneMatch);
        return client.http.send(b.GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void thePageIsOpenWithoutTheKeyTheApiIsNot() throws Exception {
        HttpResponse<String> page = get("/", null);
        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.body()).contains("<script type=\"module\" src=\"app.js\">");
        assertThat(get("/v1/models", null).statusCode()).isEqualTo(401);
    }

    @Test
    void eachFileHasItsTypeAndTheHtmlItsPolicy() throws Exception {
        String[][] files = {{"/", "text/html; charset=utf-8"}, {"/index.html", "text/html; charset=utf-8"},
                {"/app.js", "text/javascript; charset=utf-8"}, {"/api.js", "text/javascript; charset=utf-8"},
                {"/app.css", "text/css; charset=utf-8"}, {"/favicon.svg", "image/svg+xml"}};
        for (String[] f : files) {
            HttpResponse<String> r = get(f[0], null);
            assertThat(r.statusCode()).as(f[0]).isEqualTo(200);
            assertThat(r.headers().firstValue("content-type")).as(f[0]).hasValue(f[1]);
            assertThat(r.headers().firstValue("x-content-type-options")).as(f[0]).hasValue("nosniff");
        }
        HttpResponse<String> html = get("/", null);
        assertThat(html.headers().firstValue("content-security-policy")).hasValue(StaticFiles.CSP);
        assertThat(StaticFiles.CSP).contains("script-src 'self'").contains("connect-src 'self'").doesNotContain("unsafe");
    }

    @Test
    void aCurrentCopyIsAnswered304AndEveryAnswerAsksToRevalidate() throws Exception {
        HttpResponse<String> first = get("/app.js", null);
        String etag = first.headers().firstValue("etag").orElseThrow();
        assertThat(first.headers().firstValue("cache-control")).hasValue("no-cache");
        HttpResponse<String> again = get("/app.js", etag);
        assertThat(again.statusCode()).isEqualTo(304);
        assertThat(again.body()).isEmpty();
        assertThat(get("/app.js", "\"stale\"").statusCode()).isEqualTo(200);
        assertThat(get("/app.css", null).headers().firstValue("etag")).isPresent().get().isNotEqualTo(etag);
    }

    @Test
    void onlyThePagesOwnFilesAreServed() throws Exception {
        for (String p : new String[]{"/nothing.js", "/web/app.js", "/Server.class", "/dev/llamaadapter/serve/Server.class", "/..%2fServer.class",
                "/%2e%2e/pom.xml", "/.hidden.js"}) {
            int status = get(p, null).statusCode();
            assertThat(status).as(p).isIn(400, 401, 404); // never the file: unknown paths fall to the API, which wants the key here
        }
        HttpResponse<Void> head = client.http.send(HttpRequest.newBuilder(URI.create(client.base + "/")).method("HEAD",
                HttpRequest.BodyPublishers.noBody()).build(), HttpResponse.BodyHandlers.discarding());
        assertThat(head.statusCode()).isEqualTo(200);
        assertThat(head.headers().firstValueAsLong("content-length").orElse(0)).isPositive();
    }
}

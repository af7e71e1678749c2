package dev.llamaadapter.serve;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llamaadapter.cli.GenerateJson;
import dev.llamaadapter.model.BaseModel;
import dev.llamaadapter.tokenizer.Tokenizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static dev.llamaadapter.serve.ServeFixture.JSON;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The playground page in a real browser (Debian's chromium, headless, through chromium-driver) against a
 * real server on stories260K with two adapters: chat streams and its stop cancels on the server; compare's
 * three columns equal {@code generate --json}; the Adapters view's load and unload change /v1/models; a
 * wrong API key shows the server's 401 message. Each view's screenshot goes to target/playground/ (the
 * README's copies under docs/ come from there). Skipped only when ../shared (the model) is absent: a
 * missing browser fails, since CI installs it.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PlaygroundBrowserTest {
    static final Path SHOTS = Path.of("target/playground");
    static final String PROMPT = "Once upon a time";
    static final int COMPARE_TOKENS = 40;

    @TempDir
    static Path tmp;

    static BaseModel base;
    static Tokenizer tok;
    static Path dir, alpha, beta;
    static Server server;
    static ServeFixture.Client client;
    static WebDriver browser;
    static String url;

    @BeforeAll
    static void open() throws Exception {
        assumeTrue(ServeFixture.modelPresent(), "../shared is absent");
        base = BaseModel.open(ServeFixture.MODEL);
        tok = Tokenizer.load(ServeFixture.MODEL);
        dir = Files.createDirectories(tmp.resolve("adapters"));
        Map<String, String> trained = Map.of("summary.steps", "120", "summary.examples", "960", "summary.final_train_loss", "1.912345",
                "train.lr", "0.009", "train.template", "alpaca");
        alpha = ServeFixture.writeAdapter(dir, "story-alpha", 1, trained);
        beta = ServeFixture.writeAdapter(dir, "story-beta", 2, Map.of());
        ServeFixture.writeAdapter(dir, "story-gamma", 3, Map.of()); // in the directory, loaded from the page
        server = new Server(base, tok, Server.Options.defaults().withSlots(4).withContext(512).withDrainMillis(2_000).withAdapterDir(dir)
                .withAdmin(true));
        server.adapters().load("story-alpha", alpha);
        server.adapters().load("story-beta", beta);
        int port = server.start(0);
        url = "http://127.0.0.1:" + port + "/";
        client = new ServeFixture.Client(port);
        browser = chromium();
        Files.createDirectories(SHOTS);
    }

    /** Debian's chromium and its driver, named outright so that Selenium's manager never looks for a download. */
    static WebDriver chromium() {
        String driver = System.getenv().getOrDefault("CHROMEDRIVER", "/usr/bin/chromedriver");
        String binary = System.getenv().getOrDefault("CHROMIUM", "/usr/bin/chromium");
        if (!Files.isExecutable(Path.of(driver)) || !Files.isExecutable(Path.of(binary)))
            throw new IllegalStateException("the browser tests need Debian's chromium and chromium-driver (" + binary + ", " + driver
                    + "): apt-get install -y chromium chromium-driver (as .ci/run does)");
        ChromeOptions o = new ChromeOptions();
        o.setBinary(binary);
        o.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,900",
                "--force-device-scale-factor=1", "--force-prefers-reduced-motion");
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(new File(driver)).usingAnyFreePort().build();
        ChromeDriver d = new ChromeDriver(service, o);
        d.manage().window().setSize(new Dimension(1280, 900));
        return d;
    }

    @AfterAll
    static void close() {
        if (browser != null) browser.quit();
        if (server != null) server.close();
        if (base != null) base.close();
    }

    static WebDriverWait waiting(int seconds) {
        return new WebDriverWait(browser, Duration.ofSeconds(seconds), Duration.ofMillis(50));
    }

    static void go(String view) {
        browser.get(url + "#" + view);
        waiting(10).until(d -> d.findElement(By.id(view)).isDisplayed());
    }

    static void screenshot(String name) throws Exception {
        Files.write(SHOTS.resolve("playground-" + name + ".png"), ((TakesScreenshot) browser).getScreenshotAs(OutputType.BYTES));
    }

    static void set(String id, String value) {
        WebElement e = browser.findElement(By.id(id));
        e.clear();
        e.sendKeys(value);
    }

    @Test
    @Order(1)
    void chatStreamsAnAnswerAndStopCancelsItOnTheServer() throws Exception {
        go("chat");
        waiting(10).until(d -> new Select(d.findElement(By.id("chat-model"))).getOptions().size() == 3);
        new Select(browser.findElement(By.id("chat-model"))).selectByValue("story-alpha");
        browser.findElement(By.cssSelector("#chat details summary")).click();
        set("chat-max-tokens", "60");
        set("chat-seed", "7");
        set("chat-input", "Tell me a story about a cat.");
        browser.findElement(By.id("chat-send")).click();
        WebElement first = waiting(30).until(d -> d.findElement(By.cssSelector("#chat-log li.assistant[data-finish]")));
        assertThat(first.getAttribute("data-finish")).isIn("stop", "length");
        assertThat(first.findElement(By.className("text")).getText()).isNotBlank();
        assertThat(first.findElement(By.className("meta")).getText()).contains("completion tokens").contains("tok/s");
        screenshot("chat");

        // a slow answer: stop it while it streams, and the server cancels it (its slot freed)
        long cancelledBefore = server.stats().cancelled();
        server.throttleScheduling(40);
        try {
            browser.findElement(By.id("chat-clear")).click(); // a fresh conversation: the context holds the whole answer
            set("chat-max-tokens", "200");
            set("chat-input", "Tell me about a dog.");
            browser.findElement(By.id("chat-send")).click();
            WebElement second = waiting(20).until(d -> {
                List<WebElement> a = d.findElements(By.cssSelector("#chat-log li.assistant"));
                if (a.size() != 1) return null;
                WebElement last = a.getFirst();
                return !last.findElement(By.className("text")).getText().isBlank() ? last : null;
            });
            assertThat(second.getAttribute("data-finish")).as("still streaming when stopped").isNull();
            browser.findElement(By.id("chat-stop-button")).click();
            waiting(10).until(d -> "stopped".equals(second.getAttribute("data-finish")));
            waiting(10).until(d -> server.stats().cancelled() > cancelledBefore && server.stats().slotsInUse() == 0);
        } finally {
            server.throttleScheduling(0);
        }
        JsonNode stats = client.get("/admin/stats").json();
        assertThat(stats.get("cancelled").asLong()).isGreaterThan(cancelledBefore);
        assertThat(stats.get("slotsInUse").asInt()).isZero();

        // ... and the Server view shows the cancel
        go("server");
        WebElement cancelled = waiting(10).until(d -> d.findElement(By.cssSelector("[data-stat=cancelled] dd")));
        assertThat(Long.parseLong(cancelled.getText())).isGreaterThan(cancelledBefore);
        assertThat(browser.findElement(By.cssSelector("[data-stat=completed] dd")).getText()).isEqualTo("" + server.stats().completed());
        assertThat(browser.findElement(By.cssSelector("[data-stat=slotsInUse] dd")).getText()).isEqualTo("0 of 4");
    }

    @Test
    @Order(2)
    void compareShowsTheBaseAndTwoAdaptersEachAsGenerateWritesIt() throws Exception {
        go("compare");
        waiting(10).until(d -> d.findElements(By.cssSelector("#compare-adapters input:checked")).size() == 2);
        set("compare-prompt", PROMPT);
        set("compare-max-tokens", "" + COMPARE_TOKENS);
        browser.findElement(By.id("compare-run")).click();
        waiting(30).until(d -> d.findElements(By.cssSelector("#compare-columns .column[data-done]")).size() == 3);
        List<WebElement> cols = browser.findElements(By.cssSelector("#compare-columns .column"));
        List<String> models = new ArrayList<>();
        for (WebElement c : cols) models.add(c.getAttribute("data-model"));
        assertThat(models).containsExactly(server.baseModelId(), "story-alpha", "story-beta");
        Path[] adapters = {null, alpha, beta};
        List<String> texts = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            String shown = (String) ((org.openqa.selenium.JavascriptExecutor) browser).executeScript(
                    "return arguments[0].querySelector('pre.out').textContent", cols.get(i));
            JsonNode expected = generate(adapters[i]);
            assertThat(shown).as("column %s equals generate --json", models.get(i)).isEqualTo(expected.get("text").asText());
            assertThat(cols.get(i).findElement(By.className("meta")).getText())
                    .contains(expected.get("completion_tokens").asInt() + " tokens").contains("tok/s");
            texts.add(shown);
        }
        assertThat(texts).as("the adapters change the answer").doesNotHaveDuplicates();
        assertThat(server.stats().maxBatch()).as("the columns decoded in one batch").isGreaterThanOrEqualTo(3);
        screenshot("compare");

        go("server"); // its screenshot after the compare, which shows a batch of three
        waiting(10).until(d -> d.findElement(By.cssSelector("[data-stat=maxBatch] dd")).getText().equals("" + server.stats().maxBatch()));
        screenshot("server");
    }

    /** The CLI's answer for the same prompt, adapter and greedy settings. */
    static JsonNode generate(Path adapter) throws Exception {
        List<String> args = new ArrayList<>(List.of("generate", "--model", ServeFixture.MODEL.toString(), "--prompt", PROMPT, "--greedy",
                "--max-tokens", "" + COMPARE_TOKENS, "--json"));
        if (adapter != null) args.addAll(List.of("--adapter", adapter.toString()));
        String out = GenerateJson.run(args.subList(1, args.size()).toArray(String[]::new));
        JsonNode n = JSON.readTree(out);
        assertThat(n.has("text")).as("generate --json wrote %s", out).isTrue();
        return n;
    }

    @Test
    @Order(3)
    void adaptersViewListsLoadsAndUnloads() throws Exception {
        go("adapters");
        WebElement card = waiting(10).until(d -> d.findElement(By.cssSelector("[data-adapter=story-alpha]")));
        String facts = card.getText();
        assertThat(facts).contains("format").contains("native").contains("adapter_len (K)\n4").contains("layers (L)\n3 (layers 2–4)")
                .contains("gate activation\ntanh").contains("trained with template\nalpaca");
        card.findElement(By.cssSelector("details summary")).click();
        assertThat(card.getText()).contains("steps\n120").contains("final_train_loss\n1.912345");
        screenshot("adapters");

        set("adapter-path", "story-gamma.safetensors");
        browser.findElement(By.id("adapter-load-button")).click();
        waiting(10).until(d -> !d.findElements(By.cssSelector("[data-adapter=story-gamma]")).isEmpty());
        assertThat(modelIds()).contains("story-gamma");

        browser.findElement(By.cssSelector("[aria-label='Unload story-gamma']")).click();
        waiting(10).until(d -> d.findElements(By.cssSelector("[data-adapter=story-gamma]")).isEmpty());
        assertThat(modelIds()).doesNotContain("story-gamma").contains("story-alpha", "story-beta");

        // a path outside the directory: the server's refusal shows in the page
        set("adapter-path", "../outside.safetensors");
        browser.findElement(By.id("adapter-load-button")).click();
        WebElement err = waiting(10).until(d -> {
            WebElement e = d.findElement(By.id("adapters-error"));
            return e.isDisplayed() ? e : null;
        });
        assertThat(err.getText()).startsWith("403:");
    }

    static List<String> modelIds() throws Exception {
        List<String> ids = new ArrayList<>();
        for (JsonNode m : client.get("/v1/models").json().get("data")) ids.add(m.get("id").asText());
        return ids;
    }

    @Test
    @Order(4)
    void aWrongApiKeyShowsThe401MessageAndTheRightOneOpensThePage() throws Exception {
        try (Server keyed = new Server(base, tok, Server.Options.defaults().withSlots(1).withContext(64).withDrainMillis(2_000).withApiKey("s3cret"))) {
            String keyedUrl = "http://127.0.0.1:" + keyed.start(0) + "/";
            browser.get(keyedUrl + "#chat");
            WebElement message = waiting(10).until(d -> d.findElement(By.id("key-form")).isDisplayed() ? d.findElement(By.id("key-message")) : null);
            assertThat(message.getText()).contains("401").contains("missing API key");
            set("key-input", "wrong");
            browser.findElement(By.id("key-use")).click();
            waiting(10).until(d -> d.findElement(By.id("key-message")).getText().contains("incorrect API key"));
            assertThat(browser.findElement(By.id("key-form")).isDisplayed()).isTrue();
            assertThat(browser.findElement(By.id("chat-error")).getText()).contains("401: incorrect API key");
            screenshot("api-key");

            set("key-input", "s3cret");
            browser.findElement(By.id("key-use")).click();
            waiting(10).until(d -> new Select(d.findElement(By.id("chat-model"))).getOptions().size() == 1);
            assertThat(browser.findElement(By.id("key-form")).isDisplayed()).isFalse();
            // with a key the admin endpoints are open: the Adapters view offers loading
            browser.get(keyedUrl + "#adapters");
            browser.navigate().refresh(); // a reload forgets the key: it lives in the page's memory only
            waiting(10).until(d -> d.findElement(By.id("key-form")).isDisplayed());
        }
    }

    @Test
    @Order(5)
    void withoutAdminTheAdapterControlsAreHiddenAndThePageSaysWhy() throws Exception {
        try (Server closed = new Server(base, tok, Server.Options.defaults().withSlots(1).withContext(64).withDrainMillis(2_000))) {
            closed.adapters().load("story-alpha", alpha);
            browser.get("http://127.0.0.1:" + closed.start(0) + "/#adapters");
            WebElement note = waiting(10).until(d -> d.findElement(By.id("adapters-refused")).isDisplayed() ? d.findElement(By.id("adapters-refused")) : null);
            assertThat(note.getText()).contains("--api-key").contains("--admin");
            assertThat(browser.findElement(By.id("adapter-load")).isDisplayed()).isFalse();
            assertThat(browser.findElements(By.cssSelector("[data-adapter=story-alpha]"))).hasSize(1);
            assertThat(browser.findElements(By.cssSelector("[aria-label='Unload story-alpha']"))).isEmpty();
        }
    }

    @Test
    @Order(6)
    void thePageIsReadableOnAPhoneAndEveryControlHasALabel() throws Exception {
        browser.manage().window().setSize(new Dimension(390, 844)); // a phone
        try {
            go("compare");
            long overflow = (Long) ((org.openqa.selenium.JavascriptExecutor) browser).executeScript(
                    "return document.documentElement.scrollWidth - document.documentElement.clientWidth");
            assertThat(overflow).as("no sideways scrolling on a phone").isLessThanOrEqualTo(0);
            // every control has a label
            Object unlabelled = ((org.openqa.selenium.JavascriptExecutor) browser).executeScript("""
                    return [...document.querySelectorAll('input, select, textarea, button')]
                      .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.textContent.trim())
                      .map(e => e.id || e.outerHTML);""");
            assertThat((List<?>) unlabelled).isEmpty();
            screenshot("phone");
        } finally {
            browser.manage().window().setSize(new Dimension(1280, 900));
        }
    }
}

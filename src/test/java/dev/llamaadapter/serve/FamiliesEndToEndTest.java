package dev.llamaadapter.serve;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llamaadapter.adapter.AdapterFile;
import dev.llamaadapter.cli.Main;
import dev.llamaadapter.model.BaseModel;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Each family of spec §7 as a user meets it: a tiny random model in Hugging Face layout (the parity case's,
 * with a small tokenizer.json beside it) trains an adapter with {@code train}, generates with it through
 * {@code generate}, answers a chat request with it over {@code serve}'s HTTP API, and fine-tunes fully
 * ({@code train --full}) into a model directory of the same family that generates in turn.
 */
class FamiliesEndToEndTest {
    static final Path FAMILIES = Path.of("../shared/parity/families");
    static final Path TOKENIZER = Path.of("src/test/resources/tokenizer/hf-spm-metaspace/tokenizer.json");

    @TempDir
    Path tmp;

    static int run(StringWriter err, String... args) {
        CommandLine cl = Main.commandLine();
        cl.setErr(new PrintWriter(err, true));
        cl.setOut(new PrintWriter(new StringWriter(), true));
        return cl.execute(args);
    }

    @ParameterizedTest
    @ValueSource(strings = {"llama3-rope", "llama-headdim-bias", "mistral-window", "qwen2", "qwen3", "phi3", "gemma2"})
    void trainGenerateAndServe(String name) throws Exception {
        Path c = FAMILIES.resolve(name).resolve("model");
        assumeTrue(Files.isDirectory(c), "../shared absent");
        Path model = Files.createDirectories(tmp.resolve("model"));
        try (Stream<Path> s = Files.list(c)) {
            for (Path f : s.toList()) Files.copy(f, model.resolve(f.getFileName()));
        }
        Files.copy(TOKENIZER, model.resolve("tokenizer.json"));
        Path data = tmp.resolve("d.jsonl");
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < 16; i++) sb.append("{\"instruction\": \"hello world\", \"output\": \"hello\"}\n");
        Files.writeString(data, sb);

        Path adapter = tmp.resolve("a.safetensors");
        StringWriter err = new StringWriter();
        int rc = run(err, "train", "--model", model.toString(), "--data", data.toString(), "--out", adapter.toString(), "--epochs", "2",
                "--batch-size", "4", "--micro-batch-size", "2", "--adapter-len", "3", "--adapter-layers", "2", "--lr", "0.05", "--quiet");
        assertThat(rc).as(err.toString()).isZero();
        try (BaseModel base = BaseModel.open(model)) {
            AdapterFile.Adapter a = AdapterFile.read(adapter, base);
            assertThat(a.metadata()).containsEntry(AdapterFile.BASE_FAMILY, base.config().arch().family().modelType());
            float g = 0;
            for (float v : a.prompts().gate) g += Math.abs(v);
            assertThat(g).as("the gates moved from zero").isPositive();

            err = new StringWriter();
            rc = run(err, "generate", "--model", model.toString(), "--adapter", adapter.toString(), "--prompt", "hello", "--greedy",
                    "--max-tokens", "4", "--json");
            assertThat(rc).as(err.toString()).isZero();

            // full fine-tuning writes a model directory of the same family that every command reads
            Path full = tmp.resolve("full");
            err = new StringWriter();
            rc = run(err, "train", "--full", "--model", model.toString(), "--data", data.toString(), "--out", full.toString(), "--epochs", "1",
                    "--batch-size", "4", "--micro-batch-size", "2", "--lr", "1e-3", "--quiet");
            assertThat(rc).as(err.toString()).isZero();
            try (BaseModel tuned = BaseModel.open(full)) {
                assertThat(tuned.config().arch()).isEqualTo(base.config().arch());
            }
            err = new StringWriter();
            rc = run(err, "generate", "--model", full.toString(), "--prompt", "hello", "--greedy", "--max-tokens", "4", "--json");
            assertThat(rc).as(err.toString()).isZero();

            // PEFT's adaption_prompt holds llama and mistral adapters only (spec §7): the others stay native
            String family = base.config().arch().family().modelType();
            err = new StringWriter();
            rc = run(err, "convert", "--adapter", adapter.toString(), "--to", "peft", "--out", tmp.resolve("peft").toString());
            if (family.equals("llama") || family.equals("mistral")) {
                // per-head gates (the paper's) do not fit PEFT's one gate per layer: refused for that reason, not the family
                assertThat(err.toString()).doesNotContain("llama and mistral adapters only");
            } else {
                assertThat(rc).isEqualTo(2);
                assertThat(err.toString()).contains(family).contains("llama and mistral adapters only");
            }

            Server server = new Server(base, base.tokenizer(), Server.Options.defaults().withSlots(2).withContext(256).withQueue(4));
            server.adapters().load("a", adapter);
            try {
                ServeFixture.Client client = new ServeFixture.Client(server.start(0));
                JsonNode body = ServeFixture.JSON.readTree("{\"model\": \"a\", \"max_tokens\": 4, \"messages\": [{\"role\": \"user\", \"content\": \"hello world\"}]}");
                ServeFixture.Reply r = client.post("/v1/chat/completions", body);
                assertThat(r.status()).as(r.body()).isEqualTo(200);
                assertThat(ServeFixture.JSON.readTree(r.body()).path("choices").get(0).path("message").has("content")).isTrue();
            } finally {
                server.stop();
            }
        }
    }
}

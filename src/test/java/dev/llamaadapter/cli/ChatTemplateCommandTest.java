package dev.llamaadapter.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * chat-template as a user runs it: the rendered text on stdout and nothing else; a template that raises,
 * or a file that is not a conversation, gives exit code 2 and one line naming the file and the reason.
 * The template here exercises, in a directory holding only tokenizer_config.json, what real templates use:
 * bos/eos written as objects, namespace with a keyword expression, a reversed slice, a membership test,
 * string methods, tojson and raise_exception. Its expected text is @huggingface/jinja's rendering.
 */
class ChatTemplateCommandTest {

    static final String TEMPLATE = """
            {{- bos_token }}
            {%- set ns = namespace(last_user=-1, turns=messages|length - 1) %}
            {%- for m in messages[::-1] %}
                {%- if ns.last_user < 0 and m.role == 'user' %}{% set ns.last_user = ns.turns - loop.index0 %}{% endif %}
            {%- endfor %}
            {%- for m in messages %}
                {%- if m.role not in ['system', 'user', 'assistant'] %}{{ raise_exception('Unknown role: ' + m.role) }}{% endif %}
            [{{ m.role | upper }}{{ '*' if loop.index0 == ns.last_user else '' }}] {{ m.content.strip().split('|')[-1] }}
                {%- if m.args is defined %} {{ m.args | tojson }}{% endif %}
            {{ eos_token }}
            {%- endfor %}
            {%- if add_generation_prompt %}
            [ASSISTANT]
            {%- endif %}""";

    static final String CONVERSATION = """
            [{"role": "system", "content": "  be kind  "},
             {"role": "user", "content": "a|--b"},
             {"role": "assistant", "content": "ok", "args": {"city": "Zürich", "n": [1, 2], "q\\"": null, "t": true}},
             {"role": "user", "content": " last "}]""";

    @TempDir
    Path tmp;

    record Run(int rc, String out, String err) {}

    Run run(String... args) {
        CommandLine cl = Main.commandLine();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ((ChatTemplateCommand) cl.getSubcommands().get("chat-template").getCommand()).out = new PrintStream(out, true, StandardCharsets.UTF_8);
        StringWriter err = new StringWriter();
        cl.setErr(new PrintWriter(err));
        int rc = cl.execute(args);
        return new Run(rc, out.toString(StandardCharsets.UTF_8), err.toString());
    }

    Path modelDir() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("model"));
        Map<String, Object> config = Map.of("chat_template", TEMPLATE,
                "bos_token", Map.of("content", "<s>", "lstrip", false, "__type", "AddedToken"),
                "eos_token", Map.of("content", "</s>", "lstrip", false, "__type", "AddedToken"));
        new ObjectMapper().writeValue(dir.resolve("tokenizer_config.json").toFile(), config);
        return dir;
    }

    Path messages(Object conversation) throws Exception {
        Path f = tmp.resolve("messages.json");
        if (conversation instanceof String json) Files.writeString(f, json);
        else new ObjectMapper().writeValue(f.toFile(), conversation);
        return f;
    }

    @Test
    void printsTheRenderedTextAndNothingElse() throws Exception {
        Run r = run("chat-template", "--model", modelDir().toString(), "--messages", messages(CONVERSATION).toString());
        assertThat(r.rc()).isZero();
        assertThat(r.err()).isEmpty();
        assertThat(r.out()).isEqualTo("<s>[SYSTEM] be kind</s>[USER] --b</s>[ASSISTANT] ok {\"city\": \"Zürich\", \"n\": [1, 2], \"q\\\"\": null, \"t\": true}</s>"
                + "[USER*] last</s>[ASSISTANT]");
    }

    @Test
    void noGenerationPromptLeavesTheAssistantTurnClosed() throws Exception {
        Run r = run("chat-template", "--model", modelDir().toString(), "--messages", messages("{\"messages\": " + CONVERSATION + "}").toString(),
                "--no-generation-prompt");
        assertThat(r.rc()).isZero();
        assertThat(r.out()).endsWith("[USER*] last</s>");
    }

    @Test
    void aTemplateThatRaisesGivesOneLineNamingTheFileAndTheReason() throws Exception {
        Path dir = modelDir();
        Run r = run("chat-template", "--model", dir.toString(), "--messages", messages(List.of(Map.of("role", "tool", "content", "x"))).toString());
        assertThat(r.rc()).isEqualTo(2);
        assertThat(r.out()).isEmpty();
        assertThat(r.err()).isEqualTo("error: " + dir.resolve("tokenizer_config.json") + ": the template raised: Unknown role: tool" + System.lineSeparator());
    }

    @Test
    void aFileThatIsNotAConversationIsNamed() throws Exception {
        Path dir = modelDir();
        Path bad = tmp.resolve("bad.json");
        Files.writeString(bad, "{\"role\": \"user\"");
        Run r = run("chat-template", "--model", dir.toString(), "--messages", bad.toString());
        assertThat(r.rc()).isEqualTo(2);
        assertThat(r.err().lines().toList()).hasSize(1);
        assertThat(r.err()).startsWith("error: " + bad + ": not valid JSON");

        Run notAList = run("chat-template", "--model", dir.toString(), "--messages", messages(Map.of("role", "user")).toString());
        assertThat(notAList.rc()).isEqualTo(2);
        assertThat(notAList.err()).contains("messages.json").contains("a list of messages");
    }

    @Test
    void aModelWithoutATemplateIsNamed() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("plain"));
        Files.writeString(dir.resolve("tokenizer_config.json"), "{\"bos_token\": \"<s>\"}");
        Run r = run("chat-template", "--model", dir.toString(), "--messages", messages(CONVERSATION).toString());
        assertThat(r.rc()).isEqualTo(2);
        assertThat(r.err()).isEqualTo("error: " + dir.resolve("tokenizer_config.json") + ": has no chat_template" + System.lineSeparator());
    }

    /** Gemma 3's own template (../shared), refusing roles out of order, as a user would see it. */
    @Test
    void gemmaRefusesRolesOutOfOrder() throws Exception {
        Path gemma = Path.of("../shared/assets/tokenizers/hf-gemma3");
        assumeTrue(Files.isRegularFile(gemma.resolve("tokenizer_config.json")), "shared assets absent: " + gemma);
        Run r = run("chat-template", "--model", gemma.toString(), "--messages",
                messages(List.of(Map.of("role", "user", "content", "one"), Map.of("role", "user", "content", "two"))).toString());
        assertThat(r.rc()).isEqualTo(2);
        assertThat(r.err()).isEqualTo("error: " + gemma.resolve("tokenizer_config.json")
                + ": the template raised: Conversation roles must alternate user/assistant/user/assistant/..." + System.lineSeparator());
    }
}

package dev.llamaadapter.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * train --format chat's bad input as a user meets it: exit code 2 and one line naming the data file, the line
 * and the reason: a template that raises or uses a filter nobody defines, a conversation whose roles the real
 * Gemma 3 template rejects, a message without content. No adapter is written.
 */
class ChatFormatErrorsTest {
    static final Path MODEL = Path.of("../shared/assets/stories260K/hf");
    static final Path GEMMA3 = Path.of("../shared/assets/tokenizers/hf-gemma3");

    @TempDir
    Path tmp;
    Path data, out;

    @BeforeEach
    void data() throws Exception {
        assumeTrue(Files.isDirectory(MODEL), "../shared is absent");
        data = tmp.resolve("chats.jsonl");
        out = tmp.resolve("a.safetensors");
        Files.writeString(data, """
                {"messages": [{"role": "user", "content": "Tell about Tom."}, {"role": "assistant", "content": "Tom saw a cat."}]}
                {"messages": [{"role": "user", "content": "Tell about Sue."}, {"role": "assistant", "content": "Sue saw a dog."}]}
                """);
    }

    /** A directory holding a tokenizer_config.json with this chat template. */
    Path template(String jinja) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("tpl"));
        Files.writeString(dir.resolve("tokenizer_config.json"), new ObjectMapper().writeValueAsString(
                Map.of("chat_template", jinja, "bos_token", "<s>", "eos_token", "</s>")));
        return dir;
    }

    String train(Path template) {
        StringWriter err = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setErr(new PrintWriter(err, true));
        int rc = cl.execute("train", "--model", MODEL.toString(), "--data", data.toString(), "--out", out.toString(), "--format", "chat",
                "--chat-template", template.toString(), "--epochs", "1", "--batch-size", "2", "--val-split", "0", "--quiet");
        assertThat(rc).as(err.toString()).isEqualTo(2);
        assertThat(err.toString().strip()).as("one line").doesNotContain("\n");
        assertThat(out).doesNotExist();
        return err.toString().strip();
    }

    @Test
    void aTemplateThatRaisesNamesTheLineAndItsWords() throws Exception {
        Path t = template("{% for m in messages %}{% if m.content is string and 'Sue' in m.content %}"
                + "{{ raise_exception('no Sue here') }}{% endif %}{{ m.role }}: {{ m.content }}</s>\n{% endfor %}"
                + "{% if add_generation_prompt %}assistant: {% endif %}");
        assertThat(train(t)).isEqualTo("error: " + data + ":2: " + t.resolve("tokenizer_config.json") + ": the template raised: no Sue here");
    }

    @Test
    void anUnknownFilterIsAnErrorNotSilence() throws Exception {
        Path t = template("{% for m in messages %}{{ m.content | shout }}\n{% endfor %}");
        assertThat(train(t)).startsWith("error: " + data + ":1: " + t.resolve("tokenizer_config.json") + ": ").contains("no filter named 'shout'");
    }

    @Test
    void rolesTheRealTemplateRejects() throws Exception {
        assumeTrue(Files.isRegularFile(GEMMA3.resolve("tokenizer_config.json")), "shared assets absent");
        Files.writeString(data, """
                {"messages": [{"role": "user", "content": "Tell about Tom."}, {"role": "assistant", "content": "Tom saw a cat."}]}
                {"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}, {"role": "assistant", "content": "c"}]}
                """);
        assertThat(train(GEMMA3)).isEqualTo("error: " + data + ":2: " + GEMMA3.resolve("tokenizer_config.json")
                + ": the template raised: Conversation roles must alternate user/assistant/user/assistant/...");
    }

    @Test
    void aMessageWithoutContent() throws Exception {
        Files.writeString(data, """
                {"messages": [{"role": "user", "content": "Tell about Tom."}, {"role": "assistant", "content": "Tom saw a cat."}]}

                {"messages": [{"role": "user", "content": "Tell about Sue."}, {"role": "assistant"}]}
                """);
        assertThat(train(template("{{ messages }}"))).isEqualTo("error: " + data + ":3: messages[1] (assistant) has no 'content'");
    }

    @Test
    void aRecordWithoutMessagesAndAnAlpacaRecord() throws Exception {
        Files.writeString(data, "{\"instruction\": \"Tell about Tom.\", \"output\": \"Tom saw a cat.\"}\n");
        assertThat(train(template("{{ messages }}"))).isEqualTo("error: " + data + ":1: the record has no 'messages' list");
    }
}

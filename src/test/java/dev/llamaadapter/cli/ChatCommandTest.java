package dev.llamaadapter.cli;

import dev.llamaadapter.adapter.AdapterFile;
import dev.llamaadapter.model.AdaptionPrompts;
import dev.llamaadapter.model.GateActivation;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** A scripted chat session: answers stream, adapters switch by command, errors keep the session alive. */
class ChatCommandTest {
    static final Path MODEL = Path.of("../shared/assets/stories260K/hf");

    @TempDir
    Path tmp;

    @Test
    void answersSwitchesAdaptersAndSurvivesErrors() throws Exception {
        assumeTrue(Files.isDirectory(MODEL), "../shared is absent");
        AdaptionPrompts p = AdaptionPrompts.init(4, 3, 64, 8, GateActivation.TANH, 1);
        java.util.Arrays.fill(p.gate, 2f); // strong gates: the adapter visibly changes the answer
        Path a = tmp.resolve("story.safetensors");
        AdapterFile.write(a, p, 5, Map.of());
        String script = "Tell me a story.\n/adapter " + a + "\nTell me a story.\n/adapter nope\n/adapters\n/adapter none\nTell me a story.\n/quit\n";
        ChatCommand c = new ChatCommand();
        new CommandLine(c).parseArgs("--model", MODEL.toString(), "--max-tokens", "20", "--context", "256");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertThat(c.run(new ByteArrayInputStream(script.getBytes(StandardCharsets.UTF_8)), out)).isZero();
        String s = out.toString(StandardCharsets.UTF_8);
        assertThat(s).contains("adapter: story").contains("error: no adapter 'nope'").contains("* story").contains("adapter: none (base model)");
        java.util.List<String> answers = new java.util.ArrayList<>();
        for (String line : s.split("\n")) if (line.contains("tok/s]")) answers.add(line);
        assertThat(answers).hasSize(3);
        // the base model's answers before and after match; the adapter's differs
        String[] blocks = s.split("\\[\\d+ tokens, [0-9.]+ tok/s\\]");
        assertThat(lastLine(blocks[0])).isEqualTo(lastLine(blocks[2].substring(blocks[2].lastIndexOf("> ") + 2)));
        assertThat(lastLine(blocks[1])).isNotEqualTo(lastLine(blocks[0]));
    }

    @Test
    void keepsTheConversationUntilResetAndDropsTheOldestWhenTheContextIsFull() throws Exception {
        assumeTrue(Files.isDirectory(MODEL), "../shared is absent");
        String script = "Tell me a story.\nAnd then?\n/reset\nTell me a story.\n" + "More.\n".repeat(7) + "/quit\n";
        ChatCommand c = new ChatCommand();
        new CommandLine(c).parseArgs("--model", MODEL.toString(), "--max-tokens", "12", "--context", "200");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertThat(c.run(new ByteArrayInputStream(script.getBytes(StandardCharsets.UTF_8)), out)).isZero();
        String s = out.toString(StandardCharsets.UTF_8);
        assertThat(s).contains("(a new conversation)");
        String[] blocks = s.split("\\[\\d+ tokens, [0-9.]+ tok/s\\]");
        // after /reset the first question is answered as at the start: the earlier exchange is forgotten
        assertThat(lastLine(blocks[2].substring(blocks[2].lastIndexOf("> ") + 2))).isEqualTo(lastLine(blocks[0]));
        // 200 positions hold the Alpaca prompt (~105 tokens here) and four or five exchanges: the oldest make way
        assertThat(s).contains("(the oldest exchange was dropped: the context is full)");
        assertThat(s.split("tok/s\\]", -1).length - 1).as(s).isEqualTo(10);
    }

    static String lastLine(String block) {
        String b = block.strip();
        int i = b.lastIndexOf("> ");
        return i >= 0 ? b.substring(i + 2).strip() : b;
    }
}

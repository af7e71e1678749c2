package dev.llamaadapter.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llamaadapter.data.chat.ChatTemplate;
import dev.llamaadapter.data.chat.ChatTemplateException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;

/** Prints a conversation as the model's own chat template writes it, and nothing else, so that it can be piped. */
@Command(name = "chat-template", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Render a conversation with the model's own chat template (tokenizer_config.json), as transformers' "
                + "apply_chat_template does, and print the text.")
public final class ChatTemplateCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, paramLabel = "DIR",
            description = "model directory (tokenizer files are enough), its tokenizer_config.json, or a GGUF file (tokenizer.chat_template)")
    Path model;
    @Option(names = "--messages", required = true, paramLabel = "FILE.json",
            description = "a JSON list of {\"role\", \"content\"} messages, or an object with \"messages\" and further template "
                    + "variables (\"tools\", \"enable_thinking\", ...)")
    Path messages;
    @Option(names = "--no-generation-prompt", description = "leave out the opening of the assistant's turn")
    boolean noGenerationPrompt;

    /** Where the text goes: stdout as UTF-8 whatever the locale, or a buffer in tests. */
    PrintStream out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true, StandardCharsets.UTF_8);

    @Override
    public Integer call() throws IOException {
        ChatTemplate template = ChatTemplate.load(model);
        Map<String, Object> variables;
        if (!java.nio.file.Files.isRegularFile(messages)) throw new ChatTemplateException(messages, "no such file");
        try {
            variables = ChatTemplate.variables(new ObjectMapper().readValue(messages.toFile(), Object.class));
        } catch (IOException | IllegalArgumentException e) {
            String reason = e instanceof com.fasterxml.jackson.core.JacksonException j ? "not valid JSON: " + j.getOriginalMessage() : e.getMessage();
            throw new ChatTemplateException(messages, reason, e);
        }
        out.print(template.render(variables, !noGenerationPrompt));
        out.flush();
        return 0;
    }
}

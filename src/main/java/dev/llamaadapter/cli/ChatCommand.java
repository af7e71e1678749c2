package dev.llamaadapter.cli;

import dev.llamaadapter.data.PromptTemplate;
import dev.llamaadapter.data.chat.ChatTemplate;
import dev.llamaadapter.serve.ChatPrompt;
import dev.llamaadapter.generate.AdapterRegistry;
import dev.llamaadapter.generate.Generator;
import dev.llamaadapter.generate.SamplingParams;
import dev.llamaadapter.model.BaseModel;
import dev.llamaadapter.model.PreparedPrompts;
import dev.llamaadapter.model.Transformer;
import dev.llamaadapter.tokenizer.Tokenizer;
import org.jline.reader.EndOfFileException;
import org.jline.reader.LineReader;
import org.jline.reader.LineReaderBuilder;
import org.jline.reader.UserInterruptException;
import org.jline.terminal.Terminal;
import org.jline.terminal.TerminalBuilder;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * An interactive session: each line is an instruction (a user message), answered through the current adapter,
 * streamed, in the prompt format the adapter was trained on (its chat template, or Alpaca's).
 */
@Command(name = "chat", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Interactive instructions with an adapter (line editing, history). Commands: /adapter NAME|FILE|none, /adapters, /help, /quit.")
public final class ChatCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "base model: a Hugging Face directory, a .gguf file or a llama2.c .bin checkpoint") Path model;
    @Option(names = "--adapter", description = "adapter file to start with") Path adapter;
    @Option(names = "--adapters", description = "a directory of adapter files to load, by file name") Path adapters;
    @Option(names = "--max-tokens", defaultValue = "256") int maxTokens;
    @Option(names = "--temperature", defaultValue = "0", description = "0 = greedy (default)") double temperature;
    @Option(names = "--top-p", defaultValue = "0.95") double topP;
    @Option(names = "--seed", defaultValue = "0") long seed;
    @Option(names = "--context", description = "positions per turn: prompt plus answer (default: the model's max_position_embeddings, else 2048)") Integer context;

    @Override
    public Integer call() throws Exception {
        // JLine warns on stderr when stdin is not a terminal (piped input); a dumb terminal is fine then
        java.util.logging.Logger.getLogger("org.jline").setLevel(java.util.logging.Level.SEVERE);
        try (Terminal term = TerminalBuilder.builder().system(true).build()) {
            return session(term);
        }
    }

    /** Runs a session over plain streams (tests, pipes). */
    int run(InputStream in, OutputStream out) throws Exception {
        try (Terminal term = TerminalBuilder.builder().system(false).streams(in, out).dumb(true).build()) {
            return session(term);
        }
    }

    private int session(Terminal term) throws Exception {
        PrintWriter w = term.writer();
        try (BaseModel base = BaseModel.open(model)) {
            Tokenizer tok = Cli.tokenizerOrNull(base);
            ChatTemplate baseTemplate = ChatTemplate.ofModel(base.dir()); // an instruct model's own; null: Alpaca for the base
            if (tok == null) throw new IllegalArgumentException(model + ": chat needs a tokenizer");
            Transformer t = base.transformer();
            AdapterRegistry registry = new AdapterRegistry(base, t);
            if (adapters != null) registry.loadDirectory(adapters);
            String current = null;
            if (adapter != null) current = registry.load(name(adapter), adapter).name();
            List<ChatPrompt.Message> turns = new java.util.ArrayList<>(); // the conversation so far: user and assistant turns
            Generator g = new Generator(t, tok, 1, dev.llamaadapter.generate.ContextLength.resolve(context, "--context", base.config(),
                    msg -> { w.println(msg); w.flush(); }));
            Path history = historyFile();
            LineReaderBuilder b = LineReaderBuilder.builder().terminal(term);
            if (history != null) b.variable(LineReader.HISTORY_FILE, history);
            LineReader reader = b.build();
            w.printf("%s: %s. Adapter: %s. Type an instruction, /help for commands.%n", model, base.shape(), current == null ? "none (base model)" : current);
            w.flush();
            while (true) {
                String line;
                try {
                    line = reader.readLine("> ");
                } catch (UserInterruptException e) {
                    continue;
                } catch (EndOfFileException e) {
                    break;
                }
                line = line.strip();
                if (line.isEmpty()) continue;
                if (line.startsWith("/")) {
                    String[] parts = line.split("\\s+", 2);
                    switch (parts[0]) {
                        case "/quit", "/exit" -> {
                            return 0;
                        }
                        case "/help" -> w.println("/adapter NAME|FILE|none  switch adapter (starts a new conversation);  /adapters  list loaded;"
                                + "  /reset  forget the conversation;  /quit");
                        case "/reset" -> {
                            turns.clear();
                            w.println("(a new conversation)");
                        }
                        case "/adapters" -> {
                            for (var e : registry.list()) w.printf("%s%s  %s%n", e.name().equals(current) ? "* " : "  ", e.name(), e.path());
                            if (registry.list().isEmpty()) w.println("(none loaded)");
                        }
                        case "/adapter" -> {
                            String arg = parts.length > 1 ? parts[1].strip() : "";
                            try {
                                if (arg.equals("none")) current = null;
                                else if (registry.get(arg) != null) current = arg;
                                else if (Files.exists(Path.of(arg))) current = registry.load(name(Path.of(arg)), Path.of(arg)).name();
                                else throw new IllegalArgumentException("no adapter '" + arg + "' (loaded: " + registry.list().stream().map(AdapterRegistry.Entry::name).toList() + ")");
                                turns.clear(); // another adapter may render turns with another template
                                w.printf("adapter: %s (a new conversation)%n", current == null ? "none (base model)" : current);
                            } catch (Exception e) {
                                w.printf("error: %s%n", e.getMessage());
                            }
                        }
                        default -> w.printf("unknown command %s (/help)%n", parts[0]);
                    }
                    w.flush();
                    continue;
                }
                AdapterRegistry.Entry entry = current == null ? null : registry.get(current);
                int[] prompt;
                try {
                    List<ChatPrompt.Message> ask = new java.util.ArrayList<>(turns);
                    ask.add(new ChatPrompt.Message("user", line));
                    prompt = prompt(tok, entry, baseTemplate, ask);
                    // the oldest exchanges go first when the conversation no longer leaves room for an answer
                    while (prompt.length + Math.min(maxTokens, 64) >= g.contextLength() && ask.size() > 1) {
                        ask.subList(0, Math.min(2, ask.size() - 1)).clear();
                        prompt = prompt(tok, entry, baseTemplate, ask);
                        w.println("(the oldest exchange was dropped: the context is full)");
                    }
                    turns.clear();
                    turns.addAll(ask.subList(0, ask.size() - 1));
                } catch (java.io.IOException | dev.llamaadapter.serve.ApiException e) {
                    w.printf("error: %s%n", e.getMessage());
                    w.flush();
                    continue;
                }
                PreparedPrompts pp = entry == null ? null : entry.prompts();
                SamplingParams sp = new SamplingParams(temperature, 0, topP, 1, seed, maxTokens, List.of(), true);
                try {
                    Generator.Result r = g.generate(prompt, pp, sp, (id, text) -> {
                        w.print(text);
                        w.flush();
                    });
                    w.printf(Locale.ROOT, "%n[%d tokens, %.1f tok/s]%n", r.tokenIds().length, r.decodeTokensPerS());
                    turns.add(new ChatPrompt.Message("user", line));
                    turns.add(new ChatPrompt.Message("assistant", r.text()));
                } catch (IllegalArgumentException e) {
                    w.printf("error: %s%n", e.getMessage());
                }
                w.flush();
            }
            return 0;
        }
    }

    /** One line as the whole conversation (see {@link #prompt(Tokenizer, AdapterRegistry.Entry, ChatTemplate, List)}). */
    static int[] prompt(Tokenizer tok, AdapterRegistry.Entry adapter, ChatTemplate baseTemplate, String line) throws java.io.IOException {
        return prompt(tok, adapter, baseTemplate, List.of(new ChatPrompt.Message("user", line)));
    }

    /**
     * A conversation's prompt (its last message the user's new line), rendered as the adapter was trained, the same
     * way serve's chat endpoint renders it: with the chat template the adapter records (train --format chat; the
     * template writes BOS itself); without an adapter, with the base model's own template when it has one
     * (baseTemplate, may be null); else BOS + the Alpaca instruction template, earlier turns in its input.
     */
    static int[] prompt(Tokenizer tok, AdapterRegistry.Entry adapter, ChatTemplate baseTemplate, List<ChatPrompt.Message> messages)
            throws java.io.IOException {
        ChatTemplate template = adapter == null ? baseTemplate : ChatTemplate.fromMetadata(adapter.metadata(), adapter.path());
        if (template != null) {
            List<Map<String, String>> turns = new java.util.ArrayList<>();
            for (ChatPrompt.Message m : messages) turns.add(Map.of("role", m.role(), "content", m.content()));
            return template.promptIds(tok, turns);
        }
        int[] body = tok.encode(ChatPrompt.render(messages).text());
        int[] prompt = new int[body.length + 1];
        prompt[0] = tok.bosId();
        System.arraycopy(body, 0, prompt, 1, body.length);
        return prompt;
    }

    private static String name(Path p) {
        String n = p.getFileName().toString();
        return n.endsWith(".safetensors") ? n.substring(0, n.length() - ".safetensors".length()) : n;
    }

    /** ~/.cache/llama-adapter/chat_history (XDG_CACHE_HOME honoured), or null when it cannot be made. */
    private static Path historyFile() {
        try {
            String xdg = System.getenv("XDG_CACHE_HOME");
            Path dir = (xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache")).resolve("llama-adapter");
            Files.createDirectories(dir);
            return dir.resolve("chat_history");
        } catch (Exception e) {
            return null;
        }
    }
}

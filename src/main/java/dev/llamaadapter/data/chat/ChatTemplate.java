package dev.llamaadapter.data.chat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A model's own chat template, the Jinja {@code chat_template} of its {@code tokenizer_config.json} (or the
 * {@code chat_template.jinja} beside it, where newer transformers save it), rendered as transformers'
 * {@code apply_chat_template} renders it: the conversation's variables, {@code add_generation_prompt}, and the
 * special tokens the config names ({@code bos_token}, {@code eos_token}, ...), written there as strings or
 * as objects whose {@code content} is the text. Rendering is Jinjava's, set up by {@link JinjaEnvironment}.
 */
public final class ChatTemplate {

    /** The special tokens transformers passes to every chat template, when the config names them. */
    private static final String[] SPECIAL_TOKENS = {"bos_token", "eos_token", "unk_token", "sep_token", "pad_token", "cls_token", "mask_token"};

    private final Path source;
    private final String template;
    private final Map<String, Object> specialTokens;

    public ChatTemplate(Path source, String template, Map<String, Object> specialTokens) {
        this.source = source;
        this.template = template;
        this.specialTokens = Map.copyOf(specialTokens);
    }

    /** The template of a model directory (or of a tokenizer_config.json named directly), or of a GGUF model file. */
    public static ChatTemplate load(Path dirOrConfig) throws IOException {
        if (isGguf(dirOrConfig)) return fromGguf(dirOrConfig, true);
        Path config = Files.isDirectory(dirOrConfig) ? dirOrConfig.resolve("tokenizer_config.json") : dirOrConfig;
        Path jinjaFile = config.resolveSibling("chat_template.jinja");
        JsonNode root = null;
        if (Files.isRegularFile(config)) {
            try {
                root = new ObjectMapper().readTree(config.toFile());
            } catch (IOException e) {
                throw new ChatTemplateException(config, "not valid JSON: " + e.getMessage(), e);
            }
            if (root == null || !root.isObject()) throw new ChatTemplateException(config, "not a tokenizer_config.json (no top-level object)");
        } else if (!Files.isRegularFile(jinjaFile)) {
            throw new ChatTemplateException(config, "no such file (a chat template needs tokenizer_config.json or chat_template.jinja)");
        }
        Map<String, Object> specials = new LinkedHashMap<>();
        if (root != null) {
            for (String key : SPECIAL_TOKENS) {
                JsonNode v = root.get(key);
                if (v == null) continue;
                if (v.isTextual()) specials.put(key, v.asText());
                else if (v.path("content").isTextual()) specials.put(key, v.get("content").asText());
            }
        }
        if (Files.isRegularFile(jinjaFile)) return new ChatTemplate(jinjaFile, Files.readString(jinjaFile), specials);
        return new ChatTemplate(config, templateText(root.get("chat_template"), config), specials);
    }

    /**
     * The chat template a model directory declares (an instruct model's: tokenizer_config.json's chat_template, or
     * chat_template.jinja), or null when it declares none (a base model, a file that is neither a directory nor a GGUF with tokenizer.chat_template). A
     * template that is there but cannot be read is an error naming the file.
     */
    public static ChatTemplate ofModel(Path dir) throws IOException {
        if (dir == null) return null;
        if (isGguf(dir)) return fromGguf(dir, false);
        if (!Files.isDirectory(dir)) return null;
        if (Files.isRegularFile(dir.resolve("chat_template.jinja"))) return load(dir);
        Path config = dir.resolve("tokenizer_config.json");
        if (!Files.isRegularFile(config)) return null;
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(config.toFile());
        } catch (IOException e) {
            throw new ChatTemplateException(config, "not valid JSON: " + e.getMessage(), e);
        }
        JsonNode t = root == null ? null : root.get("chat_template");
        return t == null || t.isNull() ? null : load(dir);
    }

    /**
     * The template a GGUF file carries as {@code tokenizer.chat_template} (llama.cpp's converter copies
     * tokenizer_config.json's there), with the special tokens its {@code tokenizer.ggml.*_token_id} name; when it
     * has none, an error if required, else null.
     */
    static ChatTemplate fromGguf(Path file, boolean required) throws IOException {
        try (dev.llamaadapter.io.gguf.GgufFile f = dev.llamaadapter.io.gguf.GgufFile.open(file)) {
            var md = f.metadata();
            String t = md.string("tokenizer.chat_template");
            if (t == null && !required) return null;
            if (t == null) throw new ChatTemplateException(file, "has no chat template (no 'tokenizer.chat_template' metadata)");
            String[] tokens = md.strings("tokenizer.ggml.tokens");
            Map<String, Object> specials = new LinkedHashMap<>();
            for (String key : new String[] {"bos", "eos", "unk", "sep", "pad", "cls", "mask"}) {
                Long id = md.integer("tokenizer.ggml." + (key.equals("unk") ? "unknown" : key.equals("sep") ? "seperator" : key.equals("pad") ? "padding" : key) + "_token_id");
                if (id != null && tokens != null && id >= 0 && id < tokens.length) specials.put(key + "_token", tokens[(int) (long) id]);
            }
            return new ChatTemplate(file, t, specials);
        }
    }

    /** Whether path is a GGUF file (by its structure, as every reader here tells formats apart). */
    private static boolean isGguf(Path path) throws IOException {
        return Files.isRegularFile(path) && dev.llamaadapter.io.FileKind.of(path) == dev.llamaadapter.io.FileKind.GGUF;
    }

    /** The Jinja text. */
    public String template() {
        return template;
    }

    /** A string, or a list of {"name", "template"} of which transformers takes the one named "default". */
    private static String templateText(JsonNode t, Path config) throws ChatTemplateException {
        if (t == null || t.isNull()) throw new ChatTemplateException(config, "has no chat_template");
        if (t.isTextual()) return t.asText();
        if (t.isArray()) {
            for (JsonNode named : t) if ("default".equals(named.path("name").asText()) && named.path("template").isTextual()) return named.get("template").asText();
            throw new ChatTemplateException(config, "chat_template lists named templates but none named \"default\"");
        }
        throw new ChatTemplateException(config, "chat_template is neither a string nor a list of named templates");
    }

    /**
     * The variables of a conversation file's JSON: a list is the messages; an object gives its fields as they
     * are (so it may add {@code tools}, {@code enable_thinking}, ...), and must hold {@code messages}.
     */
    @SuppressWarnings("unchecked")
    public static Map<String, Object> variables(Object json) {
        if (json instanceof java.util.List<?> messages) return Map.of("messages", messages);
        if (json instanceof Map<?, ?> map && map.get("messages") instanceof java.util.List<?>) return (Map<String, Object>) map;
        throw new IllegalArgumentException("a conversation is a list of messages, or an object with a \"messages\" list");
    }

    public Path source() {
        return source;
    }

    /**
     * Adapter metadata keys (spec §6 style): {@code chat_template} is the Jinja text an adapter was trained with
     * (absent: the Alpaca template), {@code chat_template.special_tokens} a JSON object of the special tokens it
     * was rendered with ({@code {"bos_token": "<|begin_of_text|>", ...}}).
     */
    public static final String METADATA = "chat_template", METADATA_SPECIAL_TOKENS = "chat_template.special_tokens";

    /** This template as adapter metadata ({@link #METADATA}), so that inference renders prompts as training did. */
    public Map<String, String> metadata() {
        try {
            return Map.of(METADATA, template, METADATA_SPECIAL_TOKENS, new ObjectMapper().writeValueAsString(new java.util.TreeMap<>(specialTokens)));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The template an adapter was trained with, from its metadata, or null when it records none (an Alpaca
     * adapter: PEFT and official files, and native files trained on Alpaca data). Errors name the adapter file.
     */
    public static ChatTemplate fromMetadata(Map<String, String> metadata, Path adapter) throws ChatTemplateException {
        String text = metadata == null ? null : metadata.get(METADATA);
        if (text == null) return null;
        Map<String, Object> specials = new LinkedHashMap<>();
        String tokens = metadata.get(METADATA_SPECIAL_TOKENS);
        if (tokens != null) {
            try {
                JsonNode o = new ObjectMapper().readTree(tokens);
                if (o == null || !o.isObject()) throw new ChatTemplateException(adapter, "__metadata__ " + METADATA_SPECIAL_TOKENS + " is not a JSON object");
                for (var e : o.properties()) if (e.getValue().isTextual()) specials.put(e.getKey(), e.getValue().asText());
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new ChatTemplateException(adapter, "__metadata__ " + METADATA_SPECIAL_TOKENS + " is not valid JSON: " + e.getOriginalMessage(), e);
            }
        }
        return new ChatTemplate(adapter, text, specials);
    }

    /** The token ids of a prompt: the messages as the template writes them, with the opening of the assistant's turn. */
    public int[] promptIds(dev.llamaadapter.tokenizer.Tokenizer tokenizer, java.util.List<? extends Map<String, ?>> messages) throws ChatTemplateException {
        // the template writes BOS itself where the model wants one; none is added (apply_chat_template's tokenize=True)
        return tokenizer.encode(render(Map.of("messages", messages), true));
    }

    /**
     * The text for a conversation: {@code variables} holds {@code messages} (and whatever else the template
     * reads: {@code tools}, {@code enable_thinking}, ...); special tokens it does not set come from the config.
     *
     * @throws ChatTemplateException when the template raises (roles out of order...) or cannot be rendered,
     *                               naming the template's file and the reason
     */
    public String render(Map<String, ?> variables, boolean addGenerationPrompt) throws ChatTemplateException {
        Map<String, Object> bindings = new LinkedHashMap<>(specialTokens);
        // The globals are functions, but templates also ask "strftime_now is defined" (Llama 3.2) before
        // calling one: a value under the same name makes the test true, as it is in transformers.
        for (String global : TemplateFunctions.GLOBALS) bindings.put(global, "<function " + global + ">");
        bindings.putAll(variables);
        bindings.put("add_generation_prompt", addGenerationPrompt);
        RenderResult result;
        try {
            result = JinjaEnvironment.get().renderForResult(JinjaEnvironment.lstripBlocks(template), bindings);
        } catch (RuntimeException e) {
            throw new ChatTemplateException(source, reason(e), e);
        }
        for (TemplateError error : result.getErrors()) {
            if (error.getSeverity() != TemplateError.ErrorType.FATAL) continue;
            Throwable cause = error.getException();
            throw new ChatTemplateException(source, cause != null ? reason(cause) : error.getMessage());
        }
        return result.getOutput();
    }

    /** The template's own words when it raised, else the innermost message. */
    private static String reason(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof TemplateFunctions.Raised r) return "the template raised: " + r.getMessage();
            if (t instanceof StrictNames.Unknown u) return u.getMessage();
        }
        Throwable inner = e;
        while (inner.getCause() != null && inner.getCause() != inner) inner = inner.getCause();
        return inner.getMessage() != null ? inner.getMessage() : inner.toString();
    }
}

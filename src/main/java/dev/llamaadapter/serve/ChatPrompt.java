package dev.llamaadapter.serve;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llamaadapter.data.PromptTemplate;
import dev.llamaadapter.data.chat.ChatTemplate;
import dev.llamaadapter.data.chat.ChatTemplateException;
import dev.llamaadapter.generate.AdapterRegistry;
import dev.llamaadapter.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * How a chat conversation becomes the prompt of the adapter that answers it. An adapter trained on
 * conversations (train --format chat) records its chat template ({@link ChatTemplate#METADATA}): the
 * messages are rendered with it, with the opening of the assistant's turn, exactly as in training; the base
 * model answers with its own template when its directory declares one (an instruct model). Every other
 * adapter was trained on Alpaca instructions, as the paper's are, and so is a base model without a template
 * treated: the conversation becomes one Alpaca instruction prompt:
 * <ul>
 *   <li>the <b>last message</b> must come from the user: its content is the <b>instruction</b>;</li>
 *   <li>the <b>input</b> is, joined by a blank line: the content of every system (or developer) message,
 *       in order, then, when there are earlier user/assistant turns, a transcript of them, one turn a
 *       line, as {@code User: text} and {@code Assistant: text};</li>
 *   <li>an empty input picks the template without input ({@link PromptTemplate#prompt}); the model's
 *       token ids are BOS followed by the tokenized template text.</li>
 * </ul>
 * Content is a string or a list of {@code {"type": "text", "text": ...}} parts, which are concatenated.
 */
public final class ChatPrompt {
    private ChatPrompt() {}

    /** One message: role is system, user or assistant (developer is read as system). */
    public record Message(String role, String content) {}

    /** The instruction and the input (empty when none) of a conversation. */
    public record Rendered(String instruction, String input) {
        public String text() {
            return PromptTemplate.prompt(instruction, input);
        }
    }

    /** Parses and checks the request's {@code messages} array. */
    public static List<Message> parse(JsonNode messages) {
        if (messages == null || messages.isNull() || messages.isMissingNode())
            throw ApiException.badRequest("'messages' is required", "messages");
        if (!messages.isArray()) throw ApiException.badRequest("'messages' must be an array of {role, content} objects", "messages");
        if (messages.isEmpty()) throw ApiException.badRequest("'messages' must not be empty", "messages");
        List<Message> out = new ArrayList<>();
        for (int i = 0; i < messages.size(); i++) {
            JsonNode m = messages.get(i);
            String at = "messages[" + i + "]";
            if (!m.isObject()) throw ApiException.badRequest(at + " must be an object with role and content", at);
            JsonNode r = m.get("role");
            if (r == null || !r.isTextual()) throw ApiException.badRequest(at + ".role is required (system, user or assistant)", at + ".role");
            String role = switch (r.asText()) {
                case "system", "developer" -> "system";
                case "user" -> "user";
                case "assistant" -> "assistant";
                default -> throw ApiException.badRequest(at + ".role '" + r.asText()
                        + "' is not supported (system, user or assistant): instruction adapters answer one instruction", at + ".role");
            };
            out.add(new Message(role, content(m.get("content"), at + ".content")));
        }
        return out;
    }

    private static String content(JsonNode c, String at) {
        if (c == null || c.isNull()) throw ApiException.badRequest(at + " is required", at);
        if (c.isTextual()) return c.asText();
        if (c.isArray()) {
            StringBuilder sb = new StringBuilder();
            for (JsonNode part : c) {
                JsonNode type = part.get("type"), text = part.get("text");
                if (type == null || !"text".equals(type.asText()) || text == null || !text.isTextual())
                    throw ApiException.badRequest(at + ": only text parts ({\"type\": \"text\", \"text\": ...}) are supported", at);
                sb.append(text.asText());
            }
            return sb.toString();
        }
        throw ApiException.badRequest(at + " must be a string or a list of text parts", at);
    }

    /**
     * The adapter's chat template, or null when it records none (Alpaca adapters; entry null: the base model).
     */
    static ChatTemplate template(AdapterRegistry.Entry adapter) {
        if (adapter == null) return null;
        try {
            return ChatTemplate.fromMetadata(adapter.metadata(), adapter.path());
        } catch (ChatTemplateException e) {
            throw ApiException.badRequest("adapter '" + adapter.name() + "' records a chat template that cannot be read: " + reason(e, adapter.path()), "model");
        }
    }

    /**
     * The token ids of a conversation's prompt: rendered with {@code template} when there is one (it writes BOS
     * itself where the model wants one), else BOS + the Alpaca prompt ({@link #render}). A prompt that cannot fit
     * {@code context} positions is refused before it is tokenized; a template that rejects the conversation
     * (roles out of order...) is a 400 with its reason.
     */
    static int[] promptIds(List<Message> messages, ChatTemplate template, Tokenizer tokenizer, int context) {
        if (template == null) return PromptBudget.encode(tokenizer, render(messages).text(), context, "messages");
        List<Map<String, Object>> turns = new ArrayList<>();
        for (Message m : messages) turns.add(Map.of("role", m.role(), "content", m.content()));
        String text;
        try {
            text = template.render(Map.of("messages", turns), true);
        } catch (ChatTemplateException e) {
            throw ApiException.badRequest("the adapter's chat template refuses this conversation: " + reason(e, template.source()), "messages");
        }
        long atLeast = tokenizer.minTokens(text);
        if (atLeast >= context) throw PromptBudget.tooLong(atLeast, false, context, "messages");
        return tokenizer.encode(text);
    }

    /** The reason of a template error, without the server's file path. */
    private static String reason(ChatTemplateException e, java.nio.file.Path file) {
        String m = e.getMessage(), prefix = file + ": ";
        return m.startsWith(prefix) ? m.substring(prefix.length()) : m;
    }

    /** The instruction and input of a conversation (see the class comment for the rule). */
    public static Rendered render(List<Message> messages) {
        Message last = messages.getLast();
        if (!last.role().equals("user"))
            throw ApiException.badRequest("the last message must come from the user: it is the instruction the adapter answers", "messages");
        List<String> parts = new ArrayList<>();
        List<String> turns = new ArrayList<>();
        for (Message m : messages.subList(0, messages.size() - 1)) {
            switch (m.role()) {
                case "system" -> {
                    if (!m.content().isBlank()) parts.add(m.content());
                }
                case "user" -> turns.add("User: " + m.content());
                default -> turns.add("Assistant: " + m.content());
            }
        }
        if (!turns.isEmpty()) parts.add(String.join("\n", turns));
        return new Rendered(last.content(), String.join("\n\n", parts));
    }
}

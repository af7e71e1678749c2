package dev.llamaadapter.data.chat;

import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Reads conversation data: JSON Lines of {@code {"messages": [{"role", "content"}, ...]}}, the layout OpenAI's
 * fine-tuning takes and chat exports use. Each message needs a string role and content (a string or a list of
 * parts; null only beside {@code tool_calls}). Every error names the file, the line and the reason.
 */
public final class ConversationFile {
    private ConversationFile() {}

    private static final ObjectMapper JSON = new ObjectMapper();

    /** What was read: the conversations, and those skipped because no assistant speaks in them. */
    public record Contents(List<Conversation> records, List<String> withoutAssistant) {}

    public static Contents read(Path file) throws IOException {
        if (!Files.isRegularFile(file)) throw new IOException(file + ": no such data file");
        String text = dev.llamaadapter.io.TextFiles.readUtf8(file);
        if (text.isBlank()) throw new IOException(file + ": the data file is empty");
        if (text.strip().startsWith("["))
            throw new IOException(file + ":1: --format chat reads JSON Lines, one {\"messages\": [...]} record a line, not a JSON array");
        List<Conversation> out = new ArrayList<>();
        List<String> skipped = new ArrayList<>();
        String[] lines = text.split("\n", -1);
        for (int n = 0; n < lines.length; n++) {
            String line = lines[n].strip();
            if (line.isEmpty()) continue;
            String where = file + ":" + (n + 1);
            JsonNode node;
            try {
                node = JSON.readTree(line);
            } catch (JsonParseException e) {
                throw new IOException(where + ": malformed JSON: " + e.getOriginalMessage(), e);
            }
            Conversation c = conversation(where, node);
            if (c.hasAssistantTurn()) out.add(c);
            else skipped.add(where);
        }
        if (out.isEmpty()) throw new IOException(file + ": no conversation with an assistant message (only assistant turns are learned)");
        return new Contents(out, skipped);
    }

    /** A checked record: its messages and their roles and content. */
    @SuppressWarnings("unchecked")
    static Conversation conversation(String where, JsonNode node) throws IOException {
        if (node == null || !node.isObject()) throw new IOException(where + ": expected a record {\"messages\": [{\"role\", \"content\"}, ...]}");
        JsonNode messages = node.get("messages");
        if (messages == null || messages.isNull()) throw new IOException(where + ": the record has no 'messages' list");
        if (!messages.isArray()) throw new IOException(where + ": 'messages' must be a list of {\"role\", \"content\"}, found " + messages.getNodeType());
        if (messages.isEmpty()) throw new IOException(where + ": 'messages' is empty");
        for (int i = 0; i < messages.size(); i++) {
            JsonNode m = messages.get(i);
            String at = where + ": messages[" + i + "]";
            if (!m.isObject()) throw new IOException(at + " must be an object {\"role\", \"content\"}, found " + m.getNodeType());
            JsonNode role = m.get("role");
            if (role == null || role.isNull()) throw new IOException(at + " has no 'role'");
            if (!role.isTextual()) throw new IOException(at + ": 'role' must be a string, found " + role.getNodeType());
            JsonNode content = m.get("content");
            boolean toolCalls = m.hasNonNull("tool_calls");
            if ((content == null || content.isNull()) && !toolCalls) throw new IOException(at + " (" + role.asText() + ") has no 'content'");
            if (content != null && !content.isNull() && !content.isTextual() && !content.isArray())
                throw new IOException(at + " (" + role.asText() + "): 'content' must be a string or a list of parts, found " + content.getNodeType());
        }
        return new Conversation(JSON.convertValue(node, Map.class), where);
    }
}

package dev.llamaadapter.data.chat;

import java.util.List;
import java.util.Map;

/**
 * One training conversation, OpenAI's layout: {@code messages}, a list of {@code {"role", "content"}}, and any
 * further fields of the record ({@code tools}, ...), which the chat template sees as variables.
 *
 * @param variables the record's fields as the template reads them; {@code messages} is a list
 * @param where     the record's origin ("file:line"), for messages
 */
public record Conversation(Map<String, Object> variables, String where) {
    public Conversation {
        variables = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(variables));
    }

    @SuppressWarnings("unchecked")
    public List<Map<String, Object>> messages() {
        return (List<Map<String, Object>>) variables.get("messages");
    }

    /** The same variables with only the first n messages. */
    public Map<String, Object> firstMessages(int n) {
        Map<String, Object> v = new java.util.LinkedHashMap<>(variables);
        v.put("messages", messages().subList(0, n));
        return v;
    }

    public boolean hasAssistantTurn() {
        for (Map<String, Object> m : messages()) if ("assistant".equals(m.get("role"))) return true;
        return false;
    }
}

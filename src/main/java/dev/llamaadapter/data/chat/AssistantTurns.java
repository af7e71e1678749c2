package dev.llamaadapter.data.chat;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A conversation rendered with its chat template, and where in that text each assistant turn starts: the
 * end of the text the template writes for the turns before it plus its generation prompt (the role header,
 * {@code <|im_start|>assistant\n}, {@code <start_of_turn>model\n}, ...). That is the text a model is given
 * at inference, so what follows it is exactly what the model is asked to produce. Rendering prefixes, not
 * looking for the content, keeps this right when the template rewrites content (trims it, moves a
 * {@code <think>} block) or adds text of its own inside the turn (Qwen3's empty think block).
 *
 * @param text   the whole conversation as the template writes it (no generation prompt)
 * @param starts for each assistant message, in order, the char offset in text where its turn's content begins
 * @param ends   for each, the char offset where the template's rendering of the conversation up to and
 *               including it ends when that rendering is a prefix of text, else -1 (the turn's end is then
 *               found by its end-of-turn token)
 */
public record AssistantTurns(String text, int[] starts, int[] ends) {

    public static AssistantTurns of(ChatTemplate template, Conversation c) throws IOException {
        List<Map<String, Object>> messages = c.messages();
        String text = render(template, c, c.variables(), false);
        List<Integer> starts = new ArrayList<>(), ends = new ArrayList<>();
        for (int i = 0; i < messages.size(); i++) {
            if (!"assistant".equals(messages.get(i).get("role"))) continue;
            String before = render(template, c, c.firstMessages(i), true);
            if (!text.startsWith(before))
                throw new IOException(c.where() + ": the chat template (" + template.source() + ") writes the turns before messages[" + i
                        + "] differently from the whole conversation, so where the assistant's turn starts cannot be found");
            starts.add(before.length());
            String through = render(template, c, c.firstMessages(i + 1), false);
            ends.add(text.startsWith(through) && through.length() >= before.length() ? through.length() : -1);
        }
        return new AssistantTurns(text, starts.stream().mapToInt(Integer::intValue).toArray(), ends.stream().mapToInt(Integer::intValue).toArray());
    }

    /** The template's text; a template error names the record's file and line, then the template's file and its reason. */
    private static String render(ChatTemplate template, Conversation c, Map<String, Object> variables, boolean generationPrompt) throws IOException {
        try {
            return template.render(variables, generationPrompt);
        } catch (ChatTemplateException e) {
            throw new IOException(c.where() + ": " + e.getMessage(), e);
        }
    }
}

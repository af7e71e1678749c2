package dev.llamaadapter.serve;

import dev.llamaadapter.tokenizer.Tokenizer;

/**
 * Prompt text to token ids, BOS first, within a context of so many positions. A prompt whose length alone
 * shows that it cannot fit ({@link Tokenizer#minTokens}) is refused before it is tokenized: encoding
 * megabytes of text costs seconds and gigabytes, only to refuse it afterwards. A prompt that passes is at
 * most about context x the longest token long, so encoding it costs little.
 */
final class PromptBudget {
    private PromptBudget() {}

    /** The ids of BOS + text, or a 400 (context_length_exceeded, on {@code field}) when they cannot fit. */
    static int[] encode(Tokenizer tokenizer, String text, int context, String field) {
        long atLeast = 1L + tokenizer.minTokens(text);
        if (atLeast >= context) throw tooLong(atLeast, false, context, field);
        int[] body = tokenizer.encode(text);
        int[] ids = new int[body.length + 1];
        ids[0] = tokenizer.bosId() >= 0 ? tokenizer.bosId() : 1;
        System.arraycopy(body, 0, ids, 1, body.length);
        return ids;
    }

    /** The refusal of a prompt of {@code tokens} tokens ({@code exact}) or at least that many (counting stopped early). */
    static ApiException tooLong(long tokens, boolean exact, int context, String field) {
        return ApiException.badRequest("the prompt has " + (exact ? "" : "at least ") + tokens + " tokens but the context holds " + context
                + " (prompt plus at least one generated token)", field, "context_length_exceeded");
    }
}

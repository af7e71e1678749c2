package dev.llamaadapter.generate;

import dev.llamaadapter.model.LlamaConfig;

import java.util.function.Consumer;

/**
 * How many positions a command may use. One rule for generate, chat, serve and eval: the model's
 * {@code max_position_embeddings} unless a flag says otherwise (2048 when the model does not say);
 * zero or negative is an error; more than the model was trained for is allowed but warned about once,
 * because positions past it were never seen in training and the output usually degrades.
 */
public final class ContextLength {
    private ContextLength() {}

    /** The context of a model that records no max_position_embeddings. */
    public static final int FALLBACK = 2048;

    /**
     * @param flag   the user's value, null when not given
     * @param option the flag's name, for messages (e.g. "--context")
     * @param warn   receives the one warning line, when there is one
     */
    public static int resolve(Integer flag, String option, LlamaConfig c, Consumer<String> warn) {
        Integer maxPos = c.maxPositionEmbeddings();
        if (flag == null) return maxPos != null ? maxPos : FALLBACK;
        if (flag <= 0)
            throw new IllegalArgumentException(option + " " + flag + ": the context must hold the prompt and at least one generated token"
                    + (maxPos != null ? " (the model's max_position_embeddings is " + maxPos + ")" : ""));
        if (maxPos != null && flag > maxPos) warn.accept(beyond(option + " " + flag, maxPos));
        return flag;
    }

    /** The warning for going past the trained positions (also for a batch longer than them, in dump-step). */
    public static String beyond(String what, int maxPos) {
        return "warning: " + what + " is past the model's max_position_embeddings " + maxPos
                + ": positions beyond it were never trained, expect degraded output";
    }

    /** A prompt of n tokens must leave room for one generated token in the context. */
    public static void checkPrompt(int promptTokens, int context, String option) {
        if (promptTokens >= context)
            throw new IllegalArgumentException(option + " " + context + " is too short for the prompt's " + promptTokens
                    + " tokens: the context must hold the prompt and at least one generated token");
    }
}

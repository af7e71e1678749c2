package dev.llamaadapter.data.chat;

import dev.llamaadapter.data.Example;
import dev.llamaadapter.tokenizer.Tokenizer;

import java.io.IOException;
import java.util.Arrays;
import java.util.Set;

/**
 * Turns conversations into examples: the text the model's chat template writes is tokenized whole (the
 * template writes BOS itself where the model wants one, so none is added, as transformers' apply_chat_template
 * does), and only the assistant turns are scored: from the first token after the turn's header
 * ({@link AssistantTurns}) through its end-of-turn token ({@code <|eot_id|>}, {@code <|im_end|>},
 * {@code <end_of_turn>}, or another id the model declares), which is what teaches the model to stop. The text
 * between turns (a newline the template writes after the marker, the next header) is not scored.
 */
public final class ChatExampleEncoder {
    private final ChatTemplate template;
    private final Tokenizer tokenizer;
    private final Set<Integer> endOfTurn;
    private final int maxSeqLen;
    private final boolean scoreAll;

    /** endOfTurn: the ids that end a turn ({@link dev.llamaadapter.tokenizer.EndOfTurn#ids}); scoreAll: score every token (--score-prompt). */
    public ChatExampleEncoder(ChatTemplate template, Tokenizer tokenizer, Set<Integer> endOfTurn, int maxSeqLen, boolean scoreAll) {
        if (maxSeqLen < 2) throw new IllegalArgumentException("--max-seq-len must be at least 2, got " + maxSeqLen);
        this.template = template;
        this.tokenizer = tokenizer;
        this.endOfTurn = Set.copyOf(endOfTurn);
        this.maxSeqLen = maxSeqLen;
        this.scoreAll = scoreAll;
    }

    public Example encode(Conversation c) throws IOException {
        AssistantTurns turns = AssistantTurns.of(template, c);
        String text = turns.text();
        int[] full = tokenizer.encode(text);
        boolean[] scored = new boolean[full.length]; // [n] whether token t is a target
        int turnsN = turns.starts().length;
        int[] first = new int[turnsN];               // [turns] index of each turn's first token
        for (int k = 0; k < turnsN; k++) first[k] = tokenBoundary(full, text.substring(0, turns.starts()[k]));
        for (int k = 0; k < turnsN; k++) {
            int limit = k + 1 < turnsN ? first[k + 1] : full.length; // a turn ends before the next one starts
            int end = -1;                                           // exclusive
            for (int t = first[k]; t < limit && end < 0; t++) if (endOfTurn.contains(full[t])) end = t + 1;
            if (end < 0) { // no end-of-turn token (a template that ends turns in plain text): its rendering's end
                if (turns.ends()[k] < 0)
                    throw new IOException(c.where() + ": the chat template (" + template.source() + ") ends assistant turn " + (k + 1)
                            + " with no end-of-turn token the model declares, and its end cannot be found otherwise");
                end = Math.min(limit, tokenBoundary(full, text.substring(0, turns.ends()[k])));
            }
            for (int t = first[k]; t < end; t++) scored[t] = true;
        }
        boolean truncated = full.length > maxSeqLen;
        int[] ids = truncated ? Arrays.copyOf(full, maxSeqLen) : full;
        int[] labels = new int[ids.length]; // [n] target of position t: ids[t+1] where scored, -100 elsewhere
        for (int t = 0; t < ids.length; t++) {
            int target = t + 1;
            labels[t] = target < ids.length && (scoreAll || scored[target]) ? ids[target] : -100;
        }
        return new Example(ids, labels, truncated, c.where());
    }

    /**
     * The index of the first token of {@code full} not wholly inside {@code prefix}: the tokens the prefix
     * alone encodes to, as far as they agree with the whole text's (a token that straddles the boundary
     * belongs to what follows).
     */
    private int tokenBoundary(int[] full, String prefix) {
        int[] p = tokenizer.encode(prefix);
        int n = 0;
        while (n < p.length && n < full.length && p[n] == full[n]) n++;
        return n;
    }
}

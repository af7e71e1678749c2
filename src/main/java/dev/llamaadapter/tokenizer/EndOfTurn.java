package dev.llamaadapter.tokenizer;

import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The ids that end a model's turn: what the model declares ({@code eos_token_id} of config.json and
 * generation_config.json, one id or a list), the tokenizer's EOS, and the end-of-turn markers of the chat
 * templates people use, where the vocabulary has them. A chat model trained on its template ends its answer
 * with the marker, not with EOS, so generation that waited for EOS alone would run on into a next turn.
 */
public final class EndOfTurn {
    private EndOfTurn() {}

    /** Llama 3 (eot_id; eom_id after a tool call), ChatML / Qwen (im_end), Gemma (end_of_turn). */
    public static final List<String> MARKERS = List.of("<|eot_id|>", "<|eom_id|>", "<|im_end|>", "<end_of_turn>");

    /** declared (the model's eos_token_id list) + the tokenizer's EOS + the markers it knows; tok may be null. */
    public static Set<Integer> ids(Tokenizer tok, Collection<Integer> declared) {
        Set<Integer> ids = new LinkedHashSet<>(declared);
        if (tok != null) {
            if (tok.eosId() >= 0) ids.add(tok.eosId());
            if (tok.eotId() >= 0) ids.add(tok.eotId());
            for (String m : MARKERS) {
                int id = tok.specialTokenId(m);
                if (id >= 0) ids.add(id);
            }
        }
        return ids;
    }
}

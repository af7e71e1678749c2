package dev.llamaadapter.tokenizer;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The "added_tokens" of a tokenizer.json, found in the text before anything else runs, as Hugging Face does:
 * scanning left to right, at each position the longest token that matches wins; lstrip/rstrip let the token
 * swallow the whitespace beside it; single_word tokens only match outside words. Tokens are matched on the
 * raw text (Hugging Face matches those marked "normalized" on the normalized text; LLaMA files mark their
 * special tokens not normalized, and Llama 2's normalizer does not touch them).
 */
final class AddedTokens {

    record Token(int id, String content, boolean special, boolean lstrip, boolean rstrip, boolean singleWord) {}

    /** A piece of the input: either an added token ({@code tokenId >= 0}) or text to tokenize, at {@code offset} in the input. */
    record Segment(String text, int tokenId, int offset) {}

    private final Map<Character, List<Token>> byFirstChar = new HashMap<>();

    AddedTokens(List<Token> tokens) {
        for (Token t : tokens)
            if (!t.content().isEmpty()) byFirstChar.computeIfAbsent(t.content().charAt(0), k -> new ArrayList<>()).add(t);
        for (List<Token> list : byFirstChar.values()) list.sort(Comparator.comparingInt((Token t) -> t.content().length()).reversed());
    }

    List<Segment> split(String text) {
        List<Segment> out = new ArrayList<>();
        int textStart = 0; // start of the text not yet emitted
        int i = 0;
        while (i < text.length()) {
            Token t = match(text, i);
            if (t == null) {
                i++;
                continue;
            }
            int start = i, end = i + t.content().length();
            if (t.lstrip()) while (start > textStart && Character.isWhitespace(text.charAt(start - 1))) start--;
            if (t.rstrip()) while (end < text.length() && Character.isWhitespace(text.charAt(end))) end++;
            if (start > textStart) out.add(new Segment(text.substring(textStart, start), -1, textStart));
            out.add(new Segment(t.content(), t.id(), start));
            textStart = i = end;
        }
        if (textStart < text.length()) out.add(new Segment(text.substring(textStart), -1, textStart));
        return out;
    }

    private Token match(String text, int i) {
        List<Token> candidates = byFirstChar.get(text.charAt(i));
        if (candidates == null) return null;
        for (Token t : candidates) {
            if (!text.startsWith(t.content(), i)) continue;
            int end = i + t.content().length();
            if (t.singleWord() && (i > 0 && isWordChar(text.codePointBefore(i)) || end < text.length() && isWordChar(text.codePointAt(end))))
                continue;
            return t;
        }
        return null;
    }

    private static boolean isWordChar(int cp) {
        return Character.isLetterOrDigit(cp) || cp == '_';
    }
}

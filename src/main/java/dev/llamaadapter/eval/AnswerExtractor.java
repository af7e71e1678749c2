package dev.llamaadapter.eval;

import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads the chosen option out of a generated answer. The trained form is "The answer is (B)."; the
 * fallbacks catch what a weaker model writes instead: a parenthesised letter "(C)", a lone letter
 * ("B", "B.", "B) ...", not the article in "A dog"), or the text of one option. Letters outside the problem's options do not count.
 */
public final class AnswerExtractor {
    private AnswerExtractor() {}

    /** How the answer was found; NONE means unparseable, which scores as wrong. */
    public enum Method { PATTERN, PARENTHESISED, LETTER, OPTION_TEXT, NONE }

    /** The chosen choice index (-1 when none) and how it was found. */
    public record Answer(int index, Method method) {
        public boolean parsed() {
            return method != Method.NONE;
        }
    }

    private static final Pattern THE_ANSWER_IS = Pattern.compile("(?i:the answer is)\\s*:?\\s*\\(?([A-Z])\\)?(?![A-Za-z])");
    private static final Pattern PARENTHESISED = Pattern.compile("\\(([A-Z])\\)");
    private static final Pattern LONE_LETTER = Pattern.compile("^[\\s(\\[]*([A-Z])(?:[.):\\]](?:\\s|$)|\\W*$)");

    public static Answer extract(String text, List<String> choices) {
        int n = choices.size();
        int i = firstLetter(THE_ANSWER_IS.matcher(text), n);
        if (i >= 0) return new Answer(i, Method.PATTERN);
        i = firstLetter(PARENTHESISED.matcher(text), n);
        if (i >= 0) return new Answer(i, Method.PARENTHESISED);
        i = firstLetter(LONE_LETTER.matcher(text.strip()), n);
        if (i >= 0) return new Answer(i, Method.LETTER);
        i = optionText(text, choices);
        if (i >= 0) return new Answer(i, Method.OPTION_TEXT);
        return new Answer(-1, Method.NONE);
    }

    /** The first match whose letter names one of the n options. */
    private static int firstLetter(Matcher m, int n) {
        while (m.find()) {
            int i = m.group(1).charAt(0) - 'A';
            if (i < n) return i;
        }
        return -1;
    }

    /**
     * The option whose text appears earliest in the answer (case-insensitive, on word boundaries); on a
     * tie the longer option wins, so "red panda" beats "red".
     */
    private static int optionText(String text, List<String> choices) {
        String t = text.toLowerCase(Locale.ROOT);
        int best = -1, bestAt = Integer.MAX_VALUE, bestLen = -1;
        for (int i = 0; i < choices.size(); i++) {
            String c = choices.get(i).strip().toLowerCase(Locale.ROOT);
            if (c.isEmpty()) continue;
            Matcher m = Pattern.compile("(?<![\\p{L}\\p{N}])" + Pattern.quote(c) + "(?![\\p{L}\\p{N}])").matcher(t);
            if (!m.find()) continue;
            int at = m.start();
            if (at < bestAt || at == bestAt && c.length() > bestLen) {
                best = i;
                bestAt = at;
                bestLen = c.length();
            }
        }
        return best;
    }
}

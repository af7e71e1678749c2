package dev.llamaadapter.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;

import java.nio.file.Path;
import java.text.Normalizer;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * The "normalizer" and "pre_tokenizer" steps of a tokenizer.json, built from their JSON. Supported: the
 * kinds LLaMA-family files use (Prepend, Replace, Split with a regex, ByteLevel, Metaspace, Sequence) and a
 * few simple neighbours (NFC/NFD/NFKC/NFKD, Lowercase, Strip, Digits, Whitespace, WhitespaceSplit). Any
 * other kind is refused with its name and the file, rather than silently tokenizing differently.
 */
final class HfPipeline {
    private HfPipeline() {}

    /** A pre-tokenized word; {@code atStart} when it begins at the very start of the input (Metaspace's prepend_scheme "first"). */
    record Word(String text, boolean atStart) {}

    /** Splits each word into smaller ones. */
    interface PreTokenizer {
        List<Word> apply(List<Word> words);
    }

    static final PreTokenizer NO_PRE_TOKENIZER = words -> words;

    /** GPT-2's split pattern, used by ByteLevel with use_regex. */
    static final String GPT2_SPLIT = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

    // ---- normalizers ----

    static UnaryOperator<String> normalizer(JsonNode n, Path file) throws TokenizerException {
        if (n == null || n.isNull()) return UnaryOperator.identity();
        String type = n.path("type").asText();
        switch (type) {
            case "Sequence" -> {
                List<UnaryOperator<String>> steps = new ArrayList<>();
                for (JsonNode child : n.path("normalizers")) steps.add(normalizer(child, file));
                return s -> {
                    for (UnaryOperator<String> step : steps) s = step.apply(s);
                    return s;
                };
            }
            case "Prepend" -> {
                String prefix = n.path("prepend").asText();
                return s -> s.isEmpty() ? s : prefix + s; // HF prepends nothing to an empty string
            }
            case "Replace" -> {
                Pattern p = pattern(n.path("pattern"), file);
                String content = Matcher.quoteReplacement(n.path("content").asText());
                return s -> p.matcher(s).replaceAll(content);
            }
            case "NFC" -> { return s -> Normalizer.normalize(s, Normalizer.Form.NFC); }
            case "NFD" -> { return s -> Normalizer.normalize(s, Normalizer.Form.NFD); }
            case "NFKC" -> { return s -> Normalizer.normalize(s, Normalizer.Form.NFKC); }
            case "NFKD" -> { return s -> Normalizer.normalize(s, Normalizer.Form.NFKD); }
            case "Lowercase" -> { return s -> s.toLowerCase(Locale.ROOT); }
            case "Strip" -> {
                boolean left = n.path("strip_left").asBoolean(true), right = n.path("strip_right").asBoolean(true);
                return s -> left && right ? s.strip() : left ? s.stripLeading() : right ? s.stripTrailing() : s;
            }
            default -> throw new TokenizerException(file, "normalizer type '" + type + "' is not supported");
        }
    }

    // ---- pre-tokenizers ----

    static PreTokenizer preTokenizer(JsonNode n, Path file) throws TokenizerException {
        if (n == null || n.isNull()) return NO_PRE_TOKENIZER;
        String type = n.path("type").asText();
        switch (type) {
            case "Sequence" -> {
                List<PreTokenizer> steps = new ArrayList<>();
                for (JsonNode child : n.path("pretokenizers")) steps.add(preTokenizer(child, file));
                return words -> {
                    for (PreTokenizer step : steps) words = step.apply(words);
                    return words;
                };
            }
            case "Split" -> {
                Pattern p = pattern(n.path("pattern"), file);
                Behavior b = behavior(n.path("behavior").asText("Isolated"), file);
                boolean invert = n.path("invert").asBoolean(false);
                return words -> eachWord(words, w -> split(w, p, b, invert));
            }
            case "ByteLevel" -> {
                boolean prefixSpace = n.path("add_prefix_space").asBoolean(true);
                boolean useRegex = n.path("use_regex").asBoolean(true);
                Pattern gpt2 = Pattern.compile(GPT2_SPLIT, Pattern.UNICODE_CHARACTER_CLASS);
                return words -> {
                    List<Word> out = new ArrayList<>();
                    for (Word w : words) {
                        String t = prefixSpace && !w.text().startsWith(" ") ? " " + w.text() : w.text();
                        Word prefixed = new Word(t, w.atStart());
                        List<Word> parts = useRegex ? split(prefixed, gpt2, Behavior.ISOLATED, false) : List.of(prefixed);
                        for (Word p : parts) out.add(new Word(ByteLevel.encode(p.text()), p.atStart()));
                    }
                    return out;
                };
            }
            case "Metaspace" -> {
                String replacement = n.path("replacement").asText("\u2581");
                String scheme = n.hasNonNull("prepend_scheme") ? n.get("prepend_scheme").asText()
                        : n.path("add_prefix_space").asBoolean(true) ? "always" : "never"; // files older than prepend_scheme
                if (!scheme.equals("always") && !scheme.equals("first") && !scheme.equals("never"))
                    throw new TokenizerException(file, "Metaspace prepend_scheme '" + scheme + "' is not supported");
                boolean doSplit = n.path("split").asBoolean(true);
                Pattern onReplacement = Pattern.compile(Pattern.quote(replacement));
                return words -> eachWord(words, w -> {
                    String t = w.text().replace(" ", replacement);
                    boolean prepend = scheme.equals("always") || (scheme.equals("first") && w.atStart());
                    if (prepend && !t.startsWith(replacement)) t = replacement + t;
                    Word spaced = new Word(t, w.atStart());
                    return doSplit ? split(spaced, onReplacement, Behavior.MERGED_WITH_NEXT, false) : List.of(spaced);
                });
            }
            case "Digits" -> {
                Pattern p = Pattern.compile(n.path("individual_digits").asBoolean(false) ? "\\p{N}" : "\\p{N}+");
                return words -> eachWord(words, w -> split(w, p, Behavior.ISOLATED, false));
            }
            case "Whitespace" -> {
                Pattern p = Pattern.compile("\\w+|[^\\w\\s]+", Pattern.UNICODE_CHARACTER_CLASS);
                return words -> eachWord(words, w -> split(w, p, Behavior.REMOVED, true));
            }
            case "WhitespaceSplit" -> {
                Pattern p = Pattern.compile("\\s+", Pattern.UNICODE_CHARACTER_CLASS);
                return words -> eachWord(words, w -> split(w, p, Behavior.REMOVED, false));
            }
            default -> throw new TokenizerException(file, "pre_tokenizer type '" + type + "' is not supported");
        }
    }

    /**
     * Whether the pre-tokenizer keeps every character of its input in some word (it splits, prefixes or
     * re-spells, but never drops): what makes the words at least as long, together, as the normalized text.
     * Whitespace, WhitespaceSplit and a Split that removes its delimiters drop text.
     */
    static boolean keepsAllText(JsonNode n) {
        if (n == null || n.isNull()) return true;
        return switch (n.path("type").asText()) {
            case "Sequence" -> {
                boolean all = true;
                for (JsonNode child : n.path("pretokenizers")) all &= keepsAllText(child);
                yield all;
            }
            case "Split" -> !n.path("behavior").asText("Isolated").equals("Removed");
            case "ByteLevel", "Digits" -> true; // ByteLevel writes each UTF-8 byte as a character: never fewer
            case "Metaspace" -> !n.path("replacement").asText("\u2581").isEmpty();
            default -> false;
        };
    }

    /** Whether a ByteLevel step runs, so that the words are spelled in GPT-2's byte characters. */
    static boolean byteLevel(JsonNode n) {
        if (n == null || n.isNull()) return false;
        if (n.path("type").asText().equals("ByteLevel")) return true;
        for (JsonNode child : n.path("pretokenizers")) if (byteLevel(child)) return true;
        return false;
    }

    /** Hugging Face's SplitDelimiterBehavior: what happens to the matched delimiters. */
    enum Behavior { REMOVED, ISOLATED, MERGED_WITH_PREVIOUS, MERGED_WITH_NEXT, CONTIGUOUS }

    private static Behavior behavior(String name, Path file) throws TokenizerException {
        return switch (name) {
            case "Removed" -> Behavior.REMOVED;
            case "Isolated" -> Behavior.ISOLATED;
            case "MergedWithPrevious" -> Behavior.MERGED_WITH_PREVIOUS;
            case "MergedWithNext" -> Behavior.MERGED_WITH_NEXT;
            case "Contiguous" -> Behavior.CONTIGUOUS;
            default -> throw new TokenizerException(file, "Split behavior '" + name + "' is not supported");
        };
    }

    private static List<Word> eachWord(List<Word> words, java.util.function.Function<Word, List<Word>> f) {
        List<Word> out = new ArrayList<>(words.size() * 2);
        for (Word w : words) out.addAll(f.apply(w));
        return out;
    }

    /**
     * Splits a word at the (non-empty) matches of {@code p}, as Hugging Face's NormalizedString::split: the
     * text is cut into alternating match / non-match runs (with {@code invert}, the non-matches count as the
     * delimiters), and the behavior says where delimiters go.
     */
    static List<Word> split(Word w, Pattern p, Behavior behavior, boolean invert) {
        String s = w.text();
        // Runs as [start, end, isDelimiter].
        List<int[]> runs = new ArrayList<>();
        Matcher m = p.matcher(s);
        int last = 0;
        while (m.find()) {
            if (m.end() == m.start()) continue;
            if (m.start() > last) runs.add(new int[] {last, m.start(), invert ? 1 : 0});
            runs.add(new int[] {m.start(), m.end(), invert ? 0 : 1});
            last = m.end();
        }
        if (last < s.length()) runs.add(new int[] {last, s.length(), invert ? 1 : 0});

        List<int[]> pieces = new ArrayList<>(); // [start, end]
        switch (behavior) {
            case REMOVED -> { for (int[] r : runs) if (r[2] == 0) pieces.add(new int[] {r[0], r[1]}); }
            case ISOLATED -> { for (int[] r : runs) pieces.add(new int[] {r[0], r[1]}); }
            case MERGED_WITH_PREVIOUS -> {
                boolean previousDelimiter = false;
                for (int[] r : runs) {
                    if (r[2] == 1 && !previousDelimiter && !pieces.isEmpty()) pieces.getLast()[1] = r[1];
                    else pieces.add(new int[] {r[0], r[1]});
                    previousDelimiter = r[2] == 1;
                }
            }
            case MERGED_WITH_NEXT -> {
                boolean nextDelimiter = false;
                for (int i = runs.size() - 1; i >= 0; i--) {
                    int[] r = runs.get(i);
                    if (r[2] == 1 && !nextDelimiter && !pieces.isEmpty()) pieces.getLast()[0] = r[0];
                    else pieces.add(new int[] {r[0], r[1]});
                    nextDelimiter = r[2] == 1;
                }
                java.util.Collections.reverse(pieces);
            }
            case CONTIGUOUS -> {
                int previous = -1;
                for (int[] r : runs) {
                    if (r[2] == previous && !pieces.isEmpty()) pieces.getLast()[1] = r[1];
                    else pieces.add(new int[] {r[0], r[1]});
                    previous = r[2];
                }
            }
        }
        List<Word> out = new ArrayList<>(pieces.size());
        for (int[] piece : pieces) out.add(new Word(s.substring(piece[0], piece[1]), w.atStart() && piece[0] == 0));
        return out;
    }

    /** A {"String": "..."} or {"Regex": "..."} pattern. */
    static Pattern pattern(JsonNode n, Path file) throws TokenizerException {
        if (n.hasNonNull("String")) return Pattern.compile(Pattern.quote(n.get("String").asText()));
        if (n.hasNonNull("Regex")) {
            try {
                return Pattern.compile(n.get("Regex").asText(), Pattern.UNICODE_CHARACTER_CLASS);
            } catch (PatternSyntaxException e) {
                throw new TokenizerException(file, "regex " + n.get("Regex").asText() + " does not compile: " + e.getDescription(), e);
            }
        }
        throw new TokenizerException(file, "pattern " + n + " is neither {\"String\": ...} nor {\"Regex\": ...}");
    }
}

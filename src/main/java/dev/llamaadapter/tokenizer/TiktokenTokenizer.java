package dev.llamaadapter.tokenizer;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Llama 3's tokenizer as Meta ships it: a tiktoken ranks file (one "base64-bytes rank" line per token) plus
 * 256 special tokens numbered after the ranks. Encoding splits the text with Llama 3's pre-tokenizer regex,
 * then runs byte-level BPE on each piece: a piece that is itself a token is that token, otherwise its bytes
 * merge pairwise, the pair whose concatenation has the lowest rank first (leftmost on ties), as tiktoken's
 * {@code _byte_pair_merge}. Special tokens are never produced from text, as in Meta's {@code encode} with its
 * default {@code allowed_special=set()}; callers insert them by id.
 */
final class TiktokenTokenizer extends AbstractTokenizer {

    /**
     * Llama 3's split pattern. {@link Pattern#UNICODE_CHARACTER_CLASS} makes {@code \s} Unicode White_Space
     * (as in the regex engines tiktoken and Hugging Face use; Java's default is ASCII only) and makes the
     * {@code (?i:...)} contractions case-insensitive the Unicode way. {@code \p{L}} and {@code \p{N}} are
     * Unicode general categories either way.
     */
    static final String LLAMA3_SPLIT =
            "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
    private static final Pattern SPLIT = Pattern.compile(LLAMA3_SPLIT, Pattern.UNICODE_CHARACTER_CLASS);

    static final int NUM_SPECIAL = 256;

    /** Token bytes, as a Latin-1 string (one char per byte), to rank (= id). */
    private final Map<String, Integer> ranks;
    /** The most bytes one token stands for. */
    private final int longestToken;

    private TiktokenTokenizer(TokenTable table, Map<String, Integer> specials, Map<String, Integer> ranks) {
        super(table, specials, specials.get("<|begin_of_text|>"), specials.get("<|end_of_text|>"), specials.get("<|eot_id|>"));
        this.ranks = ranks;
        int longest = 1;
        for (String t : ranks.keySet()) longest = Math.max(longest, t.length());
        this.longestToken = longest;
    }

    /** Whether the file starts like a tiktoken ranks file: a base64 token, a space, a decimal rank. */
    static boolean looksLikeRanks(byte[] head) {
        int i = 0;
        while (i < head.length && isBase64(head[i])) i++;
        if (i == 0 || i >= head.length || head[i] != ' ') return false;
        int digits = 0;
        for (i++; i < head.length && head[i] >= '0' && head[i] <= '9'; i++) digits++;
        return digits > 0 && (i == head.length || head[i] == '\n' || head[i] == '\r');
    }

    private static boolean isBase64(byte b) {
        return b >= 'A' && b <= 'Z' || b >= 'a' && b <= 'z' || b >= '0' && b <= '9' || b == '+' || b == '/' || b == '=';
    }

    static TiktokenTokenizer load(Path file) throws IOException {
        List<byte[]> tokens = new ArrayList<>();
        Map<String, Integer> ranks = new HashMap<>(300_000);
        Base64.Decoder b64 = Base64.getDecoder();
        try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.US_ASCII)) {
            String line;
            int lineNo = 0;
            while ((line = r.readLine()) != null) {
                lineNo++;
                if (line.isEmpty()) continue;
                int sp = line.indexOf(' ');
                byte[] bytes;
                int rank;
                try {
                    bytes = b64.decode(line.substring(0, sp));
                    rank = Integer.parseInt(line.substring(sp + 1));
                } catch (RuntimeException e) {
                    throw new TokenizerException(file, "corrupt tiktoken ranks file: line " + lineNo + " is not 'base64 rank'", e);
                }
                // Llama 3's ranks run 0, 1, 2, ...: ids are ranks, and special tokens follow the last one.
                if (rank != tokens.size())
                    throw new TokenizerException(file, "corrupt tiktoken ranks file: line " + lineNo + " has rank " + rank + ", expected " + tokens.size());
                if (ranks.put(new String(bytes, StandardCharsets.ISO_8859_1), rank) != null)
                    throw new TokenizerException(file, "corrupt tiktoken ranks file: line " + lineNo + " repeats a token");
                tokens.add(bytes);
            }
        } catch (java.nio.charset.MalformedInputException e) {
            throw new TokenizerException(file, "corrupt tiktoken ranks file: not ASCII text", e);
        }
        for (int b = 0; b < 256; b++)
            if (!ranks.containsKey(String.valueOf((char) b)))
                throw new TokenizerException(file, "tiktoken ranks file lacks the single byte " + b + ", so some text cannot be encoded");

        int base = tokens.size();
        TokenTable table = new TokenTable(base + NUM_SPECIAL, TokenTable.LeadingSpace.KEEP, false);
        for (int i = 0; i < base; i++) table.setRaw(i, tokens.get(i));
        Map<String, Integer> specials = new HashMap<>();
        List<String> names = llama3SpecialTokens();
        for (int i = 0; i < NUM_SPECIAL; i++) {
            specials.put(names.get(i), base + i);
            table.setControl(base + i);
        }
        return new TiktokenTokenizer(table, specials, ranks);
    }

    /** The names Meta's Llama 3 tokenizer.py gives the 256 tokens after the ranks. */
    static List<String> llama3SpecialTokens() {
        List<String> names = new ArrayList<>(List.of("<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
                "<|reserved_special_token_1|>", "<|reserved_special_token_2|>", "<|reserved_special_token_3|>",
                "<|start_header_id|>", "<|end_header_id|>", "<|reserved_special_token_4|>", "<|eot_id|>"));
        for (int i = 5; names.size() < NUM_SPECIAL; i++) names.add("<|reserved_special_token_" + i + "|>");
        return names;
    }

    @Override
    public int[] encode(String text) {
        IntList out = new IntList();
        Matcher m = SPLIT.matcher(text);
        while (m.find()) {
            String chunk = new String(text.substring(m.start(), m.end()).getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1);
            Integer whole = ranks.get(chunk);
            if (whole != null) out.add(whole);
            else mergeBytes(chunk, out);
        }
        return out.toArray();
    }

    /**
     * The split pattern leaves no character out (every character is a letter, a number, whitespace or
     * something else, and each kind has an alternative), and each chunk's tokens spell its UTF-8 bytes, so
     * the tokens are at least the text's UTF-8 length over the longest token.
     */
    @Override
    public int minTokens(String text) {
        long bytes = 0;
        for (int i = 0, n = text.length(); i < n; i++) {
            char c = text.charAt(i);
            if (c < 0x80) bytes++;
            else if (c < 0x800) bytes += 2;
            else if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(text.charAt(i + 1))) {
                bytes += 4;
                i++;
            } else if (Character.isSurrogate(c)) bytes++; // a lone surrogate: getBytes writes '?'
            else bytes += 3;
        }
        return (int) Math.min(Integer.MAX_VALUE, (bytes + longestToken - 1) / longestToken);
    }

    /** Byte-pair merging of one pre-tokenized chunk (its bytes as Latin-1 chars). */
    private void mergeBytes(String chunk, IntList out) {
        PairMerger merger = new PairMerger(chunk.length());
        for (int i = 0; i < chunk.length(); i++) merger.add(ranks.get(chunk.substring(i, i + 1)), i, i + 1, false);
        merger.run((leftId, rightId, start, mid, end) -> {
            Integer rank = ranks.get(chunk.substring(start, end));
            return rank == null ? PairMerger.NONE : PairMerger.merge(rank, rank);
        });
        for (int s = merger.first(); s >= 0; s = merger.next(s)) out.add(merger.id(s));
    }

    /** The split pattern's pieces of {@code text}, for tests. */
    static List<String> split(String text) {
        List<String> pieces = new ArrayList<>();
        Matcher m = SPLIT.matcher(text);
        while (m.find()) pieces.add(m.group());
        return pieces;
    }
}

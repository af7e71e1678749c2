package dev.llamaadapter.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * The {@code "model": {"type": "BPE", ...}} of a tokenizer.json, run as Hugging Face's BPE model runs one
 * pre-tokenized word: each character becomes its vocabulary token (or, when it has none, its UTF-8 bytes as
 * {@code <0xNN>} tokens with byte_fallback, else the unknown token, consecutive unknowns fused with
 * fuse_unk); then the listed merges apply, lowest rank first and leftmost on ties. With ignore_merges
 * (Llama 3) a word that is itself a vocabulary token is taken whole.
 */
final class HfBpe {

    final Map<String, Integer> vocab;
    /** (left id, right id) to rank << 32 | merged id. */
    private final PairTable merges;
    private final boolean byteFallback, fuseUnk, ignoreMerges;
    private final int unkId;
    private final int[] byteTokens = new int[256];

    private HfBpe(Map<String, Integer> vocab, PairTable merges, boolean byteFallback, boolean fuseUnk, boolean ignoreMerges, int unkId) {
        this.vocab = vocab;
        this.merges = merges;
        this.byteFallback = byteFallback;
        this.fuseUnk = fuseUnk;
        this.ignoreMerges = ignoreMerges;
        this.unkId = unkId;
        for (int b = 0; b < 256; b++) byteTokens[b] = vocab.getOrDefault(byteTokenName(b), -1);
    }

    static String byteTokenName(int b) {
        return String.format("<0x%02X>", b);
    }

    static HfBpe parse(JsonNode model, Path file) throws TokenizerException {
        for (String unsupported : new String[] {"continuing_subword_prefix", "end_of_word_suffix"}) {
            JsonNode v = model.get(unsupported);
            if (v != null && !v.isNull() && !v.asText().isEmpty())
                throw new TokenizerException(file, "BPE option " + unsupported + " is not supported");
        }
        JsonNode vocabNode = model.get("vocab");
        if (vocabNode == null || !vocabNode.isObject()) throw new TokenizerException(file, "BPE model has no \"vocab\" object");
        Map<String, Integer> vocab = new HashMap<>(vocabNode.size() * 2);
        for (Map.Entry<String, JsonNode> e : vocabNode.properties()) {
            if (!e.getValue().canConvertToInt() || e.getValue().asInt() < 0)
                throw new TokenizerException(file, "vocab entry '" + e.getKey() + "' has a bad id " + e.getValue());
            vocab.put(e.getKey(), e.getValue().asInt());
        }
        JsonNode mergesNode = model.get("merges");
        int count = mergesNode == null ? 0 : mergesNode.size();
        PairTable merges = new PairTable(count);
        for (int rank = 0; rank < count; rank++) {
            JsonNode m = mergesNode.get(rank);
            String left, right;
            if (m.isTextual()) { // "a b" (older files)
                String[] parts = m.asText().split(" ", -1);
                if (parts.length != 2) throw new TokenizerException(file, "merge #" + rank + " '" + m.asText() + "' is not two tokens separated by one space");
                left = parts[0];
                right = parts[1];
            } else if (m.isArray() && m.size() == 2) { // ["a", "b"] (newer files)
                left = m.get(0).asText();
                right = m.get(1).asText();
            } else {
                throw new TokenizerException(file, "merge #" + rank + " is neither \"a b\" nor [\"a\", \"b\"]");
            }
            Integer l = vocab.get(left), r = vocab.get(right), merged = vocab.get(left + right);
            if (l == null || r == null || merged == null)
                throw new TokenizerException(file, "merge #" + rank + " (" + left + ", " + right + ") uses a token missing from the vocab");
            merges.put(l, r, PairMerger.merge(rank, merged));
        }
        int unkId = -1;
        JsonNode unk = model.get("unk_token");
        if (unk != null && !unk.isNull()) {
            Integer id = vocab.get(unk.asText());
            if (id == null) throw new TokenizerException(file, "unk_token '" + unk.asText() + "' is not in the vocab");
            unkId = id;
        }
        return new HfBpe(vocab, merges, bool(model, "byte_fallback"), bool(model, "fuse_unk"), bool(model, "ignore_merges"), unkId);
    }

    private static boolean bool(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v != null && v.asBoolean(false);
    }

    boolean byteFallback() {
        return byteFallback;
    }

    /** The most characters one final symbol of a word can span: the longest vocabulary token, or one code point. */
    int longestSymbol() {
        int longest = 2;
        for (String t : vocab.keySet()) longest = Math.max(longest, t.length());
        return longest;
    }

    /**
     * Whether {@link #encodeWord} gives every character of a word at least one symbol of its own (so that a
     * word's tokens are at least its length over {@link #longestSymbol}): true when each character has a
     * token, its bytes have tokens (a complete byte fallback), or it becomes an unknown token not fused with
     * its neighbours. Words made of GPT-2's byte characters ({@code byteLevelWords}) are covered when the
     * vocabulary has all 256 of them. Otherwise characters may vanish or fuse, and no length bound holds.
     */
    boolean givesEveryCharacterASymbol(boolean byteLevelWords) {
        boolean bytesComplete = true, byteCharsComplete = true;
        for (int b = 0; b < 256; b++) {
            bytesComplete &= byteTokens[b] >= 0;
            byteCharsComplete &= vocab.containsKey(ByteLevel.encode(new byte[] {(byte) b}));
        }
        return byteFallback && bytesComplete || unkId >= 0 && !fuseUnk || byteLevelWords && byteCharsComplete;
    }

    /** Appends the ids of one pre-tokenized word. */
    void encodeWord(String word, AbstractTokenizer.IntList out) {
        if (ignoreMerges) {
            Integer whole = vocab.get(word);
            if (whole != null) {
                out.add(whole);
                return;
            }
        }
        PairMerger merger = new PairMerger(word.length());
        int unknownStart = -1; // start of a pending run of unknown characters (one run with fuse_unk)
        for (int i = 0; i < word.length(); ) {
            int end = i + Character.charCount(word.codePointAt(i));
            String ch = word.substring(i, end);
            Integer id = vocab.get(ch);
            int[] bytes = id == null && byteFallback ? byteTokensOf(ch) : null;
            if (id != null || bytes != null) {
                if (unknownStart >= 0) merger.add(unkId, unknownStart, i, false);
                unknownStart = -1;
                if (id != null) merger.add(id, i, end, false);
                else for (int b : bytes) merger.add(b, i, end, false);
            } else if (unkId >= 0) {
                if (unknownStart >= 0 && !fuseUnk) {
                    merger.add(unkId, unknownStart, i, false);
                    unknownStart = -1;
                }
                if (unknownStart < 0) unknownStart = i;
            }
            // else: no token, no byte fallback, no unknown token: the character is dropped, as in HF.
            i = end;
        }
        if (unknownStart >= 0) merger.add(unkId, unknownStart, word.length(), false);
        merger.run((leftId, rightId, start, mid, end) -> merges.get(leftId, rightId, PairMerger.NONE));
        for (int s = merger.first(); s >= 0; s = merger.next(s)) out.add(merger.id(s));
    }

    /** The {@code <0xNN>} tokens of a character's UTF-8 bytes, or null if the vocabulary lacks one of them. */
    private int[] byteTokensOf(String ch) {
        byte[] bytes = ch.getBytes(StandardCharsets.UTF_8);
        int[] ids = new int[bytes.length];
        for (int k = 0; k < bytes.length; k++) {
            ids[k] = byteTokens[bytes[k] & 0xFF];
            if (ids[k] < 0) return null;
        }
        return ids;
    }
}

package dev.llamaadapter.tokenizer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static dev.llamaadapter.tokenizer.SentencePieceModel.*;

/**
 * SentencePiece's BPE model, as the sentencepiece library runs it (normalizer.cc, bpe_model.cc,
 * sentencepiece_processor.cc):
 * <ol>
 *   <li>normalize: spaces become ▁, a dummy-prefix ▁ goes in front (add_dummy_prefix), and with
 *       remove_extra_whitespaces leading/trailing/repeated spaces go;</li>
 *   <li>split into characters, a user-defined piece being one unmergeable symbol;</li>
 *   <li>repeatedly merge the adjacent pair whose concatenation is a piece with the highest score, the
 *       leftmost on ties;</li>
 *   <li>a symbol that is not a piece becomes its UTF-8 bytes as {@code <0xNN>} pieces (byte_fallback) or
 *       {@code <unk>} (a run of unknowns collapsing into one).</li>
 * </ol>
 * Only identity normalization is supported: LLaMA models do not use the precompiled NFKC character maps.
 */
final class SentencePieceTokenizer extends AbstractTokenizer {

    private static final char SPACE_SYMBOL = '\u2581';

    private final SentencePieceModel model;
    /** NORMAL, USER_DEFINED and UNUSED pieces: what merges may produce (sentencepiece's pieces_). */
    private final Map<String, Integer> mergeable;
    /** CONTROL, UNKNOWN and BYTE pieces, looked up first for a final symbol (sentencepiece's reserved_id_map_). */
    private final Map<String, Integer> reserved;
    private final float[] scores;
    private final int[] types;
    private final int unkId;
    private final int[] byteIds = new int[256];
    private final Set<String> userDefined = new HashSet<>();
    private final int longestUserDefined;
    /** The most characters one final symbol can span: the longest mergeable piece, or one code point (2 chars). */
    private final int longestSymbol;

    private SentencePieceTokenizer(SentencePieceModel model, TokenTable table, Map<String, Integer> specials, int bos, int eos,
                                   Map<String, Integer> mergeable, Map<String, Integer> reserved, int unkId) {
        super(table, specials, bos, eos, eos);
        this.model = model;
        this.mergeable = mergeable;
        this.reserved = reserved;
        this.unkId = unkId;
        List<Piece> pieces = model.pieces();
        scores = new float[pieces.size()];
        types = new int[pieces.size()];
        int longest = 0, longestMergeable = 2;
        java.util.Arrays.fill(byteIds, -1);
        for (int i = 0; i < pieces.size(); i++) {
            Piece p = pieces.get(i);
            scores[i] = p.score();
            types[i] = p.type();
            if (p.type() == USER_DEFINED) {
                userDefined.add(p.text());
                longest = Math.max(longest, p.text().length());
            }
            if (p.type() == BYTE) byteIds[byteOf(p.text())] = i;
            if (p.type() == NORMAL || p.type() == USER_DEFINED || p.type() == UNUSED) longestMergeable = Math.max(longestMergeable, p.text().length());
        }
        longestUserDefined = longest;
        longestSymbol = longestMergeable;
    }

    static SentencePieceTokenizer load(Path file) throws IOException {
        return build(SentencePieceModel.read(file), file);
    }

    /** The tokenizer of a parsed model ({@code file} names its source in messages: a .model, a GGUF, a tokenizer.bin). */
    static SentencePieceTokenizer build(SentencePieceModel m, Path file) throws TokenizerException {
        if (m.modelType() != BPE)
            throw new TokenizerException(file, "SentencePiece model type " + modelTypeName(m.modelType())
                    + " is not supported (only BPE, which LLaMA models use)");
        if (m.hasPrecompiledCharsmap())
            throw new TokenizerException(file, "SentencePiece normalizer '" + m.normalizerName()
                    + "' uses a precompiled character map, which is not supported (only identity normalization)");
        List<Piece> pieces = m.pieces();
        Map<String, Integer> mergeable = new HashMap<>(pieces.size() * 2);
        Map<String, Integer> reserved = new HashMap<>();
        Map<String, Integer> specials = new HashMap<>();
        TokenTable table = new TokenTable(pieces.size(),
                m.removeExtraWhitespaces() ? TokenTable.LeadingSpace.STRIP_WHILE_EMPTY
                        : m.addDummyPrefix() ? TokenTable.LeadingSpace.STRIP_FIRST : TokenTable.LeadingSpace.KEEP,
                true);
        int unk = -1;
        boolean[] bytesSeen = new boolean[256];
        for (int i = 0; i < pieces.size(); i++) {
            Piece p = pieces.get(i);
            boolean normal = p.type() == NORMAL || p.type() == USER_DEFINED || p.type() == UNUSED;
            if ((normal ? mergeable : reserved).putIfAbsent(p.text(), i) != null)
                throw new TokenizerException(file, "corrupt SentencePiece model: piece '" + p.text() + "' is defined twice");
            switch (p.type()) {
                case CONTROL -> {
                    table.setControl(i);
                    specials.put(p.text(), i);
                }
                case UNKNOWN -> {
                    if (unk >= 0) throw new TokenizerException(file, "corrupt SentencePiece model: two unknown pieces");
                    unk = i;
                    table.setText(i, m.unkSurface(), true);
                }
                case BYTE -> {
                    int b = byteOf(p.text());
                    if (b < 0) throw new TokenizerException(file, "corrupt SentencePiece model: invalid byte piece '" + p.text() + "'");
                    bytesSeen[b] = true;
                    table.setRaw(i, new byte[] {(byte) b});
                }
                default -> table.setText(i, p.text().replace(SPACE_SYMBOL, ' '), false);
            }
        }
        if (unk < 0) throw new TokenizerException(file, "corrupt SentencePiece model: no unknown piece");
        if (m.byteFallback()) {
            for (int b = 0; b < 256; b++)
                if (!bytesSeen[b])
                    throw new TokenizerException(file, "corrupt SentencePiece model: byte_fallback is on but piece "
                            + String.format("<0x%02X>", b) + " is missing");
        }
        // As SentencePieceProcessor::bos_id(): the bos piece's id if it is a control piece, else none.
        int bos = controlId(reserved, m.bosPiece(), table), eos = controlId(reserved, m.eosPiece(), table);
        return new SentencePieceTokenizer(m, table, specials, bos, eos, mergeable, reserved, unk);
    }

    /** The model this tokenizer runs (for exporting the vocabulary into other formats). */
    SentencePieceModel model() {
        return model;
    }

    private static int controlId(Map<String, Integer> reserved, String piece, TokenTable table) {
        Integer id = reserved.get(piece);
        return id != null && table.isControl(id) ? id : -1;
    }

    @Override
    public int[] encode(String text) {
        String norm = normalize(text);
        IntList out = new IntList();
        if (norm.isEmpty()) return out.toArray();

        PairMerger merger = new PairMerger(norm.length());
        for (int i = 0; i < norm.length(); ) {
            int len = userDefinedPrefix(norm, i);
            boolean frozen = len > 0;
            if (!frozen) len = Character.charCount(norm.codePointAt(i));
            merger.add(mergeable.getOrDefault(norm.substring(i, i + len), -1), i, i + len, frozen);
            i += len;
        }
        // Merging into an UNUSED piece is allowed, but such a piece is split back into its halves afterwards.
        Map<String, String[]> unusedSplits = new HashMap<>();
        merger.run((leftId, rightId, start, mid, end) -> {
            String merged = norm.substring(start, end);
            Integer id = mergeable.get(merged);
            if (id == null) return PairMerger.NONE;
            if (types[id] == UNUSED) unusedSplits.put(merged, new String[] {norm.substring(start, mid), norm.substring(mid, end)});
            return PairMerger.merge(PairMerger.priorityOfScore(scores[id]), id);
        });

        Emitter emitter = new Emitter(unusedSplits);
        for (int s = merger.first(); s >= 0; s = merger.next(s)) emitter.emit(norm.substring(merger.start(s), merger.end(s)));
        return emitter.out.toArray();
    }

    /**
     * The normalized text splits into final symbols, each a mergeable piece (merges only make those), a
     * user-defined piece or a single code point. With byte fallback each symbol becomes at least one token
     * (an unknown one its UTF-8 bytes), so the tokens are at least the normalized length over the longest
     * symbol. Without it a run of unknown characters becomes one {@code <unk>}, and length says nothing.
     */
    @Override
    public int minTokens(String text) {
        if (!model.byteFallback()) return 0;
        long chars = normalizedLength(text);
        return (int) Math.min(Integer.MAX_VALUE, (chars + longestSymbol - 1) / longestSymbol);
    }

    /** Turns final symbols into ids, as sentencepiece's resegmentation and PopulateSentencePieceText do. */
    private final class Emitter {
        final IntList out = new IntList();
        final Map<String, String[]> unusedSplits;
        boolean previousUnknown;

        Emitter(Map<String, String[]> unusedSplits) {
            this.unusedSplits = unusedSplits;
        }

        void emit(String piece) {
            Integer found = reserved.get(piece);
            if (found == null) found = mergeable.get(piece);
            int id = found == null ? unkId : found;
            String[] halves = id != unkId && types[id] == UNUSED ? unusedSplits.get(piece) : null;
            if (halves != null) { // an UNUSED piece goes back to the two symbols it was merged from
                emit(halves[0]);
                emit(halves[1]);
                return;
            }
            boolean unknown = id == unkId;
            if (unknown && model.byteFallback()) {
                for (byte b : piece.getBytes(StandardCharsets.UTF_8)) out.add(byteIds[b & 0xFF]);
            } else if (!(unknown && previousUnknown)) { // a run of unknown pieces is reported as one <unk>
                out.add(id);
            }
            previousUnknown = unknown;
        }
    }

    /** Length of the longest user-defined piece starting at {@code i}, or 0. */
    private int userDefinedPrefix(String s, int i) {
        for (int len = Math.min(longestUserDefined, s.length() - i); len > 0; len--)
            if (userDefined.contains(s.substring(i, i + len))) return len;
        return 0;
    }

    /** sentencepiece's Normalizer::Normalize with an identity character map. */
    String normalize(String input) {
        StringBuilder sb = new StringBuilder(input.length() + 2);
        normalize(input, sb::append);
        return sb.toString();
    }

    /** The length of {@link #normalize}'s result, counted without building it (the text may be megabytes). */
    long normalizedLength(String input) {
        long[] n = {0};
        normalize(input, c -> n[0]++);
        return n[0];
    }

    private interface CharSink {
        void put(char c);
    }

    /**
     * Normalizes into {@code sink}. With remove_extra_whitespaces, trailing space symbols go: they are held
     * back until a non-space follows, so that the text is streamed rather than trimmed afterwards.
     */
    private void normalize(String input, CharSink sink) {
        boolean removeExtra = model.removeExtraWhitespaces();
        char space = model.escapeWhitespaces() ? SPACE_SYMBOL : ' ';
        int i = 0, n = input.length();
        if (removeExtra) while (i < n && input.charAt(i) == ' ') i++;
        if (i == n) return;
        int[] heldSpaces = {0};
        CharSink out = !removeExtra ? sink : c -> {
            if (c == space) {
                heldSpaces[0]++;
                return;
            }
            for (; heldSpaces[0] > 0; heldSpaces[0]--) sink.put(space);
            sink.put(c);
        };
        boolean suffix = model.treatWhitespaceAsSuffix();
        if (!suffix && model.addDummyPrefix()) out.put(space);
        boolean prevSpace = removeExtra;
        while (i < n) {
            int len = userDefinedPrefix(input, i);
            if (len == 0) len = Character.charCount(input.codePointAt(i));
            if (len == 1 && input.charAt(i) == ' ') {
                if (!prevSpace) out.put(space);
                prevSpace = removeExtra;
            } else {
                for (int k = i; k < i + len; k++) out.put(input.charAt(k) == ' ' ? space : input.charAt(k));
                prevSpace = removeExtra && input.charAt(i + len - 1) == ' ';
            }
            i += len;
        }
        if (suffix && model.addDummyPrefix()) sink.put(space); // after the trailing spaces went, as sentencepiece does
    }

    private static int byteOf(String piece) {
        if (piece.length() != 6 || !piece.startsWith("<0x") || piece.charAt(5) != '>') return -1;
        try {
            return Integer.parseInt(piece.substring(3, 5), 16);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static String modelTypeName(int t) {
        return switch (t) {
            case UNIGRAM -> "UNIGRAM";
            case BPE -> "BPE";
            case WORD -> "WORD";
            case CHAR -> "CHAR";
            default -> String.valueOf(t);
        };
    }
}

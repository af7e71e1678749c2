package dev.llamaadapter.tokenizer;

/**
 * What each token id contributes to decoded text, the one description that {@link StreamDecoder},
 * {@code decode} and {@code piece} all work from, so that streaming and one-shot decoding cannot drift
 * apart. Each token is one of:
 * <ul>
 *   <li>{@link #CONTROL}: contributes nothing (BOS, EOS, chat markers, reserved tokens);</li>
 *   <li>{@link #RAW}: raw bytes that join a buffer and become characters once complete UTF-8
 *       (SentencePiece's {@code <0xNN>} byte pieces; every token of a byte-level BPE);</li>
 *   <li>{@link #TEXT}: a complete string (a SentencePiece piece with ▁ already turned into a space), whose
 *       leading space may be dropped at the start of the text, see {@link LeadingSpace};</li>
 *   <li>{@link #VERBATIM}: a complete string that is never trimmed (SentencePiece's unknown surface).</li>
 * </ul>
 */
final class TokenTable {

    static final byte CONTROL = 0, RAW = 1, TEXT = 2, VERBATIM = 3;

    /** How the space that an encoder put in front of the text (SentencePiece's dummy prefix) comes off again. */
    enum LeadingSpace {
        /** Byte-level BPE: text comes back exactly. */
        KEEP,
        /**
         * SentencePiece with add_dummy_prefix: the first TEXT token, when nothing was output before it, loses
         * one leading space; after that no token does (so " Hello" round-trips as "▁" "▁Hello").
         */
        STRIP_FIRST,
        /** SentencePiece with remove_extra_whitespaces: every TEXT token loses one leading space while the output is still empty. */
        STRIP_WHILE_EMPTY
    }

    private final byte[] kinds;
    private final String[] texts;
    private final byte[][] raws;
    final LeadingSpace leadingSpace;
    /**
     * True: each byte of an ill-formed sequence becomes one U+FFFD (SentencePiece). False: each maximal
     * ill-formed subpart becomes one U+FFFD (what Python's and Rust's lossy UTF-8 decoders do).
     */
    final boolean replacePerByte;

    TokenTable(int size, LeadingSpace leadingSpace, boolean replacePerByte) {
        this.kinds = new byte[size];
        this.texts = new String[size];
        this.raws = new byte[size][];
        this.leadingSpace = leadingSpace;
        this.replacePerByte = replacePerByte;
        java.util.Arrays.fill(kinds, CONTROL);
    }

    void setControl(int id) {
        kinds[id] = CONTROL;
        texts[id] = null;
        raws[id] = null;
    }

    void setRaw(int id, byte[] bytes) {
        kinds[id] = RAW;
        raws[id] = bytes;
        texts[id] = null;
    }

    void setText(int id, String text, boolean verbatim) {
        kinds[id] = verbatim ? VERBATIM : TEXT;
        texts[id] = text;
        raws[id] = null;
    }

    int size() {
        return kinds.length;
    }

    byte kind(int id) {
        check(id);
        return kinds[id];
    }

    String text(int id) {
        return texts[id];
    }

    byte[] raw(int id) {
        return raws[id];
    }

    boolean isControl(int id) {
        return id >= 0 && id < kinds.length && kinds[id] == CONTROL;
    }

    /** The token's text on its own: control tokens give "", bytes that are not whole characters are left out. */
    String piece(int id) {
        return switch (kind(id)) {
            case RAW -> Utf8.decodeDroppingInvalid(raws[id]);
            case TEXT, VERBATIM -> texts[id];
            default -> "";
        };
    }

    void check(int id) {
        if (id < 0 || id >= kinds.length)
            throw new IllegalArgumentException("token id " + id + " is outside the vocabulary [0, " + kinds.length + ")");
    }
}

package dev.llamaadapter.tokenizer;

/**
 * Turns token ids into text one token at a time, for printing generated text as it is produced. A
 * character split over several byte tokens (an emoji as four {@code <0xNN>} pieces, or a Chinese character
 * spread over two byte-level tokens) comes out whole, once its last byte has arrived; the leading space
 * that SentencePiece's dummy prefix added is dropped just as {@link Tokenizer#decode} drops it.
 * Concatenating every {@link #next} result and then {@link #finish()} gives exactly {@code decode(ids)}.
 * Not thread-safe: use one per sequence.
 */
public final class StreamDecoder {

    private final TokenTable table;
    private byte[] pending = new byte[16];
    private int pendingLen;
    /** Some text (TEXT or completed bytes) has been output: the leading-space rule no longer applies. */
    private boolean emitted;
    /** STRIP_FIRST: a leading space was already taken off, so no later token loses one. */
    private boolean leadingSpaceTaken;
    private final StringBuilder out = new StringBuilder();

    StreamDecoder(TokenTable table) {
        this.table = table;
    }

    /**
     * The text that token {@code id} completes: "" for control tokens, and for bytes that do not yet form a
     * whole character (they are kept and come out with a later token).
     *
     * @throws IllegalArgumentException if id is outside the vocabulary
     */
    public String next(int id) {
        out.setLength(0);
        switch (table.kind(id)) {
            case TokenTable.RAW -> {
                byte[] b = table.raw(id);
                if (pendingLen + b.length > pending.length)
                    pending = java.util.Arrays.copyOf(pending, Math.max(pending.length * 2, pendingLen + b.length));
                System.arraycopy(b, 0, pending, pendingLen, b.length);
                pendingLen += b.length;
                drain(false);
            }
            case TokenTable.TEXT -> {
                // As SentencePiece does, a text piece ends a run of byte pieces: incomplete bytes become U+FFFD.
                drain(true);
                appendText(table.text(id));
            }
            case TokenTable.VERBATIM -> {
                drain(true);
                out.append(table.text(id));
                emitted |= !table.text(id).isEmpty();
            }
            default -> { } // control tokens are invisible
        }
        return out.toString();
    }

    /** Ends the sequence: bytes still waiting for the rest of a character come out as U+FFFD. Resets this decoder. */
    public String finish() {
        out.setLength(0);
        drain(true);
        emitted = false;
        leadingSpaceTaken = false;
        return out.toString();
    }

    private void appendText(String text) {
        switch (table.leadingSpace) {
            case STRIP_FIRST -> {
                if (!emitted && !leadingSpaceTaken && text.startsWith(" ")) {
                    text = text.substring(1);
                    leadingSpaceTaken = true;
                }
            }
            case STRIP_WHILE_EMPTY -> {
                if (!emitted && text.startsWith(" ")) text = text.substring(1);
            }
            case KEEP -> { }
        }
        out.append(text);
        emitted |= !text.isEmpty();
    }

    /** Moves whole characters from the byte buffer to the output; with {@code flush}, incomplete ones too, as U+FFFD. */
    private void drain(boolean flush) {
        int i = 0;
        while (i < pendingLen) {
            int r = Utf8.scan(pending, i, pendingLen);
            if (r > 0) {
                Utf8.appendChar(out, pending, i, r);
                i += r;
            } else if (r == 0 && !flush) {
                break;
            } else {
                // Ill-formed, or cut short by the end of the run: one U+FFFD per byte or per maximal subpart.
                int subpart = r == 0 ? pendingLen - i : -r;
                out.append('\uFFFD');
                i += table.replacePerByte ? 1 : subpart;
            }
            emitted = true;
        }
        System.arraycopy(pending, i, pending, 0, pendingLen - i);
        pendingLen -= i;
    }
}

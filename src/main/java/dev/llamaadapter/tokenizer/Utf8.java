package dev.llamaadapter.tokenizer;

/** UTF-8 scanning for reassembling characters that tokens deliver a few bytes at a time. */
final class Utf8 {
    private Utf8() {}

    /**
     * Looks at the character starting at {@code b[off]} (with {@code off < end}). Returns its length when the
     * bytes up to {@code end} hold a complete, well-formed character; 0 when they are a valid but incomplete
     * start of one (more bytes may complete it); or {@code -k} when it is ill-formed, k being the length of
     * the maximal valid prefix (at least 1), which is what a lossy decoder replaces with one U+FFFD.
     * Well-formedness is the Unicode table (no overlongs, no surrogates, nothing above U+10FFFF).
     */
    static int scan(byte[] b, int off, int end) {
        int b0 = b[off] & 0xFF;
        if (b0 < 0x80) return 1;
        int trailing, lo = 0x80, hi = 0xBF; // allowed range of the second byte
        if (b0 >= 0xC2 && b0 <= 0xDF) trailing = 1;
        else if (b0 == 0xE0) { trailing = 2; lo = 0xA0; }
        else if (b0 == 0xED) { trailing = 2; hi = 0x9F; }
        else if (b0 >= 0xE1 && b0 <= 0xEF) trailing = 2;
        else if (b0 == 0xF0) { trailing = 3; lo = 0x90; }
        else if (b0 == 0xF4) { trailing = 3; hi = 0x8F; }
        else if (b0 >= 0xF1 && b0 <= 0xF3) trailing = 3;
        else return -1;
        for (int k = 1; k <= trailing; k++) {
            if (off + k >= end) return 0;
            int c = b[off + k] & 0xFF;
            boolean ok = k == 1 ? c >= lo && c <= hi : c >= 0x80 && c <= 0xBF;
            if (!ok) return -k;
        }
        return trailing + 1;
    }

    /** The well-formed characters of {@code b}, dropping ill-formed or incomplete bytes. */
    static String decodeDroppingInvalid(byte[] b) {
        StringBuilder sb = new StringBuilder(b.length);
        int i = 0;
        while (i < b.length) {
            int r = scan(b, i, b.length);
            if (r > 0) {
                appendChar(sb, b, i, r);
                i += r;
            } else {
                i += r == 0 ? b.length - i : -r;
            }
        }
        return sb.toString();
    }

    /** Appends one well-formed character of {@code len} bytes (as returned by {@link #scan}). */
    static void appendChar(StringBuilder sb, byte[] b, int off, int len) {
        int cp = switch (len) {
            case 1 -> b[off];
            case 2 -> (b[off] & 0x1F) << 6 | (b[off + 1] & 0x3F);
            case 3 -> (b[off] & 0x0F) << 12 | (b[off + 1] & 0x3F) << 6 | (b[off + 2] & 0x3F);
            default -> (b[off] & 0x07) << 18 | (b[off + 1] & 0x3F) << 12 | (b[off + 2] & 0x3F) << 6 | (b[off + 3] & 0x3F);
        };
        sb.appendCodePoint(cp);
    }
}

package dev.llamaadapter.tokenizer;

/** One test vector: an input text and its expected ids. (Top level: surefire's -Dtest='*Tokenizer*' would pick up a nested class as a test.) */
record VectorEntry(int index, String text, int[] ids) {

    String describe() {
        return "entry #" + index + " " + escape(text);
    }

    /** The text with line breaks and control characters made visible. */
    static String escape(String s) {
        StringBuilder sb = new StringBuilder("\"");
        s.codePoints().forEach(c -> {
            if (c == '\n') sb.append("\\n");
            else if (c == '\t') sb.append("\\t");
            else if (c == '\r') sb.append("\\r");
            else if (c < 0x20) sb.append(String.format("\\x%02x", c));
            else sb.appendCodePoint(c);
        });
        return sb.append('"').toString();
    }
}

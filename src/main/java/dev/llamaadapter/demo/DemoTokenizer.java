package dev.llamaadapter.demo;

import dev.llamaadapter.tokenizer.SpModelWriter;

import java.util.Set;

/**
 * The demo model's tokenizer, generated with the world: a SentencePiece BPE model (the Llama format, so
 * every command reads it like any Llama tokenizer.model) whose vocabulary is the world's words as whole
 * pieces, plus single characters and byte fallback so any text still encodes. BPE joins adjacent pieces
 * whose concatenation is in the vocabulary, so each word brings its chain of prefixes ("▁Z", "▁Zo", …,
 * "▁Zorvan"), scored by length so the longest wins.
 */
public final class DemoTokenizer {
    private DemoTokenizer() {}

    public static final String SPACE = "\u2581";

    /** The tokenizer.model bytes for these words. */
    public static byte[] build(Set<String> words) {
        SpModelWriter w = new SpModelWriter().byteFallback(true);
        w.piece("<unk>", 0, SpModelWriter.UNKNOWN);
        w.piece("<s>", 0, SpModelWriter.CONTROL);
        w.piece("</s>", 0, SpModelWriter.CONTROL);
        for (int b = 0; b < 256; b++) w.piece(String.format("<0x%02X>", b), 0, SpModelWriter.BYTE);
        java.util.Set<String> pieces = new java.util.LinkedHashSet<>();
        pieces.add(SPACE);
        for (char c = 0x21; c < 0x7f; c++) pieces.add(Character.toString(c));
        for (String word : words) {
            String s = SPACE + word;
            for (int i = 2; i <= s.length(); i++) pieces.add(s.substring(0, i));
            if (word.startsWith("#")) // "###" starts a template line, where no space precedes it
                for (int i = 2; i <= word.length(); i++) pieces.add(word.substring(0, i));
        }
        for (String p : pieces) w.piece(p, p.length() - 100f, SpModelWriter.NORMAL);
        return w.bytes();
    }
}

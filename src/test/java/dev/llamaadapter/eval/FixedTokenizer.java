package dev.llamaadapter.eval;

import dev.llamaadapter.tokenizer.StreamDecoder;
import dev.llamaadapter.tokenizer.Tokenizer;

/** One token per UTF-16 character, BOS 1: prompt lengths in tests are character counts plus one. */
final class FixedTokenizer implements Tokenizer {
    @Override public int vocabSize() { return 65536; }
    @Override public int bosId() { return 1; }
    @Override public int eosId() { return 2; }
    @Override public int eotId() { return 2; }
    @Override public int[] encode(String text) { return text.chars().toArray(); }
    @Override public String decode(int[] ids) { return new String(ids, 0, ids.length); }
    @Override public String piece(int id) { return Character.toString(id); }
    @Override public StreamDecoder newStreamDecoder() { throw new UnsupportedOperationException("prompts only"); }
    @Override public int specialTokenId(String text) { return -1; }
    @Override public boolean isSpecial(int id) { return id < 3; }
}

package dev.llamaadapter.tokenizer;

import java.util.Map;

/** What all implementations share: decoding through a {@link TokenTable}, and special-token lookup. */
abstract class AbstractTokenizer implements Tokenizer {

    final TokenTable table;
    /** Special/control tokens by text. */
    private final Map<String, Integer> specials;
    private final int bos, eos, eot;

    AbstractTokenizer(TokenTable table, Map<String, Integer> specials, int bos, int eos, int eot) {
        this.table = table;
        this.specials = Map.copyOf(specials);
        this.bos = bos;
        this.eos = eos;
        this.eot = eot;
    }

    @Override
    public int vocabSize() {
        return table.size();
    }

    @Override
    public int bosId() {
        return bos;
    }

    @Override
    public int eosId() {
        return eos;
    }

    @Override
    public int eotId() {
        return eot;
    }

    @Override
    public String decode(int[] ids) {
        StreamDecoder d = newStreamDecoder();
        StringBuilder sb = new StringBuilder(ids.length * 4);
        for (int id : ids) sb.append(d.next(id));
        return sb.append(d.finish()).toString();
    }

    @Override
    public String piece(int id) {
        return table.piece(id);
    }

    @Override
    public StreamDecoder newStreamDecoder() {
        return new StreamDecoder(table);
    }

    @Override
    public int specialTokenId(String text) {
        return specials.getOrDefault(text, -1);
    }

    @Override
    public boolean isSpecial(int id) {
        return table.isControl(id);
    }

    /** A growable int list for encoder output. */
    static final class IntList {
        private int[] a = new int[16];
        private int n;

        void add(int v) {
            if (n == a.length) a = java.util.Arrays.copyOf(a, n * 2);
            a[n++] = v;
        }

        int size() {
            return n;
        }

        int[] toArray() {
            return java.util.Arrays.copyOf(a, n);
        }
    }
}

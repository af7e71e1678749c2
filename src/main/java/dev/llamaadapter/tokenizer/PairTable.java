package dev.llamaadapter.tokenizer;

/**
 * An open-addressing hash map from a pair of token ids to a long, for BPE merge tables (Llama 3's
 * tokenizer.json has 280k merges; boxed {@code HashMap<Long, Long>} entries would cost several times more).
 */
final class PairTable {
    private static final long EMPTY = Long.MIN_VALUE;
    private long[] keys;
    private long[] values;
    private int size;

    PairTable(int expected) {
        int cap = Integer.highestOneBit(Math.max(16, expected * 2) - 1) << 1;
        keys = new long[cap];
        values = new long[cap];
        java.util.Arrays.fill(keys, EMPTY);
    }

    static long key(int left, int right) {
        return (long) left << 32 | (right & 0xFFFFFFFFL);
    }

    /** Stores the value for (left, right), replacing any earlier one. */
    void put(int left, int right, long value) {
        if (size * 2 >= keys.length) grow();
        long k = key(left, right);
        int i = slot(k);
        while (keys[i] != EMPTY && keys[i] != k) i = (i + 1) & (keys.length - 1);
        if (keys[i] == EMPTY) size++;
        keys[i] = k;
        values[i] = value;
    }

    /** The value for (left, right), or {@code missing}. */
    long get(int left, int right, long missing) {
        long k = key(left, right);
        int i = slot(k);
        while (keys[i] != EMPTY) {
            if (keys[i] == k) return values[i];
            i = (i + 1) & (keys.length - 1);
        }
        return missing;
    }

    private int slot(long k) {
        long h = k * 0x9E3779B97F4A7C15L;
        return (int) (h >>> 32) & (keys.length - 1);
    }

    private void grow() {
        long[] oldKeys = keys, oldValues = values;
        keys = new long[oldKeys.length * 2];
        values = new long[oldKeys.length * 2];
        java.util.Arrays.fill(keys, EMPTY);
        size = 0;
        for (int i = 0; i < oldKeys.length; i++)
            if (oldKeys[i] != EMPTY) put((int) (oldKeys[i] >> 32), (int) oldKeys[i], oldValues[i]);
    }
}

package dev.llamaadapter.tokenizer;

import java.util.Arrays;

/**
 * The merge loop shared by every BPE flavour here. Symbols sit in a doubly linked list; a binary heap holds
 * the candidate merges of adjacent symbols, best first. The best candidate is merged, the two new pairs it
 * forms with its neighbours are pushed, and candidates made stale by earlier merges are skipped when they
 * surface. That is O(n log n), where re-scanning all pairs after each merge would be O(n^2): it matters for
 * SentencePiece, which merges over a whole text with no pre-splitting.
 *
 * <p>Order: lower priority first; equal priorities go leftmost first (the left symbol's original index),
 * which is how SentencePiece, tiktoken and Hugging Face all break ties. A {@link Rule} decides which pairs
 * merge, into what, and at which priority.
 *
 * <p>Use: {@link #add} the initial symbols in order, {@link #run}, then walk {@link #first()} / {@link
 * #next(int)}. One instance per encode call (not thread-safe).
 */
final class PairMerger {

    /** Says whether two adjacent symbols merge. */
    interface Rule {
        /**
         * The merge of the left symbol (id {@code leftId}, covering [start, mid)) with the right one (id
         * {@code rightId}, covering [mid, end)): {@link #merge(int, int)} of its priority and the merged id,
         * or {@link #NONE}.
         */
        long lookup(int leftId, int rightId, int start, int mid, int end);
    }

    static final long NONE = -1L;

    /** Packs a merge result; {@code mergedId} must be non-negative. */
    static long merge(int priority, int mergedId) {
        return (long) priority << 32 | mergedId;
    }

    /** Maps a float score (higher merges first, as SentencePiece's) onto an int priority (lower first), keeping order. */
    static int priorityOfScore(float score) {
        int bits = Float.floatToIntBits(score);
        int ordered = bits >= 0 ? bits : bits ^ 0x7FFFFFFF; // float order as signed int order
        return ~ordered;                                     // reversed, without overflow
    }

    // Symbols. A merged-away symbol has id DEAD.
    private static final int DEAD = Integer.MIN_VALUE;
    private int n;
    private int[] id, start, end, prev, next;
    private boolean[] frozen;

    // Candidate entries (append-only) and a heap of entry numbers ordered by key = priority << 32 | left.
    private int entries;
    private long[] key;
    private int[] right, leftIdAt, rightIdAt, mergedId;
    private int heapSize;
    private int[] heap;

    PairMerger(int capacity) {
        capacity = Math.max(capacity, 4);
        id = new int[capacity];
        start = new int[capacity];
        end = new int[capacity];
        prev = new int[capacity];
        next = new int[capacity];
        frozen = new boolean[capacity];
        key = new long[capacity];
        right = new int[capacity];
        leftIdAt = new int[capacity];
        rightIdAt = new int[capacity];
        mergedId = new int[capacity];
        heap = new int[capacity];
    }

    /** Appends a symbol covering [from, to). Frozen symbols never merge (SentencePiece's user-defined pieces). */
    void add(int symbolId, int from, int to, boolean isFrozen) {
        if (n == id.length) {
            int c = n * 2;
            id = Arrays.copyOf(id, c);
            start = Arrays.copyOf(start, c);
            end = Arrays.copyOf(end, c);
            prev = Arrays.copyOf(prev, c);
            next = Arrays.copyOf(next, c);
            frozen = Arrays.copyOf(frozen, c);
        }
        id[n] = symbolId;
        start[n] = from;
        end[n] = to;
        prev[n] = n - 1;
        next[n] = -1;
        frozen[n] = isFrozen;
        if (n > 0) next[n - 1] = n;
        n++;
    }

    void run(Rule rule) {
        for (int i = 0; i + 1 < n; i++) offer(rule, i, i + 1);
        while (heapSize > 0) {
            int e = pop();
            int l = (int) key[e], r = right[e];
            // Stale: either side was merged away or grew since this candidate was made.
            if (id[l] != leftIdAt[e] || next[l] != r || id[r] != rightIdAt[e]) continue;
            id[l] = mergedId[e];
            end[l] = end[r];
            next[l] = next[r];
            if (next[r] >= 0) prev[next[r]] = l;
            id[r] = DEAD;
            if (prev[l] >= 0) offer(rule, prev[l], l);
            if (next[l] >= 0) offer(rule, l, next[l]);
        }
    }

    int first() {
        return n == 0 ? -1 : 0; // symbol 0 is never merged away: merges keep the left symbol
    }

    int next(int symbol) {
        return next[symbol];
    }

    int id(int symbol) {
        return id[symbol];
    }

    int start(int symbol) {
        return start[symbol];
    }

    int end(int symbol) {
        return end[symbol];
    }

    private void offer(Rule rule, int l, int r) {
        if (frozen[l] || frozen[r]) return;
        long m = rule.lookup(id[l], id[r], start[l], start[r], end[r]);
        if (m == NONE) return;
        if (entries == key.length) {
            int c = entries * 2;
            key = Arrays.copyOf(key, c);
            right = Arrays.copyOf(right, c);
            leftIdAt = Arrays.copyOf(leftIdAt, c);
            rightIdAt = Arrays.copyOf(rightIdAt, c);
            mergedId = Arrays.copyOf(mergedId, c);
            heap = Arrays.copyOf(heap, c);
        }
        int e = entries++;
        key[e] = (m >> 32) << 32 | l;
        right[e] = r;
        leftIdAt[e] = id[l];
        rightIdAt[e] = id[r];
        mergedId[e] = (int) m;
        push(e);
    }

    private void push(int e) {
        int i = heapSize++;
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (key[heap[parent]] <= key[e]) break;
            heap[i] = heap[parent];
            i = parent;
        }
        heap[i] = e;
    }

    private int pop() {
        int top = heap[0];
        int last = heap[--heapSize];
        int i = 0;
        while (true) {
            int c = 2 * i + 1;
            if (c >= heapSize) break;
            if (c + 1 < heapSize && key[heap[c + 1]] < key[heap[c]]) c++;
            if (key[last] <= key[heap[c]]) break;
            heap[i] = heap[c];
            i = c;
        }
        heap[i] = last;
        return top;
    }
}

package dev.llamaadapter.tensor;

/**
 * Per-thread scratch arrays that kernels reuse from call to call, so the hot paths allocate nothing
 * (the pool's threads live as long as the JVM). Safe because a kernel's chunk body never waits on
 * another chunk: a thread runs one body at a time, start to end. Contents are stale on entry; every
 * user writes what it reads.
 */
final class Scratch {
    private Scratch() {}

    static final int PANEL = 0, STAGE = 1, EDGE = 2, ROWS = 3, PROBS = 4, HEAD = 5, PROMPT = 6;
    private static final ThreadLocal<float[][]> SLOTS = ThreadLocal.withInitial(() -> new float[7][]);

    /** A float[] of at least n elements for this thread's slot. */
    static float[] floats(int slot, int n) {
        float[][] s = SLOTS.get();
        float[] a = s[slot];
        if (a == null || a.length < n) s[slot] = a = new float[n];
        return a;
    }
}

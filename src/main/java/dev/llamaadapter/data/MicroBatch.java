package dev.llamaadapter.data;

/**
 * A padded [B, T] batch of examples, right-padded: padding sits after each sequence, so causal
 * attention never lets a real token see it, and its labels are −100.
 */
public record MicroBatch(int B, int T, int[] ids, int[] labels, int tokens, int scored) {

    public static MicroBatch of(java.util.List<Example> examples, int padId) {
        int B = examples.size(), T = 0;
        for (Example e : examples) T = Math.max(T, e.length());
        int[] ids = new int[B * T], labels = new int[B * T];
        java.util.Arrays.fill(ids, padId);
        java.util.Arrays.fill(labels, -100);
        int tokens = 0, scored = 0;
        for (int b = 0; b < B; b++) {
            Example e = examples.get(b);
            System.arraycopy(e.ids(), 0, ids, b * T, e.length());
            System.arraycopy(e.labels(), 0, labels, b * T, e.length());
            tokens += e.length();
            scored += e.scored();
        }
        return new MicroBatch(B, T, ids, labels, tokens, scored);
    }
}

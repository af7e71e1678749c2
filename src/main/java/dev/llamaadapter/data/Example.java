package dev.llamaadapter.data;

/**
 * One tokenized training example: ids = BOS + prompt + output + EOS (cut at max length), labels[t] the
 * target of position t (ids[t+1] where it is scored, −100 elsewhere), as the step batch wants them.
 *
 * @param truncated whether the example was cut at the length limit
 * @param where     the record's origin, for messages
 */
public record Example(int[] ids, int[] labels, boolean truncated, String where) {
    public int length() {
        return ids.length;
    }

    /** Positions whose target is scored. */
    public int scored() {
        int n = 0;
        for (int l : labels) if (l != -100) n++;
        return n;
    }
}

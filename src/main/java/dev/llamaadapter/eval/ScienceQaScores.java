package dev.llamaadapter.eval;

import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;

/**
 * Accuracy by the paper's categories: every problem counts in AVG and in each category that contains it.
 * A prediction of -1 (no answer found) is wrong.
 */
public final class ScienceQaScores {
    private final EnumMap<Category, int[]> tally = new EnumMap<>(Category.class); // category → {correct, count}

    public ScienceQaScores() {
        for (Category c : Category.values()) tally.put(c, new int[2]);
    }

    public void add(Problem p, int predicted) {
        boolean right = predicted == p.answer();
        for (Category c : Category.values()) {
            if (!c.contains(p)) continue;
            int[] t = tally.get(c);
            if (right) t[0]++;
            t[1]++;
        }
    }

    public int correct(Category c) {
        return tally.get(c)[0];
    }

    public int count(Category c) {
        return tally.get(c)[1];
    }

    /** Percent correct, or NaN for a category with no problems. */
    public double accuracy(Category c) {
        int[] t = tally.get(c);
        return t[1] == 0 ? Double.NaN : 100.0 * t[0] / t[1];
    }

    /** Accuracy by column title ("Average", "NAT", ... "G7-12"), two decimals as the paper prints; null = no problems. */
    public Map<String, Double> byTitle() {
        Map<String, Double> m = new java.util.LinkedHashMap<>();
        for (Category c : Category.values()) m.put(c.title, count(c) == 0 ? null : Math.round(accuracy(c) * 100) / 100.0);
        return m;
    }

    /** The paper's table in Markdown: accuracy (%) and correct/count for each column; "-" for an empty column. */
    public String markdown() {
        StringBuilder head = new StringBuilder("|"), rule = new StringBuilder("|"), acc = new StringBuilder("|"), n = new StringBuilder("|");
        head.append(" |");
        rule.append("---|");
        acc.append(" accuracy (%) |");
        n.append(" correct / count |");
        for (Category c : Category.values()) {
            head.append(' ').append(c.title).append(" |");
            rule.append("---:|");
            acc.append(' ').append(count(c) == 0 ? "-" : String.format(Locale.ROOT, "%.2f", accuracy(c))).append(" |");
            n.append(' ').append(correct(c)).append('/').append(count(c)).append(" |");
        }
        return head + "\n" + rule + "\n" + acc + "\n" + n + "\n";
    }
}

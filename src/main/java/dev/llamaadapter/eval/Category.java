package dev.llamaadapter.eval;

/**
 * The columns of the paper's ScienceQA table, counted as the benchmark's own evaluation script does:
 * by subject (NAT, SOC, LAN), by context (TXT: a text hint, IMG: an image, NO: neither; a problem with
 * both counts in TXT and IMG) and by grade (G1-6, G7-12); AVG is over every problem.
 */
public enum Category {
    AVG("Average"), NAT("NAT"), SOC("SOC"), LAN("LAN"), TXT("TXT"), IMG("IMG"), NO("NO"), G1_6("G1-6"), G7_12("G7-12");

    /** The column title, as the paper prints it. */
    public final String title;

    Category(String title) {
        this.title = title;
    }

    public boolean contains(Problem p) {
        return switch (this) {
            case AVG -> true;
            case NAT -> p.subject().equals("natural science");
            case SOC -> p.subject().equals("social science");
            case LAN -> p.subject().equals("language science");
            case TXT -> p.hasText();
            case IMG -> p.hasImage();
            case NO -> !p.hasText() && !p.hasImage();
            case G1_6 -> p.gradeNumber() >= 1 && p.gradeNumber() <= 6;
            case G7_12 -> p.gradeNumber() >= 7 && p.gradeNumber() <= 12;
        };
    }
}

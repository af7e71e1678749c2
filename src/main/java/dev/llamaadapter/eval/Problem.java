package dev.llamaadapter.eval;

import java.util.List;

/**
 * One ScienceQA problem, with the official fields that the prompt and the accuracy table need.
 * answer indexes choices; hint is the text context ("" = none); image is the file name of its picture
 * (null = none); grade is "grade1".."grade12"; subject is "natural science", "social science" or
 * "language science"; caption is the image caption from captions.json ("" = none).
 */
public record Problem(String pid, String question, List<String> choices, int answer, String hint, String image,
                      String grade, String subject, String split, String caption) {

    public Problem {
        choices = List.copyOf(choices);
        hint = hint == null ? "" : hint;
        grade = grade == null ? "" : grade;
        subject = subject == null ? "" : subject;
        caption = caption == null ? "" : caption;
        if (image != null && image.isEmpty()) image = null;
    }

    /** The official TXT category: the problem has a text context. */
    public boolean hasText() {
        return !hint.isEmpty();
    }

    /** The official IMG category: the problem has an image (whether or not this run looks at it). */
    public boolean hasImage() {
        return image != null;
    }

    /** The grade as a number, or 0 when the grade field is missing or not "gradeN". */
    public int gradeNumber() {
        if (!grade.startsWith("grade")) return 0;
        try {
            return Integer.parseInt(grade.substring(5));
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    public Problem withCaption(String c) {
        return new Problem(pid, question, choices, answer, hint, image, grade, subject, split, c);
    }
}

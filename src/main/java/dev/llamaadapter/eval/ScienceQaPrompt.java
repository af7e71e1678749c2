package dev.llamaadapter.eval;

import dev.llamaadapter.data.Instruction;

import java.nio.file.Path;
import java.util.List;

/**
 * The paper's ScienceQA prompt as an instruction record: the question is the instruction; the context
 * and the lettered options are the input; the response is "The answer is (A)." The fields follow the
 * benchmark's own QCM prompt: "Context: {hint} {caption}" ("N/A" when both are empty) and "Options: (A)
 * first (B) second". Wrapped in the Alpaca template like every other record, so train and eval share it.
 */
public final class ScienceQaPrompt {
    private ScienceQaPrompt() {}

    /** The option letter of a choice index: 0 → 'A'. */
    public static char letter(int index) {
        return (char) ('A' + index);
    }

    /** The text context: the hint, then the caption when the run uses captions. */
    public static String context(Problem p) {
        String c = (p.hint() + " " + p.caption()).strip();
        return c.isEmpty() ? "N/A" : c;
    }

    public static String options(List<String> choices) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < choices.size(); i++) {
            if (i > 0) sb.append(' ');
            sb.append('(').append(letter(i)).append(") ").append(choices.get(i));
        }
        return sb.toString();
    }

    /** The target response for a choice index. */
    public static String answer(int index) {
        return "The answer is (" + letter(index) + ").";
    }

    /** The whole record; image is the problem's picture for a multimodal adapter, or null. */
    public static Instruction instruction(Problem p, Path image, String where) {
        return instruction(p, image, where, Integer.MAX_VALUE);
    }

    /**
     * The record with the context cut to its first contextChars characters (marked "..."): a long
     * passage is the part of a prompt that can give way when the prompt must fit a context window.
     */
    public static Instruction instruction(Problem p, Path image, String where, int contextChars) {
        String context = context(p);
        if (context.length() > contextChars) context = context.substring(0, Math.max(0, contextChars)).stripTrailing() + "...";
        String input = "Context: " + context + "\nOptions: " + options(p.choices());
        return new Instruction(p.question(), input, answer(p.answer()), where, image);
    }
}

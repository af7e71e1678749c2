package dev.llamaadapter.data;

/** The two official Alpaca prompt templates (spec §3), chosen by whether the record has an input. */
public final class PromptTemplate {
    private PromptTemplate() {}

    static final String WITH_INPUT = "Below is an instruction that describes a task, paired with an input that provides further context. "
            + "Write a response that appropriately completes the request.\n\n### Instruction:\n%s\n\n### Input:\n%s\n\n### Response:";
    static final String NO_INPUT = "Below is an instruction that describes a task. "
            + "Write a response that appropriately completes the request.\n\n### Instruction:\n%s\n\n### Response:";

    /** The prompt text for an instruction and optional input (empty = none). */
    public static String prompt(String instruction, String input) {
        return input == null || input.isEmpty() ? NO_INPUT.formatted(instruction) : WITH_INPUT.formatted(instruction, input);
    }

    public static String prompt(Instruction r) {
        return prompt(r.instruction(), r.input());
    }
}

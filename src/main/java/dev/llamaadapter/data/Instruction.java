package dev.llamaadapter.data;

/**
 * One Alpaca-style record {instruction, input, output}; input may be empty. where names its origin
 * ("file:line") for messages. image: the picture a multimodal record is about (null: none).
 */
public record Instruction(String instruction, String input, String output, String where, java.nio.file.Path image) {
    public Instruction {
        input = input == null ? "" : input;
    }

    /** A text-only record. */
    public Instruction(String instruction, String input, String output, String where) {
        this(instruction, input, output, where, null);
    }

    public boolean hasInput() {
        return !input.isEmpty();
    }
}

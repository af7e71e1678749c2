package dev.llamaadapter.data;

/**
 * One Alpaca-style record {instruction, input, output}; input may be empty. where names its origin
 * ("file:line") for messages.
 */
public record Instruction(String instruction, String input, String output, String where) {
    public Instruction {
        input = input == null ? "" : input;
    }

    public boolean hasInput() {
        return !input.isEmpty();
    }
}

package dev.llamaadapter.data;

import java.nio.file.Path;

/**
 * One Alpaca-style record {instruction, input, output}; input may be empty. where names its origin
 * ("file:line") for messages. image is the picture a multimodal adapter conditions on, or null for a
 * text-only record (text-only training and generation ignore it).
 */
public record Instruction(String instruction, String input, String output, String where, Path image) {
    public Instruction {
        input = input == null ? "" : input;
    }

    public Instruction(String instruction, String input, String output, String where) {
        this(instruction, input, output, where, null);
    }

    public boolean hasInput() {
        return !input.isEmpty();
    }
}

package dev.llamaadapter.eval;

import dev.llamaadapter.data.Instruction;
import dev.llamaadapter.data.InstructionFile;
import dev.llamaadapter.data.InstructionReader;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * ScienceQA as training data: the problems of one split, each as the paper's prompt with "The answer
 * is (X)." as its response, so train takes problems.json directly.
 */
public final class ScienceQaInstructions {
    private ScienceQaInstructions() {}

    /** A reader of problems.json that keeps the problems of split; the other files may be null. */
    public static InstructionReader reader(String split, Path pidSplits, Path captions, Path imageRoot) {
        return file -> {
            ScienceQaData data = ScienceQaData.read(file, pidSplits, captions, imageRoot);
            List<Problem> problems;
            try {
                problems = data.split(split);
            } catch (IllegalArgumentException e) {
                throw new java.io.IOException(e.getMessage(), e);
            }
            if (problems.isEmpty()) throw new java.io.IOException(file + ": split '" + split + "' has no problems");
            return new InstructionFile.Contents(records(data, problems), List.of());
        };
    }

    public static List<Instruction> records(ScienceQaData data, List<Problem> problems) {
        List<Instruction> out = new ArrayList<>(problems.size());
        for (Problem p : problems) out.add(ScienceQaPrompt.instruction(p, data.imagePath(p), data.file() + ": problem " + p.pid()));
        return out;
    }
}

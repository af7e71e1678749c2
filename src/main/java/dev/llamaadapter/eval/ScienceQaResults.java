package dev.llamaadapter.eval;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llamaadapter.io.AtomicFile;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * The predictions file in the benchmark's own results layout (as its run scripts write and its
 * evaluate_acc.py reads): {"acc", "correct", "count", "args", "results": {pid: predicted choice index},
 * "outputs": {pid: generated text}}. An unparseable answer is written as index -1, which that script
 * scores as wrong, as we do. Added keys: "scores" (the table, by column title) and "unparsed" (pids).
 */
public final class ScienceQaResults {
    private ScienceQaResults() {}

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    public static ObjectNode toJson(ScienceQaEval.Report r, Map<String, String> args) {
        ScienceQaScores s = r.scores();
        ObjectNode root = JSON.createObjectNode();
        root.put("acc", s.count(Category.AVG) == 0 ? 0 : s.accuracy(Category.AVG));
        root.put("correct", s.correct(Category.AVG));
        root.put("count", s.count(Category.AVG));
        ObjectNode a = root.putObject("args");
        args.forEach(a::put);
        ObjectNode scores = root.putObject("scores");
        s.byTitle().forEach(scores::put);
        var unparsed = root.putArray("unparsed");
        r.unparsed().forEach(unparsed::add);
        ObjectNode results = root.putObject("results"), outputs = root.putObject("outputs");
        for (ScienceQaEval.Prediction p : r.predictions()) {
            results.put(p.problem().pid(), p.answer().index());
            outputs.put(p.problem().pid(), p.output());
        }
        return root;
    }

    /** Writes the file atomically: a reader never sees half of it. */
    public static void write(Path file, ScienceQaEval.Report r, Map<String, String> args) throws IOException {
        AtomicFile.write(file, JSON.writeValueAsBytes(toJson(r, args)));
    }
}

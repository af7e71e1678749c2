package dev.llamaadapter.eval;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Answer extraction and the category accounting against hand-made predictions for the hand-written
 * fixture (src/test/resources/scienceqa): the expected table was counted by hand from the fixture.
 */
class ScienceQaScoresTest {
    static final Path DIR = Path.of("src/test/resources/scienceqa");

    /** What a model "wrote" for each test problem, and whether that is right (see the fixture's answers). */
    static final Map<String, String> OUTPUTS = Map.of(
            "1", "The answer is (A).",          // fox: right                  NAT IMG G1-6
            "2", "The answer is (C).",          // air: wrong                  NAT TXT G7-12
            "3", "(C) because it is east",      // Maine: right                SOC NO  G1-6
            "4", "B.",                          // Denver: wrong               SOC TXT IMG G7-12
            "5", "My pick: cat.",               // the option's text: right    LAN NO  G1-6
            "6", "Dear friend, once upon a time"); // nothing: unparsed, wrong LAN TXT G7-12

    /** Hands back canned text, one problem per step, as a generator would (in any order). */
    static final class Canned implements Completer {
        final List<Runnable> queue = new ArrayList<>();

        @Override
        public void submit(Problem problem, int[] prompt, Path image, Consumer<String> done) {
            queue.add(() -> done.accept(OUTPUTS.get(problem.pid())));
        }

        @Override
        public boolean step() {
            if (!queue.isEmpty()) queue.removeLast().run();
            return !queue.isEmpty();
        }
    }

    static ScienceQaData fixture() throws Exception {
        return ScienceQaData.read(DIR.resolve("problems.json"), DIR.resolve("pid_splits.json"), null, null);
    }

    static ScienceQaEval.Report run() throws Exception {
        ScienceQaData d = fixture();
        List<ScienceQaEval.Prompted> prompts = new ArrayList<>();
        for (Problem p : d.split("test")) prompts.add(new ScienceQaEval.Prompted(p, new int[] {1}, null, false));
        List<Integer> progress = new ArrayList<>();
        var r = ScienceQaEval.run(prompts, new Canned(), 4, progress::add);
        assertThat(progress).containsExactly(1, 2, 3, 4, 5, 6);
        return r;
    }

    @Test
    void theTableMatchesTheHandCount() throws Exception {
        ScienceQaScores s = run().scores();
        int[][] expected = { // {correct, count} per column: Average NAT SOC LAN TXT IMG NO G1-6 G7-12
                {3, 6}, {1, 2}, {1, 2}, {1, 2}, {0, 3}, {1, 2}, {2, 2}, {3, 3}, {0, 3}};
        for (Category c : Category.values()) {
            assertThat(new int[] {s.correct(c), s.count(c)}).as(c.title).containsExactly(expected[c.ordinal()]);
        }
        assertThat(s.byTitle()).containsEntry("Average", 50.0).containsEntry("TXT", 0.0).containsEntry("NO", 100.0).containsEntry("G7-12", 0.0);
        assertThat(s.markdown()).isEqualTo("""
                | | Average | NAT | SOC | LAN | TXT | IMG | NO | G1-6 | G7-12 |
                |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|
                | accuracy (%) | 50.00 | 50.00 | 50.00 | 50.00 | 0.00 | 50.00 | 100.00 | 100.00 | 0.00 |
                | correct / count | 3/6 | 1/2 | 1/2 | 1/2 | 0/3 | 1/2 | 2/2 | 3/3 | 0/3 |
                """);
    }

    @Test
    void extractionFeedsThePredictionsAndUnparsedAnswersAreFlagged() throws Exception {
        var r = run();
        assertThat(r.predictions()).extracting(p -> p.answer().index()).containsExactly(0, 2, 2, 1, 0, -1);
        assertThat(r.predictions()).extracting(p -> p.answer().method()).containsExactly(AnswerExtractor.Method.PATTERN,
                AnswerExtractor.Method.PATTERN, AnswerExtractor.Method.PARENTHESISED, AnswerExtractor.Method.LETTER,
                AnswerExtractor.Method.OPTION_TEXT, AnswerExtractor.Method.NONE);
        assertThat(r.unparsed()).containsExactly("6");
        // the same scores from the predicted indices alone, as the benchmark's script would count them
        var again = ScienceQaEval.score(fixture().split("test"), Map.of("1", 0, "2", 2, "3", 2, "4", 1, "5", 0));
        assertThat(again.markdown()).isEqualTo(r.scores().markdown());
    }

    @Test
    void theResultsFileHasTheBenchmarksLayout(@TempDir Path tmp) throws Exception {
        Path out = tmp.resolve("predictions.json");
        ScienceQaResults.write(out, run(), Map.of("split", "test"));
        JsonNode n = new ObjectMapper().readTree(out.toFile());
        assertThat(n.get("acc").asDouble()).isEqualTo(50.0);
        assertThat(n.get("correct").asInt()).isEqualTo(3);
        assertThat(n.get("count").asInt()).isEqualTo(6);
        assertThat(n.get("results").toString()).isEqualTo("{\"1\":0,\"2\":2,\"3\":2,\"4\":1,\"5\":0,\"6\":-1}");
        assertThat(n.get("outputs").get("3").asText()).isEqualTo("(C) because it is east");
        assertThat(n.get("scores").get("G1-6").asDouble()).isEqualTo(100.0);
        assertThat(n.get("unparsed").toString()).isEqualTo("[\"6\"]");
        assertThat(n.get("args").get("split").asText()).isEqualTo("test");
    }
}

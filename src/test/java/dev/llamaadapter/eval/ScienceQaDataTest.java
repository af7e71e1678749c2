package dev.llamaadapter.eval;

import dev.llamaadapter.data.PromptTemplate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Reading the official files, the paper's prompt, image paths, and errors that name the file and the pid. */
class ScienceQaDataTest {
    static final Path DIR = Path.of("src/test/resources/scienceqa");
    static final Path PROBLEMS = DIR.resolve("problems.json"), SPLITS = DIR.resolve("pid_splits.json"), CAPTIONS = DIR.resolve("captions.json");

    @TempDir
    Path tmp;

    Path write(String name, String text) throws Exception {
        Path f = tmp.resolve(name);
        Files.writeString(f, text);
        return f;
    }

    @Test
    void splitsComeFromThePidFileOrFromEachProblem() throws Exception {
        var withFile = ScienceQaData.read(PROBLEMS, SPLITS, null, null);
        assertThat(withFile.splitNames()).containsExactly("train", "test", "minitest");
        assertThat(withFile.split("minitest")).extracting(Problem::pid).containsExactly("2", "5");
        var fromFields = ScienceQaData.read(PROBLEMS, null, null, null);
        assertThat(fromFields.splitNames()).containsExactly("test", "train");
        assertThat(fromFields.split("train")).extracting(Problem::pid).containsExactly("7", "8");
    }

    @Test
    void thePromptIsQuestionContextOptionsAndTheAnswerSentence() throws Exception {
        var d = ScienceQaData.read(PROBLEMS, SPLITS, CAPTIONS, null);
        var r = ScienceQaPrompt.instruction(d.problem("4"), null, "w");
        assertThat(r.instruction()).isEqualTo("What is the capital of the state shown?");
        assertThat(r.input()).isEqualTo("Context: Look at the map. A map of Massachusetts.\nOptions: (A) Boston (B) Denver");
        assertThat(r.output()).isEqualTo("The answer is (A).");
        assertThat(PromptTemplate.prompt(r)).endsWith("### Instruction:\nWhat is the capital of the state shown?\n\n### Input:\n"
                + "Context: Look at the map. A map of Massachusetts.\nOptions: (A) Boston (B) Denver\n\n### Response:");
        // no hint and no caption: the benchmark's "N/A"
        assertThat(ScienceQaPrompt.instruction(d.problem("3"), null, "w").input())
                .isEqualTo("Context: N/A\nOptions: (A) Ohio (B) Utah (C) Maine (D) Iowa");
        // a context cut to fit a window is marked
        assertThat(ScienceQaPrompt.instruction(d.problem("6"), null, "w", 4).input()).startsWith("Context: Dear...\nOptions:");
        // captions in a plain {pid: caption} file are read too
        Path plain = write("caps.json", "{\"1\": \"A fox.\"}");
        assertThat(ScienceQaPrompt.context(ScienceQaData.read(PROBLEMS, SPLITS, plain, null).problem("1"))).isEqualTo("A fox.");
    }

    @Test
    void trainingRecordsCarryTheAnswerAndTheImagePath() throws Exception {
        Path root = Files.createDirectories(tmp.resolve("images"));
        var reader = ScienceQaInstructions.reader("train", SPLITS, null, root);
        var c = reader.read(PROBLEMS);
        assertThat(c.records()).hasSize(2);
        assertThat(c.records().get(0).output()).isEqualTo("The answer is (A).");
        assertThat(c.records().get(0).image()).isNull();
        assertThat(c.records().get(1).image()).isEqualTo(root.resolve("train/8/image.png"));
        assertThat(c.records().get(1).where()).isEqualTo(PROBLEMS + ": problem 8");
    }

    @Test
    void imagesAreCheckedOnlyWhenTheRunUsesThem() throws Exception {
        Path root = Files.createDirectories(tmp.resolve("images"));
        var d = ScienceQaData.read(PROBLEMS, SPLITS, null, root);
        var tok = new FixedTokenizer();
        List<Problem> test = d.split("test");
        assertThat(ScienceQaEval.prompts(d, test, tok, 2048, 8, false)).allSatisfy(p -> assertThat(p.image()).isNull());
        Files.createDirectories(root.resolve("test/1"));
        Files.write(root.resolve("test/1/image.png"), new byte[] {1});
        assertThatThrownBy(() -> ScienceQaEval.prompts(d, test, tok, 2048, 8, true))
                .hasMessageContaining("problem 4").hasMessageContaining(root.resolve("test/4/image.png").toString()).hasMessageContaining("does not exist");
        // a multimodal completer is handed each image; one it cannot decode names the problem and the file
        Files.createDirectories(root.resolve("test/4"));
        Files.write(root.resolve("test/4/image.png"), new byte[] {1});
        var prompts = ScienceQaEval.prompts(d, test, tok, 2048, 8, true);
        assertThat(prompts).extracting(ScienceQaEval.Prompted::image).containsExactly(root.resolve("test/1/image.png"), null, null,
                root.resolve("test/4/image.png"), null, null);
        Completer undecodable = new Completer() {
            @Override
            public boolean usesImages() {
                return true;
            }

            @Override
            public void submit(Problem problem, int[] prompt, Path image, java.util.function.Consumer<String> done) throws java.io.IOException {
                if (image != null) throw new java.io.IOException("not a PNG, JPEG or BMP image");
                done.accept("The answer is (A).");
            }

            @Override
            public boolean step() {
                return false;
            }
        };
        assertThatThrownBy(() -> ScienceQaEval.run(prompts, undecodable, 4, n -> {}))
                .hasMessage("problem 1: image " + root.resolve("test/1/image.png") + ": not a PNG, JPEG or BMP image");
        var noRoot = ScienceQaData.read(PROBLEMS, SPLITS, null, null);
        assertThatThrownBy(() -> ScienceQaEval.prompts(noRoot, test, tok, 2048, 8, true)).hasMessageContaining("problem 1").hasMessageContaining("--image-root");
    }

    @Test
    void aLongContextIsShortenedToFitTheWindow() throws Exception {
        var d = ScienceQaData.read(PROBLEMS, SPLITS, null, null);
        var tok = new FixedTokenizer(); // one token per character
        List<Problem> one = List.of(d.problem("6"));
        int full = ScienceQaEval.prompts(d, one, tok, 4096, 8, false).getFirst().ids().length;
        var cut = ScienceQaEval.prompts(d, one, tok, full + 8 - 10, 8, false).getFirst();
        assertThat(cut.contextCut()).isTrue();
        assertThat(cut.ids().length).isLessThanOrEqualTo(full - 10).isGreaterThan(full - 20);
        assertThatThrownBy(() -> ScienceQaEval.prompts(d, one, tok, 100, 8, false))
                .hasMessageContaining("problem 6").hasMessageContaining("even without its context");
    }

    @Test
    void badInputNamesTheFileAndTheProblem() throws Exception {
        Path broken = write("problems.json", "{\"1\": {\"question\": \"q\", \"choices\": [\"a\"] \"answer\": 0}}");
        assertThatThrownBy(() -> ScienceQaData.read(broken, null, null, null)).hasMessageContaining(broken + ":1:").hasMessageContaining("malformed JSON");
        Path noQuestion = write("p2.json", "{\"17\": {\"choices\": [\"a\", \"b\"], \"answer\": 0, \"split\": \"test\"}}");
        assertThatThrownBy(() -> ScienceQaData.read(noQuestion, null, null, null)).hasMessageContaining(noQuestion + ": problem 17: no 'question' field");
        Path badAnswer = write("p3.json", "{\"5\": {\"question\": \"q\", \"choices\": [\"a\", \"b\"], \"answer\": 2, \"split\": \"test\"}}");
        assertThatThrownBy(() -> ScienceQaData.read(badAnswer, null, null, null)).hasMessageContaining("problem 5: 'answer' 2 is not an index of its 2 choices");
        Path array = write("p4.json", "[1, 2]");
        assertThatThrownBy(() -> ScienceQaData.read(array, null, null, null)).hasMessageContaining(array + ": expected ScienceQA problems");
        assertThatThrownBy(() -> ScienceQaData.read(tmp.resolve("absent.json"), null, null, null)).hasMessageContaining("absent.json: no such problems file");
    }

    @Test
    void splitsThatDoNotFitTheProblemsAreRefused() throws Exception {
        var d = ScienceQaData.read(PROBLEMS, SPLITS, null, null);
        assertThatThrownBy(() -> d.split("validation")).hasMessageContaining("no split 'validation'").hasMessageContaining("train, test, minitest");
        Path extra = write("splits.json", "{\"test\": [\"1\", \"99\"]}");
        assertThatThrownBy(() -> ScienceQaData.read(PROBLEMS, extra, null, null))
                .hasMessageContaining(extra + ": pid 99 of split 'test' is not in " + PROBLEMS);
        Path noSplit = write("p.json", "{\"3\": {\"question\": \"q\", \"choices\": [\"a\", \"b\"], \"answer\": 1}}");
        assertThatThrownBy(() -> ScienceQaData.read(noSplit, null, null, null)).hasMessageContaining("problem 3 has no 'split' field")
                .hasMessageContaining("pid_splits.json");
        assertThatThrownBy(() -> ScienceQaInstructions.reader("dev", SPLITS, null, null).read(PROBLEMS)).hasMessageContaining("no split 'dev'");
    }
}

package dev.llamaadapter.eval;

import dev.llamaadapter.data.Instruction;
import dev.llamaadapter.data.PromptTemplate;
import dev.llamaadapter.tokenizer.Tokenizer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntConsumer;

/**
 * ScienceQA evaluation: each problem's prompt (the training prompt without its answer) is completed
 * greedily, the chosen option is read from the text, and the answers are scored by the paper's
 * categories. Prompts are all queued at once so the generator batches them.
 */
public final class ScienceQaEval {
    private ScienceQaEval() {}

    /** A problem ready to run: its prompt ids (BOS first), its picture (null unless used) and whether its context was cut. */
    public record Prompted(Problem problem, int[] ids, Path image, boolean contextCut) {}

    /** One answered problem: the generated text and the choice read from it. */
    public record Prediction(Problem problem, String output, AnswerExtractor.Answer answer) {
        public boolean correct() {
            return answer.index() == problem.answer();
        }
    }

    /** Everything a run produced. */
    public record Report(List<Prediction> predictions, ScienceQaScores scores, double seconds, int contextCut) {
        public double problemsPerSecond() {
            return seconds == 0 ? 0 : predictions.size() / seconds;
        }

        /** Problems whose answer could not be read (scored wrong). */
        public List<String> unparsed() {
            return predictions.stream().filter(p -> !p.answer().parsed()).map(p -> p.problem().pid()).toList();
        }
    }

    /** Scores hand-made or earlier predictions (choice index per problem, -1 = none) without generating. */
    public static ScienceQaScores score(List<Problem> problems, java.util.Map<String, Integer> predicted) {
        ScienceQaScores s = new ScienceQaScores();
        for (Problem p : problems) s.add(p, predicted.getOrDefault(p.pid(), -1));
        return s;
    }

    /**
     * Builds the prompts. Each must leave maxTokens of room in a context of contextLength positions; a
     * longer one has its text context shortened until it fits (counted in contextCut). With images, every
     * image a problem names must exist under the data's image folder.
     */
    public static List<Prompted> prompts(ScienceQaData data, List<Problem> problems, Tokenizer tok, int contextLength,
                                         int maxTokens, boolean images) throws IOException {
        int room = contextLength - Math.max(1, maxTokens);
        if (room < 2) throw new IllegalArgumentException("--context " + contextLength + " leaves no room for a prompt and --max-tokens " + maxTokens);
        List<Prompted> out = new ArrayList<>(problems.size());
        for (Problem p : problems) {
            Path image = images ? checkedImage(data, p) : null;
            String where = data.file() + ": problem " + p.pid();
            int[] ids = ids(tok, ScienceQaPrompt.instruction(p, image, where));
            boolean cut = false;
            if (ids.length > room) {
                cut = true;
                int lo = 0, hi = ScienceQaPrompt.context(p).length() - 1; // the longest context that fits lies in [lo, hi]
                int[] best = ids(tok, ScienceQaPrompt.instruction(p, image, where, 0));
                if (best.length > room)
                    throw new IllegalArgumentException(where + ": the prompt has " + best.length + " tokens even without its context, more than --context "
                            + contextLength + " minus --max-tokens " + maxTokens + " allows");
                while (lo < hi) {
                    int mid = (lo + hi + 1) >>> 1;
                    int[] t = ids(tok, ScienceQaPrompt.instruction(p, image, where, mid));
                    if (t.length <= room) {
                        lo = mid;
                        best = t;
                    } else hi = mid - 1;
                }
                ids = best;
            }
            out.add(new Prompted(p, ids, image, cut));
        }
        return out;
    }

    /** BOS + the Alpaca-wrapped prompt, as the generator takes it and as training saw it. */
    static int[] ids(Tokenizer tok, Instruction r) {
        int[] body = tok.encode(PromptTemplate.prompt(r));
        int[] ids = new int[body.length + 1];
        ids[0] = tok.bosId() >= 0 ? tok.bosId() : 1;
        System.arraycopy(body, 0, ids, 1, body.length);
        return ids;
    }

    private static Path checkedImage(ScienceQaData data, Problem p) throws IOException {
        if (!p.hasImage()) return null;
        Path image = data.imagePath(p);
        if (image == null) throw new IOException(data.file() + ": problem " + p.pid() + " has an image (" + p.image() + ") but no image folder was given (--image-root)");
        if (!Files.isRegularFile(image)) throw new IOException("problem " + p.pid() + ": image " + image + " does not exist");
        return image;
    }

    /**
     * Runs every prompt through the completer, keeping at most window of them queued or running (a
     * multimodal completer prepares per-image prompts at submit time, so they must not all exist at once);
     * progress receives the number of problems answered so far.
     */
    public static Report run(List<Prompted> prompts, Completer completer, int window, IntConsumer progress) throws IOException {
        if (window < 1) throw new IllegalArgumentException("window must be at least 1, got " + window);
        String[] outputs = new String[prompts.size()];
        int[] answered = {0};
        long t0 = System.nanoTime();
        int next = 0;
        while (true) {
            for (; next < prompts.size() && next - answered[0] < window; next++) {
                Prompted q = prompts.get(next);
                int at = next;
                try {
                    completer.submit(q.problem(), q.ids(), q.image(), text -> {
                        outputs[at] = text;
                        progress.accept(++answered[0]);
                    });
                } catch (IOException | RuntimeException e) {
                    if (q.image() == null) throw e;
                    throw new IOException("problem " + q.problem().pid() + ": image " + q.image() + ": " + e.getMessage(), e);
                }
            }
            // each step decodes one token for every running problem and admits waiting ones
            if (!completer.step()) {
                if (next == prompts.size()) break;
                if (next - answered[0] >= window)
                    throw new IllegalStateException("the completer went idle with " + (next - answered[0]) + " problems unanswered");
            }
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        ScienceQaScores scores = new ScienceQaScores();
        List<Prediction> predictions = new ArrayList<>(prompts.size());
        int cut = 0;
        for (int i = 0; i < prompts.size(); i++) {
            Prompted q = prompts.get(i);
            if (outputs[i] == null) throw new IllegalStateException("problem " + q.problem().pid() + " was never completed");
            var answer = AnswerExtractor.extract(outputs[i], q.problem().choices());
            predictions.add(new Prediction(q.problem(), outputs[i], answer));
            scores.add(q.problem(), answer.index());
            if (q.contextCut()) cut++;
        }
        return new Report(predictions, scores, seconds, cut);
    }
}

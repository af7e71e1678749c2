package dev.llamaadapter.eval;

import java.io.IOException;
import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * Greedy completion of many prompts at once, the one thing an evaluation needs from the engine. The
 * text-only form runs the generator with an adapter (or none); a multimodal form conditions each
 * problem's prompts on its picture, and says so with {@link #usesImages()} so the evaluation resolves and
 * checks every image before it starts.
 */
public interface Completer {

    /** Whether submit() is given the problems' images (a multimodal adapter); text-only runs ignore them. */
    default boolean usesImages() {
        return false;
    }

    /**
     * Queues prompt (token ids, BOS first) for greedy completion; done receives the generated text. image
     * is the problem's picture when usesImages() and the problem has one, else null.
     *
     * @throws IOException when the image cannot be read or decoded
     */
    void submit(Problem problem, int[] prompt, Path image, Consumer<String> done) throws IOException;

    /** Runs one batched step over the queued prompts; false when nothing is left. */
    boolean step();
}

package dev.llamaadapter.eval;

import dev.llamaadapter.generate.Generator;
import dev.llamaadapter.generate.SamplingParams;
import dev.llamaadapter.vision.VisualPrompts;

import java.io.IOException;
import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * Multimodal completion (spec §5): each problem's prompt is answered through the adapter prepared for its
 * picture (its visual token added to every prompt row), problems without one through the text-only
 * prompts; greedy decoding batched by the generator like the text-only form.
 */
public final class ImageCompleter implements Completer {
    private final Generator generator;
    private final VisualPrompts prompts;
    private final SamplingParams greedy;

    public ImageCompleter(Generator generator, VisualPrompts prompts, int maxTokens) {
        this.generator = generator;
        this.prompts = prompts;
        this.greedy = SamplingParams.greedy(maxTokens);
    }

    @Override
    public boolean usesImages() {
        return true;
    }

    @Override
    public void submit(Problem problem, int[] prompt, Path image, Consumer<String> done) throws IOException {
        generator.submit(prompt, prompts.prepare(image), greedy, new Generator.Sink() {
            @Override
            public void token(int id, String text) {}

            @Override
            public void done(Generator.Result r) {
                done.accept(r.text());
            }
        });
    }

    @Override
    public boolean step() {
        return generator.step();
    }
}

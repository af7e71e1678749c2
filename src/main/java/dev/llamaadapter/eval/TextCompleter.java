package dev.llamaadapter.eval;

import dev.llamaadapter.generate.Generator;
import dev.llamaadapter.generate.SamplingParams;
import dev.llamaadapter.model.PreparedPrompts;

import java.nio.file.Path;
import java.util.function.Consumer;

/** Text-only completion: greedy decoding through the generator's continuous batching, one adapter or none. */
public final class TextCompleter implements Completer {
    private final Generator generator;
    private final PreparedPrompts adapter; // null = the base model
    private final SamplingParams greedy;

    public TextCompleter(Generator generator, PreparedPrompts adapter, int maxTokens) {
        this.generator = generator;
        this.adapter = adapter;
        this.greedy = SamplingParams.greedy(maxTokens);
    }

    @Override
    public void submit(Problem problem, int[] prompt, Path image, Consumer<String> done) {
        generator.submit(prompt, adapter, greedy, new Generator.Sink() {
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

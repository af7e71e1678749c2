package dev.llamaadapter.vision;

import dev.llamaadapter.generate.Generator;
import dev.llamaadapter.generate.SamplingParams;
import dev.llamaadapter.model.AdaptionPrompts;
import dev.llamaadapter.model.PreparedPrompts;
import dev.llamaadapter.model.Transformer;
import dev.llamaadapter.tokenizer.Tokenizer;

import java.io.IOException;
import java.nio.file.Path;

/**
 * "Complete this prompt with this adapter and, optionally, this image": the multimodal adapter's inference
 * path in one place (evaluation, the generate command). An image becomes its visual token I_p (CLIP
 * features, cached per image, through visual_proj and visual_norm), which is folded into the prepared
 * prompt keys/values of that request; without an image the adapter's text-only prompts are used.
 * One sequence at a time, on the calling thread.
 */
public final class MultimodalCompleter {
    private final Transformer model;
    private final Tokenizer tokenizer;
    private final VisualPrompts visual;      // null without a vision tower
    private final PreparedPrompts textOnly;  // the adapter's prompts for requests without an image (null: the base model)
    private final Generator generator;

    /**
     * @param adapter a text-only or multimodal adapter, or null (the base model)
     * @param tower   the CLIP tower a multimodal adapter was trained with (null: none; then only requests
     *                without an image, which use the adapter's text-only prompts)
     * @param context KV cache positions: prompt plus generated tokens
     */
    public MultimodalCompleter(Transformer model, Tokenizer tokenizer, AdaptionPrompts adapter, ClipVision tower, int context) {
        if (tower != null && (adapter == null || adapter.visual == null))
            throw new IllegalArgumentException("a vision tower was given but the adapter has no visual projection: images would have no effect");
        this.model = model;
        this.tokenizer = tokenizer;
        this.visual = tower == null ? null : new VisualPrompts(model, adapter, tower, Path.of("adapter")); // without a tower: text-only requests only
        this.textOnly = adapter == null ? null : model.prepare(adapter);
        this.generator = new Generator(model, tokenizer, 1, context);
    }

    /** The visual token I_p [D] of an image (errors name the file). */
    public float[] visualToken(Path image) throws IOException {
        if (visual == null) throw new IllegalStateException("no vision tower: cannot read " + image);
        return visual.visualToken(image);
    }

    /** The adapter prepared for a request with this image (null: the text-only prompts). */
    public PreparedPrompts prompts(Path image) throws IOException {
        if (image == null) return textOnly;
        if (visual == null) throw new IllegalStateException("no vision tower: cannot read " + image);
        return visual.prepare(image);
    }

    /** Greedy completion of prompt text (BOS added) with an optional image, up to maxTokens or end-of-sequence. */
    public Generator.Result complete(String prompt, Path image, int maxTokens) throws IOException {
        if (tokenizer == null) throw new IllegalStateException("no tokenizer: use complete(int[], ...)");
        int[] body = tokenizer.encode(prompt);
        int[] ids = new int[body.length + 1];
        ids[0] = tokenizer.bosId() >= 0 ? tokenizer.bosId() : 1;
        System.arraycopy(body, 0, ids, 1, body.length);
        return complete(ids, image, SamplingParams.greedy(maxTokens), null);
    }

    /** Completion of prompt token ids with an optional image, any sampling, streamed to sink (may be null). */
    public Generator.Result complete(int[] promptIds, Path image, SamplingParams params, Generator.Sink sink) throws IOException {
        return generator.generate(promptIds, prompts(image), params, sink);
    }
}

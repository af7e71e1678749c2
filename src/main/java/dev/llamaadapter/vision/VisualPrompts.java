package dev.llamaadapter.vision;

import dev.llamaadapter.model.AdaptionPrompts;
import dev.llamaadapter.model.PreparedPrompts;
import dev.llamaadapter.model.Transformer;
import dev.llamaadapter.model.VisualProjection;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A multimodal adapter prepared per image: an image's CLIP features (cached per file) through visual_proj
 * and visual_norm give its token I_p, folded into the prompt keys/values of a request; a request without an
 * image gets the adapter's text-only prompts, prepared once. Thread-safe.
 */
public final class VisualPrompts {
    private final Transformer model;
    private final AdaptionPrompts adapter;
    private final ImageFeatures features;
    private final PreparedPrompts textOnly;

    /** adapter: a multimodal adapter that fits tower (checked; source names the adapter in messages). */
    public VisualPrompts(Transformer model, AdaptionPrompts adapter, ClipVision tower, Path source) {
        VisualAdapter.check(adapter, source, tower);
        if (tower == null) throw new IllegalArgumentException("a vision tower is needed");
        this.model = model;
        this.adapter = adapter;
        this.features = new ImageFeatures(tower, adapter.visual.visualLayers);
        this.textOnly = model.prepare(adapter);
    }

    /** The visual token I_p [D] of an image (errors name the file). */
    public float[] visualToken(Path image) throws IOException {
        VisualProjection v = adapter.visual;
        float[] token = new float[v.dim]; // [1, D]
        v.forward(features.of(image), null, 1, token, new VisualProjection.Saved(1, v.dim));
        return token;
    }

    /** The adapter prepared for a request with this image (null: the text-only prompts). */
    public PreparedPrompts prepare(Path image) throws IOException {
        return image == null ? textOnly : model.prepare(adapter, visualToken(image));
    }
}

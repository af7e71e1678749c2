package dev.llamaadapter.vision;

import dev.llamaadapter.model.AdaptionPrompts;
import dev.llamaadapter.model.VisualProjection;

import java.nio.file.Path;

/** Checks that tie a multimodal adapter to a vision tower, with messages that say which file to fix. */
public final class VisualAdapter {
    private VisualAdapter() {}

    /**
     * The adapter and the tower must come together: a multimodal adapter needs the tower (and its width
     * times the visual layers must be visual_proj's input), a text-only adapter takes none.
     */
    public static void check(AdaptionPrompts p, Path adapter, ClipVision vision) {
        VisualProjection v = p.visual;
        if (v == null && vision != null)
            throw new IllegalArgumentException(adapter + ": a text-only adapter (no visual_proj): it takes no vision tower (" + vision.dir() + ")");
        if (v == null) return;
        if (vision == null)
            throw new IllegalArgumentException(adapter + ": a multimodal adapter (visual_proj, visual_layers " + v.layersString()
                    + "): give its CLIP vision tower with --vision DIR");
        try {
            vision.checkLayers(v.visualLayers);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(adapter + ": " + e.getMessage(), e);
        }
        if (v.clipWidth() != vision.hiddenSize())
            throw new IllegalArgumentException(adapter + ": visual_proj takes " + v.visualLayers.length + " × " + v.clipWidth()
                    + " features but the vision tower " + vision.dir() + " is " + vision.hiddenSize() + " wide: another tower?");
    }
}

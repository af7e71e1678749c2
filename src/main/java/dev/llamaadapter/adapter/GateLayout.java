package dev.llamaadapter.adapter;

import dev.llamaadapter.io.SafeTensorsException;
import dev.llamaadapter.io.SafeTensorsWriter;
import dev.llamaadapter.model.AdaptionPrompts;
import dev.llamaadapter.model.GateSharing;
import dev.llamaadapter.tensor.DType;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * How the native file holds per-layer gates (train --gates per-layer, --peft). The tensors keep spec §6's
 * layout, {@code layers.{i}.attention.gate} F32 [1, H, 1, 1], with the layer's one value in every head, and
 * {@code __metadata__ gates} says "per-layer" ("per-head", or no key at all, is the paper's). So every reader
 * of the format, older ones of this project and the official code included, loads the same model, while a
 * reader that knows the key keeps the adapter per-layer (and a file whose heads differ is refused). The
 * step dump writes the gradient of the parameter that is trained: one value per layer, shape [1, 1, 1, 1].
 */
public final class GateLayout {
    private GateLayout() {}

    /** The metadata key: "per-head" or "per-layer". */
    public static final String GATES = "gates";

    /** The file's gate sharing from its metadata; per-head when the key is absent (every file before it). */
    static GateSharing sharing(Path file, Map<String, String> meta) throws SafeTensorsException {
        String v = meta.get(GATES);
        if (v == null) return GateSharing.PER_HEAD;
        try {
            return GateSharing.parse(v.trim());
        } catch (IllegalArgumentException e) {
            throw new SafeTensorsException(file, null, "__metadata__ " + e.getMessage());
        }
    }

    /** A per-layer adapter must hold one value per layer: the first layer whose heads differ is named. */
    static void checkShared(Path file, AdaptionPrompts p, int nLayers) throws SafeTensorsException {
        if (p.gates != GateSharing.PER_LAYER) return;
        int j = p.firstLayerWithUnequalHeads();
        if (j < 0) return;
        float[] g = java.util.Arrays.copyOfRange(p.gate, j * p.heads, (j + 1) * p.heads);
        throw new SafeTensorsException(file, AdapterFile.gateName(nLayers - p.adapterLayers + j), "holds different values per head "
                + java.util.Arrays.toString(g) + " but __metadata__ gates is per-layer: one gate per layer, the same in every head");
    }

    /**
     * The step dump's gradients, "grad." + the adapter file's names: as {@link AdapterFile#tensors} for per-head
     * gates; per layer, each layer's gate gradient is the sum over its heads (the one trained value), [1, 1, 1, 1].
     *
     * @param g the per-head gradient the engine's backward computed, with the adapter's gate sharing
     */
    public static Map<String, SafeTensorsWriter.Tensor> gradients(AdaptionPrompts g, int nLayers) {
        Map<String, SafeTensorsWriter.Tensor> out = new LinkedHashMap<>(AdapterFile.tensors(g, nLayers, "grad."));
        if (g.gates == GateSharing.PER_LAYER)
            for (int j = 0; j < g.adapterLayers; j++)
                out.put("grad." + AdapterFile.gateName(nLayers - g.adapterLayers + j),
                        SafeTensorsWriter.Tensor.of(DType.F32, new long[]{1, 1, 1, 1}, new float[]{g.headSum(j)}));
        return out;
    }
}

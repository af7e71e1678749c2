package dev.llamaadapter.model;

/**
 * How many trainable gates an adapted layer has (spec §2, §4): one per head (the paper's, and the official
 * code's [1, H, 1, 1]) or one per layer shared by its heads (PEFT's adaption_prompt, whose adaption_gate is
 * [1]). The engine always computes with a value per head; per layer, every head of a layer holds the same
 * value, and training makes that one value the parameter (see train.LayerGates).
 */
public enum GateSharing {
    PER_HEAD, PER_LAYER;

    /** The name used on the command line and in the native file's metadata ("gates"). */
    public String id() {
        return this == PER_HEAD ? "per-head" : "per-layer";
    }

    public static GateSharing parse(String s) {
        for (GateSharing g : values()) if (g.id().equals(s)) return g;
        throw new IllegalArgumentException("gates '" + s + "': expected per-head or per-layer");
    }
}

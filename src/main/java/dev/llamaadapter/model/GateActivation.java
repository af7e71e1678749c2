package dev.llamaadapter.model;

/**
 * How a raw gate value g becomes the weight γ of the prompt branch: tanh (official training) or identity
 * (official inference checkpoints, PEFT, lit-llama). Spec §2 and §4.
 */
public enum GateActivation {
    TANH, IDENTITY;

    public float apply(float g) {
        return this == TANH ? (float) Math.tanh(g) : g;
    }

    /** dγ/dg at g. */
    public float derivative(float g) {
        if (this == IDENTITY) return 1f;
        double t = Math.tanh(g);
        return (float) (1 - t * t);
    }

    /** The lower-case name used in files and on the command line. */
    public String id() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    public static GateActivation parse(String s) {
        for (GateActivation a : values()) if (a.id().equals(s)) return a;
        throw new IllegalArgumentException("gate_activation '" + s + "': expected tanh or identity");
    }
}

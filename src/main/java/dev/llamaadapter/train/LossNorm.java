package dev.llamaadapter.train;

/**
 * How one optimizer step's loss is normalised over its micro-batches.
 * <ul>
 * <li>{@link #TOKENS} (the default): the sum of the token losses over every scored token of the step's
 * global batch, divided by their count. Each scored token weighs the same whatever micro-batch it sits in,
 * so the micro-batch size (and the number of Spark partitions) changes float rounding only.</li>
 * <li>{@link #MICRO_MEAN}: the mean over micro-batches of each one's mean token loss, as the official
 * LLaMA-Adapter code accumulates (each micro-batch loss divided by the accumulation count). A token
 * weighs more in a micro-batch with few scored tokens, so the adapter depends on the micro-batch size;
 * kept to reproduce the paper's runs.</li>
 * </ul>
 * Both agree when a step is a single micro-batch.
 */
public enum LossNorm {
    TOKENS("tokens"), MICRO_MEAN("micro-mean");

    private final String id;

    LossNorm(String id) {
        this.id = id;
    }

    /** The name used on the command line, in run identities and in adapter-file metadata. */
    public String id() {
        return id;
    }

    public static LossNorm parse(String s) {
        for (LossNorm n : values()) if (n.id.equals(s)) return n;
        throw new IllegalArgumentException("--loss-norm '" + s + "': expected tokens or micro-mean");
    }
}

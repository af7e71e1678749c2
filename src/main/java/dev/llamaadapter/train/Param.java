package dev.llamaadapter.train;

/**
 * One trainable tensor: its values, its gradient buffer (same length) and whether weight decay
 * applies (timm's grouping, as the official recipe uses: tensors of rank ≥ 2 decay, vectors and
 * biases do not; the adapter's prompt [L·K, D] and gates [1, H, 1, 1] both decay). The gates decay by
 * name too, whatever their shape: per-layer gates (one per layer, PEFT's [1]) are the same parameter with
 * fewer values, and must not leave the decayed group because their shape has fewer axes.
 */
public record Param(String name, float[] value, float[] grad, long[] shape, boolean decay) {
    public Param {
        if (value.length != grad.length) throw new IllegalArgumentException(name + ": value and gradient sizes differ");
    }

    /** The official grouping rule for a tensor of this name and shape. */
    public static boolean decays(String name, long[] shape) {
        if (name.equals("gates")) return true;
        return shape.length >= 2 && !name.endsWith(".bias");
    }
}

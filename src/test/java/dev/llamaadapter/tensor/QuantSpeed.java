package dev.llamaadapter.tensor;

import java.lang.foreign.Arena;
import java.util.Random;

/**
 * Throughput of {@link Matmul} on the block-quantised types only (a main, not a test): decoding (M = 1) and a
 * short and a long batch (a format without a quantiser on random blocks), on a 2048 x 2048 weight. Run before and after a change to a block format's kernels
 * (the numbers in the commit message come from here):
 * <pre>
 * java --add-modules jdk.incubator.vector -cp target/classes:target/test-classes dev.llamaadapter.tensor.QuantSpeed [TYPE ...]
 * </pre>
 */
public final class QuantSpeed {
    private QuantSpeed() {}

    public static void main(String[] args) {
        Random r = new Random(7);
        float[] wv = MatmulSpeed.rand(r, 2048 * 2048); // [2048, 2048] weight values before quantising
        try (Arena arena = Arena.ofShared()) {
            for (String name : args.length > 0 ? args : new String[] {"Q8_0", "Q4_0", "Q4_K", "Q5_K", "Q6_K", "Q2_K", "Q3_K", "IQ4_XS", "IQ4_NL", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q4_0"}) {
                DType t = DType.valueOf(name);
                WeightMatrix w = t.format().canQuantize() ? WeightMatrix.of("w", t, wv, 2048, 2048, arena)
                        : BlockTwins.matrix("w", t, BlockTwins.randomBlocks(t, 2048, 2048, r), 2048, 2048, arena); // no quantiser: random blocks
                MatmulSpeed.bench(r, w, 1, 64, 510, 1);
            }
        }
    }
}

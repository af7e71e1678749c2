package dev.llamaadapter.model;

import dev.llamaadapter.tensor.DType;

import java.lang.foreign.Arena;
import java.util.Locale;

/**
 * Time of {@link BaseSketch#compute} (a main, not a test): one layer of a 7B-wide model in memory (the
 * sketch reads the same number of rows whatever the layer count), BF16 and Q4_0, five calls each.
 *
 * <pre>
 * ./build &amp;&amp; ./build -q test-compile
 * java --add-modules jdk.incubator.vector -cp target/llama-adapter.jar:target/test-classes dev.llamaadapter.model.BaseSketchSpeed
 * </pre>
 */
public final class BaseSketchSpeed {
    private BaseSketchSpeed() {}

    public static void main(String[] args) {
        LlamaConfig c = LlamaConfig.of(4096, 11008, 1, 32, 32, 32000, false);
        for (DType t : new DType[] {DType.BF16, DType.Q4_0}) {
            LlamaWeights w = LlamaWeights.random(c, t, 1, Arena.ofAuto()); // about 0.5 G parameters
            for (int i = 0; i < 5; i++) {
                long t0 = System.nanoTime();
                BaseSketch.compute(w, false);
                System.out.printf(Locale.ROOT, "D 4096, F 11008, V 32000, %s: %.1f ms%n", t, (System.nanoTime() - t0) / 1e6);
            }
        }
    }
}

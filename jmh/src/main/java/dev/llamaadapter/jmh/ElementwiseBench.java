package dev.llamaadapter.jmh;

import dev.llamaadapter.tensor.CrossEntropy;
import dev.llamaadapter.tensor.RmsNorm;
import dev.llamaadapter.tensor.Rope;
import dev.llamaadapter.tensor.SwiGlu;
import org.openjdk.jmh.annotations.*;

import java.util.Random;
import java.util.concurrent.TimeUnit;

import static dev.llamaadapter.jmh.Shapes.*;

/** The element-wise kernels of a step; memory bound, so GB/s (bytes read + written). */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class ElementwiseBench {
    float[] x, h, nw, rstd;  // [M, D], [M, D], [D], [M]
    float[] g, u, a;         // [M, F]
    float[] q;               // [M, H·hd]
    float[] logits, dlogits; // [M, V]
    int[] labels;            // [M]
    Rope rope;

    @Setup
    public void setup() {
        Random r = new Random(3);
        x = fill(r, EW_M * EW_D); h = new float[EW_M * EW_D]; nw = fill(r, EW_D); rstd = new float[EW_M];
        g = fill(r, EW_M * EW_F); u = fill(r, EW_M * EW_F); a = new float[EW_M * EW_F];
        q = fill(r, EW_M * EW_H * EW_HD);
        logits = fill(r, EW_M * EW_V); dlogits = new float[EW_M * EW_V];
        labels = new int[EW_M];
        for (int i = 0; i < EW_M; i++) labels[i] = r.nextInt(EW_V);
        rope = new Rope(EW_HD, 10000, EW_M);
    }

    static float[] fill(Random r, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
        return v;
    }

    @Benchmark
    public float[] rmsNorm() {
        RmsNorm.forward(x, nw, 1e-5f, EW_M, EW_D, h, rstd);
        return h;
    }

    @Benchmark
    public float[] swiGlu() {
        SwiGlu.forward(g, u, a, EW_M * EW_F);
        return a;
    }

    @Benchmark
    public float[] rope() {
        rope.apply(q, 1, EW_M, EW_H, 0, false);
        return q;
    }

    @Benchmark
    public float crossEntropy() {
        return CrossEntropy.forwardBackward(logits, labels, EW_M, EW_V, dlogits);
    }
}

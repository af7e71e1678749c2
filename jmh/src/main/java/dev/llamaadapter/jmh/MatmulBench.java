package dev.llamaadapter.jmh;

import dev.llamaadapter.tensor.DType;
import dev.llamaadapter.tensor.GemmBackend;
import dev.llamaadapter.tensor.Matmul;
import dev.llamaadapter.tensor.WeightMatrix;
import org.openjdk.jmh.annotations.*;

import java.lang.foreign.Arena;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static dev.llamaadapter.jmh.Shapes.*;

/** The three matrix products of a training step, on either backend: forward (xwT), input gradient (xw), weight gradient. */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class MatmulBench {
    @Param({"java", "onednn"})
    public String backend;
    @Param({"F32", "BF16"})
    public String dtype;

    Arena arena;
    WeightMatrix w;  // [N, K]
    float[] x;       // [M, K]
    float[] y;       // [M, N]
    float[] dx;      // [M, K]
    float[] dW;      // [N, K]

    @Setup
    public void setup() {
        // onednn on BF16 weights means the bf16 GEMM (activations rounded to bf16); the plain onednn backend leaves BF16 to Java
        GemmBackend.use(backend.equals("onednn") && dtype.equals("BF16") ? "onednn-bf16" : backend);
        arena = Arena.ofShared();
        Random r = new Random(1);
        float[] v = new float[MM_N * MM_K];
        for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian() * 0.02f;
        w = WeightMatrix.of("w", DType.valueOf(dtype), v, MM_N, MM_K, arena);
        x = new float[MM_M * MM_K];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        y = new float[MM_M * MM_N];
        dx = new float[MM_M * MM_K];
        dW = new float[MM_N * MM_K];
    }

    @TearDown
    public void tearDown() {
        arena.close();
        GemmBackend.use("java");
    }

    @Benchmark
    public float[] xwT() {
        Matmul.xwT(x, MM_M, w, y, false);
        return y;
    }

    @Benchmark
    public float[] xw() {
        Matmul.xw(y, MM_M, w, dx, false);
        return dx;
    }

    @Benchmark
    public float[] weightGrad() { // no weight in it: the dtype parameter does not change it
        Matmul.weightGrad(y, x, MM_M, MM_N, MM_K, dW);
        return dW;
    }
}

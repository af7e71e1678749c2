package dev.llamaadapter.jmh;

import dev.llamaadapter.tensor.DType;
import dev.llamaadapter.tensor.Matmul;
import dev.llamaadapter.tensor.WeightMatrix;
import org.openjdk.jmh.annotations.*;

import java.lang.foreign.Arena;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import static dev.llamaadapter.jmh.Shapes.*;

/** Decoding's product: one token through a weight far larger than the caches; memory bound, so GB/s of weights. */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class DecodeBench {
    @Param({"F32", "BF16", "Q8_0"})
    public String dtype;

    Arena arena;
    WeightMatrix[] ws; // 8 weights [N, K], cycled so that none stays in L3 between calls
    float[] x, y;      // [K], [N]
    int next;

    @Setup
    public void setup() {
        arena = Arena.ofShared();
        Random r = new Random(2);
        float[] v = new float[DEC_N * DEC_K];
        for (int i = 0; i < v.length; i++) v[i] = (float) r.nextGaussian() * 0.02f;
        ws = new WeightMatrix[8];
        for (int i = 0; i < ws.length; i++) ws[i] = WeightMatrix.of("w" + i, DType.valueOf(dtype), v, DEC_N, DEC_K, arena);
        x = new float[DEC_K];
        for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
        y = new float[DEC_N];
    }

    @TearDown
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    public float[] xwT() {
        Matmul.xwT(x, 1, ws[next++ & 7], y, false);
        return y;
    }
}

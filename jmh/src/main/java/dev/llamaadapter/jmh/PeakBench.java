package dev.llamaadapter.jmh;

import dev.llamaadapter.tensor.Parallel;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.openjdk.jmh.annotations.*;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;

import static dev.llamaadapter.jmh.Shapes.*;

/**
 * The machine's ceilings, measured by the same harness and the same thread pool as the kernels: an
 * FMA-bound loop (12 independent accumulators per thread, nothing loaded) and a parallel memory copy of
 * 256 MB (bytes read + written).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class PeakBench {
    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    Arena arena;
    MemorySegment src, dst; // [COPY_BYTES] each
    final float[] sink = new float[Parallel.THREADS];
    int iters = FMA_ITERS; // a field, not a constant: C2 compiled the constant-count loop about 2x slower

    @Setup
    public void setup() {
        arena = Arena.ofShared();
        src = arena.allocate(COPY_BYTES, 64);
        dst = arena.allocate(COPY_BYTES, 64);
        src.fill((byte) 1);
        dst.fill((byte) 2);
    }

    @TearDown
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    public float[] fma() {
        Parallel.forRange(Parallel.THREADS, Parallel.THREADS, (lo, hi) -> {
            for (int t = lo; t < hi; t++) sink[t] = fmaLoop(iters, 1f + t * 1e-7f);
        });
        return sink;
    }

    /** 12 chains of dependent FMAs, interleaved so the two FMA pipes always have independent work. */
    static float fmaLoop(int iters, float seed) {
        FloatVector m = FloatVector.broadcast(S, 0.999999f), c = FloatVector.broadcast(S, 1e-7f);
        FloatVector a0 = FloatVector.broadcast(S, seed), a1 = a0.add(1), a2 = a0.add(2), a3 = a0.add(3), a4 = a0.add(4), a5 = a0.add(5);
        FloatVector a6 = a0.add(6), a7 = a0.add(7), a8 = a0.add(8), a9 = a0.add(9), a10 = a0.add(10), a11 = a0.add(11);
        for (int i = 0; i < iters; i++) {
            a0 = a0.fma(m, c); a1 = a1.fma(m, c); a2 = a2.fma(m, c); a3 = a3.fma(m, c); a4 = a4.fma(m, c); a5 = a5.fma(m, c);
            a6 = a6.fma(m, c); a7 = a7.fma(m, c); a8 = a8.fma(m, c); a9 = a9.fma(m, c); a10 = a10.fma(m, c); a11 = a11.fma(m, c);
        }
        return (a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).add(a10).add(a11)).lane(0);
    }

    @Benchmark
    public MemorySegment copy() {
        int parts = 4 * Parallel.THREADS;
        long chunk = COPY_BYTES / parts;
        Parallel.forRange(parts, parts, (lo, hi) -> {
            for (int p = lo; p < hi; p++) MemorySegment.copy(src, p * chunk, dst, p * chunk, chunk);
        });
        return dst;
    }
}

package dev.llamaadapter.tensor;

import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.Random;

import jdk.incubator.vector.FloatVector;

/**
 * Throughput of {@link Matmul} (a main, not a test): GFLOP/s for a training batch (M = 510) and for
 * decoding (M = 1, also as GB/s of weights streamed), on LLaMA-sized shapes. With "sweep" it instead
 * times every form of each product for M = 1..64, which is how the small-M thresholds were chosen.
 *
 * <pre>
 * ./build -q test-compile
 * java --add-modules jdk.incubator.vector -cp target/classes:target/test-classes dev.llamaadapter.tensor.MatmulSpeed [sweep]
 * </pre>
 */
public final class MatmulSpeed {
    private MatmulSpeed() {}

    interface Op {
        void run();
    }

    /** Median seconds per call after warm-up, over as many calls as fit in about `budget` seconds (5 to 200). */
    static double time(Op op, double budget) {
        for (int i = 0; i < 3; i++) op.run();
        long t0 = System.nanoTime();
        op.run();
        double one = Math.max(1e-6, (System.nanoTime() - t0) * 1e-9);
        int reps = (int) Math.max(5, Math.min(200, budget / one));
        double[] ts = new double[reps];
        for (int i = 0; i < reps; i++) {
            long s = System.nanoTime();
            op.run();
            ts[i] = (System.nanoTime() - s) * 1e-9;
        }
        Arrays.sort(ts);
        return ts[reps / 2];
    }

    static float[] rand(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) (r.nextGaussian() * 0.02);
        return a;
    }

    /** Times xwT and xw of w for each M, printing one line per M. */
    static void bench(Random r, WeightMatrix w, int... ms) {
        int N = w.rows(), K = w.cols();
        for (int M : ms) {
            float[] x = rand(r, M * K), y = rand(r, M * N);
            double flop = 2.0 * M * N * K;
            double a = time(() -> Matmul.xwT(x, M, w, y, false), 1.0);
            double b = time(() -> Matmul.xw(y, M, w, x, false), 1.0);
            String bw = M > 1 ? "" : String.format("   weights %.1f / %.1f GB/s", w.data().byteSize() / a * 1e-9,
                    w.data().byteSize() / b * 1e-9);
            System.out.printf("%-5s M=%4d %5dx%-5d xwT %6.1f GFLOP/s (%7.3f ms)   xw %6.1f GFLOP/s (%7.3f ms)%s%n", w.dtype(), M,
                    N, K, flop / a * 1e-9, a * 1e3, flop / b * 1e-9, b * 1e3, bw);
        }
    }

    public static void main(String[] args) {
        boolean sweep = args.length > 0 && args[0].equals("sweep");
        Random r = new Random(7);
        System.out.printf("threads %d, vector %d floats%n", Parallel.THREADS, FloatVector.SPECIES_PREFERRED.length());
        try (Arena arena = Arena.ofShared()) {
            float[] wv = rand(r, 2048 * 2048);
            if (sweep) {
                sweep(r, arena, wv);
                return;
            }
            for (DType t : new DType[] {DType.F32, DType.BF16, DType.F16, DType.Q8_0, DType.Q4_0})
                bench(r, WeightMatrix.of("w", t, wv, 2048, 2048, arena), 510, 64, 1);
            bench(r, WeightMatrix.of("ffn", DType.BF16, rand(r, 5632 * 2048), 5632, 2048, arena), 510, 1);
            bench(r, WeightMatrix.of("ffnT", DType.BF16, rand(r, 5632 * 2048), 2048, 5632, arena), 510, 1);
            bench(r, WeightMatrix.of("head", DType.BF16, rand(r, 32000 * 2048), 32000, 2048, arena), 1);
            // Again after every dtype and path has run: code the JIT compiled while seeing several dtypes
            // must not be slower than code that only ever saw F32.
            bench(r, WeightMatrix.of("w", DType.F32, wv, 2048, 2048, arena), 510, 1);
        }
    }

    static void sweep(Random r, Arena arena, float[] wv) {
        for (DType t : new DType[] {DType.F32, DType.BF16, DType.F16}) {
            WeightMatrix w = WeightMatrix.of("w", t, wv, 2048, 2048, arena);
            for (int M : new int[] {1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 32, 48, 64}) {
                int m = M;
                float[] x = rand(r, M * 2048), y = rand(r, M * 2048);
                double flop = 2.0 * M * 2048 * 2048;
                double dot = time(() -> Matmul.xwTDot(x, m, w, y, false), 0.3);
                double tiles = time(() -> Matmul.xwTTiles(x, m, w, y, false), 0.3);
                double gT = time(() -> Matmul.gemm(x, m, w, true, y, false), 0.3);
                double axpy = time(() -> Matmul.xwAxpy(y, m, w, x, false), 0.3);
                double g = time(() -> Matmul.gemm(y, m, w, false, x, false), 0.3);
                System.out.printf("%-5s M=%2d  xwT: dot %6.1f tiles %6.1f gemm %6.1f   xw: axpy %6.1f gemm %6.1f  GFLOP/s%n", t, M,
                        flop / dot * 1e-9, flop / tiles * 1e-9, flop / gT * 1e-9, flop / axpy * 1e-9, flop / g * 1e-9);
            }
        }
    }
}

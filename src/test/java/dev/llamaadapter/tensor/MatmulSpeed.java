package dev.llamaadapter.tensor;

import java.lang.foreign.Arena;
import java.util.Random;

/**
 * Throughput of {@link Matmul} (not a test): prints GFLOP/s for a training batch (M = 510) and for
 * decoding (M = 1, also as GB/s of weight streamed), and with "sweep" the small-M crossover between
 * the streaming and the blocked forms.
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

    /** Median seconds per call after warm-up; calls are repeated to fill about `budget` seconds. */
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
        java.util.Arrays.sort(ts);
        return ts[reps / 2];
    }

    static float[] rand(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) r.nextGaussian();
        return a;
    }

    public static void main(String[] args) {
        boolean sweep = args.length > 0 && args[0].equals("sweep");
        Random r = new Random(7);
        System.out.printf("threads %d, vector %d floats%n", Parallel.THREADS, jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.length());
        try (Arena arena = Arena.ofShared()) {
            int N = 2048, K = 2048;
            float[] wv = rand(r, N * K);
            for (DType t : new DType[] {DType.F32, DType.BF16, DType.F16}) {
                WeightMatrix w = WeightMatrix.of("w", t, wv, N, K, arena);
                for (int M : new int[] {510, 64, 1}) {
                    float[] x = rand(r, M * K), y = new float[M * N];
                    double flop = 2.0 * M * N * K;
                    double a = time(() -> Matmul.xwT(x, M, w, y, false), 1.0);
                    double b = time(() -> Matmul.xw(y, M, w, x, false), 1.0);
                    System.out.printf("%-5s M=%4d %dx%d  xwT %7.1f GFLOP/s (%.3f ms)   xw %7.1f GFLOP/s (%.3f ms)%s%n", t, M, N, K,
                            flop / a * 1e-9, a * 1e3, flop / b * 1e-9, b * 1e3,
                            M == 1 ? String.format("   weights %.1f / %.1f GB/s", w.data().byteSize() / a * 1e-9,
                                    w.data().byteSize() / b * 1e-9) : "");
                }
            }
            for (int[] s : new int[][] {{5632, 2048}, {2048, 5632}, {32000, 2048}}) {
                WeightMatrix w = WeightMatrix.of("w", DType.BF16, rand(r, s[0] * s[1]), s[0], s[1], arena);
                for (int M : new int[] {510, 1}) {
                    if (M == 510 && s[0] == 32000) continue;
                    float[] x = rand(r, M * s[1]), y = new float[M * s[0]];
                    double flop = 2.0 * M * s[0] * s[1];
                    double a = time(() -> Matmul.xwT(x, M, w, y, false), 1.0);
                    double b = time(() -> Matmul.xw(y, M, w, x, false), 1.0);
                    System.out.printf("BF16  M=%4d %dx%d  xwT %7.1f GFLOP/s (%.3f ms)   xw %7.1f GFLOP/s (%.3f ms)%n", M, s[0], s[1],
                            flop / a * 1e-9, a * 1e3, flop / b * 1e-9, b * 1e3);
                }
            }
            if (sweep) {
                for (DType t : new DType[] {DType.F32, DType.BF16}) {
                    WeightMatrix w = WeightMatrix.of("w", t, wv, N, K, arena);
                    for (int M = 1; M <= 16; M++) {
                        int m = M;
                        float[] x = rand(r, M * K), y = new float[M * N];
                        double flop = 2.0 * M * N * K;
                        double dot = time(() -> Matmul.xwTDot(x, m, w, y, false), 0.3);
                        double gT = time(() -> Matmul.gemm(x, m, w, true, y, false), 0.3);
                        double axpy = time(() -> Matmul.xwAxpy(y, m, w, x, false), 0.3);
                        double g = time(() -> Matmul.gemm(y, m, w, false, x, false), 0.3);
                        System.out.printf("%-5s M=%2d  xwT dot %6.1f gemm %6.1f   xw axpy %6.1f gemm %6.1f  GFLOP/s%n", t, M,
                                flop / dot * 1e-9, flop / gT * 1e-9, flop / axpy * 1e-9, flop / g * 1e-9);
                    }
                }
            }
        }
    }
}

package dev.llamaadapter.tensor;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Decoding's products as they meet memory (a main, not a test): the seven projections of `layers`
 * tinyllama-shaped layers (far past the caches, as a decode step is) multiplied by M activation rows,
 * for M = 1, 2, 4, 8, 16: milliseconds per pass, weights GB/s and the cost relative to M = 1.
 *
 * <pre>
 * java --add-modules jdk.incubator.vector -cp target/classes:target/test-classes dev.llamaadapter.tensor.DecodeSpeed bf16 6
 * </pre>
 */
public final class DecodeSpeed {
    private DecodeSpeed() {}

    public static void main(String[] args) {
        DType t = DType.valueOf(args.length > 0 ? args[0].toUpperCase() : "BF16");
        int layers = args.length > 1 ? Integer.parseInt(args[1]) : 6;
        int D = 2048, F = 5632, KV = 256;
        Random r = new Random(3);
        try (Arena arena = Arena.ofShared()) {
            List<WeightMatrix> ws = new ArrayList<>();
            for (int l = 0; l < layers; l++) {
                ws.add(w(t, r, D, D, arena));
                ws.add(w(t, r, KV, D, arena));
                ws.add(w(t, r, KV, D, arena));
                ws.add(w(t, r, D, D, arena));
                ws.add(w(t, r, F, D, arena));
                ws.add(w(t, r, F, D, arena));
                ws.add(w(t, r, D, F, arena));
            }
            long bytes = ws.stream().mapToLong(w -> w.data().byteSize()).sum();
            float[] x = MatmulSpeed.rand(r, 32 * F), y = new float[32 * F];
            double base = 0;
            for (int M : new int[] {1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 1}) {
                int m = M;
                double st = MatmulSpeed.time(() -> { for (WeightMatrix w : ws) RowStream.xwT(x, m, w, y, false); }, 2.0);
                double ti = M == 1 ? st : MatmulSpeed.time(() -> { for (WeightMatrix w : ws) Matmul.xwTTiles(x, m, w, y, false); }, 2.0);
                if (M == 1 && base == 0) base = st;
                System.out.printf("%-5s M=%2d  stream %7.2f ms (%5.1f GB/s, x%.2f of M=1)   tiles %7.2f ms (x%.2f)%n", t, M, st * 1e3,
                        bytes / st * 1e-9, st / base, ti * 1e3, ti / base);
            }
        }
    }

    static WeightMatrix w(DType t, Random r, int rows, int cols, Arena arena) {
        return WeightMatrix.of("w", t, MatmulSpeed.rand(r, rows * cols), rows, cols, arena);
    }
}

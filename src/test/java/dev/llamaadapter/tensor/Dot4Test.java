package dev.llamaadapter.tensor;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The batched-decoding dot of every block format ({@link BlockFormat#dot4}: one weight row, four activation rows)
 * equals four single-row dots bit for bit (a fused dot4 decodes each block once but adds in the dot's order),
 * with rows repeated as RowStream repeats them; one sequence's paired dot ({@link BlockFormat#dot2}: two weight
 * rows side by side) equals two dots bit for bit; and RowStream's products for 1 to 9 rows equal the scalar
 * twin's within fp32 summation error, for every weight dtype.
 */
class Dot4Test {

    @Test
    void everyBlockFormatsDot4IsFourDots() {
        Random r = new Random(17);
        for (DType t : DType.values()) {
            if (!t.isQuantized()) continue;
            BlockFormat f = t.format();
            int K = 2 * f.blockElements(), rows = 3;
            try (Arena a = Arena.ofConfined()) {
                WeightMatrix m = BlockTwins.matrix("w", t, BlockTwins.randomBlocks(t, rows, K, r), rows, K, a);
                float[] x = new float[4 * K];
                for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
                long rowBytes = t.bytes(K);
                for (int[] offs : new int[][] {{0, K, 2 * K, 3 * K}, {0, K, K, K}, {2 * K, 2 * K, 2 * K, 2 * K}})
                    for (int n = 0; n < rows; n++) {
                        float[] out = new float[4];
                        f.dot4(x, offs, m.data(), n * rowBytes, K, out);
                        for (int i = 0; i < 4; i++)
                            assertThat(out[i]).as("%s row %d, activation row at %d", t, n, offs[i])
                                    .isEqualTo(f.dot(x, offs[i], m.data(), n * rowBytes, K));
                    }
            }
        }
    }

    @Test
    void everyBlockFormatsDot2IsTwoDots() {
        Random r = new Random(23);
        for (DType t : DType.values()) {
            if (!t.isQuantized()) continue;
            BlockFormat f = t.format();
            int K = 3 * f.blockElements(), rows = 5;
            try (Arena a = Arena.ofConfined()) {
                WeightMatrix m = BlockTwins.matrix("w", t, BlockTwins.randomBlocks(t, rows, K, r), rows, K, a);
                float[] x = new float[K];
                for (int i = 0; i < K; i++) x[i] = (float) r.nextGaussian();
                long rowBytes = t.bytes(K);
                float[] out = new float[2];
                for (int i = 0; i < rows; i++)
                    for (int j = 0; j < rows; j++) {
                        f.dot2(x, m.data(), i * rowBytes, j * rowBytes, K, out);
                        assertThat(out[0]).as("%s rows %d, %d: first", t, i, j).isEqualTo(f.dot(x, 0, m.data(), i * rowBytes, K));
                        assertThat(out[1]).as("%s rows %d, %d: second", t, i, j).isEqualTo(f.dot(x, 0, m.data(), j * rowBytes, K));
                    }
            }
        }
    }

    @Test
    void rowStreamProductsEqualTheTwinForEveryDtypeAndRowCount() {
        Random r = new Random(5);
        int N = 37, K = 512;
        for (DType t : DType.weightTypes()) {
            try (Arena a = Arena.ofShared()) {
                float[] w = new float[N * K];
                for (int i = 0; i < w.length; i++) w[i] = (float) r.nextGaussian();
                WeightMatrix m = t.isQuantized() ? BlockTwins.matrix("w", t, BlockTwins.randomBlocks(t, N, K, r), N, K, a) : WeightMatrix.of("w", t, w, N, K, a);
                float[] exact = m.toFloats(); // [N, K] the stored values
                for (int M = 1; M <= 9; M++) {
                    float[] x = new float[M * K], y = new float[M * N];
                    for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
                    RowStream.xwT(x, M, m, y, false);
                    for (int i = 0; i < M; i++)
                        for (int n = 0; n < N; n++) {
                            double s = 0, mag = 0;
                            for (int k = 0; k < K; k++) {
                                s += (double) x[i * K + k] * exact[n * K + k];
                                mag += Math.abs((double) x[i * K + k] * exact[n * K + k]);
                            }
                            assertThat((double) y[i * N + n]).as("%s M=%d (%d, %d)", t, M, i, n).isCloseTo(s, org.assertj.core.data.Offset.offset(1e-5 * mag + 1e-6));
                        }
                }
            }
        }
    }
}

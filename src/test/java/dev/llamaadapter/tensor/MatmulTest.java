package dev.llamaadapter.tensor;

import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Matmul's blocked and streaming paths against the double-precision triple loop, on ragged shapes. */
class MatmulTest {
    static final int[] MS = {1, 2, 3, 4, 5, 6, 7, 13, 64};
    static final int[][] SHAPES = { // [rows, cols] of w
            {1, 1}, {7, 13}, {13, 7}, {16, 16}, {31, 33}, {33, 31}, {100, 257}, {257, 100}, {300, 7}, {1, 300}, {32, 512}, {65, 300}};
    static final DType[] TYPES = {DType.F32, DType.BF16, DType.F16};

    static float[] rand(Random r, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float) r.nextGaussian();
        return a;
    }

    static double relErr(float[] got, double[] want) {
        double num = 0, den = 0;
        for (int i = 0; i < want.length; i++) {
            num += (got[i] - want[i]) * (got[i] - want[i]);
            den += want[i] * want[i];
        }
        return Math.sqrt(num / Math.max(den, 1e-300));
    }

    @Test
    void xwTMatchesScalar() {
        Random r = new Random(1);
        try (Arena arena = Arena.ofShared()) {
            for (DType t : TYPES)
                for (int[] s : SHAPES) {
                    WeightMatrix w = WeightMatrix.of("w" + s[0] + "x" + s[1], t, rand(r, s[0] * s[1]), s[0], s[1], arena);
                    for (int M : MS)
                        for (boolean acc : new boolean[] {false, true}) {
                            float[] x = rand(r, M * s[1]);
                            float[] y0 = rand(r, M * s[0] + 3); // longer than needed: the tail must stay untouched
                            float[] y = y0.clone();
                            Matmul.xwT(x, M, w, y, acc);
                            double[] want = ScalarMatmul.xwT(x, M, w, y0, acc);
                            assertThat(relErr(y, want)).as("%s %s M=%d acc=%s", t, w.name(), M, acc).isLessThan(1e-5);
                            assertThat(Arrays.copyOfRange(y, M * s[0], y.length)).isEqualTo(Arrays.copyOfRange(y0, M * s[0], y0.length));
                        }
                }
        }
    }

    @Test
    void xwMatchesScalar() {
        Random r = new Random(2);
        try (Arena arena = Arena.ofShared()) {
            for (DType t : TYPES)
                for (int[] s : SHAPES) {
                    WeightMatrix w = WeightMatrix.of("w" + s[0] + "x" + s[1], t, rand(r, s[0] * s[1]), s[0], s[1], arena);
                    for (int M : MS)
                        for (boolean acc : new boolean[] {false, true}) {
                            float[] dy = rand(r, M * s[0]);
                            float[] dx0 = rand(r, M * s[1] + 3);
                            float[] dx = dx0.clone();
                            Matmul.xw(dy, M, w, dx, acc);
                            double[] want = ScalarMatmul.xw(dy, M, w, dx0, acc);
                            assertThat(relErr(dx, want)).as("%s %s M=%d acc=%s", t, w.name(), M, acc).isLessThan(1e-5);
                            assertThat(Arrays.copyOfRange(dx, M * s[1], dx.length)).isEqualTo(Arrays.copyOfRange(dx0, M * s[1], dx0.length));
                        }
                }
        }
    }

    /** Each form directly (the public methods pick one by M), on ragged shapes, for every dtype. */
    @Test
    void everyFormMatchesScalar() {
        Random r = new Random(4);
        try (Arena arena = Arena.ofShared()) {
            for (DType t : TYPES)
                for (int[] s : new int[][] {{7, 13}, {33, 31}, {100, 257}, {257, 100}, {300, 7}, {1, 40}})
                    for (int M : new int[] {1, 2, 3, 5, 7, 13})
                        for (boolean acc : new boolean[] {false, true}) {
                            WeightMatrix w = WeightMatrix.of("w" + s[0] + "x" + s[1], t, rand(r, s[0] * s[1]), s[0], s[1], arena);
                            float[] x = rand(r, M * s[1]), y0 = rand(r, M * s[0]);
                            double[] want = ScalarMatmul.xwT(x, M, w, y0, acc);
                            for (String form : new String[] {"dot", "tiles", "gemm"}) {
                                float[] y = y0.clone();
                                switch (form) {
                                    case "dot" -> Matmul.xwTDot(x, M, w, y, acc);
                                    case "tiles" -> Matmul.xwTTiles(x, M, w, y, acc);
                                    default -> Matmul.gemm(x, M, w, true, y, acc);
                                }
                                assertThat(relErr(y, want)).as("xwT %s %s %s M=%d acc=%s", form, t, w.name(), M, acc).isLessThan(1e-5);
                            }
                            float[] dy = rand(r, M * s[0]), dx0 = rand(r, M * s[1]);
                            double[] wantDx = ScalarMatmul.xw(dy, M, w, dx0, acc);
                            for (String form : new String[] {"axpy", "gemm"}) {
                                float[] dx = dx0.clone();
                                if (form.equals("axpy")) Matmul.xwAxpy(dy, M, w, dx, acc);
                                else Matmul.gemm(dy, M, w, false, dx, acc);
                                assertThat(relErr(dx, wantDx)).as("xw %s %s %s M=%d acc=%s", form, t, w.name(), M, acc).isLessThan(1e-5);
                            }
                        }
        }
    }

    /** Reductions longer than one packed block (KC), more panels than threads, and M past every threshold. */
    @Test
    void multipleBlocksAndPanels() {
        Random r = new Random(3);
        try (Arena arena = Arena.ofShared()) {
            for (DType t : TYPES) {
                int N = 200, K = 2 * Matmul.KC + 37, M = Matmul.XWT_TILES_MAX_M + 5;
                WeightMatrix w = WeightMatrix.of("big", t, rand(r, N * K), N, K, arena);
                float[] x = rand(r, M * K), y0 = rand(r, M * N), y = y0.clone();
                Matmul.xwT(x, M, w, y, true);
                assertThat(relErr(y, ScalarMatmul.xwT(x, M, w, y0, true))).as("xwT %s", t).isLessThan(1e-5);
                WeightMatrix v = WeightMatrix.of("bigT", t, rand(r, K * N), K, N, arena);
                float[] dy = rand(r, M * K), dx0 = rand(r, M * N), dx = dx0.clone();
                Matmul.xw(dy, M, v, dx, true);
                assertThat(relErr(dx, ScalarMatmul.xw(dy, M, v, dx0, true))).as("xw %s", t).isLessThan(1e-5);
            }
        }
    }

    /** Half-precision specials survive the vector conversion: subnormals, zeros of both signs, infinities. */
    @Test
    void f16SpecialValues() {
        try (Arena arena = Arena.ofShared()) {
            float[] vals = new float[40];
            for (int i = 0; i < vals.length; i++) vals[i] = (i % 2 == 0 ? 1 : -1) * (float) Math.scalb(1.0 + i / 64.0, -14 - i % 11);
            vals[0] = 0f;
            vals[1] = -0f;
            vals[2] = 65504f;
            WeightMatrix w = WeightMatrix.of("f16", DType.F16, vals, 1, vals.length, arena);
            for (int M : new int[] {1, 2, 7}) { // axpy and gemm forms
                float[] dy = new float[M];
                Arrays.fill(dy, 1f);
                float[] dx = new float[M * vals.length];
                Matmul.xw(dy, M, w, dx, false);
                for (int m = 0; m < M; m++)
                    for (int k = 0; k < vals.length; k++) assertThat(dx[m * vals.length + k]).isEqualTo(w.get(0, k));
            }
            WeightMatrix inf = WeightMatrix.of("inf", DType.F16, new float[] {Float.POSITIVE_INFINITY, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, 1, 17, arena);
            float[] dx = new float[17];
            Matmul.xw(new float[] {1f}, 1, inf, dx, false);
            assertThat(dx[0]).isEqualTo(Float.POSITIVE_INFINITY);
        }
    }

    @Test
    void emptyShapes() {
        WeightMatrix w0 = WeightMatrix.ofFloats("w0", new float[0], 4, 0); // no columns
        float[] y = {5, 5, 5, 5, 5, 5, 5, 5};
        Matmul.xwT(new float[0], 2, w0, y, false);
        assertThat(y).containsOnly(0f);
        Matmul.xw(new float[8], 2, w0, new float[0], false);
        WeightMatrix w = WeightMatrix.ofFloats("w", new float[] {1, 2, 3, 4}, 2, 2);
        Matmul.xwT(new float[0], 0, w, new float[0], false);
        Matmul.xw(new float[0], 0, w, new float[0], true);
    }

    @Test
    void badSizesNameTheTensor() {
        WeightMatrix w = WeightMatrix.ofFloats("layers.3.wq", new float[6 * 5], 6, 5); // [6, 5]
        assertThatThrownBy(() -> Matmul.xwT(new float[2 * 5 - 1], 2, w, new float[2 * 6], false))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("layers.3.wq");
        assertThatThrownBy(() -> Matmul.xwT(new float[2 * 5], 2, w, new float[2 * 6 - 1], false))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("layers.3.wq");
        assertThatThrownBy(() -> Matmul.xw(new float[2 * 6 - 1], 2, w, new float[2 * 5], true))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("layers.3.wq");
        assertThatThrownBy(() -> Matmul.xw(new float[2 * 6], 2, w, new float[2 * 5 - 1], true))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("layers.3.wq");
        assertThatThrownBy(() -> Matmul.xwT(new float[10], -1, w, new float[12], false))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("layers.3.wq");
        assertThatThrownBy(() -> Matmul.xw(null, 1, w, new float[5], false))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("layers.3.wq");
    }
}

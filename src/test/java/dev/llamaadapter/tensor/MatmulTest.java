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
    void epilogueSeesEveryFinishedElementOnceOnEveryPath() {
        // row counts that take the dot, tile, axpy and GEMM paths; widths with a narrow last panel and several reduction blocks
        Random r = new Random(11);
        try (Arena arena = Arena.ofShared()) {
            for (int[] s : new int[][] {{45, 300}, {300, 45}, {64, 600}})
                for (int M : new int[] {1, 5, 9, 130, 200}) {
                    WeightMatrix w = WeightMatrix.of("w", DType.F32, rand(r, s[0] * s[1]), s[0], s[1], arena);
                    int N = s[0], K = s[1];
                    float[] x = rand(r, M * K), dy = rand(r, M * N);
                    for (boolean transposed : new boolean[] {true, false}) {
                        int cols = transposed ? N : K;
                        float[] out = new float[M * cols], plain = new float[M * cols], seen = new float[M * cols]; // [M, cols]
                        int[] calls = new int[M * cols];
                        Matmul.Epilogue e = (row, col, n) -> {
                            for (int j = col; j < col + n; j++) {
                                seen[row * cols + j] = out[row * cols + j]; // the element is final when its piece arrives
                                synchronized (calls) { calls[row * cols + j]++; }
                            }
                        };
                        if (transposed) { Matmul.xwT(x, M, w, out, false, e); Matmul.xwT(x, M, w, plain, false); }
                        else { Matmul.xw(dy, M, w, out, false, e); Matmul.xw(dy, M, w, plain, false); }
                        assertThat(out).as("M=%d %dx%d %s", M, N, K, transposed ? "xwT" : "xw").containsExactly(plain);
                        assertThat(seen).containsExactly(plain);
                        assertThat(calls).containsOnly(1);
                    }
                }
        }
    }

    @Test
    void weightGradMatchesScalarAndAccumulates() {
        Random r = new Random(9);
        for (int[] s : SHAPES)
            for (int M : MS) {
                int N = s[0], K = s[1];
                float[] dy = rand(r, M * N), x = rand(r, M * K);
                float[] dW0 = rand(r, N * K + 5), dW = dW0.clone(); // longer: the tail must stay untouched
                Matmul.weightGrad(dy, x, M, N, K, dW);
                assertThat(relErr(dW, ScalarMatmul.weightGrad(dy, x, M, N, K, dW0))).as("N=%d K=%d M=%d", N, K, M).isLessThan(1e-5);
                assertThat(Arrays.copyOfRange(dW, N * K, dW.length)).isEqualTo(Arrays.copyOfRange(dW0, N * K, dW0.length));
            }
        assertThatThrownBy(() -> Matmul.weightGrad(new float[4], new float[4], 2, 2, 3, new float[6]))
                .hasMessageContaining("weight gradient [2, 3]");
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

    // ---- GGUF block types (Q8_0, Q4_0): rows of whole 32-element blocks ----

    static final DType[] QTYPES = {DType.Q8_0, DType.Q4_0};
    static final int[][] QSHAPES = { // [rows, cols], cols a multiple of 32
            {1, 32}, {7, 32}, {13, 64}, {33, 96}, {100, 256}, {257, 160}, {300, 32}, {65, 544}, {3, 1024}};

    /** Every public path and every form directly, against the double-precision loop over the same dequantised values. */
    @Test
    void quantizedTypesMatchScalar() {
        Random r = new Random(5);
        try (Arena arena = Arena.ofShared()) {
            for (DType t : QTYPES)
                for (int[] s : QSHAPES) {
                    WeightMatrix w = WeightMatrix.of("q" + s[0] + "x" + s[1], t, rand(r, s[0] * s[1]), s[0], s[1], arena);
                    for (int M : new int[] {1, 2, 3, 4, 5, 7, 13, 64, Matmul.XWT_TILES_MAX_M + 3})
                        for (boolean acc : new boolean[] {false, true}) {
                            float[] x = rand(r, M * s[1]), y0 = rand(r, M * s[0] + 3);
                            double[] want = ScalarMatmul.xwT(x, M, w, y0, acc);
                            float[] y = y0.clone();
                            Matmul.xwT(x, M, w, y, acc);
                            assertThat(relErr(y, want)).as("xwT %s %s M=%d acc=%s", t, w.name(), M, acc).isLessThan(1e-5);
                            assertThat(y[M * s[0] + 2]).isEqualTo(y0[M * s[0] + 2]);
                            if (M <= 13) for (String form : new String[] {"dot", "tiles", "gemm"}) {
                                float[] yf = y0.clone();
                                switch (form) {
                                    case "dot" -> Matmul.xwTDot(x, M, w, yf, acc);
                                    case "tiles" -> Matmul.xwTTiles(x, M, w, yf, acc);
                                    default -> Matmul.gemm(x, M, w, true, yf, acc);
                                }
                                assertThat(relErr(yf, want)).as("xwT %s %s %s M=%d acc=%s", form, t, w.name(), M, acc).isLessThan(1e-5);
                            }
                            float[] dy = rand(r, M * s[0]), dx0 = rand(r, M * s[1] + 3);
                            double[] wantDx = ScalarMatmul.xw(dy, M, w, dx0, acc);
                            float[] dx = dx0.clone();
                            Matmul.xw(dy, M, w, dx, acc);
                            assertThat(relErr(dx, wantDx)).as("xw %s %s M=%d acc=%s", t, w.name(), M, acc).isLessThan(1e-5);
                            if (M <= 13) for (String form : new String[] {"axpy", "gemm"}) {
                                float[] dxf = dx0.clone();
                                if (form.equals("axpy")) Matmul.xwAxpy(dy, M, w, dxf, acc);
                                else Matmul.gemm(dy, M, w, false, dxf, acc);
                                assertThat(relErr(dxf, wantDx)).as("xw %s %s %s M=%d acc=%s", form, t, w.name(), M, acc).isLessThan(1e-5);
                            }
                        }
                }
        }
    }

    /** The dequantising conversion gives exactly the scalar values for ranges starting and ending anywhere in a block. */
    @Test
    void quantizedConversionOfAnyRangeIsExact() {
        Random r = new Random(6);
        try (Arena arena = Arena.ofShared()) {
            for (DType t : QTYPES) {
                int rows = 3, cols = 128;
                WeightMatrix w = WeightMatrix.of("conv", t, rand(r, rows * cols), rows, cols, arena);
                float[] all = w.toFloats();
                for (int e = 0; e < 70; e++)
                    for (int n : new int[] {0, 1, 5, 16, 31, 32, 33, 64, 100, rows * cols - 70}) {
                        float[] dst = new float[n + 2];
                        Matmul.toFloats(w.data(), t, e, dst, 1, n);
                        for (int i = 0; i < n; i++) assertThat(dst[1 + i]).as("%s e=%d n=%d i=%d", t, e, n, i).isEqualTo(all[e + i]);
                        assertThat(dst[0]).isZero();
                        assertThat(dst[n + 1]).isZero();
                    }
            }
        }
    }

    /** Quantisation error is what the formats allow: Q8_0 about d/2 per element (d = max|x|/127), Q4_0 within d (d = max|x|/8). */
    @Test
    void quantizationErrorIsBounded() {
        Random r = new Random(7);
        try (Arena arena = Arena.ofShared()) {
            float[] v = rand(r, 64 * 32);
            v[5] = 0; // a block with zeros and one all-zero block
            for (int i = 32; i < 64; i++) v[i] = 0;
            for (DType t : QTYPES) {
                float[] got = WeightMatrix.of("e", t, v, 64, 32, arena).toFloats();
                for (int b = 0; b < 64; b++) {
                    float amax = 0;
                    for (int i = 0; i < 32; i++) amax = Math.max(amax, Math.abs(v[b * 32 + i]));
                    // d/2 for rounding, plus up to 127·|d − fp16(d)| <= 127·d·2^-11 for the scale stored as fp16
                    double tol = t == DType.Q8_0 ? amax / 127.0 * 0.57 + 1e-6 : amax / 8.0 * 1.01 + 1e-6;
                    for (int i = 0; i < 32; i++)
                        assertThat((double) Math.abs(got[b * 32 + i] - v[b * 32 + i])).as("%s block %d", t, b).isLessThanOrEqualTo(tol);
                }
                for (int i = 32; i < 64; i++) assertThat(got[i]).isZero();
            }
        }
    }

    @Test
    void quantizedColumnsMustBeWholeBlocks() {
        try (Arena arena = Arena.ofShared()) {
            for (DType t : QTYPES) {
                assertThatThrownBy(() -> WeightMatrix.of("layers.0.w2", t, new float[4 * 48], 4, 48, arena))
                        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("layers.0.w2").hasMessageContaining("multiple of 32");
                assertThatThrownBy(() -> new WeightMatrix("odd", arena.allocate(t.blockBytes * 2L), t, 1, 40))
                        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("odd").hasMessageContaining("40 columns");
                assertThatThrownBy(() -> new WeightMatrix("short", arena.allocate(t.blockBytes * 3L), t, 2, 64))
                        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("short").hasMessageContaining("expected " + 4 * t.blockBytes);
            }
        }
    }

    /** A weight with a row order multiplies exactly like the same rows copied into that order, in both directions and every dtype. */
    @Test
    void rowOrderEqualsPermutedCopy() {
        Random r = new Random(8);
        try (Arena arena = Arena.ofShared()) {
            for (DType t : new DType[] {DType.F32, DType.BF16, DType.Q8_0, DType.Q4_0}) {
                int heads = 3, hd = 8, rows = heads * hd, cols = 64;
                int[] order = WeightMatrix.interleavedToHalves(heads, hd);
                WeightMatrix stored = WeightMatrix.of("wq", t, rand(r, rows * cols), rows, cols, arena);
                WeightMatrix view = stored.withRowOrder(order);
                float[] s = stored.toFloats(), permuted = new float[rows * cols];
                for (int n = 0; n < rows; n++) System.arraycopy(s, order[n] * cols, permuted, n * cols, cols);
                assertThat(view.toFloats()).containsExactly(permuted);
                WeightMatrix copy = WeightMatrix.ofFloats("copy", permuted, rows, cols);
                for (int M : new int[] {1, 5, 20, 200}) {
                    float[] x = rand(r, M * cols), y = rand(r, M * rows), y2 = y.clone();
                    Matmul.xwT(x, M, view, y, true);
                    Matmul.xwT(x, M, copy, y2, true);
                    assertThat(relErr(y, widened(y2))).as("xwT %s M=%d", t, M).isLessThan(1e-6);
                    float[] dy = rand(r, M * rows), dx = rand(r, M * cols), dx2 = dx.clone();
                    Matmul.xw(dy, M, view, dx, true);
                    Matmul.xw(dy, M, copy, dx2, true);
                    assertThat(relErr(dx, widened(dx2))).as("xw %s M=%d", t, M).isLessThan(1e-6);
                }
            }
            // HF row t of a head comes from stored row 2·(t mod hd/2) + t div (hd/2): pairs (0,1) become rows (0, hd/2)
            assertThat(WeightMatrix.interleavedToHalves(1, 8)).containsExactly(0, 2, 4, 6, 1, 3, 5, 7);
            assertThatThrownBy(() -> WeightMatrix.ofFloats("w", new float[4], 2, 2).withRowOrder(new int[] {0, 0}))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("permutation");
        }
    }

    private static double[] widened(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) d[i] = a[i];
        return d;
    }
}

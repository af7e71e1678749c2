package dev.llamaadapter.tensor;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.Arena;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Every block format against its scalar twin ({@link BlockTwins}, written from gguf-py's statement of the
 * layout): single elements and ranges that start and end anywhere are bit-exact, the row dot and every
 * matmul form agree with a double-precision product over the twin's values, on random block data.
 */
class BlockFormatTest {
    static final int ROWS = 37;

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

    /** Every block type (each has a twin in {@link BlockTwins}). */
    static java.util.stream.Stream<DType> blockTypes() {
        return java.util.Arrays.stream(DType.values()).filter(DType::isQuantized);
    }

    /** Two super-blocks for the K-quants; 16 blocks for Q8_0 and Q4_0. */
    static int cols(DType t) {
        return 2 * Math.max(256, t.blockSize);
    }

    @ParameterizedTest
    @MethodSource("blockTypes")
    void elementsAndRangesAreExactlyTheTwins(DType t) {
        Random r = new Random(t.ordinal());
        int cols = cols(t);
        byte[] b = BlockTwins.randomBlocks(t, ROWS, cols, r);
        try (Arena arena = Arena.ofShared()) {
            WeightMatrix w = BlockTwins.matrix("w", t, b, ROWS, cols, arena);
            float[] want = new float[ROWS * cols]; // [ROWS, cols]: the twin's values
            for (int e = 0; e < want.length; e++) want[e] = BlockTwins.element(t, b, e);
            for (int e = 0; e < want.length; e++)
                assertThat(t.format().get(w.data(), e)).as("%s get %d", t, e).isEqualTo(want[e]);
            assertThat(w.toFloats()).as("%s rows", t).containsExactly(want);
            for (int trial = 0; trial < 400; trial++) {
                int e = r.nextInt(want.length), n = r.nextInt(Math.min(want.length - e, 600) + 1);
                float[] dst = new float[n + 2]; // [1 + n + 1]: guards on both sides stay zero
                t.format().dequantize(w.data(), e, dst, 1, n);
                for (int i = 0; i < n; i++) assertThat(dst[1 + i]).as("%s e=%d n=%d i=%d", t, e, n, i).isEqualTo(want[e + i]);
                assertThat(dst[0]).isZero();
                assertThat(dst[n + 1]).isZero();
            }
        }
    }

    @ParameterizedTest
    @MethodSource("blockTypes")
    void rowDotAndEveryMatmulFormMatchTheTwins(DType t) {
        Random r = new Random(100 + t.ordinal());
        int cols = cols(t);
        byte[] b = BlockTwins.randomBlocks(t, ROWS, cols, r);
        try (Arena arena = Arena.ofShared()) {
            WeightMatrix w = BlockTwins.matrix("w", t, b, ROWS, cols, arena);
            float[] x = rand(r, cols);
            for (int n = 0; n < ROWS; n++) {
                double want = 0, size = 0; // the exact dot, and Σ|x·w| that bounds fp32 rounding
                for (int k = 0; k < cols; k++) {
                    double p = (double) x[k] * BlockTwins.element(t, b, (long) n * cols + k);
                    want += p;
                    size += Math.abs(p);
                }
                float got = t.format().dot(x, 0, w.data(), n * t.bytes(cols), cols);
                assertThat(Math.abs(got - want)).as("%s dot row %d", t, n).isLessThan(1e-6 * size);
            }
            for (int M : new int[] {1, 2, 5, 9, 130})
                for (boolean acc : new boolean[] {false, true}) {
                    float[] xm = rand(r, M * cols), y0 = rand(r, M * ROWS);
                    double[] wantY = ScalarMatmul.xwT(xm, M, w, y0, acc);
                    float[] y = y0.clone();
                    Matmul.xwT(xm, M, w, y, acc);
                    assertThat(relErr(y, wantY)).as("xwT %s M=%d", t, M).isLessThan(1e-5);
                    for (int form = 0; form < 3 && M <= 9; form++) {
                        float[] yf = y0.clone();
                        switch (form) {
                            case 0 -> Matmul.xwTDot(xm, M, w, yf, acc);
                            case 1 -> Matmul.xwTTiles(xm, M, w, yf, acc);
                            default -> Matmul.gemm(xm, M, w, true, yf, acc);
                        }
                        assertThat(relErr(yf, wantY)).as("xwT form %d %s M=%d", form, t, M).isLessThan(1e-5);
                    }
                    float[] dy = rand(r, M * ROWS), dx0 = rand(r, M * cols);
                    double[] wantDx = ScalarMatmul.xw(dy, M, w, dx0, acc);
                    float[] dx = dx0.clone();
                    Matmul.xw(dy, M, w, dx, acc);
                    assertThat(relErr(dx, wantDx)).as("xw %s M=%d", t, M).isLessThan(1e-5);
                    if (M <= 9) {
                        float[] dxa = dx0.clone(), dxg = dx0.clone();
                        Matmul.xwAxpy(dy, M, w, dxa, acc);
                        Matmul.gemm(dy, M, w, false, dxg, acc);
                        assertThat(relErr(dxa, wantDx)).as("xw axpy %s M=%d", t, M).isLessThan(1e-5);
                        assertThat(relErr(dxg, wantDx)).as("xw gemm %s M=%d", t, M).isLessThan(1e-5);
                    }
                }
        }
    }

    /**
     * The quantisers on edge blocks: all zero (zero back, no NaN from a 0/0 scale), a constant (K-quants with a
     * min store it closely, a positive constant too), one outlier among small values; and on Gaussian rows their
     * relative RMS error stays at the format's level (measured: Q8_0 0.0054, Q4_0 0.087, Q4_K 0.072, Q5_K 0.036,
     * Q6_K 0.018; against llama-quantize in QuantizeMixTest).
     */
    @ParameterizedTest
    @EnumSource(value = DType.class, names = {"Q8_0", "Q4_0", "Q4_K", "Q5_K", "Q6_K"})
    void quantiseEdgeBlocksAndGaussianRows(DType t) {
        int n = 512;
        float[][] cases = new float[4][n]; // [case, n]: zeros, constant 0.3, constant −0.3, outlier
        java.util.Arrays.fill(cases[1], 0.3f);
        java.util.Arrays.fill(cases[2], -0.3f);
        for (int i = 0; i < n; i++) cases[3][i] = (i % 7 - 3) * 1e-3f;
        cases[3][100] = 5f;
        java.lang.foreign.MemorySegment q = java.lang.foreign.MemorySegment.ofArray(new byte[(int) t.bytes(n)]);
        for (int c = 0; c < cases.length; c++) {
            t.format().quantize(cases[c], 0, n, q, 0);
            float[] y = new float[n];
            t.format().dequantize(q, 0, y, 0, n);
            for (int i = 0; i < n; i++) {
                assertThat(Float.isFinite(y[i])).as("%s case %d element %d", t, c, i).isTrue();
                if (c == 0) assertThat(y[i]).as("%s zeros", t).isZero();
                if (c == 1 || c == 2) assertThat((double) y[i]).as("%s constant", t).isCloseTo(cases[c][i], org.assertj.core.data.Offset.offset(0.3 * 0.02));
            }
            if (c == 3) assertThat((double) y[100]).as("%s outlier", t).isCloseTo(5, org.assertj.core.data.Offset.offset(5 * 0.02));
        }
        Random r = new Random(5);
        float[] x = rand(r, 64 * 256);
        java.lang.foreign.MemorySegment qx = java.lang.foreign.MemorySegment.ofArray(new byte[(int) t.bytes(x.length)]);
        t.format().quantize(x, 0, x.length, qx, 0);
        float[] y = new float[x.length];
        t.format().dequantize(qx, 0, y, 0, y.length);
        double[] xd = new double[x.length];
        for (int i = 0; i < x.length; i++) xd[i] = x[i];
        double rel = relErr(y, xd), bound = switch (t) {
            case Q8_0 -> 0.006;
            case Q4_0 -> 0.10;
            case Q4_K -> 0.08;
            case Q5_K -> 0.04;
            default -> 0.02;
        };
        System.out.printf(java.util.Locale.ROOT, "%s relative RMS error on Gaussian rows: %.4f%n", t, rel);
        assertThat(rel).as(t.name()).isLessThan(bound);
    }

    /**
     * Blocks whose fp16 scales are extreme (±65504, the smallest normals and subnormals, signed zeros):
     * get and dequantize still give exactly the twin's values, and the row dot stays within fp32 rounding of
     * the exact product of those values.
     */
    @ParameterizedTest
    @MethodSource("blockTypes")
    void extremeScalesStayExact(DType t) {
        Random r = new Random(200 + t.ordinal());
        int cols = cols(t), rows = 9;
        byte[] b = BlockTwins.extremeBlocks(t, rows, cols, r);
        try (Arena arena = Arena.ofShared()) {
            WeightMatrix w = BlockTwins.matrix("w", t, b, rows, cols, arena);
            float[] want = new float[rows * cols]; // [rows, cols]: the twin's values
            for (int e = 0; e < want.length; e++) want[e] = BlockTwins.element(t, b, e);
            for (int e = 0; e < want.length; e++)
                assertThat(t.format().get(w.data(), e)).as("%s get %d", t, e).isEqualTo(want[e]);
            float[] all = new float[want.length]; // [rows * cols]: one dequantize over every block
            t.format().dequantize(w.data(), 0, all, 0, all.length);
            assertThat(all).as("%s dequantize", t).containsExactly(want);
            for (int trial = 0; trial < 100; trial++) {
                int e = r.nextInt(want.length), n = r.nextInt(want.length - e + 1);
                float[] dst = new float[n]; // [n]
                t.format().dequantize(w.data(), e, dst, 0, n);
                for (int i = 0; i < n; i++) assertThat(dst[i]).as("%s e=%d n=%d i=%d", t, e, n, i).isEqualTo(want[e + i]);
            }
            float[] x = rand(r, cols);
            for (int n = 0; n < rows; n++) {
                double exact = 0, size = 0;
                for (int k = 0; k < cols; k++) {
                    double p = (double) x[k] * want[n * cols + k];
                    exact += p;
                    size += Math.abs(p);
                }
                float got = t.format().dot(x, 0, w.data(), n * t.bytes(cols), cols);
                assertThat(Float.isFinite(got)).as("%s dot row %d finite", t, n).isTrue();
                assertThat(Math.abs(got - exact)).as("%s dot row %d", t, n).isLessThanOrEqualTo(1e-5 * size);
            }
        }
    }

    /** Each block type holds its format, and the geometry agrees; every one here can quantise. */
    @Test
    void dtypesHoldTheirFormats() {
        for (DType t : DType.values()) {
            if (!t.isQuantized()) {
                assertThatThrownBy(t::format).isInstanceOf(IllegalStateException.class);
                continue;
            }
            assertThat(t.format().name()).isEqualTo(t.name());
            assertThat(t.blockSize).isEqualTo(t.format().blockElements());
            assertThat(t.blockBytes).isEqualTo(t.format().blockBytes());
            assertThat(t.isWeightType()).isTrue();
        }
        assertThat(DType.Q4_K.blockSize).isEqualTo(256);
        assertThat(DType.Q4_K.blockBytes).isEqualTo(144);
        assertThat(DType.Q6_K.blockBytes).isEqualTo(210);
        assertThat(DType.Q8_0.format().canQuantize()).isTrue();
        assertThat(DType.Q5_K.blockBytes).isEqualTo(176);
        for (DType t : new DType[] {DType.Q4_K, DType.Q5_K, DType.Q6_K}) assertThat(t.format().canQuantize()).as(t.name()).isTrue();
        assertThatThrownBy(() -> new WeightMatrix("blk.0.w", Arena.ofAuto().allocate(144), DType.Q4_K, 1, 128))
                .hasMessageContaining("blk.0.w").hasMessageContaining("256");
    }
}

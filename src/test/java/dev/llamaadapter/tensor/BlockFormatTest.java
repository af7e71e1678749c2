package dev.llamaadapter.tensor;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
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

    /** Each block type holds its format, and the geometry agrees; the K-quants are read-only. */
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
        assertThat(DType.Q4_K.format().canQuantize()).isFalse();
        assertThatThrownBy(() -> WeightMatrix.of("w", DType.Q6_K, new float[256], 1, 256, Arena.ofAuto()))
                .isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("Q6_K");
        assertThatThrownBy(() -> new WeightMatrix("blk.0.w", Arena.ofAuto().allocate(144), DType.Q4_K, 1, 128))
                .hasMessageContaining("blk.0.w").hasMessageContaining("256");
    }
}

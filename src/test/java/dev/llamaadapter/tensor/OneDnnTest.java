package dev.llamaadapter.tensor;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.Random;

import static dev.llamaadapter.tensor.MatmulTest.rand;
import static dev.llamaadapter.tensor.MatmulTest.relErr;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The oneDNN backend against the Java kernels and the scalar twin, on ragged shapes; skipped where
 * libdnnl.so.2 is not installed (scripts/install-native.sh installs it on Debian).
 */
class OneDnnTest {
    static final int[] MS = {16, 17, 64, 130};
    static final int[][] SHAPES = {{16, 16}, {31, 33}, {100, 257}, {257, 100}, {300, 7}, {65, 300}};

    @BeforeAll
    static void needsLibrary() {
        assumeTrue(OneDnn.available(), () -> "oneDNN absent: " + OneDnn.unavailableReason());
    }

    @Test
    void fp32ProductsMatchJavaAndScalar() {
        Random r = new Random(3);
        try (Arena arena = Arena.ofShared()) {
            for (int[] s : SHAPES)
                for (int M : MS)
                    for (boolean acc : new boolean[] {false, true}) {
                        int N = s[0], K = s[1];
                        WeightMatrix w = WeightMatrix.of("w", DType.F32, rand(r, N * K), N, K, arena);
                        float[] x = rand(r, M * K), y0 = rand(r, M * N + 3);
                        float[] y = y0.clone(), yJava = y0.clone();
                        assertThat(OneDnn.FP32.xwT(x, M, w, y, acc)).isTrue();
                        Matmul.xwT(x, M, w, yJava, acc);
                        assertThat(relErr(y, ScalarMatmul.xwT(x, M, w, y0, acc))).as("xwT %dx%d M=%d", N, K, M).isLessThan(1e-5);
                        assertThat(relErr(y, widened(yJava))).isLessThan(1e-5);
                        assertThat(Arrays.copyOfRange(y, M * N, y.length)).isEqualTo(Arrays.copyOfRange(y0, M * N, y0.length));

                        float[] dy = rand(r, M * N), dx0 = rand(r, M * K);
                        float[] dx = dx0.clone(), dxJava = dx0.clone();
                        assertThat(OneDnn.FP32.xw(dy, M, w, dx, acc)).isTrue();
                        Matmul.xw(dy, M, w, dxJava, acc);
                        assertThat(relErr(dx, ScalarMatmul.xw(dy, M, w, dx0, acc))).as("xw %dx%d M=%d", N, K, M).isLessThan(1e-5);
                        assertThat(relErr(dx, widened(dxJava))).isLessThan(1e-5);

                        float[] dW0 = rand(r, N * K), dW = dW0.clone(), dWJava = dW0.clone();
                        assertThat(OneDnn.FP32.weightGrad(dy, x, M, N, K, dW)).isTrue();
                        Matmul.weightGrad(dy, x, M, N, K, dWJava);
                        assertThat(relErr(dW, ScalarMatmul.weightGrad(dy, x, M, N, K, dW0))).as("dW %dx%d M=%d", N, K, M).isLessThan(1e-5);
                        assertThat(relErr(dW, widened(dWJava))).isLessThan(1e-5);
                    }
        }
    }

    @Test
    void bf16WeightsRunExactlyOnBf16RoundedActivations() {
        Random r = new Random(4);
        try (Arena arena = Arena.ofShared()) {
            for (int[] s : SHAPES)
                for (int M : MS) {
                    int N = s[0], K = s[1];
                    WeightMatrix w = WeightMatrix.of("w", DType.BF16, rand(r, N * K), N, K, arena);
                    float[] x = rand(r, M * K), y0 = rand(r, M * N), y = y0.clone();
                    assertThat(OneDnn.BF16.xwT(x, M, w, y, true)).isTrue();
                    // the backend's one approximation is the activations' rounding to bf16: after that, an fp32-exact product
                    assertThat(relErr(y, ScalarMatmul.xwT(roundBf16(x), M, w, y0, true))).as("xwT %dx%d M=%d", N, K, M).isLessThan(1e-5);

                    float[] dy = rand(r, M * N), dx = new float[M * K];
                    assertThat(OneDnn.BF16.xw(dy, M, w, dx, false)).isTrue();
                    assertThat(relErr(dx, ScalarMatmul.xw(roundBf16(dy), M, w, new float[M * K], false))).isLessThan(1e-5);
                    // and it stays within bf16's precision of the exact product
                    assertThat(relErr(dx, ScalarMatmul.xw(dy, M, w, new float[M * K], false))).isLessThan(1e-2);
                }
        }
    }

    /**
     * The bf16 backend takes every other weight (F16, GGUF blocks, a reordered weight) through a bf16 copy of its
     * logical rows: the product is then exact on bf16-rounded weights and activations, in the logical row order.
     */
    @Test
    void otherWeightsRunThroughABf16CopyOfTheirLogicalRows() {
        Random r = new Random(6);
        try (Arena arena = Arena.ofShared()) {
            int N = 64, K = 256;
            int[] order = WeightMatrix.interleavedToHalves(2, 32);
            for (WeightMatrix w : new WeightMatrix[] {
                    WeightMatrix.of("f16", DType.F16, rand(r, N * K), N, K, arena),
                    WeightMatrix.of("q8", DType.Q8_0, rand(r, N * K), N, K, arena),
                    WeightMatrix.of("q4k", DType.Q4_K, rand(r, N * K), N, K, arena),
                    WeightMatrix.of("bf16-reordered", DType.BF16, rand(r, N * K), N, K, arena).withRowOrder(order)}) {
                float[] logical = w.toFloats(); // [N, K] logical rows as fp32
                WeightMatrix rounded = WeightMatrix.ofFloats("rounded", roundBf16(logical), N, K);
                for (int M : MS) {
                    float[] x = rand(r, M * K), y0 = rand(r, M * N), y = y0.clone();
                    assertThat(OneDnn.BF16.xwT(x, M, w, y, true)).as(w.name()).isTrue();
                    assertThat(relErr(y, ScalarMatmul.xwT(roundBf16(x), M, rounded, y0, true))).as("xwT %s M=%d", w.name(), M).isLessThan(1e-5);
                    float[] dy = rand(r, M * N), dx = new float[M * K];
                    assertThat(OneDnn.BF16.xw(dy, M, w, dx, false)).isTrue();
                    assertThat(relErr(dx, ScalarMatmul.xw(roundBf16(dy), M, rounded, new float[M * K], false))).as("xw %s M=%d", w.name(), M).isLessThan(1e-5);
                }
            }
        }
    }

    @Test
    void declinesWhatItCannotReadAndMatmulFallsBack() {
        try (Arena arena = Arena.ofShared()) {
            Random r = new Random(5);
            WeightMatrix f16 = WeightMatrix.of("w", DType.F16, rand(r, 32 * 64), 32, 64, arena);
            WeightMatrix bf16 = WeightMatrix.of("w", DType.BF16, rand(r, 32 * 64), 32, 64, arena);
            WeightMatrix f32 = WeightMatrix.of("w", DType.F32, rand(r, 32 * 64), 32, 64, arena);
            float[] x = rand(r, 64 * 64), y = new float[64 * 32];
            assertThat(OneDnn.FP32.xwT(x, 64, f16, y, false)).as("fp32 takes F32 weights only").isFalse();
            assertThat(OneDnn.FP32.xwT(x, 64, bf16, y, false)).as("bf16 weights need the opt-in backend").isFalse();
            assertThat(OneDnn.FP32.xwT(x, OneDnn.MIN_M - 1, f32, y, false)).as("decoding stays in Java").isFalse();

            GemmBackend before = GemmBackend.current();
            try {
                assertThat(GemmBackend.use("onednn").name()).isEqualTo("onednn");
                float[] yNative = new float[64 * 32], yJava = new float[64 * 32];
                Matmul.xwT(x, 64, f32, yNative, false);
                GemmBackend.use("java");
                Matmul.xwT(x, 64, f32, yJava, false);
                assertThat(relErr(yNative, widened(yJava))).isLessThan(1e-5);
            } finally {
                GemmBackend.use(before.name());
            }
        }
    }

    static float[] roundBf16(float[] x) {
        float[] r = new float[x.length];
        for (int i = 0; i < x.length; i++) r[i] = DType.bf16ToFloat(DType.floatToBf16(x[i]));
        return r;
    }

    static double[] widened(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) d[i] = a[i];
        return d;
    }
}

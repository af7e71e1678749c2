package dev.llamaadapter.tensor;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The int8 backend's native kernels ({@code int8dot.c}) three ways: the vector code against the file's own plain C
 * definition, that definition against a Java twin built on the Java block decoders (so a misread weight layout
 * cannot hide in both C paths), and the whole product against the exact fp32 product (the accuracy the option
 * trades). Skipped where no C compiler can build the library (scripts/install-native.sh installs gcc on Debian).
 */
class Int8DotTest {
    static final List<DType> TYPES = List.of(DType.Q8_0, DType.Q4_0, DType.Q4_K, DType.Q5_K, DType.Q6_K);
    static final int[] MS = {1, 2, 3, 4, 5, 6, 9, 16, 37}; // 6 and up: AMX tiles where the CPU has them (partial tiles but at 16)

    @BeforeAll
    static void needsLibrary() {
        assumeTrue(Int8Dot.available(), () -> "int8 kernels absent: " + Int8Dot.unavailableReason());
    }

    @AfterEach
    void javaAgain() {
        GemmBackend.use("java");
    }

    /** Activations as the Java twin quantises them: per 32, d = max|x| / 127, q = rint(x · 127 / max). */
    static Int8Dot.Quantized twinQuantize(float[] x, int M, int K) {
        int n = M * K;
        byte[] q = new byte[n];
        float[] d = new float[n / 32];
        int[] s = new int[n / 16], s32 = new int[n / 32];
        for (int b = 0; b < n / 32; b++) {
            float amax = 0;
            for (int i = 0; i < 32; i++) amax = Math.max(amax, Math.abs(x[32 * b + i]));
            d[b] = amax / 127f;
            float id = amax > 0 ? 127f / amax : 0f;
            for (int i = 0; i < 32; i++) {
                int v = (int) Math.rint(x[32 * b + i] * id);
                v = Math.max(-127, Math.min(127, v));
                q[32 * b + i] = (byte) v;
                s[2 * b + i / 16] += v;
            }
            s32[b] = s[2 * b] + s[2 * b + 1];
        }
        return new Int8Dot.Quantized(q, d, s, s32);
    }

    /** y[m, n] = Σ_blocks d_a · Σ_i w_i · q_a,i with w from the Java block decoder, in double. */
    static double[] twinProduct(WeightMatrix w, Int8Dot.Quantized a, int M) {
        int N = w.rows(), K = w.cols();
        double[] y = new double[M * N];
        float[] row = new float[K];
        for (int n = 0; n < N; n++) {
            w.row(n, row, 0);
            for (int m = 0; m < M; m++) {
                double sum = 0;
                for (int b = 0; b < K / 32; b++) {
                    double blk = 0;
                    for (int i = 0; i < 32; i++) blk += (double) row[32 * b + i] * a.q()[m * K + 32 * b + i];
                    sum += blk * a.d()[m * K / 32 + b];
                }
                y[m * N + n] = sum;
            }
        }
        return y;
    }

    static WeightMatrix weight(DType t, Random r, int N, int K, Arena arena) {
        float[] v = new float[N * K];
        for (int i = 0; i < v.length; i++) v[i] = (float) (r.nextGaussian() * 0.05 + (i % 97 == 0 ? 0.3 : 0));
        return WeightMatrix.of("w", t, v, N, K, arena);
    }

    static float[] activations(Random r, int n) {
        float[] x = MatmulTest.rand(r, n);
        for (int i = 0; i < n; i += 37) x[i] *= 8; // outliers, as real activations have
        for (int i = 64; i < Math.min(n, 96); i++) x[i] = 0; // one all-zero block (scale 0)
        return x;
    }

    @Test
    void activationsQuantiseAsTheTwinDoes() {
        Random r = new Random(1);
        int M = 3, K = 512;
        float[] x = activations(r, M * K);
        Int8Dot.Quantized got = Int8Dot.quantize(x, M, K), want = twinQuantize(x, M, K);
        for (int i = 0; i < M * K; i++) assertThat(got.q()[i]).as("q[%d]", i).isEqualTo(want.q()[i]);
        for (int i = 0; i < M * K / 32; i++) {
            assertThat(got.d()[i]).as("d[%d]", i).isEqualTo(want.d()[i]);
            assertThat(got.s32()[i]).as("s32[%d]", i).isEqualTo(want.s32()[i]);
        }
        for (int i = 0; i < M * K / 16; i++) assertThat(got.s()[i]).as("s[%d]", i).isEqualTo(want.s()[i]);
    }

    @Test
    void vectorKernelsEqualThePlainDefinitionAndTheJavaTwin() {
        Random r = new Random(2);
        try (Arena arena = Arena.ofShared()) {
            for (DType t : TYPES)
                for (int K : new int[] {256, 768}) {
                    int N = 37;
                    WeightMatrix w = weight(t, r, N, K, arena);
                    for (int M : MS) {
                        float[] x = activations(r, M * K);
                        Int8Dot.Quantized a = Int8Dot.quantize(x, M, K);
                        float[] vec = new float[M * N], ref = new float[M * N];
                        long rowBytes = t.bytes(K);
                        Int8Dot.gemm(Int8Dot.format(t), w.data(), rowBytes, 0, N, K, a, M, MemorySegment.ofArray(vec), N, false, false);
                        Int8Dot.gemm(Int8Dot.format(t), w.data(), rowBytes, 0, N, K, a, M, MemorySegment.ofArray(ref), N, false, true);
                        double[] twin = twinProduct(w, a, M);
                        assertThat(MatmulTest.relErr(vec, widen(ref))).as("%s K=%d M=%d vector vs plain C", t, K, M).isLessThan(1e-6);
                        assertThat(MatmulTest.relErr(ref, twin)).as("%s K=%d M=%d plain C vs Java twin", t, K, M).isLessThan(1e-6);
                    }
                }
        }
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(ints = {6, 20}) // 20: AMX's tiles where the CPU has them
    void rowRangesAndAccumulateWriteOnlyTheirPart(int M) {
        Random r = new Random(3);
        try (Arena arena = Arena.ofShared()) {
            int N = 20, K = 256;
            WeightMatrix w = weight(DType.Q4_K, r, N, K, arena);
            Int8Dot.Quantized a = Int8Dot.quantize(activations(r, M * K), M, K);
            float[] whole = new float[M * N];
            Int8Dot.gemm(2, w.data(), DType.Q4_K.bytes(K), 0, N, K, a, M, MemorySegment.ofArray(whole), N, false, false);
            float[] y = MatmulTest.rand(r, M * N), y0 = y.clone();
            Int8Dot.gemm(2, w.data(), DType.Q4_K.bytes(K), 5, 12, K, a, M, MemorySegment.ofArray(y), N, true, false);
            for (int m = 0; m < M; m++)
                for (int n = 0; n < N; n++) {
                    int i = m * N + n;
                    if (n >= 5 && n < 12) assertThat(y[i]).isCloseTo(y0[i] + whole[i], org.assertj.core.data.Offset.offset(1e-4f));
                    else assertThat(y[i]).isEqualTo(y0[i]);
                }
        }
    }

    /**
     * What the option costs: the product against the exact fp32 one, through Matmul with the backend on. Measured
     * (seed 4, K 2048, Gaussian activations): relative error 4.9e-3 to 7.0e-3 over the four types, the activations'
     * 8-bit rounding; F32 weights are not taken and stay bit-identical to the Java kernels.
     */
    @Test
    void throughMatmulTheProductStaysCloseToTheExactOne() {
        Random r = new Random(4);
        try (Arena arena = Arena.ofShared()) {
            int N = 64, K = 2048;
            for (DType t : TYPES)
                for (int M : new int[] {1, 4, 17, 130}) {
                    WeightMatrix w = weight(t, r, N, K, arena);
                    float[] x = MatmulTest.rand(r, M * K), exact = new float[M * N], int8 = new float[M * N];
                    GemmBackend.use("java");
                    Matmul.xwT(x, M, w, exact, false);
                    assertThat(GemmBackend.use("int8").name()).isEqualTo("int8");
                    Matmul.xwT(x, M, w, int8, false);
                    double err = MatmulTest.relErr(int8, widen(exact));
                    System.out.printf(java.util.Locale.ROOT, "int8 %s M=%d: relative error %.2e against the exact product%n", t, M, err);
                    if (M <= Int8Dot.MAX_M) assertThat(err).as("%s M=%d", t, M).isLessThan(1e-2).isGreaterThan(0); // inexact, and by little
                    else assertThat(err).as("%s M=%d: left to Java without AMX", t, M).isZero();
                    // a reordered weight (GGUF q/k) goes through the stored rows, then the gather
                    int[] order = new int[N];
                    for (int n = 0; n < N; n++) order[n] = (n * 7) % N;
                    float[] re = new float[M * N];
                    Matmul.xwT(x, M, w.withRowOrder(order), re, false);
                    for (int m = 0; m < M; m++)
                        for (int n = 0; n < N; n++) assertThat(re[m * N + n]).isEqualTo(int8[m * N + order[n]]);
                }
            WeightMatrix f = weight(DType.F32, r, N, K, arena);
            float[] x = MatmulTest.rand(r, 2 * K), a = new float[2 * N], b = new float[2 * N];
            Matmul.xwT(x, 2, f, a, false);
            GemmBackend.use("java");
            Matmul.xwT(x, 2, f, b, false);
            assertThat(a).isEqualTo(b);
        }
    }

    /** Prompts (more than MAX_M rows) go back to the Java GEMM, exact; a chain hands them to its next backend. */
    @Test
    void largeProductsAreLeftToTheNextBackend() {
        Random r = new Random(5);
        try (Arena arena = Arena.ofShared()) {
            int N = 16, K = 256, M = Int8Dot.VECTOR_MAX_M + 1;
            WeightMatrix w = weight(DType.Q8_0, r, N, K, arena);
            float[] x = MatmulTest.rand(r, M * K), a = new float[M * N], b = new float[M * N];
            GemmBackend.use("int8");
            Matmul.xwT(x, M, w, a, false);
            GemmBackend.use("java");
            Matmul.xwT(x, M, w, b, false);
            if (Int8Dot.amx()) assertThat(MatmulTest.relErr(a, widen(b))).isLessThan(1e-2).isGreaterThan(0); // AMX takes every size
            else assertThat(a).isEqualTo(b);
        }
        GemmBackend chain = GemmBackend.use("int8+onednn-bf16");
        assertThat(chain.name()).isEqualTo(OneDnn.available() ? "int8+onednn-bf16" : "int8");
    }

    @Test
    void theLibraryIsBuiltOnceAndReused() throws Exception {
        // (a library named by -Dllamaadapter.int8dot.lib / LLAMA_ADAPTER_INT8DOT_LIB is used as it is: nothing to build;
        // the kernel tests above pass on the scalar and the AVX2 builds that way too)
        assumeTrue(System.getProperty("llamaadapter.int8dot.lib") == null && System.getenv("LLAMA_ADAPTER_INT8DOT_LIB") == null);
        java.nio.file.Path first = NativeBuild.library("int8dot", Int8Dot.HEADERS), again = NativeBuild.library("int8dot", Int8Dot.HEADERS);
        assertThat(again).isEqualTo(first);
        assertThat(first.getFileName().toString()).matches("int8dot-[0-9a-f]{16}\\.so");
        assertThat(Int8Dot.vectorPath()).isIn("avx512-vnni (256-bit), amx-int8 from 6 rows", "avx512-vnni (256-bit)", "avx-vnni", "avx2", "scalar");
    }

    static double[] widen(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) d[i] = a[i];
        return d;
    }
}

package dev.llamaadapter.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * The oneDNN GEMM backend, bound through FFM at run time: {@code dnnl_sgemm} (fp32) and
 * {@code dnnl_gemm_bf16bf16f32} (bf16 inputs, fp32 accumulation and output: AVX512-BF16 or AMX where the
 * CPU has them) from {@code libdnnl.so.2} (Debian's libdnnl2; another file by
 * {@code -Dllamaadapter.onednn.lib=PATH}). Never required: when the library is not there,
 * {@link #available()} is false and {@link GemmBackend} keeps the Java kernels.
 *
 * <p>Both functions take row-major matrices and C = alpha·op(A)·op(B) + beta·C, which maps directly onto our
 * products with the weight [N, K] in torch's layout: xwT is (x, Wᵀ), xw is (dy, W), the weight gradient is
 * (dyᵀ, x); accumulate is beta = 1. Heap arrays are passed in place (critical downcalls, no copy); the weights
 * are read where they lie (mmapped). oneDNN runs on its own OpenMP threads (libgomp, OMP_NUM_THREADS), while
 * the caller waits; set OMP_WAIT_POLICY=PASSIVE so those threads do not spin against the Java pool.
 */
public final class OneDnn implements GemmBackend {

    /** Fewer activation rows than this stay in Java: decoding is memory bound and tuned there, and a call has a fixed cost. */
    static final int MIN_M = 16;
    private static volatile int minRows = MIN_M;

    /** Sets the fewest rows this backend takes (tests push small cases through it with 1); returns the previous value. */
    public static int minRows(int rows) {
        int old = minRows;
        minRows = Math.max(1, rows);
        return old;
    }

    /** fp32 products only: F32 weights, exact as the Java kernels. */
    static final OneDnn FP32 = new OneDnn(false);
    /** Also BF16 weights by the bf16 GEMM, activations rounded to bf16. */
    static final OneDnn BF16 = new OneDnn(true);

    private static final MethodHandle SGEMM, GEMM_BF16;
    private static final String WHY_NOT;

    static {
        MethodHandle s = null, b = null;
        String why = null;
        String lib = System.getProperty("llamaadapter.onednn.lib", "libdnnl.so.2");
        try {
            SymbolLookup look = SymbolLookup.libraryLookup(lib, Arena.global());
            Linker linker = Linker.nativeLinker();
            FunctionDescriptor gemm = FunctionDescriptor.of(ValueLayout.JAVA_INT,
                    ValueLayout.JAVA_BYTE, ValueLayout.JAVA_BYTE, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG,
                    ValueLayout.JAVA_FLOAT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
                    ValueLayout.JAVA_FLOAT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG);
            // critical: heap arrays go to C as they are (no copy); the calls do not call back into Java
            Linker.Option critical = Linker.Option.critical(true);
            s = linker.downcallHandle(look.find("dnnl_sgemm").orElseThrow(() -> new IllegalStateException("no dnnl_sgemm in " + lib)),
                    gemm, critical);
            b = linker.downcallHandle(look.find("dnnl_gemm_bf16bf16f32")
                    .orElseThrow(() -> new IllegalStateException("no dnnl_gemm_bf16bf16f32 in " + lib)), gemm, critical);
        } catch (IllegalArgumentException | IllegalStateException | UnsatisfiedLinkError | IllegalCallerException e) {
            why = "oneDNN (" + lib + ") not loaded: " + e.getMessage();
            s = null;
            b = null;
        }
        SGEMM = s;
        GEMM_BF16 = b;
        WHY_NOT = why;
    }

    /** Whether libdnnl could be loaded with both GEMM functions. */
    public static boolean available() {
        return SGEMM != null;
    }

    /** Why it could not be (null when it could). */
    public static String unavailableReason() {
        return WHY_NOT;
    }

    private final boolean bf16;

    private OneDnn(boolean bf16) {
        this.bf16 = bf16;
    }

    @Override
    public String name() {
        return bf16 ? "onednn-bf16" : "onednn";
    }

    @Override
    public boolean xwT(float[] x, int M, WeightMatrix w, float[] y, boolean accumulate) {
        if (M < minRows || !takes(w)) return false;
        int N = w.rows(), K = w.cols();
        if (w.dtype() == DType.F32 && w.rowOrder() == null) sgemm('N', 'T', M, N, K, heap(x), K, w.data(), K, accumulate, heap(y), N);
        else gemmBf16('N', 'T', M, N, K, toBf16(x, M * K), K, bf16Weight(w), K, accumulate, heap(y), N);
        return true;
    }

    @Override
    public boolean xw(float[] dy, int M, WeightMatrix w, float[] dx, boolean accumulate) {
        if (M < minRows || !takes(w)) return false;
        int N = w.rows(), K = w.cols();
        if (w.dtype() == DType.F32 && w.rowOrder() == null) sgemm('N', 'N', M, K, N, heap(dy), N, w.data(), K, accumulate, heap(dx), K);
        else gemmBf16('N', 'N', M, K, N, toBf16(dy, M * N), N, bf16Weight(w), K, accumulate, heap(dx), K);
        return true;
    }

    @Override
    public boolean weightGrad(float[] dy, float[] x, int M, int N, int K, float[] dW) {
        if (M < minRows) return false;
        sgemm('T', 'N', N, K, M, heap(dy), N, heap(x), K, true, heap(dW), K);
        return true;
    }

    /**
     * fp32: F32 weights in their stored order. bf16: also BF16 weights as they lie, and every other weight (F16, the
     * GGUF block types, a reordered one) through a bf16 copy made per product ({@link #bf16Weight}), up to
     * {@link #MAX_COPY} elements: the many-row products of prompt processing and training then run on the bf16
     * GEMM (AVX512-BF16 or AMX) whatever the file's type, at the price of rounding each weight to bf16.
     */
    private boolean takes(WeightMatrix w) {
        if (w.rowOrder() == null && (w.dtype() == DType.F32 || (bf16 && w.dtype() == DType.BF16))) return true;
        return bf16 && (long) w.rows() * w.cols() <= MAX_COPY;
    }

    /** The largest weight copied to bf16 for a product (elements): 64 M, a 128 MB buffer; a vocabulary head may be larger. */
    static final long MAX_COPY = 64L << 20;

    private static final ThreadLocal<short[]> WEIGHT_BUF = ThreadLocal.withInitial(() -> new short[0]);

    /**
     * The weight as oneDNN reads it: BF16 weights in their stored order as they lie; others converted, logical row by
     * logical row (the row order applied, blocks dequantised), to bf16 in this thread's buffer (valid until its next call).
     */
    static MemorySegment bf16Weight(WeightMatrix w) {
        if (w.dtype() == DType.BF16 && w.rowOrder() == null) return w.data();
        int N = w.rows(), K = w.cols();
        short[] buf0 = WEIGHT_BUF.get();
        if (buf0.length < N * K) WEIGHT_BUF.set(buf0 = new short[N * K]);
        short[] buf = buf0; // [N, K] bf16 bits
        Parallel.forRange(N, (lo, hi) -> {
            float[] row = Scratch.floats(Scratch.ROWS, K); // [K] one logical row as fp32
            for (int r = lo; r < hi; r++) {
                w.row(r, row, 0);
                roundToBf16(row, 0, buf, r * K, K);
            }
        });
        return MemorySegment.ofArray(buf);
    }

    private static MemorySegment heap(float[] a) {
        return MemorySegment.ofArray(a);
    }

    private static void sgemm(char ta, char tb, long m, long n, long k, MemorySegment a, long lda, MemorySegment b, long ldb,
                              boolean accumulate, MemorySegment c, long ldc) {
        int st;
        Parallel.releaseCores(); // oneDNN runs on its own OpenMP threads
        try {
            st = (int) SGEMM.invokeExact((byte) ta, (byte) tb, m, n, k, 1f, a, lda, b, ldb, accumulate ? 1f : 0f, c, ldc);
        } catch (Throwable t) {
            throw new IllegalStateException("dnnl_sgemm failed", t);
        }
        if (st != 0) throw new IllegalStateException("dnnl_sgemm(" + ta + tb + ", " + m + "x" + n + "x" + k + ") returned status " + st);
    }

    private static void gemmBf16(char ta, char tb, long m, long n, long k, MemorySegment a, long lda, MemorySegment b, long ldb,
                                 boolean accumulate, MemorySegment c, long ldc) {
        int st;
        Parallel.releaseCores();
        try {
            st = (int) GEMM_BF16.invokeExact((byte) ta, (byte) tb, m, n, k, 1f, a, lda, b, ldb, accumulate ? 1f : 0f, c, ldc);
        } catch (Throwable t) {
            throw new IllegalStateException("dnnl_gemm_bf16bf16f32 failed", t);
        }
        if (st != 0)
            throw new IllegalStateException("dnnl_gemm_bf16bf16f32(" + ta + tb + ", " + m + "x" + n + "x" + k + ") returned status " + st);
    }

    // ---------------------------------------------------------------------------------------------
    // Activations to bf16 (round to nearest even), into a per-thread buffer that only ever grows
    // ---------------------------------------------------------------------------------------------

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Short> SH = ShortVector.SPECIES_PREFERRED.withShape(VectorShape.forBitSize(S.vectorBitSize() / 2));
    private static final ThreadLocal<short[]> BF16_BUF = ThreadLocal.withInitial(() -> new short[0]);

    /** x[0, n) rounded to bf16, in this thread's buffer (valid until its next call). */
    static MemorySegment toBf16(float[] x, int n) {
        short[] buf0 = BF16_BUF.get();
        if (buf0.length < n) BF16_BUF.set(buf0 = new short[n]);
        short[] buf = buf0; // [n] bf16 bits
        // in parallel, in pieces of whole vectors (a training product converts ~10^6 activations per call)
        int vecs = n / S.length();
        Parallel.forRange(vecs, (lo, hi) -> roundToBf16(x, lo * S.length(), buf, lo * S.length(), (hi - lo) * S.length()));
        for (int i = vecs * S.length(); i < n; i++) buf[i] = DType.floatToBf16(x[i]);
        return MemorySegment.ofArray(buf);
    }

    /** dst[d0 + i] = src[s0 + i] rounded to bf16 (nearest even; values are finite), i &lt; n. */
    private static void roundToBf16(float[] src, int s0, short[] dst, int d0, int n) {
        int i = 0;
        for (int ub = n - S.length(); i <= ub; i += S.length()) {
            IntVector b = FloatVector.fromArray(S, src, s0 + i).reinterpretAsInts();
            // round to nearest even: add 0x7fff plus the lowest kept bit, keep the upper half
            IntVector r = b.add(b.lanewise(VectorOperators.LSHR, 16).and(1)).add(0x7fff).lanewise(VectorOperators.LSHR, 16);
            ((ShortVector) r.convertShape(VectorOperators.I2S, SH, 0)).intoArray(dst, d0 + i);
        }
        for (; i < n; i++) dst[d0 + i] = DType.floatToBf16(src[s0 + i]);
    }
}

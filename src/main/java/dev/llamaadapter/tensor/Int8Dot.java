package dev.llamaadapter.tensor;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/**
 * The {@code int8} matmul backend: block-quantised weights (Q8_0, Q4_0, Q4_K, Q5_K, Q6_K) times activations quantised
 * to int8 per block of 32, as integer dot products (VNNI where the CPU has it), in native kernels compiled on
 * first use from {@code int8dot.c} ({@link NativeBuild}) and bound through FFM. This is how llama.cpp's CPU
 * backend multiplies quantised weights, and why it decodes them faster than a float kernel can: one vpdpbusd
 * does 32 multiply-adds where an fp32 FMA does 16, and no weight is converted to float.
 *
 * <p>Not exact: every activation is rounded to one of 255 levels of its block's largest magnitude, so a product
 * moves by about 5e-3 of its size (relative error on Gaussian inputs; the integer sums themselves are exact, and
 * each block's scale is applied once in fp32). Opt-in for that reason, like onednn-bf16; {@code bench --generate} reports its
 * top-1 agreement and largest logit difference against the exact path. Weights of other types (F32, BF16, F16,
 * the other GGUF types), products of more than {@link #MAX_M} rows, and those the backend does not take at all (xw,
 * the weight gradient: training) run on the next backend of a chain or the Java kernels, as before.
 */
public final class Int8Dot implements GemmBackend {

    static final Int8Dot INSTANCE = new Int8Dot();
    private static final int QK = 32;

    /**
     * The most activation rows a product may have to run on the vector kernels. Decoding (1 row a sequence) and
     * batches are what they are for; from about 128 rows (prompts) the Java register-tiled fp32 GEMM is faster on
     * the same weights (measured on the Xeon of the README, 2 threads, 5632 x 2048: Q4_K 72 G multiply-adds/s here
     * against 88 in Java at 128 rows, 74 against 55 at 64), so larger products go back to it, exact (or to the next
     * backend of a chain such as {@code int8+onednn-bf16}). With AMX (16 x 16 tiles of int8 products, 140-156 G
     * multiply-adds/s per core at 128 rows in int8dot.c) every product size runs here.
     */
    static final int VECTOR_MAX_M = 64;
    /**
     * From this many rows the library runs a product on AMX tiles (its AMX_MIN_M), where it has them: a tile product
     * costs the same for 1 to 16 activation rows, and from about 6 it beats the vector kernels (8 rows, in int8dot.c
     * alone: Q8_0 62 against 37 G multiply-adds/s per core, Q4_K 70 against 46; 4 rows: 32 against 37).
     */
    static final int AMX_MIN_M = 6;
    /** The most rows a product may have to run here: VECTOR_MAX_M, or no limit with AMX. */
    static final int MAX_M;

    /** The kernel source's parts beside int8dot.c: plain C definitions, vector kernels, AMX tiles. */
    static final String[] HEADERS = {"int8dot_ref.h", "int8dot_avx.h", "int8dot_amx.h"};

    private static final MethodHandle QUANTIZE, GEMM;
    private static final String WHY_NOT, PATH;
    /** Whether products of AMX_MIN_M rows or more run on AMX tiles (a CPU with AMX-INT8, a Linux that grants the tile state). */
    private static final boolean AMX;

    static {
        MethodHandle q = null, g = null;
        String why = null, path = null;
        boolean amx = false;
        try {
            SymbolLookup look = SymbolLookup.libraryLookup(NativeBuild.library("int8dot", HEADERS), Arena.global());
            Linker linker = Linker.nativeLinker();
            MethodHandle version = linker.downcallHandle(find(look, "int8dot_version"), FunctionDescriptor.of(ValueLayout.JAVA_INT));
            int v = (int) version.invokeExact();
            if (v != 3) throw new IllegalStateException("int8dot library version " + v + ", expected 3");
            MethodHandle p = linker.downcallHandle(find(look, "int8dot_path"), FunctionDescriptor.of(ValueLayout.ADDRESS));
            path = ((MemorySegment) p.invokeExact()).reinterpret(64).getString(0);
            amx = (int) linker.downcallHandle(find(look, "int8dot_amx"), FunctionDescriptor.of(ValueLayout.JAVA_INT)).invokeExact() == 1;
            // critical: heap arrays go to C in place, the calls are short and never call back into Java
            Linker.Option critical = Linker.Option.critical(true);
            ValueLayout A = ValueLayout.ADDRESS, J = ValueLayout.JAVA_LONG, I = ValueLayout.JAVA_INT;
            q = linker.downcallHandle(find(look, "int8dot_quantize"), FunctionDescriptor.ofVoid(A, J, J, A, A, A, A), critical);
            g = linker.downcallHandle(find(look, "int8dot_gemm"), FunctionDescriptor.of(I, I, A, J, J, J, J, A, A, A, A, J, A, J, I, I), critical);
        } catch (Throwable e) {
            why = "the int8 kernels could not be loaded: " + e.getMessage();
            q = g = null;
        }
        QUANTIZE = q;
        GEMM = g;
        WHY_NOT = why;
        PATH = path;
        AMX = amx;
        MAX_M = amx ? Integer.MAX_VALUE : VECTOR_MAX_M;
    }

    private static MemorySegment find(SymbolLookup look, String name) {
        return look.find(name).orElseThrow(() -> new IllegalStateException("no " + name + " in the int8dot library"));
    }

    private Int8Dot() {}

    /** Whether the kernels are built and bound. */
    public static boolean available() {
        return GEMM != null;
    }

    /** Why not (null when available). */
    public static String unavailableReason() {
        return WHY_NOT;
    }

    /** Whether products of {@link #AMX_MIN_M} rows or more run on AMX tiles. */
    public static boolean amx() {
        return AMX;
    }

    /** The vector path the library was compiled with (avx512-vnni, avx-vnni, avx2, scalar; and amx), null when unavailable. */
    public static String vectorPath() {
        return PATH;
    }

    @Override
    public String name() {
        return "int8";
    }

    /** The kernels' code for a weight type, -1 for one they do not read. */
    static int format(DType t) {
        return switch (t) {
            case Q8_0 -> 0;
            case Q4_0 -> 1;
            case Q4_K -> 2;
            case Q6_K -> 3;
            case Q5_K -> 4;
            default -> -1;
        };
    }

    @Override
    public boolean xwT(float[] x, int M, WeightMatrix w, float[] y, boolean accumulate) {
        int fmt = format(w.dtype());
        if (fmt < 0 || w.rowOrder() != null || M > MAX_M) return false;
        int N = w.rows(), K = w.cols();
        Quantized a = quantize(x, M, K);
        MemorySegment data = w.data(), out = MemorySegment.ofArray(y);
        long rowBytes = w.dtype().bytes(K);
        if (AMX && M >= AMX_MIN_M) {
            // tiles of 16 weight rows, one piece per thread: each call packs the activations for the tiles once
            int tiles = (N + 15) / 16;
            Parallel.forRange(tiles, Parallel.THREADS, (lo, hi) -> gemm(fmt, data, rowBytes, 16 * lo, Math.min(N, 16 * hi), K, a, M, out, N, accumulate, false));
        } else {
            Parallel.forRange(N, (lo, hi) -> gemm(fmt, data, rowBytes, lo, hi, K, a, M, out, N, accumulate, false));
        }
        return true;
    }

    @Override
    public boolean xw(float[] dy, int M, WeightMatrix w, float[] dx, boolean accumulate) {
        return false;
    }

    @Override
    public boolean weightGrad(float[] dy, float[] x, int M, int N, int K, float[] dW) {
        return false;
    }

    /**
     * Activations quantised per block of 32: q [M, K] int8, d [M, K/32] scales, s [M, K/16] sums of each 16 quants,
     * s32 [M, K/32] sums of each 32 (the offsets of Q4_0, Q4_K's mins and Q6_K leave through them).
     */
    record Quantized(byte[] q, float[] d, int[] s, int[] s32) {}

    private static final ThreadLocal<Quantized> BUF = ThreadLocal.withInitial(() -> new Quantized(new byte[0], new float[0], new int[0], new int[0]));

    /** x [M, K] quantised into this thread's buffers (valid until its next call); rows in parallel when there are many. */
    static Quantized quantize(float[] x, int M, int K) {
        if (K % QK != 0) throw new IllegalArgumentException("int8 activations: K = " + K + " is not a multiple of " + QK);
        int n = M * K;
        Quantized b = BUF.get();
        if (b.q().length < n) BUF.set(b = new Quantized(new byte[n], new float[n / QK], new int[n / 16], new int[n / QK]));
        Quantized buf = b;
        MemorySegment xs = MemorySegment.ofArray(x), q = MemorySegment.ofArray(buf.q()), d = MemorySegment.ofArray(buf.d()),
                s = MemorySegment.ofArray(buf.s()), s32 = MemorySegment.ofArray(buf.s32());
        if (M < 8) quantizeRows(xs, 0, M, K, q, d, s, s32);
        else Parallel.forRange(M, (lo, hi) -> quantizeRows(xs, lo, hi, K, q, d, s, s32));
        return buf;
    }

    private static void quantizeRows(MemorySegment x, int lo, int hi, int K, MemorySegment q, MemorySegment d, MemorySegment s, MemorySegment s32) {
        long e = (long) lo * K, n = (long) (hi - lo) * K;
        try {
            QUANTIZE.invokeExact(x.asSlice(4 * e, 4 * n), (long) (hi - lo), (long) K, q.asSlice(e, n), d.asSlice(4 * (e / QK), 4 * (n / QK)),
                    s.asSlice(4 * (e / 16), 4 * (n / 16)), s32.asSlice(4 * (e / QK), 4 * (n / QK)));
        } catch (Throwable t) {
            throw new IllegalStateException("int8dot_quantize failed", t);
        }
    }

    /** Rows [lo, hi) of the product; reference: the kernels' plain C definition instead of their vector code (tests). */
    static void gemm(int fmt, MemorySegment w, long rowBytes, int lo, int hi, int K, Quantized a, int M, MemorySegment y, int ldy,
                     boolean accumulate, boolean reference) {
        int st;
        try {
            st = (int) GEMM.invokeExact(fmt, w, rowBytes, (long) lo, (long) hi, (long) K, MemorySegment.ofArray(a.q()), MemorySegment.ofArray(a.d()),
                    MemorySegment.ofArray(a.s()), MemorySegment.ofArray(a.s32()), (long) M, y, (long) ldy, accumulate ? 1 : 0, reference ? 1 : 0);
        } catch (Throwable t) {
            throw new IllegalStateException("int8dot_gemm failed", t);
        }
        if (st != 0) throw new IllegalStateException("int8dot_gemm: format " + fmt + " unknown to the library");
        // each row of [lo, hi) is read once for all M activation rows (the batch shares it): BatchedDecodeReadsTest
        if (!reference) RowStream.WEIGHT_ROW_READS.add(hi - lo);
    }
}

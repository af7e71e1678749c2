package dev.llamaadapter.tensor;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import java.util.Arrays;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * Matrix products of fp32 activations with a frozen {@link WeightMatrix} (F32, F16, BF16, or a block
 * type), reading the weight where it lies (usually a memory-mapped file) and converting to fp32 on the fly,
 * never whole: block types are dequantised while packing and inside the streaming dots, by their
 * {@link BlockFormat}, called once per row (slice) so that the format's vector loops stay its own.
 * A weight with a row order (see WeightMatrix) is multiplied as stored and the output columns reordered.
 *
 * <p>Three forms, picked by the number of activation rows M (thresholds measured with MatmulSpeed on a
 * 2-core AVX-512 EPYC):
 * <ul>
 * <li>Many rows: a register-blocked GEMM. Output columns are cut in panels of {@link #NR} (two
 * vectors); for each panel and each reduction block of {@link #KC} the weight slice is packed, as fp32,
 * into a small per-worker buffer laid out [k][NR] and reused by every activation row. The micro-kernel
 * holds {@link #MR} rows x NR columns in 12 vector registers and, per k, loads two panel vectors and
 * broadcasts one activation per row. Used for xw from {@link #XW_AXPY_MAX_M} rows and for xwT from
 * {@link #XWT_TILES_MAX_M}.</li>
 * <li>xwT with a few to ~100 rows: 4 x 4 tiles of dot products ({@link #xwTTiles}). Four weight rows are
 * converted once into a small buffer (L1/L2) and dotted with four activation rows at a time; no transpose of the
 * weight is needed, which is what the xwT panels cost, so this beats the GEMM until M is large.</li>
 * <li>One to a few rows (decoding, one per sequence) are memory bound: each weight row is streamed once and
 * dotted with every activation row while in registers (xwT up to {@link #XWT_DOT_MAX_M} rows, {@link RowStream};
 * one row reads two weight rows side by side), or through an axpy (xw below {@link #XW_AXPY_MAX_M} rows,
 * {@link #xwAxpy}).</li>
 * </ul>
 * Work is split over output columns (and, when those are few, activation rows) with {@link Parallel}, so
 * the weight segment must be readable from the pool's threads (a shared, global or automatic arena, or a
 * mapped file from one; not a confined arena). Outputs must not alias inputs. Summation order differs
 * from a naive loop (blocks, vector lanes), so results match an exact product to about 1e-6 relative,
 * not bit for bit.
 *
 * <p>The three public products first offer themselves to the current {@link GemmBackend} (a native GEMM
 * library when one is chosen and present); what it declines runs here.
 */
public final class Matmul {
    private Matmul() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    /** Floats per vector (16 with AVX-512). */
    private static final int L = S.length();
    /** Ints, same lane count as S: bf16/f16 bits are widened to 32 bits here before becoming floats. */
    private static final VectorSpecies<Integer> SI = IntVector.SPECIES_PREFERRED;
    /** Shorts, same lane count as S (half the bits): one vector of bf16/f16 weights. */
    private static final VectorSpecies<Short> SH = ShortVector.SPECIES_PREFERRED.withShape(
            VectorShape.forBitSize(S.vectorBitSize() / 2));

    /** Activation rows per micro-tile. 6 rows x 2 vectors = 12 accumulators, leaving registers for the rest. */
    static final int MR = 6;
    /** Output columns per micro-tile and per packed panel: two vectors. */
    static final int NR = 2 * L;
    /** Reduction block: a packed panel is KC x NR floats (32 KiB with AVX-512), kept in L1/L2 while all rows use it. */
    static final int KC = 256;
    /**
     * Tasks a GEMM is split into (at most; the unit is a panel of NR columns, packed once whoever runs it): 16
     * per thread, so the idle tail at the end of each product, half a task on average, is short (bench small
     * f32, 12 steps, runs alternated: 4 per thread 357-416 ms, 16 per thread 335-367 ms).
     */
    static final int GEMM_CHUNKS = 16 * Parallel.THREADS;
    /**
     * xwT with at most this many rows streams each weight row once for all of them ({@link RowStream}). Measured on
     * tinyllama-shaped bf16 layers past the caches (tensor.DecodeSpeed, 2 cores): stream/tiles 1.40/1.67x of one
     * row's time at M = 2, 1.33/1.85x at 4, 2.17/2.09x at 6, 2.11/2.21x at 8, 3.10/2.76x at 12: tiles from 9 rows.
     */
    static final int XWT_DOT_MAX_M = 8;
    /** xwT with fewer rows than this uses dot-product tiles (measured: ahead of the GEMM up to M ~ 128). */
    static final int XWT_TILES_MAX_M = 128;
    /** xw with fewer rows than this uses the streaming axpy form (measured: the GEMM wins from M ~ 8 to 10). */
    static final int XW_AXPY_MAX_M = 8;

    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    // ---------------------------------------------------------------------------------------------
    // Public API
    // ---------------------------------------------------------------------------------------------

    /**
     * y[m, n] = Σ_k x[m, k] · w[n, k] for m < M. x is [M, w.cols()], y is [M, w.rows()], both row-major
     * from index 0; y is overwritten, or added to when accumulate.
     */
    public static void xwT(float[] x, int M, WeightMatrix w, float[] y, boolean accumulate) {
        xwT(x, M, w, y, accumulate, null);
    }

    /**
     * Element-wise work fused onto a product's output (an epilogue): apply(row, col, n) runs once for each
     * finished piece y[row, col .. col + n) of the output, every element exactly once. On the register-tiled
     * GEMM it runs right after a tile's last reduction block, while the tile is still in L1, which saves the
     * separate pass over memory that an element-wise kernel would make; on the other paths (few rows, a native
     * backend, reordered weights) it runs as one parallel pass after the product, with the same results.
     * Pieces of one row may come from different threads; an epilogue writes only its own piece of its outputs.
     */
    @FunctionalInterface
    public interface Epilogue {
        void apply(int row, int col, int n);
    }

    /** {@link #xwT(float[], int, WeightMatrix, float[], boolean)}, then e (null: none) on each finished piece of y. */
    public static void xwT(float[] x, int M, WeightMatrix w, float[] y, boolean accumulate, Epilogue e) {
        int N = w.rows(), K = w.cols();
        check(w, "x", x, M, K, "y", y, N);
        if (M == 0 || N == 0) return;
        if (K == 0) {
            if (!accumulate) Arrays.fill(y, 0, M * N, 0f);
        } else if (w.rowOrder() != null) {
            xwTReordered(x, M, w, y, accumulate);
        } else if (GemmBackend.current().xwT(x, M, w, y, accumulate)) {
            // the native product is done; e runs below
        } else if (M <= XWT_DOT_MAX_M) {
            xwTDot(x, M, w, y, accumulate);
        } else if (M < XWT_TILES_MAX_M) {
            xwTTiles(x, M, w, y, accumulate);
        } else {
            gemm(x, M, w, true, y, accumulate, GEMM_CHUNKS, e);
            return;
        }
        afterwards(M, N, e);
    }

    /** The unfused form of an epilogue: one parallel pass over the rows of a finished [M, N] output. */
    private static void afterwards(int M, int N, Epilogue e) {
        if (e != null) Parallel.forRange(M, (lo, hi) -> { for (int m = lo; m < hi; m++) e.apply(m, 0, N); });
    }

    /**
     * dx[m, k] = Σ_n dy[m, n] · w[n, k] for m < M (the input gradient of {@link #xwT}). dy is
     * [M, w.rows()], dx is [M, w.cols()]; dx is overwritten, or added to when accumulate.
     */
    public static void xw(float[] dy, int M, WeightMatrix w, float[] dx, boolean accumulate) {
        xw(dy, M, w, dx, accumulate, null);
    }

    /** {@link #xw(float[], int, WeightMatrix, float[], boolean)}, then e (null: none) on each finished piece of dx. */
    public static void xw(float[] dy, int M, WeightMatrix w, float[] dx, boolean accumulate, Epilogue e) {
        int N = w.rows(), K = w.cols();
        check(w, "dy", dy, M, N, "dx", dx, K);
        if (M == 0 || K == 0) return;
        if (N == 0) {
            if (!accumulate) Arrays.fill(dx, 0, M * K, 0f);
        } else if (w.rowOrder() != null) {
            xwReordered(dy, M, w, dx, accumulate);
        } else if (GemmBackend.current().xw(dy, M, w, dx, accumulate)) {
            // the native product is done; e runs below
        } else if (M < XW_AXPY_MAX_M) {
            xwAxpy(dy, M, w, dx, accumulate);
        } else {
            gemm(dy, M, w, false, dx, accumulate, GEMM_CHUNKS, e);
            return;
        }
        afterwards(M, K, e);
    }

    /**
     * dW[n, k] += Σ_m dy[m, n] · x[m, k] for m < M: the weight gradient of {@link #xwT} (y = x·Wᵀ), in the
     * weight's own [N, K] layout. dy is [M, N], x is [M, K], dW is [N, K] and is always added to, so
     * micro-batches accumulate. Each element is summed by one task in a fixed order: results do not depend
     * on the thread count or timing (resumed training stays bit-identical).
     */
    public static void weightGrad(float[] dy, float[] x, int M, int N, int K, float[] dW) {
        if (dy.length < (long) M * N || x.length < (long) M * K || dW.length < (long) N * K)
            throw new IllegalArgumentException("weight gradient [" + N + ", " + K + "] over " + M + " rows: buffers too small (dy "
                    + dy.length + ", x " + x.length + ", dW " + dW.length + ")");
        if (M == 0 || N == 0 || K == 0) return;
        if (GemmBackend.current().weightGrad(dy, x, M, N, K, dW)) return;
        weightGradJava(dy, x, M, N, K, dW, 4 * Parallel.THREADS);
    }

    /** {@link #weightGrad} on the Java kernels in at most `chunks` tasks, whatever the backend (sizes already checked). */
    static void weightGradJava(float[] dy, float[] x, int M, int N, int K, float[] dW, int chunks) {
        int tiles = (N + MR - 1) / MR;
        Parallel.forRange(tiles, chunks, (lo, hi) -> {
            // columns outer, so the x block [M, NR] read by every row tile of this task stays in L2
            for (int k0 = 0; k0 < K; k0 += NR) {
                boolean full = k0 + NR <= K;
                for (int t = lo; t < hi; t++) {
                    int n0 = t * MR, rows = Math.min(MR, N - n0);
                    if (full) gradTile(dy, N, n0, rows, x, K, k0, M, dW);
                    else for (int n = n0; n < n0 + rows; n++)
                        for (int k = k0; k < K; k++) {
                            float s = 0f;
                            for (int m = 0; m < M; m++) s += dy[m * N + n] * x[m * K + k];
                            dW[n * K + k] += s;
                        }
                }
            }
        });
    }

    /**
     * dW[n0 + i, k0 .. k0 + NR) += Σ_m dy[m, n0 + i] · x[m, k0 .. k0 + NR) for i < rows: the outer-product
     * form of {@link #tile} with dy's columns broadcast and x's rows loaded. Rows past `rows` repeat the
     * last real row and are not stored.
     */
    private static void gradTile(float[] dy, int N, int n0, int rows, float[] x, int K, int k0, int M, float[] dW) {
        int d0 = n0;
        int d1 = rows > 1 ? d0 + 1 : d0, d2 = rows > 2 ? d1 + 1 : d1, d3 = rows > 3 ? d2 + 1 : d2;
        int d4 = rows > 4 ? d3 + 1 : d3, d5 = rows > 5 ? d4 + 1 : d4;
        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z, c40 = z, c41 = z, c50 = z, c51 = z;
        for (int m = 0, xo = k0, dyo = 0; m < M; m++, xo += K, dyo += N) {
            FloatVector b0 = FloatVector.fromArray(S, x, xo);
            FloatVector b1 = FloatVector.fromArray(S, x, xo + L);
            FloatVector v;
            v = FloatVector.broadcast(S, dy[dyo + d0]); c00 = v.fma(b0, c00); c01 = v.fma(b1, c01);
            v = FloatVector.broadcast(S, dy[dyo + d1]); c10 = v.fma(b0, c10); c11 = v.fma(b1, c11);
            v = FloatVector.broadcast(S, dy[dyo + d2]); c20 = v.fma(b0, c20); c21 = v.fma(b1, c21);
            v = FloatVector.broadcast(S, dy[dyo + d3]); c30 = v.fma(b0, c30); c31 = v.fma(b1, c31);
            v = FloatVector.broadcast(S, dy[dyo + d4]); c40 = v.fma(b0, c40); c41 = v.fma(b1, c41);
            v = FloatVector.broadcast(S, dy[dyo + d5]); c50 = v.fma(b0, c50); c51 = v.fma(b1, c51);
        }
        int r = n0 * K + k0;
        FloatVector.fromArray(S, dW, r).add(c00).intoArray(dW, r); FloatVector.fromArray(S, dW, r + L).add(c01).intoArray(dW, r + L);
        if (rows > 1) { r += K; FloatVector.fromArray(S, dW, r).add(c10).intoArray(dW, r); FloatVector.fromArray(S, dW, r + L).add(c11).intoArray(dW, r + L); }
        if (rows > 2) { r += K; FloatVector.fromArray(S, dW, r).add(c20).intoArray(dW, r); FloatVector.fromArray(S, dW, r + L).add(c21).intoArray(dW, r + L); }
        if (rows > 3) { r += K; FloatVector.fromArray(S, dW, r).add(c30).intoArray(dW, r); FloatVector.fromArray(S, dW, r + L).add(c31).intoArray(dW, r + L); }
        if (rows > 4) { r += K; FloatVector.fromArray(S, dW, r).add(c40).intoArray(dW, r); FloatVector.fromArray(S, dW, r + L).add(c41).intoArray(dW, r + L); }
        if (rows > 5) { r += K; FloatVector.fromArray(S, dW, r).add(c50).intoArray(dW, r); FloatVector.fromArray(S, dW, r + L).add(c51).intoArray(dW, r + L); }
    }

    /**
     * xwT of a weight whose logical row n is stored row order[n]: the product with the stored matrix, then
     * its columns gathered into logical order (O(M·N) next to the O(M·N·K) product; the weight is not copied).
     */
    private static void xwTReordered(float[] x, int M, WeightMatrix w, float[] y, boolean accumulate) {
        int N = w.rows();
        int[] order = w.rowOrder();
        float[] t = new float[M * N];
        xwT(x, M, w.stored(), t, false);
        for (int m = 0; m < M; m++)
            for (int n = 0, o = m * N; n < N; n++) put(y, o + n, t[o + order[n]], accumulate);
    }

    /** xw of a row-ordered weight: dy's columns scattered into stored order, then the product with the stored matrix. */
    private static void xwReordered(float[] dy, int M, WeightMatrix w, float[] dx, boolean accumulate) {
        int N = w.rows();
        int[] order = w.rowOrder();
        float[] t = new float[M * N];
        for (int m = 0; m < M; m++)
            for (int n = 0, o = m * N; n < N; n++) t[o + order[n]] = dy[o + n];
        xw(t, M, w.stored(), dx, accumulate);
    }

    private static void check(WeightMatrix w, String inName, float[] in, int M, int inCols, String outName, float[] out,
                              int outCols) {
        if (M < 0) throw bad(w, "negative row count " + M);
        if (in == null) throw bad(w, inName + " is null");
        if (out == null) throw bad(w, outName + " is null");
        if (in.length < (long) M * inCols) throw bad(w, inName + " has " + in.length + " floats, need " + M + " x " + inCols);
        if (out.length < (long) M * outCols) throw bad(w, outName + " has " + out.length + " floats, need " + M + " x " + outCols);
    }

    private static IllegalArgumentException bad(WeightMatrix w, String what) {
        return new IllegalArgumentException("matmul with " + w.name() + " [" + w.rows() + ", " + w.cols() + "]: " + what);
    }

    // ---------------------------------------------------------------------------------------------
    // Blocked GEMM: c[M, nOut] (+)= a[M, red] · B[red, nOut], with B a packed view of w
    //   xwT: a = x [M, K], B[k][n] = w[n, k] (red = K = w.cols, nOut = w.rows)
    //   xw:  a = dy [M, N], B[n][k] = w[n, k] (red = w.rows, nOut = K = w.cols)
    // ---------------------------------------------------------------------------------------------

    /** Package-private, as are xwTDot, xwTTiles and xwAxpy, so tests and MatmulSpeed can run each form directly. */
    static void gemm(float[] a, int M, WeightMatrix w, boolean transposed, float[] c, boolean accumulate) {
        gemm(a, M, w, transposed, c, accumulate, GEMM_CHUNKS);
    }

    /**
     * gemm split in at most `chunks` tasks; 1 runs it on the calling thread, as a caller that is itself one
     * task of a parallel loop must (a pool thread waiting on nested tasks may run a sibling of its own task,
     * which would then share its per-thread buffers).
     */
    static void gemm(float[] a, int M, WeightMatrix w, boolean transposed, float[] c, boolean accumulate, int chunks) {
        gemm(a, M, w, transposed, c, accumulate, chunks, null);
    }

    /** gemm with an epilogue (null: none) run on each output tile after its last reduction block. */
    static void gemm(float[] a, int M, WeightMatrix w, boolean transposed, float[] c, boolean accumulate, int chunks, Epilogue e) {
        final int red = transposed ? w.cols() : w.rows();
        final int nOut = transposed ? w.rows() : w.cols();
        final int nPanels = (nOut + NR - 1) / NR;
        final int tiles = (M + MR - 1) / MR;
        // With few panels (narrow outputs) also split the rows so every thread has work; each row group
        // then packs its own copy of the panel, which is cheap next to >= 8 tiles of kernel work.
        int groups = 1;
        if (nPanels < 2 * Parallel.THREADS && chunks > 1)
            groups = Math.max(1, Math.min(tiles / 8, (4 * Parallel.THREADS + nPanels - 1) / nPanels));
        final int mGroups = groups;
        Parallel.forRange(nPanels * mGroups, chunks, (lo, hi) -> {
            float[] panel = Scratch.floats(Scratch.PANEL, KC * NR);                   // [KC][NR]: B[k0 + k][n0 + j] at k·NR + j, zero for j >= nw
            float[] stage = transposed ? Scratch.floats(Scratch.STAGE, NR * KC) : null; // [NR][KC]: w rows n0.. before the transpose
            float[] edge = Scratch.floats(Scratch.EDGE, MR * NR);                     // [MR][NR]: output tile of the last, narrow panel
            for (int u = lo; u < hi; u++) {
                int p = u / mGroups, g = u % mGroups;
                int n0 = p * NR, nw = Math.min(NR, nOut - n0);
                int mLo = (int) ((long) tiles * g / mGroups) * MR;
                int mHi = Math.min(M, (int) ((long) tiles * (g + 1) / mGroups) * MR);
                for (int k0 = 0; k0 < red; k0 += KC) {
                    int kc = Math.min(KC, red - k0);
                    if (transposed) packTransposed(w, n0, nw, k0, kc, stage, panel);
                    else packDirect(w, n0, nw, k0, kc, panel);
                    boolean load = accumulate || k0 > 0; // later blocks add to the partial sums already in c
                    boolean last = k0 + kc >= red;
                    for (int m0 = mLo; m0 < mHi; m0 += MR) {
                        int rows = Math.min(MR, mHi - m0);
                        if (nw == NR) {
                            tile(a, red, m0 * red + k0, rows, panel, kc, c, nOut, m0 * nOut + n0, load);
                        } else { // run the full-width kernel on a copy of the tile; columns past nw are dropped
                            if (load) for (int i = 0; i < rows; i++) System.arraycopy(c, (m0 + i) * nOut + n0, edge, i * NR, nw);
                            tile(a, red, m0 * red + k0, rows, panel, kc, edge, NR, 0, load);
                            for (int i = 0; i < rows; i++) System.arraycopy(edge, i * NR, c, (m0 + i) * nOut + n0, nw);
                        }
                        if (last && e != null) for (int i = 0; i < rows; i++) e.apply(m0 + i, n0, nw); // the tile, still in L1
                    }
                }
            }
        });
    }

    /**
     * The micro-kernel: c[i, j] (+)= Σ_k a[aOff + i·lda + k] · panel[k·NR + j] for i < rows, j < NR, k < kc,
     * where c[i, j] is c[cOff + i·ldc + j]. Rows past `rows` (the ragged end of M) recompute the last
     * real row and are neither loaded nor stored, so the loop is always the full 6-row one. The 12
     * accumulators are locals, which C2 keeps in registers; no helper takes or returns a vector, so
     * nothing is boxed even when a helper is not inlined.
     */
    private static void tile(float[] a, int lda, int aOff, int rows, float[] panel, int kc, float[] c, int ldc, int cOff,
                             boolean load) {
        int a0 = aOff;
        int a1 = rows > 1 ? a0 + lda : a0;
        int a2 = rows > 2 ? a1 + lda : a1;
        int a3 = rows > 3 ? a2 + lda : a2;
        int a4 = rows > 4 ? a3 + lda : a3;
        int a5 = rows > 5 ? a4 + lda : a4;
        int r0 = cOff, r1 = r0 + ldc, r2 = r1 + ldc, r3 = r2 + ldc, r4 = r3 + ldc, r5 = r4 + ldc;

        FloatVector z = FloatVector.zero(S);
        FloatVector c00 = z, c01 = z, c10 = z, c11 = z, c20 = z, c21 = z, c30 = z, c31 = z, c40 = z, c41 = z, c50 = z, c51 = z;
        if (load) {
            c00 = FloatVector.fromArray(S, c, r0); c01 = FloatVector.fromArray(S, c, r0 + L);
            if (rows > 1) { c10 = FloatVector.fromArray(S, c, r1); c11 = FloatVector.fromArray(S, c, r1 + L); }
            if (rows > 2) { c20 = FloatVector.fromArray(S, c, r2); c21 = FloatVector.fromArray(S, c, r2 + L); }
            if (rows > 3) { c30 = FloatVector.fromArray(S, c, r3); c31 = FloatVector.fromArray(S, c, r3 + L); }
            if (rows > 4) { c40 = FloatVector.fromArray(S, c, r4); c41 = FloatVector.fromArray(S, c, r4 + L); }
            if (rows > 5) { c50 = FloatVector.fromArray(S, c, r5); c51 = FloatVector.fromArray(S, c, r5 + L); }
        }

        for (int k = 0, p = 0; k < kc; k++, p += NR) {
            FloatVector b0 = FloatVector.fromArray(S, panel, p);
            FloatVector b1 = FloatVector.fromArray(S, panel, p + L);
            FloatVector v;
            v = FloatVector.broadcast(S, a[a0 + k]); c00 = v.fma(b0, c00); c01 = v.fma(b1, c01);
            v = FloatVector.broadcast(S, a[a1 + k]); c10 = v.fma(b0, c10); c11 = v.fma(b1, c11);
            v = FloatVector.broadcast(S, a[a2 + k]); c20 = v.fma(b0, c20); c21 = v.fma(b1, c21);
            v = FloatVector.broadcast(S, a[a3 + k]); c30 = v.fma(b0, c30); c31 = v.fma(b1, c31);
            v = FloatVector.broadcast(S, a[a4 + k]); c40 = v.fma(b0, c40); c41 = v.fma(b1, c41);
            v = FloatVector.broadcast(S, a[a5 + k]); c50 = v.fma(b0, c50); c51 = v.fma(b1, c51);
        }

        c00.intoArray(c, r0); c01.intoArray(c, r0 + L);
        if (rows > 1) { c10.intoArray(c, r1); c11.intoArray(c, r1 + L); }
        if (rows > 2) { c20.intoArray(c, r2); c21.intoArray(c, r2 + L); }
        if (rows > 3) { c30.intoArray(c, r3); c31.intoArray(c, r3 + L); }
        if (rows > 4) { c40.intoArray(c, r4); c41.intoArray(c, r4 + L); }
        if (rows > 5) { c50.intoArray(c, r5); c51.intoArray(c, r5 + L); }
    }

    /**
     * xwT panel: panel[k][j] = w[n0 + j, k0 + k], a transpose (rows of w become panel columns). The
     * rows are first converted into stage [NR][KC] with contiguous vector loads, then transposed
     * float to float; stage rows j >= nw are zero, so the narrow last panel needs no special case.
     */
    private static void packTransposed(WeightMatrix w, int n0, int nw, int k0, int kc, float[] stage, float[] panel) {
        long K = w.cols();
        for (int j = 0; j < nw; j++) toFloats(w.data(), w.dtype(), (n0 + j) * K + k0, stage, j * KC, kc);
        if (nw < NR) Arrays.fill(stage, nw * KC, NR * KC, 0f);
        // Scalar on purpose: measured faster than gathers (slow on this AMD) for this [NR][KC] -> [KC][NR] step.
        for (int k = 0; k < kc; k++) {
            int p = k * NR;
            for (int j = 0; j < NR; j++) panel[p + j] = stage[j * KC + k];
        }
    }

    /** xw panel: panel[r][j] = w[k0 + r, n0 + j] (rows of w are the reduction): a straight copy, converted. */
    private static void packDirect(WeightMatrix w, int n0, int nw, int k0, int kc, float[] panel) {
        long K = w.cols();
        for (int r = 0; r < kc; r++) toFloats(w.data(), w.dtype(), (k0 + r) * K + n0, panel, r * NR, nw);
        if (nw < NR) for (int r = 0; r < kc; r++) Arrays.fill(panel, r * NR + nw, (r + 1) * NR, 0f);
    }

    // ---------------------------------------------------------------------------------------------
    // Streaming forms for few rows
    // ---------------------------------------------------------------------------------------------

    /** xwT for decoding's few rows: each weight row streamed once for all M rows ({@link RowStream}). */
    static void xwTDot(float[] x, int M, WeightMatrix w, float[] y, boolean accumulate) {
        RowStream.xwT(x, M, w, y, accumulate);
    }

    private static void put(float[] y, int i, float v, boolean accumulate) {
        y[i] = accumulate ? y[i] + v : v;
    }

    /**
     * xwT for a few rows (XWT_DOT_MAX_M < M < XWT_TILES_MAX_M) as 4 x 4 tiles of dot products: four
     * weight rows are converted once into a cache-resident buffer and each group of four x rows is dotted
     * with all four: 16 accumulators, 8 loads per 16 fma. No transpose is needed, unlike gemm's panels;
     * for large M gemm wins again, because here every 4 weight rows re-read all of x.
     */
    static void xwTTiles(float[] x, int M, WeightMatrix w, float[] y, boolean accumulate) {
        int N = w.rows(), K = w.cols();
        MemorySegment d = w.data();
        DType t = w.dtype();
        RowStream.WEIGHT_ROW_READS.add(N); // each weight row converted once, for all M rows
        Parallel.forRange((N + 3) / 4, 4 * Parallel.THREADS, (lo, hi) -> {
            float[] rows = Scratch.floats(Scratch.ROWS, 4 * K); // [4][K]: weight rows n0 .. n0+3 as fp32 (stale past nr)
            for (int b = lo; b < hi; b++) {
                int n0 = 4 * b, nr = Math.min(4, N - n0);
                for (int j = 0; j < nr; j++) toFloats(d, t, (long) (n0 + j) * K, rows, j * K, K);
                for (int m0 = 0; m0 < M; m0 += 4) dotTile(x, K, m0, Math.min(4, M - m0), rows, nr, y, N, n0, accumulate);
            }
        });
    }

    /**
     * y[m0 + i, n0 + j] (+)= Σ_k x[m0 + i, k] · rows[j·K + k] for i < mr, j < nr (both at most 4). Rows
     * past mr or nr repeat the last real one and are not stored, so the loop is always the 4 x 4 one.
     */
    private static void dotTile(float[] x, int K, int m0, int mr, float[] rows, int nr, float[] y, int N, int n0,
                                boolean accumulate) {
        int x0 = m0 * K;
        int x1 = mr > 1 ? x0 + K : x0, x2 = mr > 2 ? x1 + K : x1, x3 = mr > 3 ? x2 + K : x2;
        int w0 = 0;
        int w1 = nr > 1 ? w0 + K : w0, w2 = nr > 2 ? w1 + K : w1, w3 = nr > 3 ? w2 + K : w2;
        FloatVector z = FloatVector.zero(S);
        FloatVector s00 = z, s01 = z, s02 = z, s03 = z, s10 = z, s11 = z, s12 = z, s13 = z;
        FloatVector s20 = z, s21 = z, s22 = z, s23 = z, s30 = z, s31 = z, s32 = z, s33 = z;
        int k = 0;
        for (int ub = K - L; k <= ub; k += L) {
            FloatVector b0 = FloatVector.fromArray(S, rows, w0 + k), b1 = FloatVector.fromArray(S, rows, w1 + k);
            FloatVector b2 = FloatVector.fromArray(S, rows, w2 + k), b3 = FloatVector.fromArray(S, rows, w3 + k);
            FloatVector a;
            a = FloatVector.fromArray(S, x, x0 + k); s00 = a.fma(b0, s00); s01 = a.fma(b1, s01); s02 = a.fma(b2, s02); s03 = a.fma(b3, s03);
            a = FloatVector.fromArray(S, x, x1 + k); s10 = a.fma(b0, s10); s11 = a.fma(b1, s11); s12 = a.fma(b2, s12); s13 = a.fma(b3, s13);
            a = FloatVector.fromArray(S, x, x2 + k); s20 = a.fma(b0, s20); s21 = a.fma(b1, s21); s22 = a.fma(b2, s22); s23 = a.fma(b3, s23);
            a = FloatVector.fromArray(S, x, x3 + k); s30 = a.fma(b0, s30); s31 = a.fma(b1, s31); s32 = a.fma(b2, s32); s33 = a.fma(b3, s33);
        }
        int tail = k;
        int r0 = m0 * N + n0, r1 = r0 + N, r2 = r1 + N, r3 = r2 + N;
        finish(y, r0, nr, x, x0, rows, tail, K, accumulate, sum(s00), sum(s01), sum(s02), sum(s03));
        if (mr > 1) finish(y, r1, nr, x, x1, rows, tail, K, accumulate, sum(s10), sum(s11), sum(s12), sum(s13));
        if (mr > 2) finish(y, r2, nr, x, x2, rows, tail, K, accumulate, sum(s20), sum(s21), sum(s22), sum(s23));
        if (mr > 3) finish(y, r3, nr, x, x3, rows, tail, K, accumulate, sum(s30), sum(s31), sum(s32), sum(s33));
    }

    private static float sum(FloatVector v) {
        return Vec.sum(v);
    }

    /** Stores one output row of a dot tile: the vector sums s0..s3 plus the scalar tail of each dot. */
    private static void finish(float[] y, int yo, int nr, float[] x, int xo, float[] rows, int tail, int K, boolean accumulate,
                               float s0, float s1, float s2, float s3) {
        put(y, yo, s0 + dotTail(x, xo, rows, 0, tail, K), accumulate);
        if (nr > 1) put(y, yo + 1, s1 + dotTail(x, xo, rows, K, tail, K), accumulate);
        if (nr > 2) put(y, yo + 2, s2 + dotTail(x, xo, rows, 2 * K, tail, K), accumulate);
        if (nr > 3) put(y, yo + 3, s3 + dotTail(x, xo, rows, 3 * K, tail, K), accumulate);
    }

    /** Σ x[xo + k] · rows[ro + k] for tail <= k < K (the part shorter than a vector). */
    private static float dotTail(float[] x, int xo, float[] rows, int ro, int tail, int K) {
        float s = 0;
        for (int k = tail; k < K; k++) s += x[xo + k] * rows[ro + k];
        return s;
    }

    /**
     * dx by axpy: dx[m, :] += dy[m, n] · w[n, :] for each weight row n. Each worker streams a contiguous
     * range of weight rows (one pass over memory, friendly to the prefetchers) into its own partial
     * sum, and the partial sums are added at the end.
     */
    static void xwAxpy(float[] dy, int M, WeightMatrix w, float[] dx, boolean accumulate) {
        int N = w.rows(), K = w.cols();
        MemorySegment d = w.data();
        DType t = w.dtype();
        int parts = Math.max(1, Math.min(Parallel.THREADS, N / 16));
        float[][] partial = new float[parts][]; // [parts][M·K]: each worker's Σ over its weight rows
        Parallel.forRange(parts, parts, (lo, hi) -> {
            float[] row = new float[K];         // [K]: weight row n as fp32
            for (int p = lo; p < hi; p++) {
                float[] acc = new float[M * K];
                for (int n = (int) ((long) N * p / parts), end = (int) ((long) N * (p + 1) / parts); n < end; n++) {
                    toFloats(d, t, (long) n * K, row, 0, K);
                    for (int m = 0; m < M; m++) axpy(dy[m * N + n], row, K, acc, m * K);
                }
                partial[p] = acc;
            }
        });
        if (!accumulate) Arrays.fill(dx, 0, M * K, 0f);
        for (float[] acc : partial) axpy(1f, acc, M * K, dx, 0);
    }

    /** y[yo + i] += g · v[i], i < n. */
    private static void axpy(float g, float[] v, int n, float[] y, int yo) {
        FloatVector vg = FloatVector.broadcast(S, g);
        int i = 0;
        for (int ub = n - L; i <= ub; i += L)
            FloatVector.fromArray(S, v, i).fma(vg, FloatVector.fromArray(S, y, yo + i)).intoArray(y, yo + i);
        for (; i < n; i++) y[yo + i] += g * v[i];
    }

    // ---------------------------------------------------------------------------------------------
    // Weight conversion to fp32
    // ---------------------------------------------------------------------------------------------

    /**
     * dst[off + i] = weight element e + i as fp32, i < n. Every kernel reads weights through this, one
     * row slice per call: the dtype switch sits outside the vector loops and no vector crosses a method
     * boundary, so a JIT that sees several dtypes (or declines to inline) cannot slow the loops down.
     */
    static void toFloats(MemorySegment d, DType t, long e, float[] dst, int off, int n) {
        int i = 0;
        switch (t) {
            case F32 -> MemorySegment.copy(d, WeightMatrix.F32, e * 4, dst, off, n);
            case BF16 -> { // bf16 is the upper half of an fp32: widen and shift (the sign-extension bits fall off)
                for (int ub = n - L; i <= ub; i += L) {
                    IntVector b = (IntVector) ShortVector.fromMemorySegment(SH, d, (e + i) * 2, LE)
                            .convertShape(VectorOperators.S2I, SI, 0);
                    b.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats().intoArray(dst, off + i);
                }
                for (; i < n; i++) dst[off + i] = DType.bf16ToFloat(d.getAtIndex(WeightMatrix.I16, e + i));
            }
            case F16 -> {
                // IEEE half to fp32 exactly: put exponent and mantissa at their fp32 places and multiply by
                // 2^(127-15), which rebiases normals and turns subnormal halves (read as fp32 subnormals)
                // into normal fp32; infinities/NaNs (exponent 31) get the all-ones fp32 exponent.
                for (int ub = n - L; i <= ub; i += L) {
                    IntVector h = (IntVector) ShortVector.fromMemorySegment(SH, d, (e + i) * 2, LE)
                            .convertShape(VectorOperators.S2I, SI, 0);
                    IntVector em = h.and(0x7fff).lanewise(VectorOperators.LSHL, 13);
                    IntVector f = em.reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts()
                            .lanewise(VectorOperators.OR, 0x7f800000, em.compare(VectorOperators.GE, 0x0f800000));
                    f.or(h.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats().intoArray(dst, off + i);
                }
                for (; i < n; i++) dst[off + i] = Float.float16ToFloat(d.getAtIndex(WeightMatrix.I16, e + i));
            }
            default -> t.format().dequantize(d, e, dst, off, n); // a block type (IllegalStateException for others)
        }
    }
}

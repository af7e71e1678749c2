package dev.llamaadapter.tensor;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/**
 * xwT for the few activation rows of decoding (one per sequence in the batch): every weight row is streamed
 * from memory once and, while its values are in registers, dotted with up to {@link #MR} activation rows
 * (a group; more rows run group after group over the same weight row, now in L1). A decoding step is a
 * stream of weight reads, so the cost of n sequences should stay near the cost of one: converting a weight
 * vector once for four activation rows is what makes that hold (converting it into a buffer first, as the
 * tile form does, costs a store and a load per vector and lost to this from 2 up to ~32 rows).
 *
 * <p>One kernel per dtype with the conversion written out, as in {@link Matmul}: the JIT compiles each for
 * one dtype. Block types call their format's {@link BlockFormat#dot4}, which decodes each block once for the
 * group. {@link #WEIGHT_ROW_READS} counts weight rows read (each once per product, whatever the group count),
 * so a test can see that a batched step shares the reads.
 */
public final class RowStream {
    private RowStream() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    private static final VectorSpecies<Integer> SI = IntVector.SPECIES_PREFERRED;
    private static final VectorSpecies<Short> SH = ShortVector.SPECIES_PREFERRED.withShape(VectorShape.forBitSize(S.vectorBitSize() / 2));
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    /** Activation rows dotted with one weight row per pass: 4 accumulators per weight vector loaded. */
    static final int MR = 4;

    /**
     * Weight rows streamed from memory by the few-row products (this class and Matmul's dot tiles) since the start:
     * a test reads it to see that one batched decoding step reads each weight row once, whatever its row count.
     */
    public static final java.util.concurrent.atomic.LongAdder WEIGHT_ROW_READS = new java.util.concurrent.atomic.LongAdder();

    /**
     * y[m, n] (+)= Σ_k x[m, k] · w[n, k] for m &lt; M, n &lt; w.rows(): x [M, K], y [M, N] row-major. The weight
     * is read in its stored row order (a caller with a row order reorders the output).
     */
    static void xwT(float[] x, int M, WeightMatrix w, float[] y, boolean accumulate) {
        int N = w.rows(), K = w.cols();
        MemorySegment d = w.data();
        // 16 chunks per thread: decoding is a stream of ~150 such products per token, and the last chunk of each
        // leaves the other cores idle; finer chunks shorten that tail (measured on tinyllama bf16: 4 per thread
        // 77-90 ms per token, 16 per thread 76-81; claiming a chunk costs well under a microsecond)
        int chunks = 16 * Parallel.THREADS;
        WEIGHT_ROW_READS.add(N);
        int[][] g = groups(M, K); // [groups][MR] offsets in x of each group's rows, shared read-only by the tasks
        if (M == 1 && PAIRED) {
            one(x, w, y, accumulate, chunks);
            return;
        }
        switch (w.dtype()) {
            case F32 -> Parallel.forRange(N, chunks, (lo, hi) -> {
                float[] s = new float[MR]; // [MR] one group's sums
                for (int n = lo; n < hi; n++)
                    for (int m0 = 0; m0 < M; m0 += MR) {
                        int mr = Math.min(MR, M - m0);
                        if (mr == 1) put(y, m0 * N + n, dotF32(x, m0 * K, d, (long) n * K, K), accumulate);
                        else {
                            dotF32x4(x, g[m0 / MR], d, (long) n * K, K, s);
                            store(y, m0, mr, N, n, s, accumulate);
                        }
                    }
            });
            case BF16 -> Parallel.forRange(N, chunks, (lo, hi) -> {
                float[] s = new float[2 * MR]; // [2, MR] the pair's group sums
                if (PAIRED) { // two weight rows side by side, as for one row
                    int half = (hi - lo) / 2;
                    for (int n = lo; n < lo + half; n++)
                        for (int m0 = 0; m0 < M; m0 += MR) {
                            int mr = Math.min(MR, M - m0);
                            dotBF16x4Pair(x, g[m0 / MR], d, (long) n * K, (long) (n + half) * K, K, s);
                            for (int i = 0; i < mr; i++) {
                                put(y, (m0 + i) * N + n, s[i], accumulate);
                                put(y, (m0 + i) * N + n + half, s[MR + i], accumulate);
                            }
                        }
                    if ((hi - lo) % 2 != 0)
                        for (int m0 = 0; m0 < M; m0 += MR) {
                            int mr = Math.min(MR, M - m0);
                            dotBF16x4(x, g[m0 / MR], d, (long) (hi - 1) * K, K, s);
                            store(y, m0, mr, N, hi - 1, s, accumulate);
                        }
                    return;
                }
                for (int n = lo; n < hi; n++)
                    for (int m0 = 0; m0 < M; m0 += MR) {
                        int mr = Math.min(MR, M - m0);
                        if (mr == 1) put(y, m0 * N + n, dotBF16(x, m0 * K, d, (long) n * K, K), accumulate);
                        else {
                            dotBF16x4(x, g[m0 / MR], d, (long) n * K, K, s);
                            store(y, m0, mr, N, n, s, accumulate);
                        }
                    }
            });
            case F16 -> Parallel.forRange(N, chunks, (lo, hi) -> {
                float[] s = new float[MR];
                for (int n = lo; n < hi; n++)
                    for (int m0 = 0; m0 < M; m0 += MR) {
                        int mr = Math.min(MR, M - m0);
                        if (mr == 1) put(y, m0 * N + n, dotF16(x, m0 * K, d, (long) n * K, K), accumulate);
                        else {
                            dotF16x4(x, g[m0 / MR], d, (long) n * K, K, s);
                            store(y, m0, mr, N, n, s, accumulate);
                        }
                    }
            });
            default -> { // a block type: its format's dots, decoding each block once per group
                BlockFormat f = w.dtype().format();
                long rowBytes = w.dtype().bytes(K);
                Parallel.forRange(N, chunks, (lo, hi) -> {
                    float[] s = new float[MR], s2 = new float[MR]; // [MR] each: the group sums of a pair's two rows
                    if (PAIRED) { // two far-apart weight rows in turn, as for one row (fused pairs measured no better)
                        int half = (hi - lo) / 2;
                        for (int n = lo; n < lo + half; n++)
                            for (int m0 = 0; m0 < M; m0 += MR) {
                                int mr = Math.min(MR, M - m0);
                                f.dot4(x, g[m0 / MR], d, (n + half) * rowBytes, K, s2);
                                f.dot4(x, g[m0 / MR], d, n * rowBytes, K, s);
                                for (int i = 0; i < mr; i++) {
                                    put(y, (m0 + i) * N + n, s[i], accumulate);
                                    put(y, (m0 + i) * N + n + half, s2[i], accumulate);
                                }
                            }
                        if ((hi - lo) % 2 != 0)
                            for (int m0 = 0; m0 < M; m0 += MR) {
                                int mr = Math.min(MR, M - m0);
                                f.dot4(x, g[m0 / MR], d, (hi - 1) * rowBytes, K, s);
                                store(y, m0, mr, N, hi - 1, s, accumulate);
                            }
                        return;
                    }
                    for (int n = lo; n < hi; n++)
                        for (int m0 = 0; m0 < M; m0 += MR) {
                            int mr = Math.min(MR, M - m0);
                            if (mr == 1) put(y, m0 * N + n, f.dot(x, m0 * K, d, n * rowBytes, K), accumulate);
                            else {
                                f.dot4(x, g[m0 / MR], d, n * rowBytes, K, s);
                                store(y, m0, mr, N, n, s, accumulate);
                            }
                        }
                });
            }
        }
    }

    /**
     * One activation row (a single sequence): each task's rows [lo, hi) are read as two streams side by side, row
     * n with row n + half. One stream per core left this machine's memory half idle (tinyllama-shaped bf16
     * layers, 1 GB: 17.4-19.3 GB/s with one stream, 21.5-23.8 with two, 21.4-22.5 with four).
     */
    private static void one(float[] x, WeightMatrix w, float[] y, boolean accumulate, int chunks) {
        int N = w.rows(), K = w.cols();
        MemorySegment d = w.data();
        switch (w.dtype()) {
            case F32 -> Parallel.forRange(N, chunks, (lo, hi) -> {
                float[] s = new float[2]; // [2] the pair's sums
                int half = (hi - lo) / 2;
                for (int n = lo; n < lo + half; n++) {
                    dotF32Pair(x, d, (long) n * K, (long) (n + half) * K, K, s);
                    put(y, n, s[0], accumulate);
                    put(y, n + half, s[1], accumulate);
                }
                if ((hi - lo) % 2 != 0) put(y, hi - 1, dotF32(x, 0, d, (long) (hi - 1) * K, K), accumulate);
            });
            case BF16 -> Parallel.forRange(N, chunks, (lo, hi) -> {
                float[] s = new float[2];
                int half = (hi - lo) / 2;
                for (int n = lo; n < lo + half; n++) {
                    dotBF16Pair(x, d, (long) n * K, (long) (n + half) * K, K, s);
                    put(y, n, s[0], accumulate);
                    put(y, n + half, s[1], accumulate);
                }
                if ((hi - lo) % 2 != 0) put(y, hi - 1, dotBF16(x, 0, d, (long) (hi - 1) * K, K), accumulate);
            });
            case F16 -> Parallel.forRange(N, chunks, (lo, hi) -> {
                float[] s = new float[2];
                int half = (hi - lo) / 2;
                for (int n = lo; n < lo + half; n++) {
                    dotF16Pair(x, d, (long) n * K, (long) (n + half) * K, K, s);
                    put(y, n, s[0], accumulate);
                    put(y, n + half, s[1], accumulate);
                }
                if ((hi - lo) % 2 != 0) put(y, hi - 1, dotF16(x, 0, d, (long) (hi - 1) * K, K), accumulate);
            });
            default -> {
                BlockFormat f = w.dtype().format();
                long rowBytes = w.dtype().bytes(K);
                Parallel.forRange(N, chunks, (lo, hi) -> {
                    float[] s = new float[2];
                    int half = (hi - lo) / 2;
                    for (int n = lo; n < lo + half; n++) {
                        f.dot2(x, d, n * rowBytes, (n + half) * rowBytes, K, s);
                        put(y, n, s[0], accumulate);
                        put(y, n + half, s[1], accumulate);
                    }
                    if ((hi - lo) % 2 != 0) put(y, hi - 1, f.dot(x, 0, d, (hi - 1) * rowBytes, K), accumulate);
                });
            }
        }
    }

    /**
     * The offsets in x of each group's activation rows (group i: rows 4i .. 4i + 3), rows past M repeating the
     * group's last: their sums are computed and dropped, so the loop is always the 4-row one. Made once per product.
     */
    static int[][] groups(int M, int K) {
        int[][] g = new int[(M + MR - 1) / MR][MR];
        for (int m0 = 0; m0 < M; m0 += MR)
            for (int i = 0; i < MR; i++) g[m0 / MR][i] = Math.min(m0 + i, M - 1) * K;
        return g;
    }

    private static void store(float[] y, int m0, int mr, int N, int n, float[] s, boolean accumulate) {
        for (int i = 0; i < mr; i++) put(y, (m0 + i) * N + n, s[i], accumulate);
    }

    private static void put(float[] y, int i, float v, boolean accumulate) {
        y[i] = accumulate ? y[i] + v : v;
    }

    // One-row dots (a single sequence): two accumulators, so consecutive fmas do not wait on each other.

    static float dotF32(float[] x, int xo, MemorySegment d, long e, int K) {
        FloatVector s0 = FloatVector.zero(S), s1 = s0;
        int k = 0;
        for (int ub = K - 2 * L; k <= ub; k += 2 * L) {
            s0 = FloatVector.fromMemorySegment(S, d, (e + k) * 4, LE).fma(FloatVector.fromArray(S, x, xo + k), s0);
            s1 = FloatVector.fromMemorySegment(S, d, (e + k + L) * 4, LE).fma(FloatVector.fromArray(S, x, xo + k + L), s1);
        }
        float s = Vec.sum(s0.add(s1));
        for (; k < K; k++) s += x[xo + k] * d.getAtIndex(WeightMatrix.F32, e + k);
        return s;
    }

    /** BF16 weights: widen to 32 bits and shift into the upper half of an fp32 (exact). */
    static float dotBF16(float[] x, int xo, MemorySegment d, long e, int K) {
        FloatVector s0 = FloatVector.zero(S), s1 = s0;
        int k = 0;
        for (int ub = K - 2 * L; k <= ub; k += 2 * L) {
            s0 = bf16(d, e + k).fma(FloatVector.fromArray(S, x, xo + k), s0);
            s1 = bf16(d, e + k + L).fma(FloatVector.fromArray(S, x, xo + k + L), s1);
        }
        float s = Vec.sum(s0.add(s1));
        for (; k < K; k++) s += x[xo + k] * DType.bf16ToFloat(d.getAtIndex(WeightMatrix.I16, e + k));
        return s;
    }

    static float dotF16(float[] x, int xo, MemorySegment d, long e, int K) {
        FloatVector s0 = FloatVector.zero(S);
        int k = 0;
        for (int ub = K - L; k <= ub; k += L) s0 = f16(d, e + k).fma(FloatVector.fromArray(S, x, xo + k), s0);
        float s = Vec.sum(s0);
        for (; k < K; k++) s += x[xo + k] * Float.float16ToFloat(d.getAtIndex(WeightMatrix.I16, e + k));
        return s;
    }

    /**
     * Whether one sequence's products read two weight rows side by side ({@link #one}; default true):
     * -Dllamaadapter.pairedRows=false reads one row at a time, for comparisons.
     */
    static final boolean PAIRED = Boolean.parseBoolean(System.getProperty("llamaadapter.pairedRows", "true"));

    /** out[0] = x · w[e1 ..], out[1] = x · w[e2 ..] (K BF16 weights each), each in dotBF16's order. */
    static void dotBF16Pair(float[] x, MemorySegment d, long e1, long e2, int K, float[] out) {
        FloatVector a0 = FloatVector.zero(S), a1 = a0, b0 = a0, b1 = a0;
        int k = 0;
        for (int ub = K - 2 * L; k <= ub; k += 2 * L) {
            FloatVector x0 = FloatVector.fromArray(S, x, k), x1 = FloatVector.fromArray(S, x, k + L);
            a0 = bf16(d, e1 + k).fma(x0, a0);
            b0 = bf16(d, e2 + k).fma(x0, b0);
            a1 = bf16(d, e1 + k + L).fma(x1, a1);
            b1 = bf16(d, e2 + k + L).fma(x1, b1);
        }
        float sa = Vec.sum(a0.add(a1)), sb = Vec.sum(b0.add(b1));
        for (; k < K; k++) {
            sa += x[k] * DType.bf16ToFloat(d.getAtIndex(WeightMatrix.I16, e1 + k));
            sb += x[k] * DType.bf16ToFloat(d.getAtIndex(WeightMatrix.I16, e2 + k));
        }
        out[0] = sa;
        out[1] = sb;
    }

    /** As dotBF16Pair for F32 weights, each in dotF32's order. */
    static void dotF32Pair(float[] x, MemorySegment d, long e1, long e2, int K, float[] out) {
        FloatVector a0 = FloatVector.zero(S), a1 = a0, b0 = a0, b1 = a0;
        int k = 0;
        for (int ub = K - 2 * L; k <= ub; k += 2 * L) {
            FloatVector x0 = FloatVector.fromArray(S, x, k), x1 = FloatVector.fromArray(S, x, k + L);
            a0 = FloatVector.fromMemorySegment(S, d, (e1 + k) * 4, LE).fma(x0, a0);
            b0 = FloatVector.fromMemorySegment(S, d, (e2 + k) * 4, LE).fma(x0, b0);
            a1 = FloatVector.fromMemorySegment(S, d, (e1 + k + L) * 4, LE).fma(x1, a1);
            b1 = FloatVector.fromMemorySegment(S, d, (e2 + k + L) * 4, LE).fma(x1, b1);
        }
        float sa = Vec.sum(a0.add(a1)), sb = Vec.sum(b0.add(b1));
        for (; k < K; k++) {
            sa += x[k] * d.getAtIndex(WeightMatrix.F32, e1 + k);
            sb += x[k] * d.getAtIndex(WeightMatrix.F32, e2 + k);
        }
        out[0] = sa;
        out[1] = sb;
    }

    /** As dotBF16Pair for F16 weights, each in dotF16's order. */
    static void dotF16Pair(float[] x, MemorySegment d, long e1, long e2, int K, float[] out) {
        FloatVector a = FloatVector.zero(S), b = a;
        int k = 0;
        for (int ub = K - L; k <= ub; k += L) {
            FloatVector xv = FloatVector.fromArray(S, x, k);
            a = f16(d, e1 + k).fma(xv, a);
            b = f16(d, e2 + k).fma(xv, b);
        }
        float sa = Vec.sum(a), sb = Vec.sum(b);
        for (; k < K; k++) {
            sa += x[k] * Float.float16ToFloat(d.getAtIndex(WeightMatrix.I16, e1 + k));
            sb += x[k] * Float.float16ToFloat(d.getAtIndex(WeightMatrix.I16, e2 + k));
        }
        out[0] = sa;
        out[1] = sb;
    }

    // Four-row dots: one weight vector loaded and converted, four fmas.

    static void dotF32x4(float[] x, int[] r, MemorySegment d, long e, int K, float[] out) {
        int x0 = r[0], x1 = r[1], x2 = r[2], x3 = r[3];
        FloatVector s0 = FloatVector.zero(S), s1 = s0, s2 = s0, s3 = s0;
        int k = 0;
        for (int ub = K - L; k <= ub; k += L) {
            FloatVector w = FloatVector.fromMemorySegment(S, d, (e + k) * 4, LE);
            s0 = w.fma(FloatVector.fromArray(S, x, x0 + k), s0);
            s1 = w.fma(FloatVector.fromArray(S, x, x1 + k), s1);
            s2 = w.fma(FloatVector.fromArray(S, x, x2 + k), s2);
            s3 = w.fma(FloatVector.fromArray(S, x, x3 + k), s3);
        }
        sums(out, s0, s1, s2, s3);
        for (; k < K; k++) tail(x, r, k, d.getAtIndex(WeightMatrix.F32, e + k), out);
    }

    static void dotBF16x4(float[] x, int[] r, MemorySegment d, long e, int K, float[] out) {
        int x0 = r[0], x1 = r[1], x2 = r[2], x3 = r[3];
        FloatVector s0 = FloatVector.zero(S), s1 = s0, s2 = s0, s3 = s0;
        int k = 0;
        for (int ub = K - L; k <= ub; k += L) {
            FloatVector w = bf16(d, e + k);
            s0 = w.fma(FloatVector.fromArray(S, x, x0 + k), s0);
            s1 = w.fma(FloatVector.fromArray(S, x, x1 + k), s1);
            s2 = w.fma(FloatVector.fromArray(S, x, x2 + k), s2);
            s3 = w.fma(FloatVector.fromArray(S, x, x3 + k), s3);
        }
        sums(out, s0, s1, s2, s3);
        for (; k < K; k++) tail(x, r, k, DType.bf16ToFloat(d.getAtIndex(WeightMatrix.I16, e + k)), out);
    }

    /** dotBF16x4 for two weight rows side by side: out[0..4) for the row at e1, out[4..8) for the row at e2, each in dotBF16x4's order. */
    static void dotBF16x4Pair(float[] x, int[] r, MemorySegment d, long e1, long e2, int K, float[] out) {
        int x0 = r[0], x1 = r[1], x2 = r[2], x3 = r[3];
        FloatVector z = FloatVector.zero(S);
        FloatVector s0 = z, s1 = z, s2 = z, s3 = z, t0 = z, t1 = z, t2 = z, t3 = z;
        int k = 0;
        for (int ub = K - L; k <= ub; k += L) {
            FloatVector w = bf16(d, e1 + k), v = bf16(d, e2 + k);
            FloatVector a0 = FloatVector.fromArray(S, x, x0 + k), a1 = FloatVector.fromArray(S, x, x1 + k);
            FloatVector a2 = FloatVector.fromArray(S, x, x2 + k), a3 = FloatVector.fromArray(S, x, x3 + k);
            s0 = w.fma(a0, s0); t0 = v.fma(a0, t0);
            s1 = w.fma(a1, s1); t1 = v.fma(a1, t1);
            s2 = w.fma(a2, s2); t2 = v.fma(a2, t2);
            s3 = w.fma(a3, s3); t3 = v.fma(a3, t3);
        }
        out[0] = Vec.sum(s0); out[1] = Vec.sum(s1); out[2] = Vec.sum(s2); out[3] = Vec.sum(s3);
        out[4] = Vec.sum(t0); out[5] = Vec.sum(t1); out[6] = Vec.sum(t2); out[7] = Vec.sum(t3);
        for (; k < K; k++) {
            float w = DType.bf16ToFloat(d.getAtIndex(WeightMatrix.I16, e1 + k)), v = DType.bf16ToFloat(d.getAtIndex(WeightMatrix.I16, e2 + k));
            for (int i = 0; i < MR; i++) {
                out[i] += x[r[i] + k] * w;
                out[MR + i] += x[r[i] + k] * v;
            }
        }
    }

    static void dotF16x4(float[] x, int[] r, MemorySegment d, long e, int K, float[] out) {
        int x0 = r[0], x1 = r[1], x2 = r[2], x3 = r[3];
        FloatVector s0 = FloatVector.zero(S), s1 = s0, s2 = s0, s3 = s0;
        int k = 0;
        for (int ub = K - L; k <= ub; k += L) {
            FloatVector w = f16(d, e + k);
            s0 = w.fma(FloatVector.fromArray(S, x, x0 + k), s0);
            s1 = w.fma(FloatVector.fromArray(S, x, x1 + k), s1);
            s2 = w.fma(FloatVector.fromArray(S, x, x2 + k), s2);
            s3 = w.fma(FloatVector.fromArray(S, x, x3 + k), s3);
        }
        sums(out, s0, s1, s2, s3);
        for (; k < K; k++) tail(x, r, k, Float.float16ToFloat(d.getAtIndex(WeightMatrix.I16, e + k)), out);
    }

    static void sums(float[] out, FloatVector s0, FloatVector s1, FloatVector s2, FloatVector s3) {
        out[0] = Vec.sum(s0);
        out[1] = Vec.sum(s1);
        out[2] = Vec.sum(s2);
        out[3] = Vec.sum(s3);
    }

    private static void tail(float[] x, int[] r, int k, float w, float[] out) {
        for (int i = 0; i < MR; i++) out[i] += x[r[i] + k] * w;
    }

    /** L bf16 weights from element e as fp32: widened, shifted into the upper half. */
    private static FloatVector bf16(MemorySegment d, long e) {
        IntVector b = (IntVector) ShortVector.fromMemorySegment(SH, d, e * 2, LE).convertShape(VectorOperators.S2I, SI, 0);
        return b.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    /** L f16 weights from element e as fp32, exactly (as Matmul.toFloats converts them). */
    private static FloatVector f16(MemorySegment d, long e) {
        IntVector h = (IntVector) ShortVector.fromMemorySegment(SH, d, e * 2, LE).convertShape(VectorOperators.S2I, SI, 0);
        IntVector em = h.and(0x7fff).lanewise(VectorOperators.LSHL, 13);
        IntVector f = em.reinterpretAsFloats().mul(0x1p112f).reinterpretAsInts()
                .lanewise(VectorOperators.OR, 0x7f800000, em.compare(VectorOperators.GE, 0x0f800000));
        return f.or(h.and(0x8000).lanewise(VectorOperators.LSHL, 16)).reinterpretAsFloats();
    }
}

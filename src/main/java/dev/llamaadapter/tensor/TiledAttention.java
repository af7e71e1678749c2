package dev.llamaadapter.tensor;

import java.util.Arrays;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The token branch of {@link Attention} (causal softmax(q·kᵀ·s)·v per sequence and head) in blocks of BR
 * query rows × BC keys with an online softmax (FlashAttention-2, on the CPU): no [T, T] matrix exists, only
 * one [BR, BC] block of scores at a time, and key blocks past the diagonal are never visited (half the
 * work of full T×T products). The forward keeps, per row, the log-sum-exp lse = m + log l of its scores and
 * the token branch's output O; the backward recomputes each block's probabilities P = exp(S − lse) from
 * them, and D = rowsum(dO ⊙ O) replaces rowsum(P ⊙ dP).
 *
 * <p>Why O is kept rather than recomputed: D needs the token branch's output alone, and the layer's
 * attention output mixes in the gated prompt branch (subtracting γ·S_p·av back out would round) and is
 * overwritten by the next layer; recomputing O costs two more products per block in the backward (seven
 * instead of five). O is [M, H·hd]: as big as q, O(T) per row like lse.
 *
 * <p>Saved layout for a [B, T] batch: lse [B, H, T] from index 0, then O [B·T, H·hd] (the layout of q).
 *
 * <p>Products run on {@link #product}, an outer-product micro-kernel like {@link Matmul}'s (6 rows × 2
 * vectors in 12 register accumulators) but over plain arrays with any strides on the left operand, so
 * Pᵀ and dSᵀ are read in place; the right operand is a row-major array (K and V are transposed once per
 * head where a product needs kᵀ or vᵀ). Per head, rows are padded to a multiple of BC and the head
 * dimension to a multiple of the kernel's width with zeros, so every block is whole columns.
 */
final class TiledAttention {
    private TiledAttention() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    /** Rows per micro-tile and output columns per micro-tile (two vectors), as in Matmul. */
    static final int MR = 6, NR = 2 * L;
    /** Query rows and keys per block: a [64, 64] score block and the [64, hd] operands stay in L1/L2. */
    static final int BR = 64, BC = 64;

    /** Floats the backward needs from a [B, T] forward: lse [B, H, T] then O [B·T, H·hd]. */
    static long savedFloats(int B, int T, int H, int hd) {
        return (long) B * H * T + (long) B * T * H * hd;
    }

    /**
     * Forward of head h of sequence b: out rows [b·T + t, h·hd ..] receive the token branch's output
     * (overwritten); saved (null: no backward follows) its lse and O.
     */
    static void forwardHead(int B, int T, int H, int Hkv, int hd, int b, int h, float[] q, float[] k, float[] v,
                            float[] out, float[] saved) {
        forwardHead(B, T, H, Hkv, hd, b, h, q, k, v, out, saved, 0, (float) (1.0 / Math.sqrt(hd)), 0f);
    }

    /**
     * As above with a sliding window W (0: none): query t sees keys j with t − W &lt; j ≤ t (mistral, spec §7).
     * Key blocks wholly left of every row's window are never visited; inside a block the keys before a row's
     * window are masked like those after its diagonal.
     */
    static void forwardHead(int B, int T, int H, int Hkv, int hd, int b, int h, float[] q, float[] k, float[] v,
                            float[] out, float[] saved, int window, float scale, float cap) {
        Work w = Work.of(T, hd);
        int qw = H * hd, kw = Hkv * hd, g = h / (H / Hkv), ldh = w.ldh, Tp = w.Tp;
        w.loadRows(q, b * T, qw, h * hd, T, w.q);
        w.loadRows(v, b * T, kw, g * hd, T, w.v);
        w.loadTransposed(k, b * T, kw, g * hd, T, w.kt);
        for (int i0 = 0; i0 < T; i0 += BR) {
            int rows = Math.min(BR, T - i0);
            Arrays.fill(w.m, Float.NEGATIVE_INFINITY);
            Arrays.fill(w.l, 0f);
            Arrays.fill(w.o, 0, rows * ldh, 0f);
            // key blocks up to the diagonal; BR = BC, so the diagonal block starts at i0 and every row has a key in each block
            for (int j0 = firstBlock(i0, window); j0 < i0 + rows; j0 += BC) {
                int cols = Math.min(BC, T - j0);
                int diag = j0 == i0 ? 1 : 0; // the diagonal block: half of it masked
                product(w.q, i0 * ldh, ldh, 1, rows, hd, w.kt, j0, Tp, BC, w.s, 0, BC, false, diag * C_LOWER); // S = Q_i·K_jᵀ [rows, BC]
                for (int r = 0; r < rows; r++) {
                    int n = Math.min(cols, i0 + r - j0 + 1), so = r * BC; // causal: keys j0 .. t
                    int lo = windowStart(i0 + r, j0, window);              // and, with a window, from t − W + 1
                    if (lo >= n) { // the row sees no key of this block
                        Arrays.fill(w.s, so, so + BC, 0f);
                        continue;
                    }
                    float mNew = Math.max(w.m[r], cap > 0 ? scaleCapMax(w.s, so + lo, n - lo, scale, cap, null) : scaleMax(w.s, so + lo, n - lo, scale));
                    float alpha = Vec.exp(w.m[r] - mNew); // 0 on the first block (m = −∞)
                    CrossEntropy.scaledExp(w.s, so + lo, n - lo, mNew, 1f, w.s);
                    Arrays.fill(w.s, so, so + lo, 0f);
                    Arrays.fill(w.s, so + n, so + BC, 0f);
                    w.l[r] = w.l[r] * alpha + sum(w.s, so + lo, n - lo);
                    w.m[r] = mNew;
                    if (alpha != 1f) for (int d = r * ldh, e = d + ldh; d < e; d++) w.o[d] *= alpha;
                }
                product(w.s, 0, BC, 1, rows, cols, w.v, j0 * ldh, ldh, ldh, w.o, 0, ldh, true, diag * A_LOWER); // O_i += P·V_j
            }
            for (int r = 0; r < rows; r++) {
                int t = i0 + r, oo = (b * T + t) * qw + h * hd;
                float inv = 1f / w.l[r];
                for (int d = 0; d < hd; d++) out[oo + d] = w.o[r * ldh + d] * inv;
                if (saved == null) continue;
                saved[(b * H + h) * T + t] = w.m[r] + (float) StrictMath.log(w.l[r]); // StrictMath: the same bits in every JIT tier
                System.arraycopy(out, oo, saved, B * H * T + oo, hd);
            }
        }
    }

    /**
     * Backward of kv head g of sequence b from dout [B·T, H·hd]: dq rows of the group's heads and dk, dv rows
     * of g are overwritten. One task owns all of them, so no two tasks write the same element and the sums
     * run in one fixed order whatever the thread count.
     */
    static void backwardGroup(int B, int T, int H, int Hkv, int hd, int b, int g, float[] q, float[] k, float[] v,
                              float[] saved, float[] dout, float[] dq, float[] dk, float[] dv) {
        backwardGroup(B, T, H, Hkv, hd, b, g, q, k, v, saved, dout, dq, dk, dv, 0, (float) (1.0 / Math.sqrt(hd)), 0f);
    }

    /** As above with the forward's sliding window W (0: none). */
    static void backwardGroup(int B, int T, int H, int Hkv, int hd, int b, int g, float[] q, float[] k, float[] v,
                              float[] saved, float[] dout, float[] dq, float[] dk, float[] dv, int window, float scale, float cap) {
        Work w = Work.of(T, hd);
        int qw = H * hd, kw = Hkv * hd, group = H / Hkv, ldh = w.ldh, Tp = w.Tp;
        w.loadRows(k, b * T, kw, g * hd, T, w.k);
        w.loadTransposed(k, b * T, kw, g * hd, T, w.kt);
        w.loadTransposed(v, b * T, kw, g * hd, T, w.vt);
        Arrays.fill(w.dk, 0, T * ldh, 0f);
        Arrays.fill(w.dv, 0, T * ldh, 0f);
        for (int h = g * group; h < (g + 1) * group; h++) {
            w.loadRows(q, b * T, qw, h * hd, T, w.q);
            w.loadRows(dout, b * T, qw, h * hd, T, w.dO);
            Arrays.fill(w.dq, 0, T * ldh, 0f);
            for (int t = 0; t < T; t++) { // D_t = dO_t · O_t
                int oo = (b * T + t) * qw + h * hd;
                w.lse[t] = saved[(b * H + h) * T + t];
                w.D[t] = Vec.dot(dout, oo, saved, B * H * T + oo, hd);
            }
            for (int i0 = 0; i0 < T; i0 += BR) {
                int rows = Math.min(BR, T - i0);
                for (int j0 = firstBlock(i0, window); j0 < i0 + rows; j0 += BC) {
                    int cols = Math.min(BC, T - j0);
                    int diag = j0 == i0 ? 1 : 0; // the diagonal block: half of it masked
                    product(w.q, i0 * ldh, ldh, 1, rows, hd, w.kt, j0, Tp, BC, w.p, 0, BC, false, diag * C_LOWER);  // S = Q_i·K_jᵀ
                    for (int r = 0; r < rows; r++) { // P = exp(S·s − lse), 0 past the diagonal and before the window
                        int n = Math.min(cols, i0 + r - j0 + 1), po = r * BC;
                        int lo = Math.min(windowStart(i0 + r, j0, window), Math.max(n, 0));
                        if (cap > 0) scaleCapMax(w.p, po + lo, n - lo, scale, cap, w.tc);
                        else for (int j = lo; j < n; j++) w.p[po + j] *= scale;
                        if (n > lo) CrossEntropy.scaledExp(w.p, po + lo, n - lo, w.lse[i0 + r], 1f, w.p);
                        Arrays.fill(w.p, po, po + lo, 0f);
                        Arrays.fill(w.p, po + Math.max(n, lo), po + BC, 0f);
                    }
                    product(w.dO, i0 * ldh, ldh, 1, rows, hd, w.vt, j0, Tp, BC, w.s, 0, BC, false, diag * C_LOWER); // dP = dO_i·V_jᵀ
                    for (int r = 0; r < rows; r++) { // dS = P ⊙ (dP − D)·s in place of dP, 0 where P is masked
                        int n = Math.min(cols, i0 + r - j0 + 1), po = r * BC;
                        int lo = Math.min(windowStart(i0 + r, j0, window), Math.max(n, 0));
                        float D = w.D[i0 + r];
                        if (cap > 0) // through the softcap: d(c·tanh(x/c))/dx = 1 − tanh²
                            for (int j = lo; j < n; j++) {
                                float t = w.tc[po + j];
                                w.s[po + j] = w.p[po + j] * (w.s[po + j] - D) * (1f - t * t) * scale;
                            }
                        else for (int j = lo; j < n; j++) w.s[po + j] = w.p[po + j] * (w.s[po + j] - D) * scale;
                        Arrays.fill(w.s, po, po + lo, 0f);
                        Arrays.fill(w.s, po + Math.max(n, lo), po + BC, 0f);
                    }
                    product(w.p, 0, 1, BC, cols, rows, w.dO, i0 * ldh, ldh, ldh, w.dv, j0 * ldh, ldh, true, diag * A_UPPER); // dV_j += Pᵀ·dO_i
                    product(w.s, 0, BC, 1, rows, cols, w.k, j0 * ldh, ldh, ldh, w.dq, i0 * ldh, ldh, true, diag * A_LOWER);  // dQ_i += dS·K_j
                    product(w.s, 0, 1, BC, cols, rows, w.q, i0 * ldh, ldh, ldh, w.dk, j0 * ldh, ldh, true, diag * A_UPPER);  // dK_j += dSᵀ·Q_i
                }
            }
            for (int t = 0; t < T; t++) System.arraycopy(w.dq, t * ldh, dq, (b * T + t) * qw + h * hd, hd);
        }
        for (int t = 0; t < T; t++) {
            System.arraycopy(w.dk, t * ldh, dk, (b * T + t) * kw + g * hd, hd);
            System.arraycopy(w.dv, t * ldh, dv, (b * T + t) * kw + g * hd, hd);
        }
    }

    /** The first key block any row of the query block starting at i0 sees: 0, or the block holding i0 − W + 1. */
    static int firstBlock(int i0, int window) {
        return window <= 0 ? 0 : Math.max(0, i0 - window + 1) / BC * BC;
    }

    /** Within the key block at j0, the first key query t may see: 0 without a window, else t − W + 1 − j0 (at least 0). */
    static int windowStart(int t, int j0, int window) {
        return window <= 0 ? 0 : Math.max(0, t - window + 1 - j0);
    }

    /**
     * x[o .. o + n) becomes c·tanh(x·scale/c) (gemma2's attention softcap, spec §7); tanh (when not null)
     * receives tanh(x·scale/c) at the same indices, for the backward. Returns the maximum.
     */
    static float scaleCapMax(float[] x, int o, int n, float scale, float cap, float[] tanh) {
        float m = Float.NEGATIVE_INFINITY;
        for (int j = o; j < o + n; j++) {
            float t = (float) Math.tanh(x[j] * scale / cap);
            if (tanh != null) tanh[j] = t;
            x[j] = cap * t;
            m = Math.max(m, x[j]);
        }
        return m;
    }

    /** x[o .. o + n) *= scale; returns their maximum (a 64-wide row: scalar max and sum chains would cost as much as its products). */
    private static float scaleMax(float[] x, int o, int n, float scale) {
        FloatVector mx = FloatVector.broadcast(S, Float.NEGATIVE_INFINITY);
        int j = 0;
        for (int ub = S.loopBound(n); j < ub; j += L) {
            FloatVector y = FloatVector.fromArray(S, x, o + j).mul(scale);
            y.intoArray(x, o + j);
            mx = mx.max(y);
        }
        float m = mx.reduceLanes(VectorOperators.MAX); // exact in any order, unlike a sum
        for (; j < n; j++) m = Math.max(m, x[o + j] *= scale);
        return m;
    }

    /** Σ x[o .. o + n), lanes first then the tail, in a fixed order (Vec.sum). */
    private static float sum(float[] x, int o, int n) {
        FloatVector acc = FloatVector.zero(S);
        int j = 0;
        for (int ub = S.loopBound(n); j < ub; j += L) acc = acc.add(FloatVector.fromArray(S, x, o + j));
        float s = Vec.sum(acc);
        for (; j < n; j++) s += x[o + j];
        return s;
    }

    /** What a diagonal block lets {@link #product} skip: nothing, or zeros of A or C on one side of the diagonal. */
    static final int FULL = 0, A_LOWER = 1, A_UPPER = 2, C_LOWER = 3;

    /**
     * C[M, N] (+)= A[M, kc]·B[kc, N] with A(r, k) = a[aOff + r·ars + k·aks] (any strides: A or Aᵀ of a
     * row-major block), B(k, j) = b[bOff + k·ldb + j] and C(r, j) = c[cOff + r·ldc + j]; N a multiple of NR.
     * On a diagonal block (row r and reduction or column index counted from the same token) `mask` skips
     * work known to be zero or unused, at micro-tile granularity: A_LOWER, A(r, k) = 0 for k > r (P, dS: the
     * reduction stops at the tile's last row); A_UPPER, A(r, k) = 0 for k < r (Pᵀ, dSᵀ: it starts at the
     * tile's first row); C_LOWER, only C(r, j ≤ r) is read later (scores: tiles wholly above the diagonal
     * are not computed, their C is left as it was). Single-threaded: callers run it inside their own task.
     */
    static void product(float[] a, int aOff, int ars, int aks, int M, int kc, float[] b, int bOff, int ldb, int N,
                        float[] c, int cOff, int ldc, boolean accumulate, int mask) {
        for (int n0 = 0; n0 < N; n0 += NR)
            for (int m0 = 0; m0 < M; m0 += MR) {
                int rows = Math.min(MR, M - m0), last = m0 + rows - 1;
                if (mask == C_LOWER && n0 > last) continue;
                int k0 = mask == A_UPPER ? Math.min(m0, kc) : 0, k1 = mask == A_LOWER ? Math.min(kc, last + 1) : kc;
                tile(a, aOff + m0 * ars + k0 * aks, ars, aks, rows, k1 - k0, b, bOff + k0 * ldb + n0, ldb,
                        c, cOff + m0 * ldc + n0, ldc, accumulate);
            }
    }

    /**
     * The micro-kernel: rows (≤ 6) × NR outputs, one broadcast of A per row and two vector loads of B per k.
     * Rows past `rows` repeat the last real row and are neither loaded nor stored. Matmul's tile is the same
     * loop with unit strides and a packed panel; it stays separate because the strided form, made the GEMM's
     * one kernel, cost the projections ~10% (88-104 → 77-93 GFLOP/s per core, CPU time, same shapes).
     */
    private static void tile(float[] a, int aOff, int ars, int aks, int rows, int kc, float[] b, int bOff, int ldb,
                             float[] c, int cOff, int ldc, boolean load) {
        int a0 = aOff;
        int a1 = rows > 1 ? a0 + ars : a0;
        int a2 = rows > 2 ? a1 + ars : a1;
        int a3 = rows > 3 ? a2 + ars : a2;
        int a4 = rows > 4 ? a3 + ars : a3;
        int a5 = rows > 5 ? a4 + ars : a4;
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
        for (int k = 0, p = bOff, ak = 0; k < kc; k++, p += ldb, ak += aks) {
            FloatVector b0 = FloatVector.fromArray(S, b, p);
            FloatVector b1 = FloatVector.fromArray(S, b, p + L);
            FloatVector x;
            x = FloatVector.broadcast(S, a[a0 + ak]); c00 = x.fma(b0, c00); c01 = x.fma(b1, c01);
            x = FloatVector.broadcast(S, a[a1 + ak]); c10 = x.fma(b0, c10); c11 = x.fma(b1, c11);
            x = FloatVector.broadcast(S, a[a2 + ak]); c20 = x.fma(b0, c20); c21 = x.fma(b1, c21);
            x = FloatVector.broadcast(S, a[a3 + ak]); c30 = x.fma(b0, c30); c31 = x.fma(b1, c31);
            x = FloatVector.broadcast(S, a[a4 + ak]); c40 = x.fma(b0, c40); c41 = x.fma(b1, c41);
            x = FloatVector.broadcast(S, a[a5 + ak]); c50 = x.fma(b0, c50); c51 = x.fma(b1, c51);
        }
        c00.intoArray(c, r0); c01.intoArray(c, r0 + L);
        if (rows > 1) { c10.intoArray(c, r1); c11.intoArray(c, r1 + L); }
        if (rows > 2) { c20.intoArray(c, r2); c21.intoArray(c, r2 + L); }
        if (rows > 3) { c30.intoArray(c, r3); c31.intoArray(c, r3 + L); }
        if (rows > 4) { c40.intoArray(c, r4); c41.intoArray(c, r4 + L); }
        if (rows > 5) { c50.intoArray(c, r5); c51.intoArray(c, r5 + L); }
    }

    /**
     * One head's operands, per calling thread, made again only when the shape changes. Rows are padded to
     * Tp (a multiple of BC) and the head dimension to ldh (a multiple of NR); the padding is zero and stays
     * zero (only real rows and the first hd columns are ever loaded), so padded keys score 0 and add nothing.
     */
    private static final class Work {
        private static final ThreadLocal<Work> LAST = new ThreadLocal<>();
        final int T, hd, Tp, ldh;
        final float[] q, k, v, dO, dq, dk, dv; // [Tp, ldh]
        final float[] kt, vt;                  // [hd, Tp] kᵀ, vᵀ of the kv head
        final float[] s, p;                    // [BR, BC] scores (then dP, dS) and probabilities of one block
        final float[] tc;                      // [BR, BC] tanh of the softcapped scores (gemma2), for their derivative
        final float[] o;                       // [BR, ldh] the forward's running output of one query block
        final float[] m, l;                    // [BR] running row max and sum of exp
        final float[] lse, D;                  // [Tp] per row of the head: log-sum-exp, rowsum(dO ⊙ O)

        private Work(int T, int hd) {
            this.T = T; this.hd = hd;
            Tp = (T + BC - 1) / BC * BC;
            ldh = (hd + NR - 1) / NR * NR;
            q = new float[Tp * ldh]; k = new float[Tp * ldh]; v = new float[Tp * ldh]; dO = new float[Tp * ldh];
            dq = new float[Tp * ldh]; dk = new float[Tp * ldh]; dv = new float[Tp * ldh];
            kt = new float[hd * Tp]; vt = new float[hd * Tp];
            s = new float[BR * BC]; p = new float[BR * BC]; tc = new float[BR * BC];
            o = new float[BR * ldh];
            m = new float[BR]; l = new float[BR];
            lse = new float[Tp]; D = new float[Tp];
        }

        static Work of(int T, int hd) {
            Work w = LAST.get();
            if (w == null || w.T != T || w.hd != hd) LAST.set(w = new Work(T, hd));
            return w;
        }

        /** dst [Tp, ldh] rows 0..n ← src rows row0.. (width `width` floats) from column col, hd floats each. */
        void loadRows(float[] src, int row0, int width, int col, int n, float[] dst) {
            for (int t = 0; t < n; t++) System.arraycopy(src, (row0 + t) * width + col, dst, t * ldh, hd);
        }

        /** dst [hd, Tp] ← the transpose of the same [n, hd] block. */
        void loadTransposed(float[] src, int row0, int width, int col, int n, float[] dst) {
            for (int t = 0; t < n; t++)
                for (int d = 0, so = (row0 + t) * width + col; d < hd; d++) dst[d * Tp + t] = src[so + d];
        }
    }
}

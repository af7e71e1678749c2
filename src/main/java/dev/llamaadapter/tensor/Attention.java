package dev.llamaadapter.tensor;

/**
 * Causal self-attention with LLaMA-Adapter's gated prompt attention (spec §2), forward beside backward.
 *
 * <p>Per query head h (kv head h / (H/Hkv) under GQA), for token t of sequence b:
 * token branch S_t = softmax_{j≤t}(q_t·k_j·s), prompt branch S_p = softmax_k(q_t·ak_k·s) over all K
 * prompt keys (a separate softmax, no mask, no RoPE on ak), out_t = S_t v + γ_h · S_p av, where
 * γ_h = act(gate_h) and s = 1/sqrt(hd). Buffers are flat row-major; row m = b·T + t.
 *
 * <p>The forward keeps both probability tensors and the ungated prompt output so the backward is
 * exact without recomputation. The token branch runs per (sequence, head) as matrix products on the
 * register-tiled GEMM (see {@link #tokenBackward}); the K-wide prompt branch stays a loop of dots.
 */
public final class Attention {
    private final int B, T, H, Hkv, hd, K;
    private final int promptStride; // floats between sequences' prompt keys/values: 0 = one set shared by the batch
    private final float scale;
    /** From this many tokens the token branch runs as matrix products per head (measured: several times faster at 128 and 256). */
    static final int PRODUCTS_MIN_T = 64;

    /** K = 0: no prompt branch (a base-model layer). */
    public Attention(int B, int T, int H, int Hkv, int hd, int K) {
        this(B, T, H, Hkv, hd, K, false);
    }

    /**
     * perSamplePrompts: ak, av hold one [K, Hkv·hd] block per sequence ([B, K, Hkv·hd]), as the
     * multimodal adapter needs (each sample's prompts carry its own visual token, spec §5).
     */
    public Attention(int B, int T, int H, int Hkv, int hd, int K, boolean perSamplePrompts) {
        if (H % Hkv != 0) throw new IllegalArgumentException("heads " + H + " not a multiple of kv heads " + Hkv);
        this.B = B; this.T = T; this.H = H; this.Hkv = Hkv; this.hd = hd; this.K = K;
        this.promptStride = perSamplePrompts ? K * Hkv * hd : 0;
        this.scale = (float) (1.0 / Math.sqrt(hd));
    }

    /**
     * q [B·T, H·hd], k, v [B·T, Hkv·hd] → out [B·T, H·hd] (overwritten).
     * probs [B, H, T, T] receives S_t (entries j > t are left 0).
     * Prompt branch (when K > 0): ak, av [K, Hkv·hd] (per sample: [B, K, Hkv·hd]), gamma [H] = act(gate); promptProbs [B, H, T, K]
     * receives S_p and promptOut [B·T, H·hd] the ungated S_p av. Any saved buffer may be null when no
     * backward follows.
     */
    public void forward(float[] q, float[] k, float[] v, float[] out, float[] probs,
                        float[] ak, float[] av, float[] gamma, float[] promptProbs, float[] promptOut) {
        if (T < PRODUCTS_MIN_T) {
            forwardByRows(q, k, v, out, probs, ak, av, gamma, promptProbs, promptOut);
            return;
        }
        int qw = H * hd, kw = Hkv * hd, group = H / Hkv, TT = T * T;
        Parallel.forRange(B * H, (lo, hi) -> {
            HeadWork w = HeadWork.of(T, hd);
            float[] p = Scratch.floats(Scratch.PROBS, Math.max(T, K)); // [K] scratch row of prompt probabilities
            float[] po = Scratch.floats(Scratch.HEAD, hd);             // [hd] ungated prompt output of one token
            for (int bh = lo; bh < hi; bh++) {
                int b = bh / H, h = bh % H, g = h / group;
                // token branch as two products on the head's contiguous rows: S = Q·Kᵀ, softmax by row (causal), O = P·V
                for (int t = 0; t < T; t++) {
                    System.arraycopy(q, (b * T + t) * qw + h * hd, w.q, t * hd, hd);
                    System.arraycopy(k, (b * T + t) * kw + g * hd, w.kv, t * hd, hd);
                    System.arraycopy(v, (b * T + t) * kw + g * hd, w.kv, (T + t) * hd, hd);
                }
                Matmul.gemm(w.q, T, w.k, true, w.p, false, 1); // [T, T] scores (above the diagonal: unused); 1 task: see gemm
                for (int t = 0, r = 0; t < T; t++, r += T) {
                    float max = Float.NEGATIVE_INFINITY;
                    for (int j = 0; j <= t; j++) max = Math.max(max, w.p[r + j] *= scale);
                    softmaxRow(w.p, r, t + 1, max);
                    java.util.Arrays.fill(w.p, r + t + 1, r + T, 0f);
                }
                Matmul.gemm(w.p, T, w.v, false, w.dq, false, 1); // [T, hd] = P·V
                if (probs != null) System.arraycopy(w.p, 0, probs, (b * H + h) * TT, TT);
                for (int t = 0; t < T; t++) {
                    int qo = (b * T + t) * qw + h * hd, oo = qo;
                    System.arraycopy(w.dq, t * hd, out, oo, hd);
                    if (K == 0) continue;
                    promptForwardRow(q, qo, b, h, g, t, ak, av, gamma, out, oo, promptProbs, promptOut, p, po);
                }
            }
        });
    }

    /**
     * Backward from dout [B·T, H·hd].
     * Token branch (when dq != null): dq [B·T, H·hd], dk, dv [B·T, Hkv·hd] are overwritten.
     * Prompt branch (when K > 0): dgammaPart [B, H] receives Σ_t dout·(S_p av) per sequence and head
     * (the gate gradient before act'), dakPart, davPart [B, K, Hkv·hd] the prompt key/value gradients
     * per sequence (summed over b by the caller), and the prompt's share of dq is added when dq != null.
     * Work is split by (sequence, kv head) so no two tasks write the same element.
     */
    public void backward(float[] q, float[] k, float[] v, float[] probs, float[] dout,
                         float[] dq, float[] dk, float[] dv,
                         float[] ak, float[] av, float[] gamma, float[] promptProbs, float[] promptOut,
                         float[] dgammaPart, float[] dakPart, float[] davPart) {
        if (T < PRODUCTS_MIN_T) {
            backwardByRows(q, k, v, probs, dout, dq, dk, dv, ak, av, gamma, promptProbs, promptOut, dgammaPart, dakPart, davPart);
            return;
        }
        int qw = H * hd, kw = Hkv * hd, group = H / Hkv;
        boolean tokens = dq != null;
        if (tokens) tokenBackward(q, k, v, probs, dout, dq, dk, dv);
        if (K == 0) return;
        Parallel.forRange(B * Hkv, (lo, hi) -> {
            float[] dp = Scratch.floats(Scratch.PROBS, K);  // [K] gradient of one prompt probability row
            float[] dpo = Scratch.floats(Scratch.HEAD, hd); // [hd] gradient of the ungated prompt output
            for (int bg = lo; bg < hi; bg++) {
                int b = bg / Hkv, g = bg % Hkv;
                for (int h = g * group; h < (g + 1) * group; h++) {
                    double dgamma = 0;
                    for (int t = 0; t < T; t++) {
                        int qo = (b * T + t) * qw + h * hd;
                        dgamma += promptBackwardRow(q, qo, b, h, g, t, dout, tokens ? dq : null, ak, av, gamma, promptProbs, promptOut,
                                dakPart, davPart, dp, dpo);
                    }
                    dgammaPart[b * H + h] = (float) dgamma;
                }
            }
        });
    }

    /**
     * The token branch's backward as four matrix products per (sequence, head), run by {@link Matmul} (the
     * register-tiled kernels, or a native backend): with P = S_t [T, T] of the head and dO = dout_h [T, hd],
     * dP = dO·Vᵀ, dv += Pᵀ·dO, dS = P ⊙ (dP − rowsum(P ⊙ dP))·s, dq = dS·K, dk += dSᵀ·Q. The per-row loop of
     * dots and axpys over hd = 64 it replaces was bound by loads, stores and reductions (~17 GFLOP/s on the
     * tinyllama step); as products, the whole T×T (zeros above the diagonal included: twice the causal work)
     * still runs several times faster. dq, dk, dv rows are overwritten (the prompt branch adds to dq after).
     */
    private void tokenBackward(float[] q, float[] k, float[] v, float[] probs, float[] dout, float[] dq, float[] dk, float[] dv) {
        int qw = H * hd, kw = Hkv * hd, group = H / Hkv, TT = T * T;
        Parallel.forRange(B * Hkv, (lo, hi) -> {
            HeadWork w = HeadWork.of(T, hd);
            for (int bg = lo; bg < hi; bg++) {
                int b = bg / Hkv, g = bg % Hkv;
                for (int t = 0; t < T; t++) { // k_g, v_g of the sequence, contiguous [T, hd]
                    System.arraycopy(k, (b * T + t) * kw + g * hd, w.kv, t * hd, hd);
                    System.arraycopy(v, (b * T + t) * kw + g * hd, w.kv, (T + t) * hd, hd);
                }
                java.util.Arrays.fill(w.dk, 0, T * hd, 0f);
                java.util.Arrays.fill(w.dv, 0, T * hd, 0f);
                for (int h = g * group; h < (g + 1) * group; h++) {
                    for (int t = 0; t < T; t++) {
                        System.arraycopy(q, (b * T + t) * qw + h * hd, w.q, t * hd, hd);
                        System.arraycopy(dout, (b * T + t) * qw + h * hd, w.dO, t * hd, hd);
                    }
                    System.arraycopy(probs, (b * H + h) * TT, w.p, 0, TT);
                    // the Java kernels directly, in this task (1 chunk): a native backend's threads would fight this
                    // task's siblings, and nested tasks could run a sibling on this thread, sharing its HeadWork
                    Matmul.gemm(w.dO, T, w.v, true, w.dS, false, 1);       // dP = dO·Vᵀ [T, T], into dS
                    Matmul.weightGradJava(w.p, w.dO, T, T, hd, w.dv, 1);  // dv += Pᵀ·dO
                    for (int t = 0, r = 0; t < T; t++, r += T) {       // dS = P ⊙ (dP − Σ_j P dP)·s, in place
                        float sum = 0f;
                        for (int j = 0; j <= t; j++) sum += w.p[r + j] * w.dS[r + j];
                        for (int j = 0; j <= t; j++) w.dS[r + j] = w.p[r + j] * (w.dS[r + j] - sum) * scale;
                        java.util.Arrays.fill(w.dS, r + t + 1, r + T, 0f);
                    }
                    Matmul.gemm(w.dS, T, w.k, false, w.dq, false, 1);      // dq = dS·K
                    Matmul.weightGradJava(w.dS, w.q, T, T, hd, w.dk, 1);  // dk += dSᵀ·Q
                    for (int t = 0; t < T; t++) System.arraycopy(w.dq, t * hd, dq, (b * T + t) * qw + h * hd, hd);
                }
                for (int t = 0; t < T; t++) {
                    System.arraycopy(w.dk, t * hd, dk, (b * T + t) * kw + g * hd, hd);
                    System.arraycopy(w.dv, t * hd, dv, (b * T + t) * kw + g * hd, hd);
                }
            }
        });
    }

    /**
     * One head's buffers for {@link #tokenBackward}, per calling thread, made again only when the shape
     * changes (Matmul reads activations from index 0 and the right-hand side as a WeightMatrix: k and v are
     * views of kv, no copy).
     */
    private static final class HeadWork {
        private static final ThreadLocal<HeadWork> LAST = new ThreadLocal<>();
        final int T, hd;
        final float[] p, dS;             // [T, T] the head's probabilities; dP, turned into dS in place
        final float[] q, dO, dq, dk, dv; // [T, hd]
        final float[] kv;                // [2, T, hd] k_g then v_g
        final WeightMatrix k, v;         // [T, hd] views of kv

        private HeadWork(int T, int hd) {
            this.T = T; this.hd = hd;
            p = new float[T * T]; dS = new float[T * T];
            q = new float[T * hd]; dO = new float[T * hd]; dq = new float[T * hd]; dk = new float[T * hd]; dv = new float[T * hd];
            kv = new float[2 * T * hd];
            java.lang.foreign.MemorySegment s = java.lang.foreign.MemorySegment.ofArray(kv);
            long bytes = 4L * T * hd;
            k = new WeightMatrix("attention keys", s.asSlice(0, bytes), DType.F32, T, hd);
            v = new WeightMatrix("attention values", s.asSlice(bytes, bytes), DType.F32, T, hd);
        }

        static HeadWork of(int T, int hd) {
            HeadWork w = LAST.get();
            if (w == null || w.T != T || w.hd != hd) LAST.set(w = new HeadWork(T, hd));
            return w;
        }
    }

    // Short sequences: per token, a loop of dot products and axpys over the head (the T×T products above
    // only pay from a few dozen tokens, and this keeps short-sequence runs, the demo's among them, as they were).

    private void forwardByRows(float[] q, float[] k, float[] v, float[] out, float[] probs,
                        float[] ak, float[] av, float[] gamma, float[] promptProbs, float[] promptOut) {
        int qw = H * hd, kw = Hkv * hd, group = H / Hkv;
        Parallel.forRange(B * H, (lo, hi) -> {
            float[] p = Scratch.floats(Scratch.PROBS, Math.max(T, K)); // [T] scratch row of probabilities
            float[] po = Scratch.floats(Scratch.HEAD, hd);             // [hd] ungated prompt output of one token
            for (int bh = lo; bh < hi; bh++) {
                int b = bh / H, h = bh % H, g = h / group;
                for (int t = 0; t < T; t++) {
                    int qo = (b * T + t) * qw + h * hd, oo = qo;
                    // token branch, causal
                    float max = Float.NEGATIVE_INFINITY;
                    for (int j = 0; j <= t; j++) {
                        p[j] = Vec.dot(q, qo, k, (b * T + j) * kw + g * hd, hd) * scale;
                        max = Math.max(max, p[j]);
                    }
                    softmaxInPlace(p, t + 1, max);
                    java.util.Arrays.fill(out, oo, oo + hd, 0f);
                    for (int j = 0; j <= t; j++) Vec.axpy(p[j], v, (b * T + j) * kw + g * hd, out, oo, hd);
                    if (probs != null) {
                        int po0 = ((b * H + h) * T + t) * T;
                        System.arraycopy(p, 0, probs, po0, t + 1);
                        java.util.Arrays.fill(probs, po0 + t + 1, po0 + T, 0f);
                    }
                    if (K == 0) continue;
                    promptForwardRow(q, qo, b, h, g, t, ak, av, gamma, out, oo, promptProbs, promptOut, p, po);
                }
            }
        });
    }

    private void backwardByRows(float[] q, float[] k, float[] v, float[] probs, float[] dout,
                         float[] dq, float[] dk, float[] dv,
                         float[] ak, float[] av, float[] gamma, float[] promptProbs, float[] promptOut,
                         float[] dgammaPart, float[] dakPart, float[] davPart) {
        int qw = H * hd, kw = Hkv * hd, group = H / Hkv;
        boolean tokens = dq != null;
        Parallel.forRange(B * Hkv, (lo, hi) -> {
            float[] dp = Scratch.floats(Scratch.PROBS, Math.max(T, K)); // [T] gradient of one probability row
            float[] dpo = Scratch.floats(Scratch.HEAD, hd);             // [hd] gradient of the ungated prompt output
            for (int bg = lo; bg < hi; bg++) {
                int b = bg / Hkv, g = bg % Hkv;
                if (tokens) {
                    for (int t = 0; t < T; t++) {
                        int ko = (b * T + t) * kw + g * hd;
                        java.util.Arrays.fill(dk, ko, ko + hd, 0f);
                        java.util.Arrays.fill(dv, ko, ko + hd, 0f);
                    }
                }
                for (int h = g * group; h < (g + 1) * group; h++) {
                    double dgamma = 0;
                    for (int t = 0; t < T; t++) {
                        int qo = (b * T + t) * qw + h * hd;
                        if (tokens) {
                            java.util.Arrays.fill(dq, qo, qo + hd, 0f);
                            int pr = ((b * H + h) * T + t) * T;
                            // dS_j = dout·v_j ; dv_j += S_j·dout ; dscore = S ⊙ (dS − Σ S dS)
                            float sum = 0f;
                            for (int j = 0; j <= t; j++) {
                                int vo = (b * T + j) * kw + g * hd;
                                dp[j] = Vec.dot(dout, qo, v, vo, hd);
                                sum += probs[pr + j] * dp[j];
                                Vec.axpy(probs[pr + j], dout, qo, dv, vo, hd);
                            }
                            for (int j = 0; j <= t; j++) {
                                float ds = probs[pr + j] * (dp[j] - sum) * scale;
                                int ko = (b * T + j) * kw + g * hd;
                                Vec.axpy(ds, k, ko, dq, qo, hd);
                                Vec.axpy(ds, q, qo, dk, ko, hd);
                            }
                        }
                        if (K == 0) continue;
                        dgamma += promptBackwardRow(q, qo, b, h, g, t, dout, tokens ? dq : null, ak, av, gamma, promptProbs, promptOut,
                                dakPart, davPart, dp, dpo);
                    }
                    if (K > 0) dgammaPart[b * H + h] = (float) dgamma;
                }
            }
        });
    }

    /**
     * The prompt branch of one query row (sequence b, head h over kv head g, token t at q[qo]): its own
     * softmax over all K prompt keys into p [K], the ungated output S_p av into po [hd], γ_h · po added to
     * out at oo; S_p and po saved when their buffers are given. Both forward paths share it.
     */
    private void promptForwardRow(float[] q, int qo, int b, int h, int g, int t, float[] ak, float[] av, float[] gamma,
                                  float[] out, int oo, float[] promptProbs, float[] promptOut, float[] p, float[] po) {
        int kw = Hkv * hd, ps = b * promptStride;
        float max = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < K; j++) {
            p[j] = Vec.dot(q, qo, ak, ps + j * kw + g * hd, hd) * scale;
            max = Math.max(max, p[j]);
        }
        softmaxInPlace(p, K, max);
        java.util.Arrays.fill(po, 0f);
        for (int j = 0; j < K; j++) Vec.axpy(p[j], av, ps + j * kw + g * hd, po, 0, hd);
        Vec.axpy(gamma[h], po, 0, out, oo, hd);
        if (promptProbs != null) System.arraycopy(p, 0, promptProbs, ((b * H + h) * T + t) * K, K);
        if (promptOut != null) System.arraycopy(po, 0, promptOut, qo, hd);
    }

    /**
     * The prompt branch's backward for one query row (out += γ_h · po, po = S_p av): adds to davPart and
     * dakPart [B, K, kw] of sequence b, and to dq when given; returns dout·po, the row's share of the gate
     * gradient before act'. dp [K] and dpo [hd] are scratch. Both backward paths share it.
     */
    private double promptBackwardRow(float[] q, int qo, int b, int h, int g, int t, float[] dout, float[] dq, float[] ak, float[] av,
                                     float[] gamma, float[] promptProbs, float[] promptOut, float[] dakPart, float[] davPart,
                                     float[] dp, float[] dpo) {
        int kw = Hkv * hd, kvOff = b * K * kw, ps = b * promptStride;
        double dgamma = Vec.dot(dout, qo, promptOut, qo, hd);
        for (int i = 0; i < hd; i++) dpo[i] = gamma[h] * dout[qo + i];
        int pr = ((b * H + h) * T + t) * K;
        float sum = 0f;
        for (int j = 0; j < K; j++) {
            int ao = j * kw + g * hd;
            dp[j] = Vec.dot(dpo, 0, av, ps + ao, hd);
            sum += promptProbs[pr + j] * dp[j];
            Vec.axpy(promptProbs[pr + j], dpo, 0, davPart, kvOff + ao, hd);
        }
        for (int j = 0; j < K; j++) {
            float ds = promptProbs[pr + j] * (dp[j] - sum) * scale;
            int ao = j * kw + g * hd;
            if (dq != null) Vec.axpy(ds, ak, ps + ao, dq, qo, hd);
            Vec.axpy(ds, q, qo, dakPart, kvOff + ao, hd);
        }
        return dgamma;
    }

    /** p[r .. r + n) = softmax of itself given its maximum. */
    static void softmaxRow(float[] p, int r, int n, float max) {
        CrossEntropy.scaledExp(p, r, n, max, 1f, p);
        float sum = 0f;
        for (int j = r; j < r + n; j++) sum += p[j];
        float inv = 1f / sum;
        for (int j = r; j < r + n; j++) p[j] *= inv;
    }

    /** p[0..n) = softmax(p[0..n)) given its maximum. */
    static void softmaxInPlace(float[] p, int n, float max) {
        CrossEntropy.scaledExp(p, 0, n, max, 1f, p);
        float sum = 0f;
        for (int j = 0; j < n; j++) sum += p[j];
        float inv = 1f / sum;
        for (int j = 0; j < n; j++) p[j] *= inv;
    }

    /**
     * Attention of M rows against a KV cache (decoding and prompt processing): row m is at position
     * pos[m] of the sequence whose keys/values start at kvBase[m] in kc/vc ([positions, Hkv·hd], its
     * own keys already written), and attends to positions 0..pos[m]. Row m's prompt branch uses
     * ak[m], av[m] [K_m, Hkv·hd] and gamma[m] [H] (null: no adapter on this row; K_m may differ by row).
     * q [M, H·hd] → out [M, H·hd].
     */
    public static void cachedRows(int M, int H, int Hkv, int hd, float[] q, float[] kc, float[] vc, int[] kvBase, int[] pos,
                                  float[][] ak, float[][] av, float[][] gamma, float[] out) {
        int qw = H * hd, kw = Hkv * hd, group = H / Hkv;
        float scale = (float) (1.0 / Math.sqrt(hd));
        int need = 1;
        for (int m = 0; m < M; m++) need = Math.max(need, Math.max(pos[m] + 1, ak[m] == null ? 0 : ak[m].length / kw));
        int scratch = need;
        Parallel.forRange(M * H, (lo, hi) -> {
            float[] p = Scratch.floats(Scratch.PROBS, scratch); // [positions] one row of probabilities
            float[] po = Scratch.floats(Scratch.HEAD, hd);      // [hd] ungated prompt output
            for (int mh = lo; mh < hi; mh++) {
                int m = mh / H, h = mh % H, g = h / group, n = pos[m] + 1, qo = m * qw + h * hd, base = kvBase[m] + g * hd;
                float max = Float.NEGATIVE_INFINITY;
                for (int j = 0; j < n; j++) {
                    p[j] = Vec.dot(q, qo, kc, base + j * kw, hd) * scale;
                    max = Math.max(max, p[j]);
                }
                softmaxInPlace(p, n, max);
                java.util.Arrays.fill(out, qo, qo + hd, 0f);
                for (int j = 0; j < n; j++) Vec.axpy(p[j], vc, base + j * kw, out, qo, hd);
                if (ak[m] == null) continue;
                int K = ak[m].length / kw;
                max = Float.NEGATIVE_INFINITY;
                for (int j = 0; j < K; j++) {
                    p[j] = Vec.dot(q, qo, ak[m], j * kw + g * hd, hd) * scale;
                    max = Math.max(max, p[j]);
                }
                softmaxInPlace(p, K, max);
                java.util.Arrays.fill(po, 0f);
                for (int j = 0; j < K; j++) Vec.axpy(p[j], av[m], j * kw + g * hd, po, 0, hd);
                Vec.axpy(gamma[m][h], po, 0, out, qo, hd);
            }
        });
    }
}

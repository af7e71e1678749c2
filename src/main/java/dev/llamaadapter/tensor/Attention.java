package dev.llamaadapter.tensor;

/**
 * Causal self-attention with LLaMA-Adapter's gated prompt attention (spec §2), forward beside backward.
 *
 * <p>Per query head h (kv head h / (H/Hkv) under GQA), for token t of sequence b:
 * token branch S_t = softmax_{j≤t}(q_t·k_j·s), prompt branch S_p = softmax_k(q_t·ak_k·s) over all K
 * prompt keys (a separate softmax, no mask, no RoPE on ak), out_t = S_t v + γ_h · S_p av, where
 * γ_h = act(gate_h) and s = 1/sqrt(hd). Buffers are flat row-major; row m = b·T + t.
 *
 * <p>The token branch has two forms, chosen by T: below {@link #TILED_MIN_T} a loop of dots and axpys
 * per token that keeps the probabilities [B, H, T, T] for the backward; from it {@link TiledAttention}, in
 * blocks with an online softmax, which keeps only O(T) per row (lse and the token output) and recomputes
 * each block's probabilities in the backward. {@link #savedFloats} sizes what either keeps. The K-wide
 * prompt branch ({@link PromptAttention}, per head) keeps its probabilities and ungated output (K is small).
 */
public final class Attention {
    private final int B, T, H, Hkv, hd, K;
    private final int window; // sliding window W (spec §7): query t sees keys j with t − W < j ≤ t; 0 = causal only
    private final int promptStride; // floats between sequences' prompt keys/values: 0 = one set shared by the batch
    private final float scale;
    private final float cap;  // gemma2's attention softcap: scores become c·tanh(s/c); 0 = none
    private final PromptAttention prompt; // the gated prompt branch, per (sequence, head); null when K = 0
    /**
     * From this many tokens the token branch runs tiled. Measured (AttentionSpeed, tinyllama's heads, 2 cores,
     * forward + backward): the per-token loop is ahead up to 16 tokens, even at 24, behind from 32 (0.69-0.77
     * against 0.77-0.90 ms), 1.5× slower at 40, 3× at 256, 5× at 1024, where the tiled form also keeps
     * T/(hd + 1) times less. The tiled form replaced full [T, T] products per head from 64 tokens, which it
     * beats at every length measured (1.4× at 64, 1.2× at 256, 1.7× at 1024).
     */
    public static final int TILED_MIN_T = 32;

    /**
     * Floats of the token branch's saved state for a [B, T] batch: below TILED_MIN_T the probabilities
     * [B, H, T, T], from it lse [B, H, T] then the token output [B·T, H·hd] (see {@link TiledAttention}).
     */
    public static long savedFloats(int B, int T, int H, int hd) {
        return T < TILED_MIN_T ? (long) B * H * T * T : TiledAttention.savedFloats(B, T, H, hd);
    }

    /** The most {@link #savedFloats} any batch within the capacity [B, maxT] needs (buffers are sized once). */
    public static long savedFloatsCapacity(int B, int maxT, int H, int hd) {
        return Math.max(savedFloats(B, Math.min(maxT, TILED_MIN_T - 1), H, hd), savedFloats(B, maxT, H, hd));
    }

    /** K = 0: no prompt branch (a base-model layer). */
    public Attention(int B, int T, int H, int Hkv, int hd, int K) {
        this(B, T, H, Hkv, hd, K, false);
    }

    /**
     * perSamplePrompts: ak, av hold one [K, Hkv·hd] block per sequence ([B, K, Hkv·hd]), as the
     * multimodal adapter needs (each sample's prompts carry its own visual token, spec §5).
     */
    public Attention(int B, int T, int H, int Hkv, int hd, int K, boolean perSamplePrompts) {
        this(B, T, H, Hkv, hd, K, perSamplePrompts, 0, (float) (1.0 / Math.sqrt(hd)), 0f);
    }

    /**
     * The family's attention (spec §7): scores q·k·scale (scale 1/sqrt(hd), or gemma2's query_pre_attn_scalar^−1/2),
     * softcapped to c·tanh(s/c) when cap &gt; 0 (token and prompt scores alike), the token branch under a
     * sliding window when window &gt; 0.
     */
    public Attention(int B, int T, int H, int Hkv, int hd, int K, boolean perSamplePrompts, int window, float scale, float cap) {
        if (window < 0) throw new IllegalArgumentException("sliding window " + window);
        this.window = window;
        this.cap = cap;
        if (H % Hkv != 0) throw new IllegalArgumentException("heads " + H + " not a multiple of kv heads " + Hkv);
        this.B = B; this.T = T; this.H = H; this.Hkv = Hkv; this.hd = hd; this.K = K;
        this.promptStride = perSamplePrompts ? K * Hkv * hd : 0;
        this.scale = scale;
        this.prompt = K > 0 ? new PromptAttention(T, H, Hkv, hd, K, promptStride, scale, cap) : null;
    }

    /**
     * q [B·T, H·hd], k, v [B·T, Hkv·hd] → out [B·T, H·hd] (overwritten).
     * saved ({@link #savedFloats} floats) receives what the token branch's backward needs: below
     * TILED_MIN_T S_t [B, H, T, T] (entries j > t are 0), from it lse [B, H, T] then the token output [B·T, H·hd].
     * Prompt branch (when K > 0): ak, av [K, Hkv·hd] (per sample: [B, K, Hkv·hd]), gamma [H] = act(gate); promptProbs [B, H, T, K]
     * receives S_p and promptOut [B·T, H·hd] the ungated S_p av. Any saved buffer may be null when no
     * backward follows.
     */
    public void forward(float[] q, float[] k, float[] v, float[] out, float[] saved,
                        float[] ak, float[] av, float[] gamma, float[] promptProbs, float[] promptOut) {
        if (T < TILED_MIN_T) forwardByRows(q, k, v, out, saved, ak, av, gamma, promptProbs, promptOut);
        else forwardTiled(q, k, v, out, saved, ak, av, gamma, promptProbs, promptOut);
    }

    /**
     * Backward from dout [B·T, H·hd], given what the forward saved.
     * Token branch (when dq != null): dq [B·T, H·hd], dk, dv [B·T, Hkv·hd] are overwritten.
     * Prompt branch (when K > 0): dgammaPart [B, H] receives Σ_t dout·(S_p av) per sequence and head
     * (the gate gradient before act'), dakPart, davPart [B, K, Hkv·hd] the prompt key/value gradients
     * per sequence (summed over b by the caller), and the prompt's share of dq is added when dq != null.
     * Work is split by (sequence, kv head) so no two tasks write the same element.
     */
    public void backward(float[] q, float[] k, float[] v, float[] saved, float[] dout,
                         float[] dq, float[] dk, float[] dv,
                         float[] ak, float[] av, float[] gamma, float[] promptProbs, float[] promptOut,
                         float[] dgammaPart, float[] dakPart, float[] davPart) {
        if (T < TILED_MIN_T)
            backwardByRows(q, k, v, saved, dout, dq, dk, dv, ak, av, gamma, promptProbs, promptOut, dgammaPart, dakPart, davPart);
        else backwardTiled(q, k, v, saved, dout, dq, dk, dv, ak, av, gamma, promptProbs, promptOut, dgammaPart, dakPart, davPart);
    }

    /** The tiled token branch (TiledAttention) per (sequence, head), then the head's prompt branch. */
    void forwardTiled(float[] q, float[] k, float[] v, float[] out, float[] saved,
                      float[] ak, float[] av, float[] gamma, float[] promptProbs, float[] promptOut) {
        Parallel.forRange(B * H, (lo, hi) -> {
            float[] work = K > 0 ? Scratch.floats(Scratch.PROMPT, prompt.workFloats()) : null; // the prompt branch's
            for (int bh = lo; bh < hi; bh++) {
                int b = bh / H, h = bh % H;
                TiledAttention.forwardHead(B, T, H, Hkv, hd, b, h, q, k, v, out, saved, window, scale, cap);
                if (K > 0) prompt.forwardHead(q, b, h, ak, av, gamma, out, promptProbs, promptOut, work);
            }
        });
    }

    /** The tiled token branch's backward and the prompt branch's, per (sequence, kv head). */
    void backwardTiled(float[] q, float[] k, float[] v, float[] saved, float[] dout,
                       float[] dq, float[] dk, float[] dv,
                       float[] ak, float[] av, float[] gamma, float[] promptProbs, float[] promptOut,
                       float[] dgammaPart, float[] dakPart, float[] davPart) {
        int group = H / Hkv;
        boolean tokens = dq != null;
        Parallel.forRange(B * Hkv, (lo, hi) -> {
            float[] work = K > 0 ? Scratch.floats(Scratch.PROMPT, prompt.workFloats()) : null; // the prompt branch's
            for (int bg = lo; bg < hi; bg++) {
                int b = bg / Hkv, g = bg % Hkv;
                // the token branch first: it overwrites dq rows the prompt branch then adds to
                if (tokens) TiledAttention.backwardGroup(B, T, H, Hkv, hd, b, g, q, k, v, saved, dout, dq, dk, dv, window, scale, cap);
                if (K == 0) continue;
                for (int h = g * group; h < (g + 1) * group; h++)
                    dgammaPart[b * H + h] = (float) prompt.backwardHead(q, b, h, dout, tokens ? dq : null, ak, av, gamma,
                            promptProbs, promptOut, dakPart, davPart, work);
            }
        });
    }

    // Short sequences: per token, a loop of dot products and axpys over the head (the tiled form only pays
    // from a few dozen tokens, and this keeps short-sequence runs, the demo's among them, as they were).

    void forwardByRows(float[] q, float[] k, float[] v, float[] out, float[] probs,
                        float[] ak, float[] av, float[] gamma, float[] promptProbs, float[] promptOut) {
        int qw = H * hd, kw = Hkv * hd, group = H / Hkv;
        Parallel.forRange(B * H, (lo, hi) -> {
            float[] p = Scratch.floats(Scratch.PROBS, T); // [T] scratch row of probabilities
            float[] work = K > 0 ? Scratch.floats(Scratch.PROMPT, prompt.workFloats()) : null; // the prompt branch's
            for (int bh = lo; bh < hi; bh++) {
                int b = bh / H, h = bh % H, g = h / group;
                for (int t = 0; t < T; t++) {
                    int qo = (b * T + t) * qw + h * hd, oo = qo;
                    // token branch, causal (and from t − W + 1 with a window); p[j] holds key j, 0 outside [lo, t]
                    int j1 = firstKey(t);
                    float max = Float.NEGATIVE_INFINITY;
                    for (int j = j1; j <= t; j++) {
                        p[j] = capped(Vec.dot(q, qo, k, (b * T + j) * kw + g * hd, hd) * scale, cap);
                        max = Math.max(max, p[j]);
                    }
                    softmaxInPlace(p, j1, t + 1, max);
                    java.util.Arrays.fill(out, oo, oo + hd, 0f);
                    for (int j = j1; j <= t; j++) Vec.axpy(p[j], v, (b * T + j) * kw + g * hd, out, oo, hd);
                    if (probs != null) {
                        int po0 = ((b * H + h) * T + t) * T;
                        java.util.Arrays.fill(probs, po0, po0 + j1, 0f);
                        System.arraycopy(p, j1, probs, po0 + j1, t + 1 - j1);
                        java.util.Arrays.fill(probs, po0 + t + 1, po0 + T, 0f);
                    }
                }
                if (K > 0) prompt.forwardHead(q, b, h, ak, av, gamma, out, promptProbs, promptOut, work);
            }
        });
    }

    void backwardByRows(float[] q, float[] k, float[] v, float[] probs, float[] dout,
                         float[] dq, float[] dk, float[] dv,
                         float[] ak, float[] av, float[] gamma, float[] promptProbs, float[] promptOut,
                         float[] dgammaPart, float[] dakPart, float[] davPart) {
        int qw = H * hd, kw = Hkv * hd, group = H / Hkv;
        boolean tokens = dq != null;
        Parallel.forRange(B * Hkv, (lo, hi) -> {
            float[] dp = Scratch.floats(Scratch.PROBS, T); // [T] gradient of one probability row
            float[] work = K > 0 ? Scratch.floats(Scratch.PROMPT, prompt.workFloats()) : null; // the prompt branch's
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
                    for (int t = 0; t < T; t++) {
                        int qo = (b * T + t) * qw + h * hd;
                        if (tokens) {
                            java.util.Arrays.fill(dq, qo, qo + hd, 0f);
                            int pr = ((b * H + h) * T + t) * T;
                            // dS_j = dout·v_j ; dv_j += S_j·dout ; dscore = S ⊙ (dS − Σ S dS)
                            float sum = 0f;
                            int j1 = firstKey(t);
                            for (int j = j1; j <= t; j++) {
                                int vo = (b * T + j) * kw + g * hd;
                                dp[j] = Vec.dot(dout, qo, v, vo, hd);
                                sum += probs[pr + j] * dp[j];
                                Vec.axpy(probs[pr + j], dout, qo, dv, vo, hd);
                            }
                            for (int j = j1; j <= t; j++) {
                                int ko = (b * T + j) * kw + g * hd;
                                float ds = probs[pr + j] * (dp[j] - sum) * scale;
                                if (cap > 0) ds *= capSlope(Vec.dot(q, qo, k, ko, hd) * scale, cap);
                                Vec.axpy(ds, k, ko, dq, qo, hd);
                                Vec.axpy(ds, q, qo, dk, ko, hd);
                            }
                        }
                    }
                    // after the token rows, which overwrite the dq rows the prompt branch adds to
                    if (K > 0) dgammaPart[b * H + h] = (float) prompt.backwardHead(q, b, h, dout, tokens ? dq : null, ak, av, gamma,
                            promptProbs, promptOut, dakPart, davPart, work);
                }
            }
        });
    }

    /** c·tanh(s/c), the softcap (gemma2); s itself when c = 0. */
    static float capped(float s, float c) {
        return c > 0 ? c * (float) Math.tanh(s / c) : s;
    }

    /** d capped(s)/ds = 1 − tanh²(s/c). */
    static float capSlope(float s, float c) {
        float t = (float) Math.tanh(s / c);
        return 1f - t * t;
    }

    /** The first key query t sees: 0, or t − W + 1 with a sliding window. */
    private int firstKey(int t) {
        return window > 0 ? Math.max(0, t - window + 1) : 0;
    }

    /** p[0..n) = softmax(p[0..n)) given its maximum. */
    static void softmaxInPlace(float[] p, int n, float max) {
        softmaxInPlace(p, 0, n, max);
    }

    /** p[lo..n) = softmax(p[lo..n)) given its maximum. */
    static void softmaxInPlace(float[] p, int lo, int n, float max) {
        CrossEntropy.scaledExp(p, lo, n - lo, max, 1f, p);
        float sum = 0f;
        for (int j = lo; j < n; j++) sum += p[j];
        float inv = 1f / sum;
        for (int j = lo; j < n; j++) p[j] *= inv;
    }

    /**
     * Attention of M rows against a KV cache (decoding and prompt processing): row m is at position
     * pos[m] of the sequence whose keys/values start at kvBase[m] in kc/vc ([positions, Hkv·hd], its
     * own keys already written), and attends to positions up to pos[m]. Row m's prompt branch uses
     * ak[m], av[m] [K_m, Hkv·hd] and gamma[m] [H] (null: no adapter on this row; K_m may differ by row).
     * q [M, H·hd] → out [M, H·hd]. Under a sliding window W (0: none) row m attends only to positions
     * pos[m] − W + 1 .. pos[m]; scores are scaled and softcapped as the constructor describes.
     */
    public static void cachedRows(int M, int H, int Hkv, int hd, float[] q, float[] kc, float[] vc, int[] kvBase, int[] pos,
                                  float[][] ak, float[][] av, float[][] gamma, float[] out, int window, float scale, float cap) {
        int qw = H * hd, kw = Hkv * hd, group = H / Hkv;
        int need = 1;
        for (int m = 0; m < M; m++) need = Math.max(need, Math.max(pos[m] + 1, ak[m] == null ? 0 : ak[m].length / kw));
        int scratch = need;
        Parallel.forRange(M * H, (lo, hi) -> {
            float[] p = Scratch.floats(Scratch.PROBS, scratch); // [positions] one row of probabilities
            float[] po = Scratch.floats(Scratch.HEAD, hd);      // [hd] ungated prompt output
            for (int mh = lo; mh < hi; mh++) {
                int m = mh / H, h = mh % H, g = h / group, n = pos[m] + 1, qo = m * qw + h * hd, base = kvBase[m] + g * hd;
                int j1 = window > 0 ? Math.max(0, n - window) : 0;
                float max = Float.NEGATIVE_INFINITY;
                for (int j = j1; j < n; j++) {
                    p[j] = capped(Vec.dot(q, qo, kc, base + j * kw, hd) * scale, cap);
                    max = Math.max(max, p[j]);
                }
                softmaxInPlace(p, j1, n, max);
                java.util.Arrays.fill(out, qo, qo + hd, 0f);
                for (int j = j1; j < n; j++) Vec.axpy(p[j], vc, base + j * kw, out, qo, hd);
                if (ak[m] == null) continue;
                int K = ak[m].length / kw;
                max = Float.NEGATIVE_INFINITY;
                for (int j = 0; j < K; j++) {
                    p[j] = capped(Vec.dot(q, qo, ak[m], j * kw + g * hd, hd) * scale, cap);
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

package dev.llamaadapter.model;

import dev.llamaadapter.tensor.Attention;

/**
 * Every buffer one forward/backward of a batch needs, sized once for the largest shape [maxB, maxT]
 * and reused across steps whatever the batch's own shape (hot loops allocate nothing). Layers below
 * the lowest adapted one keep nothing: they share the scratch buffers. M = B·T rows; qw = H·hd;
 * kw = Hkv·hd. Shape comments give the capacity.
 */
public final class Activations {
    public final int maxB, maxT;
    int B, T, M; // the current batch's shape, ≤ capacity
    final boolean train;
    final boolean full; // full fine-tuning: every layer keeps what the weight gradients need
    final int[] ids;    // [M] the batch's token ids (full: the embedding gradient scatters by them)

    // residual stream and scratch shared by all layers
    final float[] x;        // [M, D] residual stream
    final float[] h;        // [M, D] normed input of a block
    final float[] attn;     // [M, qw] attention output (input of o_proj)
    final float[] act;      // [M, F] silu(gate)·up
    final float[] q, k, v;  // [M, qw], [M, kw], [M, kw] scratch for layers that keep nothing
    final float[] gPre, up; // [M, F] scratch for layers that keep nothing
    final float[] rstdScratch; // [M]
    final float[] akScratch, avScratch; // [K, kw] prompt keys/values when not training ([B, K, kw] with visual tokens)
    final float[] gammaScratch;         // [H]
    /**
     * [M, V] the logits of the last forward; null in training without keepLogits, where the head runs on
     * chunks of scored rows only (headRows, headLogits, headGrad) and no [M, V] buffer exists. Inference
     * activations allocate it on the first forward that returns logits (evalLoss never does).
     */
    float[] logits;
    /** The training step's head is computed by the backward, on scored rows only (see {@link #logits}). */
    final boolean deferHead;
    boolean skipHead; // evalLoss: stop at the final norm, the loss runs the head on scored rows
    /** Rows per chunk of the output head: a [64, V] block, 39 MB for a 151,936-token vocabulary. */
    static final int HEAD_CHUNK = 64;
    float[] headRows, headLogits, headGrad, headDRows; // [HEAD_CHUNK, D], [HEAD_CHUNK, V] ×2, [HEAD_CHUNK, D]; made on first use
    int[] headIndex;                                    // [HEAD_CHUNK] the chunk's row numbers

    // per adapted layer, kept for the backward (index j = layer − firstLayer)
    final Saved[] saved;    // [L] everything the backward reads (null entries under recompute)
    // activation recomputation: only each adapted layer's input is kept; the backward recomputes the rest into `work`
    final boolean recompute;
    final float[][] xInKept; // [L][M, D] input of each adapted layer (null without recompute)
    final Saved work;        // one layer's block, refilled per layer (null without recompute)
    float[] visualIn;        // [B, D] the visual tokens of the last forward (null: none), for the recomputation
    final float[] xFinal;   // [M, D] input of the final norm
    final float[] rstdFinal; // [M]

    // backward
    final float[] dlogits;  // [M, V] (aliases logits when the caller does not need them)
    final float[] dx, dh;   // [M, D]
    final float[] dattn, dq; // [M, qw]
    final float[] dk, dv;   // [M, kw]
    final float[] dact, dg, du; // [M, F]
    final float[] dgammaPart;   // [B, H]
    final float[] dakPart, davPart; // [B, K, kw]
    final float[] dak, dav;     // [K, kw]
    final float[] promptRows;   // [K, D] one layer's prompt P_j (plus, later, a visual token)
    final float[] dPrompt;      // [K, D] gradient of P_j
    final float[] normScratch;  // [max(M·qw, K·kw)] the per-head norms' backward (qwen3), else null

    // multimodal adapter (spec §5): each sample's prompts carry its visual token I_p[b]
    final boolean visual;       // buffers sized for per-sample prompt keys/values
    boolean visualUsed;         // the last forward added visual tokens
    final float[] vk, vv;       // [B, kw] I_p Wkᵀ, I_p Wvᵀ: a visual token's share of every prompt key/value
    final float[] dakSum, davSum; // [B, kw] Σ_k of a sample's prompt key/value gradients
    /** [B, D] ∂L/∂I_p after backward, summed over every prompt row of every adapted layer (null without visual tokens). */
    public final float[] dVisual;

    static final class Saved {
        final float[] xIn, rstd1;   // [M, D], [M]
        final float[] q, k, v;      // [M, qw], [M, kw], [M, kw] after RoPE (q, k)
        final float[] tokenSaved;   // the token branch's: [B, H, T, T] probabilities below Attention.TILED_MIN_T, from it
                                    // lse [B, H, T] then the token output [M, qw] (Attention.savedFloatsCapacity floats)
        final float[] ak, av;       // [K, kw] prompt keys and values ([B, K, kw] with visual tokens)
        final float[] gamma;        // [H] act(gate)
        final float[] promptProbs;  // [B, H, T, K]
        final float[] promptOut;    // [M, qw] ungated S_p av
        final float[] xMid, rstd2;  // [M, D], [M]
        final float[] gPre, up;     // [M, F]
        final float[] attnOut;      // [M, qw] input of o_proj (full fine-tuning only, else null)
        // per-head q/k norms (qwen3), else null: the projections' outputs before the norm and the norms' r
        final float[] qPre, kPre;   // [M, qw], [M, kw]
        final float[] qRstd, kRstd; // [M·H], [M·Hkv]
        final float[] akPre, akRstd; // [K, kw], [K·Hkv] the prompt keys before the norm
        // gemma2's post-norms, else null: the attention and MLP outputs before their norms, and the norms' r
        final float[] oProj, rstd3, mlpProj, rstd4; // [M, D], [M], [M, D], [M]

        /** Bytes of one block: what a layer keeps for its backward without recomputation. */
        static long bytes(int B, int T, int D, int F, int H, int qw, int kw, int K, boolean full, boolean visual, boolean headNorms,
                          boolean postNorms) {
            long M = (long) B * T, PB = visual ? B : 1, hd = qw / H;
            return 4 * (M * D + M + M * qw + 2 * M * kw + Attention.savedFloatsCapacity(B, T, H, qw / H) + 2 * PB * K * kw + H
                    + (long) B * H * T * K
                    + M * qw + M * D + M + 2 * M * F + (full ? M * qw : 0)
                    + (headNorms ? M * qw + M * kw + M * H + M * (kw / hd) + K * kw + K * (kw / hd) : 0)
                    + (postNorms ? 2 * (M * D + M) : 0));
        }

        Saved(int B, int T, int D, int F, int H, int qw, int kw, int K, boolean full, boolean visual, boolean headNorms, boolean postNorms) {
            int M = B * T;
            xIn = new float[M * D]; rstd1 = new float[M];
            q = new float[M * qw]; k = new float[M * kw]; v = new float[M * kw];
            tokenSaved = new float[Math.toIntExact(Attention.savedFloatsCapacity(B, T, H, qw / H))];
            int PB = visual ? B : 1;
            ak = new float[PB * K * kw]; av = new float[PB * K * kw]; gamma = new float[H];
            promptProbs = new float[B * H * T * K]; promptOut = new float[M * qw];
            xMid = new float[M * D]; rstd2 = new float[M];
            gPre = new float[M * F]; up = new float[M * F];
            attnOut = full ? new float[M * qw] : null;
            int hkv = kw / (qw / H);
            qPre = headNorms ? new float[M * qw] : null; kPre = headNorms ? new float[M * kw] : null;
            qRstd = headNorms ? new float[M * H] : null; kRstd = headNorms ? new float[M * hkv] : null;
            akPre = headNorms ? new float[K * kw] : null; akRstd = headNorms ? new float[K * hkv] : null;
            oProj = postNorms ? new float[M * D] : null; rstd3 = postNorms ? new float[M] : null;
            mlpProj = postNorms ? new float[M * D] : null; rstd4 = postNorms ? new float[M] : null;
        }
    }

    /**
     * @param train      keep what the backward needs for the adapted layers
     * @param keepLogits when training, keep logits apart from their gradient (dump-step needs both)
     * @param K          adapter_len (0 without adapter); L adapted layers
     * @param full       full fine-tuning (train, K = 0, L = every layer): also keep each layer's attention output
     * @param visual     the adapter has a visual projection: prompts become per sample
     * @param recompute  training: keep only each adapted layer's input, recompute the rest in the backward
     */
    Activations(LlamaConfig c, int B, int T, int K, int L, boolean train, boolean keepLogits, boolean full, boolean visual,
                boolean recompute) {
        this.maxB = B; this.maxT = T; this.train = train; this.full = full; this.visual = visual;
        this.recompute = train && recompute;
        this.B = B; this.T = T; this.M = B * T;
        int D = c.hiddenSize(), F = c.intermediateSize(), V = c.vocabSize(), H = c.numAttentionHeads();
        int hd = c.headDim(), qw = H * hd, kw = c.numKeyValueHeads() * hd;
        boolean headNorms = c.arch().family().qkNorm(), postNorms = c.arch().family().gemma();
        x = new float[M * D]; h = new float[M * D]; attn = new float[M * qw]; act = new float[M * F];
        this.deferHead = train && !keepLogits;
        this.vocab = V;
        logits = train && keepLogits ? new float[Math.multiplyExact(M, V)] : null;
        rstdScratch = new float[M];
        promptRows = new float[K * D];
        dPrompt = train ? new float[K * D] : null;
        int PB = visual ? B : 1;
        akScratch = new float[PB * K * kw]; avScratch = new float[PB * K * kw]; gammaScratch = new float[H];
        vk = visual ? new float[B * kw] : null;
        vv = visual ? new float[B * kw] : null;
        dakSum = visual && train ? new float[B * kw] : null;
        davSum = visual && train ? new float[B * kw] : null;
        dVisual = visual && train ? new float[B * D] : null;
        boolean keepAll = train && L == c.numHiddenLayers();
        q = keepAll ? null : new float[M * qw];
        k = keepAll ? null : new float[M * kw];
        v = keepAll ? null : new float[M * kw];
        gPre = keepAll ? null : new float[M * F];
        up = keepAll ? null : new float[M * F];
        saved = new Saved[L];
        ids = full ? new int[M] : null;
        xInKept = this.recompute ? new float[L][M * D] : null;
        work = this.recompute && L > 0 ? new Saved(B, T, D, F, H, qw, kw, K, full, visual, headNorms, postNorms) : null;
        if (train) {
            if (!this.recompute) for (int j = 0; j < L; j++) saved[j] = new Saved(B, T, D, F, H, qw, kw, K, full, visual, headNorms, postNorms);
            xFinal = new float[M * D]; rstdFinal = new float[M];
            dlogits = keepLogits ? new float[M * V] : null; // dump-step keeps logits and their gradient; training runs the head in chunks
            dx = new float[M * D]; dh = new float[M * D];
            dattn = new float[M * qw]; dq = new float[M * qw];
            dk = new float[M * kw]; dv = new float[M * kw];
            dact = act; // the forward's act is dead by the backward: reuse it
            dg = new float[M * F]; du = new float[M * F];
            dgammaPart = new float[B * H];
            dakPart = new float[B * K * kw]; davPart = new float[B * K * kw];
            dak = new float[K * kw]; dav = new float[K * kw];
            normScratch = headNorms ? new float[Math.max(M * qw, K * kw)] : null;
        } else {
            normScratch = null;
            xFinal = rstdFinal = dlogits = dx = dh = dattn = dq = dk = dv = dact = dg = du = null;
            dgammaPart = dakPart = davPart = dak = dav = null;
        }
    }

    /** Bytes of every buffer held (the kept layers' included); arrays shared between fields count once. */
    public long bytes() {
        java.util.Set<Object> seen = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        long n = arrayBytes(this, getClass(), seen);
        if (saved != null) for (Saved s : saved) if (s != null) n += arrayBytes(s, Saved.class, seen);
        return n;
    }

    private static long arrayBytes(Object o, Class<?> c, java.util.Set<Object> seen) {
        long n = 0;
        for (java.lang.reflect.Field f : c.getDeclaredFields()) {
            if (java.lang.reflect.Modifier.isStatic(f.getModifiers())) continue;
            try {
                Object v = f.get(o);
                if (v == null || !seen.add(v)) continue;
                if (v instanceof float[] a) n += 4L * a.length;
                else if (v instanceof int[] a) n += 4L * a.length;
            } catch (IllegalAccessException e) {
                throw new IllegalStateException(e);
            }
        }
        return n;
    }

    private final int vocab;

    /** The [M, V] logits buffer at capacity, made on first use. */
    float[] logitsBuffer() {
        if (logits == null) logits = new float[Math.multiplyExact(maxB * maxT, vocab)];
        return logits;
    }

    /** The head's chunk buffers, made on first use; a separate gradient block only under a final softcap (its backward reads the logits). */
    void headBuffers(int D, boolean separateGrad) {
        if (headRows == null) {
            headRows = new float[HEAD_CHUNK * D]; headDRows = new float[HEAD_CHUNK * D];
            headLogits = new float[HEAD_CHUNK * vocab];
            headIndex = new int[HEAD_CHUNK];
        }
        if (separateGrad && headGrad == null) headGrad = new float[HEAD_CHUNK * vocab];
    }

    /** The logits of the last forward that computed them ([M, V]; null when the head was deferred to the backward). */
    public float[] logits() {
        return logits;
    }

    /** Uses the buffers for a batch of shape [B, T] within the capacity. */
    public Activations reshape(int B, int T) {
        if (B <= 0 || T <= 0 || B > maxB || T > maxT)
            throw new IllegalArgumentException("batch [" + B + ", " + T + "] exceeds the buffers' capacity [" + maxB + ", " + maxT + "]");
        this.B = B; this.T = T; this.M = B * T;
        return this;
    }

    public int batch() {
        return B;
    }

    public int seqLen() {
        return T;
    }

    /** The non-adapted scratch when the layer keeps nothing, else the layer's saved block (the shared one under recompute). */
    Saved savedFor(int layer, int firstAdapted) {
        if (!train || layer < firstAdapted) return null;
        return recompute ? work : saved[layer - firstAdapted];
    }

    /**
     * Bytes kept between forward and backward for L trained layers of a [B, T] batch: L full blocks, or,
     * with recompute, L layer inputs plus one block. What --recompute saves, without allocating either.
     */
    public static long keptBytes(LlamaConfig c, int B, int T, int K, int L, boolean full, boolean visual, boolean recompute) {
        int hd = c.headDim(), qw = c.numAttentionHeads() * hd, kw = c.numKeyValueHeads() * hd;
        long block = Saved.bytes(B, T, c.hiddenSize(), c.intermediateSize(), c.numAttentionHeads(), qw, kw, K, full, visual,
                c.arch().family().qkNorm(), c.arch().family().gemma());
        return recompute ? (long) L * B * T * c.hiddenSize() * 4 + (L > 0 ? block : 0) : L * block;
    }
}

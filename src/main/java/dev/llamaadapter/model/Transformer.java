package dev.llamaadapter.model;

import dev.llamaadapter.tensor.Attention;
import dev.llamaadapter.tensor.CrossEntropy;
import dev.llamaadapter.tensor.GatedActivation;
import dev.llamaadapter.tensor.Matmul;
import dev.llamaadapter.tensor.RmsNorm;
import dev.llamaadapter.tensor.Rope;
import dev.llamaadapter.tensor.SwiGlu;
import dev.llamaadapter.tensor.Vec;

import java.util.Arrays;

/**
 * The one engine: a frozen LLaMA (spec §1) with optional adaption prompts (spec §2). forward() runs a
 * [B, T] batch of token ids to logits; backward() applies the fused cross-entropy and propagates down to
 * the lowest adapted layer only, producing gradients for the prompts and gates (never for frozen weights).
 */
public final class Transformer {
    public final LlamaConfig config;
    public final LlamaWeights weights;
    private final Rope rope;
    private final QkvStep qkv;
    private final GatedActivation glu;
    private final float embedScale;   // gemma2: embeddings × sqrt(D) rounded to the weights' dtype; else 1
    private final float attnScale, attnCap; // scores q·k·scale, their softcap (0: none)
    private final OutputHead head;
    private final boolean postNorms;  // gemma2: RMSNorm on the attention and MLP outputs before their residuals
    private final int D, F, V, H, Hkv, hd, N;

    public Transformer(LlamaConfig config, LlamaWeights weights) {
        this.config = config;
        this.weights = weights;
        D = config.hiddenSize(); F = config.intermediateSize(); V = config.vocabSize();
        H = config.numAttentionHeads(); Hkv = config.numKeyValueHeads(); hd = config.headDim();
        N = config.numHiddenLayers();
        Architecture arch = config.arch();
        rope = new Rope(hd, arch.rope().inverseFrequencies(config.ropeTheta(), arch.rotaryDim()), 512);
        qkv = new QkvStep(config);
        glu = GatedActivation.of(config.hiddenAct());
        postNorms = arch.family().gemma();
        embedScale = arch.family().gemma() ? roundTo(weights.embed().dtype(), (float) Math.sqrt(D)) : 1f;
        attnScale = (float) arch.queryScale();
        attnCap = (float) arch.attnSoftcap();
        head = new OutputHead(config, weights);
    }

    /** v rounded to a weight dtype (gemma2 multiplies its embeddings by sqrt(D) in the weights' dtype). */
    private static float roundTo(dev.llamaadapter.tensor.DType t, float v) {
        return switch (t) {
            case BF16 -> dev.llamaadapter.tensor.DType.bf16ToFloat(dev.llamaadapter.tensor.DType.floatToBf16(v));
            case F16 -> Float.float16ToFloat(Float.floatToFloat16(v));
            default -> v;
        };
    }

    /** The attention of layer i: the family's scale, softcap and window. */
    private Attention attention(int B, int T, int K, boolean perSample, int layer) {
        return new Attention(B, T, H, Hkv, hd, K, perSample, config.arch().windowOf(layer), attnScale, attnCap);
    }


    /** Buffers for batches of shape [B, T]; train keeps what backward needs; keepLogits keeps logits apart from their gradient. */
    public Activations activations(int B, int T, AdaptionPrompts prompts, boolean train, boolean keepLogits) {
        return activations(B, T, prompts, train, keepLogits, false);
    }

    /**
     * As above; recompute (activation recomputation, training only) keeps just each adapted layer's input
     * and runs the layer's forward again during the backward: ~1/3 more matmul work, far less memory.
     */
    public Activations activations(int B, int T, AdaptionPrompts prompts, boolean train, boolean keepLogits, boolean recompute) {
        if (train && prompts == null) throw new IllegalArgumentException("training needs an adapter");
        return new Activations(config, B, T, prompts == null ? 0 : prompts.adapterLen,
                prompts == null ? 0 : prompts.adapterLayers, train, keepLogits, false, prompts != null && prompts.visual != null,
                train && recompute);
    }

    /** Buffers for full fine-tuning of batches up to [B, T]: every layer keeps what its weight gradients need. */
    public Activations activationsFull(int B, int T) {
        return activationsFull(B, T, false);
    }

    /** Full fine-tuning buffers, with activation recomputation when asked (see {@link #activations}). */
    public Activations activationsFull(int B, int T, boolean recompute) {
        return new Activations(config, B, T, 0, N, true, false, true, false, recompute);
    }

    /** Checks that an adapter fits this base model: D, H and layer count. */
    public void checkFits(AdaptionPrompts p, String source) {
        if (p == null) return;
        if (p.dim != D) throw new IllegalArgumentException(source + ": adapter dim " + p.dim + " does not match the base model's hidden_size " + D);
        if (p.heads != H) throw new IllegalArgumentException(source + ": adapter has " + p.heads + " gates per layer but the base model has " + H + " heads");
        if (p.adapterLayers > N) throw new IllegalArgumentException(source + ": adapter_layers " + p.adapterLayers + " exceeds the base model's " + N + " layers");
    }

    /**
     * ids [B·T] → logits [B·T, V] (a.logits). prompts may be null (the base model). Training activations made
     * without keepLogits return null: their head runs in the backward, on the scored rows only.
     */
    public float[] forward(Activations a, int[] ids, AdaptionPrompts prompts) {
        return forward(a, ids, prompts, null);
    }

    /**
     * The multimodal forward (spec §5): visual [B, D] holds each sample's visual token I_p[b] (a zero row:
     * no image), added to every prompt row of every adapted layer. By linearity the prompt keys are
     * P_j Wkᵀ + I_p[b] Wkᵀ: the prompts go through the projections once, the B tokens once more, not B·K rows.
     * visual null: the text-only forward.
     */
    public float[] forward(Activations a, int[] ids, AdaptionPrompts prompts, float[] visual) {
        checkFits(prompts, "adapter");
        if (visual != null) {
            if (prompts == null || !a.visual)
                throw new IllegalArgumentException("visual tokens need an adapter with a visual projection (and activations made for it)");
            if (visual.length < a.B * D) throw new IllegalArgumentException("visual tokens: " + visual.length + " floats for [" + a.B + ", " + D + "]");
        }
        a.visualUsed = visual != null;
        int B = a.B, T = a.T, M = a.M;
        if (ids.length < M) throw new IllegalArgumentException("batch has " + ids.length + " ids, expected " + M);
        for (int m = 0; m < M; m++) {
            int id = ids[m];
            if (id < 0 || id >= V)
                throw new IllegalArgumentException("token id " + id + " at batch row " + (m / T) + ", position " + (m % T)
                        + " is outside the vocabulary [0, " + V + ")");
            weights.embed().row(id, a.x, m * D);
            if (embedScale != 1f) for (int d = m * D; d < (m + 1) * D; d++) a.x[d] *= embedScale;
        }
        if (a.full) {
            if (prompts != null) throw new IllegalArgumentException("full fine-tuning trains the base weights, not an adapter");
            System.arraycopy(ids, 0, a.ids, 0, M);
        }
        int first = prompts == null ? N : prompts.firstLayer(N);
        int saveFrom = a.full ? 0 : first; // the lowest layer whose activations the backward reads
        int K = prompts == null ? 0 : prompts.adapterLen;
        a.visualIn = visual;
        for (int i = 0; i < N; i++) {
            Activations.Saved s = a.savedFor(i, saveFrom);
            if (s != null && a.recompute) System.arraycopy(a.x, 0, a.xInKept[i - saveFrom], 0, M * D); // all the layer keeps
            layer(a, i, s, prompts, visual, first, K, true);
        }
        if (a.train) System.arraycopy(a.x, 0, a.xFinal, 0, M * D);
        RmsNorm.forward(a.x, weights.finalNorm(), (float) config.rmsNormEps(), M, D, a.h, a.train ? a.rstdFinal : a.rstdScratch);
        if (a.deferHead || a.skipHead) return null; // a.h holds the final normed rows: the backward runs the head on the scored ones
        float[] logits = a.logitsBuffer();
        head.logits(a.h, M, logits);
        return logits;
    }


    /**
     * Layer i of the forward on the residual stream a.x [M, D], which it updates in place; s (null: the
     * layer keeps nothing) receives what the backward reads. output false stops once s is complete, before the
     * MLP's down projection: that is how the backward recomputes a layer under activation recomputation.
     */
    private void layer(Activations a, int i, Activations.Saved s, AdaptionPrompts prompts, float[] visual, int first, int K,
                       boolean output) {
        int B = a.B, T = a.T, M = a.M;
        int qw = H * hd, kw = Hkv * hd;
        LlamaWeights.Layer w = weights.layers()[i];
        boolean adapted = i >= first;
        float[] q = s != null ? s.q : a.q, k = s != null ? s.k : a.k, v = s != null ? s.v : a.v;
        float[] rstd1 = s != null ? s.rstd1 : a.rstdScratch;
        if (s != null) System.arraycopy(a.x, 0, s.xIn, 0, M * D);
        RmsNorm.forward(a.x, w.attnNorm(), (float) config.rmsNormEps(), M, D, a.h, rstd1);
        if (s != null) qkv.forward(w, a.h, M, q, k, v, s.qPre, s.kPre, s.qRstd, s.kRstd);
        else qkv.forward(w, a.h, M, q, k, v, null, null, null, null);
        rope.apply(q, B, T, H, 0, false);
        rope.apply(k, B, T, Hkv, 0, false);
        Attention att = attention(B, T, adapted ? K : 0, visual != null, i);
        float[] saved = s != null ? s.tokenSaved : null; // what the token branch's backward needs (nothing without one)
        if (adapted) {
            float[] ak = s != null ? s.ak : a.akScratch, av = s != null ? s.av : a.avScratch;
            float[] gamma = s != null ? s.gamma : a.gammaScratch;
            promptKeysValues(prompts, i - first, w, a.promptRows, ak, av, s != null ? s.akPre : null, s != null ? s.akRstd : null);
            if (visual != null) {
                if (QkvStep.hasHeadNorms(w))
                    throw new IllegalArgumentException("a multimodal adapter on " + config.arch().family() + " (per-head key norms) is not supported yet");
                Matmul.xwT(visual, B, w.wk(), a.vk, false);
                Matmul.xwT(visual, B, w.wv(), a.vv, false);
                perSample(ak, a.vk, B, K, kw);
                perSample(av, a.vv, B, K, kw);
            }
            for (int h = 0; h < H; h++) gamma[h] = prompts.gateActivation.apply(prompts.gate[(i - first) * H + h]);
            att.forward(q, k, v, a.attn, saved, ak, av, gamma,
                    s != null ? s.promptProbs : null, s != null ? s.promptOut : null);
        } else {
            att.forward(q, k, v, a.attn, saved, null, null, null, null, null);
        }
        if (s != null && s.attnOut != null) System.arraycopy(a.attn, 0, s.attnOut, 0, M * qw);
        residual(a.attn, M, w.wo(), w.x().bo(), w.x().postAttnNorm(), a.x, a.h, s != null ? s.oProj : null,
                s != null ? s.rstd3 : a.rstdScratch); // x += attn·Woᵀ (gemma2: normed first)
        if (s != null) System.arraycopy(a.x, 0, s.xMid, 0, M * D);
        RmsNorm.forward(a.x, w.mlpNorm(), (float) config.rmsNormEps(), M, D, a.h, s != null ? s.rstd2 : a.rstdScratch);
        float[] g = s != null ? s.gPre : a.gPre, u = s != null ? s.up : a.up;
        mlp(w, a.h, M, g, u, a.act, a.x, output, s != null ? s.mlpProj : null, s != null ? s.rstd4 : a.rstdScratch);
    }

    /**
     * The MLP on normed rows h [M, D]: g, u [M, F] receive the gate and up projections (biases added), act [M, F]
     * silu(g)·u made tile by tile as the up projection finishes them, and x [M, D] += act·Wdownᵀ (+ b_down).
     * output false stops before the down projection (a recomputation needs only the MLP's inputs).
     */
    private void mlp(LlamaWeights.Layer w, float[] h, int M, float[] g, float[] u, float[] act, float[] x, boolean output,
                     float[] keptOut, float[] rstd) {
        float[] bg = w.x().bGate(), bu = w.x().bUp();
        QkvStep.project(h, M, w.wGate(), bg, g);
        GatedActivation gate = glu;
        Matmul.xwT(h, M, w.wUp(), u, false, output ? (r, c, n) -> {
            if (bu != null) Vec.add(bu, c, u, r * F + c, n);
            gate.forwardRange(g, u, act, r * F + c, n);
        } : null);
        if (!output) {
            if (bu != null) QkvStep.addRows(u, M, bu);
            return;
        }
        residual(act, M, w.wDown(), w.x().bDown(), w.x().postMlpNorm(), x, h, keptOut, rstd); // x += act·Wdownᵀ (gemma2: normed first)
    }

    /**
     * x [M, D] += y·Wᵀ (+ b), or with a post-norm (gemma2) x += RMSNorm(y·Wᵀ + b): the product goes to tmp [M, D]
     * first, which keptOut (null: no backward) keeps, with the norm's r in rstd.
     */
    private void residual(float[] y, int M, dev.llamaadapter.tensor.WeightMatrix W, float[] b, float[] postNorm, float[] x, float[] tmp,
                          float[] keptOut, float[] rstd) {
        if (postNorm == null) {
            Matmul.xwT(y, M, W, x, true);
            if (b != null) QkvStep.addRows(x, M, b);
            return;
        }
        QkvStep.project(y, M, W, b, tmp);
        if (keptOut != null) System.arraycopy(tmp, 0, keptOut, 0, M * D);
        RmsNorm.forward(tmp, postNorm, (float) config.rmsNormEps(), M, D, tmp, rstd);
        Vec.add(tmp, 0, x, 0, M * D);
    }

    /**
     * Mean cross-entropy of a batch without any backward (validation): forward, then the loss computed
     * in place over the logits buffer, which it overwrites.
     */
    public float evalLoss(Activations a, int[] ids, int[] labels, AdaptionPrompts prompts) {
        return evalLoss(a, ids, labels, prompts, null);
    }

    /** {@link #evalLoss(Activations, int[], int[], AdaptionPrompts)} with visual tokens [B, D] (null: none). */
    public float evalLoss(Activations a, int[] ids, int[] labels, AdaptionPrompts prompts, float[] visual) {
        forwardHidden(a, ids, prompts, visual); // the head only on scored rows, in chunks: no [M, V] buffer for a validation pass
        return head.loss(a, labels, null, false);
    }

    /** The forward up to the final norm (a.h holds the normed rows), without the head. */
    private void forwardHidden(Activations a, int[] ids, AdaptionPrompts prompts, float[] visual) {
        boolean saved = a.skipHead;
        a.skipHead = true;
        try {
            forward(a, ids, prompts, visual);
        } finally {
            a.skipHead = saved;
        }
    }

    /** An adapter made ready for inference: prompt keys/values and gate weights of every adapted layer, computed once. */
    public PreparedPrompts prepare(AdaptionPrompts p) {
        return prepare(p, null);
    }

    /** An adapter made ready for one request whose image gave the visual token [D] (null: no image, the text-only prompts). */
    public PreparedPrompts prepare(AdaptionPrompts p, float[] visualToken) {
        checkFits(p, "adapter");
        if (visualToken != null && visualToken.length != D)
            throw new IllegalArgumentException("visual token has " + visualToken.length + " values, the model's hidden_size is " + D);
        int L = p.adapterLayers, K = p.adapterLen, first = p.firstLayer(N), kw = Hkv * hd;
        float[][] ak = new float[L][K * kw], av = new float[L][K * kw], gamma = new float[L][H];
        float[] rows = new float[K * D]; // [K, D] one layer's prompt
        for (int j = 0; j < L; j++) {
            promptKeysValues(p, j, weights.layers()[first + j], rows, ak[j], av[j], null, null);
            if (visualToken != null) {
                if (QkvStep.hasHeadNorms(weights.layers()[first + j]))
                    throw new IllegalArgumentException("a multimodal adapter on " + config.arch().family() + " (per-head key norms) is not supported yet");
                float[] vk = new float[kw], vv = new float[kw]; // [kw] the token's keys/values, added to every prompt row
                Matmul.xwT(visualToken, 1, weights.layers()[first + j].wk(), vk, false);
                Matmul.xwT(visualToken, 1, weights.layers()[first + j].wv(), vv, false);
                for (int k = 0; k < K; k++) {
                    Vec.add(vk, 0, ak[j], k * kw, kw);
                    Vec.add(vv, 0, av[j], k * kw, kw);
                }
            }
            for (int h = 0; h < H; h++) gamma[j][h] = p.gateActivation.apply(p.gate[j * H + h]);
        }
        return new PreparedPrompts(first, K, H, ak, av, gamma);
    }

    /** Buffers of the cached path for up to `rows` rows at once, grown on demand; one per calling thread. */
    public static final class Scratch {
        int cap;
        float[] x, h, q, k, v, attn, g, u, act; // [rows, D | qw | kw | F]
        float[] last;                            // [rows, D] normed rows whose logits are wanted
        int[] kvBase;                            // [rows]
        float[][] ak, av, gamma;                 // [rows][…] the prompt branch of each row in the current layer

        void ensure(int rows, int D, int F, int qw, int kw) {
            if (rows <= cap) return;
            cap = Math.max(rows, 2 * cap);
            x = new float[cap * D]; h = new float[cap * D]; last = new float[cap * D];
            q = new float[cap * qw]; attn = new float[cap * qw];
            k = new float[cap * kw]; v = new float[cap * kw];
            g = new float[cap * F]; u = new float[cap * F]; act = new float[cap * F];
            kvBase = new int[cap];
            ak = new float[cap][]; av = new float[cap][]; gamma = new float[cap][];
        }
    }

    /**
     * The cached forward: row m is token tokens[m] of the sequence in cache slot slot[m] at position
     * pos[m], read through prompts[m] (null = the base model). Each row's keys/values are written to
     * the cache before any row attends, so a sequence's rows (prompt processing) must come in position
     * order in one call, or in earlier calls. Rows with logitRow[m] ≥ 0 get their logits at
     * logits[logitRow[m]·V]; the others skip the head. Rows may mix sequences and adapters freely.
     */
    public void forwardCached(KvCache cache, int M, int[] tokens, int[] slot, int[] pos, PreparedPrompts[] prompts,
                              int[] logitRow, float[] logits, Scratch s) {
        int qw = H * hd, kw = Hkv * hd;
        float eps = (float) config.rmsNormEps();
        s.ensure(M, D, F, qw, kw);
        for (int m = 0; m < M; m++) {
            if (tokens[m] < 0 || tokens[m] >= V)
                throw new IllegalArgumentException("token id " + tokens[m] + " is outside the vocabulary [0, " + V + ")");
            if (slot[m] < 0 || slot[m] >= cache.slots || pos[m] < 0 || pos[m] >= cache.maxSeq)
                throw new IllegalArgumentException("position " + pos[m] + " of slot " + slot[m] + " is outside the KV cache ["
                        + cache.slots + " slots × " + cache.maxSeq + " positions]");
            weights.embed().row(tokens[m], s.x, m * D);
            if (embedScale != 1f) for (int d = m * D; d < (m + 1) * D; d++) s.x[d] *= embedScale;
            s.kvBase[m] = cache.offset(slot[m], 0);
        }
        for (int i = 0; i < N; i++) {
            LlamaWeights.Layer w = weights.layers()[i];
            RmsNorm.forward(s.x, w.attnNorm(), eps, M, D, s.h, null);
            qkv.forward(w, s.h, M, s.q, s.k, s.v, null, null, null, null);
            rope.applyAt(s.q, M, H, pos);
            rope.applyAt(s.k, M, Hkv, pos);
            float[] kc = cache.k[i], vc = cache.v[i];
            for (int m = 0; m < M; m++) {
                int o = cache.offset(slot[m], pos[m]);
                System.arraycopy(s.k, m * kw, kc, o, kw);
                System.arraycopy(s.v, m * kw, vc, o, kw);
                PreparedPrompts pp = prompts == null ? null : prompts[m];
                boolean adapted = pp != null && i >= pp.firstLayer;
                s.ak[m] = adapted ? pp.ak[i - pp.firstLayer] : null;
                s.av[m] = adapted ? pp.av[i - pp.firstLayer] : null;
                s.gamma[m] = adapted ? pp.gamma[i - pp.firstLayer] : null;
            }
            Attention.cachedRows(M, H, Hkv, hd, s.q, kc, vc, s.kvBase, pos, s.ak, s.av, s.gamma, s.attn, config.arch().windowOf(i),
                    attnScale, attnCap);
            residual(s.attn, M, w.wo(), w.x().bo(), w.x().postAttnNorm(), s.x, s.h, null, null);
            RmsNorm.forward(s.x, w.mlpNorm(), eps, M, D, s.h, null);
            mlp(w, s.h, M, s.g, s.u, s.act, s.x, true, null, null);
        }
        int R = 0;
        for (int m = 0; m < M; m++) {
            if (logitRow == null || logitRow[m] < 0) continue;
            System.arraycopy(s.x, m * D, s.h, R * D, D); // gather the rows whose logits are wanted
            R++;
        }
        if (R == 0) return;
        RmsNorm.forward(s.h, weights.finalNorm(), eps, R, D, s.last, null);
        if (R == M && isIdentity(logitRow, M)) {
            head.logits(s.last, R, logits);
        } else {
            float[] tmp = new float[R * V]; // [R, V]
            head.logits(s.last, R, tmp);
            int r = 0;
            for (int m = 0; m < M; m++) {
                if (logitRow[m] < 0) continue;
                System.arraycopy(tmp, r * V, logits, logitRow[m] * V, V);
                r++;
            }
        }
    }

    private static boolean isIdentity(int[] rows, int M) {
        for (int m = 0; m < M; m++) if (rows[m] != m) return false;
        return true;
    }

    /**
     * kv [K, kw] (the prompts' keys or values, in the first block) becomes [B, K, kw] with row k of sample b
     * = kv[k] + tok[b]: the visual token's share added to every prompt row. Sample 0 is done last, in place.
     */
    private static void perSample(float[] kv, float[] tok, int B, int K, int kw) {
        for (int b = B - 1; b >= 0; b--)
            for (int k = 0; k < K; k++) {
                int o = (b * K + k) * kw;
                if (b > 0) System.arraycopy(kv, k * kw, kv, o, kw);
                Vec.add(tok, b * kw, kv, o, kw);
            }
    }

    /**
     * Prompt keys/values of adapted layer j through the layer's own frozen key and value step (biases, key norms:
     * spec §7), never RoPE: ak = k(P_j), av = v(P_j). akPre, akRstd (null: no backward) keep the key norm's input.
     */
    private void promptKeysValues(AdaptionPrompts p, int j, LlamaWeights.Layer w, float[] pj, float[] ak, float[] av,
                                  float[] akPre, float[] akRstd) {
        int K = p.adapterLen;
        System.arraycopy(p.prompt, j * K * D, pj, 0, K * D); // pj [K, D]
        qkv.keysValues(w, pj, K, ak, av, akPre, akRstd);
    }

    /**
     * Loss and backward after forward(a, ids, prompts) with a training Activations: returns the mean
     * cross-entropy over scored positions (labels [B·T], −100 = not scored) and ADDS the gradients of
     * prompts and gates into grads (so micro-batches accumulate). After a forward with visual tokens,
     * a.dVisual [B, D] receives ∂L/∂I_p (overwritten): the visual projection's backward starts there.
     */
    public float backward(Activations a, int[] labels, AdaptionPrompts prompts, AdaptionPrompts grads) {
        if (prompts == null || grads == null) throw new IllegalArgumentException("adapter training needs the adapter and its gradient buffers");
        return backward(a, labels, prompts, grads, null);
    }

    /**
     * Full fine-tuning: loss and backward after forward(a, ids, null) with {@link #activationsFull}
     * buffers, ADDING the gradient of every base weight into wg.
     */
    public float backwardFull(Activations a, int[] labels, WeightGrads wg) {
        if (!a.full) throw new IllegalStateException("full fine-tuning needs activationsFull buffers");
        return backward(a, labels, null, null, wg);
    }

    /**
     * The one backward. With an adapter (prompts, grads) it runs down to the lowest adapted layer and
     * touches no frozen weight; with wg (full fine-tuning, no adapter) it runs through every layer to the
     * embedding and also forms each weight's gradient, dW += dyᵀ·x, from inputs it recomputes where that
     * is cheap (normed rows, SwiGLU output) and keeps otherwise (attention output).
     */
    private float backward(Activations a, int[] labels, AdaptionPrompts prompts, AdaptionPrompts grads, WeightGrads wg) {
        if (!a.train) throw new IllegalStateException("activations were not kept for training");
        boolean full = wg != null;
        int B = a.B, T = a.T, M = a.M, K = full ? 0 : prompts.adapterLen, first = full ? 0 : prompts.firstLayer(N);
        int qw = H * hd, kw = Hkv * hd;
        float eps = (float) config.rmsNormEps();
        float loss;
        if (a.deferHead) { // the head on the scored rows, block by block: a.dh gets the rows' gradients
            loss = head.loss(a, labels, wg, true);
        } else { // dump-step: every position's logits, kept apart from their gradient
            loss = CrossEntropy.forwardBackward(a.logits, labels, M, V, a.dlogits);
            head.capBackward(a.logits, a.dlogits, M);
            head.backward(a.dlogits, a.h, M, a.dh, wg); // a.h still holds the final normed rows from the forward
        }
        boolean visual = a.visualUsed;
        if (visual) Arrays.fill(a.dVisual, 0, B * D, 0f);

        // final norm: dx = RMSNorm'(x_final)ᵀ · dh
        Arrays.fill(a.dx, 0f);
        if (full) RmsNorm.weightGradAccumulate(a.xFinal, a.rstdFinal, a.dh, M, D, wg.finalNorm());
        RmsNorm.backwardAccumulate(a.xFinal, weights.finalNorm(), a.rstdFinal, a.dh, M, D, a.dx);

        for (int i = N - 1; i >= first; i--) {
            LlamaWeights.Layer w = weights.layers()[i];
            WeightGrads.Layer gw = full ? wg.layers()[i] : null;
            int j = i - first;
            Activations.Saved s;
            if (a.recompute) { // the layer's forward again, from its kept input, into the one shared block
                s = a.work;
                System.arraycopy(a.xInKept[j], 0, a.x, 0, M * D); // a.x (the residual stream) is free during the backward
                // full: no layer is adapted; gemma2's MLP post-norm needs the down projection's output too (a.x is scratch here)
                layer(a, i, s, prompts, a.visualIn, full ? N : first, K, postNorms);
            } else {
                s = a.saved[j];
            }
            // MLP block: x_out = x_mid + [N4](down(act(gate(h2))·up(h2))), h2 = RMSNorm(x_mid); N4 gemma2's post-norm
            float[] dMlp = postNormBackward(s.mlpProj, w.x().postMlpNorm(), s.rstd4, a.dx, M, a.dh); // the down projection's output gradient
            if (full) {
                if (w.x().postMlpNorm() != null) RmsNorm.weightGradAccumulate(s.mlpProj, s.rstd4, a.dx, M, D, gw.x().postMlpNorm());
                QkvStep.biasGrad(dMlp, M, gw.x().bDown());
                glu.forward(s.gPre, s.up, a.dact, M * F); // act again, before dact takes its buffer
                Matmul.weightGrad(dMlp, a.dact, M, D, F, gw.wDown());
            }
            float[] gPre = s.gPre, up = s.up, dact = a.dact, dg = a.dg, du = a.du; // [M, F] each
            GatedActivation gate = glu;
            Matmul.xw(dMlp, M, w.wDown(), dact, false, (r, c, n) -> gate.backwardRange(gPre, up, dact, dg, du, r * F + c, n));
            if (full) {
                RmsNorm.forward(s.xMid, w.mlpNorm(), eps, M, D, a.h, null); // h2 again
                Matmul.weightGrad(a.dg, a.h, M, F, D, gw.wGate());
                Matmul.weightGrad(a.du, a.h, M, F, D, gw.wUp());
                QkvStep.biasGrad(a.dg, M, gw.x().bGate());
                QkvStep.biasGrad(a.du, M, gw.x().bUp());
            }
            Matmul.xw(a.dg, M, w.wGate(), a.dh, false);
            Matmul.xw(a.du, M, w.wUp(), a.dh, true);
            if (full) RmsNorm.weightGradAccumulate(s.xMid, s.rstd2, a.dh, M, D, gw.mlpNorm());
            RmsNorm.backwardAccumulate(s.xMid, w.mlpNorm(), s.rstd2, a.dh, M, D, a.dx); // dx is now ∂L/∂x_mid

            // attention block: x_mid = x_in + [N3](o_proj(attn)); N3 gemma2's post-norm
            float[] dO = postNormBackward(s.oProj, w.x().postAttnNorm(), s.rstd3, a.dx, M, a.dh); // o_proj's output gradient
            if (full) {
                if (w.x().postAttnNorm() != null) RmsNorm.weightGradAccumulate(s.oProj, s.rstd3, a.dx, M, D, gw.x().postAttnNorm());
                QkvStep.biasGrad(dO, M, gw.x().bo());
                Matmul.weightGrad(dO, s.attnOut, M, D, qw, gw.wo());
            }
            Matmul.xw(dO, M, w.wo(), a.dattn, false);
            boolean below = full || i > first; // only layers above the lowest trained one pass a gradient down
            Arrays.fill(a.dakPart, 0f);
            Arrays.fill(a.davPart, 0f);
            attention(B, T, K, visual, i).backward(s.q, s.k, s.v, s.tokenSaved, a.dattn,
                    below ? a.dq : null, a.dk, a.dv, s.ak, s.av, s.gamma, s.promptProbs, s.promptOut,
                    a.dgammaPart, a.dakPart, a.davPart);
            if (!full) promptGradients(a, prompts, grads, w, j, s);
            if (visual) visualGradient(a, w, K);

            if (!below) break;
            rope.apply(a.dq, B, T, H, 0, true);
            rope.apply(a.dk, B, T, Hkv, 0, true);
            if (full) qkv.normWeightGrads(w, gw.x(), a.dq, s.qPre, s.qRstd, a.dk, s.kPre, s.kRstd, M);
            qkv.normBackward(w, a.dq, M, s.qPre, s.qRstd, a.dk, M, s.kPre, s.kRstd, a.normScratch);
            if (full) {
                RmsNorm.forward(s.xIn, w.attnNorm(), eps, M, D, a.h, null); // h1 again
                Matmul.weightGrad(a.dq, a.h, M, qw, D, gw.wq());
                Matmul.weightGrad(a.dk, a.h, M, kw, D, gw.wk());
                Matmul.weightGrad(a.dv, a.h, M, kw, D, gw.wv());
                QkvStep.biasGrad(a.dq, M, gw.x().bq());
                QkvStep.biasGrad(a.dk, M, gw.x().bk());
                QkvStep.biasGrad(a.dv, M, gw.x().bv());
            }
            QkvStep.inputGradient(w, a.dq, a.dk, a.dv, M, a.dh, false);
            if (full) RmsNorm.weightGradAccumulate(s.xIn, s.rstd1, a.dh, M, D, gw.attnNorm());
            RmsNorm.backwardAccumulate(s.xIn, w.attnNorm(), s.rstd1, a.dh, M, D, a.dx); // dx is now ∂L/∂x_in
        }
        if (full) { // the embedding rows the batch looked up: dE[id] += dx·scale (ids repeat, so in row order)
            if (embedScale != 1f) for (int d = 0; d < M * D; d++) a.dx[d] *= embedScale;
            for (int m = 0; m < M; m++) Vec.add(a.dx, m * D, wg.embed(), a.ids[m] * D, D);
        }
        return loss;
    }

    /**
     * The gradient of a residual branch's output before its post-norm (gemma2): RMSNorm's backward of dx, the
     * residual stream's gradient, into tmp [M, D]; without a post-norm, dx itself.
     */
    private float[] postNormBackward(float[] kept, float[] norm, float[] rstd, float[] dx, int M, float[] tmp) {
        if (norm == null) return dx;
        Arrays.fill(tmp, 0, M * D, 0f);
        RmsNorm.backwardAccumulate(kept, norm, rstd, dx, M, D, tmp);
        return tmp;
    }

    /** Gates and prompt of adapted layer j from the attention backward's per-sequence parts. */
    /** dI_p[b] += Σ_k (dak_b[k]·Wk + dav_b[k]·Wv): every prompt row of sample b carried its visual token. */
    private void visualGradient(Activations a, LlamaWeights.Layer w, int K) {
        int B = a.B, kw = Hkv * hd;
        Arrays.fill(a.dakSum, 0, B * kw, 0f);
        Arrays.fill(a.davSum, 0, B * kw, 0f);
        for (int b = 0; b < B; b++)
            for (int k = 0; k < K; k++) {
                Vec.add(a.dakPart, (b * K + k) * kw, a.dakSum, b * kw, kw);
                Vec.add(a.davPart, (b * K + k) * kw, a.davSum, b * kw, kw);
            }
        Matmul.xw(a.dakSum, B, w.wk(), a.dVisual, true);
        Matmul.xw(a.davSum, B, w.wv(), a.dVisual, true);
    }

    private void promptGradients(Activations a, AdaptionPrompts prompts, AdaptionPrompts grads, LlamaWeights.Layer w, int j,
                                 Activations.Saved s) {
        int B = a.B, K = prompts.adapterLen, kw = Hkv * hd;
        // gates: dg_h = act'(g_h) · Σ_b dγ_h
        for (int h = 0; h < H; h++) {
            double sum = 0;
            for (int b = 0; b < B; b++) sum += a.dgammaPart[b * H + h];
            float g = prompts.gate[j * H + h];
            grads.gate[j * H + h] += (float) (sum * prompts.gateActivation.derivative(g));
        }
        // prompt: dP_j = dak·Wk + dav·Wv, with dak, dav summed over the batch
        Arrays.fill(a.dak, 0f);
        Arrays.fill(a.dav, 0f);
        for (int b = 0; b < B; b++) {
            Vec.add(a.dakPart, b * K * kw, a.dak, 0, K * kw);
            Vec.add(a.davPart, b * K * kw, a.dav, 0, K * kw);
        }
        float[] dP = a.dPrompt; // [K, D]
        qkv.normBackward(w, null, 0, null, null, a.dak, K, s.akPre, s.akRstd, a.normScratch);
        QkvStep.inputGradient(w, null, a.dak, a.dav, K, dP, false);
        Vec.add(dP, 0, grads.prompt, j * K * D, K * D);
    }
}

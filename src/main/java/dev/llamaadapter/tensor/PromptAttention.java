package dev.llamaadapter.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * LLaMA-Adapter's gated prompt branch of attention (spec §2) for every query row of one (sequence, head):
 * S_p = softmax_k(q_t·ak_k·s) over the K prompt keys (no mask, no RoPE), out_t += γ_h · S_p av, and its
 * backward. The prompt keys and values of the head's kv head are transposed once per head into [hd, KP]
 * (KP = K rounded up to whole vectors, zero-padded), so one vector holds one dimension of every prompt:
 * a row's K scores, and its K gradients of them, are hd broadcast-fmas with no horizontal sums, where a
 * loop of K dot products of length hd paid a reduction per dot. Padded lanes carry score −∞ (probability
 * 0), so they never reach a result.
 *
 * <p>Row layouts as in {@link Attention}: q, out, dq, dout [B·T, H·hd]; ak, av [K, Hkv·hd] or per sample
 * [B, K, Hkv·hd] (promptStride floats apart); promptProbs [B, H, T, K]; promptOut [B·T, H·hd] ungated.
 */
final class PromptAttention {
    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();

    private final int T, H, Hkv, hd, K, KP, promptStride;
    private final float scale;
    private final float cap; // gemma2's softcap on the prompt scores too (spec §7); 0 = none

    PromptAttention(int T, int H, int Hkv, int hd, int K, int promptStride, float scale, float cap) {
        this.T = T; this.H = H; this.Hkv = Hkv; this.hd = hd; this.K = K; this.promptStride = promptStride; this.scale = scale;
        this.cap = cap;
        this.KP = (K + L - 1) / L * L;
    }

    /**
     * Floats of one thread's work buffer: kT [hd, KP], then three rows of KP (probabilities, their gradient, dS);
     * with a softcap, the keys transposed again [hd, KP] and a row of the scores, for the backward's 1 − tanh².
     */
    int workFloats() {
        return hd * KP + 3 * KP + (cap > 0 ? hd * KP + KP : 0);
    }

    /** row[o, o + K) = c·tanh(row/c). */
    private void softcap(float[] row, int o) {
        for (int j = 0; j < K; j++) row[o + j] = cap * (float) Math.tanh(row[o + j] / cap);
    }

    /** kT[i·KP + j] = kv[base + j·kw + i] for i < hd, j < K; the padding lanes j ≥ K are 0. */
    private void transpose(float[] kv, int base, float[] kT) {
        transpose(kv, base, kT, 0);
    }

    /** As above into kT from offset at. */
    private void transpose(float[] kv, int base, float[] kT, int at) {
        int kw = Hkv * hd;
        for (int i = 0; i < hd; i++) {
            int o = at + i * KP;
            for (int j = 0; j < K; j++) kT[o + j] = kv[base + j * kw + i];
            for (int j = K; j < KP; j++) kT[o + j] = 0f;
        }
    }

    /** row[ro, ro + KP) = c · Σ_i x[xo + i] · kT[i, ·]: all K products of one row with the transposed prompts at once. */
    private void products(float[] x, int xo, float[] kT, float c, float[] row, int ro) {
        productsAt(x, xo, kT, 0, c, row, ro);
    }

    /** As above with kT starting at offset at. */
    private void productsAt(float[] x, int xo, float[] kT, int at, float c, float[] row, int ro) {
        for (int vb = 0; vb < KP; vb += L) {
            FloatVector acc = FloatVector.zero(S);
            for (int i = 0, o = at + vb; i < hd; i++, o += KP) acc = FloatVector.broadcast(S, x[xo + i]).fma(FloatVector.fromArray(S, kT, o), acc);
            acc.mul(c).intoArray(row, ro + vb);
        }
    }

    /**
     * Forward of head h of sequence b: out rows += γ_h · S_p av; promptProbs and promptOut (when not null)
     * receive S_p and the ungated S_p av. work: {@link #workFloats} floats of the calling thread.
     */
    void forwardHead(float[] q, int b, int h, float[] ak, float[] av, float[] gamma, float[] out,
                     float[] promptProbs, float[] promptOut, float[] work) {
        int qw = H * hd, kw = Hkv * hd, g = h / (H / Hkv), base = b * promptStride + g * hd;
        float[] akT = work;     // [hd, KP] the kv head's prompt keys, transposed
        int p = hd * KP;        // work[p, p + KP): one row's scores, then probabilities
        transpose(ak, base, akT);
        VectorMask<Float> real = S.indexInRange(KP - L, K); // lanes of the last block that hold a prompt
        float gm = gamma[h];
        int hdv = S.loopBound(hd);
        for (int t = 0; t < T; t++) {
            int qo = (b * T + t) * qw + h * hd;
            products(q, qo, akT, scale, work, p);
            if (cap > 0) softcap(work, p);
            softmax(work, p, real);
            // po = Σ_j p_j av_j, by dimension blocks (av rows are contiguous over the head's dimensions)
            for (int d = 0; d < hdv; d += L) {
                FloatVector po = FloatVector.zero(S);
                for (int j = 0; j < K; j++) po = FloatVector.broadcast(S, work[p + j]).fma(FloatVector.fromArray(S, av, base + j * kw + d), po);
                FloatVector.fromArray(S, out, qo + d).add(po.mul(gm)).intoArray(out, qo + d);
                if (promptOut != null) po.intoArray(promptOut, qo + d);
            }
            for (int d = hdv; d < hd; d++) {
                float po = 0f;
                for (int j = 0; j < K; j++) po = Math.fma(work[p + j], av[base + j * kw + d], po);
                out[qo + d] += gm * po;
                if (promptOut != null) promptOut[qo + d] = po;
            }
            if (promptProbs != null) System.arraycopy(work, p, promptProbs, ((b * H + h) * T + t) * K, K);
        }
    }

    /** row[o, o + KP) = softmax over its first K lanes (the rest become 0): max, exp of the shifted scores, normalise. */
    private void softmax(float[] row, int o, VectorMask<Float> real) {
        float max = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < K; j++) max = Math.max(max, row[o + j]);
        FloatVector sum = FloatVector.zero(S);
        for (int vb = 0; vb < KP; vb += L) {
            FloatVector e = Vec.exp(FloatVector.fromArray(S, row, o + vb).sub(max));
            if (vb == KP - L) e = e.blend(0f, real.not());
            e.intoArray(row, o + vb);
            sum = sum.add(e);
        }
        float inv = 1f / Vec.sum(sum);
        for (int vb = 0; vb < KP; vb += L) FloatVector.fromArray(S, row, o + vb).mul(inv).intoArray(row, o + vb);
    }

    /**
     * Backward of head h of sequence b from dout: returns Σ_t dout·(S_p av) (the gate's gradient before act');
     * adds the prompt's share to dq (when not null) and to dakPart, davPart [B, K, Hkv·hd] (sequence b's block).
     * work as in the forward.
     */
    double backwardHead(float[] q, int b, int h, float[] dout, float[] dq, float[] ak, float[] av, float[] gamma,
                        float[] promptProbs, float[] promptOut, float[] dakPart, float[] davPart, float[] work) {
        int qw = H * hd, kw = Hkv * hd, g = h / (H / Hkv), base = b * promptStride + g * hd, kvOff = b * K * kw + g * hd;
        float[] avT = work;                 // [hd, KP] the kv head's prompt values, transposed
        int pRow = hd * KP, dpRow = pRow + KP, dRow = dpRow + KP; // rows of KP: S_p (padded with 0), dp, dS
        transpose(av, base, avT);
        int akT = dRow + KP, tRow = akT + hd * KP; // with a softcap: the keys [hd, KP] and the scores' tanh [KP]
        if (cap > 0) transpose(ak, base, work, akT);
        java.util.Arrays.fill(work, pRow, pRow + KP, 0f);
        float gm = gamma[h];
        int hdv = S.loopBound(hd);
        FloatVector dgv = FloatVector.zero(S);
        double dgamma = 0;
        for (int t = 0; t < T; t++) {
            int qo = (b * T + t) * qw + h * hd, pr = ((b * H + h) * T + t) * K;
            // dγ: dout·po; dp_j = (γ dout)·av_j for every j at once; dS = P ⊙ (dp − Σ P dp) · s
            for (int d = 0; d < hdv; d += L)
                dgv = FloatVector.fromArray(S, dout, qo + d).fma(FloatVector.fromArray(S, promptOut, qo + d), dgv);
            for (int d = hdv; d < hd; d++) dgamma += dout[qo + d] * promptOut[qo + d];
            products(dout, qo, avT, gm, work, dpRow);
            System.arraycopy(promptProbs, pr, work, pRow, K);
            FloatVector acc = FloatVector.zero(S);
            for (int vb = 0; vb < KP; vb += L) acc = FloatVector.fromArray(S, work, pRow + vb).fma(FloatVector.fromArray(S, work, dpRow + vb), acc);
            float sum = Vec.sum(acc);
            for (int vb = 0; vb < KP; vb += L)
                FloatVector.fromArray(S, work, pRow + vb).mul(FloatVector.fromArray(S, work, dpRow + vb).sub(sum)).mul(scale).intoArray(work, dRow + vb);
            if (cap > 0) { // through the softcap: the scores again, then dS ·= 1 − tanh²
                productsAt(q, qo, work, akT, scale, work, tRow);
                for (int j = 0; j < K; j++) {
                    float th = (float) Math.tanh(work[tRow + j] / cap);
                    work[dRow + j] *= 1f - th * th;
                }
            }
            // dav_j += P_j · γ dout; dak_j += dS_j · q; dq += Σ_j dS_j ak_j
            for (int d = 0; d < hdv; d += L) {
                FloatVector dd = FloatVector.fromArray(S, dout, qo + d).mul(gm), qd = FloatVector.fromArray(S, q, qo + d);
                FloatVector dqd = FloatVector.zero(S);
                for (int j = 0; j < K; j++) {
                    int o = kvOff + j * kw + d;
                    FloatVector.broadcast(S, work[pRow + j]).fma(dd, FloatVector.fromArray(S, davPart, o)).intoArray(davPart, o);
                    FloatVector ds = FloatVector.broadcast(S, work[dRow + j]);
                    ds.fma(qd, FloatVector.fromArray(S, dakPart, o)).intoArray(dakPart, o);
                    dqd = ds.fma(FloatVector.fromArray(S, ak, base + j * kw + d), dqd);
                }
                if (dq != null) FloatVector.fromArray(S, dq, qo + d).add(dqd).intoArray(dq, qo + d);
            }
            for (int d = hdv; d < hd; d++) {
                float dd = gm * dout[qo + d], dqd = 0f;
                for (int j = 0; j < K; j++) {
                    int o = kvOff + j * kw + d;
                    davPart[o] += work[pRow + j] * dd;
                    dakPart[o] += work[dRow + j] * q[qo + d];
                    dqd = Math.fma(work[dRow + j], ak[base + j * kw + d], dqd);
                }
                if (dq != null) dq[qo + d] += dqd;
            }
        }
        return dgamma + Vec.sum(dgv);
    }
}

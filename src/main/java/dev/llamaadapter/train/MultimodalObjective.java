package dev.llamaadapter.train;

import dev.llamaadapter.data.MicroBatch;
import dev.llamaadapter.model.Activations;
import dev.llamaadapter.model.AdaptionPrompts;
import dev.llamaadapter.model.Transformer;
import dev.llamaadapter.model.VisualProjection;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/**
 * The multimodal adapter (spec §5) as a training objective: each micro-batch's cached CLIP features go
 * through visual_proj and visual_norm to one visual token per example, which the engine adds to every
 * prompt row; the backward runs on into the projection (the tower is frozen and not run here at all).
 * Examples without an image get no token and give the projection no gradient.
 */
final class MultimodalObjective implements Objective {
    private final Transformer model;
    private final AdaptionPrompts p, g;
    private final LayerGates shared; // null: per-head gates
    private final List<Param> params;
    private final List<float[]> trainFeatures, valFeatures; // per example [M·Cv], null: no image
    private final int maxB, maxT;
    private final VisualProjection.Saved saved;
    private final float[] feats;  // [maxB, M·Cv] the micro-batch's features
    private final float[] tokens; // [maxB, D] its visual tokens I_p
    private final boolean[] has;  // [maxB] which examples have an image
    private Activations train, eval; // [maxB, maxT], made on first use

    MultimodalObjective(Transformer model, AdaptionPrompts p, int maxB, int maxT, List<float[]> trainFeatures, List<float[]> valFeatures) {
        this.model = model;
        this.p = p;
        this.g = p.zerosLike();
        this.shared = LayerGates.of(p, g);
        this.params = shared == null ? Trainer.params(p, g) : shared.replaceIn(Trainer.params(p, g));
        this.trainFeatures = trainFeatures;
        this.valFeatures = valFeatures;
        this.maxB = maxB;
        this.maxT = maxT;
        VisualProjection v = p.visual;
        saved = new VisualProjection.Saved(maxB, v.dim);
        feats = new float[maxB * v.in];
        tokens = new float[maxB * v.dim];
        has = new boolean[maxB];
    }

    @Override
    public List<Param> params() {
        return params;
    }

    @Override
    public double accumulate(MicroBatch b) {
        throw new IllegalStateException("a multimodal step needs to know its examples: accumulate(batch, examples)");
    }

    @Override
    public double accumulate(MicroBatch b, int[] examples) {
        if (train == null) train = model.activations(maxB, maxT, p, true, false, Objective.recompute());
        train.reshape(b.B(), b.T());
        model.forward(train, b.ids(), p, tokens(trainFeatures, examples, 0, b.B()));
        double loss = model.backward(train, b.labels(), p, g);
        if (shared != null) shared.foldGradient();
        p.visual.backward(feats, has, b.B(), train.dVisual, saved, g.visual);
        return loss;
    }

    @Override
    public void paramsChanged() {
        if (shared != null) shared.toHeads();
    }

    @Override
    public double loss(MicroBatch b) {
        throw new IllegalStateException("a multimodal loss needs to know its examples: validationLoss(batch, first)");
    }

    @Override
    public double validationLoss(MicroBatch b, int first) {
        if (eval == null) eval = model.activations(maxB, maxT, p, false, false);
        eval.reshape(b.B(), b.T());
        return model.evalLoss(eval, b.ids(), b.labels(), p, tokens(valFeatures, null, first, b.B()));
    }

    @Override
    public String describe() {
        return LayerGates.describe(shared); // the images enter the identity through Trainer (their fingerprint)
    }

    /** Visual tokens of examples idx[0..n) (idx null: from, from+1, ...) of a feature list. */
    private float[] tokens(List<float[]> features, int[] idx, int from, int n) {
        int in = p.visual.in;
        for (int b = 0; b < n; b++) {
            float[] f = features.get(idx != null ? idx[b] : from + b);
            has[b] = f != null;
            if (f != null) System.arraycopy(f, 0, feats, b * in, in);
            else java.util.Arrays.fill(feats, b * in, (b + 1) * in, 0f);
        }
        p.visual.forward(feats, has, n, tokens, saved);
        return tokens;
    }

    /** SHA-256 over the image features: a resume refuses images that changed. */
    static String fingerprint(List<float[]> train, List<float[]> val) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate(4);
            for (List<float[]> set : List.of(train, val))
                for (float[] f : set) {
                    if (f != null) for (float v : f) md.update(buf.clear().putFloat(v).array());
                    md.update((byte) 0x7f);
                }
            return HexFormat.of().formatHex(md.digest(), 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}

package dev.llamaadapter.train;

import dev.llamaadapter.data.MicroBatch;
import dev.llamaadapter.model.Activations;
import dev.llamaadapter.model.AdaptionPrompts;
import dev.llamaadapter.model.TrainableWeights;
import dev.llamaadapter.model.Transformer;

import java.util.ArrayList;
import java.util.List;

/**
 * What a training run optimises: its params (values and gradient buffers), the forward and backward of
 * one micro-batch, and the loss alone for validation. The {@link Trainer} owns the loop, the schedule,
 * AdamW and checkpoints; an objective owns the engine's buffers. Two kinds: an adapter over a frozen
 * base (LLaMA-Adapter) and every base weight (full fine-tuning, the paper's baseline).
 */
public interface Objective {

    /**
     * Activation recomputation for the training buffers (train --recompute sets the system property
     * llamaadapter.recompute): only each trained layer's input is kept and the backward recomputes the rest.
     * Same gradients bit for bit, so a run's identity and its checkpoints do not depend on it.
     */
    static boolean recompute() {
        return Boolean.getBoolean("llamaadapter.recompute");
    }

    /** The trained tensors, named as checkpoints store them. */
    List<Param> params();

    /** Forward and backward of b: ADDS the gradient of b's mean loss into the params' grads; returns that mean loss. */
    double accumulate(MicroBatch b);

    /** The mean loss of b, no gradient (validation). */
    double loss(MicroBatch b);

    /**
     * {@link #accumulate(MicroBatch)} told which training examples b holds (indices into the training list),
     * for objectives with per-example inputs besides the tokens (the multimodal adapter's images).
     */
    default double accumulate(MicroBatch b, int[] examples) {
        return accumulate(b);
    }

    /** {@link #loss(MicroBatch)} of validation examples first, first+1, ... (see {@link #accumulate(MicroBatch, int[])}). */
    default double validationLoss(MicroBatch b, int first) {
        return loss(b);
    }

    /**
     * The params' values were written from outside a forward (an optimizer step, a resumed checkpoint, a
     * driver's broadcast): brings the engine's own copy of them up to date. A no-op where the params are
     * the engine's arrays themselves; per-layer gates are written back into every head ({@link LayerGates}).
     */
    default void paramsChanged() {}

    /** What is trained, as it enters a run's identity ("" for an adapter with per-head gates, so its checkpoints keep their identity). */
    String describe();

    /**
     * Bytes a training run holds for this objective: each trained value with its gradient and two AdamW
     * moments (16 bytes), plus the activation buffers made so far. The frozen base is mapped, not counted.
     */
    default long memoryBytes() {
        long n = 0;
        for (Param p : params()) n += 16L * p.value().length;
        return n + activationBytes();
    }

    /** Bytes of the activation buffers this objective has made (0 before its first micro-batch). */
    default long activationBytes() {
        return 0;
    }

    /** An adapter p over model's frozen weights (p null: the base model alone, for validation only). */
    static Objective adapter(Transformer model, AdaptionPrompts p, int maxB, int maxT) {
        return new Objective() {
            final AdaptionPrompts g = p == null ? null : p.zerosLike();
            final LayerGates shared = p == null ? null : LayerGates.of(p, g); // null: per-head gates, trained as they are
            final List<Param> params = p == null ? List.of() : shared == null ? Trainer.params(p, g) : shared.replaceIn(Trainer.params(p, g));
            Activations train, eval; // [maxB, maxT], made on first use

            public List<Param> params() {
                return params;
            }

            public double accumulate(MicroBatch b) {
                if (p == null) throw new IllegalStateException("the base model alone has nothing to train");
                if (train == null) train = model.activations(maxB, maxT, p, true, false, recompute());
                train.reshape(b.B(), b.T());
                model.forward(train, b.ids(), p);
                double loss = model.backward(train, b.labels(), p, g);
                if (shared != null) shared.foldGradient();
                return loss;
            }

            public void paramsChanged() {
                if (shared != null) shared.toHeads();
            }

            public double loss(MicroBatch b) {
                if (eval == null) eval = model.activations(maxB, maxT, p, false, false);
                eval.reshape(b.B(), b.T());
                return model.evalLoss(eval, b.ids(), b.labels(), p);
            }

            public String describe() {
                return LayerGates.describe(shared);
            }

            public long activationBytes() {
                return (train == null ? 0 : train.bytes()) + (eval == null ? 0 : eval.bytes());
            }
        };
    }

    /** Full fine-tuning: every weight of w, which model must run on (w.weights). */
    static Objective full(Transformer model, TrainableWeights w, int maxB, int maxT) {
        if (model.weights != w.weights) throw new IllegalArgumentException("the model must run on the trainable weights");
        List<Param> params = new ArrayList<>();
        for (TrainableWeights.Tensor t : w.tensors())
            params.add(new Param(t.name(), t.value(), t.grad(), t.shape(), Param.decays(t.name(), t.shape())));
        return new Objective() {
            Activations train, eval; // [maxB, maxT], made on first use

            public List<Param> params() {
                return params;
            }

            public double accumulate(MicroBatch b) {
                if (train == null) train = model.activationsFull(maxB, maxT, recompute());
                train.reshape(b.B(), b.T());
                model.forward(train, b.ids(), null);
                return model.backwardFull(train, b.labels(), w.grads);
            }

            public double loss(MicroBatch b) {
                if (eval == null) eval = model.activations(maxB, maxT, null, false, false);
                eval.reshape(b.B(), b.T());
                return model.evalLoss(eval, b.ids(), b.labels(), null);
            }

            public String describe() {
                return " full=" + params.size() + "tensors";
            }

            public long activationBytes() {
                return (train == null ? 0 : train.bytes()) + (eval == null ? 0 : eval.bytes());
            }
        };
    }
}

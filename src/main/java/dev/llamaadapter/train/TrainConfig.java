package dev.llamaadapter.train;

import dev.llamaadapter.model.GateActivation;
import dev.llamaadapter.model.GateSharing;

/**
 * Every hyper-parameter of a run (spec §3 defaults in the CLI). lr is the absolute peak learning rate,
 * already resolved from blr × batchSize / 256 unless given directly. microBatchSize changes memory and
 * speed only: the steps and, under {@link LossNorm#TOKENS}, their loss do not depend on it. gates: one per
 * head (the paper's) or one per layer (PEFT's); a cluster's workers build their adapters from it.
 */
public record TrainConfig(int epochs, double warmupEpochs, int batchSize, int microBatchSize,
                          double lr, double minLr, double weightDecay, double beta1, double beta2, double eps,
                          double clipGrad, int adapterLen, int adapterLayers, GateActivation gateActivation,
                          int maxSeqLen, long seed, boolean scorePrompt, boolean bucket,
                          int evalEvery, int saveEvery, LossNorm lossNorm, GateSharing gates) {
    public TrainConfig {
        if (lossNorm == null) throw new IllegalArgumentException("lossNorm must be given");
        if (gates == null) throw new IllegalArgumentException("gates: per-head or per-layer");
        if (epochs <= 0) throw new IllegalArgumentException("--epochs must be positive, got " + epochs);
        if (warmupEpochs < 0) throw new IllegalArgumentException("--warmup-epochs must not be negative, got " + warmupEpochs);
        if (microBatchSize <= 0) throw new IllegalArgumentException("--micro-batch-size must be positive, got " + microBatchSize);
        if (batchSize <= 0 || batchSize % microBatchSize != 0)
            throw new IllegalArgumentException("--batch-size " + batchSize + " must be a positive multiple of --micro-batch-size " + microBatchSize);
        if (!(lr >= 0) || Double.isInfinite(lr)) throw new IllegalArgumentException("learning rate must be finite and >= 0, got " + lr);
        if (weightDecay < 0) throw new IllegalArgumentException("--weight-decay must not be negative");
        if (clipGrad < 0) throw new IllegalArgumentException("--clip-grad must not be negative");
        if (adapterLen <= 0) throw new IllegalArgumentException("--adapter-len must be positive");
        if (adapterLayers <= 0) throw new IllegalArgumentException("--adapter-layers must be positive");
    }

    /** A run whose step loss is the mean over the step's scored tokens (the default), with per-head gates (the paper's). */
    public TrainConfig(int epochs, double warmupEpochs, int batchSize, int microBatchSize,
                       double lr, double minLr, double weightDecay, double beta1, double beta2, double eps,
                       double clipGrad, int adapterLen, int adapterLayers, GateActivation gateActivation,
                       int maxSeqLen, long seed, boolean scorePrompt, boolean bucket, int evalEvery, int saveEvery) {
        this(epochs, warmupEpochs, batchSize, microBatchSize, lr, minLr, weightDecay, beta1, beta2, eps, clipGrad, adapterLen,
                adapterLayers, gateActivation, maxSeqLen, seed, scorePrompt, bucket, evalEvery, saveEvery, LossNorm.TOKENS, GateSharing.PER_HEAD);
    }

    /** With a loss normalisation, per-head gates. */
    public TrainConfig(int epochs, double warmupEpochs, int batchSize, int microBatchSize,
                       double lr, double minLr, double weightDecay, double beta1, double beta2, double eps,
                       double clipGrad, int adapterLen, int adapterLayers, GateActivation gateActivation,
                       int maxSeqLen, long seed, boolean scorePrompt, boolean bucket, int evalEvery, int saveEvery, LossNorm lossNorm) {
        this(epochs, warmupEpochs, batchSize, microBatchSize, lr, minLr, weightDecay, beta1, beta2, eps, clipGrad, adapterLen,
                adapterLayers, gateActivation, maxSeqLen, seed, scorePrompt, bucket, evalEvery, saveEvery, lossNorm, GateSharing.PER_HEAD);
    }

    /** With a gate sharing, the token-mean loss. */
    public TrainConfig(int epochs, double warmupEpochs, int batchSize, int microBatchSize,
                       double lr, double minLr, double weightDecay, double beta1, double beta2, double eps,
                       double clipGrad, int adapterLen, int adapterLayers, GateActivation gateActivation,
                       int maxSeqLen, long seed, boolean scorePrompt, boolean bucket, int evalEvery, int saveEvery, GateSharing gates) {
        this(epochs, warmupEpochs, batchSize, microBatchSize, lr, minLr, weightDecay, beta1, beta2, eps, clipGrad, adapterLen,
                adapterLayers, gateActivation, maxSeqLen, seed, scorePrompt, bucket, evalEvery, saveEvery, LossNorm.TOKENS, gates);
    }

    /** The same run with other validation and checkpoint intervals (in optimizer steps). */
    public TrainConfig withIntervals(int evalEvery, int saveEvery) {
        return new TrainConfig(epochs, warmupEpochs, batchSize, microBatchSize, lr, minLr, weightDecay, beta1, beta2, eps, clipGrad,
                adapterLen, adapterLayers, gateActivation, maxSeqLen, seed, scorePrompt, bucket, evalEvery, saveEvery, lossNorm, gates);
    }

    /** The same run with another loss normalisation. */
    public TrainConfig withLossNorm(LossNorm n) {
        return new TrainConfig(epochs, warmupEpochs, batchSize, microBatchSize, lr, minLr, weightDecay, beta1, beta2, eps, clipGrad,
                adapterLen, adapterLayers, gateActivation, maxSeqLen, seed, scorePrompt, bucket, evalEvery, saveEvery, n, gates);
    }

    /** The same run with the gates shared as given. */
    public TrainConfig withGates(GateSharing g) {
        return new TrainConfig(epochs, warmupEpochs, batchSize, microBatchSize, lr, minLr, weightDecay, beta1, beta2, eps, clipGrad,
                adapterLen, adapterLayers, gateActivation, maxSeqLen, seed, scorePrompt, bucket, evalEvery, saveEvery, lossNorm, g);
    }

    /** Micro-batches accumulated per optimizer step. */
    public int accumulation() {
        return batchSize / microBatchSize;
    }

    /** The hyper-parameters as adapter-file metadata. */
    public java.util.Map<String, String> asMetadata() {
        java.util.Map<String, String> m = new java.util.LinkedHashMap<>();
        m.put("train.epochs", "" + epochs);
        m.put("train.warmup_epochs", "" + warmupEpochs);
        m.put("train.batch_size", "" + batchSize);
        m.put("train.micro_batch_size", "" + microBatchSize);
        m.put("train.lr", "" + lr);
        m.put("train.min_lr", "" + minLr);
        m.put("train.weight_decay", "" + weightDecay);
        m.put("train.betas", beta1 + "," + beta2);
        m.put("train.eps", "" + eps);
        m.put("train.clip_grad", "" + clipGrad);
        m.put("train.max_seq_len", "" + maxSeqLen);
        m.put("train.seed", "" + seed);
        m.put("train.score_prompt", "" + scorePrompt);
        m.put("train.loss_norm", lossNorm.id());
        return m;
    }
}

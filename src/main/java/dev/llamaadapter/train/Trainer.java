package dev.llamaadapter.train;

import dev.llamaadapter.data.Batches;
import dev.llamaadapter.data.Example;
import dev.llamaadapter.data.MicroBatch;
import dev.llamaadapter.model.AdaptionPrompts;
import dev.llamaadapter.model.Transformer;
import dev.llamaadapter.model.VisualProjection;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;

/**
 * The training loop (spec §3): epochs of seeded, length-bucketed steps of --batch-size examples, each
 * cut into micro-batches whose gradients accumulate under the run's {@link LossNorm}, the official
 * per-step learning-rate schedule, AdamW, optional clipping, validation and atomic checkpoints.
 * Deterministic: the same inputs give bit-identical adapters, and a run resumed from a checkpoint
 * continues exactly where the saved run was.
 */
public final class Trainer {

    /** What the loop reports; the CLI turns it into a progress bar, a metrics file and a chart. */
    public interface Listener {
        default void start(long totalSteps, long firstStep) {}

        void step(StepRow row);

        default void validation(ValRow row) {}

        default void checkpoint(long step, Path file) {}
    }

    public record StepRow(long step, long totalSteps, double epoch, double loss, double lr, double gradNorm,
                          long tokens, double tokensPerS, double elapsedS) {}

    public record ValRow(long step, double epoch, double loss, double perplexity, long tokens) {}

    /** Training stopped because the loss or a gradient stopped being finite. */
    public static final class DivergedException extends RuntimeException {
        public final long step;

        DivergedException(long step, String what) {
            super("training diverged at step " + step + ": " + what + " (the last checkpoint holds the last good state)");
            this.step = step;
        }
    }

    private final Transformer model;
    private final TrainConfig cfg;
    private final List<Example> train, val;
    private final Listener listener;
    private final Path checkpointFile;
    private final String baseFingerprint;
    private StepGradient stepGradient;
    // multimodal runs (spec §5): each example's CLIP features [M·Cv], computed once per image for the whole
    // run (null entry: a record without an image); null lists: a text-only run
    private List<float[]> trainFeatures, valFeatures;

    public Trainer(Transformer model, TrainConfig cfg, List<Example> train, List<Example> val,
                   Path checkpointFile, String baseFingerprint, Listener listener) {
        if (train.isEmpty()) throw new IllegalArgumentException("no training examples");
        this.model = model; this.cfg = cfg; this.train = train; this.val = val;
        this.checkpointFile = checkpointFile; this.baseFingerprint = baseFingerprint; this.listener = listener;
        this.stepGradient = StepGradient.local(train, cfg.lossNorm());
    }

    /**
     * Makes this a multimodal run: the features of each training and validation example (null where the
     * record has no image), in the order of the example lists. The adapter trained must then carry a
     * visual projection of that width.
     */
    public Trainer images(List<float[]> train, List<float[]> val) {
        if (train.size() != this.train.size() || val.size() != this.val.size())
            throw new IllegalArgumentException("image features for " + train.size() + "/" + val.size() + " examples, expected "
                    + this.train.size() + "/" + this.val.size());
        this.trainFeatures = train;
        this.valFeatures = val;
        return this;
    }

    /** Optimizer steps per epoch: every example once, batchSize of them per step (the last may have fewer). */
    public static int stepsPerEpoch(List<Example> train, TrainConfig cfg) {
        return Batches.batches(train, cfg.batchSize(), cfg.seed(), 0, cfg.bucket()).size();
    }

    public int stepsPerEpoch() {
        return stepsPerEpoch(train, cfg);
    }

    public long totalSteps() {
        return (long) stepsPerEpoch() * cfg.epochs();
    }

    /** The params of an adapter and its gradient buffer, named as checkpoints store them. */
    public static List<Param> params(AdaptionPrompts p, AdaptionPrompts g) {
        long[] ps = {(long) p.adapterLayers * p.adapterLen, p.dim};
        long[] gs = {p.adapterLayers, 1, p.heads, 1, 1};
        List<Param> out = new java.util.ArrayList<>(List.of(new Param("adapter_query.weight", p.prompt, g.prompt, ps, Param.decays("adapter_query.weight", ps)),
                new Param("gates", p.gate, g.gate, gs, Param.decays("gates", gs))));
        if (p.visual != null) { // the multimodal adapter's projection, named as in the adapter file
            VisualProjection v = p.visual, gv = g.visual;
            long[] ws = {v.dim, v.in}, vs = {v.dim};
            out.add(new Param("visual_proj.weight", v.weight, gv.weight, ws, Param.decays("visual_proj.weight", ws)));
            out.add(new Param("visual_proj.bias", v.bias, gv.bias, vs, Param.decays("visual_proj.bias", vs)));
            out.add(new Param("visual_norm.weight", v.normWeight, gv.normWeight, vs, Param.decays("visual_norm.weight", vs)));
            out.add(new Param("visual_norm.bias", v.normBias, gv.normBias, vs, Param.decays("visual_norm.bias", vs)));
        }
        return out;
    }

    /**
     * The base model as a run's identity holds it: the architecture's fingerprint and the exact hash of the
     * weights' sampled rows ({@link dev.llamaadapter.model.BaseSketch#exact()}), so a resume refuses a
     * checkpoint made on other weights of the same shape, or on the same model in another dtype.
     */
    public static String baseIdentity(dev.llamaadapter.model.BaseModel base) {
        return base.fingerprint() + " " + Checkpoint.BASE_WEIGHTS + "=" + dev.llamaadapter.model.BaseSketch.of(base).exact();
    }

    /** What a checkpoint must match to be resumed: hyper-parameters, data and base model. */
    public String identity() {
        TrainConfig c = cfg;
        return "epochs=" + c.epochs() + " warmup=" + c.warmupEpochs() + " batch=" + c.batchSize() + " micro=" + c.microBatchSize()
                + " lr=" + c.lr() + " min_lr=" + c.minLr() + " wd=" + c.weightDecay() + " betas=" + c.beta1() + "," + c.beta2()
                + " eps=" + c.eps() + " clip=" + c.clipGrad() + " K=" + c.adapterLen() + " L=" + c.adapterLayers()
                + " gate=" + c.gateActivation().id() + " max_seq_len=" + c.maxSeqLen() + " seed=" + c.seed()
                + " score_prompt=" + c.scorePrompt() + " bucket=" + c.bucket() + " loss_norm=" + c.lossNorm().id()
                + " data=" + dataFingerprint(train, val) + " base=" + baseFingerprint
                + (trainFeatures == null ? "" : " images=" + MultimodalObjective.fingerprint(trainFeatures, valFeatures));
    }

    /** Replaces how each step's gradient is computed (a distributed trainer); the default is {@link StepGradient#local}. */
    public Trainer withStepGradient(StepGradient g) {
        this.stepGradient = g;
        return this;
    }

    /** The longest training or validation example, in tokens: the buffers' sequence capacity. */
    public int longestExample() {
        int maxT = 1;
        for (Example e : train) maxT = Math.max(maxT, e.length());
        for (Example e : val) maxT = Math.max(maxT, e.length());
        return maxT;
    }

    /**
     * Trains p in place. With resume and an existing checkpoint file, continues from it.
     * Returns the last validation row (null without validation data).
     */
    public ValRow run(AdaptionPrompts p, boolean resume) throws IOException {
        if ((p.visual != null) != (trainFeatures != null))
            throw new IllegalArgumentException(p.visual != null ? "a multimodal adapter needs the examples' image features (images(...))"
                    : "image features were given but the adapter has no visual projection");
        if (p.visual != null)
            return run(new MultimodalObjective(model, p, cfg.microBatchSize(), longestExample(), trainFeatures, valFeatures), resume);
        return run(Objective.adapter(model, p, cfg.microBatchSize(), longestExample()), resume);
    }

    /** Trains the objective's params in place (see {@link #run(AdaptionPrompts, boolean)}). */
    public ValRow run(Objective objective, boolean resume) throws IOException {
        List<Param> params = objective.params();
        AdamW adam = new AdamW(params, cfg.beta1(), cfg.beta2(), cfg.eps(), cfg.weightDecay());
        String identity = identity() + objective.describe();
        long done = 0;
        if (resume && checkpointFile != null && Files.exists(checkpointFile)) done = Checkpoint.load(checkpointFile, params, adam, identity);
        objective.paramsChanged(); // the values a resume restored (per-layer gates: into every head)

        int spe = stepsPerEpoch();
        long total = totalSteps();
        LrSchedule schedule = new LrSchedule(cfg.lr(), cfg.minLr(), cfg.warmupEpochs(), cfg.epochs());
        ValRow last = null;
        boolean validating = !val.isEmpty();
        if (done == 0 && validating) last = validate(objective, 0, 0); // before any update: the base model's loss for a zero-init adapter
        listener.start(total, done);
        long t0 = System.nanoTime(), tokens = 0;
        for (int epoch = (int) (done / spe); epoch < cfg.epochs(); epoch++) {
            List<int[]> batches = Batches.batches(train, cfg.batchSize(), cfg.seed(), epoch, cfg.bucket());
            for (int s = (epoch == done / spe) ? (int) (done % spe) : 0; s < spe; s++) {
                long step = (long) epoch * spe + s;
                double ep = epoch + (double) s / spe;
                double lr = schedule.at(ep);
                StepGradient.Result r = stepGradient.compute(objective, Batches.split(batches.get(s), cfg.microBatchSize()));
                double loss = r.loss();
                tokens += r.tokens();
                double norm = gradNorm(params);
                if (!Double.isFinite(loss)) throw new DivergedException(step + 1, "loss is " + loss);
                if (!Double.isFinite(norm)) throw new DivergedException(step + 1, "gradient norm is " + norm);
                if (cfg.clipGrad() > 0 && norm > cfg.clipGrad()) StepGradient.scale(params, cfg.clipGrad() / (norm + 1e-6));
                adam.update(lr);
                objective.paramsChanged(); // per-layer gates: the stepped value into every head
                if (!finite(params)) throw new DivergedException(step + 1, "a trained weight became non-finite after the update (lr " + lr + ")");
                double el = (System.nanoTime() - t0) / 1e9;
                listener.step(new StepRow(step + 1, total, ep, loss, lr, norm, tokens, tokens / Math.max(el, 1e-9), el));
                boolean end = step + 1 == total;
                if (validating && (end || (cfg.evalEvery() > 0 && (step + 1) % cfg.evalEvery() == 0)))
                    last = validate(objective, step + 1, (double) (step + 1) / spe);
                if (checkpointFile != null && (end || (cfg.saveEvery() > 0 && (step + 1) % cfg.saveEvery() == 0))) {
                    Checkpoint.save(checkpointFile, params, adam, step + 1, identity, java.util.Map.of());
                    listener.checkpoint(step + 1, checkpointFile);
                }
            }
        }
        return last;
    }

    /** Token-weighted mean validation loss of prompts (null: the base model alone). */
    public double validationLoss(AdaptionPrompts p) {
        return validationStats(Objective.adapter(model, p, cfg.microBatchSize(), longestExample()))[0];
    }

    private ValRow validate(Objective o, long step, double epoch) {
        double[] r = validationStats(o);
        ValRow row = new ValRow(step, epoch, r[0], Math.exp(r[0]), (long) r[1]);
        listener.validation(row);
        return row;
    }

    /** {mean loss, scored tokens} over the validation set, in fixed micro-batches of the file's order. */
    public double[] validationStats(Objective o) {
        double sum = 0;
        long scored = 0;
        for (int i = 0; i < val.size(); i += cfg.microBatchSize()) {
            MicroBatch b = MicroBatch.of(val.subList(i, Math.min(val.size(), i + cfg.microBatchSize())), 0);
            if (b.scored() == 0) continue;
            sum += o.validationLoss(b, i) * b.scored();
            scored += b.scored();
        }
        return new double[]{scored == 0 ? Double.NaN : sum / scored, scored};
    }

    private static boolean finite(List<Param> params) {
        for (Param p : params) for (float v : p.value()) if (!Float.isFinite(v)) return false;
        return true;
    }

    static double gradNorm(List<Param> params) {
        double s = 0;
        for (Param p : params) for (float v : p.grad()) s += (double) v * v;
        return Math.sqrt(s);
    }

    /** SHA-256 over every example's ids and labels: a resume refuses data that changed. */
    static String dataFingerprint(List<Example> train, List<Example> val) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            java.nio.ByteBuffer buf = java.nio.ByteBuffer.allocate(8);
            for (List<Example> set : List.of(train, val)) {
                for (Example e : set) {
                    for (int i = 0; i < e.length(); i++) {
                        buf.clear();
                        buf.putInt(e.ids()[i]).putInt(e.labels()[i]);
                        md.update(buf.array());
                    }
                    md.update((byte) 0x7f);
                }
                md.update((byte) 0x55);
            }
            return HexFormat.of().formatHex(md.digest(), 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}

package dev.llamaadapter.train;

import dev.llamaadapter.adapter.AdapterFile;
import dev.llamaadapter.adapter.AdapterFormats;
import dev.llamaadapter.data.Example;
import dev.llamaadapter.data.Instruction;
import dev.llamaadapter.data.InstructionReader;
import dev.llamaadapter.model.AdaptionPrompts;
import dev.llamaadapter.model.BaseModel;
import dev.llamaadapter.model.GateActivation;
import dev.llamaadapter.model.GateSharing;
import dev.llamaadapter.model.LlamaConfig;
import dev.llamaadapter.model.VisualProjection;
import dev.llamaadapter.vision.ClipVision;
import dev.llamaadapter.vision.ImageFeatures;
import dev.llamaadapter.model.TrainableWeights;
import dev.llamaadapter.model.Transformer;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * Instruction fine-tuning end to end: base model and tokenizer, data and its split, the summary, the
 * training loop with metrics and checkpoints, and the final adapter file and loss chart.
 */
public final class TrainingJob {

    /**
     * Everything the command line sets. Nullable fields take the recipe's defaults. reader and valReader
     * turn --data and --val-data into records (null: Alpaca JSON / JSON Lines); lossNorm null: {@link LossNorm#TOKENS}.
     * chatTemplate: where the chat template of --format chat is read from (null: instruction records).
     */
    public record Options(Path model, Path data, Path out, Path tokenizer, Path valData, String valSplit,
                          int epochs, double warmupEpochs, int batchSize, int microBatchSize, Double lr, double blr,
                          double minLr, double weightDecay, double clipGrad, int adapterLen, Integer adapterLayers,
                          GateActivation gateActivation, int maxSeqLen, long seed, boolean scorePrompt, boolean bucket,
                          Integer evalEvery, Integer saveEvery, Path checkpoint, Path metrics, Path plot, boolean resume,
                          double gateInitStd, boolean full, InstructionReader reader, InstructionReader valReader,
                          Path vision, String visualLayers, LossNorm lossNorm, GateSharing gates, Path chatTemplate) {

        /** Alpaca (or a reader's) records, no chat template. */
        public Options(Path model, Path data, Path out, Path tokenizer, Path valData, String valSplit,
                       int epochs, double warmupEpochs, int batchSize, int microBatchSize, Double lr, double blr,
                       double minLr, double weightDecay, double clipGrad, int adapterLen, Integer adapterLayers,
                       GateActivation gateActivation, int maxSeqLen, long seed, boolean scorePrompt, boolean bucket,
                       Integer evalEvery, Integer saveEvery, Path checkpoint, Path metrics, Path plot, boolean resume,
                       double gateInitStd, boolean full, InstructionReader reader, InstructionReader valReader,
                       Path vision, String visualLayers, LossNorm lossNorm, GateSharing gates) {
            this(model, data, out, tokenizer, valData, valSplit, epochs, warmupEpochs, batchSize, microBatchSize, lr, blr, minLr,
                    weightDecay, clipGrad, adapterLen, adapterLayers, gateActivation, maxSeqLen, seed, scorePrompt, bucket,
                    evalEvery, saveEvery, checkpoint, metrics, plot, resume, gateInitStd, full, reader, valReader, vision, visualLayers, lossNorm,
                    gates, null);
        }

        /**
         * The same options training on conversations (--format chat): --data and --val-data are JSON Lines of
         * {"messages": [...]}, rendered with the chat template of {@code template} (a model or tokenizer directory,
         * or its tokenizer_config.json).
         */
        public Options withChatTemplate(Path template) {
            return new Options(model, data, out, tokenizer, valData, valSplit, epochs, warmupEpochs, batchSize, microBatchSize, lr, blr, minLr,
                    weightDecay, clipGrad, adapterLen, adapterLayers, gateActivation, maxSeqLen, seed, scorePrompt, bucket,
                    evalEvery, saveEvery, checkpoint, metrics, plot, resume, gateInitStd, full, reader, valReader, vision, visualLayers, lossNorm,
                    gates, template);
        }

        /** The default loss normalisation ({@link LossNorm#TOKENS}) and per-head gates, the paper's. */
        public Options(Path model, Path data, Path out, Path tokenizer, Path valData, String valSplit,
                       int epochs, double warmupEpochs, int batchSize, int microBatchSize, Double lr, double blr,
                       double minLr, double weightDecay, double clipGrad, int adapterLen, Integer adapterLayers,
                       GateActivation gateActivation, int maxSeqLen, long seed, boolean scorePrompt, boolean bucket,
                       Integer evalEvery, Integer saveEvery, Path checkpoint, Path metrics, Path plot, boolean resume,
                       double gateInitStd, boolean full, InstructionReader reader, InstructionReader valReader,
                       Path vision, String visualLayers) {
            this(model, data, out, tokenizer, valData, valSplit, epochs, warmupEpochs, batchSize, microBatchSize, lr, blr, minLr,
                    weightDecay, clipGrad, adapterLen, adapterLayers, gateActivation, maxSeqLen, seed, scorePrompt, bucket,
                    evalEvery, saveEvery, checkpoint, metrics, plot, resume, gateInitStd, full, reader, valReader, vision, visualLayers, null,
                    GateSharing.PER_HEAD);
        }

        /** With a loss normalisation (null: tokens), per-head gates. */
        public Options(Path model, Path data, Path out, Path tokenizer, Path valData, String valSplit,
                       int epochs, double warmupEpochs, int batchSize, int microBatchSize, Double lr, double blr,
                       double minLr, double weightDecay, double clipGrad, int adapterLen, Integer adapterLayers,
                       GateActivation gateActivation, int maxSeqLen, long seed, boolean scorePrompt, boolean bucket,
                       Integer evalEvery, Integer saveEvery, Path checkpoint, Path metrics, Path plot, boolean resume,
                       double gateInitStd, boolean full, InstructionReader reader, InstructionReader valReader,
                       Path vision, String visualLayers, LossNorm lossNorm) {
            this(model, data, out, tokenizer, valData, valSplit, epochs, warmupEpochs, batchSize, microBatchSize, lr, blr, minLr,
                    weightDecay, clipGrad, adapterLen, adapterLayers, gateActivation, maxSeqLen, seed, scorePrompt, bucket,
                    evalEvery, saveEvery, checkpoint, metrics, plot, resume, gateInitStd, full, reader, valReader, vision, visualLayers, lossNorm,
                    GateSharing.PER_HEAD);
        }

        /** The same options with the gates shared as given. */
        public Options withGates(GateSharing g) {
            return new Options(model, data, out, tokenizer, valData, valSplit, epochs, warmupEpochs, batchSize, microBatchSize, lr, blr, minLr,
                    weightDecay, clipGrad, adapterLen, adapterLayers, gateActivation, maxSeqLen, seed, scorePrompt, bucket,
                    evalEvery, saveEvery, checkpoint, metrics, plot, resume, gateInitStd, full, reader, valReader, vision, visualLayers, lossNorm, g,
                    chatTemplate);
        }

        /** Without a vision tower: a text-only adapter, or full fine-tuning. */
        public Options(Path model, Path data, Path out, Path tokenizer, Path valData, String valSplit,
                       int epochs, double warmupEpochs, int batchSize, int microBatchSize, Double lr, double blr,
                       double minLr, double weightDecay, double clipGrad, int adapterLen, Integer adapterLayers,
                       GateActivation gateActivation, int maxSeqLen, long seed, boolean scorePrompt, boolean bucket,
                       Integer evalEvery, Integer saveEvery, Path checkpoint, Path metrics, Path plot, boolean resume,
                       double gateInitStd, boolean full, InstructionReader reader, InstructionReader valReader) {
            this(model, data, out, tokenizer, valData, valSplit, epochs, warmupEpochs, batchSize, microBatchSize, lr, blr, minLr,
                    weightDecay, clipGrad, adapterLen, adapterLayers, gateActivation, maxSeqLen, seed, scorePrompt, bucket,
                    evalEvery, saveEvery, checkpoint, metrics, plot, resume, gateInitStd, full, reader, valReader, null, null);
        }

        /** Alpaca data for both --data and --val-data; a zero-init text-only adapter (no vision tower). */
        public Options(Path model, Path data, Path out, Path tokenizer, Path valData, String valSplit,
                       int epochs, double warmupEpochs, int batchSize, int microBatchSize, Double lr, double blr,
                       double minLr, double weightDecay, double clipGrad, int adapterLen, Integer adapterLayers,
                       GateActivation gateActivation, int maxSeqLen, long seed, boolean scorePrompt, boolean bucket,
                       Integer evalEvery, Integer saveEvery, Path checkpoint, Path metrics, Path plot, boolean resume) {
            this(model, data, out, tokenizer, valData, valSplit, epochs, warmupEpochs, batchSize, microBatchSize, lr, blr, minLr,
                    weightDecay, clipGrad, adapterLen, adapterLayers, gateActivation, maxSeqLen, seed, scorePrompt, bucket,
                    evalEvery, saveEvery, checkpoint, metrics, plot, resume, 0, false, null, null, null, null);
        }

        public Path checkpointFile() {
            return checkpoint != null ? checkpoint : sibling(".ckpt.safetensors");
        }

        public Path metricsFile() {
            return metrics != null ? metrics : sibling(".metrics.jsonl");
        }

        public Path plotFile() {
            return plot != null ? plot : sibling(".loss.png");
        }

        private Path sibling(String suffix) {
            String name = out.getFileName().toString();
            String base = name.endsWith(".safetensors") ? name.substring(0, name.length() - ".safetensors".length()) : name;
            return out.toAbsolutePath().resolveSibling(base + suffix);
        }
    }

    /** What the run produced. */
    public record Result(Path adapter, long steps, Trainer.ValRow baseValidation, Trainer.ValRow lastValidation,
                         double lastTrainLoss, long adapterBytes, double trainSeconds, List<Trainer.StepRow> stepRows,
                         long memoryBytes) {
        /** Mean wall time of an optimizer step, validation excluded where it ran only at the start and end. */
        public double msPerStep() {
            return stepRows.isEmpty() ? Double.NaN : 1000 * stepRows.getLast().elapsedS() / stepRows.size();
        }
    }

    /** The base model's validation loss over the run's validation set, batched as the trainer does. */
    public static double baseModelValidationLoss(Options o, BaseModel base) throws IOException {
        TrainingData.Prepared pr = TrainingData.prepare(o, base);
        return new Trainer(base.transformer(), pr.cfg(), pr.train(), pr.val(), null, base.fingerprint(), null).validationLoss(null);
    }

    public static Result run(Options o, PrintStream log, java.util.function.Function<Long, Trainer.Listener> progress) throws IOException {
        return run(o, log, progress, null);
    }

    /** As {@link #run(Options, PrintStream, java.util.function.Function)}, each step's gradient computed on a cluster when cluster is not null. */
    public static Result run(Options o, PrintStream log, java.util.function.Function<Long, Trainer.Listener> progress,
                             ClusterTrainer.Launcher cluster) throws IOException {
        for (Path p : List.of(o.checkpointFile(), o.metricsFile(), o.plotFile())) checkWritable(p);
        if (o.full()) checkWritableDir(o.out());
        else checkWritable(o.out());
        if (o.full() && o.vision() != null) throw new IllegalArgumentException("--vision trains a multimodal adapter; it does not go with --full");
        try (BaseModel base = BaseModel.open(o.model()); ClipVision tower = o.vision() == null ? null : ClipVision.open(o.vision())) {
            TrainingData.Prepared pr = TrainingData.prepare(o, base);
            LlamaConfig c = base.config();
            TrainConfig cfg = pr.cfg();
            List<Example> train = pr.train(), val = pr.val();
            List<String> empty = pr.empty(), truncated = pr.truncated(), unscored = pr.unscored();
            int N = c.numHiddenLayers(), L = cfg.adapterLayers(), spe = pr.stepsPerEpoch();
            double lr = cfg.lr();
            AdaptionPrompts p = o.full() ? null
                    : AdaptionPrompts.init(o.adapterLen(), L, c.hiddenSize(), c.numAttentionHeads(), o.gateActivation(), o.gates(), o.seed());
            if (p != null && o.gateInitStd() > 0) { // the paper's ablation: gates that do not start at zero
                Random r = new Random(o.seed() ^ 0x6a7eL);
                int H = p.heads;
                boolean perLayer = p.gates == GateSharing.PER_LAYER; // one draw per layer, held by each of its heads
                for (int i = 0; i < p.gate.length; i++) p.gate[i] = perLayer && i % H != 0 ? p.gate[i - 1] : (float) (r.nextGaussian() * o.gateInitStd());
            }
            TrainableWeights full = o.full() ? new TrainableWeights(c, base.weights()) : null; // fp32 copies: the files stay untouched
            Transformer model = o.full() ? new Transformer(c, full.weights) : base.transformer();
            List<float[]> trainFeats = null, valFeats = null;
            long withImage = 0;
            for (Instruction r : pr.trainRecords()) if (r.image() != null) withImage++;
            for (Instruction r : pr.valRecords()) if (r.image() != null) withImage++;
            if (tower == null && o.visualLayers() != null) throw new IllegalArgumentException("--visual-layers goes with --vision");
            if (tower != null) {
                if (withImage == 0) throw new IOException(o.data() + ": --vision is given but no record has an \"image\"");
                int[] vl = o.visualLayers() != null ? VisualProjection.parseLayers(o.visualLayers()) : defaultVisualLayers(tower.numLayers());
                ImageFeatures cache = new ImageFeatures(tower, vl);
                long f0 = System.nanoTime();
                trainFeats = features(cache, pr.trainRecords());
                valFeats = features(cache, pr.valRecords());
                double fs = (System.nanoTime() - f0) / 1e9;
                p = p.withVisual(VisualProjection.init(vl, cache.width(), c.hiddenSize(), o.seed()));
                log.printf(Locale.ROOT, "vision      %s: CLIP %d layers × %d wide, %d px; visual_layers %s -> visual_proj %d -> %d; %d images in %.1f s "
                                + "(tower %.1f images/s), cached for the run%n", o.vision(), tower.numLayers(), tower.hiddenSize(), tower.imageSize(),
                        p.visual.layersString(), cache.width(), c.hiddenSize(), cache.size(), fs, cache.size() / Math.max(cache.towerSeconds(), 1e-9));
            } else if (withImage > 0) {
                log.printf("images      %d records carry an image: ignored without --vision (a text-only adapter is trained)%n", withImage);
            }
            long baseParams = base.parameterCount();
            long tokens = 0;
            for (Example e : train) tokens += e.length();
            log.printf(Locale.ROOT, "base model  %s: %s, %s, %.1f MB on disk, %s parameters%n", o.model(), base.shape(), base.dtypes(),
                    base.bytesOnDisk() / 1e6, human(baseParams));
            if (o.full())
                log.printf(Locale.ROOT, "full        every weight is trained (%,d parameters, fp32 master copies of %d tensors)%n",
                        full.parameterCount(), full.tensors().size());
            else
                log.printf(Locale.ROOT, "adapter     K %d prompts × L %d layers (%d..%d), gate %s, %s%s%s: %,d trainable, %.4f%% of %s%n",
                        o.adapterLen(), L, N - L, N - 1, o.gateActivation().id(), o.gates().id(), o.gateInitStd() > 0 ? " (random init, std " + o.gateInitStd() + ")" : "",
                        p.visual == null ? "" : ", visual_proj " + p.visual.in + " -> " + p.visual.dim,
                        p.parameterCount(), 100.0 * p.parameterCount() / baseParams, human(baseParams));
            log.printf(Locale.ROOT, "data        %s: %,d train examples (%,d tokens), %,d validation%s%n", o.data(), train.size(), tokens, val.size(),
                    o.valData() != null ? " from " + o.valData() : "");
            if (!empty.isEmpty()) log.printf("            %d records %s skipped (first: %s)%n", empty.size(),
                    pr.chatTemplate() != null ? "without an assistant message" : "with an empty output", empty.getFirst());
            if (pr.chatTemplate() != null) log.printf("chat        rendered with the chat template of %s; only assistant turns are scored%n", pr.chatTemplate().source());
            if (!truncated.isEmpty()) log.printf("            %d examples longer than --max-seq-len %d were cut (first: %s)%n", truncated.size(), o.maxSeqLen(), truncated.getFirst());
            if (!unscored.isEmpty()) log.printf("            %d examples dropped: no response token within --max-seq-len (first: %s)%n", unscored.size(), unscored.getFirst());
            log.printf(Locale.ROOT, "schedule    %d epochs × %d steps = %d steps, effective batch %d (micro %d × %d, loss %s), lr %.3g (warm-up %.3g epochs, cosine to %.3g), wd %.3g%s%n",
                    cfg.epochs(), spe, (long) spe * cfg.epochs(), cfg.batchSize(), cfg.microBatchSize(), cfg.accumulation(),
                    cfg.lossNorm() == LossNorm.TOKENS ? "per scored token of the step" : "mean of micro-batch means", lr,
                    cfg.warmupEpochs(), cfg.minLr(), cfg.weightDecay(), cfg.clipGrad() > 0 ? ", clip " + cfg.clipGrad() : "");
            log.printf("outputs     %s (checkpoint %s, metrics %s, chart %s)%n", o.out(), o.checkpointFile(), o.metricsFile(), o.plotFile());

            long resumeStep = 0;
            if (o.resume() && Files.exists(o.checkpointFile())) {
                try (var st = dev.llamaadapter.io.SafeTensors.open(o.checkpointFile())) {
                    resumeStep = Long.parseLong(st.metadata().getOrDefault(Checkpoint.STEP, "0"));
                }
                log.printf("resume      from %s at step %d%n", o.checkpointFile(), resumeStep);
            } else if (o.resume()) {
                log.printf("resume      no checkpoint at %s: starting from step 0%n", o.checkpointFile());
            }
            Trainer.ValRow[] first = new Trainer.ValRow[1];
            Trainer.ValRow last;
            long memoryBytes;
            long start = System.nanoTime();
            try (MetricsLog metrics = new MetricsLog(o.metricsFile(), resumeStep)) {
                Trainer.Listener bar = progress.apply(resumeStep);
                Trainer.Listener listener = new Trainer.Listener() {
                    @Override
                    public void start(long total, long firstStep) {
                        bar.start(total, firstStep);
                    }

                    @Override
                    public void step(Trainer.StepRow r) {
                        try {
                            metrics.step(r);
                        } catch (IOException e) {
                            throw new java.io.UncheckedIOException(e);
                        }
                        bar.step(r);
                    }

                    @Override
                    public void validation(Trainer.ValRow r) {
                        if (first[0] == null) first[0] = r;
                        try {
                            metrics.validation(r);
                        } catch (IOException e) {
                            throw new java.io.UncheckedIOException(e);
                        }
                        bar.validation(r);
                    }

                    @Override
                    public void checkpoint(long step, Path file) {
                        bar.checkpoint(step, file);
                    }
                };
                Trainer trainer = new Trainer(model, cfg, train, val, o.checkpointFile(), Trainer.baseIdentity(base), listener);
                int maxT = trainer.longestExample();
                if (trainFeats != null) trainer.images(trainFeats, valFeats); // the images enter the run's identity
                Objective objective = o.full() ? Objective.full(model, full, cfg.microBatchSize(), maxT)
                        : trainFeats != null ? new MultimodalObjective(model, p, cfg.microBatchSize(), maxT, trainFeats, valFeats)
                        : Objective.adapter(model, p, cfg.microBatchSize(), maxT);
                try (ClusterTrainer.Session session = cluster == null ? null
                        : cluster.start(new ClusterTrainer.Run(o.model(), base.fingerprint(), cfg, train, maxT, log))) {
                    if (session != null) trainer.withStepGradient(session.stepGradient());
                    last = trainer.run(objective, o.resume());
                }
                memoryBytes = objective.memoryBytes();
                double secs = (System.nanoTime() - start) / 1e9;

                Map<String, String> meta = new LinkedHashMap<>(cfg.asMetadata());
                meta.put(AdapterFile.BASE_FINGERPRINT, base.fingerprint());
                meta.put(AdapterFile.BASE_SHAPE, base.shape());
                meta.put(AdapterFile.BASE_FAMILY, c.arch().family().modelType());
                meta.put(AdapterFile.BASE_FAMILY, c.arch().family().modelType());
                meta.put(AdapterFile.BASE_SKETCH, dev.llamaadapter.model.BaseSketch.of(base).encode());
                meta.put("base_model.path", o.model().toString());
                if (pr.chatTemplate() != null) meta.putAll(pr.chatTemplate().metadata()); // inference renders prompts as training did
                meta.put("summary.data", o.data().toString());
                if (tower != null) meta.put("vision_tower.path", o.vision().toString());
                meta.put("summary.examples", Integer.toString(train.size()));
                meta.put("summary.steps", Long.toString(trainer.totalSteps()));
                if (!metrics.steps.isEmpty()) meta.put("summary.final_train_loss", String.format(Locale.ROOT, "%.6f", metrics.steps.getLast().loss()));
                if (last != null) meta.put("summary.final_val_loss", String.format(Locale.ROOT, "%.6f", last.loss()));
                if (!metrics.vals.isEmpty()) meta.put("summary.base_val_loss", String.format(Locale.ROOT, "%.6f", metrics.vals.getFirst().loss()));
                meta.put("summary.train_seconds", String.format(Locale.ROOT, "%.1f", secs));
                meta.put("created_at", Instant.now().toString());
                long bytes;
                if (o.full()) {
                    full.writeHf(o.out(), meta);
                    copyTokenizer(o, base, log);
                    BaseModel.verifyWritten(o.out(), base);
                    bytes = Files.size(o.out().resolve("model.safetensors"));
                } else {
                    AdapterFile.write(o.out(), p, N, meta);
                    AdapterFormats.verifyWritten(AdapterFormats.Format.NATIVE, o.out(), p, N);
                    bytes = Files.size(o.out());
                }
                LossChart.write(o.plotFile(), "LLaMA-Adapter: " + o.data().getFileName(), metrics.steps, metrics.vals);
                Trainer.ValRow baseVal = metrics.vals.isEmpty() ? null : metrics.vals.getFirst();
                double lastLoss = metrics.steps.isEmpty() ? Double.NaN : metrics.steps.getLast().loss();
                log.printf(Locale.ROOT, "done        %d steps in %.1f s; train loss %.4f%s; %s %s (%,d bytes)%n", trainer.totalSteps(), secs, lastLoss,
                        last != null && baseVal != null ? String.format(Locale.ROOT, ", validation loss %.4f (base model %.4f)", last.loss(), baseVal.loss()) : "",
                        o.full() ? "model" : "adapter", o.out(), bytes);
                return new Result(o.out(), trainer.totalSteps(), baseVal, last, lastLoss, bytes, secs, List.copyOf(metrics.steps), memoryBytes);
            }
        }
    }

    /** Default visual_layers of an N-layer tower: three scales, a third, two thirds and all the way up. */
    public static int[] defaultVisualLayers(int n) {
        return java.util.stream.IntStream.of(Math.max(1, Math.round(n / 3f)), Math.max(1, Math.round(2 * n / 3f)), n)
                .distinct().toArray();
    }

    /** Each record's image features (null: no image), computed once per distinct image; errors name the record. */
    public static List<float[]> features(ImageFeatures cache, List<Instruction> recs) throws IOException {
        List<Path> images = new ArrayList<>();
        for (Instruction r : recs) if (r.image() != null) images.add(r.image());
        try {
            cache.computeAll(images);
        } catch (IOException e) {
            for (Instruction r : recs) // the first record whose image fails, named
                if (r.image() != null && e.getMessage() != null && e.getMessage().startsWith(r.image().toAbsolutePath().normalize().toString()))
                    throw new IOException(r.where() + ": " + e.getMessage(), e);
            throw e;
        }
        List<float[]> out = new ArrayList<>(recs.size());
        for (Instruction r : recs) out.add(r.image() == null ? null : cache.of(r.image()));
        return out;
    }

    /** The tokenizer files a fully fine-tuned model takes along from its base, when present. */
    private static final List<String> TOKENIZER_FILES = List.of("tokenizer.model", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json");

    /** The files train --full may write into its output directory. */
    public static List<String> fullModelFiles() {
        List<String> names = new ArrayList<>(List.of("config.json", "model.safetensors"));
        names.addAll(TOKENIZER_FILES);
        return names;
    }

    /** A fully fine-tuned model is a whole model directory: it takes the base's tokenizer files along. */
    private static void copyTokenizer(Options o, BaseModel base, PrintStream log) throws IOException {
        Path from = o.tokenizer() != null ? o.tokenizer() : base.dir();
        List<Path> files = new ArrayList<>();
        if (Files.isRegularFile(from)) files.add(from);
        else if (Files.isDirectory(from))
            for (String n : TOKENIZER_FILES)
                if (Files.isRegularFile(from.resolve(n))) files.add(from.resolve(n));
        for (Path f : files) dev.llamaadapter.io.AtomicFile.write(o.out().resolve(f.getFileName()), Files.readAllBytes(f));
        if (files.isEmpty())
            log.printf("warning     %s has no tokenizer file to copy: pass --tokenizer when using %s%n", from, o.out());
    }

    /** The output directory of full fine-tuning: created if missing, and writable. */
    static void checkWritableDir(Path dir) throws IOException {
        if (Files.isRegularFile(dir)) throw new IOException(dir + ": full fine-tuning writes a model directory, but this is a file");
        Files.createDirectories(dir);
        checkWritable(dir.resolve("config.json"));
    }


    /** Fails before any training when an output cannot be written. */
    static void checkWritable(Path file) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        if (dir == null || !Files.isDirectory(dir)) throw new IOException(file + ": the directory " + dir + " does not exist");
        if (Files.isDirectory(file)) throw new IOException(file + ": is a directory");
        try {
            Path probe = Files.createTempFile(dir, ".write-check", ".tmp");
            Files.delete(probe);
        } catch (IOException e) {
            throw new IOException(file + ": cannot write in " + dir + " (" + e.getMessage() + ")", e);
        }
    }

    static String human(long n) {
        if (n >= 1e9) return String.format(Locale.ROOT, "%.2fB", n / 1e9);
        if (n >= 1e6) return String.format(Locale.ROOT, "%.2fM", n / 1e6);
        if (n >= 1e3) return String.format(Locale.ROOT, "%.1fK", n / 1e3);
        return Long.toString(n);
    }
}

package dev.llamaadapter.cli;

import dev.llamaadapter.data.InstructionReader;
import dev.llamaadapter.eval.ScienceQaInstructions;
import dev.llamaadapter.io.OutputGuard;
import dev.llamaadapter.model.GateActivation;
import dev.llamaadapter.model.GateSharing;
import dev.llamaadapter.train.Checkpoint;
import dev.llamaadapter.train.ClusterTrainer;
import dev.llamaadapter.train.LossNorm;
import dev.llamaadapter.train.Trainer;
import dev.llamaadapter.train.TrainingJob;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/** Instruction fine-tuning: Alpaca-style data in, one plug-and-play adapter file out (spec §3, §6). */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Train a LLaMA-Adapter on instruction data (Alpaca JSON or JSON Lines, ScienceQA's problems.json, or conversations "
                + "rendered with the model's own chat template) over a frozen base model.")
public final class TrainCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "base model: a Hugging Face directory, a .gguf file or a llama2.c .bin checkpoint") Path model;
    @Option(names = "--data", required = true, description = "instruction data: JSON array or JSON Lines of {instruction, input, output}; problems.json with --format scienceqa; "
            + "JSON Lines of {\"messages\": [...]} with --format chat") Path data;
    @Option(names = "--format", defaultValue = "alpaca", description = "alpaca | scienceqa | chat: JSON Lines of {\"messages\": [{\"role\", \"content\"}, ...]} "
            + "rendered with the model's chat template, only the assistant turns scored (default ${DEFAULT-VALUE})") String format;
    @Option(names = "--chat-template", paramLabel = "DIR|tokenizer_config.json", description = "chat: where the chat template is read from "
            + "(default: the --tokenizer directory, else the --model directory); the adapter records it") Path chatTemplate;
    @Option(names = "--split", defaultValue = "train", description = "scienceqa: the split to train on (default ${DEFAULT-VALUE})") String split;
    @Option(names = "--pid-splits", description = "scienceqa: pid_splits.json (default: each problem's 'split' field)") Path pidSplits;
    @Option(names = "--captions", description = "scienceqa: captions.json, added to the text context") Path captions;
    @Option(names = "--image-root", description = "scienceqa: image folder (<root>/<split>/<pid>/image.png), recorded on each example") Path imageRoot;
    @Option(names = "--out", required = true, description = "the adapter file to write (.safetensors); with --full, the model directory") Path out;
    @Option(names = "--tokenizer", description = "tokenizer file (default: the one in --model)") Path tokenizer;
    @Option(names = "--val-data", description = "validation data file (default: a split of --data)") Path valData;
    @Option(names = "--val-split", description = "validation records held out of --data: a count (200) or a fraction (0.05); 0 = none (default: 5%%, at most 200); "
            + "with --format scienceqa also a split name (minival)") String valSplit;
    @Option(names = "--epochs", defaultValue = "5", description = "default ${DEFAULT-VALUE}") int epochs;
    @Option(names = "--warmup-epochs", defaultValue = "2", description = "linear warm-up, in epochs (default ${DEFAULT-VALUE})") double warmupEpochs;
    @Option(names = "--batch-size", defaultValue = "32", description = "effective batch, in examples (default ${DEFAULT-VALUE})") int batchSize;
    @Option(names = "--micro-batch-size", defaultValue = "4", description = "examples per forward/backward; gradients accumulate to --batch-size. "
            + "Memory and speed only: the steps and their loss stay the same (default ${DEFAULT-VALUE})") int microBatchSize;
    @Option(names = "--loss-norm", defaultValue = "tokens", converter = LossNormConverter.class, description = "a step's loss: tokens = the mean over every "
            + "scored token of the --batch-size examples; micro-mean = the mean of micro-batch means, as the official code (depends on --micro-batch-size) "
            + "(default ${DEFAULT-VALUE})") LossNorm lossNorm;
    @Option(names = "--lr", description = "absolute peak learning rate (overrides --blr)") Double lr;
    @Option(names = "--blr", defaultValue = "9e-3", description = "base learning rate: lr = blr × batch-size / 256 (default ${DEFAULT-VALUE})") double blr;
    @Option(names = "--min-lr", defaultValue = "0", description = "the cosine's floor (default ${DEFAULT-VALUE})") double minLr;
    @Option(names = "--weight-decay", defaultValue = "0.02", description = "AdamW weight decay (default ${DEFAULT-VALUE})") double weightDecay;
    @Option(names = "--clip-grad", defaultValue = "0", description = "clip the gradient norm to this; 0 = off (default)") double clipGrad;
    @Option(names = "--adapter-len", defaultValue = "10", description = "prompt length K (default ${DEFAULT-VALUE})") int adapterLen;
    @Option(names = "--adapter-layers", description = "adapted top layers L (default: all but the bottom 2)") Integer adapterLayers;
    @Option(names = "--gate-activation", converter = GateConverter.class, description = "tanh | identity (default tanh; identity with --peft)") GateActivation gate;
    @Option(names = "--gates", paramLabel = "per-head|per-layer", converter = GatesConverter.class,
            description = "per-head: one gate per head of each adapted layer (the paper's; default); per-layer: one gate per layer, shared by its heads (PEFT's)")
    GateSharing gates;
    @Option(names = "--peft", description = "the PEFT-compatible recipe: --gates per-layer --gate-activation identity, so that convert --to peft "
            + "writes the adapter without loss. It trains fewer gate parameters (L instead of L×H); the paper's ablations use per-head gates")
    boolean peft;
    @Option(names = "--max-seq-len", defaultValue = "512", description = "examples are cut at this many tokens (default ${DEFAULT-VALUE})") int maxSeqLen;
    @Option(names = "--seed", defaultValue = "0", description = "data order, split and prompt initialisation (default ${DEFAULT-VALUE})") long seed;
    @Option(names = "--score-prompt", description = "also score the prompt tokens (default: the response only)") boolean scorePrompt;
    @Option(names = "--no-bucket", description = "plain shuffled batches instead of length buckets") boolean noBucket;
    @Option(names = "--eval-every", description = "validate every N steps (default: every epoch)") Integer evalEvery;
    @Option(names = "--save-every", description = "checkpoint every N steps (default: every epoch)") Integer saveEvery;
    @Option(names = "--checkpoint", description = "checkpoint file (default: <out>.ckpt.safetensors)") Path checkpoint;
    @Option(names = "--metrics", description = "metrics file, JSON Lines (default: <out>.metrics.jsonl)") Path metrics;
    @Option(names = "--plot", description = "loss chart PNG (default: <out>.loss.png)") Path plot;
    @Option(names = "--resume", description = "continue from the checkpoint when there is one") boolean resume;
    @Option(names = "--overwrite", description = "start over even though a checkpoint of an earlier run is at the checkpoint path (it is replaced)") boolean overwrite;
    @Option(names = "--vision", description = "CLIP vision tower (Hugging Face CLIPVisionModel or CLIP directory): trains a multimodal adapter on records with an \"image\"") Path vision;
    @Option(names = "--visual-layers", description = "CLIP layers whose CLS features are used, 1-based, e.g. 1,2,3 (default: a third, two thirds and the top of the tower)") String visualLayers;
    @Option(names = "--full", description = "full fine-tuning: train every weight of the model (the paper's Alpaca-style baseline) and write a whole model directory to --out") boolean full;
    @Option(names = "--gate-init-std", defaultValue = "0", description = "start the gates random with this std instead of zero (the paper's ablation; default 0 = zero-init)") double gateInit;
    @Option(names = "--spark", paramLabel = "MASTER", description = "data-parallel on Apache Spark: local[N] on this machine, or a master URL; under spark-submit, spark-submit's master is used (needs the Spark module: see the README)") String spark;
    @Option(names = "--quiet", description = "no progress bar; one line per validation") boolean quiet;
    @Option(names = "--recompute", description = "activation recomputation: keep only each trained layer's input, recompute the rest in the backward (same gradients, far less memory, ~1/3 more compute)") boolean recompute;

    static final class GatesConverter implements ITypeConverter<GateSharing> {
        @Override
        public GateSharing convert(String value) {
            return GateSharing.parse(value);
        }
    }

    static final class GateConverter implements ITypeConverter<GateActivation> {
        @Override
        public GateActivation convert(String value) {
            return GateActivation.parse(value);
        }
    }

    static final class LossNormConverter implements ITypeConverter<LossNorm> {
        @Override
        public LossNorm convert(String value) {
            return LossNorm.parse(value);
        }
    }

    @Override
    public Integer call() throws Exception {
        if (recompute) System.setProperty("llamaadapter.recompute", "true"); // read by the training objectives
        if (valData != null && java.nio.file.Files.exists(valData) && java.nio.file.Files.exists(data)
                && java.nio.file.Files.isSameFile(valData, data))
            throw new IllegalArgumentException("--val-data " + valData + " is the --data file itself: a validation loss on the training records "
                    + "measures memorising, not learning. Leave out --val-data to hold out a share of --data (--val-split), or give other records");
        InstructionReader reader = null, valReader = null;
        Path valFile = valData;
        String held = valSplit;
        switch (format) {
            case "alpaca" -> {
                for (Object o : new Object[] {pidSplits, captions, imageRoot})
                    if (o != null) throw new IllegalArgumentException("--pid-splits, --captions and --image-root go with --format scienceqa");
            }
            case "scienceqa" -> {
                reader = ScienceQaInstructions.reader(split, pidSplits, captions, imageRoot);
                valReader = reader;
                if (valSplit != null && !valSplit.isBlank() && !Character.isDigit(valSplit.charAt(0)) && valSplit.charAt(0) != '.') {
                    // a split name: validate on that split of the same problems
                    if (valData != null) throw new IllegalArgumentException("--val-split " + valSplit + " names a split; it does not go with --val-data");
                    valReader = ScienceQaInstructions.reader(valSplit, pidSplits, captions, imageRoot);
                    valFile = data;
                    held = null;
                }
            }
            case "chat" -> {
                for (Object o : new Object[] {pidSplits, captions, imageRoot})
                    if (o != null) throw new IllegalArgumentException("--pid-splits, --captions and --image-root go with --format scienceqa");
                if (vision != null) throw new IllegalArgumentException("--vision trains on records with an image; --format chat has none");
            }
            default -> throw new IllegalArgumentException("--format " + format + ": alpaca, scienceqa or chat");
        }
        if (chatTemplate != null && !format.equals("chat")) throw new IllegalArgumentException("--chat-template goes with --format chat");
        var o = new TrainingJob.Options(model, data, out, tokenizer, valFile, held, epochs, warmupEpochs, batchSize, microBatchSize,
                lr, blr, minLr, weightDecay, clipGrad, adapterLen, adapterLayers, gateActivation(), maxSeqLen, seed, scorePrompt, !noBucket,
                evalEvery, saveEvery, checkpoint, metrics, plot, resume, gateInit, full, reader, valReader, vision, visualLayers, lossNorm, gateSharing());
        if (format.equals("chat")) o = o.withChatTemplate(templateSource());
        guardOutputs(o);
        guardCheckpoint(o.checkpointFile());
        ClusterTrainer.Launcher cluster = null;
        if (spark != null) {
            if (full) throw new IllegalArgumentException("--spark trains adapters only: --full's gradient is the whole model, too big to aggregate every step");
            if (vision != null) throw new IllegalArgumentException("--spark trains the text adapter only: the multimodal adapter's image features stay on this machine");
            ClusterTrainer engine = ClusterTrainer.find("spark"); // fails before any work when the module is absent
            cluster = run -> engine.start(spark, run);
        }
        TrainingJob.run(o, System.err, resumeStep -> quiet ? new Lines() : new Bar(full ? "full" : "train"), cluster);
        return 0;
    }

    /** --chat-template, else the tokenizer's directory (--tokenizer, else --model): where tokenizer_config.json lies. */
    private Path templateSource() {
        if (chatTemplate != null) return chatTemplate;
        Path from = tokenizer != null ? tokenizer : model;
        if (java.nio.file.Files.isDirectory(from)) return from;
        Path dir = from.toAbsolutePath().getParent();
        if (tokenizer != null && from.getFileName().toString().endsWith(".json") && dir != null) return dir; // tokenizer.json: its config lies beside it
        throw new IllegalArgumentException("--format chat renders with the model's chat template (tokenizer_config.json), but " + from
                + " is a file: give the directory that holds it with --chat-template");
    }

    /** --gate-activation, else the recipe's: identity for --peft (PEFT applies none to its gate), tanh otherwise (the paper's). */
    private GateActivation gateActivation() {
        if (peft && gate == GateActivation.TANH)
            throw new IllegalArgumentException("--peft trains identity gates (PEFT applies no activation to its gate); "
                    + "for per-layer tanh gates give --gates per-layer --gate-activation tanh instead");
        return gate != null ? gate : peft ? GateActivation.IDENTITY : GateActivation.TANH;
    }

    /** --gates, else per-layer for --peft and per-head (the paper's) otherwise; --peft refuses what PEFT cannot hold. */
    private GateSharing gateSharing() {
        if (peft) {
            if (gates == GateSharing.PER_HEAD)
                throw new IllegalArgumentException("--peft trains one gate per layer (PEFT's adaption_gate): it does not go with --gates per-head");
            if (full) throw new IllegalArgumentException("--peft trains a PEFT adaption_prompt adapter; --full trains every weight instead");
            if (vision != null)
                throw new IllegalArgumentException("--peft: PEFT's adaption_prompt has no place for the multimodal adapter's visual projection (--vision)");
        }
        if (full && gates != null) throw new IllegalArgumentException("--gates shapes an adapter's gates; --full trains every weight and has none");
        return gates != null ? gates : peft ? GateSharing.PER_LAYER : GateSharing.PER_HEAD;
    }

    /** Every file the run writes is checked against every file it reads, before any work (see {@link OutputGuard}). */
    private void guardOutputs(TrainingJob.Options o) throws java.io.IOException {
        OutputGuard g = new OutputGuard().input("--model", model).input("--data", data).input("--val-data", valData)
                .input("--tokenizer", tokenizer).input("--vision", vision).input("--pid-splits", pidSplits).input("--captions", captions)
                .input("--image-root", imageRoot).input("--chat-template", chatTemplate);
        if (full) g.outputDir("--out", out, TrainingJob.fullModelFiles());
        else g.output("--out", out);
        g.output("--checkpoint", o.checkpointFile()).output("--metrics", o.metricsFile()).output("--plot", o.plotFile()).check();
    }

    /** An interrupted run's checkpoint is work: replacing it takes --overwrite, continuing it --resume. */
    private void guardCheckpoint(Path ckpt) {
        if (resume && overwrite) throw new IllegalArgumentException("--resume and --overwrite exclude each other");
        if (resume || overwrite || !java.nio.file.Files.exists(ckpt)) return;
        throw new IllegalArgumentException(ckpt + ": a checkpoint of an earlier run is there (" + Checkpoint.describe(ckpt)
                + "); this run would replace it. Continue that run with --resume, or start over with --overwrite "
                + "(or write elsewhere: --out, --checkpoint)");
    }

    /** Validation and checkpoint lines only. */
    static class Lines implements Trainer.Listener {
        @Override
        public void step(Trainer.StepRow r) {}

        @Override
        public void validation(Trainer.ValRow r) {
            System.err.printf(Locale.ROOT, "step %d (epoch %.2f): validation loss %.4f, perplexity %.2f%n", r.step(), r.epoch(), r.loss(), r.perplexity());
        }

        @Override
        public void checkpoint(long step, Path file) {}
    }

    /** A progress bar: epoch, step, loss, lr, tokens/s and ETA. */
    static final class Bar extends Lines {
        private ProgressBar bar;
        private final String task;

        Bar() {
            this("train");
        }

        Bar(String task) {
            this.task = task;
        }

        @Override
        public void start(long total, long firstStep) {
            bar = new ProgressBarBuilder().setTaskName(task).setInitialMax(total).startsFrom(firstStep, java.time.Duration.ZERO)
                    .setStyle(ProgressBarStyle.ASCII).setMaxRenderedLength(120).setConsumer(new ConsoleProgressBarConsumer(System.err)).setUpdateIntervalMillis(500)
                    .continuousUpdate().build();
        }

        @Override
        public void step(Trainer.StepRow r) {
            bar.stepTo(r.step());
            bar.setExtraMessage(String.format(Locale.ROOT, " ep %.1f loss %.3f lr %.1e %.0f tok/s", r.epoch(), r.loss(), r.lr(), r.tokensPerS()));
            if (r.step() == r.totalSteps()) bar.close();
        }

        @Override
        public void validation(Trainer.ValRow r) {
            if (bar != null && r.step() > 0) bar.setExtraMessage(String.format(Locale.ROOT, " val loss %.4f", r.loss()));
            else super.validation(r);
        }
    }
}

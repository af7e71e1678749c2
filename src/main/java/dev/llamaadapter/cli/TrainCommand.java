package dev.llamaadapter.cli;

import dev.llamaadapter.model.GateActivation;
import dev.llamaadapter.train.ClusterTrainer;
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
        description = "Train a LLaMA-Adapter on instruction data (Alpaca JSON or JSON Lines) over a frozen base model.")
public final class TrainCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "base model: a Hugging Face directory, a .gguf file or a llama2.c .bin checkpoint") Path model;
    @Option(names = "--data", required = true, description = "instruction data: JSON array or JSON Lines of {instruction, input, output}") Path data;
    @Option(names = "--out", required = true, description = "the adapter file to write (.safetensors)") Path out;
    @Option(names = "--tokenizer", description = "tokenizer file (default: the one in --model)") Path tokenizer;
    @Option(names = "--val-data", description = "validation data file (default: a split of --data)") Path valData;
    @Option(names = "--val-split", description = "validation records held out of --data: a count (200) or a fraction (0.05); 0 = none (default: 5%%, at most 200)") String valSplit;
    @Option(names = "--epochs", defaultValue = "5", description = "default ${DEFAULT-VALUE}") int epochs;
    @Option(names = "--warmup-epochs", defaultValue = "2", description = "linear warm-up, in epochs (default ${DEFAULT-VALUE})") double warmupEpochs;
    @Option(names = "--batch-size", defaultValue = "32", description = "effective batch, in examples (default ${DEFAULT-VALUE})") int batchSize;
    @Option(names = "--micro-batch-size", defaultValue = "4", description = "examples per forward/backward; gradients accumulate to --batch-size (default ${DEFAULT-VALUE})") int microBatchSize;
    @Option(names = "--lr", description = "absolute peak learning rate (overrides --blr)") Double lr;
    @Option(names = "--blr", defaultValue = "9e-3", description = "base learning rate: lr = blr × batch-size / 256 (default ${DEFAULT-VALUE})") double blr;
    @Option(names = "--min-lr", defaultValue = "0", description = "the cosine's floor (default ${DEFAULT-VALUE})") double minLr;
    @Option(names = "--weight-decay", defaultValue = "0.02", description = "AdamW weight decay (default ${DEFAULT-VALUE})") double weightDecay;
    @Option(names = "--clip-grad", defaultValue = "0", description = "clip the gradient norm to this; 0 = off (default)") double clipGrad;
    @Option(names = "--adapter-len", defaultValue = "10", description = "prompt length K (default ${DEFAULT-VALUE})") int adapterLen;
    @Option(names = "--adapter-layers", description = "adapted top layers L (default: all but the bottom 2)") Integer adapterLayers;
    @Option(names = "--gate-activation", defaultValue = "tanh", converter = GateConverter.class, description = "tanh | identity (default ${DEFAULT-VALUE})") GateActivation gate;
    @Option(names = "--max-seq-len", defaultValue = "512", description = "examples are cut at this many tokens (default ${DEFAULT-VALUE})") int maxSeqLen;
    @Option(names = "--seed", defaultValue = "0", description = "data order, split and prompt initialisation (default ${DEFAULT-VALUE})") long seed;
    @Option(names = "--score-prompt", description = "also score the prompt tokens (default: the response only)") boolean scorePrompt;
    @Option(names = "--no-bucket", description = "plain shuffled micro-batches instead of length buckets") boolean noBucket;
    @Option(names = "--eval-every", description = "validate every N steps (default: every epoch)") Integer evalEvery;
    @Option(names = "--save-every", description = "checkpoint every N steps (default: every epoch)") Integer saveEvery;
    @Option(names = "--checkpoint", description = "checkpoint file (default: <out>.ckpt.safetensors)") Path checkpoint;
    @Option(names = "--metrics", description = "metrics file, JSON Lines (default: <out>.metrics.jsonl)") Path metrics;
    @Option(names = "--plot", description = "loss chart PNG (default: <out>.loss.png)") Path plot;
    @Option(names = "--resume", description = "continue from the checkpoint when there is one") boolean resume;
    @Option(names = "--spark", paramLabel = "MASTER", description = "data-parallel on Apache Spark: local[N] on this machine, or the cluster's master (needs the Spark module: see the README)") String spark;
    @Option(names = "--quiet", description = "no progress bar; one line per validation") boolean quiet;

    static final class GateConverter implements ITypeConverter<GateActivation> {
        @Override
        public GateActivation convert(String value) {
            return GateActivation.parse(value);
        }
    }

    @Override
    public Integer call() throws Exception {
        var o = new TrainingJob.Options(model, data, out, tokenizer, valData, valSplit, epochs, warmupEpochs, batchSize, microBatchSize,
                lr, blr, minLr, weightDecay, clipGrad, adapterLen, adapterLayers, gate, maxSeqLen, seed, scorePrompt, !noBucket,
                evalEvery, saveEvery, checkpoint, metrics, plot, resume);
        ClusterTrainer.Launcher cluster = null;
        if (spark != null) {
            ClusterTrainer engine = ClusterTrainer.find("spark"); // fails before any work when the module is absent
            cluster = run -> engine.start(spark, run);
        }
        TrainingJob.run(o, System.err, resumeStep -> quiet ? new Lines() : new Bar(), cluster);
        return 0;
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

        @Override
        public void start(long total, long firstStep) {
            bar = new ProgressBarBuilder().setTaskName("train").setInitialMax(total).startsFrom(firstStep, java.time.Duration.ZERO)
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

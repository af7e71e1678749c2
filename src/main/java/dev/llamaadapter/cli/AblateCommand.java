package dev.llamaadapter.cli;

import dev.llamaadapter.demo.Ablation;
import dev.llamaadapter.demo.Demo;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/** The paper's ablations: gating init, adapted layers, prompt length, adapter against full fine-tuning. */
@Command(name = "ablate", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"The paper's ablations as seeded training runs: zero-init against random-init gating, per-head against per-layer",
                "gates (PEFT's; and with identity, train --peft's recipe), a sweep of adapter_layers and of adapter_len, and the adapter",
                "against full fine-tuning (trainable parameters, ms/step, peak heap, accuracy).",
                "On the demo's setup by default; on any base model with --model and --data. Writes ablation.md and PNG charts."})
public final class AblateCommand implements Callable<Integer> {
    @Option(names = "--model", description = "base model (default: the demo's, built or taken from the cache)") Path model;
    @Option(names = "--data", description = "instruction data (with --model; default: the demo's fact questions)") Path data;
    @Option(names = "--val-data", description = "validation data (default with --data: a split of it)") Path valData;
    @Option(names = "--out", defaultValue = "llama-adapter-ablation", description = "output directory (default ${DEFAULT-VALUE})") Path out;
    @Option(names = "--cache", description = "the demo model's cache directory (as for demo)") Path cache;
    @Option(names = "--epochs", description = "epochs per run (default: the demo's)") Integer epochs;
    @Option(names = "--batch-size", description = "batch per step (default: the demo's)") Integer batch;
    @Option(names = "--lr", description = "adapter learning rate (default: the demo's)") Double lr;
    @Option(names = "--full-lr", defaultValue = "1e-3", description = "full fine-tuning learning rate (default ${DEFAULT-VALUE})") double fullLr;
    @Option(names = "--adapter-len", description = "the reference K (default: the demo's)") Integer adapterLen;
    @Option(names = "--adapter-layers", description = "the reference L (default: the demo's)") Integer adapterLayers;
    @Option(names = "--layers", split = ",", defaultValue = "1,2,3,4", description = "adapter_layers values to sweep (default ${DEFAULT-VALUE})") List<Integer> layers;
    @Option(names = "--lens", split = ",", defaultValue = "1,4,10,20", description = "adapter_len values to sweep (default ${DEFAULT-VALUE})") List<Integer> lens;
    @Option(names = "--random-gate-std", defaultValue = "1.0", description = "std of the random-init gates; 0 = skip that run (default ${DEFAULT-VALUE})") double randomGateStd;
    @Option(names = "--no-full", description = "skip the full fine-tuning run") boolean noFull;
    @Option(names = "--seed", defaultValue = "0", description = "default ${DEFAULT-VALUE}") long seed;
    @Option(names = "--quiet", description = "no progress bars") boolean quiet;

    @Override
    public Integer call() throws Exception {
        if ((model == null) != (data == null)) throw new IllegalArgumentException("--model and --data go together (neither: the demo's setup)");
        new dev.llamaadapter.io.OutputGuard().input("--model", model).input("--data", data).input("--val-data", valData).output("--out", out).check();
        Demo.Options d = Demo.defaults(cache, out);
        var o = new Ablation.Options(model, data, valData, out, cache, epochs != null ? epochs : d.epochs(), batch != null ? batch : d.batch(),
                lr != null ? lr : d.lr(), fullLr, adapterLen != null ? adapterLen : d.adapterLen(),
                adapterLayers != null ? adapterLayers : d.adapterLayers(), layers, lens, randomGateStd, !noFull, seed, d.base());
        var runs = Ablation.run(o, System.err, step -> quiet ? new TrainCommand.Lines() : new TrainCommand.Bar("ablate"));
        System.out.print(Files.readString(out.resolve("ablation.md")));
        System.err.println("wrote " + out.resolve("ablation.md") + ", " + out.resolve("ablation.png") + " and one loss chart per group; " + runs.size() + " rows");
        return 0;
    }
}

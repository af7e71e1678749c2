package dev.llamaadapter.cli;

import dev.llamaadapter.demo.Demo;
import dev.llamaadapter.demo.DemoBase;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** The embedded default: the paper's claim end to end on a model built here, no downloads. */
@Command(name = "demo", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"LLaMA-Adapter end to end, with nothing downloaded: a small LLaMA pretrained here on facts about invented cities",
                "(cached after the first run) cannot answer instructions about them; a zero-init adapter trained on questions about half",
                "the cities answers questions about the other half, which it never saw."})
public final class DemoCommand implements Callable<Integer> {
    @Option(names = "--out", defaultValue = "llama-adapter-demo", description = "where the data, adapter and charts go (default ${DEFAULT-VALUE})") Path out;
    @Option(names = "--cache", description = "cache directory for the base model (default: $XDG_CACHE_HOME/llama-adapter or ~/.cache/llama-adapter)") Path cache;
    @Option(names = "--json", description = "end with one JSON line on stdout: base_accuracy, adapter_accuracy, trainable_params, base_params, adapter_file_bytes, …") boolean json;
    @Option(names = "--quiet", description = "no progress bars") boolean quiet;
    // the recipe, for experiments (the defaults are what the README reports)
    @Option(names = "--adapter-len", defaultValue = "10", description = "prompt length K (default ${DEFAULT-VALUE})") int adapterLen;
    @Option(names = "--adapter-layers", defaultValue = "4", description = "adapted top layers L (default ${DEFAULT-VALUE})") int adapterLayers;
    @Option(names = "--epochs", defaultValue = "30", description = "adapter training epochs (default ${DEFAULT-VALUE})") int epochs;
    @Option(names = "--lr", defaultValue = "2e-2", description = "adapter peak learning rate (default ${DEFAULT-VALUE})") double lr;
    @Option(names = "--seed", defaultValue = "0", description = "adapter seed: city split and prompt initialisation (default ${DEFAULT-VALUE})") long seed;
    @Option(names = "--pretrain-epochs", description = "base model pretraining epochs (changes the cached model's key)") Integer pretrainEpochs;
    @Option(names = "--pretrain-lr", description = "base model pretraining learning rate (changes the cached model's key)") Double pretrainLr;
    @Option(names = "--filler", hidden = true, description = "share of pretraining paragraphs with an everyday-words line") Double filler;
    @Option(names = "--cities", description = "cities in the world (changes the cached model's key)") Integer cities;

    @Override
    public Integer call() throws Exception {
        Demo.Options d = Demo.defaults(cache, out);
        DemoBase.Spec s = d.base();
        s = new DemoBase.Spec(s.seed(), cities != null ? cities : s.cities(), s.countries(), s.rivers(), s.products(), s.dim(), s.layers(),
                s.heads(), s.ffn(), s.paragraphsPerCity(), filler != null ? filler : s.fillerShare(), pretrainEpochs != null ? pretrainEpochs : s.epochs(), s.batch(),
                pretrainLr != null ? pretrainLr : s.lr());
        Demo.Options o = new Demo.Options(s, cache, out, adapterLen, adapterLayers, epochs, d.batch(), lr, d.gate(), seed, false);
        Demo.Result r = Demo.run(o, System.err,
                total -> quiet ? new TrainCommand.Lines() : new TrainCommand.Bar("pretrain"),
                step -> quiet ? new TrainCommand.Lines() : new TrainCommand.Bar("adapter"));
        if (json) System.out.println(Demo.json(r));
        return 0;
    }
}

package dev.llamaadapter.cli;

import dev.llamaadapter.io.OutputGuard;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llamaadapter.adapter.AdapterFormats;
import dev.llamaadapter.eval.Category;
import dev.llamaadapter.eval.Completer;
import dev.llamaadapter.eval.Problem;
import dev.llamaadapter.eval.ScienceQaData;
import dev.llamaadapter.eval.ScienceQaEval;
import dev.llamaadapter.eval.ScienceQaResults;
import dev.llamaadapter.eval.TextCompleter;
import dev.llamaadapter.eval.ImageCompleter;
import dev.llamaadapter.model.AdaptionPrompts;
import dev.llamaadapter.vision.ClipVision;
import dev.llamaadapter.vision.VisualAdapter;
import dev.llamaadapter.vision.VisualPrompts;
import dev.llamaadapter.generate.Generator;
import dev.llamaadapter.model.BaseModel;
import dev.llamaadapter.model.GateActivation;
import dev.llamaadapter.model.PreparedPrompts;
import dev.llamaadapter.model.Transformer;
import dev.llamaadapter.tokenizer.Tokenizer;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/** ScienceQA: greedy answers to a split's problems, the paper's accuracy table and a results file. */
@Command(name = "scienceqa", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Answer ScienceQA problems greedily and print the paper's accuracy table (Average, NAT, SOC, LAN, TXT, IMG, NO, G1-6, G7-12).")
public final class EvalScienceQaCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "base model: a Hugging Face directory, a .gguf file or a llama2.c .bin checkpoint") Path model;
    @Option(names = "--adapter", description = "adapter: native .safetensors, official .pth or a PEFT directory (default: the base model alone)") Path adapter;
    @Option(names = "--gate-activation", converter = TrainCommand.GateConverter.class, description = "tanh | identity: overrides the adapter's") GateActivation gateActivation;
    @Option(names = "--data", required = true, description = "ScienceQA problems.json (pid -> problem)") Path data;
    @Option(names = "--split", defaultValue = "test", description = "the split to answer (default ${DEFAULT-VALUE})") String split;
    @Option(names = "--pid-splits", description = "pid_splits.json (split -> pids); default: each problem's 'split' field") Path pidSplits;
    @Option(names = "--captions", description = "captions.json: image captions added to the text context") Path captions;
    @Option(names = "--image-root", description = "image folder (<root>/<split>/<pid>/image.png); used by multimodal adapters only") Path imageRoot;
    @Option(names = "--vision", description = "the CLIP vision tower of a multimodal adapter: problems are answered with their pictures (needs --image-root)") Path vision;
    @Option(names = "--limit", description = "answer only the first N problems of the split") Integer limit;
    @Option(names = "--out", description = "predictions file to write, in the benchmark's results format") Path out;
    @Option(names = "--max-tokens", defaultValue = "32", description = "tokens generated per answer (default ${DEFAULT-VALUE})") int maxTokens;
    @Option(names = "--batch", defaultValue = "16", description = "problems decoded together (default ${DEFAULT-VALUE})") int batch;
    @Option(names = "--context", description = "positions per problem: prompt plus answer (default: the model's max_position_embeddings, else 2048); longer contexts are shortened") Integer context;
    @Option(names = "--json", description = "print one JSON line with every category instead of the table") boolean json;
    @Option(names = "--quiet", description = "no progress bar") boolean quiet;

    PrintStream stdout = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), true, StandardCharsets.UTF_8);

    @Override
    public Integer call() throws Exception {
        if (maxTokens < 1) throw new IllegalArgumentException("--max-tokens must be at least 1, got " + maxTokens);
        if (batch < 1) throw new IllegalArgumentException("--batch must be at least 1, got " + batch);
        if (limit != null && limit < 1) throw new IllegalArgumentException("--limit must be at least 1, got " + limit);
        ScienceQaData sqa = ScienceQaData.read(data, pidSplits, captions, imageRoot);
        List<Problem> problems = sqa.split(split);
        if (limit != null && limit < problems.size()) problems = problems.subList(0, limit);
        if (problems.isEmpty()) throw new IllegalArgumentException(data + ": split '" + split + "' has no problems");
        new OutputGuard().input("--model", model).input("--adapter", adapter).input("--data", data).input("--pid-splits", pidSplits)
                .input("--captions", captions).input("--image-root", imageRoot).input("--vision", vision).output("--out", out).check();
        if (out != null) checkWritable(out);

        try (BaseModel base = BaseModel.open(model); ClipVision tower = vision == null ? null : ClipVision.open(vision)) {
            Tokenizer tok = base.tokenizer();
            Transformer t = base.transformer();
            AdaptionPrompts ap = adapter == null ? null : AdapterFormats.read(adapter, base, gateActivation).prompts();
            if (tower != null && ap == null) throw new IllegalArgumentException("--vision needs a multimodal --adapter");
            if (ap != null) VisualAdapter.check(ap, adapter, tower);
            PreparedPrompts pp = ap == null ? null : t.prepare(ap);
            int ctx = dev.llamaadapter.generate.ContextLength.resolve(context, "--context", base.config(), System.err::println);
            List<ScienceQaEval.Prompted> prompts = ScienceQaEval.prompts(sqa, problems, tok, ctx, maxTokens, tower != null);
            int longest = prompts.stream().mapToInt(p -> p.ids().length).max().orElse(1);
            // the cache holds only what the longest prompt and its answer need, not the whole window
            Generator g = new Generator(t, tok, Math.min(batch, prompts.size()), Math.min(ctx, longest + maxTokens));
            Completer completer = tower != null ? new ImageCompleter(g, new VisualPrompts(t, ap, tower, adapter), maxTokens)
                    : new TextCompleter(g, pp, maxTokens);

            ProgressBar bar = quiet ? null : new ProgressBarBuilder().setTaskName("scienceqa " + split).setInitialMax(prompts.size())
                    .setStyle(ProgressBarStyle.ASCII).setMaxRenderedLength(100).setConsumer(new ConsoleProgressBarConsumer(System.err))
                    .setUpdateIntervalMillis(500).continuousUpdate().build();
            ScienceQaEval.Report r;
            try {
                r = ScienceQaEval.run(prompts, completer, 2 * batch, n -> {
                    if (bar != null) bar.stepTo(n);
                });
            } finally {
                if (bar != null) bar.close();
            }
            if (out != null) ScienceQaResults.write(out, r, args(ctx));
            print(r, ctx);
            return 0;
        }
    }

    private Map<String, String> args(int ctx) {
        Map<String, String> a = new LinkedHashMap<>();
        a.put("model", model.toString());
        a.put("adapter", adapter == null ? "" : adapter.toString());
        a.put("data", data.toString());
        a.put("split", split);
        a.put("pid_splits", pidSplits == null ? "" : pidSplits.toString());
        a.put("captions", captions == null ? "" : captions.toString());
        a.put("images", Boolean.toString(vision != null));
        a.put("prompt_format", "QCM-A in the Alpaca template: question; Context, Options; 'The answer is (X).'");
        a.put("decoding", "greedy");
        a.put("max_tokens", Integer.toString(maxTokens));
        a.put("context", Integer.toString(ctx));
        return a;
    }

    private void print(ScienceQaEval.Report r, int ctx) throws Exception {
        var s = r.scores();
        List<String> unparsed = r.unparsed();
        if (json) {
            ObjectMapper m = new ObjectMapper();
            ObjectNode n = m.createObjectNode().put("split", split).put("count", s.count(Category.AVG)).put("correct", s.correct(Category.AVG));
            ObjectNode acc = n.putObject("accuracy"), counts = n.putObject("counts");
            s.byTitle().forEach(acc::put);
            for (Category c : Category.values()) counts.putArray(c.title).add(s.correct(c)).add(s.count(c));
            n.put("unparsed", unparsed.size()).put("context_cut", r.contextCut()).put("seconds", r.seconds()).put("problems_per_s", r.problemsPerSecond());
            if (out != null) n.put("predictions", out.toString());
            stdout.println(m.writeValueAsString(n));
            return;
        }
        stdout.printf(Locale.ROOT, "ScienceQA %s: %d problems, %s%s%n%n", split, s.count(Category.AVG), model, adapter == null ? " (no adapter)" : " + " + adapter);
        stdout.print(s.markdown());
        stdout.println();
        stdout.printf(Locale.ROOT, "%d problems in %.1f s (%.2f problems/s)%n", s.count(Category.AVG), r.seconds(), r.problemsPerSecond());
        if (!unparsed.isEmpty())
            stdout.printf("%d answers unparseable, scored wrong (pids %s%s)%n", unparsed.size(), String.join(", ", unparsed.subList(0, Math.min(10, unparsed.size()))),
                    unparsed.size() > 10 ? ", ..." : "");
        if (r.contextCut() > 0) stdout.printf("%d prompts had their context shortened to fit %d positions%n", r.contextCut(), ctx);
        if (out != null) stdout.println("predictions: " + out);
    }

    static void checkWritable(Path file) throws java.io.IOException {
        Path dir = file.toAbsolutePath().getParent();
        if (dir == null || !java.nio.file.Files.isDirectory(dir)) throw new java.io.IOException(file + ": the directory " + dir + " does not exist");
        if (java.nio.file.Files.isDirectory(file)) throw new java.io.IOException(file + ": is a directory");
    }
}

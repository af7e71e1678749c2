package dev.llamaadapter.demo;

import dev.llamaadapter.adapter.AdapterFile;
import dev.llamaadapter.data.InstructionFile;
import dev.llamaadapter.io.AtomicFile;
import dev.llamaadapter.model.BaseModel;
import dev.llamaadapter.model.GateActivation;
import dev.llamaadapter.model.GateSharing;
import dev.llamaadapter.model.Transformer;
import dev.llamaadapter.train.Trainer;
import dev.llamaadapter.train.TrainingJob;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.data.category.DefaultCategoryDataset;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;

/**
 * The paper's ablations, repeated on the demo's setup (or on any model and data): zero-init against
 * random-init gating, per-head against per-layer gates (PEFT's shape; then also identity, the recipe of
 * train --peft), a sweep of adapted layers and of prompt length, and the adapter against full
 * fine-tuning. Every run is the ordinary training job with one setting changed, seeded, so a run can be
 * repeated; results go to a Markdown table and PNG charts.
 */
public final class Ablation {

    /** One training run and what it measured. accuracy is NaN outside the demo (no questions to ask). */
    public record Run(String group, String setting, long trainableParams, double msPerStep, long memoryBytes,
                      double baseValLoss, double valLoss, double heldOutAccuracy, double seenAccuracy, List<Trainer.StepRow> steps) {}

    /**
     * model/data null: the demo's cached base and its fact questions. Otherwise any base model and
     * Alpaca data (validation on valData, or a split of data). layers, lens: the values swept.
     */
    public record Options(Path model, Path data, Path valData, Path out, Path cache, int epochs, int batch, double lr, double fullLr,
                          int adapterLen, int adapterLayers, List<Integer> layers, List<Integer> lens, double randomGateStd,
                          boolean full, long seed, DemoBase.Spec demoBase) {}

    public static List<Run> run(Options o, PrintStream log, Function<Long, Trainer.Listener> progress) throws IOException {
        Files.createDirectories(o.out());
        Path model = o.model(), data = o.data(), valData = o.valData();
        FactWorld world = null;
        List<FactWorld.City> seen = null, heldOut = null;
        if (model == null) {
            DemoBase.Spec spec = o.demoBase() != null ? o.demoBase() : DemoBase.DEFAULT;
            log.println("ablation on the demo's setup: the cached base model and its fact questions (held-out cities never trained on)");
            DemoBase.Built built = DemoBase.ensure(spec, DemoBase.cacheRoot(o.cache(), log), log, total -> progress.apply(0L));
            model = built.dir();
            world = spec.world();
            List<FactWorld.City> cities = new ArrayList<>(world.cities);
            Collections.shuffle(cities, new Random(o.seed() + 99));
            seen = cities.subList(0, cities.size() / 2);
            heldOut = cities.subList(cities.size() / 2, cities.size());
            data = o.out().resolve("train.jsonl");
            valData = o.out().resolve("heldout.jsonl");
            InstructionFile.writeJsonl(data, world.questions(seen));
            InstructionFile.writeJsonl(valData, world.questions(heldOut));
        }
        int N;
        try (BaseModel b = BaseModel.open(model)) {
            N = b.config().numHiddenLayers();
        }

        // what to run: the reference setting once, then one change at a time
        Map<String, Setting> plan = new LinkedHashMap<>();
        Setting ref = new Setting("reference", "K " + o.adapterLen() + ", L " + o.adapterLayers() + ", zero-init gates",
                o.adapterLen(), Math.min(o.adapterLayers(), N), 0, false, GateSharing.PER_HEAD, GateActivation.TANH);
        plan.put("gating/zero-init", ref.as("gating", "zero-init gates"));
        if (o.randomGateStd() > 0)
            plan.put("gating/random", ref.as("gating", "random-init gates (std " + o.randomGateStd() + ")").withGateStd(o.randomGateStd()));
        // one gate per layer instead of per head (PEFT's shape), then also identity: the recipe train --peft uses
        plan.put("gating/per-layer", ref.as("gating", "per-layer gates").withGates(GateSharing.PER_LAYER, GateActivation.TANH));
        plan.put("gating/peft", ref.as("gating", "per-layer identity gates (train --peft)").withGates(GateSharing.PER_LAYER, GateActivation.IDENTITY));
        for (int L : o.layers())
            if (L <= N) plan.put("layers/" + L, ref.as("adapter_layers", "L = " + L).withLayers(L));
        for (int K : o.lens()) plan.put("len/" + K, ref.as("adapter_len", "K = " + K).withLen(K));
        if (o.full()) plan.put("full", ref.as("adapter vs full", "full fine-tuning").withFull());

        List<Run> runs = new ArrayList<>();
        Map<String, Run> done = new LinkedHashMap<>(); // identical settings train once
        int i = 0;
        for (Map.Entry<String, Setting> e : plan.entrySet()) {
            Setting s = e.getValue();
            i++;
            String id = s.K + "-" + s.L + "-" + s.gateStd + "-" + s.full + "-" + s.gates + "-" + s.act;
            Run prior = done.get(id);
            if (prior != null) {
                runs.add(new Run(s.group, s.label, prior.trainableParams(), prior.msPerStep(), prior.memoryBytes(), prior.baseValLoss(),
                        prior.valLoss(), prior.heldOutAccuracy(), prior.seenAccuracy(), prior.steps()));
                continue;
            }
            log.printf(Locale.ROOT, "%n== ablation run %d/%d: %s: %s%n", i, plan.size(), s.group, s.label);
            Path out = o.out().resolve("run-" + e.getKey().replace('/', '-') + (s.full ? "" : ".safetensors"));
            TrainingJob.Options t = new TrainingJob.Options(model, data, out, null, valData, null, o.epochs(), 1, o.batch(), o.batch(),
                    s.full ? o.fullLr() : o.lr(), 9e-3, 0, 0.02, 0, s.K, s.L, s.act, 512, o.seed(), false, true,
                    Integer.MAX_VALUE, null, null, null, null, false, s.gateStd, s.full, null, null).withGates(s.gates);
            TrainingJob.Result r = TrainingJob.run(t, log, progress);
            double heldAcc = Double.NaN, seenAcc = Double.NaN;
            long trainable;
            try (BaseModel base = BaseModel.open(s.full ? out : model)) {
                Transformer m = base.transformer();
                var prompts = s.full ? null : AdapterFile.read(out, base).prompts();
                trainable = s.full ? base.parameterCount() : prompts.parameterCount();
                if (world != null) {
                    var pp = prompts == null ? null : m.prepare(prompts);
                    var tok = base.tokenizer();
                    heldAcc = DemoEval.accuracy(DemoEval.ask(world, heldOut, m, tok, pp, 16));
                    seenAcc = DemoEval.accuracy(DemoEval.ask(world, seen, m, tok, pp, 16));
                }
            }
            Run run = new Run(s.group, s.label, trainable, r.msPerStep(), r.memoryBytes(), r.baseValidation() == null ? Double.NaN : r.baseValidation().loss(),
                    r.lastValidation() == null ? Double.NaN : r.lastValidation().loss(), heldAcc, seenAcc, r.stepRows());
            log.printf(Locale.ROOT, "   -> validation loss %.4f, held-out accuracy %s, %.1f ms/step%n", run.valLoss(), pct(heldAcc), run.msPerStep());
            done.put(id, run);
            runs.add(run);
        }
        writeMarkdown(o.out().resolve("ablation.md"), runs, o, model, world != null);
        writeCharts(o.out(), runs, world != null);
        return runs;
    }

    /** One run's settings: the reference with one thing changed (the with* methods change that thing). */
    private record Setting(String group, String label, int K, int L, double gateStd, boolean full, GateSharing gates, GateActivation act) {
        Setting as(String g, String l) {
            return new Setting(g, l, K, L, gateStd, full, gates, act);
        }

        Setting withGateStd(double std) {
            return new Setting(group, label, K, L, std, full, gates, act);
        }

        Setting withGates(GateSharing g, GateActivation a) {
            return new Setting(group, label, K, L, gateStd, full, g, a);
        }

        Setting withLayers(int l) {
            return new Setting(group, label, K, l, gateStd, full, gates, act);
        }

        Setting withLen(int k) {
            return new Setting(group, label, k, L, gateStd, full, gates, act);
        }

        Setting withFull() {
            return new Setting(group, label, K, L, gateStd, true, gates, act);
        }
    }

    static String pct(double v) {
        return Double.isNaN(v) ? "n/a" : String.format(Locale.ROOT, "%.1f%%", 100 * v);
    }

    static void writeMarkdown(Path file, List<Run> runs, Options o, Path model, boolean demo) throws IOException {
        StringBuilder sb = new StringBuilder();
        sb.append("# LLaMA-Adapter ablations\n\n");
        String accuracy = demo
                ? " Accuracy: greedy answers to questions about cities the training never showed (held-out), and about the trained cities (seen)."
                : "";
        sb.append(String.format(Locale.ROOT, "Base model: `%s`. Each row is one seeded training run (seed %d, %d epochs, batch %d, lr %s; full fine-tuning lr %s) "
                + "with one setting changed from the reference (K %d, L %d, zero-init per-head tanh gates).%s Training memory: every trained value with its gradient "
                + "and two AdamW moments (16 bytes each) plus the activation buffers kept for the backward; the frozen base is memory-mapped and shared, "
                + "so it is not counted.%n%n", model, o.seed(), o.epochs(), o.batch(), o.lr(), o.fullLr(), o.adapterLen(), o.adapterLayers(), accuracy));
        sb.append("| group | setting | trainable params | ms/step | training memory MB | val loss (before → after) | held-out acc | seen acc |\n");
        sb.append("|---|---|---:|---:|---:|---|---:|---:|\n");
        for (Run r : runs)
            sb.append(String.format(Locale.ROOT, "| %s | %s | %,d | %.1f | %.0f | %.3f → %.3f | %s | %s |%n", r.group(), r.setting(), r.trainableParams(),
                    r.msPerStep(), r.memoryBytes() / 1e6, r.baseValLoss(), r.valLoss(), pct(r.heldOutAccuracy()), pct(r.seenAccuracy())));
        AtomicFile.write(file, sb.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    static void writeCharts(Path dir, List<Run> runs, boolean demo) throws IOException {
        System.setProperty("java.awt.headless", "true");
        DefaultCategoryDataset bars = new DefaultCategoryDataset();
        Map<String, XYSeriesCollection> curves = new LinkedHashMap<>();
        for (Run r : runs) {
            bars.addValue(demo ? 100 * r.heldOutAccuracy() : r.valLoss(), r.group(), r.setting());
            XYSeries s = new XYSeries(r.setting());
            for (Trainer.StepRow row : r.steps()) s.add(row.step(), row.loss());
            curves.computeIfAbsent(r.group(), g -> new XYSeriesCollection()).addSeries(s);
        }
        JFreeChart bar = ChartFactory.createBarChart("LLaMA-Adapter ablations", "setting",
                demo ? "held-out accuracy (%)" : "validation loss", bars, PlotOrientation.VERTICAL, true, false, false);
        png(dir.resolve("ablation.png"), bar, 1100, 550);
        for (Map.Entry<String, XYSeriesCollection> e : curves.entrySet()) {
            JFreeChart c = ChartFactory.createXYLineChart("Training loss: " + e.getKey(), "optimizer step", "cross-entropy loss", e.getValue(),
                    PlotOrientation.VERTICAL, true, false, false);
            png(dir.resolve("ablation-" + e.getKey().replaceAll("[^A-Za-z0-9]+", "-") + ".png"), c, 900, 500);
        }
    }

    private static void png(Path file, JFreeChart chart, int w, int h) throws IOException {
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        ChartUtils.writeChartAsPNG(bytes, chart, w, h);
        AtomicFile.write(file, bytes.toByteArray());
    }
}

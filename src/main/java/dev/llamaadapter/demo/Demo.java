package dev.llamaadapter.demo;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llamaadapter.adapter.AdapterFile;
import dev.llamaadapter.data.Instruction;
import dev.llamaadapter.data.InstructionFile;
import dev.llamaadapter.model.BaseModel;
import dev.llamaadapter.model.GateActivation;
import dev.llamaadapter.model.PreparedPrompts;
import dev.llamaadapter.model.Transformer;
import dev.llamaadapter.tokenizer.Tokenizer;
import dev.llamaadapter.train.LossChart;
import dev.llamaadapter.train.Trainer;
import dev.llamaadapter.train.TrainingJob;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.function.LongFunction;

/**
 * The paper's claim, end to end, on nothing but this project: a small LLaMA pretrained here on facts
 * about invented cities (cached after the first run) cannot answer instructions about them; a zero-init
 * adapter trained on questions about half the cities, over the frozen base, answers questions about the
 * other half, which it never saw: it unlocks knowledge held in the frozen weights rather than memorising.
 */
public final class Demo {

    /** How the demo runs: the base model's spec and the adapter's recipe. */
    public record Options(DemoBase.Spec base, Path cache, Path out, int adapterLen, int adapterLayers, int epochs, int batch,
                          double lr, GateActivation gate, long seed, boolean randomGateInit) {}

    public static Options defaults(Path cache, Path out) {
        return new Options(DemoBase.DEFAULT, cache, out, 10, 4, 30, 16, 2e-2, GateActivation.TANH, 0, false);
    }

    /** What a run measured (the JSON line and the ablation's rows). */
    public record Result(double baseAccuracy, double adapterAccuracy, double baseRecall, long trainableParams, long baseParams,
                         long adapterFileBytes, double trainSeconds, double msPerStep, double pretrainSeconds, boolean cachedBase,
                         boolean reloadSame, Path adapter, Path baseDir) {}

    /** Everything a run produces; listeners make the progress bars. */
    public static Result run(Options o, PrintStream log, LongFunction<Trainer.Listener> pretrainProgress,
                             java.util.function.Function<Long, Trainer.Listener> trainProgress) throws IOException {
        long t0 = System.nanoTime();
        Files.createDirectories(o.out());
        Path cache = DemoBase.cacheRoot(o.cache(), log);
        DemoBase.Spec spec = o.base();
        FactWorld world = spec.world();
        log.printf(Locale.ROOT, "LLaMA-Adapter demo: a frozen model that knows facts learns to follow instructions from a tiny adapter.%n%n");
        log.printf(Locale.ROOT, "[1/4] The base model: a %d-layer LLaMA (hidden %d, %d heads) that has read %d paragraphs about %d invented cities%n",
                spec.layers(), spec.dim(), spec.heads(), spec.cities() * spec.paragraphsPerCity(), spec.cities());
        FactWorld.City ex = world.cities.getFirst();
        log.printf(Locale.ROOT, "      e.g. \"%s\"%n", world.paragraph(ex, new Random(1)));
        DemoBase.Built built = DemoBase.ensure(spec, cache, log, pretrainProgress);
        if (built.cached()) log.printf("      cached at %s (pretrained on an earlier run)%n", built.dir());
        else {
            log.printf(Locale.ROOT, "      pretrained from random weights in %.1f s (final loss %.3f), cached at %s%n", built.seconds(),
                    built.steps().getLast().loss(), built.dir());
            LossChart.write(o.out().resolve("pretrain-loss.png"), "Demo base model: pretraining", built.steps(), List.of());
        }

        try (BaseModel base = BaseModel.open(built.dir())) {
            Tokenizer tok = base.tokenizer();
            Transformer model = base.transformer();
            double recall = DemoEval.recall(world, model, tok);
            log.printf(Locale.ROOT, "      it knows its facts: \"The river of %s is the\" -> \"%s\"; such completions are right for %.0f%% of all facts%n",
                    ex.name(), DemoEval.complete(List.of("The river of " + ex.name() + " is the"), model, tok, null, 2).getFirst().strip(), 100 * recall);

            // cities split: questions about `seen` train the adapter; `heldOut` cities are never shown to it
            List<FactWorld.City> cities = new ArrayList<>(world.cities);
            Collections.shuffle(cities, new Random(o.seed() + 99));
            List<FactWorld.City> seen = cities.subList(0, cities.size() / 2), heldOut = cities.subList(cities.size() / 2, cities.size());
            Path trainFile = o.out().resolve("train.jsonl"), valFile = o.out().resolve("heldout.jsonl");
            InstructionFile.writeJsonl(trainFile, world.questions(seen));
            InstructionFile.writeJsonl(valFile, world.questions(heldOut));

            List<DemoEval.Answer> before = DemoEval.ask(world, heldOut, model, tok, null, 16);
            double baseAcc = DemoEval.accuracy(before);
            log.printf(Locale.ROOT, "%n[2/4] Before: the frozen base answers %.0f%% of %d questions about %d held-out cities%n", 100 * baseAcc,
                    before.size(), heldOut.size());
            Instruction q0 = world.question(heldOut.getFirst(), FactWorld.Attribute.RIVER);
            log.printf("      \"%s\" -> \"%s\"%n", q0.instruction(), answerTo(before, q0.instruction()));

            log.printf(Locale.ROOT, "%n[3/4] Training a zero-init adapter on %d questions about the other %d cities (%s)%n",
                    seen.size() * FactWorld.Attribute.values().length, seen.size(), trainFile);
            Path adapterFile = o.out().resolve("adapter.safetensors");
            TrainingJob.Options t = new TrainingJob.Options(built.dir(), trainFile, adapterFile, null, valFile, null, o.epochs(), 1,
                    o.batch(), o.batch(), o.lr(), 9e-3, 0, 0.02, 0, o.adapterLen(), o.adapterLayers(), o.gate(), 512, o.seed(), false, true,
                    null, null, null, null, o.out().resolve("adapter-loss.png"), false, o.randomGateInit() ? 0.1 : 0, false, null, null);
            TrainingJob.Result tr = TrainingJob.run(t, log, trainProgress);

            AdapterFile.Adapter a = AdapterFile.read(adapterFile, base);
            PreparedPrompts pp = model.prepare(a.prompts());
            List<DemoEval.Answer> after = DemoEval.ask(world, heldOut, model, tok, pp, 16);
            double adapterAcc = DemoEval.accuracy(after);
            List<DemoEval.Answer> seenAfter = DemoEval.ask(world, seen, model, tok, pp, 16);
            log.printf(Locale.ROOT, "%n[4/4] After: the adapter answers %.0f%% of the held-out questions (%.0f%% before); %.0f%% on the cities it trained on%n",
                    100 * adapterAcc, 100 * baseAcc, 100 * DemoEval.accuracy(seenAfter));
            printSideBySide(log, before, after, 6);
            writeAnswers(o.out().resolve("answers.jsonl"), before, after);

            // plug-and-play: the file alone, in a fresh model and generator, gives the same answers
            boolean same;
            try (BaseModel fresh = BaseModel.open(built.dir())) {
                Transformer m2 = fresh.transformer();
                PreparedPrompts p2 = m2.prepare(AdapterFile.read(adapterFile, fresh).prompts());
                List<FactWorld.City> sample = heldOut.subList(0, Math.min(8, heldOut.size()));
                List<DemoEval.Answer> again = DemoEval.ask(world, sample, m2, fresh.tokenizer(), p2, 16);
                same = true;
                for (int i = 0; i < again.size(); i++) same &= again.get(i).response().equals(after.get(i).response());
                log.printf("      plug-and-play: %s, loaded into a fresh model and generator, gives %s answers to %d questions%n",
                        adapterFile.getFileName(), same ? "the same" : "DIFFERENT", again.size());
            }
            long trainable = a.prompts().parameterCount(), baseParams = base.parameterCount();
            log.printf(Locale.ROOT, "      trainable %,d parameters = %.2f%% of the base's %,d; adapter file %,d bytes; %d steps in %.1f s%n",
                    trainable, 100.0 * trainable / baseParams, baseParams, tr.adapterBytes(), tr.steps(), tr.trainSeconds());
            log.printf("      charts: %s%s%n", o.out().resolve("adapter-loss.png"), built.cached() ? "" : ", " + o.out().resolve("pretrain-loss.png"));
            log.printf(Locale.ROOT, "      total %.1f s%n", (System.nanoTime() - t0) / 1e9);
            return new Result(baseAcc, adapterAcc, recall, trainable, baseParams, tr.adapterBytes(), tr.trainSeconds(),
                    1000 * tr.trainSeconds() / Math.max(1, tr.steps()), built.seconds(), built.cached(), same, adapterFile, built.dir());
        }
    }

    /** Every held-out question with the truth and both answers, for a closer look. */
    private static void writeAnswers(Path file, List<DemoEval.Answer> before, List<DemoEval.Answer> after) throws IOException {
        ObjectMapper json = new ObjectMapper();
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < before.size(); i++) {
            DemoEval.Answer b = before.get(i), a = after.get(i);
            ObjectNode n = json.createObjectNode();
            n.put("question", b.question());
            n.put("truth", b.city().value(b.attribute()));
            n.put("base", b.response());
            n.put("base_correct", b.correct());
            n.put("adapter", a.response());
            n.put("adapter_correct", a.correct());
            sb.append(json.writeValueAsString(n)).append('\n');
        }
        dev.llamaadapter.io.AtomicFile.write(file, sb.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    private static String answerTo(List<DemoEval.Answer> answers, String question) {
        for (DemoEval.Answer a : answers) if (a.question().equals(question)) return a.response();
        return "";
    }

    private static void printSideBySide(PrintStream log, List<DemoEval.Answer> before, List<DemoEval.Answer> after, int n) {
        log.printf("%n      %-36s | %-34s | %s%n", "held-out question", "frozen base", "with the adapter");
        log.printf("      %s-+-%s-+-%s%n", "-".repeat(36), "-".repeat(34), "-".repeat(34));
        for (int i = 0; i < Math.min(n, before.size()); i++) {
            int k = (i * 7) % before.size(); // a spread of cities and questions
            DemoEval.Answer b = before.get(k), a = after.get(k);
            log.printf("      %-36s | %-34s | %s %s%n", cut(b.question(), 36), cut(b.response(), 32) + (b.correct() ? " ✓" : " ✗"),
                    cut(a.response(), 32), a.correct() ? "✓" : "✗");
        }
        log.println();
    }

    private static String cut(String s, int n) {
        s = s.replace('\n', ' ');
        return s.length() <= n ? s : s.substring(0, n - 1) + "…";
    }

    /** The JSON line `demo --json` ends with. */
    public static String json(Result r) {
        ObjectNode o = new ObjectMapper().createObjectNode();
        o.put("base_accuracy", r.baseAccuracy());
        o.put("adapter_accuracy", r.adapterAccuracy());
        o.put("base_fact_recall", r.baseRecall());
        o.put("trainable_params", r.trainableParams());
        o.put("base_params", r.baseParams());
        o.put("adapter_file_bytes", r.adapterFileBytes());
        o.put("adapter_train_seconds", r.trainSeconds());
        o.put("ms_per_step", r.msPerStep());
        o.put("base_cached", r.cachedBase());
        o.put("base_pretrain_seconds", r.pretrainSeconds());
        o.put("reload_same_answers", r.reloadSame());
        o.put("adapter", r.adapter().toString());
        o.put("base_model", r.baseDir().toString());
        return o.toString();
    }
}

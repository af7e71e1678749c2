package dev.llamaadapter.spark;

import dev.llamaadapter.data.Example;
import dev.llamaadapter.model.AdaptionPrompts;
import dev.llamaadapter.model.BaseModel;
import dev.llamaadapter.model.LlamaConfig;
import dev.llamaadapter.train.TrainConfig;
import dev.llamaadapter.train.Trainer;
import org.apache.spark.api.java.JavaSparkContext;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Time per optimizer step of the single-process trainer and of the Spark trainer on local[N], on the
 * bench `small` shape (D 512, F 1408, 8 layers, 8 heads, vocab 4096; micro-batches of 4 × 128 tokens,
 * adapter K 10 × L 6). Not a test: run by hand (README, "Training on Apache Spark").
 * Arguments: [micro-batches per step (default 2)] [timed steps (default 8)] [Spark threads (default 2)]
 * [shape: small (default), or tiny (D 64, 4 layers, vocab 256, [4, 32] micro-batches) where the step's
 * compute is negligible and the difference is Spark's fixed cost per step] [rounds (default 3)].
 */
public final class SparkStepBench {
    public static void main(String[] args) throws Exception {
        int accum = args.length > 0 ? Integer.parseInt(args[0]) : 2, steps = args.length > 1 ? Integer.parseInt(args[1]) : 8;
        int threads = args.length > 2 ? Integer.parseInt(args[2]) : 2, B = 4;
        boolean tiny = args.length > 3 && args[3].equals("tiny");
        int T = tiny ? 32 : 128, warm = tiny ? 30 : 2; // tiny steps need many to get past JIT warm-up
        LlamaConfig c = tiny ? LlamaConfig.of(64, 172, 4, 4, 4, 256, false) : LlamaConfig.of(512, 1408, 8, 8, 8, 4096, false);
        Path dir = Files.createTempDirectory("spark-bench");
        Fixtures.model(dir.resolve("model"), c, 42);
        int perEpoch = warm + steps;
        List<Example> train = Fixtures.examples(perEpoch * accum * B, c.vocabSize(), T, T, 1); // every example T tokens: [B, T] batches
        TrainConfig cfg = Fixtures.config(1, B * accum, B, 10, tiny ? 3 : 6, 7);
        int rounds = args.length > 4 ? Integer.parseInt(args[4]) : 3;
        try (BaseModel base = BaseModel.open(dir.resolve("model"))) {
            // the two trainers alternate, round after round, so that load from other processes hits both alike
            List<Double> local = new ArrayList<>(), spark = new ArrayList<>();
            JavaSparkContext sc = Fixtures.spark(threads, 1);
            try (SparkStepGradient g = new SparkStepGradient(sc, dir.resolve("model"), base.fingerprint(), cfg, train, T, TaskHook.NONE)) {
                for (int r = 0; r < rounds; r++) {
                    double[] a = time(base, cfg, train, null), b = time(base, cfg, train, g);
                    for (int i = warm; i < a.length; i++) local.add(a[i]);
                    for (int i = warm; i < b.length; i++) spark.add(b[i]);
                    System.out.printf(Locale.ROOT, "round %d: single process %s, spark %s%n", r + 1, Arrays.toString(round(a)), Arrays.toString(round(b)));
                }
            } finally {
                sc.stop();
            }
            double l = median(local), s = median(spark);
            System.out.printf(Locale.ROOT, "bench %s, step = %d micro-batches of [%d, %d], %d rounds of %d timed steps after %d warm-up, %d kernel threads%n",
                    tiny ? "tiny" : "small", accum, B, T, rounds, steps, warm, dev.llamaadapter.tensor.Parallel.THREADS);
            System.out.printf(Locale.ROOT, "single process: %.1f ms/step (median of %d)%n", l, local.size());
            System.out.printf(Locale.ROOT, "spark local[%d]: %.1f ms/step (median of %d)%n", threads, s, spark.size());
            System.out.printf(Locale.ROOT, "overhead: %+.1f ms/step (%+.1f%%)%n", s - l, 100 * (s - l) / l);
        }
    }

    /** Milliseconds of each step, from the trainer's own elapsed times. */
    static double[] time(BaseModel base, TrainConfig cfg, List<Example> train, SparkStepGradient g) throws Exception {
        List<Double> at = new ArrayList<>();
        Trainer t = new Trainer(base.transformer(), cfg, train, List.of(), null, base.fingerprint(), r -> at.add(r.elapsedS()));
        if (g != null) t.withStepGradient(g);
        LlamaConfig c = base.config();
        t.run(AdaptionPrompts.init(cfg.adapterLen(), cfg.adapterLayers(), c.hiddenSize(), c.numAttentionHeads(), cfg.gateActivation(), 3), false);
        double[] ms = new double[at.size()];
        for (int i = 0; i < ms.length; i++) ms[i] = 1000 * (at.get(i) - (i == 0 ? 0 : at.get(i - 1)));
        return ms;
    }

    static double median(List<Double> a) {
        double[] s = new double[a.size()];
        for (int i = 0; i < s.length; i++) s[i] = a.get(i);
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    static double[] round(double[] a) {
        double[] r = new double[a.length];
        for (int i = 0; i < a.length; i++) r[i] = Math.round(a[i] * 10) / 10.0;
        return r;
    }
}

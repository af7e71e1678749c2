package dev.llamaadapter.spark;

import dev.llamaadapter.data.Example;
import dev.llamaadapter.io.SafeTensorsWriter;
import dev.llamaadapter.model.GateActivation;
import dev.llamaadapter.model.LlamaConfig;
import dev.llamaadapter.model.LlamaWeights;
import dev.llamaadapter.tensor.DType;
import dev.llamaadapter.train.TrainConfig;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Random models on disk, random instruction-shaped examples and a loopback-only Spark context, for the Spark tests. */
final class Fixtures {
    private Fixtures() {}

    /** A Hugging Face style directory of random weights (what every executor maps by path). */
    static Path model(Path dir, LlamaConfig c, long seed) throws IOException {
        Files.createDirectories(dir);
        c.write(dir.resolve("config.json"));
        LlamaWeights w = LlamaWeights.random(c, DType.F32, seed, Arena.ofAuto());
        SafeTensorsWriter st = new SafeTensorsWriter().put(w.embed());
        int D = c.hiddenSize();
        for (int i = 0; i < w.layers().length; i++) {
            LlamaWeights.Layer l = w.layers()[i];
            String p = "model.layers." + i + ".";
            st.put(p + "input_layernorm.weight", DType.F32, l.attnNorm(), D).put(p + "post_attention_layernorm.weight", DType.F32, l.mlpNorm(), D);
            st.put(l.wq()).put(l.wk()).put(l.wv()).put(l.wo()).put(l.wGate()).put(l.wUp()).put(l.wDown());
        }
        st.put("model.norm.weight", DType.F32, w.finalNorm(), D);
        if (!c.tieWordEmbeddings()) st.put(w.head());
        st.write(dir.resolve("model.safetensors"));
        return dir;
    }

    /** n examples of length minLen..maxLen: a prompt (unscored) then a response whose next tokens are the labels. */
    static List<Example> examples(int n, int vocab, int minLen, int maxLen, long seed) {
        Random r = new Random(seed);
        List<Example> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int len = minLen + r.nextInt(maxLen - minLen + 1), prompt = 1 + r.nextInt(len / 2);
            int[] ids = new int[len], labels = new int[len];
            ids[0] = 1;
            for (int t = 1; t < len; t++) ids[t] = 3 + r.nextInt(vocab - 3);
            for (int t = 0; t < len; t++) labels[t] = t + 1 >= prompt && t + 1 < len ? ids[t + 1] : -100;
            labels[len - 1] = 2; // EOS after the response
            out.add(new Example(ids, labels, false, "example " + i));
        }
        return out;
    }

    static TrainConfig config(int epochs, int batch, int micro, int K, int L, long seed) {
        return new TrainConfig(epochs, 1, batch, micro, 2e-2, 0, 0.02, 0.9, 0.95, 1e-8, 0, K, L, GateActivation.TANH, 512, seed,
                false, true, 0, 0);
    }

    /** local[threads, maxFailures]: maxFailures > 1 lets Spark retry a failed task, as a cluster does. */
    static JavaSparkContext spark(int threads, int maxFailures) {
        return spark(threads, maxFailures, threads);
    }

    /** slots: the default parallelism, i.e. the partitions a step is split into at most (Spark's default: the threads). */
    static JavaSparkContext spark(int threads, int maxFailures, int slots) {
        SparkConf conf = new SparkConf().setAppName("llama-adapter-test").setMaster("local[" + threads + "," + maxFailures + "]")
                .set("spark.default.parallelism", Integer.toString(slots))
                .set("spark.driver.bindAddress", "127.0.0.1").set("spark.driver.host", "127.0.0.1").set("spark.ui.enabled", "false");
        return new JavaSparkContext(conf);
    }
}

package dev.llamaadapter.train;

import dev.llamaadapter.data.Example;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import java.util.ServiceLoader;

/**
 * A cluster engine that computes each optimizer step's gradient over many machines (data parallelism:
 * every worker holds the frozen base and takes a share of the step's micro-batches). Found with
 * {@link ServiceLoader} so the core jar never needs the engine on its classpath: the Spark module
 * ({@code spark/}, llama-adapter-spark.jar) provides the one named "spark". The training loop stays the
 * single-machine one; a session only replaces its {@link StepGradient}.
 */
public interface ClusterTrainer {

    /** What the engine is called on the command line ("spark"). */
    String name();

    /** Connects to master and prepares the workers for this run; the session is closed when training ends. */
    Session start(String master, Run run) throws IOException;

    /**
     * What the workers need. model must be a path every worker can read (the same file or directory on
     * each node); baseFingerprint lets a worker refuse a different model at that path.
     */
    record Run(Path model, String baseFingerprint, TrainConfig cfg, List<Example> train, int maxSeqLen, PrintStream log) {}

    /** A running engine: its step gradient, and the resources to release at the end. */
    interface Session extends AutoCloseable {
        StepGradient stepGradient();

        @Override
        void close();
    }

    /** How a training job starts its cluster session (a name and master resolved by the command line). */
    @FunctionalInterface
    interface Launcher {
        Session start(Run run) throws IOException;
    }

    /** The engine of that name on the classpath, or a message that says how to get it there. */
    static ClusterTrainer find(String name) {
        for (ClusterTrainer t : ServiceLoader.load(ClusterTrainer.class))
            if (t.name().equals(name)) return t;
        throw new IllegalStateException("--" + name + " needs the " + name + " module (llama-adapter-" + name + ".jar), which is not on the classpath: "
                + "run ./llama-adapter-" + name + " train --" + name + " local[2] ... on one machine, or spark-submit spark/target/llama-adapter-" + name
                + ".jar train --" + name + " cluster ... (README, section \"Training on Apache Spark\")");
    }
}

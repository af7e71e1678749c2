package dev.llamaadapter.spark;

import dev.llamaadapter.model.BaseModel;
import dev.llamaadapter.model.Transformer;
import org.apache.spark.SparkEnv;

import java.net.InetAddress;
import java.nio.file.Path;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * The executor JVM's frozen base models, opened (memory-mapped) lazily by the first task that needs one
 * and then kept for the JVM's life: a model is never shipped in a closure, only its path. Keyed by path;
 * each model keeps a pool of {@link Replica}s per adapter shape, one per concurrently running task.
 */
final class ExecutorModels {
    private ExecutorModels() {}

    private record Opened(BaseModel base, Transformer model, String fingerprint, Map<WorkerSpec, Queue<Replica>> pools) {}

    private static final Map<String, Opened> MODELS = new ConcurrentHashMap<>(); // by path

    /** A replica for spec, from the pool or new; give it back with {@link #giveBack}. */
    static Replica borrow(WorkerSpec spec) {
        Opened o = open(spec);
        Replica r = o.pools().computeIfAbsent(spec, k -> new ConcurrentLinkedQueue<>()).poll();
        return r != null ? r : new Replica(spec, o.model());
    }

    static void giveBack(WorkerSpec spec, Replica r) {
        Opened o = MODELS.get(spec.model());
        if (o != null && o.fingerprint().equals(spec.baseFingerprint())) o.pools().computeIfAbsent(spec, k -> new ConcurrentLinkedQueue<>()).add(r);
    }

    private static Opened open(WorkerSpec spec) {
        Opened o = MODELS.get(spec.model());
        if (o != null && o.fingerprint().equals(spec.baseFingerprint())) return o;
        synchronized (ExecutorModels.class) {
            o = MODELS.get(spec.model());
            if (o != null && o.fingerprint().equals(spec.baseFingerprint())) return o;
            // absent, or another model now lives at that path (reopened: tasks still running keep the old mapping)
            BaseModel base;
            try {
                base = BaseModel.open(Path.of(spec.model()));
            } catch (Exception e) {
                throw new ExecutorFailure(where() + " cannot read the base model " + spec.model() + ": " + e.getMessage()
                        + " (every node must be able to read the model at that path)", e);
            }
            String fp = base.fingerprint();
            if (!fp.equals(spec.baseFingerprint())) {
                String shape = base.shape();
                base.close();
                throw new ExecutorFailure(where() + ": the base model at " + spec.model() + " (" + shape + ", fingerprint " + fp
                        + ") is not the driver's (fingerprint " + spec.baseFingerprint() + "): every node must hold the same model at that path", null);
            }
            o = new Opened(base, base.transformer(), fp, new ConcurrentHashMap<>());
            MODELS.put(spec.model(), o);
            return o;
        }
    }

    /** "executor 3 on node worker-7", for messages. */
    static String where() {
        String id = SparkEnv.get() != null ? SparkEnv.get().executorId() : "?";
        String host;
        try {
            host = InetAddress.getLocalHost().getHostName();
        } catch (Exception e) {
            host = "(unknown host)";
        }
        return "executor " + id + " on node " + host;
    }
}

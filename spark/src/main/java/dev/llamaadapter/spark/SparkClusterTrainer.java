package dev.llamaadapter.spark;

import dev.llamaadapter.train.ClusterTrainer;
import dev.llamaadapter.train.StepGradient;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * {@code train --spark MASTER}: found by the core through ServiceLoader. Under spark-submit the master
 * (and every other setting) comes from spark-submit and MASTER is only logged; otherwise MASTER is the
 * master URL, e.g. local[2] (two task threads in this JVM), local[2,4] (and up to 4 tries per task) or
 * spark://host:7077. A local master binds to the loopback address and starts no web UI unless told to.
 */
public final class SparkClusterTrainer implements ClusterTrainer {

    @Override
    public String name() {
        return "spark";
    }

    @Override
    public Session start(String master, Run run) {
        return session(new JavaSparkContext(conf(master)), true, run);
    }

    /** A session on a running context; owned: stop the context when the session closes (else the caller keeps it). */
    public static Session session(JavaSparkContext sc, boolean owned, Run run) {
        SparkStepGradient g = new SparkStepGradient(sc, run.model(), run.baseFingerprint(), run.cfg(), run.train(), run.maxSeqLen(), TaskHook.NONE);
        run.log().printf("spark       master %s, app %s, %d task slots: a step's %d micro-batches in at most %d partitions; base model read by every executor at %s%n",
                sc.master(), sc.sc().applicationId(), g.slots(), run.cfg().accumulation(), Math.min(g.slots(), run.cfg().accumulation()),
                run.model().toAbsolutePath());
        return new Session() {
            @Override
            public StepGradient stepGradient() {
                return g;
            }

            @Override
            public void close() {
                g.close();
                if (owned) sc.stop();
            }
        };
    }

    /** The run's Spark settings: spark-submit's (system properties) win over MASTER and the local defaults. */
    static SparkConf conf(String master) {
        SparkConf c = new SparkConf().setAppName("llama-adapter train");
        if (!c.contains("spark.master")) c.setMaster(master);
        if (c.get("spark.master").startsWith("local")) {
            c.setIfMissing("spark.driver.bindAddress", "127.0.0.1");
            c.setIfMissing("spark.driver.host", "127.0.0.1");
            c.setIfMissing("spark.ui.enabled", "false");
        }
        return c;
    }
}

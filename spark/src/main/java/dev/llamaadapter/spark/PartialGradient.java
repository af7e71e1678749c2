package dev.llamaadapter.spark;

import java.io.Serializable;

/**
 * What a partition sends back for one step: the SUM over its micro-batches of each one's gradient of its
 * own mean loss (one float[] per param, in the params' order), the sum of those mean losses, the tokens
 * processed and the number of micro-batches. Partials add up in treeAggregate; the driver divides by the
 * total count, which is the single-process trainer's accumulation (mean of per-micro-batch means).
 */
final class PartialGradient implements Serializable {
    float[][] grads;  // [params][numel], null while empty
    double lossSum;
    long tokens;
    int count;

    /** The empty partial: treeAggregate's zero value. */
    PartialGradient() {}

    PartialGradient(float[][] grads, double lossSum, long tokens, int count) {
        this.grads = grads; this.lossSum = lossSum; this.tokens = tokens; this.count = count;
    }

    /** this += o, in place (Spark lets an aggregation's combine reuse its first argument). */
    PartialGradient add(PartialGradient o) {
        if (o.count == 0) return this;
        if (count == 0) {
            grads = o.grads;
        } else {
            if (grads.length != o.grads.length) throw new IllegalStateException("partials of " + grads.length + " and " + o.grads.length + " params");
            for (int p = 0; p < grads.length; p++) {
                float[] a = grads[p], b = o.grads[p];
                if (a.length != b.length) throw new IllegalStateException("param " + p + ": partials of " + a.length + " and " + b.length + " values");
                for (int i = 0; i < a.length; i++) a[i] += b[i];
            }
        }
        lossSum += o.lossSum;
        tokens += o.tokens;
        count += o.count;
        return this;
    }
}

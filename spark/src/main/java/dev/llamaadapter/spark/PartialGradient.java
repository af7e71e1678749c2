package dev.llamaadapter.spark;

import java.io.Serializable;

/**
 * What a partition sends back for one step: over its micro-batches, the sum of each one's mean-loss
 * gradient times its weight w_b (one float[] per param, in the params' order), the sum of w_b × its mean
 * loss, the sum of the weights, the tokens processed and the number of micro-batches. w_b is the
 * micro-batch's scored tokens under the default loss norm (so the sums are token sums, and the weight
 * the scored-token count), 1 under micro-mean. Partials add up in treeAggregate; the driver divides by
 * the total weight, which is the single-process trainer's accumulation.
 */
final class PartialGradient implements Serializable {
    float[][] grads;  // [params][numel], null while empty
    double lossSum;
    long weight;
    long tokens;
    int count;

    /** The empty partial: treeAggregate's zero value. */
    PartialGradient() {}

    PartialGradient(float[][] grads, double lossSum, long weight, long tokens, int count) {
        this.grads = grads; this.lossSum = lossSum; this.weight = weight; this.tokens = tokens; this.count = count;
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
        weight += o.weight;
        tokens += o.tokens;
        count += o.count;
        return this;
    }
}

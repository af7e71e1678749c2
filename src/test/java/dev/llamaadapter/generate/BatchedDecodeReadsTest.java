package dev.llamaadapter.generate;

import dev.llamaadapter.model.AdaptionPrompts;
import dev.llamaadapter.model.GateActivation;
import dev.llamaadapter.model.LlamaConfig;
import dev.llamaadapter.model.LlamaWeights;
import dev.llamaadapter.model.PreparedPrompts;
import dev.llamaadapter.model.Transformer;
import dev.llamaadapter.tensor.DType;
import dev.llamaadapter.tensor.GemmBackend;
import dev.llamaadapter.tensor.Int8Dot;
import dev.llamaadapter.tensor.RowStream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.lang.foreign.Arena;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * One batched decoding step with n sequences, each through its own adapter, streams every weight row once: the
 * same rows as one sequence's step, whatever n is (the step is memory-bound; reading the weights once per
 * sequence would make n sequences cost n steps). Counted by {@link RowStream#WEIGHT_ROW_READS}, so a change that
 * loops over sequences, or sends decoding-sized batches down a path that reads per row group, fails here.
 */
class BatchedDecodeReadsTest {

    @ParameterizedTest
    @ValueSource(strings = {"F32", "BF16", "Q8_0", "Q4_0", "Q8_0 int8", "Q4_0 int8"})
    void aBatchedStepReadsEachWeightRowOnce(String which) {
        String dtype = which.split(" ")[0];
        boolean int8 = which.endsWith(" int8"); // the native integer kernels count their rows too
        if (int8) assumeTrue(Int8Dot.available(), () -> "int8 kernels absent: " + Int8Dot.unavailableReason());
        LlamaConfig c = LlamaConfig.of(64, 160, 3, 4, 2, 96, false);
        GemmBackend.use(int8 ? "int8" : "java");
        try (Arena arena = Arena.ofShared()) {
            LlamaWeights w = LlamaWeights.random(c, DType.valueOf(dtype), 11, arena);
            Transformer model = new Transformer(c, w);
            long rowsPerStep = w.head().rows();
            for (LlamaWeights.Layer l : w.layers())
                for (var m : List.of(l.wq(), l.wk(), l.wv(), l.wo(), l.wGate(), l.wUp(), l.wDown())) rowsPerStep += m.rows();
            for (int n : new int[] {1, 2, 4, 7, 16}) {
                Generator g = new Generator(model, null, n, 16);
                for (int i = 0; i < n; i++) {
                    AdaptionPrompts p = AdaptionPrompts.init(4, 2, c.hiddenSize(), c.numAttentionHeads(), GateActivation.TANH, 100 + i);
                    PreparedPrompts pp = model.prepare(p);
                    g.submit(new int[] {1 + i}, pp, SamplingParams.greedy(8), null);
                }
                g.step(); // prompts (one token each): one row per sequence too
                long before = RowStream.WEIGHT_ROW_READS.sum();
                g.step(); // a pure decoding step: n rows
                long read = RowStream.WEIGHT_ROW_READS.sum() - before;
                assertThat(read).as("%s, %d sequences: weight rows streamed in one batched step", which, n).isEqualTo(rowsPerStep);
            }
        } finally {
            GemmBackend.use("java");
        }
    }
}

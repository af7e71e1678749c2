package dev.llamaadapter.model;

import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * train --full writes a family's model back in its own layout (phi3's fused projections fused again,
 * gemma2's norms as w of x·(1+w), biases and q/k norms under their names): written untrained, it reads
 * back as the same model, logits bit for bit.
 */
class FamiliesWriteBackTest {
    static final Path FAMILIES = Path.of("../shared/parity/families");

    @TempDir
    Path tmp;

    @ParameterizedTest
    @ValueSource(strings = {"llama3-rope", "llama-headdim-bias", "mistral-window", "qwen2", "qwen3", "phi3", "gemma2"})
    void writtenUntrainedItReadsBackAsTheSameModel(String name) throws Exception {
        Path c = FAMILIES.resolve(name).resolve("model");
        assumeTrue(Files.isDirectory(c), "../shared absent");
        try (BaseModel base = BaseModel.open(c)) {
            TrainableWeights tw = new TrainableWeights(base.config(), base.weights());
            Path out = tmp.resolve(name);
            tw.writeHf(out, Map.of());
            try (BaseModel back = BaseModel.open(out)) {
                assertThat(back.config()).isEqualTo(base.config().withArch(base.config().arch()));
                int T = 12;
                int[] ids = new int[T];
                for (int i = 0; i < T; i++) ids[i] = (i * 7 + 3) % base.config().vocabSize();
                Transformer a = base.transformer(), b = back.transformer();
                float[] want = a.forward(a.activations(1, T, null, false, false), ids, null).clone();
                float[] got = b.forward(b.activations(1, T, null, false, false), ids, null);
                assertThat(got).containsExactly(want);
            }
        }
    }
}

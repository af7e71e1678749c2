package dev.llamaadapter.model;

import dev.llamaadapter.adapter.AdapterFile;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Activation recomputation on every family (spec §7): the backward that runs each adapted layer's forward again
 * (q/k norms, biases, gemma2's post-norms included) gives the adapter gradients of the backward that kept
 * everything, bit for bit, as for LLaMA.
 */
class FamiliesRecomputeTest {
    static final Path FAMILIES = Path.of("../shared/parity/families");

    @ParameterizedTest
    @ValueSource(strings = {"llama-headdim-bias", "mistral-window", "qwen2", "qwen3", "phi3", "gemma2"})
    void recomputedGradientsEqualKeptOnes(String name) throws Exception {
        Path c = FAMILIES.resolve(name);
        assumeTrue(Files.isDirectory(c), "../shared absent");
        try (BaseModel base = BaseModel.open(c.resolve("model"))) {
            Transformer t = base.transformer();
            AdaptionPrompts p = AdapterFile.read(c.resolve("adapter.safetensors"), base.config()).prompts();
            int B = 2, T = 37, V = base.config().vocabSize();
            Random r = new Random(7);
            int[] ids = new int[B * T], labels = new int[B * T];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = r.nextInt(V);
                labels[i] = i % T < 10 ? -100 : r.nextInt(V);
            }
            AdaptionPrompts kept = p.zerosLike(), again = p.zerosLike();
            Activations a = t.activations(B, T, p, true, false, false), b = t.activations(B, T, p, true, false, true);
            t.forward(a, ids, p);
            float la = t.backward(a, labels, p, kept);
            t.forward(b, ids, p);
            float lb = t.backward(b, labels, p, again);
            assertThat(lb).isEqualTo(la);
            assertThat(again.prompt).containsExactly(kept.prompt);
            assertThat(again.gate).containsExactly(kept.gate);
        }
    }
}

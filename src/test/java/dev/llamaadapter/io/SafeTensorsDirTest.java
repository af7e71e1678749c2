package dev.llamaadapter.io;

import dev.llamaadapter.model.LlamaConfig;
import dev.llamaadapter.tensor.DType;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Model directories: one file, Hugging Face sharding, and the shared parity models. */
class SafeTensorsDirTest {

    @TempDir
    Path dir;

    private static final Path CASES = Path.of("../shared/parity/cases");

    /** Two shards and an index: a, b in shard 1; c in shard 2. */
    private Path sharded() throws IOException {
        new SafeTensorsWriter().put("a", DType.F32, new float[]{1, 2}, 2).put("b", DType.F32, new float[]{3, 4, 5, 6}, 2, 2)
                .metadata("format", "pt").write(dir.resolve("model-00001-of-00002.safetensors"));
        new SafeTensorsWriter().put("c", DType.BF16, new float[]{7}, 1)
                .metadata("format", "pt").write(dir.resolve("model-00002-of-00002.safetensors"));
        index("""
                {"metadata": {"total_size": 26},
                 "weight_map": {"a": "model-00001-of-00002.safetensors",
                                "b": "model-00001-of-00002.safetensors",
                                "c": "model-00002-of-00002.safetensors"}}""");
        return dir;
    }

    private Path index(String json) throws IOException {
        return Files.writeString(dir.resolve(SafeTensorsDir.INDEX_FILE), json);
    }

    @Test
    void shardedIndex() throws IOException {
        try (SafeTensorsDir m = SafeTensorsDir.open(sharded())) {
            assertThat(m.indexFile()).isEqualTo(dir.resolve(SafeTensorsDir.INDEX_FILE));
            assertThat(m.files()).hasSize(2); // each shard mapped once
            assertThat(m.names()).containsExactly("a", "b", "c");
            assertThat(m.metadata()).containsEntry("total_size", "26");
            assertThat(m.vector("a", 2)).containsExactly(1, 2);
            assertThat(m.matrix("b", 2, 2).get(1, 0)).isEqualTo(5f);
            assertThat(m.floats("c")).containsExactly(7f);
            assertThat(m.has("d")).isFalse();
            assertThat(m.fileOf("c").getFileName().toString()).isEqualTo("model-00002-of-00002.safetensors");
            // errors name the shard that holds the tensor
            assertThatThrownBy(() -> m.matrix("c", 1, 2)).hasMessageContaining("model-00002-of-00002.safetensors")
                    .hasMessageContaining("'c'");
            assertThatThrownBy(() -> m.require("d")).hasMessage(m.indexFile() + ": tensor 'd' not found");
        }
    }

    @Test
    void missingShard() throws IOException {
        sharded();
        Files.delete(dir.resolve("model-00002-of-00002.safetensors"));
        assertThatThrownBy(() -> SafeTensorsDir.open(dir)).isInstanceOf(SafeTensorsException.class)
                .hasMessageContaining(SafeTensorsDir.INDEX_FILE).hasMessageContaining("model-00002-of-00002.safetensors")
                .hasMessageContaining("'c'").hasMessageContaining("does not exist");
    }

    @Test
    void tensorListedButAbsentFromItsShard() throws IOException {
        sharded();
        index("{\"weight_map\": {\"a\": \"model-00001-of-00002.safetensors\", \"c\": \"model-00001-of-00002.safetensors\"}}");
        assertThatThrownBy(() -> SafeTensorsDir.open(dir)).isInstanceOf(SafeTensorsException.class)
                .hasMessageContaining(SafeTensorsDir.INDEX_FILE).hasMessageContaining("model-00001-of-00002.safetensors")
                .hasMessageContaining("'c'");
    }

    @Test
    void badIndex() throws IOException {
        sharded();
        index("{\"weight_map\": [1]}");
        assertThatThrownBy(() -> SafeTensorsDir.open(dir)).hasMessageContaining(SafeTensorsDir.INDEX_FILE)
                .hasMessageContaining("weight_map");
        index("{\"weight_map\": {\"a\": \"../elsewhere.safetensors\"}}");
        assertThatThrownBy(() -> SafeTensorsDir.open(dir)).hasMessageContaining(SafeTensorsDir.INDEX_FILE)
                .hasMessageContaining("outside");
        index("{\"weight_map\": ");
        assertThatThrownBy(() -> SafeTensorsDir.open(dir)).hasMessageContaining(SafeTensorsDir.INDEX_FILE)
                .hasMessageContaining("not valid JSON");
    }

    @Test
    void corruptShardIsNamed() throws IOException {
        sharded();
        Files.write(dir.resolve("model-00002-of-00002.safetensors"), new byte[]{1});
        assertThatThrownBy(() -> SafeTensorsDir.open(dir)).hasMessageContaining("model-00002-of-00002.safetensors");
    }

    @Test
    void neitherFile() throws IOException {
        assertThatThrownBy(() -> SafeTensorsDir.open(dir)).isInstanceOf(SafeTensorsException.class)
                .hasMessageContaining(dir.toString()).hasMessageContaining("model.safetensors")
                .hasMessageContaining(SafeTensorsDir.INDEX_FILE);
        new SafeTensorsWriter().put("x", DType.F32, new float[1], 1).write(dir.resolve("one.safetensors"));
        new SafeTensorsWriter().put("y", DType.F32, new float[1], 1).write(dir.resolve("two.safetensors"));
        assertThatThrownBy(() -> SafeTensorsDir.open(dir)).hasMessageContaining(dir.toString())
                .hasMessageContaining("one.safetensors").hasMessageContaining("two.safetensors");
        assertThatThrownBy(() -> SafeTensorsDir.open(dir.resolve("nowhere"))).hasMessageContaining("nowhere");
    }

    @Test
    void singleFileLayouts() throws IOException {
        new SafeTensorsWriter().put("x", DType.F32, new float[]{9}, 1).write(dir.resolve("weights.safetensors"));
        try (SafeTensorsDir m = SafeTensorsDir.open(dir)) { // the only *.safetensors
            assertThat(m.indexFile()).isNull();
            assertThat(m.floats("x")).containsExactly(9f);
            assertThatThrownBy(() -> m.require("q")).hasMessage(dir.resolve("weights.safetensors") + ": tensor 'q' not found");
        }
        new SafeTensorsWriter().put("y", DType.F32, new float[]{8}, 1).write(dir.resolve(SafeTensorsDir.SINGLE_FILE));
        try (SafeTensorsDir m = SafeTensorsDir.open(dir)) { // model.safetensors wins
            assertThat(m.names()).containsExactly("y");
        }
        try (SafeTensorsDir m = SafeTensorsDir.open(dir.resolve("weights.safetensors"))) { // a file directly
            assertThat(m.names()).containsExactly("x");
        }
    }

    /** Every spec §1 tensor of every shared parity model, checked against its config.json. */
    @Test
    void parityModelsMatchTheirConfigs() throws IOException {
        Assumptions.assumeTrue(Files.isDirectory(CASES), "no ../shared parity cases here");
        for (String c : new String[]{"mha-tanh", "gqa-identity-tied", "bf16-base"}) {
            Path modelDir = CASES.resolve(c).resolve("model");
            LlamaConfig cfg = LlamaConfig.read(modelDir.resolve("config.json"));
            try (SafeTensorsDir m = SafeTensorsDir.open(modelDir)) {
                int D = cfg.hiddenSize(), F = cfg.intermediateSize(), V = cfg.vocabSize();
                assertThat(m.matrix("model.embed_tokens.weight", V, D).rows()).isEqualTo(V);
                for (int i = 0; i < cfg.numHiddenLayers(); i++) {
                    String p = "model.layers." + i + ".";
                    m.vector(p + "input_layernorm.weight", D);
                    m.vector(p + "post_attention_layernorm.weight", D);
                    m.matrix(p + "self_attn.q_proj.weight", D, D);
                    m.matrix(p + "self_attn.k_proj.weight", cfg.kvDim(), D);
                    m.matrix(p + "self_attn.v_proj.weight", cfg.kvDim(), D);
                    m.matrix(p + "self_attn.o_proj.weight", D, D);
                    m.matrix(p + "mlp.gate_proj.weight", F, D);
                    m.matrix(p + "mlp.up_proj.weight", F, D);
                    m.matrix(p + "mlp.down_proj.weight", D, F);
                }
                m.vector("model.norm.weight", D);
                assertThat(m.has("lm_head.weight")).as(c).isEqualTo(!cfg.tieWordEmbeddings());
                DType expected = "bfloat16".equals(cfg.torchDtype()) ? DType.BF16 : DType.F32;
                assertThat(m.info("model.embed_tokens.weight").dtype()).as(c).isEqualTo(expected);
                for (float x : m.floats("model.norm.weight")) assertThat(x).as(c).isFinite();
                assertThat(m.floats("model.embed_tokens.weight"))
                        .containsExactly(m.matrix("model.embed_tokens.weight", V, D).toFloats());
            }
        }
    }

    @Test
    void parityShapeMismatchNamesFileTensorAndShapes() throws IOException {
        Path modelDir = CASES.resolve("gqa-identity-tied/model");
        Assumptions.assumeTrue(Files.isDirectory(modelDir), "no ../shared parity cases here");
        LlamaConfig cfg = LlamaConfig.read(modelDir.resolve("config.json"));
        try (SafeTensorsDir m = SafeTensorsDir.open(modelDir)) {
            // as if the loader forgot GQA: k_proj is [Hkv*hd, D] = [32, 64], not [D, D]
            assertThatThrownBy(() -> m.matrix("model.layers.0.self_attn.k_proj.weight", cfg.hiddenSize(), cfg.hiddenSize()))
                    .hasMessageContaining(modelDir.resolve("model.safetensors").toString())
                    .hasMessageContaining("'model.layers.0.self_attn.k_proj.weight'")
                    .hasMessageContaining("[32, 64], expected [64, 64]");
            assertThatThrownBy(() -> m.require("lm_head.weight")).hasMessageContaining("'lm_head.weight' not found");
        }
    }
}

package dev.llamaadapter.model;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class LlamaConfigTest {

    @TempDir
    Path dir;

    private static final String BASE = """
            "hidden_size": 64, "intermediate_size": 172, "num_hidden_layers": 3,
            "num_attention_heads": 4, "vocab_size": 97""";

    private Path config(String body) throws IOException {
        return Files.writeString(dir.resolve("config.json"), "{" + body + "}");
    }

    @Test
    void readsParityConfig() throws IOException {
        Path f = Path.of("../shared/parity/cases/gqa-identity-tied/model/config.json");
        Assumptions.assumeTrue(Files.isRegularFile(f), "no ../shared parity cases here");
        LlamaConfig c = LlamaConfig.read(f);
        assertThat(c.hiddenSize()).isEqualTo(64);
        assertThat(c.intermediateSize()).isEqualTo(172);
        assertThat(c.numHiddenLayers()).isEqualTo(3);
        assertThat(c.numAttentionHeads()).isEqualTo(4);
        assertThat(c.numKeyValueHeads()).isEqualTo(2);
        assertThat(c.vocabSize()).isEqualTo(97);
        assertThat(c.rmsNormEps()).isEqualTo(1e-5);
        assertThat(c.ropeTheta()).isEqualTo(10000.0);
        assertThat(c.tieWordEmbeddings()).isTrue();
        assertThat(c.torchDtype()).isEqualTo("float32");
        assertThat(c.maxPositionEmbeddings()).isEqualTo(256);
        assertThat(c.headDim()).isEqualTo(16);
        assertThat(c.kvDim()).isEqualTo(32);
        assertThat(c.kvGroupSize()).isEqualTo(2);
    }

    @Test
    void defaultsFollowTransformers() throws IOException {
        LlamaConfig c = LlamaConfig.read(config(BASE));
        assertThat(c.numKeyValueHeads()).isEqualTo(4);
        assertThat(c.rmsNormEps()).isEqualTo(1e-6);
        assertThat(c.ropeTheta()).isEqualTo(10000.0);
        assertThat(c.tieWordEmbeddings()).isFalse();
        assertThat(c.torchDtype()).isNull();
        assertThat(c.maxPositionEmbeddings()).isNull();
        assertThat(c.bosTokenId()).isNull();
        assertThat(c.eosTokenId()).isNull();
        assertThat(c.hiddenAct()).isEqualTo("silu");
    }

    @Test
    void eosMayBeAList() throws IOException {
        LlamaConfig one = LlamaConfig.fromJson("{" + BASE + ", \"bos_token_id\": 1, \"eos_token_id\": 2}", "one");
        assertThat(one.bosTokenId()).isEqualTo(1);
        assertThat(one.eosTokenIds()).containsExactly(2);
        LlamaConfig many = LlamaConfig.fromJson("{" + BASE + ", \"eos_token_id\": [2, 5, 9], \"rope_scaling\": null}", "many");
        assertThat(many.eosTokenIds()).containsExactly(2, 5, 9);
        assertThat(many.eosTokenId()).isEqualTo(2);
    }

    @Test
    void jsonRoundTrip() throws IOException {
        LlamaConfig c = new LlamaConfig(128, 344, 2, 8, 2, 300, 1e-5, 500000.0, true, "bfloat16", 2048, 1,
                List.of(2, 7), "silu");
        Path f = dir.resolve("out/config.json");
        c.write(f);
        assertThat(LlamaConfig.read(f)).isEqualTo(c);
        assertThat(LlamaConfig.fromJson(LlamaConfig.of(64, 172, 3, 4, 4, 97, false).toJson(), "x"))
                .isEqualTo(LlamaConfig.of(64, 172, 3, 4, 4, 97, false));
        assertThat(c.toJson()).contains("\"num_key_value_heads\" : 2").contains("\"model_type\" : \"llama\"");
    }

    @Test
    void ofUsesTestDefaults() {
        LlamaConfig c = LlamaConfig.of(64, 172, 3, 4, 2, 97, true);
        assertThat(c.rmsNormEps()).isEqualTo(1e-5);
        assertThat(c.ropeTheta()).isEqualTo(10000.0);
        assertThat(c.kvDim()).isEqualTo(32);
        assertThatThrownBy(() -> LlamaConfig.of(64, 172, 3, 4, 3, 97, true)).hasMessageContaining("num_key_value_heads");
    }

    @Test
    void missingField() throws IOException {
        Path f = config("\"hidden_size\": 64, \"num_hidden_layers\": 3, \"num_attention_heads\": 4, \"vocab_size\": 97");
        assertThatThrownBy(() -> LlamaConfig.read(f)).isInstanceOf(IOException.class)
                .hasMessage(f + ": missing required field 'intermediate_size'");
    }

    @Test
    void hiddenNotDivisibleByHeads() throws IOException {
        Path f = config(BASE.replace("\"hidden_size\": 64", "\"hidden_size\": 66"));
        assertThatThrownBy(() -> LlamaConfig.read(f)).isInstanceOf(IOException.class)
                .hasMessageContaining(f.toString()).hasMessageContaining("hidden_size 66")
                .hasMessageContaining("num_attention_heads 4");
    }

    @Test
    void headsNotDivisibleByKvHeads() throws IOException {
        Path f = config(BASE + ", \"num_key_value_heads\": 3");
        assertThatThrownBy(() -> LlamaConfig.read(f)).isInstanceOf(IOException.class)
                .hasMessageContaining(f.toString()).hasMessageContaining("num_attention_heads 4")
                .hasMessageContaining("num_key_value_heads 3");
    }

    @Test
    void oddHeadDim() throws IOException {
        Path f = config(BASE.replace("\"hidden_size\": 64", "\"hidden_size\": 20"));
        assertThatThrownBy(() -> LlamaConfig.read(f)).hasMessageContaining(f.toString()).hasMessageContaining("head_dim")
                .hasMessageContaining("odd");
    }

    @Test
    void nonPositiveAndMistypedFields() throws IOException {
        String[][] cases = {
                {BASE.replace("\"num_hidden_layers\": 3", "\"num_hidden_layers\": 0"), "num_hidden_layers"},
                {BASE.replace("\"vocab_size\": 97", "\"vocab_size\": -5"), "vocab_size"},
                {BASE.replace("\"vocab_size\": 97", "\"vocab_size\": \"97\""), "vocab_size"},
                {BASE.replace("\"intermediate_size\": 172", "\"intermediate_size\": 17.5"), "intermediate_size"},
                {BASE + ", \"rms_norm_eps\": 0", "rms_norm_eps"},
                {BASE + ", \"rope_theta\": \"big\"", "rope_theta"},
                {BASE + ", \"tie_word_embeddings\": \"yes\"", "tie_word_embeddings"},
                {BASE + ", \"hidden_act\": \"gelu\"", "hidden_act"},
                {BASE + ", \"eos_token_id\": [2, \"x\"]", "eos_token_id"},
        };
        for (String[] c : cases) {
            Path f = config(c[0]);
            assertThatThrownBy(() -> LlamaConfig.read(f)).as(c[1]).isInstanceOf(IOException.class)
                    .hasMessageContaining(f.toString()).hasMessageContaining(c[1]);
        }
    }

    @Test
    void unsupportedVariants() throws IOException {
        String[][] cases = {
                {BASE + ", \"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8.0}", "rope_scaling"},
                {BASE + ", \"model_type\": \"mistral\"", "model_type"},
                {BASE + ", \"attention_bias\": true", "attention_bias"},
                {BASE + ", \"head_dim\": 32", "head_dim"},
        };
        for (String[] c : cases) {
            Path f = config(c[0]);
            assertThatThrownBy(() -> LlamaConfig.read(f)).as(c[1]).hasMessageContaining(f.toString())
                    .hasMessageContaining(c[1]).hasMessageContaining("not supported");
        }
        assertThat(LlamaConfig.read(config(BASE + ", \"model_type\": \"llama\", \"head_dim\": 16, \"attention_bias\": false"))
                .headDim()).isEqualTo(16);
    }

    @Test
    void notJsonOrMissingFile() throws IOException {
        Path f = config("\"hidden_size\": ");
        assertThatThrownBy(() -> LlamaConfig.read(f)).hasMessageContaining(f.toString()).hasMessageContaining("not valid JSON");
        Path g = dir.resolve("absent.json");
        assertThatThrownBy(() -> LlamaConfig.read(g)).hasMessageContaining(g.toString());
    }
}

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
                {BASE + ", \"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 4.0}", "rope_scaling.rope_type \"yarn\""},
                {BASE + ", \"rope_scaling\": {\"type\": \"dynamic\", \"factor\": 2.0}", "rope_scaling.rope_type \"dynamic\""},
                {BASE + ", \"rope_scaling\": {\"rope_type\": \"longrope\"}", "rope_scaling.rope_type \"longrope\""},
                {BASE + ", \"model_type\": \"falcon\"", "model_type \"falcon\""},
                {BASE + ", \"model_type\": \"qwen2\", \"sliding_window\": 8, \"use_sliding_window\": true", "use_sliding_window"},
        };
        for (String[] c : cases) {
            Path f = config(c[0]);
            assertThatThrownBy(() -> LlamaConfig.read(f)).as(c[1]).hasMessageContaining(f.toString())
                    .hasMessageContaining(c[1]).hasMessageContaining("not supported");
        }
        Path missing = config(BASE + ", \"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 8.0}");
        assertThatThrownBy(() -> LlamaConfig.read(missing)).hasMessageContaining(missing.toString()).hasMessageContaining("low_freq_factor");
        assertThat(LlamaConfig.read(config(BASE + ", \"model_type\": \"llama\", \"head_dim\": 16, \"attention_bias\": false"))
                .headDim()).isEqualTo(16);
    }

    /** The families of spec §7 read into their switches; a plain llama stays plain. */
    @Test
    void familiesReadIntoTheirArchitecture() throws IOException {
        Architecture plain = LlamaConfig.read(config(BASE)).arch();
        assertThat(plain.isPlainLlama()).isTrue();
        Architecture l3 = LlamaConfig.read(config(BASE + ", \"head_dim\": 24, \"attention_bias\": true, \"rope_scaling\": {\"rope_type\": "
                + "\"llama3\", \"factor\": 8.0, \"low_freq_factor\": 1.0, \"high_freq_factor\": 4.0, \"original_max_position_embeddings\": 8192}")).arch();
        assertThat(l3.headDim()).isEqualTo(24);
        assertThat(l3.qkvBias() && l3.oBias()).isTrue();
        assertThat(l3.rope().type()).isEqualTo("llama3");
        Architecture mistral = LlamaConfig.read(config(BASE + ", \"model_type\": \"mistral\", \"sliding_window\": 7")).arch();
        assertThat(mistral.windowOf(0)).isEqualTo(7);
        Architecture qwen2 = LlamaConfig.read(config(BASE + ", \"model_type\": \"qwen2\", \"sliding_window\": 7, \"use_sliding_window\": false")).arch();
        assertThat(qwen2.qkvBias()).isTrue();
        assertThat(qwen2.oBias()).isFalse();
        assertThat(qwen2.windowOf(0)).isZero();
        Architecture phi3 = LlamaConfig.read(config(BASE + ", \"model_type\": \"phi3\", \"partial_rotary_factor\": 0.5")).arch();
        assertThat(phi3.rotaryDim()).isEqualTo(phi3.headDim() / 2);
        Path gemmaNoScalar = config(BASE + ", \"model_type\": \"gemma2\", \"hidden_act\": \"gelu_pytorch_tanh\"");
        assertThatThrownBy(() -> LlamaConfig.read(gemmaNoScalar)).hasMessageContaining("query_pre_attn_scalar");
        Architecture gemma = LlamaConfig.read(config(BASE + ", \"model_type\": \"gemma2\", \"hidden_activation\": \"gelu_pytorch_tanh\", "
                + "\"query_pre_attn_scalar\": 256, \"attn_logit_softcapping\": 50.0, \"final_logit_softcapping\": 30.0, \"sliding_window\": 4")).arch();
        assertThat(gemma.queryScale()).isEqualTo(1 / 16.0);
        assertThat(gemma.windowOf(0)).isEqualTo(4);
        assertThat(gemma.windowOf(1)).isZero();
        // the config written back reads as the same architecture (train --full writes it)
        LlamaConfig c = LlamaConfig.read(config(BASE + ", \"model_type\": \"qwen3\", \"head_dim\": 24"));
        assertThat(LlamaConfig.fromJson(c.toJson(), "roundtrip")).isEqualTo(c);
    }

    @Test
    void notJsonOrMissingFile() throws IOException {
        Path f = config("\"hidden_size\": ");
        assertThatThrownBy(() -> LlamaConfig.read(f)).hasMessageContaining(f.toString()).hasMessageContaining("not valid JSON");
        Path g = dir.resolve("absent.json");
        assertThatThrownBy(() -> LlamaConfig.read(g)).hasMessageContaining(g.toString());
    }
}

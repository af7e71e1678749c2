package dev.llamaadapter.model;

import dev.llamaadapter.io.SafeTensors;
import dev.llamaadapter.io.SafeTensorsWriter;
import dev.llamaadapter.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.UnaryOperator;

import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** Missing or misshapen family weights (spec §7) are refused when the model opens, naming the file and the tensor. */
class FamilyWeightsErrorsTest {
    static final Path FAMILIES = Path.of("../shared/parity/families");

    @TempDir
    Path tmp;

    /** The case's model with its tensors changed by edit (a name → null drops the tensor). */
    Path edited(String family, UnaryOperator<Map<String, float[][]>> edit) throws Exception {
        Path src = FAMILIES.resolve(family).resolve("model");
        assumeTrue(Files.isDirectory(src), "../shared absent");
        Path dir = Files.createDirectories(tmp.resolve(family));
        Files.copy(src.resolve("config.json"), dir.resolve("config.json"));
        Map<String, float[][]> t = new LinkedHashMap<>(); // name -> {values, shape as floats}
        try (SafeTensors st = SafeTensors.open(src.resolve("model.safetensors"))) {
            for (String n : st.names()) {
                long[] shape = st.info(n).shape();
                float[] s = new float[shape.length];
                for (int i = 0; i < shape.length; i++) s[i] = shape[i];
                t.put(n, new float[][]{st.floats(n), s});
            }
        }
        SafeTensorsWriter w = new SafeTensorsWriter();
        for (Map.Entry<String, float[][]> e : edit.apply(t).entrySet()) {
            if (e.getValue() == null) continue;
            long[] shape = new long[e.getValue()[1].length];
            for (int i = 0; i < shape.length; i++) shape[i] = (long) e.getValue()[1][i];
            w.put(e.getKey(), DType.F32, e.getValue()[0], shape);
        }
        w.write(dir.resolve("model.safetensors"));
        return dir;
    }

    @Test
    void aMissingQNormIsNamed() throws Exception {
        Path m = edited("qwen3", t -> {
            t.put("model.layers.1.self_attn.q_norm.weight", null);
            return t;
        });
        assertThatThrownBy(() -> BaseModel.open(m)).hasMessageContaining("model.layers.1.self_attn.q_norm.weight")
                .hasMessageContaining(m.toString());
    }

    @Test
    void aBiasOfTheWrongSizeIsNamed() throws Exception {
        Path m = edited("qwen2", t -> {
            t.put("model.layers.0.self_attn.k_proj.bias", new float[][]{new float[5], {5}});
            return t;
        });
        assertThatThrownBy(() -> BaseModel.open(m)).hasMessageContaining("model.layers.0.self_attn.k_proj.bias")
                .hasMessageContaining("[5]");
    }

    @Test
    void aFusedProjectionOfTheWrongShapeIsNamed() throws Exception {
        Path m = edited("phi3", t -> {
            float[][] qkv = t.get("model.layers.2.self_attn.qkv_proj.weight");
            t.put("model.layers.2.self_attn.qkv_proj.weight", new float[][]{java.util.Arrays.copyOf(qkv[0], 64 * 64), {64, 64}});
            return t;
        });
        assertThatThrownBy(() -> BaseModel.open(m)).hasMessageContaining("model.layers.2.self_attn.qkv_proj.weight");
    }

    @Test
    void gemmaWithoutItsPostFeedforwardNormIsNamed() throws Exception {
        Path m = edited("gemma2", t -> {
            t.put("model.layers.3.post_feedforward_layernorm.weight", null);
            return t;
        });
        assertThatThrownBy(() -> BaseModel.open(m)).hasMessageContaining("model.layers.3.post_feedforward_layernorm.weight");
    }
}

package dev.llamaadapter.adapter;

import dev.llamaadapter.io.SafeTensorsWriter;
import dev.llamaadapter.model.AdaptionPrompts;
import dev.llamaadapter.model.GateActivation;
import dev.llamaadapter.model.LlamaConfig;
import dev.llamaadapter.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The native adapter file: round trip, and a precise error for every way it can fail to fit the base. */
class AdapterFileTest {
    static final LlamaConfig BASE = LlamaConfig.of(64, 172, 3, 4, 2, 97, false); // N 3, H 4, D 64

    @TempDir
    Path tmp;

    @Test
    void roundTripKeepsTensorsAndHyperParameters() throws Exception {
        AdaptionPrompts p = AdaptionPrompts.init(4, 2, 64, 4, GateActivation.IDENTITY, 1);
        for (int i = 0; i < p.gate.length; i++) p.gate[i] = i * 0.1f - 0.3f;
        Path f = tmp.resolve("a.safetensors");
        AdapterFile.write(f, p, 3, Map.of("base_model", "test"));
        AdapterFile.Adapter a = AdapterFile.read(f, BASE);
        assertThat(a.prompts().adapterLen).isEqualTo(4);
        assertThat(a.prompts().adapterLayers).isEqualTo(2);
        assertThat(a.prompts().gateActivation).isEqualTo(GateActivation.IDENTITY);
        assertThat(a.prompts().prompt).containsExactly(p.prompt);
        assertThat(a.prompts().gate).containsExactly(p.gate);
        assertThat(a.metadata()).containsEntry("base_model", "test").containsEntry("adapter_layers", "2");
    }

    /** Writes an adapter file from raw parts: prompt [rows, D], gates by layer with H values each. */
    Path file(int rows, int D, Map<Integer, float[]> gates, Map<String, String> meta, int H) throws Exception {
        SafeTensorsWriter w = new SafeTensorsWriter();
        w.put("adapter_query.weight", DType.F32, new float[rows * D], rows, D);
        for (var e : gates.entrySet()) w.put(AdapterFile.gateName(e.getKey()), DType.F32, e.getValue(), 1, H, 1, 1);
        w.metadata(meta);
        Path f = tmp.resolve("bad.safetensors");
        w.write(f);
        return f;
    }

    static Map<String, String> meta(int K, int L, String act) {
        Map<String, String> m = new HashMap<>();
        m.put("adapter_len", "" + K);
        m.put("adapter_layers", "" + L);
        if (act != null) m.put("gate_activation", act);
        return m;
    }

    @Test
    void officialStyleExtraZeroGatesAreAccepted() throws Exception {
        Path f = file(8, 64, Map.of(0, new float[4], 1, new float[]{1, 2, 3, 4}, 2, new float[4]), meta(4, 2, "tanh"), 4);
        AdaptionPrompts p = AdapterFile.read(f, BASE).prompts();
        assertThat(p.gate).containsExactly(1, 2, 3, 4, 0, 0, 0, 0);
    }

    @Test
    void hiddenSizeThatDoesNotFitTheBaseIsNamed() throws Exception {
        Path f = file(8, 32, Map.of(1, new float[4], 2, new float[4]), meta(4, 2, "tanh"), 4);
        assertThatThrownBy(() -> AdapterFile.read(f, BASE)).hasMessageContaining(f.toString())
                .hasMessageContaining("adapter_query.weight").hasMessageContaining("hidden_size is 64");
    }

    @Test
    void headCountThatDoesNotFitTheBaseIsNamed() throws Exception {
        Path f = file(8, 64, Map.of(1, new float[8], 2, new float[8]), meta(4, 2, "tanh"), 8);
        assertThatThrownBy(() -> AdapterFile.read(f, BASE)).hasMessageContaining(f.toString())
                .hasMessageContaining("layers.1.attention.gate").hasMessageContaining("4 heads");
    }

    @Test
    void layerCountThatDoesNotFitTheBaseIsNamed() throws Exception {
        Path f = file(20, 64, Map.of(), meta(4, 5, "tanh"), 4);
        assertThatThrownBy(() -> AdapterFile.read(f, BASE)).hasMessageContaining(f.toString())
                .hasMessageContaining("adapter_layers 5").hasMessageContaining("3 layers");
        Path g = file(8, 64, Map.of(1, new float[4], 7, new float[4]), meta(4, 2, "tanh"), 4);
        assertThatThrownBy(() -> AdapterFile.read(g, BASE)).hasMessageContaining("layers.7.attention.gate").hasMessageContaining("3 layers");
    }

    @Test
    void promptRowsMustBeLayersTimesLength() throws Exception {
        Path f = file(7, 64, Map.of(1, new float[4], 2, new float[4]), meta(4, 2, "tanh"), 4);
        assertThatThrownBy(() -> AdapterFile.read(f, BASE)).hasMessageContaining("adapter_query.weight").hasMessageContaining("7 rows");
    }

    @Test
    void missingOrNonZeroGatesAreNamed() throws Exception {
        Path f = file(8, 64, Map.of(2, new float[4]), meta(4, 2, "tanh"), 4);
        assertThatThrownBy(() -> AdapterFile.read(f, BASE)).hasMessageContaining("layers.1.attention.gate").hasMessageContaining("not found");
        Path g = file(8, 64, Map.of(0, new float[]{0, 1, 0, 0}, 1, new float[4], 2, new float[4]), meta(4, 2, "tanh"), 4);
        assertThatThrownBy(() -> AdapterFile.read(g, BASE)).hasMessageContaining("layers.0.attention.gate").hasMessageContaining("non-zero");
    }

    @Test
    void gateActivationMustBeStated() throws Exception {
        Path f = file(8, 64, Map.of(1, new float[4], 2, new float[4]), meta(4, 2, null), 4);
        assertThatThrownBy(() -> AdapterFile.read(f, BASE)).hasMessageContaining(f.toString()).hasMessageContaining("gate_activation");
        Path g = file(8, 64, Map.of(1, new float[4], 2, new float[4]), meta(4, 2, "relu"), 4);
        assertThatThrownBy(() -> AdapterFile.read(g, BASE)).hasMessageContaining("relu");
    }

    @Test
    void unknownTensorsAreNamed() throws Exception {
        SafeTensorsWriter w = new SafeTensorsWriter();
        w.put("adapter_query.weight", DType.F32, new float[8 * 64], 8, 64);
        w.put("layers.1.attention.gate", DType.F32, new float[4], 1, 4, 1, 1);
        w.put("layers.2.attention.gate", DType.F32, new float[4], 1, 4, 1, 1);
        w.put("lora_A", DType.F32, new float[4], 4);
        w.metadata(meta(4, 2, "tanh"));
        Path f = tmp.resolve("x.safetensors");
        w.write(f);
        assertThatThrownBy(() -> AdapterFile.read(f, BASE)).hasMessageContaining("lora_A");
    }
}

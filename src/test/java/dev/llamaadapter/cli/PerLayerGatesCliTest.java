package dev.llamaadapter.cli;

import dev.llamaadapter.io.SafeTensors;
import dev.llamaadapter.io.SafeTensorsWriter;
import dev.llamaadapter.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Per-layer gates at the command line, on the per-layer-gqa-tanh parity case (made by
 * scripts/make_per_layer_case.py --seed 31: the PyTorch reference with each layer's gate a [1, 1, 1, 1] leaf
 * expanded to its heads; ParityTest reproduces it within 1e-4). Independently of PyTorch: the same file
 * read as per-head gates (no metadata key) is the same model, bit for bit, and its per-head gate gradients
 * sum to the per-layer one. A per-layer file whose heads differ is refused naming the tensor; inspect and
 * train --help say what per-layer gates and --peft are.
 */
class PerLayerGatesCliTest {
    static final Path CASE = ParityTest.CASES.resolve("per-layer-gqa-tanh");
    static final int H = 4;

    @TempDir
    Path tmp;

    FormatsCliTest.Run dump(Path adapter, Path out) {
        return FormatsCliTest.run("dump-step", "--model", CASE.resolve("model").toString(), "--adapter", adapter.toString(),
                "--batch", CASE.resolve("batch.safetensors").toString(), "--out", out.toString());
    }

    /** The case's adapter with its metadata changed (null value: key removed) and layer 2's gate replaced when given. */
    Path copy(String name, String gates, float[] layer2Gate) throws Exception {
        Path out = tmp.resolve(name);
        try (SafeTensors st = SafeTensors.open(CASE.resolve("adapter.safetensors"))) {
            Map<String, SafeTensorsWriter.Tensor> t = new LinkedHashMap<>();
            for (String n : st.names()) {
                float[] v = n.equals("layers.2.attention.gate") && layer2Gate != null ? layer2Gate : st.floats(n);
                t.put(n, SafeTensorsWriter.Tensor.of(DType.F32, st.info(n).shape(), v));
            }
            Map<String, String> meta = new LinkedHashMap<>(st.metadata());
            if (gates == null) meta.remove("gates");
            else meta.put("gates", gates);
            SafeTensorsWriter.write(out, t, meta);
        }
        return out;
    }

    @Test
    void thePerHeadPathWithEqualHeadsIsTheSameModelAndItsGradientsSumToTheSharedOne() throws Exception {
        Path shared = tmp.resolve("shared.out.safetensors"), perHead = tmp.resolve("per-head.out.safetensors");
        assertThat(dump(CASE.resolve("adapter.safetensors"), shared).rc()).isZero();
        var r = dump(copy("per-head.safetensors", null, null), perHead);
        assertThat(r.rc()).as(r.err()).isZero();
        try (SafeTensors s = SafeTensors.open(shared); SafeTensors h = SafeTensors.open(perHead)) {
            assertThat(s.floats("logits")).containsExactly(h.floats("logits"));
            assertThat(s.floats("loss")).containsExactly(h.floats("loss"));
            assertThat(s.floats("grad.adapter_query.weight")).containsExactly(h.floats("grad.adapter_query.weight"));
            for (int i = 1; i <= 2; i++) {
                String g = "grad.layers." + i + ".attention.gate";
                assertThat(s.info(g).shape()).as("the per-layer param's gradient").containsExactly(1, 1, 1, 1);
                assertThat(h.info(g).shape()).containsExactly(1, H, 1, 1);
                double sum = 0;
                for (float v : h.floats(g)) sum += v;
                assertThat(s.floats(g)[0]).as(g).isEqualTo((float) sum);
                assertThat(Math.abs(sum)).as("the gate does get a gradient").isGreaterThan(1e-4);
            }
        }
    }

    @Test
    void aPerLayerFileWhoseHeadsDifferIsRefusedNamingTheTensor() throws Exception {
        Path bad = copy("bad.safetensors", "per-layer", new float[]{0.1f, 0.1f, 0.2f, 0.1f});
        Path out = tmp.resolve("o.safetensors");
        var r = dump(bad, out);
        assertThat(r.rc()).isEqualTo(2);
        assertThat(r.err()).contains(bad.toString()).contains("layers.2.attention.gate").contains("per-layer").contains("different values per head");
        assertThat(out).doesNotExist();

        Path unknown = copy("unknown.safetensors", "per-token", null);
        var u = dump(unknown, out);
        assertThat(u.rc()).isEqualTo(2);
        assertThat(u.err()).contains(unknown.toString()).contains("per-token").contains("per-head or per-layer");
    }

    @Test
    void inspectAndHelpSayWhatPerLayerGatesAre() {
        var i = FormatsCliTest.run("inspect", CASE.resolve("adapter.safetensors").toString(), "--model", CASE.resolve("model").toString());
        assertThat(i.rc()).as(i.err()).isZero();
        assertThat(i.out()).contains("gates: per-layer").contains("trainable parameters: " + (2 * 4 * 64 + 2) + " (L*K*D + L)")
                .contains("gates = per-layer");
        var help = FormatsCliTest.run("train", "--help");
        assertThat(help.rc()).isZero();
        assertThat(help.out().replaceAll("\\s+", " ")).as("help, its wrapped lines joined").contains("--gates=per-head|per-layer").contains("--peft").contains("--gates per-layer --gate-activation identity")
                .contains("the paper's ablations use per-head gates");
    }
}

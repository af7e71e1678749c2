package dev.llamaadapter.adapter;

import dev.llamaadapter.model.AdaptionPrompts;
import dev.llamaadapter.model.BaseModel;
import dev.llamaadapter.model.BaseSketch;
import dev.llamaadapter.model.GateActivation;
import dev.llamaadapter.model.GgufExport;
import dev.llamaadapter.model.LlamaConfig;
import dev.llamaadapter.model.TestModels;
import dev.llamaadapter.tensor.DType;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Reading a native adapter for a base checks the base's weights, not only its architecture: two random
 * models of one shape (same fingerprint) are told apart, the same model in another dtype is not.
 */
class AdapterBaseIdentityTest {
    static final LlamaConfig SHAPE = LlamaConfig.of(64, 128, 3, 4, 2, 97, false); // whole Q4_0 blocks everywhere

    @TempDir
    Path tmp;
    Path a, b;

    @BeforeEach
    void models() throws Exception {
        a = TestModels.write(tmp.resolve("base-a"), SHAPE, DType.F32, 11);
        b = TestModels.write(tmp.resolve("base-b"), SHAPE, DType.F32, 12);
    }

    /** An adapter as train writes it for base: fingerprint, shape, path and (when withSketch) the weights' sketch. */
    Path adapterFor(Path base, boolean withSketch) throws Exception {
        Map<String, String> meta = new LinkedHashMap<>();
        try (BaseModel m = BaseModel.open(base)) {
            meta.put(AdapterFile.BASE_FINGERPRINT, m.fingerprint());
            meta.put(AdapterFile.BASE_SHAPE, m.shape());
            if (withSketch) meta.put(AdapterFile.BASE_SKETCH, BaseSketch.of(m).encode());
        }
        meta.put("base_model.path", base.toString());
        Path f = tmp.resolve(withSketch ? "adapter.safetensors" : "older-adapter.safetensors");
        AdapterFile.write(f, AdaptionPrompts.init(4, 2, 64, 4, GateActivation.TANH, 1), 3, meta);
        return f;
    }

    @Test
    void anAdapterOfAnotherModelOfTheSameShapeIsRefused() throws Exception {
        Path f = adapterFor(a, true);
        try (BaseModel ma = BaseModel.open(a); BaseModel mb = BaseModel.open(b)) {
            assertThat(mb.fingerprint()).as("same architecture").isEqualTo(ma.fingerprint());
            assertThat(AdapterFile.read(f, ma).prompts().adapterLen).isEqualTo(4);
            assertThatThrownBy(() -> AdapterFile.read(f, mb))
                    .hasMessageContaining(f.toString())
                    .hasMessageContaining(b.toString())
                    .hasMessageContaining(a.toString())
                    .hasMessageContaining("other weights")
                    .hasMessageMatching("(?s).*weight similarity -?0\\.\\d{4} in [a-z_]+, 0\\.90 needed.*");
            // every reader of adapters for a base goes through it
            assertThatThrownBy(() -> AdapterFormats.read(f, mb, null)).hasMessageContaining("other weights");
        }
    }

    @Test
    void theSameModelInAnotherDtypeIsAccepted() throws Exception {
        Path f = adapterFor(a, true);
        try (BaseModel ma = BaseModel.open(a)) {
            for (DType t : new DType[] {DType.F32, DType.F16, DType.BF16, DType.Q8_0, DType.Q4_0}) {
                Path copy = tmp.resolve("a." + t + ".gguf");
                GgufExport.write(ma, t, copy);
                try (BaseModel m = BaseModel.open(copy)) {
                    assertThat(AdapterFile.read(f, m).prompts().adapterLayers).as(t.toString()).isEqualTo(2);
                    BaseSketch.Match match = AdapterFile.baseMatch(f, AdapterFile.read(f, m).metadata(), m);
                    assertThat(match.accepted()).as(t + ": %s", match).isTrue();
                    assertThat(match.exact()).as(t.toString()).isEqualTo(t == DType.F32);
                }
            }
        }
    }

    @Test
    void anAdapterWithoutASketchStillLoadsOnAnyBaseOfItsShape() throws Exception {
        Path f = adapterFor(a, false);
        try (BaseModel mb = BaseModel.open(b)) {
            AdapterFile.Adapter read = AdapterFile.read(f, mb);
            assertThat(read.metadata()).doesNotContainKey(AdapterFile.BASE_SKETCH);
            assertThat(AdapterFile.baseMatch(f, read.metadata(), mb)).isNull();
        }
    }

    @Test
    void aMalformedSketchIsNamedAndALaterVersionIsNotCompared() throws Exception {
        try (BaseModel mb = BaseModel.open(b)) {
            Map<String, String> meta = Map.of(AdapterFile.BASE_SKETCH, "bs1;rows=256;p=32;kinds=q;exact=00;f32=AAAA");
            Path bad = tmp.resolve("bad.safetensors");
            AdapterFile.write(bad, AdaptionPrompts.init(4, 2, 64, 4, GateActivation.TANH, 1), 3, meta);
            assertThatThrownBy(() -> AdapterFile.read(bad, mb)).hasMessageContaining(bad.toString()).hasMessageContaining("base_model.sketch is malformed");
            Path later = tmp.resolve("later.safetensors");
            AdapterFile.write(later, AdaptionPrompts.init(4, 2, 64, 4, GateActivation.TANH, 1), 3, Map.of(AdapterFile.BASE_SKETCH, "bs9;new"));
            assertThat(AdapterFile.read(later, mb).prompts().adapterLen).isEqualTo(4);
        }
    }
}

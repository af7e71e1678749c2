package dev.llamaadapter.model;

import dev.llamaadapter.io.gguf.GgufFile;
import dev.llamaadapter.io.gguf.GgufTensor;
import dev.llamaadapter.io.gguf.GgufValue;
import dev.llamaadapter.io.gguf.GgufWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.function.BiFunction;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A family GGUF that lacks or misstates something is refused naming the file and what the GGUF lacks, by its
 * GGUF name (a tensor, a metadata key), never as a config.json problem.
 */
class FamiliesGgufErrorsTest {
    static final Path DIR = FamiliesGgufTest.DIR;

    @TempDir
    Path tmp;

    /**
     * A copy of a fixture's GGUF with each metadata value passed through edit (null drops the key) and
     * without the tensor named drop.
     */
    Path copy(String family, String drop, BiFunction<String, GgufValue, GgufValue> edit) throws Exception {
        Path out = tmp.resolve(family + "-edited.gguf");
        try (GgufFile f = GgufFile.open(DIR.resolve(family).resolve("model.gguf"))) {
            GgufWriter w = new GgufWriter();
            f.metadata().asMap().forEach((k, v) -> {
                GgufValue e = k.equals("general.alignment") ? null : edit.apply(k, v);
                if (e != null) w.put(k, e);
            });
            for (GgufTensor t : f.tensors())
                if (!t.name().equals(drop)) w.tensor(t.name(), t.type(), t.ne(), t.data());
            w.write(out);
        }
        return out;
    }

    @Test
    void aMissingFamilyTensorIsNamedByItsGgufName() throws Exception {
        Path p = copy("qwen2", "blk.1.attn_k.bias", (k, v) -> v);
        assertThatThrownBy(() -> BaseModel.open(p)).hasMessageStartingWith(p.toString())
                .hasMessageContaining("blk.1.attn_k.bias").hasMessageContaining("not found").hasMessageNotContaining("config.json");
        Path g = copy("gemma2", "blk.0.post_ffw_norm.weight", (k, v) -> v);
        assertThatThrownBy(() -> BaseModel.open(g)).hasMessageContaining("blk.0.post_ffw_norm.weight").hasMessageContaining("not found");
        Path phi = copy("phi3", "blk.1.attn_qkv.weight", (k, v) -> v);
        assertThatThrownBy(() -> BaseModel.open(phi)).hasMessageContaining("blk.1.attn_qkv.weight").hasMessageContaining("not found");
    }

    @Test
    void anUnknownArchitectureIsRefusedByName() throws Exception {
        Path p = copy("llama", null, (k, v) -> k.equals("general.architecture") ? GgufValue.string("falcon") : v);
        assertThatThrownBy(() -> BaseModel.open(p)).hasMessageStartingWith(p.toString())
                .hasMessageContaining("architecture \"falcon\" is not supported").hasMessageContaining("\"qwen2\"");
    }

    @Test
    void missingMetadataIsNamedWithTheArchitecturesPrefix() throws Exception {
        Path p = copy("phi3", null, (k, v) -> k.equals("phi3.block_count") ? null : v);
        assertThatThrownBy(() -> BaseModel.open(p)).hasMessageContaining("missing metadata 'phi3.block_count'");
    }

    @Test
    void unsupportedRopeIsRefused() throws Exception {
        // mistral's file is a plain llama one; its rope.freq_base entry becomes a yarn scaling type instead
        Path yarn = copy("mistral", null, (k, v) -> k.equals("llama.rope.freq_base") ? GgufValue.string("yarn") : v);
        Path renamed = tmp.resolve("yarn.gguf");
        try (GgufFile f = GgufFile.open(yarn)) {
            GgufWriter w = new GgufWriter();
            f.metadata().asMap().forEach((k, v) -> {
                if (!k.equals("general.alignment")) w.put(k.equals("llama.rope.freq_base") ? "llama.rope.scaling.type" : k, v);
            });
            for (GgufTensor t : f.tensors()) w.tensor(t.name(), t.type(), t.ne(), t.data());
            w.write(renamed);
        }
        assertThatThrownBy(() -> BaseModel.open(renamed)).hasMessageStartingWith(renamed.toString())
                .hasMessageContaining("llama.rope.scaling.type = \"yarn\"").hasMessageContaining("not supported");
    }

    @Test
    void aRopeFreqsTensorOfTheWrongSizeIsNamed() throws Exception {
        Path p = copy("llama", null, (k, v) -> k.equals("llama.rope.dimension_count") ? v : v);
        Path bad = tmp.resolve("bad-freqs.gguf");
        try (GgufFile f = GgufFile.open(p)) {
            GgufWriter w = new GgufWriter();
            f.metadata().asMap().forEach((k, v) -> { if (!k.equals("general.alignment")) w.put(k, v); });
            for (GgufTensor t : f.tensors())
                if (t.name().equals("rope_freqs.weight")) w.tensor(t.name(), t.type(), new long[] {2}, t.data().asSlice(0, 8));
                else w.tensor(t.name(), t.type(), t.ne(), t.data());
            w.write(bad);
        }
        assertThatThrownBy(() -> BaseModel.open(bad)).hasMessageContaining("rope_freqs.weight").hasMessageContaining("expected F32 [4]");
    }
}

package dev.llamaadapter.generate;

import dev.llamaadapter.model.BaseModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A directory of adapters in all three formats loads over one base; the same adapter reads the same in each. */
class AdapterRegistryTest {
    static final Path CASE = Path.of("src/test/resources/parity/interop-identity");

    @TempDir
    Path tmp;

    @Test
    void loadsNativeOfficialAndPeftAdaptersFromADirectory() throws Exception {
        Files.copy(CASE.resolve("adapter.safetensors"), tmp.resolve("native.safetensors"));
        Files.copy(CASE.resolve("formats/official.pth"), tmp.resolve("official.pth"));
        Path peft = Files.createDirectories(tmp.resolve("peft"));
        try (var files = Files.list(CASE.resolve("formats/peft"))) {
            for (Path f : files.toList()) Files.copy(f, peft.resolve(f.getFileName()));
        }
        Files.writeString(tmp.resolve("notes.txt"), "not an adapter");
        Files.copy(CASE.resolve("adapter.safetensors"), tmp.resolve("run.ckpt.safetensors")); // a training checkpoint: skipped
        try (BaseModel base = BaseModel.open(CASE.resolve("model"))) {
            AdapterRegistry r = new AdapterRegistry(base, base.transformer());
            r.loadDirectory(tmp);
            assertThat(r.list()).extracting(AdapterRegistry.Entry::name).containsExactly("native", "official", "peft");
            long bytes = r.get("native").prompts().bytes();
            assertThat(r.get("official").prompts().bytes()).isEqualTo(bytes);
            assertThat(r.get("peft").prompts().bytes()).isEqualTo(bytes);
            assertThat(r.unload("peft")).isTrue();
            assertThat(r.get("peft")).isNull();
            assertThatThrownBy(() -> r.load("x", tmp.resolve("notes.txt"))).hasMessageContaining("notes.txt");
        }
    }
}

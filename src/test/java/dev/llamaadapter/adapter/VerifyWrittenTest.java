package dev.llamaadapter.adapter;

import dev.llamaadapter.adapter.AdapterFormats.Format;
import dev.llamaadapter.model.AdaptionPrompts;
import dev.llamaadapter.model.BaseModel;
import dev.llamaadapter.model.GateActivation;
import dev.llamaadapter.model.GgufExport;
import dev.llamaadapter.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * What train, convert, quantize and train --full run after writing: the file reads back as what was
 * written, or the run fails naming the file (issue #19: a written adapter that would not load).
 */
class VerifyWrittenTest {
    static final int N = 4;

    @TempDir
    Path tmp;

    static AdaptionPrompts adapter(GateActivation act, long seed) {
        AdaptionPrompts p = AdaptionPrompts.init(3, 2, 16, 4, act, seed);
        for (int i = 0; i < p.gate.length; i++) p.gate[i] = 0.1f * (i / p.heads - 1) + 0.05f; // one value per layer: PEFT holds a scalar gate
        return p;
    }

    @ParameterizedTest
    @EnumSource(Format.class)
    void whatWasWrittenReadsBackInEveryFormatAndActivation(Format f) throws Exception {
        for (GateActivation act : GateActivation.values()) {
            AdaptionPrompts p = adapter(act, 3);
            Path out = tmp.resolve(f.id() + "-" + act.id() + (f == Format.PEFT ? "" : f == Format.OFFICIAL ? ".pth" : ".safetensors"));
            AdapterFormats.write(f, out, p, N, Map.of(), null);
            assertThatCode(() -> AdapterFormats.verifyWritten(f, out, p, N)).as("%s %s", f, act).doesNotThrowAnyException();
        }
    }

    @Test
    void aFileThatDiffersOrDoesNotLoadIsAnErrorNamingIt() throws Exception {
        AdaptionPrompts p = adapter(GateActivation.TANH, 3);
        Path out = tmp.resolve("a.safetensors");
        AdapterFormats.write(Format.NATIVE, out, adapter(GateActivation.TANH, 4), N, Map.of(), null);
        assertThatThrownBy(() -> AdapterFormats.verifyWritten(Format.NATIVE, out, p, N))
                .hasMessageContaining(out.toString()).hasMessageContaining("reads back different").hasMessageContaining("adapter_query.weight");

        AdaptionPrompts gates = adapter(GateActivation.TANH, 3);
        for (int h = 0; h < gates.heads; h++) gates.gate[gates.heads + h] += 0.5f;
        AdapterFormats.write(Format.NATIVE, out, gates, N, Map.of(), null);
        assertThatThrownBy(() -> AdapterFormats.verifyWritten(Format.NATIVE, out, p, N)).hasMessageContaining("gate weight 4");

        AdapterFormats.write(Format.NATIVE, out, p, N, Map.of(), null);
        try (RandomAccessFile raf = new RandomAccessFile(out.toFile(), "rw")) {
            raf.setLength(raf.length() - 4);
        }
        assertThatThrownBy(() -> AdapterFormats.verifyWritten(Format.NATIVE, out, p, N))
                .hasMessageContaining(out.toString()).hasMessageContaining("does not read back");
        assertThatThrownBy(() -> AdapterFormats.verifyWritten(Format.OFFICIAL, out, p, N)).hasMessageContaining("reads back as native");
    }

    @Test
    void aModelReadsBackAsTheSameArchitectureOrTheRunFails() throws Exception {
        try (BaseModel base = BaseModel.open(Path.of("src/test/resources/parity/interop-identity/model"))) {
            Path gguf = tmp.resolve("m.gguf");
            GgufExport.write(base, DType.Q8_0, gguf);
            assertThatCode(() -> BaseModel.verifyWritten(gguf, base)).doesNotThrowAnyException();
            try (RandomAccessFile raf = new RandomAccessFile(gguf.toFile(), "rw")) {
                raf.setLength(raf.length() / 2);
            }
            assertThatThrownBy(() -> BaseModel.verifyWritten(gguf, base)).hasMessageContaining(gguf.toString()).hasMessageContaining("does not load");
            try (BaseModel other = BaseModel.open(Path.of("src/test/resources/parity/mha-tanh/model"))) {
                Path dir = tmp.resolve("other");
                Files.createDirectories(dir);
                GgufExport.write(other, DType.F32, dir.resolve("o.gguf"));
                if (!other.shape().equals(base.shape()))
                    assertThatThrownBy(() -> BaseModel.verifyWritten(dir.resolve("o.gguf"), base)).hasMessageContaining("reads back as " + other.shape());
            }
        }
    }
}

package dev.llamaadapter.cli;

import dev.llamaadapter.io.gguf.GgmlType;
import dev.llamaadapter.io.gguf.GgufException;
import dev.llamaadapter.io.gguf.GgufFile;
import dev.llamaadapter.model.BaseModel;
import dev.llamaadapter.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;

import static dev.llamaadapter.cli.BaseIdentityCliTest.run;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Messages about GGUF files the engine cannot run, on this repository's Q3_K case with two tensors relabelled
 * IQ3_S (same 110-byte super-block, a type the engine does not read): loading names the tensor, its type and
 * the supported types; {@code inspect} still describes the whole file (architecture, metadata, tokenizer,
 * every tensor's type and shape) and says what is missing; an unknown type number names file and tensor.
 */
class GgufInspectTest {
    static final Path Q3_K = Path.of("src/test/resources/parity/gguf/Q3_K/model.gguf");

    @TempDir
    Path tmp;

    /** The Q3_K case with these tensors' type fields set to the ggml type number id. */
    Path relabelled(String name, int id, String... tensors) throws IOException {
        byte[] bytes = Files.readAllBytes(Q3_K);
        try (GgufFile f = GgufFile.open(Q3_K)) {
            for (String t : tensors)
                MemorySegment.ofArray(bytes).set(ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN),
                        typeFieldOf(bytes, t, f.dataOffset()), id);
        }
        Path p = tmp.resolve(name);
        Files.write(p, bytes);
        return p;
    }

    /** Byte offset of a tensor info's ggml type field: after its name (u64 length, bytes), dimension count (u32) and dimensions (u64 each). */
    static long typeFieldOf(byte[] file, String name, long headerEnd) {
        byte[] key = name.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        for (int at = 8; at + 8 + key.length < headerEnd; at++)
            if (b.getLong(at) == key.length && java.util.Arrays.equals(file, at + 8, at + 8 + key.length, key, 0, key.length)) {
                int dims = b.getInt(at + 8 + key.length);
                if (dims >= 1 && dims <= 4) return at + 8L + key.length + 4 + 8L * dims;
            }
        throw new AssertionError(name + " not found in the header");
    }

    @Test
    void anUnsupportedTypeIsNamedWithTheTensorAndTheSupportedTypes() throws IOException {
        Path p = relabelled("iq3s.gguf", GgmlType.IQ3_S.id, "blk.1.ffn_down.weight");
        assertThatThrownBy(() -> BaseModel.open(p).close()).isInstanceOf(IOException.class).hasMessageStartingWith(p.toString())
                .hasMessageContaining("blk.1.ffn_down.weight").hasMessageContaining("IQ3_S").hasMessageContaining("not supported")
                .hasMessageContaining("Q2_K").hasMessageContaining("Q3_K").hasMessageContaining("IQ4_XS").hasMessageContaining("Q5_1");
    }

    @Test
    void inspectDescribesAFileItCannotRunAndSaysWhatIsMissing() throws IOException {
        Path p = relabelled("iq3s.gguf", GgmlType.IQ3_S.id, "blk.1.ffn_down.weight", "blk.0.attn_q.weight");
        BaseIdentityCliTest.Run r = run("inspect", p.toString());
        assertThat(r.rc()).as(r.err()).isZero();
        assertThat(r.out()).contains("format: GGUF v3").contains("architecture: llama").contains("llama.block_count = 2")
                .contains("tokenizer.ggml.tokens = STRING[512]")          // long arrays summarised
                .contains("tokenizer: llama, pre-tokenizer default, 512 tokens, bos 1, eos 2")
                .containsPattern("blk\\.0\\.attn_q\\.weight\\s+IQ3_S\\s+\\[256, 256\\]\\s+\\(type not supported\\)")
                .containsPattern("blk\\.0\\.attn_k\\.weight\\s+Q3_K\\s+\\[64, 256\\]\\n")
                .containsPattern("output_norm\\.weight\\s+F32\\s+\\[256\\]")
                .contains("tensors: 20 (F32 x5, Q3_K x13, IQ3_S x2)").contains("missing: a reader for IQ3_S (2 tensors: ").contains("supported: F32, F16, BF16")
                .contains("runs here: no: ").contains("IQ3_S");
        for (DType t : DType.weightTypes()) assertThat(r.out()).contains(t.name());
    }

    @Test
    void inspectOfAFileItRunsSaysSo() {
        BaseIdentityCliTest.Run r = run("inspect", Q3_K.toString());
        assertThat(r.rc()).as(r.err()).isZero();
        assertThat(r.out()).contains("architecture: llama").contains("tensors: 20 (F32 x5, Q3_K x15), 853,248 parameters").contains("dtypes: ")
                .contains("fingerprint: ").contains("runs here: yes").doesNotContain("missing:");
    }

    @Test
    void anUnknownTypeNumberNamesFileAndTensor() throws IOException {
        Path p = relabelled("unknown.gguf", 99, "blk.0.ffn_up.weight");
        assertThatThrownBy(() -> GgufFile.open(p).close()).isInstanceOf(GgufException.class).hasMessageStartingWith(p.toString())
                .hasMessageContaining("blk.0.ffn_up.weight").hasMessageContaining("unknown ggml type 99");
        BaseIdentityCliTest.Run r = run("inspect", p.toString());
        assertThat(r.rc()).isNotZero();
        assertThat(r.err()).contains(p.toString()).contains("blk.0.ffn_up.weight").contains("99");
    }

    /** Cut inside the last tensor's blocks: opening names the file and that tensor; inspect says the same. */
    @Test
    void aTruncatedFileNamesFileAndTensor() throws IOException {
        String last;
        long cut;
        try (GgufFile f = GgufFile.open(Q3_K)) {
            var t = f.tensors().stream().max(java.util.Comparator.comparingLong(dev.llamaadapter.io.gguf.GgufTensor::offset)).orElseThrow();
            last = t.name();
            cut = f.dataOffset() + t.offset() + t.data().byteSize() / 2;
        }
        Path p = tmp.resolve("cut.gguf");
        Files.write(p, java.util.Arrays.copyOf(Files.readAllBytes(Q3_K), (int) cut));
        assertThatThrownBy(() -> GgufFile.open(p).close()).isInstanceOf(GgufException.class).hasMessageStartingWith(p.toString())
                .hasMessageContaining(last);
        BaseIdentityCliTest.Run r = run("inspect", p.toString());
        assertThat(r.rc()).isNotZero();
        assertThat(r.err()).contains(p.toString()).contains(last);
    }
}

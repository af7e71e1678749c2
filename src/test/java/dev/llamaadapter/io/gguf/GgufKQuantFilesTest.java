package dev.llamaadapter.io.gguf;

import dev.llamaadapter.model.BaseModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * K-quant GGUF files as llama-quantize writes them (../shared/parity/gguf; skipped when absent) read
 * defensively: cut short, with a corrupt header, with rows that are not whole super-blocks, or holding a
 * tensor of a type the engine lacks, each refused with an IOException that names the file and the tensor.
 */
class GgufKQuantFilesTest {
    static final Path Q4_K_M = Path.of("../shared/parity/gguf/Q4_K_M/model.gguf");
    static final Path Q4_0_MIX = Path.of("../shared/parity/gguf/Q4_0/model.gguf");

    @TempDir
    Path tmp;

    /** The file's block geometry for each type the engine reads is the engine's own. */
    @Test
    void ggmlBlockGeometryIsTheFormats() {
        for (GgmlType t : GgmlType.values())
            if (t.dtype != null && t.dtype.isQuantized()) {
                assertThat(t.blockSize).as(t.name()).isEqualTo(t.dtype.format().blockElements());
                assertThat(t.blockBytes).as(t.name()).isEqualTo(t.dtype.format().blockBytes());
                assertThat(t.name()).isEqualTo(t.dtype.name());
            }
        assertThat(GgmlType.of(12).dtype).isNotNull();
        assertThat(GgmlType.of(14).dtype).isNotNull();
    }

    @Test
    void truncatedKQuantDataIsRefusedNamingFileAndTensor() throws IOException {
        assumeTrue(Files.isRegularFile(Q4_K_M), "../shared absent");
        byte[] real = Files.readAllBytes(Q4_K_M);
        long dataOffset;
        String last;
        try (GgufFile f = GgufFile.open(Q4_K_M)) {
            dataOffset = f.dataOffset();
            last = f.tensors().stream().max((a, b) -> Long.compare(a.offset(), b.offset())).orElseThrow().name();
        }
        Path p = tmp.resolve("cut.gguf");
        Files.write(p, Arrays.copyOf(real, real.length - 1));
        assertThatThrownBy(() -> BaseModel.open(p)).isInstanceOf(IOException.class).hasMessageStartingWith(p.toString())
                .hasMessageContaining("'" + last + "'").hasMessageContaining("beyond the end");
        Random r = new Random(3);
        for (int trial = 0; trial < 20; trial++) {
            int n = (int) (dataOffset + r.nextInt((int) (real.length - dataOffset)));
            Files.write(p, Arrays.copyOf(real, n));
            assertThatThrownBy(() -> BaseModel.open(p).close()).as("cut at %d", n).isInstanceOf(IOException.class)
                    .hasMessageStartingWith(p.toString()).hasMessageContaining("tensor '");
        }
    }

    /** Random byte changes in the header: the model opens, or an IOException names the file. */
    @Test
    void corruptKQuantHeadersAreRefusedCleanly() throws IOException {
        assumeTrue(Files.isRegularFile(Q4_K_M), "../shared absent");
        byte[] real = Files.readAllBytes(Q4_K_M);
        long headerEnd;
        try (GgufFile f = GgufFile.open(Q4_K_M)) {
            headerEnd = f.dataOffset();
        }
        Path p = tmp.resolve("bad.gguf");
        Random r = new Random(12);
        for (int trial = 0; trial < 120; trial++) {
            byte[] bad = real.clone();
            for (int k = 0; k < 1 + r.nextInt(3); k++) bad[r.nextInt((int) headerEnd)] = (byte) r.nextInt(256);
            Files.write(p, bad);
            try (BaseModel m = BaseModel.open(p)) {
                assertThat(m).isNotNull(); // a change that still makes a valid model (e.g. inside a token string)
            } catch (IOException expected) {
                assertThat(expected.getMessage()).as("trial %d", trial).startsWith(p.toString());
            }
        }
    }

    /** A hand-written file whose Q4_K tensor has rows of 128: not whole 256-element super-blocks. */
    @Test
    void rowsThatAreNotWholeSuperBlocksAreRefused() throws IOException {
        ByteBuffer b = ByteBuffer.allocate(1024).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(GgufFile.MAGIC).putInt(3).putLong(1).putLong(1);
        str(b, "general.architecture").putInt(8);
        str(b, "llama");
        str(b, "blk.0.attn_q.weight").putInt(2).putLong(128).putLong(2).putInt(12).putLong(0);
        while (b.position() % 32 != 0) b.put((byte) 0);
        b.put(new byte[144]);
        Path p = tmp.resolve("half.gguf");
        Files.write(p, Arrays.copyOf(b.array(), b.position()));
        assertThatThrownBy(() -> GgufFile.open(p)).isInstanceOf(GgufException.class).hasMessageStartingWith(p.toString())
                .hasMessageContaining("blk.0.attn_q.weight").hasMessageContaining("Q4_K").hasMessageContaining("256-element blocks");
    }

    /**
     * The standard Q4_0 mix with its Q6_K output.weight relabelled IQ2_XXS (a type the engine lacks): refused as
     * that tensor's type, listing the supported ones, not as a missing lm_head that config.json should tie.
     */
    @Test
    void anUnsupportedOutputTypeIsNamedNotCalledMissing() throws IOException {
        assumeTrue(Files.isRegularFile(Q4_0_MIX), "../shared absent");
        byte[] bytes = Files.readAllBytes(Q4_0_MIX);
        long typeAt;
        try (GgufFile f = GgufFile.open(Q4_0_MIX)) {
            assertThat(f.tensor("output.weight").type()).isEqualTo(GgmlType.Q6_K);
            typeAt = typeFieldOf(bytes, "output.weight", f.dataOffset());
        }
        MemorySegment.ofArray(bytes).set(java.lang.foreign.ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), typeAt, 16);
        Path p = tmp.resolve("iq2xxs-head.gguf");
        Files.write(p, bytes);
        assertThatThrownBy(() -> BaseModel.open(p)).isInstanceOf(IOException.class).hasMessageStartingWith(p.toString())
                .hasMessageContaining("output.weight").hasMessageContaining("IQ2_XXS").hasMessageContaining("not supported")
                .hasMessageContaining("Q4_K").hasMessageContaining("Q6_K").hasMessageNotContaining("tie_word_embeddings");
    }

    /** Byte offset of the ggml type field of a tensor's info: after its name, dimension count and dimensions. */
    static long typeFieldOf(byte[] file, String name, long headerEnd) {
        byte[] key = name.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        for (int at = 8; at + 8 + key.length < headerEnd; at++)
            if (b.getLong(at) == key.length && Arrays.equals(file, at + 8, at + 8 + key.length, key, 0, key.length)) {
                int dims = b.getInt(at + 8 + key.length);
                if (dims < 1 || dims > 4) continue; // the name inside a metadata string, not a tensor info
                return at + 8L + key.length + 4 + 8L * dims;
            }
        throw new AssertionError(name + " not found in the header");
    }

    static ByteBuffer str(ByteBuffer b, String s) {
        byte[] u = s.getBytes(StandardCharsets.UTF_8);
        return b.putLong(u.length).put(u);
    }
}

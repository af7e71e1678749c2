package dev.llamaadapter.io;

import dev.llamaadapter.model.BaseModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** llama2.c checkpoints: the real stories260K.bin, and broken ones refused with the file named. */
class Llama2cSourceTest {
    static final Path BIN = Path.of("../shared/assets/stories260K/stories260K.bin");

    @TempDir
    Path tmp;

    static byte[] header(int... h) {
        ByteBuffer b = ByteBuffer.allocate(28).order(ByteOrder.LITTLE_ENDIAN);
        for (int v : h) b.putInt(v);
        return b.array();
    }

    @Test
    void readsStories260K() throws IOException {
        assumeTrue(Files.isRegularFile(BIN), "../shared is absent");
        try (Llama2cSource s = Llama2cSource.open(BIN)) {
            assertThat(s.header()).isEqualTo(new Llama2cSource.Header(64, 172, 5, 8, 4, 512, true, 512));
            assertThat(s.names()).hasSize(1 + 5 * 9 + 1).doesNotContain("lm_head.weight");
            assertThat(s.info("model.layers.4.mlp.down_proj.weight").shape()).containsExactly(64, 172);
            // q rows come back in rotate_half order: HF row 1 of head 0 is stored (interleaved) row 2
            var q = s.matrix("model.layers.0.self_attn.q_proj.weight", 64, 64);
            assertThat(q.get(1, 5)).isEqualTo(q.stored().get(2, 5));
            assertThat(q.get(4, 5)).isEqualTo(q.stored().get(1, 5));
        }
    }

    @Test
    void truncatedOrOversizedCheckpointsAreRefused() throws IOException {
        assumeTrue(Files.isRegularFile(BIN), "../shared is absent");
        byte[] real = Files.readAllBytes(BIN);
        for (int n : new int[] {0, 3, 27, 28, 1000, real.length - 4, real.length - 1}) {
            Path p = Files.write(tmp.resolve("cut" + n + ".bin"), Arrays.copyOf(real, n));
            assertThatThrownBy(() -> BaseModel.open(p)).as("cut at %d", n).isInstanceOf(IOException.class)
                    .hasMessageStartingWith(p.toString()).hasMessageContaining(n < 28 ? "too short" : "truncated");
        }
        Path big = Files.write(tmp.resolve("big.bin"), Arrays.copyOf(real, real.length + 8));
        assertThatThrownBy(() -> BaseModel.open(big)).hasMessageStartingWith(big.toString()).hasMessageContaining("needs exactly " + real.length);
    }

    @Test
    void badHeadersAreRefused() throws IOException {
        Path zero = Files.write(tmp.resolve("zero.bin"), header(0, 172, 5, 8, 4, 512, 512));
        assertThatThrownBy(() -> BaseModel.open(zero)).hasMessageStartingWith(zero.toString()).hasMessageContaining("dim = 0");
        Path heads = Files.write(tmp.resolve("heads.bin"), header(64, 172, 5, 7, 4, 512, 512));
        assertThatThrownBy(() -> BaseModel.open(heads)).hasMessageStartingWith(heads.toString()).hasMessageContaining("heads");
        Path huge = Files.write(tmp.resolve("huge.bin"), header(1 << 30, Integer.MAX_VALUE, Integer.MAX_VALUE, 2, 2, -Integer.MAX_VALUE, 1 << 30));
        assertThatThrownBy(() -> BaseModel.open(huge)).hasMessageStartingWith(huge.toString()).hasMessageContaining("absurd");
        Path v1 = Files.write(tmp.resolve("v1.bin"), header(0x616b3432, 1, 0, 0, 0, 0, 0));
        assertThatThrownBy(() -> BaseModel.open(v1)).hasMessageStartingWith(v1.toString()).hasMessageContaining("only the legacy format");
        Path other = Files.write(tmp.resolve("model.pt"), new byte[100]);
        assertThatThrownBy(() -> BaseModel.open(other)).hasMessageStartingWith(other.toString()).hasMessageContaining("not a model");
    }

    @Test
    void tokenizerBesideTheCheckpoint() throws IOException {
        assumeTrue(Files.isRegularFile(BIN), "../shared is absent");
        Path copy = Files.copy(BIN, tmp.resolve("stories.bin"));
        try (BaseModel m = BaseModel.open(copy)) {
            assertThatThrownBy(m::tokenizer).hasMessageStartingWith(copy.toString()).hasMessageContaining("tok512.bin");
            Files.copy(BIN.resolveSibling("tok512.bin"), tmp.resolve("tok512.bin"));
            assertThat(m.tokenizer().vocabSize()).isEqualTo(512);
            assertThat(m.bytesOnDisk()).isEqualTo(Files.size(BIN));
            assertThat(m.parameterCount()).isEqualTo(512 * 64 + 5 * (64 + 64 * 64 + 2 * 32 * 64 + 64 * 64 + 64 + 3 * 172 * 64) + 64);
        }
    }
}

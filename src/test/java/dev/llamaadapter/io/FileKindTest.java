package dev.llamaadapter.io;

import dev.llamaadapter.model.BaseModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Format detection by structure: every committed fixture and every shared asset is what its format says;
 * byte patterns that fooled the old first-two-bytes sniffing (a safetensors header length of 1408 reads
 * 80 05, a llama2.c dim of 640 reads 80 02) are no longer taken for pickles.
 */
class FileKindTest {
    static final Path RESOURCES = Path.of("src/test/resources");
    static final Path SHARED = Path.of("../shared");

    @TempDir
    Path tmp;

    @Test
    void everyCommittedFixtureIsDetectedAsItsFormat() throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.walk(RESOURCES)) {
            files = s.filter(Files::isRegularFile).toList();
        }
        int safetensors = 0, torch = 0;
        for (Path f : files) {
            String n = f.getFileName().toString();
            FileKind want = n.endsWith(".safetensors") ? FileKind.SAFETENSORS : n.endsWith(".pth") ? FileKind.TORCH_ZIP
                    : n.endsWith(".gguf") ? FileKind.GGUF : FileKind.UNKNOWN;
            assertThat(FileKind.of(f)).as(f.toString()).isEqualTo(want);
            if (want == FileKind.SAFETENSORS) safetensors++;
            if (want == FileKind.TORCH_ZIP) torch++;
        }
        assertThat(safetensors).isGreaterThan(30);
        assertThat(torch).isGreaterThan(0);
    }

    @Test
    void everySharedModelFileIsDetectedAsItsFormat() throws IOException {
        assumeTrue(Files.isDirectory(SHARED), "../shared absent");
        Path stories = SHARED.resolve("assets/stories260K");
        assertThat(FileKind.of(stories.resolve("stories260K.bin"))).isEqualTo(FileKind.LLAMA2C);
        assertThat(FileKind.of(stories.resolve("stories260K.gguf"))).isEqualTo(FileKind.GGUF);
        assertThat(FileKind.of(stories.resolve("tok512.bin"))).isEqualTo(FileKind.UNKNOWN);
        List<Path> all;
        try (Stream<Path> s = Files.walk(SHARED.resolve("parity"))) {
            all = s.filter(Files::isRegularFile).toList();
        }
        for (Path f : all) {
            String n = f.getFileName().toString();
            if (n.endsWith(".safetensors")) assertThat(FileKind.of(f)).as(f.toString()).isEqualTo(FileKind.SAFETENSORS);
            if (n.endsWith(".gguf")) assertThat(FileKind.of(f)).as(f.toString()).isEqualTo(FileKind.GGUF);
            if (n.endsWith(".pth")) assertThat(FileKind.of(f)).as(f.toString()).isEqualTo(FileKind.TORCH_ZIP);
        }
    }

    @Test
    void aSafetensorsFileWhoseLengthReadsAsAPickleOpcodeIsSafetensors() throws IOException {
        Map<String, SafeTensorsWriter.Tensor> x = Map.of("x", SafeTensorsWriter.Tensor.of(dev.llamaadapter.tensor.DType.F32, new long[]{2}, new float[]{1, 2}));
        byte[] probe = SafeTensorsWriter.header(new java.util.TreeMap<>(x), Map.of("pad", ""));
        int json = probe.length;
        while (probe[json - 1] == ' ') json--; // the JSON's own length, before the writer's padding
        for (int n : new int[]{640, 896, 1152, 1408, 65536 + 640}) {
            Path f = tmp.resolve("h" + n + ".safetensors");
            SafeTensorsWriter.write(f, x, Map.of("pad", "x".repeat(n - json)));
            ByteBuffer head = ByteBuffer.wrap(Files.readAllBytes(f), 0, 10).order(ByteOrder.LITTLE_ENDIAN);
            assertThat(head.getLong(0)).isEqualTo(n);
            assertThat(head.get(0) & 0xff).as("header %d", n).isEqualTo(0x80);
            assertThat(head.get(1)).as("header %d", n).isBetween((byte) 2, (byte) 5);
            assertThat(FileKind.of(f)).as("header %d", n).isEqualTo(FileKind.SAFETENSORS);
            try (SafeTensors st = SafeTensors.open(f)) {
                assertThat(st.floats("x")).containsExactly(1, 2);
            }
        }
    }

    @Test
    void pickleAndZipAndGgufByTheirFirstBytes() throws IOException {
        // torch.save's legacy stream: PROTO 2, then LONG1 with the magic number
        assertThat(kindOf(new byte[]{(byte) 0x80, 2, (byte) 0x8a, 10, 0x6c, (byte) 0xfc, (byte) 0x9c, 0x46, (byte) 0xf9, 0x20, 0x6a, (byte) 0xa8, 0x50, 0x19, 0x2e}))
                .isEqualTo(FileKind.PICKLE);
        assertThat(kindOf(new byte[]{'P', 'K', 3, 4, 0, 0, 0, 0, 0, 0})).isEqualTo(FileKind.TORCH_ZIP);
        assertThat(kindOf(new byte[]{'G', 'G', 'U', 'F', 3, 0, 0, 0})).isEqualTo(FileKind.GGUF);
        assertThat(kindOf(new byte[0])).isEqualTo(FileKind.UNKNOWN);
        assertThat(kindOf(new byte[]{'{', '}'})).isEqualTo(FileKind.UNKNOWN);
        assertThat(FileKind.of(tmp.resolve("missing"))).isEqualTo(FileKind.UNKNOWN);
        assertThat(FileKind.of(tmp)).isEqualTo(FileKind.UNKNOWN);
        // a safetensors-looking length whose header does not close is not safetensors
        ByteBuffer b = ByteBuffer.allocate(8 + 16).order(ByteOrder.LITTLE_ENDIAN).putLong(16);
        b.put("{\"a\": 1        ".getBytes());
        assertThat(kindOf(b.array())).isEqualTo(FileKind.UNKNOWN);
        b.put(8 + 15, (byte) '}');
        assertThat(kindOf(b.array())).isEqualTo(FileKind.SAFETENSORS);
    }

    /** dim 640 makes the file start 80 02 00 00, a pickle PROTO opcode: still a llama2.c checkpoint, and it opens. */
    @Test
    void aLlama2cCheckpointWithDim640IsNotTakenForAPickle() throws Exception {
        int[] h = {640, 4, 1, 64, 1, 3, 2}; // D, F, N, H, Hkv, V (shared classifier), seq_len
        long size = Llama2cSource.impliedSize(h);
        assertThat(size).isPositive();
        Path f = tmp.resolve("model.bin");
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            ByteBuffer hb = ByteBuffer.allocate(28).order(ByteOrder.LITTLE_ENDIAN);
            for (int v : h) hb.putInt(v);
            raf.write(hb.array());
            raf.setLength(size);
        }
        assertThat(FileKind.of(f)).isEqualTo(FileKind.LLAMA2C);
        try (BaseModel m = BaseModel.open(f)) {
            assertThat(m.shape()).isEqualTo("D=640 F=4 N=1 H=64 Hkv=1 V=3");
        }
        try (RandomAccessFile raf = new RandomAccessFile(f.toFile(), "rw")) {
            raf.setLength(size + 4); // one value too many: no longer what the header implies
        }
        assertThat(FileKind.of(f)).isEqualTo(FileKind.PICKLE);
    }

    @Test
    void impliedSizeMatchesTheSharedCheckpoint() throws IOException {
        Path bin = SHARED.resolve("assets/stories260K/stories260K.bin");
        assumeTrue(Files.isRegularFile(bin), "../shared absent");
        ByteBuffer hb = ByteBuffer.wrap(Files.readAllBytes(bin), 0, 28).order(ByteOrder.LITTLE_ENDIAN);
        int[] h = new int[7];
        for (int i = 0; i < 7; i++) h[i] = hb.getInt();
        assertThat(Llama2cSource.impliedSize(h)).isEqualTo(Files.size(bin));
        List<int[]> bad = new ArrayList<>(List.of(new int[]{0, 1, 1, 1, 1, 1, 1}, new int[]{6, 1, 1, 4, 1, 1, 1}, new int[]{8, 1, 1, 2, 3, 1, 1},
                new int[]{Integer.MAX_VALUE, Integer.MAX_VALUE, Integer.MAX_VALUE, 1, 1, Integer.MAX_VALUE, Integer.MAX_VALUE}));
        for (int[] b : bad) assertThat(Llama2cSource.impliedSize(b)).isEqualTo(-1);
    }

    private FileKind kindOf(byte[] bytes) throws IOException {
        Path f = Files.createTempFile(tmp, "k", ".x");
        Files.write(f, bytes);
        return FileKind.of(f);
    }
}

package dev.llamaadapter.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llamaadapter.tensor.DType;
import dev.llamaadapter.tensor.WeightMatrix;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SafeTensorsWriterTest {

    @TempDir
    Path dir;

    @Test
    void roundTripAllKinds() throws IOException {
        float[] f32 = {1.5f, -0f, Float.MIN_VALUE, 3.4e38f, Float.NaN, -7.25f};
        float[] bf = {1f, 1.00390625f, -3.14159f, 65504f, 1e-30f, 0f};
        int[] ids = {0, -100, Integer.MAX_VALUE, Integer.MIN_VALUE};
        short[] raw = {0x3f80, (short) 0xbf80};
        MemorySegment bytes = MemorySegment.ofArray(new byte[]{1, 0, 1});
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("gate_activation", "tanh");
        meta.put("note", "ünïcödé \"quoted\"");

        Path f = dir.resolve("all.safetensors");
        new SafeTensorsWriter()
                .put("z.f32", DType.F32, f32, 2, 3)
                .put("a.bf16", DType.BF16, bf, 6)
                .put("m.f16", DType.F16, bf, 3, 2)
                .put("ids", DType.I32, ids, 2, 2)
                .put("ids64", DType.I64, ids, 4)
                .put("raw", DType.BF16, raw, 2)
                .put("mask", DType.BOOL, bytes, 3)
                .put("scalar", DType.F32, new float[]{42f})
                .put("empty", DType.F32, new float[0], 0, 5)
                .metadata(meta)
                .write(f);

        try (SafeTensors st = SafeTensors.open(f)) {
            assertThat(st.names()).containsExactly("a.bf16", "empty", "ids", "ids64", "m.f16", "mask", "raw", "scalar", "z.f32");
            assertThat(st.metadata()).containsExactlyEntriesOf(meta);
            assertThat(st.floats("z.f32")).usingElementComparator(SafeTensorsWriterTest::sameBits).containsExactly(f32);
            assertThat(st.info("z.f32").shape()).containsExactly(2, 3);
            float[] rounded = new float[bf.length];
            for (int i = 0; i < bf.length; i++) rounded[i] = DType.bf16ToFloat(DType.floatToBf16(bf[i]));
            assertThat(st.floats("a.bf16")).containsExactly(rounded);
            assertThat(st.info("a.bf16").dtype()).isEqualTo(DType.BF16);
            float[] halves = new float[bf.length];
            for (int i = 0; i < bf.length; i++) halves[i] = Float.float16ToFloat(Float.floatToFloat16(bf[i]));
            assertThat(st.matrix("m.f16", 3, 2).toFloats()).containsExactly(halves);
            assertThat(st.ints("ids")).containsExactly(ids);
            assertThat(st.info("ids64").dtype()).isEqualTo(DType.I64);
            assertThat(st.ints("ids64")).containsExactly(ids);
            assertThat(st.floats("raw")).containsExactly(1f, -1f);
            assertThat(st.info("mask").data().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE)).containsExactly(1, 0, 1);
            assertThat(st.info("scalar").shape()).isEmpty();
            assertThat(st.floats("scalar")).containsExactly(42f);
            assertThat(st.info("empty").numel()).isZero();
        }
    }

    @Test
    void headerIsPaddedSortedAndContiguous() throws IOException {
        Path f = dir.resolve("layout.safetensors");
        new SafeTensorsWriter()
                .put("b", DType.F32, new float[3], 3)
                .put("a", DType.BF16, new float[1], 1)
                .metadata("k", "v")
                .write(f);
        byte[] all = Files.readAllBytes(f);
        long n = ByteBuffer.wrap(all, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertThat(n % 8).isZero();
        String header = new String(all, 8, (int) n, java.nio.charset.StandardCharsets.UTF_8);
        assertThat(header).startsWith("{\"a\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[0,2]},\"b\":");
        assertThat(header.strip()).endsWith(",\"__metadata__\":{\"k\":\"v\"}}");
        JsonNode h = new ObjectMapper().readTree(header);
        assertThat(h.get("b").get("data_offsets").toString()).isEqualTo("[2,14]");
        assertThat(all.length).isEqualTo(8 + n + 14);
    }

    @Test
    void weightMatrixAndTensorInfoCopyAsIs() throws IOException {
        float[] v = {1, 2, 3, 4, 5, 6};
        Path f = dir.resolve("w.safetensors");
        try (Arena arena = Arena.ofConfined()) {
            new SafeTensorsWriter().put(WeightMatrix.of("w", DType.BF16, v, 2, 3, arena)).write(f);
        }
        Path g = dir.resolve("copy.safetensors");
        try (SafeTensors st = SafeTensors.open(f)) {
            assertThat(st.matrix("w", 2, 3).dtype()).isEqualTo(DType.BF16);
            new SafeTensorsWriter().put("w", SafeTensorsWriter.Tensor.of(st.info("w"))).write(g);
        }
        assertThat(Files.readAllBytes(g)).isEqualTo(Files.readAllBytes(f));
    }

    @Test
    void rewritingAParityFileGivesTheSameBytes() throws IOException {
        Path c = Path.of("../shared/parity/cases/mha-tanh");
        Assumptions.assumeTrue(Files.isDirectory(c), "no ../shared parity cases here");
        for (String name : List.of("adapter.safetensors", "batch.safetensors", "expected.safetensors", "model/model.safetensors")) {
            Path out = dir.resolve(name.replace('/', '_'));
            try (SafeTensors st = SafeTensors.open(c.resolve(name))) {
                Map<String, SafeTensorsWriter.Tensor> all = new LinkedHashMap<>();
                for (String t : st.names()) all.put(t, SafeTensorsWriter.Tensor.of(st.info(t)));
                SafeTensorsWriter.write(out, all, st.metadata());
            }
            assertThat(Files.readAllBytes(out)).as(name).isEqualTo(Files.readAllBytes(c.resolve(name)));
        }
    }

    @Test
    void replacesAtomicallyAndLeavesNoTemporaryFiles() throws IOException {
        Path f = dir.resolve("adapter.safetensors");
        new SafeTensorsWriter().put("x", DType.F32, new float[]{1, 2}, 2).write(f);
        try (SafeTensors old = SafeTensors.open(f)) {
            new SafeTensorsWriter().put("x", DType.F32, new float[]{3, 4, 5}, 3).write(f);
            // the old mapping still sees the old file: the new one replaced it by rename, not in place
            assertThat(old.floats("x")).containsExactly(1, 2);
        }
        try (SafeTensors st = SafeTensors.open(f)) {
            assertThat(st.floats("x")).containsExactly(3, 4, 5);
        }
        try (Stream<Path> s = Files.list(dir)) {
            assertThat(s.map(p -> p.getFileName().toString())).containsExactly("adapter.safetensors");
        }
    }

    @Test
    void failedWriteKeepsTheOldFile() throws IOException {
        Path f = dir.resolve("keep.safetensors");
        new SafeTensorsWriter().put("x", DType.F32, new float[]{1, 2}, 2).write(f);
        byte[] before = Files.readAllBytes(f);
        Arena arena = Arena.ofConfined();
        MemorySegment gone = arena.allocate(8);
        arena.close(); // reading it while writing fails half way through the file
        SafeTensorsWriter w = new SafeTensorsWriter().put("a", DType.F32, new float[]{1}, 1).put("b", DType.F32, gone, 2);
        assertThatThrownBy(() -> w.write(f)).isInstanceOf(IllegalStateException.class);
        assertThat(Files.readAllBytes(f)).isEqualTo(before);
        try (Stream<Path> s = Files.list(dir)) {
            assertThat(s.map(p -> p.getFileName().toString())).containsExactly("keep.safetensors");
        }
    }

    @Test
    void rejectsInconsistentInput() {
        SafeTensorsWriter w = new SafeTensorsWriter().put("x", DType.F32, new float[2], 2);
        assertThatThrownBy(() -> w.put("x", DType.F32, new float[2], 2)).hasMessageContaining("'x'");
        assertThatThrownBy(() -> w.put("y", DType.F32, new float[3], 2, 2)).hasMessageContaining("[2, 2]");
        assertThatThrownBy(() -> w.put("__metadata__", DType.F32, new float[1], 1)).hasMessageContaining("reserved");
        assertThatThrownBy(() -> w.put("z", DType.I32, new float[1], 1)).hasMessageContaining("I32");
    }

    private static int sameBits(float a, float b) {
        return Integer.compare(Float.floatToRawIntBits(a), Float.floatToRawIntBits(b));
    }
}

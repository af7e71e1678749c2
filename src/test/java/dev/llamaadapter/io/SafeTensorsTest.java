package dev.llamaadapter.io;

import dev.llamaadapter.tensor.DType;
import dev.llamaadapter.tensor.WeightMatrix;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Reading one safetensors file: the typed readers, and one test per malformed input. */
class SafeTensorsTest {

    @TempDir
    Path dir;

    private Path small() throws IOException {
        Path f = dir.resolve("small.safetensors");
        new SafeTensorsWriter()
                .put("w", DType.F32, new float[]{1, 2, 3, 4, 5, 6}, 2, 3)
                .put("b", DType.BF16, new float[]{0.5f, -2f, 3f}, 3)
                .put("ids", DType.I32, new int[]{7, -100, 3}, 1, 3)
                .put("ids64", DType.I64, new int[]{1, 2}, 2)
                .metadata("adapter_len", "10")
                .write(f);
        return f;
    }

    @Test
    void typedReaders() throws IOException {
        Path f = small();
        try (SafeTensors st = SafeTensors.open(f)) {
            assertThat(st.path()).isEqualTo(f);
            assertThat(st.names()).containsExactly("b", "ids", "ids64", "w"); // the writer sorts by name
            assertThat(st.metadata()).containsExactly(java.util.Map.entry("adapter_len", "10"));
            assertThat(st.has("w")).isTrue();
            assertThat(st.info("nope")).isNull();

            TensorInfo w = st.info("w");
            assertThat(w.dtype()).isEqualTo(DType.F32);
            assertThat(w.shape()).containsExactly(2, 3);
            assertThat(w.numel()).isEqualTo(6);
            assertThat(w.data().byteSize()).isEqualTo(24);
            assertThat(w.data().isReadOnly()).isTrue();

            WeightMatrix m = st.matrix("w", 2, 3);
            assertThat(m.get(1, 2)).isEqualTo(6f);
            assertThat(m.data().isNative()).isTrue(); // a view of the mapping, not a heap copy
            assertThat(st.floats("w")).containsExactly(1, 2, 3, 4, 5, 6);
            assertThat(st.floats("w", 2, 3)).containsExactly(1, 2, 3, 4, 5, 6);
            assertThat(st.vector("b", 3)).containsExactly(0.5f, -2f, 3f);
            assertThat(st.ints("ids")).containsExactly(7, -100, 3);
            assertThat(st.ints("ids64")).containsExactly(1, 2);
        }
    }

    @Test
    void parityCaseFilesRead() throws IOException {
        Path c = Path.of("../shared/parity/cases/mha-tanh");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isDirectory(c), "no ../shared parity cases here");
        try (SafeTensors a = SafeTensors.open(c.resolve("adapter.safetensors"));
             SafeTensors b = SafeTensors.open(c.resolve("batch.safetensors"))) {
            assertThat(a.metadata()).containsEntry("adapter_len", "4").containsEntry("adapter_layers", "2")
                    .containsEntry("gate_activation", "tanh");
            assertThat(a.floats("adapter_query.weight", 8, 64)).hasSize(8 * 64);
            assertThat(a.floats("layers.2.attention.gate", 1, 4, 1, 1)).hasSize(4);
            int[] labels = b.ints("labels");
            assertThat(b.info("input_ids").shape()).isEqualTo(b.info("labels").shape());
            assertThat(labels).contains(-100);
        }
    }

    @Test
    void closeUnmapsAndIsIdempotent() throws IOException {
        SafeTensors st = SafeTensors.open(small());
        TensorInfo w = st.info("w");
        st.close();
        st.close();
        assertThatThrownBy(() -> w.data().get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0))
                .isInstanceOf(IllegalStateException.class);
    }

    // ---- errors from the typed readers ----

    @Test
    void missingTensor() throws IOException {
        Path f = small();
        try (SafeTensors st = SafeTensors.open(f)) {
            assertThatThrownBy(() -> st.floats("nope"))
                    .isInstanceOf(SafeTensorsException.class)
                    .hasMessage(f + ": tensor 'nope' not found");
            assertThatThrownBy(() -> st.require("nope")).hasMessage(f + ": tensor 'nope' not found");
        }
    }

    @Test
    void matrixShapeDiffersFromConfig() throws IOException {
        Path f = small();
        try (SafeTensors st = SafeTensors.open(f)) {
            assertThatThrownBy(() -> st.matrix("w", 3, 2))
                    .isInstanceOf(SafeTensorsException.class)
                    .hasMessageContaining(f.toString()).hasMessageContaining("'w'")
                    .hasMessageContaining("[2, 3]").hasMessageContaining("expected [3, 2]");
            assertThatThrownBy(() -> st.matrix("b", 1, 3)).hasMessageContaining("'b'").hasMessageContaining("[3]");
            assertThatThrownBy(() -> st.vector("w", 6)).hasMessageContaining("'w'").hasMessageContaining("expected [6]");
        }
    }

    @Test
    void wrongDtypeForReader() throws IOException {
        Path f = small();
        try (SafeTensors st = SafeTensors.open(f)) {
            assertThatThrownBy(() -> st.matrix("ids", 1, 3)).hasMessageContaining(f.toString())
                    .hasMessageContaining("'ids'").hasMessageContaining("I32");
            assertThatThrownBy(() -> st.floats("ids")).hasMessageContaining("'ids'").hasMessageContaining("I32");
            assertThatThrownBy(() -> st.ints("w")).hasMessageContaining("'w'").hasMessageContaining("F32");
        }
    }

    @Test
    void i64OutOfIntRange() throws IOException {
        Path f = dir.resolve("big.safetensors");
        java.lang.foreign.MemorySegment s = java.lang.foreign.MemorySegment.ofArray(new long[]{1, 1L << 40});
        new SafeTensorsWriter().put("ids", DType.I64, s, 2).write(f);
        try (SafeTensors st = SafeTensors.open(f)) {
            assertThatThrownBy(() -> st.ints("ids")).hasMessageContaining(f.toString())
                    .hasMessageContaining("'ids'").hasMessageContaining("element 1");
        }
    }

    // ---- malformed files ----

    @Test
    void fileShorterThanLengthField() throws IOException {
        Path f = Files.write(dir.resolve("tiny.safetensors"), new byte[]{1, 2, 3});
        assertThatThrownBy(() -> SafeTensors.open(f)).isInstanceOf(SafeTensorsException.class)
                .hasMessageContaining(f.toString()).hasMessageContaining("3 bytes");
    }

    @Test
    void headerLengthBeyondFile() throws IOException {
        Path f = RawFiles.write(dir.resolve("long.safetensors"), 1000, "{}".getBytes(), 0);
        assertThatThrownBy(() -> SafeTensors.open(f)).isInstanceOf(SafeTensorsException.class)
                .hasMessageContaining(f.toString()).hasMessageContaining("header length 1000")
                .hasMessageContaining("10 bytes");
    }

    @Test
    void absurdHeaderLength() throws IOException {
        Path f = RawFiles.write(dir.resolve("absurd.safetensors"), -1L, new byte[0], 0);
        assertThatThrownBy(() -> SafeTensors.open(f)).hasMessageContaining(f.toString()).hasMessageContaining("absurd");
        Path g = RawFiles.write(dir.resolve("absurd2.safetensors"), 200_000_000L, new byte[0], 0);
        assertThatThrownBy(() -> SafeTensors.open(g)).hasMessageContaining(g.toString()).hasMessageContaining("absurd");
    }

    @Test
    void missingFile() {
        Path f = dir.resolve("absent.safetensors");
        assertThatThrownBy(() -> SafeTensors.open(f)).isInstanceOf(SafeTensorsException.class)
                .hasMessageContaining(f.toString()).hasMessageContaining("no such file");
    }

    @Test
    void garbageJson() throws IOException {
        Path f = RawFiles.write(dir.resolve("garbage.safetensors"), "{\"w\": {\"dtype\": F32,,", 0);
        assertThatThrownBy(() -> SafeTensors.open(f)).isInstanceOf(SafeTensorsException.class)
                .hasMessageContaining(f.toString()).hasMessageContaining("not valid JSON");
    }

    @Test
    void headerNotAnObject() throws IOException {
        Path f = RawFiles.write(dir.resolve("array.safetensors"), "[1, 2]  ", 0);
        assertThatThrownBy(() -> SafeTensors.open(f)).hasMessageContaining(f.toString()).hasMessageContaining("not a JSON object");
        Path g = RawFiles.write(dir.resolve("empty.safetensors"), "", 0);
        assertThatThrownBy(() -> SafeTensors.open(g)).hasMessageContaining(g.toString()).hasMessageContaining("JSON");
    }

    @Test
    void duplicateTensorName() throws IOException {
        String t = "{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}";
        Path f = RawFiles.write(dir.resolve("dup.safetensors"), "{\"x\":" + t + ",\"x\":" + t + "}", 1);
        assertThatThrownBy(() -> SafeTensors.open(f)).hasMessageContaining(f.toString()).hasMessageContaining("x");
    }

    @Test
    void unknownDtype() throws IOException {
        Path f = RawFiles.write(dir.resolve("dtype.safetensors"),
                "{\"odd\":{\"dtype\":\"F8_E9M9\",\"shape\":[2],\"data_offsets\":[0,2]}}", 2);
        assertThatThrownBy(() -> SafeTensors.open(f)).isInstanceOf(SafeTensorsException.class)
                .hasMessageContaining(f.toString()).hasMessageContaining("'odd'").hasMessageContaining("F8_E9M9")
                .satisfies(e -> assertThat(((SafeTensorsException) e).tensor()).isEqualTo("odd"));
    }

    @Test
    void offsetsBeyondDataBuffer() throws IOException {
        Path f = RawFiles.write(dir.resolve("range.safetensors"),
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[100],\"data_offsets\":[0,400]}}", 16);
        assertThatThrownBy(() -> SafeTensors.open(f)).isInstanceOf(SafeTensorsException.class)
                .hasMessageContaining(f.toString()).hasMessageContaining("'w'")
                .hasMessageContaining("holds only 16 bytes");
    }

    @Test
    void truncatedFile() throws IOException {
        Path f = small();
        long full = Files.size(f);
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
            ch.truncate(full - 5);
        }
        // the last tensor in the data buffer is "w" (names sorted); its end is the file's end
        assertThatThrownBy(() -> SafeTensors.open(f)).isInstanceOf(SafeTensorsException.class)
                .hasMessageContaining(f.toString()).hasMessageContaining("'w'").hasMessageContaining("truncated")
                .hasMessageContaining("expected at least " + full + " bytes, found " + (full - 5));
    }

    @Test
    void byteSizeDiffersFromShape() throws IOException {
        Path f = RawFiles.write(dir.resolve("size.safetensors"),
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,12]}}", 16);
        assertThatThrownBy(() -> SafeTensors.open(f)).isInstanceOf(SafeTensorsException.class)
                .hasMessageContaining(f.toString()).hasMessageContaining("'w'")
                .hasMessageContaining("12 bytes").hasMessageContaining("needs 16 bytes");
    }

    @Test
    void overlappingTensors() throws IOException {
        Path f = RawFiles.write(dir.resolve("overlap.safetensors"),
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                        + "\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}", 24);
        assertThatThrownBy(() -> SafeTensors.open(f)).isInstanceOf(SafeTensorsException.class)
                .hasMessageContaining(f.toString()).hasMessageContaining("'b'").hasMessageContaining("overlaps tensor 'a'");
    }

    @Test
    void emptyTensorsDoNotOverlap() throws IOException {
        Path f = RawFiles.write(dir.resolve("empty-ok.safetensors"),
                "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                        + "\"e\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[8,8]}}", 16);
        try (SafeTensors st = SafeTensors.open(f)) {
            assertThat(st.floats("e")).isEmpty();
        }
    }

    @Test
    void endBeforeBegin() throws IOException {
        Path f = RawFiles.write(dir.resolve("order.safetensors"),
                "{\"w\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[4,0]}}", 8);
        assertThatThrownBy(() -> SafeTensors.open(f)).hasMessageContaining(f.toString()).hasMessageContaining("'w'")
                .hasMessageContaining("end before begin");
    }

    @Test
    void badShapeOrOffsets() throws IOException {
        String[] bad = {
                "{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}",                    // no shape
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}",     // negative
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}",    // not an integer
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}",        // one offset
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}",     // negative offset
                "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":\"0-4\"}}",    // not an array
                "{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}",                        // no dtype
                "{\"w\":[1,2]}",                                                         // entry not an object
        };
        for (int i = 0; i < bad.length; i++) {
            Path f = RawFiles.write(dir.resolve("bad" + i + ".safetensors"), bad[i], 8);
            assertThatThrownBy(() -> SafeTensors.open(f)).as(bad[i]).isInstanceOf(SafeTensorsException.class)
                    .hasMessageContaining(f.toString()).hasMessageContaining("'w'");
        }
    }

    @Test
    void metadataValuesMustBeStrings() throws IOException {
        Path f = RawFiles.write(dir.resolve("meta.safetensors"), "{\"__metadata__\":{\"adapter_len\":10}}", 0);
        assertThatThrownBy(() -> SafeTensors.open(f)).hasMessageContaining(f.toString())
                .hasMessageContaining("adapter_len").hasMessageContaining("must be a string");
    }
}

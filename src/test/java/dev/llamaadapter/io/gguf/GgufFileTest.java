package dev.llamaadapter.io.gguf;

import dev.llamaadapter.model.BaseModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
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

/** The GGUF reader and writer: real files, a round trip of every value type, and broken inputs refused by name. */
class GgufFileTest {
    static final Path STORIES = Path.of("../shared/assets/stories260K/stories260K.gguf");

    @TempDir
    Path tmp;

    @Test
    void readsStories260K() throws IOException {
        assumeTrue(Files.isRegularFile(STORIES), "../shared is absent");
        try (GgufFile f = GgufFile.open(STORIES)) {
            assertThat(f.version()).isEqualTo(3);
            assertThat(f.tensors()).hasSize(48);
            assertThat(f.metadata().keys()).hasSize(19);
            assertThat(f.alignment()).isEqualTo(32);
            assertThat(f.metadata().string("general.architecture")).isEqualTo("llama");
            assertThat(f.metadata().integer("llama.embedding_length")).isEqualTo(64);
            assertThat(f.metadata().number("llama.attention.layer_norm_rms_epsilon")).isEqualTo((double) 1e-5f);
            assertThat(f.metadata().strings("tokenizer.ggml.tokens")).hasSize(512).startsWith("<unk>", "<s>", "</s>");
            GgufTensor e = f.tensor("token_embd.weight");
            assertThat(e.type()).isEqualTo(GgmlType.F32);
            assertThat(e.ne()).containsExactly(64, 512);
            assertThat(e.shape()).containsExactly(512, 64);
            assertThat(e.data().byteSize()).isEqualTo(512 * 64 * 4);
            assertThat(f.dataOffset() % 32).isZero();
        }
    }

    /** Every value type, nested arrays, a custom alignment and tensor bytes survive a write and a read. */
    @Test
    void roundTripsEveryValueType() throws IOException {
        Path p = tmp.resolve("all.gguf");
        GgufValue nested = new GgufValue(GgufValueType.ARRAY, new GgufValue.Array(GgufValueType.ARRAY, new GgufValue.Array[] {
                new GgufValue.Array(GgufValueType.INT16, new long[] {-3, 4}), new GgufValue.Array(GgufValueType.STRING, new String[] {"a", "ü"})}));
        byte[] q8 = new byte[34 * 2];
        for (int i = 0; i < q8.length; i++) q8[i] = (byte) (i * 7);
        GgufWriter w = new GgufWriter()
                .put("general.alignment", GgufValue.uint32(64))
                .put("u8", new GgufValue(GgufValueType.UINT8, 250L))
                .put("i8", new GgufValue(GgufValueType.INT8, -5L))
                .put("u16", new GgufValue(GgufValueType.UINT16, 65000L))
                .put("i16", new GgufValue(GgufValueType.INT16, -30000L))
                .put("u32", GgufValue.uint32(4_000_000_000L))
                .put("i32", GgufValue.int32(-7))
                .put("u64", new GgufValue(GgufValueType.UINT64, 1L << 40))
                .put("i64", new GgufValue(GgufValueType.INT64, -(1L << 40)))
                .put("f32", GgufValue.float32(1.5f))
                .put("f64", new GgufValue(GgufValueType.FLOAT64, Math.PI))
                .put("bool", GgufValue.bool(true))
                .put("str", GgufValue.string("llama 🦙"))
                .put("floats", GgufValue.floats(new float[] {1, -2, 3.25f}))
                .put("ints", GgufValue.int32s(new int[] {1, 2, -3}))
                .put("bools", new GgufValue(GgufValueType.ARRAY, new GgufValue.Array(GgufValueType.BOOL, new boolean[] {true, false})))
                .put("nested", nested)
                .tensor("a", GgmlType.F32, new long[] {3}, MemorySegment.ofArray(new float[] {1, 2, 3}))
                .tensor("b", GgmlType.Q8_0, new long[] {32, 2}, MemorySegment.ofArray(q8));
        w.write(p);
        try (GgufFile f = GgufFile.open(p)) {
            GgufMetadata m = f.metadata();
            assertThat(f.alignment()).isEqualTo(64);
            assertThat(f.dataOffset() % 64).isZero();
            assertThat(m.integer("u8")).isEqualTo(250);
            assertThat(m.integer("i8")).isEqualTo(-5);
            assertThat(m.integer("u16")).isEqualTo(65000);
            assertThat(m.integer("i16")).isEqualTo(-30000);
            assertThat(m.integer("u32")).isEqualTo(4_000_000_000L);
            assertThat(m.integer("i32")).isEqualTo(-7);
            assertThat(m.integer("u64")).isEqualTo(1L << 40);
            assertThat(m.integer("i64")).isEqualTo(-(1L << 40));
            assertThat(m.number("f32")).isEqualTo(1.5);
            assertThat(m.number("f64")).isEqualTo(Math.PI);
            assertThat(m.bool("bool")).isTrue();
            assertThat(m.string("str")).isEqualTo("llama 🦙");
            assertThat(m.floats("floats")).containsExactly(1, -2, 3.25f);
            assertThat(m.ints("ints")).containsExactly(1, 2, -3);
            assertThat(m.get("bools")).isEqualTo(new GgufValue(GgufValueType.ARRAY, new GgufValue.Array(GgufValueType.BOOL, new boolean[] {true, false})));
            assertThat(m.get("nested")).isEqualTo(nested);
            assertThat(f.tensor("a").data().toArray(java.lang.foreign.ValueLayout.JAVA_FLOAT)).containsExactly(1, 2, 3);
            assertThat(f.tensor("b").offset() % 64).isZero();
            assertThat(f.tensor("b").data().toArray(java.lang.foreign.ValueLayout.JAVA_BYTE)).containsExactly(q8);
            assertThatThrownBy(() -> m.string("u8")).isInstanceOf(GgufException.class).hasMessageStartingWith(p.toString()).hasMessageContaining("'u8'");
            assertThatThrownBy(() -> m.intIn("u32", 0, 100)).hasMessageContaining("outside");
        }
        assertThat(Files.list(tmp).map(x -> x.getFileName().toString())).containsExactly("all.gguf"); // no temp files left
    }

    // ---- broken inputs: hand-made bytes ----

    /** A little-endian GGUF byte builder for inputs no writer would produce. */
    static final class Raw {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Raw u32(long v) {
            ByteBuffer b = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) v);
            out.writeBytes(b.array());
            return this;
        }

        Raw u64(long v) {
            out.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array());
            return this;
        }

        Raw str(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            u64(b.length);
            out.writeBytes(b);
            return this;
        }

        Raw header(long tensors, long kvs) {
            return u32(GgufFile.MAGIC).u32(3).u64(tensors).u64(kvs);
        }

        /** A tensor info: name, dims (ne), type, offset. */
        Raw info(String name, long[] ne, long type, long offset) {
            str(name).u32(ne.length);
            for (long d : ne) u64(d);
            return u32(type).u64(offset);
        }

        Raw pad(int align) {
            while (out.size() % align != 0) out.write(0);
            return this;
        }

        Raw zeros(int n) {
            out.writeBytes(new byte[n]);
            return this;
        }

        Path write(Path p) throws IOException {
            return Files.write(p, out.toByteArray());
        }
    }

    private void refused(Path p, String... contains) {
        var a = assertThatThrownBy(() -> GgufFile.open(p).close()).isInstanceOf(GgufException.class).hasMessageStartingWith(p.toString());
        for (String c : contains) a.hasMessageContaining(c);
    }

    @Test
    void badMagicAndVersions() throws IOException {
        refused(new Raw().u32(0x12345678).u32(3).u64(0).u64(0).write(tmp.resolve("magic.gguf")), "not a GGUF file");
        refused(new Raw().u32(GgufFile.MAGIC).u32(1).u64(0).u64(0).write(tmp.resolve("v1.gguf")), "version 1");
        refused(new Raw().u32(GgufFile.MAGIC).u32(0x03000000).u64(0).u64(0).write(tmp.resolve("be.gguf")), "big-endian");
        refused(new Raw().u32(GgufFile.MAGIC).u32(7).u64(0).u64(0).write(tmp.resolve("v7.gguf")), "version 7");
        refused(Files.write(tmp.resolve("empty.gguf"), new byte[0]), "too short");
        refused(Files.write(tmp.resolve("short.gguf"), new byte[] {'G', 'G', 'U', 'F', 3, 0}), "truncated");
        assertThatThrownBy(() -> GgufFile.open(tmp.resolve("missing.gguf"))).isInstanceOf(GgufException.class).hasMessageContaining("no such file");
    }

    @Test
    void absurdCountsAndLengths() throws IOException {
        refused(new Raw().header(1L << 40, 0).zeros(64).write(tmp.resolve("tensors.gguf")), "tensor count", "absurd");
        refused(new Raw().header(0, -1).zeros(64).write(tmp.resolve("kvs.gguf")), "metadata count", "absurd");
        refused(new Raw().header(0, 1).u64(1L << 50).zeros(16).write(tmp.resolve("keylen.gguf")), "metadata key #0", "beyond the end");
        refused(new Raw().header(0, 1).str("k").u32(8).u64(-2).write(tmp.resolve("strlen.gguf")), "metadata 'k'", "beyond the end");
        refused(new Raw().header(0, 1).str("arr").u32(9).u32(6).u64(1L << 40).zeros(8).write(tmp.resolve("arr.gguf")),
                "metadata 'arr'", "array of 1099511627776");
        refused(new Raw().header(0, 1).str("k").u32(13).zeros(8).write(tmp.resolve("vtype.gguf")), "unknown value type 13");
        refused(new Raw().header(0, 1).str("b").u32(7).write(tmp.resolve("bool.gguf")), "metadata 'b'", "truncated");
        refused(new Raw().header(0, 2).str("k").u32(4).u32(1).str("k").u32(4).u32(2).write(tmp.resolve("dup.gguf")), "'k' appears twice");
        refused(new Raw().header(0, 1).str("general.alignment").u32(4).u32(24).write(tmp.resolve("align.gguf")), "not a power of two");
        // nesting arrays without end
        Raw deep = new Raw().header(0, 1).str("deep").u32(9);
        for (int i = 0; i < 20; i++) deep.u32(9).u64(1);
        deep.u32(4).u64(0);
        refused(deep.write(tmp.resolve("deep.gguf")), "nests arrays");
    }

    @Test
    void badTensorInfos() throws IOException {
        // offsets beyond the file: the data section is 32 bytes but the tensor claims 64 floats
        refused(new Raw().header(1, 0).info("w", new long[] {64}, 0, 0).pad(32).zeros(32).write(tmp.resolve("beyond.gguf")),
                "tensor 'w'", "beyond the end of the file");
        refused(new Raw().header(1, 0).info("w", new long[] {4}, 0, 1L << 62).pad(32).zeros(16).write(tmp.resolve("offset.gguf")),
                "tensor 'w'", "beyond the end of the file");
        refused(new Raw().header(1, 0).info("w", new long[] {4}, 0, 8).pad(32).zeros(64).write(tmp.resolve("misaligned.gguf")),
                "tensor 'w'", "not a multiple of the alignment 32");
        refused(new Raw().header(1, 0).info("w", new long[] {4}, 99, 0).pad(32).zeros(64).write(tmp.resolve("type.gguf")),
                "tensor 'w'", "unknown ggml type 99");
        refused(new Raw().header(1, 0).info("w", new long[] {1L << 40, 1L << 40}, 0, 0).pad(32).zeros(64).write(tmp.resolve("huge.gguf")),
                "tensor 'w'", "absurd");
        refused(new Raw().header(1, 0).info("w", new long[] {4, 4, 4, 4, 4}, 0, 0).pad(32).zeros(64).write(tmp.resolve("dims.gguf")),
                "tensor 'w'", "5 dimensions");
        refused(new Raw().header(1, 0).info("w", new long[] {48}, 8, 0).pad(32).zeros(64).write(tmp.resolve("blocks.gguf")),
                "tensor 'w'", "not whole 32-element blocks");
        refused(new Raw().header(2, 0).info("w", new long[] {4}, 0, 0).info("w", new long[] {4}, 0, 32).pad(32).zeros(64).write(tmp.resolve("twice.gguf")),
                "tensor 'w' appears twice");
        refused(new Raw().header(1, 0).info("w", new long[] {-4}, 0, 0).pad(32).zeros(64).write(tmp.resolve("neg.gguf")),
                "tensor 'w'", "absurd dimension");
    }

    /** Every prefix of a real file (and random byte changes) is read or refused with a GgufException: never another exception or a crash. */
    @Test
    void truncatedAndCorruptedRealFilesAreRefusedCleanly() throws IOException {
        assumeTrue(Files.isRegularFile(STORIES), "../shared is absent");
        byte[] real = Files.readAllBytes(STORIES);
        Path p = tmp.resolve("cut.gguf");
        long headerEnd;
        try (GgufFile f = GgufFile.open(STORIES)) {
            headerEnd = f.dataOffset();
        }
        for (int n = 0; n < real.length; n += n < headerEnd + 64 ? 1 + n / 97 : 4099) {
            Files.write(p, Arrays.copyOf(real, n));
            assertThatThrownBy(() -> GgufFile.open(p).close()).as("cut at %d", n).isInstanceOf(GgufException.class)
                    .hasMessageStartingWith(p.toString());
        }
        Files.write(p, Arrays.copyOf(real, real.length - 1));
        refused(p, "blk.4.ffn_norm.weight", "beyond the end");

        Random r = new Random(11);
        int opened = 0;
        for (int trial = 0; trial < 400; trial++) {
            byte[] bad = real.clone();
            for (int k = 0; k < 1 + r.nextInt(3); k++) bad[r.nextInt((int) headerEnd)] = (byte) r.nextInt(256);
            Files.write(p, bad);
            try (BaseModel m = BaseModel.open(p)) {
                opened++; // a change that still makes a valid model (e.g. inside a token string)
            } catch (IOException expected) {
                assertThat(expected.getMessage()).as("trial %d", trial).startsWith(p.toString());
            }
        }
        assertThat(opened).isLessThan(400);
    }

    /** A model tensor of a type the engine does not compute with is refused when loading, by name and type. */
    @Test
    void unsupportedQuantTypeIsRefusedByName() throws IOException {
        Path p = tmp.resolve("iq2.gguf");
        new GgufWriter().put("general.architecture", GgufValue.string("llama"))
                .put("llama.embedding_length", GgufValue.uint32(256)).put("llama.feed_forward_length", GgufValue.uint32(256))
                .put("llama.block_count", GgufValue.uint32(1)).put("llama.attention.head_count", GgufValue.uint32(2))
                .put("llama.vocab_size", GgufValue.uint32(4))
                .tensor("token_embd.weight", GgmlType.IQ2_XXS, new long[] {256, 4}, MemorySegment.ofArray(new byte[4 * 66]))
                .write(p);
        assertThatThrownBy(() -> BaseModel.open(p)).isInstanceOf(IOException.class).hasMessageStartingWith(p.toString())
                .hasMessageContaining("token_embd.weight").hasMessageContaining("IQ2_XXS").hasMessageContaining("not supported")
                .hasMessageContaining("Q4_K, Q5_K, Q6_K");
        Path moe = tmp.resolve("moe.gguf");
        new GgufWriter().put("general.architecture", GgufValue.string("llama")).put("llama.expert_count", GgufValue.uint32(8)).write(moe);
        assertThatThrownBy(() -> BaseModel.open(moe)).hasMessageStartingWith(moe.toString()).hasMessageContaining("mixture-of-experts");
        Path falcon = tmp.resolve("falcon.gguf"); // qwen2, qwen3, phi3 and gemma2 are read (FamiliesGgufTest); others are not
        new GgufWriter().put("general.architecture", GgufValue.string("falcon")).write(falcon);
        assertThatThrownBy(() -> BaseModel.open(falcon)).hasMessageStartingWith(falcon.toString()).hasMessageContaining("\"falcon\" is not supported");
    }
}

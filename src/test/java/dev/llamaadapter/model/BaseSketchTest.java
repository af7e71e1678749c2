package dev.llamaadapter.model;

import dev.llamaadapter.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The weights' sketch ({@link BaseSketch}): deterministic, the same for one model in every format and
 * dtype within quantisation noise, far apart for another model of the same shape. The stories260K test
 * prints the figures the README quotes.
 */
class BaseSketchTest {
    static final Path STORIES = Path.of("../shared/assets/stories260K");
    // whole 32-element blocks everywhere, so Q4_0 reaches every projection; untied head
    static final LlamaConfig SMALL = LlamaConfig.of(64, 128, 2, 4, 2, 97, false);

    @TempDir
    Path tmp;

    static BaseSketch fresh(BaseModel m) {
        return BaseSketch.compute(m.weights(), m.config().tieWordEmbeddings()); // not the per-model cache
    }

    @Test
    void isDeterministicAndRoundTripsThroughItsEncoding() throws Exception {
        Path dir = TestModels.write(tmp.resolve("m"), SMALL, DType.F32, 7);
        String first;
        try (BaseModel m = BaseModel.open(dir)) {
            first = fresh(m).encode();
            assertThat(fresh(m).encode()).isEqualTo(first);
            assertThat(BaseSketch.of(m).encode()).isEqualTo(first);
            assertThat(BaseSketch.of(m)).isSameAs(BaseSketch.of(m));
        }
        try (BaseModel again = BaseModel.open(dir)) {
            assertThat(fresh(again).encode()).as("a second opening of the files").isEqualTo(first);
        }
        BaseSketch s = BaseSketch.decode(first);
        assertThat(s.encode()).isEqualTo(first);
        assertThat(s.kinds()).containsExactly("embed", "q", "k", "v", "o", "gate", "up", "down", "attn_norm", "ffn_norm", "norm", "head");
        BaseSketch.Match self = s.compare(BaseSketch.decode(first));
        assertThat(self.similarity()).isEqualTo(1.0);
        assertThat(self.exact()).isTrue();
        assertThat(first).startsWith("bs1;rows=256;p=32;kinds=embed,q,k,v,o,gate,up,down,attn_norm,ffn_norm,norm,head;exact=");
    }

    @Test
    void otherVersionsAreNotComparedAndMalformedOnesAreErrors() {
        assertThat(BaseSketch.decode("bs2;whatever")).isNull();
        assertThat(BaseSketch.decode("bs1;rows=128;p=32;kinds=q;exact=00;f32=")).as("another row count").isNull();
        assertThatThrownBy(() -> BaseSketch.decode("bs1;rows=256;p=32;kinds=q,k;exact=00;f32=AAAA")).hasMessageContaining("expected 256");
        assertThatThrownBy(() -> BaseSketch.decode("bs1;rows=256;p=32;kinds=q;exact=00")).hasMessageContaining("no f32=");
        assertThatThrownBy(() -> BaseSketch.decode("bs1;rows=256;p=32;kinds=q;exact=00;f32=*")).hasMessageContaining("base64");
    }

    @Test
    void drawsAFixedSetOfDistinctRowsAndReadsOnlyThose() {
        int[] a = BaseSketch.draw(32 * 11008, 42), b = BaseSketch.draw(32 * 11008, 42);
        assertThat(a).hasSize(BaseSketch.ROWS).containsExactly(b);
        assertThat(Arrays.stream(a).distinct().count()).isEqualTo(BaseSketch.ROWS);
        for (int i = 1; i < a.length; i++) assertThat(a[i]).isGreaterThan(a[i - 1]);
        assertThat(a[0]).isGreaterThanOrEqualTo(0);
        assertThat(a[a.length - 1]).isLessThan(32 * 11008);
        assertThat(BaseSketch.draw(100, 42)).as("all rows when there are few").containsExactly(java.util.stream.IntStream.range(0, 100).toArray());
        assertThat(BaseSketch.draw(32 * 11008, 43)).isNotEqualTo(a);
    }

    @Test
    void aQuantisedCopyIsTheSameModelAndAnotherSeedIsNot() throws Exception {
        Path a = TestModels.write(tmp.resolve("a"), SMALL, DType.F32, 1), b = TestModels.write(tmp.resolve("b"), SMALL, DType.F32, 2);
        try (BaseModel ma = BaseModel.open(a); BaseModel mb = BaseModel.open(b)) {
            Path q4 = tmp.resolve("a.q4_0.gguf");
            GgufExport.write(ma, DType.Q4_0, q4);
            BaseSketch ref = BaseSketch.of(ma);
            try (BaseModel mq = BaseModel.open(q4)) {
                assertThat(mq.dtypes()).contains("Q4_0");
                BaseSketch.Match m = BaseSketch.of(mq).compare(ref);
                System.out.printf(Locale.ROOT, "random 64-wide model, every projection Q4_0: similarity %.6f (weakest %s)%n", m.similarity(), m.weakestKind());
                assertThat(m.accepted()).as("Q4_0 copy: %s", m).isTrue();
                assertThat(m.exact()).isFalse();
                assertThat(m.similarity()).isLessThan(1.0);
            }
            BaseSketch.Match other = BaseSketch.of(mb).compare(ref);
            assertThat(other.accepted()).as("another seed: %s", other).isFalse();
            assertThat(other.similarity()).isLessThan(0.5);
        }
    }

    /** The README's table: stories260K in every format and dtype against the F32 safetensors copy, and a random model of its shape. */
    @Test
    void stories260KInEveryFormatIsAcceptedAndARandomCopyRefused() throws Exception {
        assumeTrue(Files.isDirectory(STORIES.resolve("hf")), "../shared is absent");
        try (BaseModel hf = BaseModel.open(STORIES.resolve("hf"))) {
            BaseSketch ref = fresh(hf);
            // adapters keep the sketch: it is a file format, the same bits on every machine; computing it otherwise needs a new VERSION
            assertThat(ref.exact()).isEqualTo("d59a4dcc325e38a6");
            byte[] digest = java.security.MessageDigest.getInstance("SHA-256").digest(ref.encode().getBytes(java.nio.charset.StandardCharsets.UTF_8));
            assertThat(java.util.HexFormat.of().formatHex(digest)).isEqualTo("54829d66bbe1d178ab1212ad737807e9c5d64cd10fb4db6c825229486c52875e");
            long t0 = System.nanoTime();
            fresh(hf);
            double ms = (System.nanoTime() - t0) / 1e6;
            Map<String, Path> copies = new LinkedHashMap<>();
            copies.put("llama2.c .bin", STORIES.resolve("stories260K.bin"));
            copies.put("GGUF (shared copy)", STORIES.resolve("stories260K.gguf"));
            for (DType t : new DType[] {DType.F32, DType.F16, DType.BF16, DType.Q8_0, DType.Q4_0}) {
                Path out = tmp.resolve("stories260K." + t + ".gguf");
                GgufExport.write(hf, t, out);
                copies.put("GGUF " + t, out);
            }
            System.out.printf(Locale.ROOT, "sketch of stories260K: %.2f ms%n", ms);
            for (var e : copies.entrySet()) {
                try (BaseModel m = BaseModel.open(e.getValue())) {
                    BaseSketch.Match match = fresh(m).compare(ref);
                    System.out.printf(Locale.ROOT, "%-20s %-14s similarity %.6f (1 - s = %.1e, weakest %s) exact %s%n", e.getKey(), m.dtypes(),
                            match.similarity(), 1 - match.similarity(), match.weakestKind(), match.exact());
                    assertThat(match.accepted()).as(e.getKey()).isTrue();
                    assertThat(match.similarity()).as(e.getKey()).isGreaterThan(0.99);
                    boolean lossless = m.dtypes().equals("F32");
                    assertThat(match.exact()).as(e.getKey()).isEqualTo(lossless);
                    if (lossless) assertThat(match.similarity()).as(e.getKey()).isEqualTo(1.0);
                }
            }
            for (long seed : new long[] {1, 2, 3}) {
                Path rnd = TestModels.write(tmp.resolve("random" + seed), hf.config(), DType.F32, seed);
                try (BaseModel m = BaseModel.open(rnd)) {
                    BaseSketch.Match match = fresh(m).compare(ref);
                    System.out.printf(Locale.ROOT, "random seed %d      similarity %.6f (weakest %s; best kind %.6f), by kind %s%n", seed,
                            match.similarity(), match.weakestKind(), java.util.Collections.max(match.byKind().values()), match.byKind());
                    assertThat(match.accepted()).isFalse();
                    assertThat(match.similarity()).isLessThan(0.5);
                }
            }
        }
    }
}

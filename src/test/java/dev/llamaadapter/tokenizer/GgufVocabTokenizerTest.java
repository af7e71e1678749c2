package dev.llamaadapter.tokenizer;

import dev.llamaadapter.io.gguf.GgmlType;
import dev.llamaadapter.io.gguf.GgufValue;
import dev.llamaadapter.io.gguf.GgufWriter;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Vocabularies that come as arrays: GGUF metadata (tokenizer.ggml.model "llama" and "gpt2") and llama2.c's
 * tokenizer.bin. Each must tokenize exactly as the reference its vectors came from.
 */
class GgufVocabTokenizerTest {

    static final Path SPM_GGUF = LlamaCppVectorsTokenizerTest.VECTORS.resolve("ggml-vocab-llama-spm.gguf");

    /** llama.cpp's Llama 2 vocabulary-only GGUF reproduces llama.cpp's own test vectors (encode, decode, stream). */
    @TestFactory
    Stream<DynamicTest> llamaSpmGgufReproducesLlamaCppVectors() throws IOException {
        List<VectorEntry> entries = LlamaCppVectorsTokenizerTest.read("ggml-vocab-llama-spm.gguf");
        Tokenizer tok = Tokenizer.load(TestAssets.require(SPM_GGUF));
        assertThat(tok.vocabSize()).isEqualTo(32000);
        assertThat(tok.bosId()).isEqualTo(1);
        assertThat(tok.eosId()).isEqualTo(2);
        return vectors(tok, entries);
    }

    static Stream<DynamicTest> vectors(Tokenizer tok, List<VectorEntry> entries) {
        assertThat(entries).hasSizeGreaterThan(40);
        return entries.stream().map(e -> DynamicTest.dynamicTest(e.describe(), () -> {
            assertThat(tok.encode(e.text())).as("encode %s", e.describe()).containsExactly(e.ids());
            assertThat(tok.decode(e.ids())).as("decode %s", e.describe()).isEqualTo(e.text());
            StreamDecoder d = tok.newStreamDecoder();
            StringBuilder streamed = new StringBuilder();
            for (int id : e.ids()) streamed.append(d.next(id));
            assertThat(streamed.append(d.finish()).toString()).as("stream-decode %s", e.describe()).isEqualTo(e.text());
        }));
    }

    /** The GGUF vocabulary and Meta's tokenizer.model are the same tokenizer, on harder text too. */
    @Test
    void llamaSpmGgufAgreesWithTokenizerModel() throws IOException {
        Tokenizer gguf = Tokenizer.load(TestAssets.require(SPM_GGUF));
        Tokenizer model = Tokenizer.load(TestAssets.require(TestAssets.LLAMA2));
        for (String s : new String[] {"", " ", "Hello world", "  two  spaces ", "naïve café 日本語 🦙\n\ttabs", "<s> not special </s>", "\u0000\u0001"}) {
            assertThat(gguf.encode(s)).as(s).containsExactly(model.encode(s));
            assertThat(gguf.decode(model.encode(s))).isEqualTo(model.decode(model.encode(s)));
        }
        for (int id = 0; id < 32000; id += 97) assertThat(gguf.piece(id)).isEqualTo(model.piece(id));
    }

    /** llama2.c's tok512.bin is the stories260K SentencePiece model: the greedy text round-trips as with tokenizer.model. */
    @Test
    void llama2cTokenizerBinMatchesSentencePieceModel() throws IOException {
        Path dir = TestAssets.require(TestAssets.STORIES);
        Tokenizer bin = Tokenizer.load(dir.resolve("tok512.bin"));
        Tokenizer model = Tokenizer.load(dir.resolve("hf"));
        assertThat(bin.vocabSize()).isEqualTo(512);
        assertThat(bin.bosId()).isEqualTo(1);
        assertThat(bin.eosId()).isEqualTo(2);
        String text = Files.readString(dir.resolve("expected_greedy200.txt"), StandardCharsets.UTF_8);
        int[] ids = Arrays.stream(Files.readString(dir.resolve("expected_greedy200_ids.txt")).strip().split("\\s+"))
                .mapToInt(Integer::parseInt).toArray();
        assertThat(bin.decode(ids)).isEqualTo(text);
        for (String s : new String[] {text, "Once upon a time, Lily met a dragon.", "x y\n\nz", "émoji 🦙"}) {
            assertThat(bin.encode(s)).as(s).containsExactly(model.encode(s));
        }
        // tokenizer.bin does not record SentencePiece's remove_extra_whitespaces (on in tok512.model): it runs as
        // llama2.c's run.c encodes, keeping every space
        assertThat(bin.encode(" x  y")).containsExactly(410, 410, 444, 410, 348);
        assertThat(model.encode(" x  y")).containsExactly(410, 444, 348);
    }

    @Test
    void truncatedOrCorruptTokenizerBinIsRefused(@TempDir Path tmp) throws IOException {
        byte[] real = Files.readAllBytes(TestAssets.require(TestAssets.STORIES.resolve("tok512.bin")));
        Path cut = Files.write(tmp.resolve("cut.bin"), Arrays.copyOf(real, real.length - 3));
        assertThatThrownBy(() -> Tokenizer.load(cut)).isInstanceOf(TokenizerException.class)
                .hasMessageStartingWith(cut.toString()).hasMessageContaining("truncated");
        byte[] bad = real.clone();
        bad[8] = (byte) 0xff; // first token's length becomes huge
        Path corrupt = Files.write(tmp.resolve("corrupt.bin"), bad);
        assertThatThrownBy(() -> Tokenizer.load(corrupt)).isInstanceOf(TokenizerException.class)
                .hasMessageStartingWith(corrupt.toString()).hasMessageContaining("token 0");
    }

    /**
     * A "gpt2" (byte-level BPE) GGUF vocabulary built from Llama 3's tiktoken ranks, as llama.cpp's
     * converter builds one (tokens in GPT-2's byte alphabet, merges generated from the ranks, pre-tokenizer
     * "llama-bpe"), written with GgufWriter and read back, reproduces llama.cpp's Llama 3 vectors.
     */
    @TestFactory
    Stream<DynamicTest> gpt2GgufFromLlama3RanksReproducesLlamaCppVectors(@TempDir Path tmp) throws IOException {
        List<VectorEntry> entries = LlamaCppVectorsTokenizerTest.read("ggml-vocab-llama-bpe.gguf");
        Path ranksFile = TestAssets.require(TestAssets.LLAMA3);
        List<byte[]> ranks = new ArrayList<>();
        try (BufferedReader r = Files.newBufferedReader(ranksFile, StandardCharsets.US_ASCII)) {
            for (String line; (line = r.readLine()) != null; )
                if (!line.isEmpty()) ranks.add(Base64.getDecoder().decode(line.substring(0, line.indexOf(' '))));
        }
        Map<String, Integer> rankOf = new HashMap<>();
        for (int i = 0; i < ranks.size(); i++) rankOf.put(new String(ranks.get(i), StandardCharsets.ISO_8859_1), i);
        List<String> specials = TiktokenTokenizer.llama3SpecialTokens();
        String[] tokens = new String[ranks.size() + specials.size()];
        int[] types = new int[tokens.length];
        List<String> merges = new ArrayList<>();
        for (int i = 0; i < ranks.size(); i++) {
            tokens[i] = ByteLevel.encode(ranks.get(i));
            types[i] = Tokenizers.NORMAL;
            // as Hugging Face's converter (and so Llama 3's tokenizer.json and its GGUF): every split of a token into two
            // tokens is a merge, ranked by the token, splits ordered by the ranks of their left and right parts
            String t = new String(ranks.get(i), StandardCharsets.ISO_8859_1);
            List<int[]> splits = new ArrayList<>();
            for (int k = 1; k < t.length(); k++) {
                Integer l = rankOf.get(t.substring(0, k)), r = rankOf.get(t.substring(k));
                if (l != null && r != null) splits.add(new int[] {l, r});
            }
            splits.sort((a, b) -> a[0] != b[0] ? Integer.compare(a[0], b[0]) : Integer.compare(a[1], b[1]));
            for (int[] sp : splits) merges.add(ByteLevel.encode(ranks.get(sp[0])) + " " + ByteLevel.encode(ranks.get(sp[1])));
        }
        for (int i = 0; i < specials.size(); i++) {
            tokens[ranks.size() + i] = specials.get(i);
            types[ranks.size() + i] = Tokenizers.CONTROL;
        }
        Path gguf = tmp.resolve("llama3-vocab.gguf");
        new GgufWriter()
                .put("general.architecture", GgufValue.string("llama"))
                .put("tokenizer.ggml.model", GgufValue.string("gpt2"))
                .put("tokenizer.ggml.pre", GgufValue.string("llama-bpe"))
                .put("tokenizer.ggml.tokens", GgufValue.strings(tokens))
                .put("tokenizer.ggml.token_type", GgufValue.int32s(types))
                .put("tokenizer.ggml.merges", GgufValue.strings(merges.toArray(String[]::new)))
                .put("tokenizer.ggml.bos_token_id", GgufValue.uint32(128000))
                .put("tokenizer.ggml.eos_token_id", GgufValue.uint32(128001))
                .tensor("unused", GgmlType.F32, new long[] {3}, java.lang.foreign.MemorySegment.ofArray(new byte[12]))
                .write(gguf);
        Tokenizer tok = Tokenizer.load(gguf);
        assertThat(tok.vocabSize()).isEqualTo(128256);
        assertThat(tok.bosId()).isEqualTo(128000);
        assertThat(tok.eosId()).isEqualTo(128001);
        return vectors(tok, entries);
    }
}

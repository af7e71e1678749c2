package dev.llamaadapter.tokenizer;

import dev.llamaadapter.io.gguf.GgmlType;
import dev.llamaadapter.io.gguf.GgufTokenizer;
import dev.llamaadapter.io.gguf.GgufValue;
import dev.llamaadapter.io.gguf.GgufWriter;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A tokenizer.json byte-level BPE written into GGUF metadata ("gpt2": tokens, merges, token_type, pre) as quantize
 * writes it, and read back through the same tokenizer.json machinery: Llama 3.1's reproduces llama.cpp's Llama 3
 * vectors; a pipeline the "gpt2" reader cannot express (Qwen3's NFC and single-digit split) is not written.
 */
class GgufWrittenVocabTokenizerTest {
    static final Path LLAMA31 = TestAssets.SHARED.resolve("tokenizers/hf-llama3_1/tokenizer.json");
    static final Path QWEN3 = TestAssets.SHARED.resolve("tokenizers/hf-qwen3/tokenizer.json");

    @TempDir
    Path tmp;

    Path written(Tokenizer t) throws IOException {
        Map<String, GgufValue> md = new LinkedHashMap<>();
        assertThat(GgufTokenizer.write(t, md)).isTrue();
        GgufWriter w = new GgufWriter().put("general.architecture", GgufValue.string("llama"));
        md.forEach(w::put);
        Path f = tmp.resolve("vocab.gguf");
        w.tensor("unused", GgmlType.F32, new long[] {1}, java.lang.foreign.MemorySegment.ofArray(new byte[4])).write(f);
        return f;
    }

    @TestFactory
    Stream<DynamicTest> llama31TokenizerJsonInGgufReproducesLlamaCppVectors() throws IOException {
        List<VectorEntry> entries = LlamaCppVectorsTokenizerTest.read("ggml-vocab-llama-bpe.gguf");
        Tokenizer hf = Tokenizer.load(TestAssets.require(LLAMA31));
        Tokenizer gguf = Tokenizer.load(written(hf));
        assertThat(gguf.vocabSize()).isEqualTo(hf.vocabSize()).isEqualTo(128256);
        assertThat(gguf.bosId()).isEqualTo(hf.bosId());
        assertThat(gguf.eosId()).isEqualTo(hf.eosId());
        assertThat(gguf.encode("<|start_header_id|>user<|end_header_id|>")).containsExactly(hf.encode("<|start_header_id|>user<|end_header_id|>"));
        return GgufVocabTokenizerTest.vectors(gguf, entries);
    }

    @Test
    void aPipelineGgufCannotHoldIsNotWritten() throws IOException {
        Tokenizer qwen = Tokenizer.load(TestAssets.require(QWEN3));
        assertThat(Tokenizers.byteLevelVocab(qwen)).isNull();
        Map<String, GgufValue> md = new LinkedHashMap<>();
        assertThat(GgufTokenizer.write(qwen, md)).isFalse();
        assertThat(md).isEmpty();
    }
}

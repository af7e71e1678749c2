package dev.llamaadapter.tokenizer;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * llama.cpp's tokenizer test vectors (tests/test-tokenizer-0): every entry of the .inp file must encode to
 * the ids on the same line of the .out file, and decode back (in one go and token by token).
 *
 * <p>File layout, as llama.cpp's convert script writes it and test-tokenizer-0 reads it: each input is
 * followed by the line {@code __ggml_vocab_test__}, i.e. the .inp file is the inputs joined and terminated
 * by {@code "\n__ggml_vocab_test__\n"}, so an input's own newlines are kept and the newline just before a
 * separator is not part of the input. The .out file has one line per input: the ids, each preceded by a
 * space (an empty line for an empty input). The ids were produced without BOS (add_special_tokens=False;
 * test-tokenizer-0 tokenizes with add_special=false): no line starts with 1 or 128000. The Llama 2 (spm)
 * ids include SentencePiece's dummy-prefix space, e.g. "Hello" is "▁Hello" and " Hello" is "▁" "▁Hello".
 */
class LlamaCppVectorsTokenizerTest {

    static final Path VECTORS = Path.of("../shared/assets/tokenizers/llamacpp-test-vectors");
    static final String SEPARATOR = "\n__ggml_vocab_test__\n";

    static List<VectorEntry> read(String vocab) throws IOException {
        Path inp = VECTORS.resolve(vocab + ".inp"), out = VECTORS.resolve(vocab + ".out");
        assumeTrue(Files.isRegularFile(inp) && Files.isRegularFile(out), "shared assets absent: " + inp);
        String raw = Files.readString(inp, StandardCharsets.UTF_8);
        assertThat(raw).endsWith(SEPARATOR);
        String[] texts = raw.substring(0, raw.length() - SEPARATOR.length()).split(SEPARATOR, -1);
        List<String> lines = Files.readAllLines(out, StandardCharsets.UTF_8);
        assertThat(lines).as("one .out line per .inp entry").hasSize(texts.length);
        List<VectorEntry> entries = new ArrayList<>();
        for (int i = 0; i < texts.length; i++) {
            String line = lines.get(i).strip();
            int[] ids = line.isEmpty() ? new int[0] : Arrays.stream(line.split(" ")).mapToInt(Integer::parseInt).toArray();
            entries.add(new VectorEntry(i, texts[i], ids));
        }
        return entries;
    }

    @TestFactory
    Stream<DynamicTest> llama2SentencePiece() throws IOException {
        List<VectorEntry> entries = read("ggml-vocab-llama-spm.gguf");
        Tokenizer tok = Tokenizer.load(TestAssets.require(TestAssets.LLAMA2));
        return vectors(tok, entries, 1);
    }

    @TestFactory
    Stream<DynamicTest> llama3Tiktoken() throws IOException {
        List<VectorEntry> entries = read("ggml-vocab-llama-bpe.gguf");
        Tokenizer tok = Tokenizer.load(TestAssets.require(TestAssets.LLAMA3));
        return vectors(tok, entries, 128000);
    }

    private static Stream<DynamicTest> vectors(Tokenizer tok, List<VectorEntry> entries, int bos) {
        assertThat(entries).hasSizeGreaterThan(40);
        assertThat(entries).allSatisfy(e -> assertThat(e.ids().length == 0 || e.ids()[0] != bos).as("no BOS in the vectors").isTrue());
        return entries.stream().map(e -> DynamicTest.dynamicTest(e.describe(), () -> {
            assertThat(tok.encode(e.text())).as("encode %s", e.describe()).containsExactly(e.ids());
            assertThat(tok.decode(e.ids())).as("decode %s", e.describe()).isEqualTo(e.text());
            StreamDecoder d = tok.newStreamDecoder();
            StringBuilder streamed = new StringBuilder();
            for (int id : e.ids()) streamed.append(d.next(id));
            assertThat(streamed.append(d.finish()).toString()).as("stream-decode %s", e.describe()).isEqualTo(e.text());
        }));
    }
}

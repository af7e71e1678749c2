package dev.llamaadapter.tokenizer;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Karpathy's stories260K vocabulary (tok512: a 512-piece SentencePiece BPE with byte fallback) against
 * llama2.c's own greedy-sampling test. expected_greedy200_ids.txt holds BOS (1) and the 200 generated ids
 * on one line; expected_greedy200.txt holds their text exactly as decoded, with no trailing newline: the
 * leading "▁" of the first piece after BOS is dropped (so the text starts "Once", not " Once"), and the
 * model's newlines are the byte piece {@code <0x0A>} (id 13). The relation holds both ways: decoding the
 * ids gives the text, and encoding the text (with its dummy prefix) and prepending BOS gives the ids.
 */
class Stories260KTokenizerTest {

    @Test
    void greedy200RoundTrips() throws IOException {
        var dir = TestAssets.require(TestAssets.STORIES);
        Tokenizer tok = Tokenizer.load(dir.resolve("hf"));
        String text = Files.readString(dir.resolve("expected_greedy200.txt"), StandardCharsets.UTF_8);
        int[] ids = Arrays.stream(Files.readString(dir.resolve("expected_greedy200_ids.txt")).strip().split("\\s+"))
                .mapToInt(Integer::parseInt).toArray();

        assertThat(tok.vocabSize()).isEqualTo(512);
        assertThat(tok.bosId()).isEqualTo(1);
        assertThat(tok.eosId()).isEqualTo(2);
        assertThat(ids).hasSize(201);
        assertThat(ids[0]).isEqualTo(tok.bosId());
        assertThat(text).doesNotEndWith("\n").startsWith("Once upon a time");

        assertThat(tok.decode(ids)).isEqualTo(text);
        int[] encoded = tok.encode(text);
        int[] withBos = new int[encoded.length + 1];
        withBos[0] = tok.bosId();
        System.arraycopy(encoded, 0, withBos, 1, encoded.length);
        assertThat(withBos).containsExactly(ids);
    }
}

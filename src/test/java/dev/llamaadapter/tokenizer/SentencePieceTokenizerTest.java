package dev.llamaadapter.tokenizer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static dev.llamaadapter.tokenizer.SentencePieceModel.*;
import static org.assertj.core.api.Assertions.assertThat;

/** SentencePiece BPE details on hand-made models, and the real Llama 2 model's ids. */
class SentencePieceTokenizerTest {

    @TempDir
    Path dir;

    /**
     * ids: 0 unk, 1 s, 2 /s, 3 ▁, 4 a, 5 b, 6 c, 7 ab (-1), 8 bc (-0.5), 9 ▁a (-2), 10 {@code <sep>}
     * user-defined, 11 abc unused (0).
     */
    private Tokenizer small(boolean removeExtraWhitespaces) throws IOException {
        byte[] model = new SpModelWriter()
                .piece("<unk>", 0, UNKNOWN).piece("<s>", 0, CONTROL).piece("</s>", 0, CONTROL)
                .piece("▁", -3, NORMAL).piece("a", -4, NORMAL).piece("b", -5, NORMAL).piece("c", -6, NORMAL)
                .piece("ab", -1, NORMAL).piece("bc", -0.5f, NORMAL).piece("▁a", -2, NORMAL)
                .piece("<sep>", 0, USER_DEFINED).piece("abc", 0, UNUSED)
                .removeExtraWhitespaces(removeExtraWhitespaces)
                .bytes();
        Path f = dir.resolve(removeExtraWhitespaces ? "collapse.model" : "tokenizer.model");
        Files.write(f, model);
        return Tokenizer.load(f);
    }

    @Test
    void mergesByScoreAndSplitsUnusedPiecesBack() throws IOException {
        Tokenizer tok = small(false);
        assertThat(tok.bosId()).isEqualTo(1);
        assertThat(tok.eosId()).isEqualTo(2);
        // ▁abc: bc (-0.5) beats ab (-1) and ▁a (-2); a+bc makes "abc" (score 0, best), but abc is UNUSED,
        // so it is split back into the pair it was made from: ▁ a bc.
        assertThat(tok.encode("abc")).containsExactly(3, 4, 8);
        // ab (-1) beats ▁a (-2): ▁ ab.
        assertThat(tok.encode("ab")).containsExactly(3, 7);
        assertThat(tok.encode("a")).containsExactly(9);
    }

    @Test
    void userDefinedPiecesAndUnknownsWithoutByteFallback() throws IOException {
        Tokenizer tok = small(false);
        // <sep> is one symbol that never merges; x and y are unknown; a run of unknowns is one <unk>.
        assertThat(tok.encode("x<sep>y")).containsExactly(3, 0, 10, 0);
        assertThat(tok.encode("xy")).containsExactly(3, 0);
        assertThat(tok.decode(new int[] {3, 0, 10, 0})).isEqualTo(" ⁇ <sep> ⁇ ");
        // Spaces kept as they are (remove_extra_whitespaces false): ▁▁a▁ -> ▁ ▁a ▁.
        assertThat(tok.encode(" a ")).containsExactly(3, 9, 3);
        assertThat(tok.decode(new int[] {3, 9, 3})).isEqualTo(" a ");
    }

    @Test
    void removeExtraWhitespaces() throws IOException {
        Tokenizer tok = small(true);
        // "  a  b  " normalizes to ▁a▁b: ▁a ▁ b.
        assertThat(tok.encode("  a  b  ")).containsExactly(9, 3, 5);
        assertThat(tok.encode("   ")).isEmpty();
        assertThat(tok.decode(new int[] {9, 3, 5})).isEqualTo("a b");
    }

    @Test
    void llama2Basics() throws IOException {
        Tokenizer tok = Tokenizer.load(TestAssets.require(TestAssets.LLAMA2));
        assertThat(tok.vocabSize()).isEqualTo(32000);
        assertThat(tok.bosId()).isEqualTo(1);
        assertThat(tok.eosId()).isEqualTo(2);
        assertThat(tok.eotId()).isEqualTo(2);
        assertThat(tok.specialTokenId("<s>")).isEqualTo(1);
        assertThat(tok.encode("Hello world")).containsExactly(15043, 3186);
        // SentencePiece treats "<s>" in text as text.
        assertThat(tok.encode("<s>")).doesNotContain(1);
        assertThat(tok.decode(new int[] {1, 15043, 3186, 2})).isEqualTo("Hello world");
        assertThat(tok.piece(15043)).isEqualTo(" Hello");
        assertThat(tok.piece(13)).isEqualTo("\n");      // <0x0A>
        assertThat(tok.piece(243)).isEmpty();            // <0xF0>: a lead byte alone is no text
        assertThat(tok.piece(1)).isEmpty();
    }
}

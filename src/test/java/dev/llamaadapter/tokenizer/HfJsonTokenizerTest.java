package dev.llamaadapter.tokenizer;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * tokenizer.json fixtures in src/test/resources/tokenizer/, small enough to check every id by hand.
 *
 * <p>The two SentencePiece-style files share one vocabulary and merge list (ranks in brackets):
 * [0] ▁+h, [1] l+l, [2] ▁+w, [3] o+r, [4] ▁w+or, [5] l+d, [6] ▁wor+ld, [7] ▁+▁, [8] e+l, [9] ▁h+e,
 * [10] ▁he+ll, [11] ▁hell+o; ids: ▁=10 h=11 e=12 l=13 o=14 ▁h=18 ll=19 ▁world=24 ▁hello=29, byte tokens
 * {@code <0x0A>}=3 {@code <0xC3>}=4 {@code <0xA9>}=5 {@code <0xF0 9F 98 80>}=6..9, and no {@code <0xBC>}.
 * "▁hello" needs "e l" [8] to lose to "l l" [1]: merging by position instead of rank would give ▁h el l o.
 */
class HfJsonTokenizerTest {

    static Path fixture(String name) {
        try {
            return Path.of(HfJsonTokenizerTest.class.getResource("/tokenizer/" + name).toURI());
        } catch (URISyntaxException e) {
            throw new AssertionError(e);
        }
    }

    /** Llama 2's tokenizer.json style: Prepend("▁") + Replace(" ", "▁") normalizers, no pre-tokenizer, byte_fallback, Strip decoder. */
    @Test
    void sentencePieceStyleWithNormalizers() throws IOException {
        Tokenizer tok = Tokenizer.load(fixture("hf-spm-legacy"));
        assertThat(tok.vocabSize()).isEqualTo(30);
        assertThat(tok.bosId()).isEqualTo(1);
        assertThat(tok.eosId()).isEqualTo(2);

        // ▁hello▁world: [0] ▁h, [1] ll, [2] ▁w, [3] or, [4] ▁wor, [5] ld, [6] ▁world, then [9] ▁he, [10] ▁hell, [11] ▁hello.
        assertThat(tok.encode("hello world")).containsExactly(29, 24);
        // ▁▁hello: [0] ▁+h (rank 0) wins over [7] ▁+▁, leaving the first ▁ alone, as SentencePiece does.
        assertThat(tok.encode(" hello")).containsExactly(10, 29);
        // é has no token: its bytes C3 A9; the newline is <0x0A>; ▁h cannot merge with a byte token.
        assertThat(tok.encode("héllo\n")).containsExactly(18, 4, 5, 19, 14, 3);
        // ü lacks <0xBC>, ! has no token: unknown, and fuse_unk makes "üü!" one <unk>.
        assertThat(tok.encode("hüü!")).containsExactly(18, 0);
        assertThat(tok.encode("😀")).containsExactly(10, 6, 7, 8, 9);
        // Added tokens are split out first; the rest is normalized on its own (so it gets its own ▁).
        assertThat(tok.encode("<s>hello")).containsExactly(1, 29);
        assertThat(tok.encode("")).isEmpty();

        assertThat(tok.decode(new int[] {1, 29, 24, 2})).isEqualTo("hello world");
        assertThat(tok.decode(new int[] {10, 29})).isEqualTo(" hello");
        assertThat(tok.decode(new int[] {18, 4, 5, 19, 14, 3})).isEqualTo("héllo\n");
        assertThat(tok.decode(new int[] {10, 6, 7, 8, 9})).isEqualTo("😀");
        assertThat(tok.isSpecial(1)).isTrue();
        assertThat(tok.isSpecial(29)).isFalse();
    }

    /** The newer style: a Metaspace pre-tokenizer and decoder with prepend_scheme "first", merges as pairs. */
    @Test
    void sentencePieceStyleWithMetaspace() throws IOException {
        Tokenizer tok = Tokenizer.load(fixture("hf-spm-metaspace/tokenizer.json"));
        assertThat(tok.encode("hello world")).containsExactly(29, 24);
        // Metaspace prepends ▁ only when the text does not already start with one.
        assertThat(tok.encode(" hello")).containsExactly(29);
        // "first": no ▁ for text after an added token. h e l l o: [1] l+l, then nothing (no h+e, e+ll, ll+o).
        assertThat(tok.encode("<s>hello")).containsExactly(1, 11, 12, 19, 14);
        assertThat(tok.encode("héllo")).containsExactly(18, 4, 5, 19, 14);
        assertThat(tok.decode(new int[] {29, 24})).isEqualTo("hello world");
        assertThat(tok.decode(new int[] {1, 11, 12, 19, 14, 2})).isEqualTo("hello");
    }

    /**
     * Llama 3's style: Llama 3's regex Split, then ByteLevel (space is Ġ, newline Ċ, bytes C3 A9 are Ã ©,
     * F0 9F 98 80 are ð Ł ĺ Ģ), ignore_merges, and special added tokens. Merges: [0] l+l, [1] e+ll,
     * [2] H+ell, [3] Hell+o, [4] Ġ+w, [5] o+r, [6] Ġw+or, [7] Ġwor+l, [8] Ġworl+d, [9] Ã+©.
     */
    @Test
    void byteLevelStyle() throws IOException {
        Tokenizer tok = Tokenizer.load(fixture("hf-bytelevel"));
        assertThat(tok.vocabSize()).isEqualTo(103);
        assertThat(tok.bosId()).isEqualTo(100);
        assertThat(tok.eosId()).as("tokenizer_config.json names <|eot_id|> as eos").isEqualTo(102);
        assertThat(tok.eotId()).isEqualTo(102);
        assertThat(tok.specialTokenId("<|end_of_text|>")).isEqualTo(101);

        // Split: "Hello" "," " world" "!\n" -> Hello(23) ,(4) Ġworld(28) ! Ċ (9, 10).
        assertThat(tok.encode("Hello, world!\n")).containsExactly(23, 4, 28, 9, 10);
        // ignore_merges: "Ġhi" is in the vocab, so it is taken whole although no merge builds it...
        assertThat(tok.encode(" hi")).containsExactly(30);
        // ...while "hi" is not, and no merge joins h and i.
        assertThat(tok.encode("hi")).containsExactly(17, 18);
        assertThat(tok.encode("Hé")).containsExactly(0, 29);
        assertThat(tok.encode("😀")).containsExactly(13, 14, 15, 16);
        assertThat(tok.encode("<|begin_of_text|>Hello<|eot_id|>")).containsExactly(100, 23, 102);

        assertThat(tok.decode(new int[] {100, 23, 4, 28, 9, 10, 102})).isEqualTo("Hello, world!\n");
        assertThat(tok.decode(new int[] {0, 29})).isEqualTo("Hé");
        assertThat(tok.piece(28)).isEqualTo(" world");
        assertThat(tok.piece(13)).as("a lone lead byte is not text yet").isEmpty();
        assertThat(tok.piece(100)).isEmpty();
    }
}

package dev.llamaadapter.tokenizer;

import org.junit.jupiter.api.Test;

import java.io.IOException;

import static org.assertj.core.api.Assertions.assertThat;

/** Llama 3's tiktoken tokenizer: special tokens, and the split regex run by Java's engine. */
class TiktokenTokenizerTest {

    @Test
    void llama3SpecialTokens() throws IOException {
        Tokenizer tok = Tokenizer.load(TestAssets.require(TestAssets.LLAMA3));
        assertThat(tok.vocabSize()).isEqualTo(128256);
        assertThat(tok.bosId()).isEqualTo(128000);
        assertThat(tok.eosId()).isEqualTo(128001);
        assertThat(tok.eotId()).isEqualTo(128009);
        assertThat(tok.specialTokenId("<|start_header_id|>")).isEqualTo(128006);
        assertThat(tok.specialTokenId("<|end_header_id|>")).isEqualTo(128007);
        assertThat(tok.specialTokenId("<|eot_id|>")).isEqualTo(128009);
        assertThat(tok.specialTokenId("<|reserved_special_token_250|>")).isEqualTo(128255);
        assertThat(tok.isSpecial(128009)).isTrue();
        assertThat(tok.isSpecial(9906)).isFalse();

        int[] hello = tok.encode("Hello world");
        assertThat(hello).containsExactly(9906, 1917);
        // Special-token text is ordinary text, as in Meta's encode(allowed_special=set()).
        assertThat(tok.encode("<|eot_id|>")).doesNotContain(128009).hasSizeGreaterThan(1);
        // decode skips special tokens.
        assertThat(tok.decode(new int[] {128000, 128006, 9906, 1917, 128009})).isEqualTo("Hello world");
        assertThat(tok.piece(1917)).isEqualTo(" world");
    }

    /**
     * Java's regex runs Llama 3's pattern as tiktoken's (Rust) engine does, given UNICODE_CHARACTER_CLASS:
     * \s must be Unicode White_Space. With Java's default ASCII \s, the no-break spaces below would be
     * grouped as punctuation (" ?[^\s\p{L}\p{N}]+") instead of as whitespace.
     */
    @Test
    void splitPatternMatchesLikeTiktoken() {
        assertThat(TiktokenTokenizer.split("Hello, world!\n")).containsExactly("Hello", ",", " world", "!\n");
        assertThat(TiktokenTokenizer.split("I'VE 12345 apples")).containsExactly("I", "'VE", " ", "123", "45", " apples");
        assertThat(TiktokenTokenizer.split("a\u00a0\u00a0b")).containsExactly("a", "\u00a0", "\u00a0b");
        assertThat(TiktokenTokenizer.split("x\u3000y")).containsExactly("x", "\u3000y");
        assertThat(TiktokenTokenizer.split("a  \n\n  b")).containsExactly("a", "  \n\n", " ", " b");
        assertThat(TiktokenTokenizer.split("   ")).containsExactly("   ");
        assertThat(TiktokenTokenizer.split("ab  ")).containsExactly("ab", "  ");
    }
}

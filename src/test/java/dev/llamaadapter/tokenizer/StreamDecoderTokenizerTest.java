package dev.llamaadapter.tokenizer;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Streaming decode: characters split over several tokens come out whole, once. */
class StreamDecoderTokenizerTest {

    static List<String> stream(Tokenizer tok, int[] ids) {
        StreamDecoder d = tok.newStreamDecoder();
        List<String> out = new ArrayList<>();
        for (int id : ids) out.add(d.next(id));
        out.add(d.finish());
        return out;
    }

    @Test
    void bytePiecesOfOneCharacter() throws IOException {
        Tokenizer tok = Tokenizer.load(HfJsonTokenizerTest.fixture("hf-spm-legacy"));
        // ▁ then the four byte pieces of U+1F600: nothing until the last byte, and the dummy-prefix space is dropped.
        assertThat(stream(tok, new int[] {10, 6, 7, 8, 9})).containsExactly("", "", "", "", "😀", "");
        // A text piece ends a run of bytes: an incomplete character becomes U+FFFD, one per byte as in SentencePiece.
        assertThat(stream(tok, new int[] {29, 6, 7, 24})).containsExactly("hello", "", "", "\uFFFD\uFFFD world", "");
        // Bytes still pending at the end come out as U+FFFD from finish().
        assertThat(stream(tok, new int[] {29, 6})).containsExactly("hello", "", "\uFFFD");
    }

    @Test
    void byteLevelTokensSplittingCharacters() throws IOException {
        Tokenizer tok = Tokenizer.load(HfJsonTokenizerTest.fixture("hf-bytelevel"));
        assertThat(stream(tok, new int[] {0, 11, 12, 13, 14, 15, 16})).containsExactly("H", "", "é", "", "", "", "😀", "");
        // Byte-level decoding: a cut-off character is one U+FFFD (maximal subpart), as Python and Rust decode.
        assertThat(stream(tok, new int[] {13, 14, 0})).containsExactly("", "", "\uFFFDH", "");
        StreamDecoder reused = tok.newStreamDecoder();
        reused.next(13);
        assertThat(reused.finish()).isEqualTo("\uFFFD");
        assertThat(reused.next(23)).as("finish() resets the decoder").isEqualTo("Hello");
    }

    @Test
    void llama2EmojiAsBytePieces() throws IOException {
        Tokenizer tok = Tokenizer.load(TestAssets.require(TestAssets.LLAMA2));
        String text = "Hi 😀 and 🌍!";
        int[] ids = tok.encode(text);
        List<String> parts = stream(tok, ids);
        assertThat(String.join("", parts)).isEqualTo(text).isEqualTo(tok.decode(ids));
        assertThat(parts).noneMatch(p -> p.contains("\uFFFD"));
        // 😀 is F0 9F 98 80, byte pieces 3 + byte: nothing shows until its last byte.
        int first = indexOf(ids, 0xF0 + 3);
        assertThat(ids).containsSubsequence(0xF0 + 3, 0x9F + 3, 0x98 + 3, 0x80 + 3);
        assertThat(parts.subList(first, first + 3)).containsOnly("");
        assertThat(parts.get(first + 3)).isEqualTo("😀");
    }

    @Test
    void llama3TokensSplittingCharacters() throws IOException {
        Tokenizer tok = Tokenizer.load(TestAssets.require(TestAssets.LLAMA3));
        String text = "ខ្មែរ 我想在apple工作 🦙.cpp";
        int[] ids = tok.encode(text);
        List<String> parts = stream(tok, ids);
        assertThat(String.join("", parts)).isEqualTo(text).isEqualTo(tok.decode(ids));
        assertThat(parts).noneMatch(p -> p.contains("\uFFFD"));
        assertThat(parts).as("some token ends inside a character").contains("");
    }

    private static int indexOf(int[] a, int v) {
        for (int i = 0; i < a.length; i++) if (a[i] == v) return i;
        return -1;
    }
}

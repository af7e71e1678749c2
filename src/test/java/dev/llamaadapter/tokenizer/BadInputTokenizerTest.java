package dev.llamaadapter.tokenizer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Files that cannot be used give a TokenizerException that names the file and says what is wrong. */
class BadInputTokenizerTest {

    @TempDir
    Path dir;

    private byte[] validModel() {
        return new SpModelWriter()
                .piece("<unk>", 0, SentencePieceModel.UNKNOWN).piece("<s>", 0, SentencePieceModel.CONTROL)
                .piece("</s>", 0, SentencePieceModel.CONTROL).piece("▁", -1, SentencePieceModel.NORMAL)
                .bytes();
    }

    @Test
    void truncatedSentencePieceModel() throws IOException {
        byte[] good = validModel();
        Path f = dir.resolve("tokenizer.model");
        Files.write(f, Arrays.copyOf(good, good.length - 7)); // cut inside the normalizer spec
        assertThatThrownBy(() -> Tokenizer.load(dir))
                .isInstanceOf(TokenizerException.class)
                .hasMessageStartingWith(f.toString())
                .hasMessageContaining("corrupt SentencePiece model");
        assertThat(Tokenizer.load(Files.write(dir.resolve("ok.model"), good)).vocabSize()).isEqualTo(4);
    }

    @Test
    void truncatedLlama2Model() throws IOException {
        byte[] real = Files.readAllBytes(TestAssets.require(TestAssets.LLAMA2));
        Path f = Files.write(dir.resolve("tokenizer.model"), Arrays.copyOf(real, 100_000));
        assertThatThrownBy(() -> Tokenizer.load(f))
                .isInstanceOf(TokenizerException.class)
                .hasMessageStartingWith(f.toString())
                .hasMessageContaining("corrupt SentencePiece model");
    }

    @Test
    void garbageModelFile() throws IOException {
        Path f = Files.writeString(dir.resolve("tokenizer.model"), "this is not a tokenizer at all\n");
        assertThatThrownBy(() -> Tokenizer.load(f)).isInstanceOf(TokenizerException.class).hasMessageStartingWith(f.toString());
    }

    @Test
    void unsupportedSentencePieceModelType() throws IOException {
        Path f = Files.write(dir.resolve("unigram.model"), new SpModelWriter()
                .piece("<unk>", 0, SentencePieceModel.UNKNOWN).modelType(SentencePieceModel.UNIGRAM).bytes());
        assertThatThrownBy(() -> Tokenizer.load(f)).isInstanceOf(TokenizerException.class)
                .hasMessageStartingWith(f.toString()).hasMessageContaining("UNIGRAM");
    }

    @Test
    void corruptTiktokenLine() throws IOException {
        StringBuilder sb = new StringBuilder();
        for (int b = 0; b < 256; b++)
            sb.append(java.util.Base64.getEncoder().encodeToString(new byte[] {(byte) b})).append(' ').append(b).append('\n');
        Path ok = Files.writeString(dir.resolve("ranks.model"), sb);
        assertThat(Tokenizer.load(ok).vocabSize()).isEqualTo(256 + 256);
        Path bad = Files.writeString(dir.resolve("bad.model"), sb + "@@not-base64@@ 256\n");
        assertThatThrownBy(() -> Tokenizer.load(bad)).isInstanceOf(TokenizerException.class)
                .hasMessageStartingWith(bad.toString()).hasMessageContaining("line 257");
    }

    @Test
    void unknownTokenizerJsonModelType() throws IOException {
        Path f = Files.writeString(dir.resolve("tokenizer.json"),
                "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"[UNK]\": 0}, \"unk_token\": \"[UNK]\"}}");
        assertThatThrownBy(() -> Tokenizer.load(dir))
                .isInstanceOf(TokenizerException.class)
                .hasMessageStartingWith(f.toString())
                .hasMessageContaining("model type 'WordPiece' is not supported");
    }

    @Test
    void unsupportedTokenizerJsonPreTokenizer() throws IOException {
        Path f = Files.writeString(dir.resolve("tokenizer.json"),
                "{\"pre_tokenizer\": {\"type\": \"BertPreTokenizer\"}, \"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}, \"merges\": []}}");
        assertThatThrownBy(() -> Tokenizer.load(f)).isInstanceOf(TokenizerException.class)
                .hasMessageStartingWith(f.toString()).hasMessageContaining("BertPreTokenizer");
    }

    @Test
    void invalidJson() throws IOException {
        Path f = Files.writeString(dir.resolve("tokenizer.json"), "{\"model\": ");
        assertThatThrownBy(() -> Tokenizer.load(f)).isInstanceOf(TokenizerException.class)
                .hasMessageStartingWith(f.toString()).hasMessageContaining("not valid JSON");
    }

    @Test
    void directoryWithoutTokenizer() throws IOException {
        Files.writeString(dir.resolve("config.json"), "{}");
        assertThatThrownBy(() -> Tokenizer.load(dir))
                .isInstanceOf(TokenizerException.class)
                .hasMessageStartingWith(dir.toString())
                .hasMessageContaining("no tokenizer file");
        assertThatThrownBy(() -> Tokenizer.load(dir.resolve("missing"))).isInstanceOf(TokenizerException.class);
    }

    @Test
    void idsOutsideTheVocabulary() throws IOException {
        Tokenizer tok = Tokenizer.load(Files.write(dir.resolve("ok.model"), validModel()));
        assertThatThrownBy(() -> tok.decode(new int[] {4})).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("4");
        assertThatThrownBy(() -> tok.piece(-1)).isInstanceOf(IllegalArgumentException.class);
    }
}

package dev.llamaadapter.tokenizer;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Encoding speed on a 2 KB text: SentencePiece merges across the whole text (no pre-splitting), so a
 * quadratic merge loop would show here. The bound is loose (a loaded 2-core CI machine must pass it);
 * the measured figure is printed.
 */
class SpeedTokenizerTest {

    static String text2k() throws IOException {
        String story = Files.readString(TestAssets.require(TestAssets.STORIES.resolve("expected_greedy200.txt")), StandardCharsets.UTF_8);
        StringBuilder sb = new StringBuilder();
        while (sb.length() < 2048) sb.append(story).append(" Ünïcödé, 数字 12345 🦙\n");
        return sb.substring(0, 2048);
    }

    @Test
    void llama2And3EncodeQuickly() throws IOException {
        String text = text2k();
        for (var file : new java.nio.file.Path[] {TestAssets.LLAMA2, TestAssets.LLAMA3}) {
            Tokenizer tok = Tokenizer.load(TestAssets.require(file));
            int[] first = tok.encode(text);
            for (int i = 0; i < 300; i++) tok.encode(text); // warm up the JIT
            int runs = 200;
            long t0 = System.nanoTime();
            for (int i = 0; i < runs; i++) assertThat(tok.encode(text)).hasSize(first.length);
            double msPerKb = (System.nanoTime() - t0) / 1e6 / runs / (text.getBytes(StandardCharsets.UTF_8).length / 1024.0);
            System.out.printf("%s: %d tokens, %.3f ms per KB%n", file.getParent().getFileName(), first.length, msPerKb);
            assertThat(msPerKb).as("ms per KB for %s", file).isLessThan(5.0);
        }
    }

    /** One 30,000-character word: one merge sequence for SentencePiece, one pre-tokenized chunk for tiktoken. */
    @Test
    void longWordIsNotQuadratic() throws IOException {
        String word = "abcdefghij".repeat(3000);
        for (var file : new java.nio.file.Path[] {TestAssets.LLAMA2, TestAssets.LLAMA3}) {
            Tokenizer tok = Tokenizer.load(TestAssets.require(file));
            long t0 = System.nanoTime();
            int[] ids = tok.encode(word);
            double ms = (System.nanoTime() - t0) / 1e6;
            System.out.printf("%s: 30k-char word in %.1f ms (%d tokens)%n", file.getParent().getFileName(), ms, ids.length);
            assertThat(tok.decode(ids)).isEqualTo(word);
            assertThat(ms).isLessThan(2000);
        }
    }
}

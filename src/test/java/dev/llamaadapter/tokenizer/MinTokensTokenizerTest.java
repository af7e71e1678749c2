package dev.llamaadapter.tokenizer;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@link Tokenizer#minTokens}: never more than the true count (a server refuses prompts on it, so one too
 * many would refuse a prompt that fits), on every tokenizer kind and on text made to shrink under
 * normalization; and tight enough to be worth having.
 */
class MinTokensTokenizerTest {

    @TempDir
    Path dir;

    static final Map<String, Tokenizer> all = new LinkedHashMap<>();

    /** Every tokenizer at hand, loaded once (the large tokenizer.json files take seconds): the shared assets that are present, and the small fixtures. */
    @BeforeAll
    static void load() throws IOException {
        Path shared = TestAssets.SHARED;
        for (String p : new String[] {"stories260K/hf", "tokenizers/llama2/tokenizer.model", "tokenizers/llama3/tokenizer.model",
                "tokenizers/hf-llama3_1/tokenizer.json", "tokenizers/hf-gemma3/tokenizer.json", "tokenizers/hf-qwen3/tokenizer.json",
                "tokenizers/llamacpp-test-vectors/ggml-vocab-llama-spm.gguf"})
            if (Files.exists(shared.resolve(p))) all.put(p, Tokenizer.load(shared.resolve(p)));
        for (String f : new String[] {"hf-spm-legacy", "hf-spm-metaspace", "hf-bytelevel"}) all.put(f, Tokenizer.load(HfJsonTokenizerTest.fixture(f)));
    }

    /** Ordinary, whitespace-heavy, special-token, multilingual, ill-formed and random text. */
    static List<String> texts() throws IOException {
        List<String> t = new ArrayList<>(List.of("", " ", "a", "Once upon a time, there was a little girl named Lily.",
                " ".repeat(5000), "  leading and trailing  ", "a" + " ".repeat(3000) + "b", "\n\n\n" + "\t ".repeat(400),
                "=".repeat(2000), "<s></s><unk><|eot_id|><|begin_of_text|>", "<s>".repeat(300), "\u2581".repeat(700),
                "日本語のテキストと中文文本", "emoji 😀😃 and combining e\u0301 a\u0308", "\ud800 lone \udc00 surrogates \ud83d",
                "1234567890".repeat(100), "ＦＵＬＬ　ＷＩＤＴＨ ﬁ ligatures ǅ 𝐀𝐁𝐂", "İstanbul ΣΊΣΥΦΟΣ"));
        Path vectors = TestAssets.SHARED.resolve("tokenizers/llamacpp-test-vectors/ggml-vocab-llama-bpe.gguf.inp");
        if (Files.exists(vectors)) // llama.cpp's tricky inputs
            for (String s : Files.readString(vectors, StandardCharsets.UTF_8).split("\n__ggml_vocab_test__\n")) t.add(s);
        SplittableRandom r = new SplittableRandom(7);
        String[] alphabet = {" ", " ", "a", "a", "e", "i", "o", "u", ",", ".", "!", "\n", "\t", "\u2581", "ü", "日", "😀", "0", "12", "<s>", "\u0301"};
        for (int k = 0; k < 40; k++) {
            StringBuilder sb = new StringBuilder();
            for (int n = r.nextInt(1, 3000); sb.length() < n; ) sb.append(alphabet[r.nextInt(alphabet.length)]);
            t.add(sb.toString());
        }
        return t;
    }

    @Test
    void neverMoreThanTheTrueCount() throws IOException {
        List<String> texts = texts();
        for (Map.Entry<String, Tokenizer> e : all.entrySet())
            for (String s : texts) {
                Tokenizer tok = e.getValue();
                assertThat(tok.minTokens(s)).as("%s on %s", e.getKey(), abbreviate(s)).isLessThanOrEqualTo(tok.encode(s).length);
            }
    }

    /** The bound is within a small factor of the count on ordinary text, so long prompts are refused on it. */
    @Test
    void tightEnoughToRefuseLongText() throws IOException {
        String story = "Once upon a time, there was a little girl named Lily. She loved to play outside in the sunshine.\n".repeat(200);
        for (Map.Entry<String, Tokenizer> e : all.entrySet()) {
            if (!e.getKey().contains("/")) continue; // the toy fixtures: hf-spm-legacy lacks a byte token, so it has no bound
            Tokenizer tok = e.getValue();
            int bound = tok.minTokens(story), real = tok.encode(story).length;
            System.out.printf(Locale.ROOT, "minTokens %-60s %6d of %6d (%.1fx)%n", e.getKey(), bound, real, real / (double) bound);
            assertThat(bound).as(e.getKey()).isPositive().isGreaterThanOrEqualTo(real / 40);
        }
    }

    /** remove_extra_whitespaces turns runs of spaces into one ▁ and drops them at the ends: the bound follows the normalized text. */
    @Test
    void sentencePieceBoundsTheNormalizedText() throws IOException {
        SpModelWriter w = new SpModelWriter().piece("<unk>", 0, SpModelWriter.UNKNOWN).piece("<s>", 0, SpModelWriter.CONTROL)
                .piece("</s>", 0, SpModelWriter.CONTROL);
        for (int b = 0; b < 256; b++) w.piece(String.format("<0x%02X>", b), 0, SpModelWriter.BYTE);
        w.piece("\u2581", -1, SpModelWriter.NORMAL).piece("a", -2, SpModelWriter.NORMAL).piece("b", -3, SpModelWriter.NORMAL)
                .piece("\u2581a", -4, SpModelWriter.NORMAL).piece("aa", -5, SpModelWriter.NORMAL).piece("aaaa", -6, SpModelWriter.NORMAL);
        Tokenizer squeezing = Tokenizer.load(Files.write(dir.resolve("squeeze.model"), w.byteFallback(true).removeExtraWhitespaces(true).bytes()));
        Tokenizer keeping = Tokenizer.load(Files.write(dir.resolve("keep.model"), w.byteFallback(true).removeExtraWhitespaces(false).bytes()));
        Tokenizer noFallback = Tokenizer.load(Files.write(dir.resolve("nofallback.model"), w.byteFallback(false).bytes()));
        for (String s : List.of(" ".repeat(10_000), "a" + " ".repeat(10_000) + "b", "  a  ", "\u2581".repeat(50), "a".repeat(4000), "xyz日本")) {
            for (Tokenizer tok : List.of(squeezing, keeping))
                assertThat(tok.minTokens(s)).as(abbreviate(s)).isLessThanOrEqualTo(tok.encode(s).length);
            assertThat(noFallback.minTokens(s)).isZero(); // unknown runs collapse into one <unk>: no bound
        }
        assertThat(squeezing.encode(" ".repeat(10_000))).isEmpty();
        assertThat(keeping.minTokens(" ".repeat(10_000))).isEqualTo((10_001 + 3) / 4); // ▁ x 10001 over the longest piece, "aaaa"
        assertThat(squeezing.minTokens("a".repeat(4000))).isEqualTo(1001);              // ▁ a x 4000
    }

    private static String abbreviate(String s) {
        return s.length() <= 40 ? s : s.substring(0, 40) + "... (" + s.length() + " chars)";
    }
}

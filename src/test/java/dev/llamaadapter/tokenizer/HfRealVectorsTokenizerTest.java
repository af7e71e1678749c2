package dev.llamaadapter.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The real tokenizer.json files of Llama 3.1, Qwen3 and Gemma 3 (in ../shared, skipped when absent) against
 * Hugging Face's own tokenizers library: for every text in src/test/resources/tokenizer/hf-real-vectors.json
 * (code, whitespace runs, CJK, RTL, emoji, special-token text and seeded mixtures; regenerate with
 * scripts/hf_tokenizer_vectors.mjs), our ids equal the library's, and decoding those ids gives the library's
 * text. All disagreements are collected so that one run shows the whole picture, not the first.
 */
class HfRealVectorsTokenizerTest {

    static JsonNode vectors() throws IOException {
        try (InputStream in = HfRealVectorsTokenizerTest.class.getResourceAsStream("/tokenizer/hf-real-vectors.json")) {
            return new ObjectMapper().readTree(in);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"hf-llama3_1", "hf-qwen3", "hf-gemma3"})
    void idsAndDecodedTextEqualTheReferenceLibrary(String family) throws IOException {
        Tokenizer tok = Tokenizer.load(TestAssets.require(TestAssets.SHARED.resolve("tokenizers/" + family + "/tokenizer.json")));
        JsonNode root = vectors();
        JsonNode texts = root.get("texts"), expected = root.path("families").get(family);
        assertThat(expected.size()).isEqualTo(texts.size());
        List<String> wrong = new ArrayList<>();
        for (int i = 0; i < texts.size(); i++) {
            String text = texts.get(i).asText();
            int[] want = ids(expected.get(i).get("ids"));
            int[] got = tok.encode(text);
            if (!Arrays.equals(got, want))
                wrong.add("#" + i + " encode " + quote(text) + ": got " + Arrays.toString(got) + ", reference " + Arrays.toString(want));
            String decoded = tok.decode(want), wantText = expected.get(i).get("decoded").asText();
            if (!decoded.equals(wantText))
                wrong.add("#" + i + " decode " + Arrays.toString(want) + ": got " + quote(decoded) + ", reference " + quote(wantText));
        }
        assertThat(wrong).as(family + ": " + wrong.size() + " disagreements over " + texts.size() + " texts").isEmpty();
    }

    private static int[] ids(JsonNode array) {
        int[] ids = new int[array.size()];
        for (int k = 0; k < ids.length; k++) ids[k] = array.get(k).asInt();
        return ids;
    }

    /** The text with control and invisible characters escaped, so a failure message shows what differs. */
    private static String quote(String s) {
        StringBuilder sb = new StringBuilder("\"");
        s.codePoints().forEach(cp -> {
            if (cp < 0x20 || cp == 0x7f || Character.getType(cp) == Character.FORMAT || Character.isWhitespace(cp) && cp != ' ')
                sb.append(String.format("\\u%04x", cp));
            else sb.appendCodePoint(cp);
        });
        return sb.append('"').toString();
    }
}

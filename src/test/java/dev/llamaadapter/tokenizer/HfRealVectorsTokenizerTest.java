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
 * text; and seeded random id sequences decode to the library's text. All disagreements are collected so that
 * one run shows the whole picture, not the first.
 */
class HfRealVectorsTokenizerTest {

    /** Each file once for both tests: Gemma's 262k-token vocabulary takes seconds to read. */
    private static final java.util.Map<String, Tokenizer> LOADED = new java.util.concurrent.ConcurrentHashMap<>();

    static Tokenizer load(String family) throws IOException {
        Tokenizer tok = LOADED.get(family);
        if (tok == null) {
            tok = Tokenizer.load(TestAssets.require(TestAssets.SHARED.resolve("tokenizers/" + family + "/tokenizer.json")));
            LOADED.put(family, tok);
        }
        return tok;
    }

    static JsonNode vectors() throws IOException {
        try (InputStream in = HfRealVectorsTokenizerTest.class.getResourceAsStream("/tokenizer/hf-real-vectors.json")) {
            return new ObjectMapper().readTree(in);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"hf-llama3_1", "hf-qwen3", "hf-gemma3"})
    void idsAndDecodedTextEqualTheReferenceLibrary(String family) throws IOException {
        Tokenizer tok = load(family);
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

    /**
     * Decoding alone, on seeded random ids (bytes that form no character, special tokens inside a character's
     * bytes, added tokens anywhere): our text equals the library's, in one go and token by token.
     */
    @ParameterizedTest
    @ValueSource(strings = {"hf-llama3_1", "hf-qwen3", "hf-gemma3"})
    void randomIdsDecodeAsTheReferenceLibrary(String family) throws IOException {
        Tokenizer tok = load(family);
        JsonNode cases = vectors().path("random_ids").get(family);
        assertThat(cases.size()).isGreaterThanOrEqualTo(100);
        List<String> wrong = new ArrayList<>();
        for (JsonNode c : cases) {
            int[] ids = ids(c.get("ids"));
            String want = c.get("decoded").asText(), got = tok.decode(ids);
            StreamDecoder stream = tok.newStreamDecoder();
            StringBuilder streamed = new StringBuilder();
            for (int id : ids) streamed.append(stream.next(id));
            streamed.append(stream.finish());
            if (!got.equals(want) || !streamed.toString().equals(want))
                wrong.add(Arrays.toString(ids) + ": got " + quote(got) + (streamed.toString().equals(got) ? "" : " (streamed " + quote(streamed.toString()) + ")")
                        + ", reference " + quote(want));
        }
        assertThat(wrong).as(family + ": " + wrong.size() + " disagreements over " + cases.size() + " id sequences").isEmpty();
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

package dev.llamaadapter.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Tokenizers built from vocabularies given as arrays rather than read from a tokenizer file: what GGUF
 * metadata ({@code tokenizer.ggml.*}) and llama2.c's {@code tokenizer.bin} carry. Each runs the same
 * implementation as the file-based loader, so a vocabulary behaves identically whichever format brought it.
 */
public final class Tokenizers {
    private Tokenizers() {}

    /** SentencePiece piece types (sentencepiece_model.proto, and GGUF's tokenizer.ggml.token_type). */
    public static final int NORMAL = SentencePieceModel.NORMAL, UNKNOWN = SentencePieceModel.UNKNOWN,
            CONTROL = SentencePieceModel.CONTROL, USER_DEFINED = SentencePieceModel.USER_DEFINED,
            UNUSED = SentencePieceModel.UNUSED, BYTE = SentencePieceModel.BYTE;

    /**
     * A SentencePiece vocabulary: pieces with ▁ for spaces, their scores and types (1 normal .. 6 byte; 0,
     * "undefined" in llama.cpp, counts as normal). With byte pieces present, byte fallback is on.
     */
    public record SentencePieceVocab(String[] pieces, float[] scores, int[] types, int bosId, int eosId, boolean addDummyPrefix) {}

    /**
     * A SentencePiece BPE tokenizer (LLaMA 1/2 style: identity normalization, no removal of extra
     * whitespace) over the given pieces; bosId / eosId must be control pieces to count (else none).
     *
     * @param source the file the vocabulary came from, for messages
     */
    public static Tokenizer sentencePiece(Path source, SentencePieceVocab v) throws TokenizerException {
        int n = v.pieces().length;
        if (n == 0) throw new TokenizerException(source, "empty vocabulary");
        if (v.scores() == null || v.scores().length != n)
            throw new TokenizerException(source, "vocabulary has " + n + " pieces but " + (v.scores() == null ? "no" : v.scores().length) + " scores");
        if (v.types() != null && v.types().length != n)
            throw new TokenizerException(source, "vocabulary has " + n + " pieces but " + v.types().length + " token types");
        List<SentencePieceModel.Piece> pieces = new ArrayList<>(n);
        boolean bytes = false;
        String unk = "<unk>";
        for (int i = 0; i < n; i++) {
            int type = v.types() == null ? NORMAL : v.types()[i];
            if (type == 0) type = NORMAL;
            if (type < NORMAL || type > BYTE) throw new TokenizerException(source, "token " + i + " has unknown type " + type);
            String text = v.pieces()[i];
            if (text == null || text.isEmpty()) throw new TokenizerException(source, "token " + i + " is empty");
            bytes |= type == BYTE;
            if (type == UNKNOWN) unk = text;
            pieces.add(new SentencePieceModel.Piece(text, v.scores()[i], type));
        }
        String bos = v.bosId() >= 0 && v.bosId() < n ? v.pieces()[v.bosId()] : "<s>";
        String eos = v.eosId() >= 0 && v.eosId() < n ? v.pieces()[v.eosId()] : "</s>";
        SentencePieceModel m = new SentencePieceModel(List.copyOf(pieces), SentencePieceModel.BPE, bytes, false, " \u2047 ", unk,
                bos, eos, "identity", false, v.addDummyPrefix(), false, true);
        return SentencePieceTokenizer.build(m, source);
    }

    /**
     * The SentencePiece vocabulary of a tokenizer, if it is one (to write it into a GGUF); null for the
     * other kinds (tiktoken, tokenizer.json).
     */
    public static SentencePieceVocab sentencePieceVocab(Tokenizer t) {
        if (!(t instanceof SentencePieceTokenizer sp)) return null;
        SentencePieceModel m = sp.model();
        int n = m.pieces().size();
        String[] pieces = new String[n];
        float[] scores = new float[n];
        int[] types = new int[n];
        for (int i = 0; i < n; i++) {
            pieces[i] = m.pieces().get(i).text();
            scores[i] = m.pieces().get(i).score();
            types[i] = m.pieces().get(i).type();
        }
        return new SentencePieceVocab(pieces, scores, types, t.bosId(), t.eosId(), m.addDummyPrefix());
    }

    /**
     * A byte-level BPE vocabulary as GGUF's "gpt2" model holds it: tokens in GPT-2's byte alphabet by id,
     * merges "left right" by rank, token types, and llama.cpp's pre-tokenizer name.
     *
     * @param pre "llama-bpe" (Llama 3's split, merges ignored for whole-vocabulary words) or "default" (GPT-2's)
     */
    public record ByteLevelVocab(String[] tokens, String[] merges, int[] types, String pre, int bosId, int eosId) {}

    /**
     * The byte-level BPE vocabulary of a tokenizer.json tokenizer, when {@link #byteLevelBpe} would build the same
     * tokenizer from it: no normalizer, every id used, and the pre-tokenizer exactly Llama 3's (Split with its pattern,
     * then ByteLevel without regex, ignore_merges) or GPT-2's (ByteLevel with its regex). Null otherwise (Qwen's NFC
     * and single-digit split, SentencePiece-style tokenizer.json files), so a writer can say the vocabulary stays behind.
     */
    public static ByteLevelVocab byteLevelVocab(Tokenizer t) {
        if (!(t instanceof HfTokenizer hf) || hf.tree() == null) return null;
        JsonNode root = hf.tree(), model = root.path("model"), pre = root.path("pre_tokenizer");
        if (root.hasNonNull("normalizer") || !root.path("decoder").path("type").asText().equals("ByteLevel")) return null;
        boolean ignoreMerges = model.path("ignore_merges").asBoolean(false);
        String preName;
        if (pre.path("type").asText().equals("ByteLevel") && pre.path("use_regex").asBoolean(true) && !pre.path("add_prefix_space").asBoolean(false)
                && !ignoreMerges) {
            preName = "default";
        } else if (pre.path("type").asText().equals("Sequence") && pre.path("pretokenizers").size() == 2 && ignoreMerges) {
            JsonNode split = pre.path("pretokenizers").get(0), bl = pre.path("pretokenizers").get(1);
            boolean llama3 = split.path("type").asText().equals("Split") && LLAMA3_SPLIT.equals(split.path("pattern").path("Regex").asText(null))
                    && split.path("behavior").asText().equals("Isolated") && !split.path("invert").asBoolean(false)
                    && bl.path("type").asText().equals("ByteLevel") && !bl.path("use_regex").asBoolean(true) && !bl.path("add_prefix_space").asBoolean(false);
            if (!llama3) return null;
            preName = "llama-bpe";
        } else {
            return null;
        }
        int n = t.vocabSize();
        String[] tokens = new String[n];
        int[] types = new int[n];
        java.util.Iterator<java.util.Map.Entry<String, JsonNode>> vocab = model.path("vocab").fields();
        while (vocab.hasNext()) {
            var e = vocab.next();
            int id = e.getValue().asInt(-1);
            if (id < 0 || id >= n) return null;
            tokens[id] = e.getKey();
            types[id] = NORMAL;
        }
        for (JsonNode a : root.path("added_tokens")) {
            int id = a.path("id").asInt(-1);
            if (id < 0 || id >= n) return null;
            tokens[id] = a.path("content").asText();
            types[id] = a.path("special").asBoolean(false) ? CONTROL : USER_DEFINED;
        }
        for (String s : tokens) if (s == null) return null; // a hole in the ids: GGUF's token list has none
        JsonNode m = model.path("merges");
        String[] merges = new String[m.size()];
        for (int i = 0; i < merges.length; i++) {
            JsonNode one = m.get(i);
            merges[i] = one.isArray() ? one.get(0).asText() + " " + one.get(1).asText() : one.asText(); // newer files: ["left", "right"]
        }
        return new ByteLevelVocab(tokens, merges, types, preName, t.bosId(), t.eosId());
    }

    /**
     * A byte-level BPE tokenizer (GPT-2 style, as Llama 3 uses) from its tokens (in GPT-2's byte-to-unicode
     * alphabet), merges ("left right", highest priority first) and token types (3 control: special; 4
     * user-defined: matched in the text first, as added tokens are).
     *
     * @param splitRegex   the pre-tokenizer's split pattern (e.g. {@link #LLAMA3_SPLIT}); null for GPT-2's
     * @param ignoreMerges whether a word that is itself a token is taken whole (Llama 3)
     */
    public static Tokenizer byteLevelBpe(Path source, String[] tokens, String[] merges, int[] types, String splitRegex,
                                         boolean ignoreMerges, int bosId, int eosId) throws TokenizerException {
        JsonNodeFactory f = JsonNodeFactory.instance;
        ObjectNode root = f.objectNode();
        ObjectNode model = root.putObject("model");
        model.put("type", "BPE");
        model.put("ignore_merges", ignoreMerges);
        ObjectNode vocab = model.putObject("vocab");
        ArrayNode added = root.putArray("added_tokens");
        for (int i = 0; i < tokens.length; i++) {
            int type = types == null ? NORMAL : types[i];
            if (type == CONTROL || type == USER_DEFINED) {
                ObjectNode a = added.addObject();
                a.put("id", i).put("content", tokens[i]).put("special", type == CONTROL);
            } else {
                if (vocab.has(tokens[i])) throw new TokenizerException(source, "token '" + tokens[i] + "' appears twice (ids " + vocab.get(tokens[i]).asInt() + " and " + i + ")");
                vocab.put(tokens[i], i);
            }
        }
        ArrayNode m = model.putArray("merges");
        for (String merge : merges == null ? new String[0] : merges) m.add(merge);
        ObjectNode pre = root.putObject("pre_tokenizer");
        if (splitRegex == null) {
            pre.put("type", "ByteLevel").put("add_prefix_space", false).put("use_regex", true);
        } else {
            pre.put("type", "Sequence");
            ArrayNode steps = pre.putArray("pretokenizers");
            ObjectNode split = steps.addObject().put("type", "Split");
            split.putObject("pattern").put("Regex", splitRegex);
            split.put("behavior", "Isolated").put("invert", false);
            steps.addObject().put("type", "ByteLevel").put("add_prefix_space", false).put("use_regex", false);
        }
        root.putObject("decoder").put("type", "ByteLevel");
        ObjectNode config = f.objectNode();
        if (bosId >= 0 && bosId < tokens.length) config.put("bos_token", tokens[bosId]);
        if (eosId >= 0 && eosId < tokens.length) config.put("eos_token", tokens[eosId]);
        return HfTokenizer.build(root, source, config);
    }

    /** Llama 3's pre-tokenizer split pattern (tiktoken's and tokenizer.json's). */
    public static final String LLAMA3_SPLIT = TiktokenTokenizer.LLAMA3_SPLIT;

    /**
     * llama2.c's {@code tokenizer.bin} / {@code tok512.bin}: an int32 max_token_length, then per token a
     * float32 score, an int32 byte length and the bytes (little-endian), to the end of the file. Pieces
     * have spaces where SentencePiece has ▁, and BOS/EOS written as "\n&lt;s&gt;\n" / "\n&lt;/s&gt;\n"; ids 0,
     * 1, 2 are unknown, BOS and EOS, {@code <0xNN>} pieces are bytes. The result tokenizes as the
     * SentencePiece model it was exported from.
     */
    public static Tokenizer llama2c(Path file) throws IOException {
        byte[] all;
        try {
            all = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new TokenizerException(file, "no such file", e);
        }
        ByteBuffer b = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
        if (b.remaining() < 4) throw new TokenizerException(file, "is " + all.length + " bytes, too short for a llama2.c tokenizer");
        int maxLen = b.getInt();
        if (maxLen <= 0 || maxLen > 1 << 16)
            throw new TokenizerException(file, "max_token_length " + maxLen + " is absurd: not a llama2.c tokenizer.bin?");
        List<String> pieces = new ArrayList<>();
        List<Float> scores = new ArrayList<>();
        while (b.hasRemaining()) {
            int id = pieces.size();
            if (b.remaining() < 8) throw new TokenizerException(file, "token " + id + " at byte " + b.position() + " is cut off: truncated file");
            float score = b.getFloat();
            int len = b.getInt();
            if (len <= 0 || len > maxLen)
                throw new TokenizerException(file, "token " + id + " at byte " + (b.position() - 8) + " has length " + len
                        + " (max_token_length " + maxLen + "): corrupt file");
            if (b.remaining() < len) throw new TokenizerException(file, "token " + id + " needs " + len + " bytes, " + b.remaining() + " left: truncated file");
            byte[] bytes = new byte[len];
            b.get(bytes);
            pieces.add(new String(bytes, StandardCharsets.UTF_8));
            scores.add(score);
        }
        int n = pieces.size();
        if (n < 3) throw new TokenizerException(file, "has only " + n + " tokens");
        String[] text = new String[n];
        float[] sc = new float[n];
        int[] types = new int[n];
        for (int i = 0; i < n; i++) {
            String p = pieces.get(i);
            sc[i] = scores.get(i);
            if (p.equals("\n<s>\n") || p.equals("\n</s>\n")) {
                text[i] = p.strip();
                types[i] = CONTROL;
            } else if (i == 0 && p.equals("<unk>")) {
                text[i] = p;
                types[i] = UNKNOWN;
            } else {
                text[i] = p.replace(' ', '\u2581');
                types[i] = p.length() == 6 && p.startsWith("<0x") && p.endsWith(">") ? BYTE : NORMAL;
            }
        }
        return sentencePiece(file, new SentencePieceVocab(text, sc, types, 1, 2, true));
    }
}

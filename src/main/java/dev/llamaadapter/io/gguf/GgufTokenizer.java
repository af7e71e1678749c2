package dev.llamaadapter.io.gguf;

import dev.llamaadapter.tokenizer.Tokenizer;
import dev.llamaadapter.tokenizer.TokenizerException;
import dev.llamaadapter.tokenizer.Tokenizers;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

/**
 * The tokenizer that GGUF metadata describes ({@code tokenizer.ggml.*}), and the other way round.
 * Supported: {@code tokenizer.ggml.model} "llama" (SentencePiece BPE: tokens, scores, token_type) and
 * "gpt2" (byte-level BPE: tokens, merges, token_type; pre-tokenizer "default" = GPT-2's split or
 * "llama-bpe" = Llama 3's). Others are refused by name.
 */
public final class GgufTokenizer {
    private GgufTokenizer() {}

    /** tokenizer.ggml.pre values that mean Llama 3's split pattern (llama.cpp's names). */
    private static final Set<String> LLAMA3_PRE = Set.of("llama-bpe", "llama3", "llama-v3", "smaug-bpe");
    private static final Set<String> GPT2_PRE = Set.of("default", "gpt2", "gpt-2");

    /** The tokenizer of a GGUF file's metadata, or null when it has none (no tokenizer.ggml.model). */
    public static Tokenizer read(GgufMetadata md) throws IOException {
        Path file = md.file();
        String model = md.string("tokenizer.ggml.model");
        if (model == null) return null;
        String[] tokens = md.strings("tokenizer.ggml.tokens");
        if (tokens == null) throw new GgufException(file, "metadata 'tokenizer.ggml.model' is \"" + model + "\" but 'tokenizer.ggml.tokens' is missing");
        int[] types = md.ints("tokenizer.ggml.token_type");
        if (types != null && types.length != tokens.length)
            throw new GgufException(file, "metadata 'tokenizer.ggml.token_type' has " + types.length + " entries for " + tokens.length + " tokens");
        int bos = tokenId(md, "tokenizer.ggml.bos_token_id", tokens.length), eos = tokenId(md, "tokenizer.ggml.eos_token_id", tokens.length);
        switch (model) {
            case "llama" -> {
                float[] scores = md.floats("tokenizer.ggml.scores");
                if (scores == null) throw new GgufException(file, "a \"llama\" (SentencePiece) vocabulary needs 'tokenizer.ggml.scores'");
                Boolean prefix = md.bool("tokenizer.ggml.add_space_prefix");
                return Tokenizers.sentencePiece(file, new Tokenizers.SentencePieceVocab(tokens, scores, types, bos, eos, prefix == null || prefix));
            }
            case "gpt2" -> {
                String[] merges = md.strings("tokenizer.ggml.merges");
                if (merges == null) throw new GgufException(file, "a \"gpt2\" (byte-level BPE) vocabulary needs 'tokenizer.ggml.merges'");
                String pre = md.string("tokenizer.ggml.pre");
                boolean llama3 = pre != null && LLAMA3_PRE.contains(pre);
                if (pre != null && !llama3 && !GPT2_PRE.contains(pre))
                    throw new TokenizerException(file, "pre-tokenizer 'tokenizer.ggml.pre' = \"" + pre
                            + "\" is not supported (supported: default, llama-bpe)");
                return Tokenizers.byteLevelBpe(file, tokens, merges, types, llama3 ? Tokenizers.LLAMA3_SPLIT : null, llama3, bos, eos);
            }
            default -> throw new TokenizerException(file, "tokenizer model 'tokenizer.ggml.model' = \"" + model
                    + "\" is not supported (supported: llama, gpt2)");
        }
    }

    /** The tokenizer of a GGUF file (for instance a vocabulary-only one); an error when it has none. */
    public static Tokenizer read(Path file) throws IOException {
        try (GgufFile f = GgufFile.open(file)) {
            Tokenizer t = read(f.metadata());
            if (t == null) throw new TokenizerException(file, "GGUF file without a tokenizer (no 'tokenizer.ggml.model' metadata)");
            return t;
        }
    }

    private static int tokenId(GgufMetadata md, String key, int n) throws GgufException {
        Long id = md.integer(key);
        if (id == null || id == 0xffffffffL || id == -1) return -1;
        if (id < 0 || id >= n) throw new GgufException(md.file(), "metadata '" + key + "' = " + id + " is not a token id (" + n + " tokens)");
        return (int) (long) id;
    }

    /**
     * Writes a tokenizer as GGUF metadata: a SentencePiece one as a "llama" vocabulary (tokens, scores,
     * token_type, bos/eos/unknown ids, add_space_prefix); a tokenizer.json byte-level BPE of Llama 3's or
     * GPT-2's kind as a "gpt2" one (tokens, merges, token_type, pre "llama-bpe" or "default"). Returns false,
     * writing nothing, for the other kinds (tiktoken files, other tokenizer.json pipelines).
     */
    public static boolean write(Tokenizer t, Map<String, GgufValue> out) {
        Tokenizers.SentencePieceVocab v = Tokenizers.sentencePieceVocab(t);
        if (v == null) return writeByteLevel(Tokenizers.byteLevelVocab(t), out);
        out.put("tokenizer.ggml.model", GgufValue.string("llama"));
        out.put("tokenizer.ggml.tokens", GgufValue.strings(v.pieces()));
        out.put("tokenizer.ggml.scores", GgufValue.floats(v.scores()));
        out.put("tokenizer.ggml.token_type", GgufValue.int32s(v.types()));
        for (int i = 0; i < v.types().length; i++)
            if (v.types()[i] == Tokenizers.UNKNOWN) {
                out.put("tokenizer.ggml.unknown_token_id", GgufValue.uint32(i));
                break;
            }
        if (v.bosId() >= 0) out.put("tokenizer.ggml.bos_token_id", GgufValue.uint32(v.bosId()));
        if (v.eosId() >= 0) out.put("tokenizer.ggml.eos_token_id", GgufValue.uint32(v.eosId()));
        out.put("tokenizer.ggml.add_space_prefix", GgufValue.bool(v.addDummyPrefix()));
        return true;
    }

    /** A byte-level BPE vocabulary as llama.cpp's "gpt2" model; false (nothing written) for null. */
    private static boolean writeByteLevel(Tokenizers.ByteLevelVocab v, Map<String, GgufValue> out) {
        if (v == null) return false;
        out.put("tokenizer.ggml.model", GgufValue.string("gpt2"));
        out.put("tokenizer.ggml.pre", GgufValue.string(v.pre()));
        out.put("tokenizer.ggml.tokens", GgufValue.strings(v.tokens()));
        out.put("tokenizer.ggml.token_type", GgufValue.int32s(v.types()));
        out.put("tokenizer.ggml.merges", GgufValue.strings(v.merges()));
        if (v.bosId() >= 0) out.put("tokenizer.ggml.bos_token_id", GgufValue.uint32(v.bosId()));
        if (v.eosId() >= 0) out.put("tokenizer.ggml.eos_token_id", GgufValue.uint32(v.eosId()));
        return true;
    }
}

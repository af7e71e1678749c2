package dev.llamaadapter.tokenizer;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Text to token ids and back, for the LLaMA family. Three file formats, one behaviour each matching its
 * reference implementation:
 * <ul>
 *   <li>SentencePiece {@code tokenizer.model} (Llama 1/2, TinyLlama, llama2.c's tok512): as the
 *       sentencepiece library's BPE model, byte fallback included;</li>
 *   <li>tiktoken {@code tokenizer.model} (Llama 3: base64 ranks): as Meta's Llama 3 tokenizer;</li>
 *   <li>Hugging Face {@code tokenizer.json} with a BPE model (byte-level, or SentencePiece-style with ▁ and
 *       byte fallback): as the {@code tokenizers} library.</li>
 * </ul>
 * Instances are immutable and thread-safe; {@link StreamDecoder}s are not.
 */
public interface Tokenizer {

    /** Number of token ids (the embedding rows a model needs); ids are 0 .. vocabSize()-1. */
    int vocabSize();

    /** Beginning-of-sequence id, or -1 if the vocabulary has none. */
    int bosId();

    /** End-of-sequence id, or -1 if the vocabulary has none. */
    int eosId();

    /** End-of-turn id for chat models: {@code <|eot_id|>} where the vocabulary has it, else {@link #eosId()}. */
    int eotId();

    /**
     * Text to ids, without BOS/EOS (callers add them), exactly as the reference implementation tokenizes
     * {@code text}: SentencePiece adds its dummy-prefix space; Llama 3 (tiktoken) treats special-token
     * text such as {@code <|eot_id|>} as ordinary text, as Meta's encode does by default; tokenizer.json
     * matches its added tokens in the text first, as Hugging Face does.
     */
    int[] encode(String text);

    /**
     * A lower bound on {@code encode(text).length}, found in one pass over the text without tokenizing it.
     * It is never more than the true count, so a caller with a token budget can refuse text that cannot
     * fit before paying for encoding it (megabytes of text take seconds and gigabytes to encode), and text
     * that passes costs at most about budget x longest token to encode. 0 where the tokenizer knows no
     * bound (the default).
     */
    default int minTokens(String text) {
        return 0;
    }

    /**
     * Ids to text: control tokens (BOS, EOS, chat markers) are skipped, byte tokens are reassembled into
     * UTF-8 (ill-formed bytes become U+FFFD), and SentencePiece's dummy-prefix space is removed from the
     * first piece as sentencepiece does.
     *
     * @throws IllegalArgumentException if an id is outside the vocabulary
     */
    String decode(int[] ids);

    /**
     * The text of one token on its own: ▁ as a space, "" for control tokens, and bytes that are not whole
     * characters left out. For streaming output use {@link #newStreamDecoder()}, which puts characters
     * split over several tokens back together and drops the dummy-prefix space as {@link #decode} does.
     */
    String piece(int id);

    /** A decoder for one sequence generated token by token. */
    StreamDecoder newStreamDecoder();

    /** The id of a special/control token by its text ({@code "<s>"}, {@code "<|eot_id|>"}), or -1. */
    int specialTokenId(String text);

    /** Whether {@code id} is a control/special token, which {@link #decode} skips. */
    boolean isSpecial(int id);

    /**
     * Opens the tokenizer in a model directory or file. A directory is searched for {@code tokenizer.model},
     * then {@code tokenizer.json}, then {@code original/tokenizer.model} (Hugging Face Llama 3 layout). A
     * {@code tokenizer.model} is told apart by content: base64-rank lines are tiktoken, anything else is read
     * as a SentencePiece protobuf. A {@code .json} file is Hugging Face's format. A GGUF file (model or
     * vocabulary only) gives the vocabulary in its metadata, and a {@code .bin} file is read as llama2.c's
     * tokenizer.bin (see {@link Tokenizers} for both).
     *
     * @throws TokenizerException if no tokenizer file is found or the file is corrupt or unsupported (the
     *                            message names the file)
     */
    static Tokenizer load(Path fileOrModelDir) throws IOException {
        return TokenizerLoader.load(fileOrModelDir);
    }
}

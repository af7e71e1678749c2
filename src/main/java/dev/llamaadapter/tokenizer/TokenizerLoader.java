package dev.llamaadapter.tokenizer;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/** Finds the tokenizer file in a model directory and picks the implementation by file name and content. */
final class TokenizerLoader {
    private TokenizerLoader() {}

    /** Looked for in this order: our SentencePiece/tiktoken readers follow the reference implementations most closely. */
    static final String[] CANDIDATES = {"tokenizer.model", "tokenizer.json", "original/tokenizer.model"};

    static Tokenizer load(Path path) throws IOException {
        if (Files.isDirectory(path)) {
            for (String name : CANDIDATES) {
                Path f = path.resolve(name);
                if (Files.isRegularFile(f)) return loadFile(f);
            }
            throw new TokenizerException(path, "no tokenizer file in this directory (looked for " + String.join(", ", CANDIDATES) + ")");
        }
        if (!Files.exists(path)) throw new TokenizerException(path, "no such tokenizer file or model directory");
        return loadFile(path);
    }

    private static Tokenizer loadFile(Path file) throws IOException {
        byte[] head = new byte[256];
        int n;
        try (InputStream in = Files.newInputStream(file)) {
            n = in.readNBytes(head, 0, head.length);
        }
        if (n == 0) throw new TokenizerException(file, "empty tokenizer file");
        head = java.util.Arrays.copyOf(head, n);
        if (n >= 4 && head[0] == 'G' && head[1] == 'G' && head[2] == 'U' && head[3] == 'F')
            return dev.llamaadapter.io.gguf.GgufTokenizer.read(file); // a GGUF model or vocabulary-only file
        if (file.getFileName().toString().endsWith(".bin")) return Tokenizers.llama2c(file); // llama2.c's tokenizer.bin
        if (file.getFileName().toString().endsWith(".json") || looksLikeJson(head)) return HfTokenizer.load(file);
        if (TiktokenTokenizer.looksLikeRanks(firstLine(head))) return TiktokenTokenizer.load(file);
        return SentencePieceTokenizer.load(file);
    }

    /** Text whose first non-blank character is '{'. (A protobuf file can start with a blank-looking byte, but then has binary bytes.) */
    private static boolean looksLikeJson(byte[] head) {
        for (byte b : head) if ((b & 0xFF) < 0x09) return false;
        int i = 0;
        while (i < head.length && (head[i] == ' ' || head[i] == '\t' || head[i] == '\r' || head[i] == '\n')) i++;
        return i < head.length && head[i] == '{';
    }

    private static byte[] firstLine(byte[] head) {
        for (int i = 0; i < head.length; i++)
            if (head[i] == '\n') return java.util.Arrays.copyOf(head, i);
        return head;
    }
}

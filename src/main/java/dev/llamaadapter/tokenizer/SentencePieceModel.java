package dev.llamaadapter.tokenizer;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The parts of a SentencePiece {@code ModelProto} (sentencepiece_model.proto) that encoding and decoding
 * need, read from the protobuf bytes. Field numbers and defaults follow that .proto file; fields not listed
 * here are skipped.
 */
record SentencePieceModel(
        List<Piece> pieces,
        int modelType,
        boolean byteFallback,
        boolean treatWhitespaceAsSuffix,
        String unkSurface,
        String unkPiece,
        String bosPiece,
        String eosPiece,
        String normalizerName,
        boolean hasPrecompiledCharsmap,
        boolean addDummyPrefix,
        boolean removeExtraWhitespaces,
        boolean escapeWhitespaces) {

    // ModelProto.SentencePiece.Type
    static final int NORMAL = 1, UNKNOWN = 2, CONTROL = 3, USER_DEFINED = 4, UNUSED = 5, BYTE = 6;
    // TrainerSpec.ModelType
    static final int UNIGRAM = 1, BPE = 2, WORD = 3, CHAR = 4;

    record Piece(String text, float score, int type) {}

    static SentencePieceModel read(Path file) throws IOException {
        byte[] data = Files.readAllBytes(file);
        try {
            return parse(data);
        } catch (ProtoReader.Corrupt e) {
            throw new TokenizerException(file, "corrupt SentencePiece model: " + e.getMessage(), e);
        }
    }

    static SentencePieceModel parse(byte[] data) throws ProtoReader.Corrupt {
        List<Piece> pieces = new ArrayList<>();
        // TrainerSpec defaults.
        int modelType = UNIGRAM;
        boolean byteFallback = false, suffix = false;
        String unkSurface = " \u2047 ", unkPiece = "<unk>", bosPiece = "<s>", eosPiece = "</s>";
        // NormalizerSpec defaults.
        String normName = "";
        boolean charsmap = false, dummyPrefix = true, removeExtra = true, escape = true;

        boolean hasTrainerSpec = false, hasNormalizerSpec = false;
        ProtoReader model = new ProtoReader(data);
        while (model.next()) {
            switch (model.field()) {
                case 1 -> pieces.add(readPiece(model.message()));
                case 2 -> {
                    hasTrainerSpec = true;
                    ProtoReader t = model.message();
                    while (t.next()) {
                        switch (t.field()) {
                            case 3 -> modelType = t.int32();
                            case 24 -> suffix = t.bool();
                            case 35 -> byteFallback = t.bool();
                            case 44 -> unkSurface = t.string();
                            case 45 -> unkPiece = nonEmpty(t.string(), unkPiece);
                            case 46 -> bosPiece = nonEmpty(t.string(), bosPiece);
                            case 47 -> eosPiece = nonEmpty(t.string(), eosPiece);
                            default -> t.skip();
                        }
                    }
                }
                case 3 -> {
                    hasNormalizerSpec = true;
                    ProtoReader n = model.message();
                    while (n.next()) {
                        switch (n.field()) {
                            case 1 -> normName = n.string();
                            case 2 -> charsmap = n.bytes().length > 0;
                            case 3 -> dummyPrefix = n.bool();
                            case 4 -> removeExtra = n.bool();
                            case 5 -> escape = n.bool();
                            default -> n.skip();
                        }
                    }
                }
                default -> model.skip();
            }
        }
        if (pieces.isEmpty()) throw new ProtoReader.Corrupt("no pieces (is this a SentencePiece model?)");
        // Protobuf cannot tell a file cut between two fields from a complete one, but spm_train always
        // writes both specs after the pieces; without them the defaults would silently change tokenization.
        if (!hasTrainerSpec || !hasNormalizerSpec)
            throw new ProtoReader.Corrupt("no " + (hasTrainerSpec ? "normalizer_spec" : "trainer_spec") + " after "
                    + pieces.size() + " pieces (truncated file?)");
        return new SentencePieceModel(List.copyOf(pieces), modelType, byteFallback, suffix, unkSurface, unkPiece, bosPiece,
                eosPiece, normName, charsmap, dummyPrefix, removeExtra, escape);
    }

    private static Piece readPiece(ProtoReader r) throws ProtoReader.Corrupt {
        String text = null;
        float score = 0;
        int type = NORMAL;
        while (r.next()) {
            switch (r.field()) {
                case 1 -> text = r.string();
                case 2 -> score = r.float32();
                case 3 -> type = r.int32();
                default -> r.skip();
            }
        }
        if (text == null || text.isEmpty()) throw new ProtoReader.Corrupt("a piece without text");
        if (type < NORMAL || type > BYTE) throw new ProtoReader.Corrupt("piece '" + text + "' has unknown type " + type);
        return new Piece(text, score, type);
    }

    private static String nonEmpty(String s, String fallback) {
        return s.isEmpty() ? fallback : s;
    }
}

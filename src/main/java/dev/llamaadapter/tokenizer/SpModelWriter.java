package dev.llamaadapter.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Writes SentencePiece ModelProto files (protobuf wire format, the fields {@link SentencePieceModel} reads):
 * the demo's generated vocabulary and tests' small models.
 */
public final class SpModelWriter {
    /** Piece types, as SentencePiece numbers them. */
    public static final int NORMAL = SentencePieceModel.NORMAL, UNKNOWN = SentencePieceModel.UNKNOWN,
            CONTROL = SentencePieceModel.CONTROL, BYTE = SentencePieceModel.BYTE;
    private final ByteArrayOutputStream pieces = new ByteArrayOutputStream();
    private boolean byteFallback, addDummyPrefix = true, removeExtraWhitespaces;
    private int modelType = SentencePieceModel.BPE;

    public SpModelWriter piece(String text, float score, int type) {
        ByteArrayOutputStream p = new ByteArrayOutputStream();
        string(p, 1, text);
        tag(p, 2, 5);
        int bits = Float.floatToIntBits(score);
        for (int k = 0; k < 4; k++) p.write(bits >>> (8 * k));
        tag(p, 3, 0);
        varint(p, type);
        message(pieces, 1, p.toByteArray());
        return this;
    }

    public SpModelWriter byteFallback(boolean v) { byteFallback = v; return this; }
    public SpModelWriter addDummyPrefix(boolean v) { addDummyPrefix = v; return this; }
    public SpModelWriter removeExtraWhitespaces(boolean v) { removeExtraWhitespaces = v; return this; }
    public SpModelWriter modelType(int v) { modelType = v; return this; }

    public byte[] bytes() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(pieces.toByteArray());
        ByteArrayOutputStream trainer = new ByteArrayOutputStream();
        tag(trainer, 3, 0);
        varint(trainer, modelType);
        tag(trainer, 35, 0);
        varint(trainer, byteFallback ? 1 : 0);
        tag(trainer, 43, 0);
        varint(trainer, -1L); // pad_id = -1: a 10-byte varint, as protobuf writes negative int32s
        message(out, 2, trainer.toByteArray());
        ByteArrayOutputStream norm = new ByteArrayOutputStream();
        string(norm, 1, "identity");
        tag(norm, 3, 0);
        varint(norm, addDummyPrefix ? 1 : 0);
        tag(norm, 4, 0);
        varint(norm, removeExtraWhitespaces ? 1 : 0);
        message(out, 3, norm.toByteArray());
        return out.toByteArray();
    }

    private static void tag(ByteArrayOutputStream o, int field, int wire) {
        varint(o, (long) field << 3 | wire);
    }

    private static void varint(ByteArrayOutputStream o, long v) {
        while ((v & ~0x7FL) != 0) {
            o.write((int) (v & 0x7F) | 0x80);
            v >>>= 7;
        }
        o.write((int) v);
    }

    private static void string(ByteArrayOutputStream o, int field, String s) {
        message(o, field, s.getBytes(StandardCharsets.UTF_8));
    }

    private static void message(ByteArrayOutputStream o, int field, byte[] body) {
        tag(o, field, 2);
        varint(o, body.length);
        o.writeBytes(body);
    }
}

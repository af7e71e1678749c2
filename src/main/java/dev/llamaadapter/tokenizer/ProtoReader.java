package dev.llamaadapter.tokenizer;

import java.nio.charset.StandardCharsets;

/**
 * Just enough of the protobuf wire format to read a SentencePiece {@code ModelProto}: a cursor over a byte
 * range that yields (field number, wire type) tags and their values. Unknown fields are skipped, so newer
 * model files with extra fields still load. Every read is bounds-checked and throws {@link Corrupt} with
 * the byte offset, which the caller turns into an error naming the file.
 */
final class ProtoReader {

    static final int VARINT = 0, FIXED64 = 1, LENGTH_DELIMITED = 2, FIXED32 = 5;

    /** The input is not valid protobuf (truncated or malformed). */
    static final class Corrupt extends Exception {
        Corrupt(String message) {
            super(message);
        }
    }

    private final byte[] buf;
    private int pos;
    private final int end;
    private int tag;

    ProtoReader(byte[] buf) {
        this(buf, 0, buf.length);
    }

    private ProtoReader(byte[] buf, int start, int end) {
        this.buf = buf;
        this.pos = start;
        this.end = end;
    }

    /** Advances to the next field; false at the end of this message. */
    boolean next() throws Corrupt {
        if (pos >= end) return false;
        long t = varint();
        if (t >>> 3 == 0 || t >>> 3 > 0x1FFFFFFFL) throw new Corrupt("invalid field tag at byte " + pos);
        tag = (int) t;
        return true;
    }

    int field() {
        return tag >>> 3;
    }

    int wireType() {
        return tag & 7;
    }

    long varint() throws Corrupt {
        long result = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (pos >= end) throw new Corrupt("truncated varint at byte " + pos);
            byte b = buf[pos++];
            result |= (long) (b & 0x7F) << shift;
            if (b >= 0) return result;
        }
        throw new Corrupt("varint longer than 10 bytes at byte " + pos);
    }

    /** An int32 field; negative values are sign-extended 10-byte varints, so truncation is correct. */
    int int32() throws Corrupt {
        expect(VARINT);
        return (int) varint();
    }

    boolean bool() throws Corrupt {
        expect(VARINT);
        return varint() != 0;
    }

    float float32() throws Corrupt {
        expect(FIXED32);
        need(4);
        int bits = (buf[pos] & 0xFF) | (buf[pos + 1] & 0xFF) << 8 | (buf[pos + 2] & 0xFF) << 16 | (buf[pos + 3] & 0xFF) << 24;
        pos += 4;
        return Float.intBitsToFloat(bits);
    }

    byte[] bytes() throws Corrupt {
        int n = length();
        byte[] out = new byte[n];
        System.arraycopy(buf, pos, out, 0, n);
        pos += n;
        return out;
    }

    String string() throws Corrupt {
        int n = length();
        String s = new String(buf, pos, n, StandardCharsets.UTF_8);
        pos += n;
        return s;
    }

    /** A reader over an embedded message; this reader moves past it. */
    ProtoReader message() throws Corrupt {
        int n = length();
        ProtoReader sub = new ProtoReader(buf, pos, pos + n);
        pos += n;
        return sub;
    }

    void skip() throws Corrupt {
        switch (wireType()) {
            case VARINT -> varint();
            case FIXED64 -> { need(8); pos += 8; }
            case LENGTH_DELIMITED -> {
                int n = length(); // not "pos += length()": Java would read pos before length() moves it
                pos += n;
            }
            case FIXED32 -> { need(4); pos += 4; }
            default -> throw new Corrupt("unsupported wire type " + wireType() + " for field " + field() + " at byte " + pos);
        }
    }

    private int length() throws Corrupt {
        expect(LENGTH_DELIMITED);
        long n = varint();
        if (n < 0 || n > end - pos) throw new Corrupt("field " + field() + " of " + n + " bytes runs past the end at byte " + pos);
        return (int) n;
    }

    private void expect(int wireType) throws Corrupt {
        if (wireType() != wireType)
            throw new Corrupt("field " + field() + " has wire type " + wireType() + ", expected " + wireType + " (byte " + pos + ")");
    }

    private void need(int n) throws Corrupt {
        if (end - pos < n) throw new Corrupt("truncated field " + field() + " at byte " + pos);
    }
}

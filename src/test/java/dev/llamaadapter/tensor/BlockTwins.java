package dev.llamaadapter.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;

/**
 * Scalar twins of the block formats, written from the layout as llama.cpp's gguf-py states it, one element at
 * a time on a plain byte[] (no segments, no shared helpers with the formats), and random block data to test
 * them on: any byte pattern is a valid block once its fp16 scales are finite.
 */
final class BlockTwins {
    private BlockTwins() {}

    static int u8(byte[] b, int i) {
        return b[i] & 0xff;
    }

    static float f16(byte[] b, int i) {
        return Float.float16ToFloat((short) (u8(b, i) | u8(b, i + 1) << 8));
    }

    /** Element e of a tensor of type t whose bytes are b (from its first block). */
    static float element(DType t, byte[] b, long e) {
        int blk = (int) (e / t.blockSize), i = (int) (e % t.blockSize), o = blk * t.blockBytes;
        switch (t) {
            case Q8_0: // d, then 32 int8
                return b[o + 2 + i] * f16(b, o);
            case Q4_0: { // d, then 16 bytes: element i < 16 low nibble of byte i, 16 + i its high nibble; minus 8
                int nib = i < 16 ? u8(b, o + 2 + i) & 15 : u8(b, o + 2 + i - 16) >> 4;
                return (nib - 8) * f16(b, o);
            }
            case Q4_K: { // d, dmin, 12 scale bytes, 128 quant bytes
                int j = i / 32;
                int[] s = new int[12];
                for (int k = 0; k < 12; k++) s[k] = u8(b, o + 4 + k);
                int sc, m;
                if (j < 4) {
                    sc = s[j] & 0x3f;
                    m = s[4 + j] & 0x3f;
                } else { // the 6-bit pairs of sub-blocks 4..7: low 4 bits in s[8..11], top 2 bits in the top of s[0..7]
                    sc = (s[8 + j - 4] & 0x0f) | ((s[j - 4] >> 6) << 4);
                    m = (s[8 + j - 4] >> 4) | ((s[j] >> 6) << 4);
                }
                int qbyte = u8(b, o + 16 + (j / 2) * 32 + i % 32);
                int q = j % 2 == 0 ? qbyte & 15 : qbyte >> 4;
                float d = f16(b, o) * sc, dm = f16(b, o + 2) * m;
                return d * q - dm;
            }
            case Q5_K: { // d, dmin, 12 scale bytes (as Q4_K), qh[32], qs[128]
                int j = i / 32, l = i % 32;
                int[] s = new int[12];
                for (int k = 0; k < 12; k++) s[k] = u8(b, o + 4 + k);
                int sc = j < 4 ? s[j] & 0x3f : (s[8 + j - 4] & 0x0f) | ((s[j - 4] >> 6) << 4);
                int m = j < 4 ? s[4 + j] & 0x3f : (s[8 + j - 4] >> 4) | ((s[j] >> 6) << 4);
                int qbyte = u8(b, o + 48 + (j / 2) * 32 + l);
                int low = j % 2 == 0 ? qbyte & 15 : qbyte >> 4;
                int fifth = (u8(b, o + 16 + l) >> j) & 1;
                float d = f16(b, o) * sc, dm = f16(b, o + 2) * m;
                return d * (low + 16 * fifth) - dm;
            }
            case Q6_K: { // ql[128], qh[64], int8 scales[16], d
                int half = i / 128, r = i % 128, g = r / 32, l = r % 32;
                int qlByte = u8(b, o + half * 64 + (g % 2) * 32 + l);
                int low = g < 2 ? qlByte & 15 : qlByte >> 4;
                int high = (u8(b, o + 128 + half * 32 + l) >> (2 * g)) & 3;
                int q = (low | high << 4) - 32;
                float d = f16(b, o + 208) * b[o + 192 + i / 16];
                return d * q;
            }
            default:
                throw new IllegalArgumentException(t.toString());
        }
    }

    /** Byte offsets of the fp16 fields inside a block of t (scales that must be finite). */
    static int[] halfFields(DType t) {
        return switch (t) {
            case Q8_0, Q4_0 -> new int[] {0};
            case Q4_K, Q5_K -> new int[] {0, 2};
            case Q6_K -> new int[] {208};
            default -> throw new IllegalArgumentException(t.toString());
        };
    }

    /** Random blocks for [rows, cols] of t: random bytes, with every fp16 scale a random finite value of size ~ 2^-10 .. 2^-5. */
    static byte[] randomBlocks(DType t, int rows, int cols, Random r) {
        byte[] b = new byte[(int) t.bytes((long) rows * cols)];
        r.nextBytes(b);
        for (int o = 0; o < b.length; o += t.blockBytes)
            for (int f : halfFields(t)) {
                short h = Float.floatToFloat16((float) ((r.nextBoolean() ? 1 : -1) * Math.scalb(1 + r.nextDouble(), -5 - r.nextInt(6))));
                b[o + f] = (byte) h;
                b[o + f + 1] = (byte) (h >> 8);
            }
        return b;
    }

    /** The bytes as a weight in arena (readable from the pool's threads when arena is shared). */
    static WeightMatrix matrix(String name, DType t, byte[] b, int rows, int cols, Arena arena) {
        MemorySegment s = arena.allocate(b.length, 64);
        MemorySegment.copy(MemorySegment.ofArray(b), 0, s, 0, b.length);
        return new WeightMatrix(name, s, t, rows, cols);
    }
}

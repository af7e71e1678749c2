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
            case Q4_1: { // d, m, then Q4_0's 16 nibble bytes; d·q + m
                int nib = i < 16 ? u8(b, o + 4 + i) & 15 : u8(b, o + 4 + i - 16) >> 4;
                return f16(b, o) * nib + f16(b, o + 2);
            }
            case Q5_0: { // d, qh (uint32, bit i for element i), 16 nibble bytes; d·(q − 16)
                long qh = u8(b, o + 2) | u8(b, o + 3) << 8 | u8(b, o + 4) << 16 | (long) u8(b, o + 5) << 24;
                int nib = i < 16 ? u8(b, o + 6 + i) & 15 : u8(b, o + 6 + i - 16) >> 4;
                int q = nib | (int) (qh >> i & 1) << 4;
                return f16(b, o) * (q - 16);
            }
            case Q5_1: { // d, m, qh, 16 nibble bytes; d·q + m
                long qh = u8(b, o + 4) | u8(b, o + 5) << 8 | u8(b, o + 6) << 16 | (long) u8(b, o + 7) << 24;
                int nib = i < 16 ? u8(b, o + 8 + i) & 15 : u8(b, o + 8 + i - 16) >> 4;
                int q = nib | (int) (qh >> i & 1) << 4;
                return f16(b, o) * q + f16(b, o + 2);
            }
            case IQ4_NL: { // d, 16 nibble bytes indexing the grid
                int nib = i < 16 ? u8(b, o + 2 + i) & 15 : u8(b, o + 2 + i - 16) >> 4;
                return f16(b, o) * IQ4_GRID[nib];
            }
            case Q2_K: { // scales[16], qs[64], d, dmin
                int sc = u8(b, o + i / 16);
                int half = i / 128, shift = (i % 128) / 32, l = i % 32;
                int q = (u8(b, o + 16 + half * 32 + l) >> (2 * shift)) & 3;
                float dl = f16(b, o + 80) * (sc & 15), ml = f16(b, o + 82) * (sc >> 4);
                return dl * q - ml;
            }
            case Q3_K: { // hmask[32], qs[64], scales[12], d
                int k = i / 16;
                int low4 = k < 8 ? u8(b, o + 96 + k) & 15 : u8(b, o + 96 + k - 8) >> 4;
                int high2 = (u8(b, o + 104 + k % 4) >> (2 * (k / 4))) & 3;
                int sc = (low4 | high2 << 4) - 32;
                int half = i / 128, shift = (i % 128) / 32, l = i % 32;
                int ql = (u8(b, o + 32 + half * 32 + l) >> (2 * shift)) & 3;
                int bit = (u8(b, o + l) >> (i / 32)) & 1;
                float dl = f16(b, o + 108) * sc;
                return dl * (ql - (bit == 1 ? 0 : 4));
            }
            case IQ4_XS: { // d, scales_h (uint16), scales_l[4], qs[128]
                int j = i / 32, l = i % 32;
                int sh = u8(b, o + 2) | u8(b, o + 3) << 8;
                int ls = ((u8(b, o + 4 + j / 2) >> (4 * (j % 2))) & 15) | ((sh >> (2 * j)) & 3) << 4;
                int nib = l < 16 ? u8(b, o + 8 + 16 * j + l) & 15 : u8(b, o + 8 + 16 * j + l - 16) >> 4;
                float dl = f16(b, o) * (ls - 32);
                return dl * IQ4_GRID[nib];
            }
            default:
                throw new IllegalArgumentException(t.toString());
        }
    }

    /** llama.cpp's kvalues_iq4nl, the non-linear grid of IQ4_NL and IQ4_XS. */
    static final int[] IQ4_GRID = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

    /** Byte offsets of the fp16 fields inside a block of t (scales that must be finite). */
    static int[] halfFields(DType t) {
        return switch (t) {
            case Q8_0, Q4_0 -> new int[] {0};
            case Q4_K, Q5_K -> new int[] {0, 2};
            case Q6_K -> new int[] {208};
            case Q4_1, Q5_1 -> new int[] {0, 2};
            case Q5_0, IQ4_NL, IQ4_XS -> new int[] {0};
            case Q2_K -> new int[] {80, 82};
            case Q3_K -> new int[] {108};
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

    /**
     * As {@link #randomBlocks}, but every fp16 field an extreme finite value: the largest (±65504), the smallest
     * normal or subnormal, zero, or an ordinary one, so that products overflow, underflow and cancel as they will.
     */
    static byte[] extremeBlocks(DType t, int rows, int cols, Random r) {
        byte[] b = randomBlocks(t, rows, cols, r);
        short[] pick = {0x7bff, (short) 0xfbff, 0x0400, (short) 0x8400, 0x0001, (short) 0x8001, 0x0000, (short) 0x8000, 0x3c00, 0x2400};
        for (int o = 0; o < b.length; o += t.blockBytes)
            for (int f : halfFields(t)) {
                short h = pick[r.nextInt(pick.length)];
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

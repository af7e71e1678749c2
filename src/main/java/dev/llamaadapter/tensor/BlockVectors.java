package dev.llamaadapter.tensor;

import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;

/** The vector shapes and byte layouts the block formats share (kept apart so that no format needs another). */
final class BlockVectors {
    private BlockVectors() {}

    static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    /** Floats per vector (16 with AVX-512). */
    static final int L = S.length();
    /**
     * Bytes, same lane count as S (a quarter of the bits): one vector of quants, widened lane for lane to
     * fp32; null where that shape does not exist (fewer than 8 float lanes), and then the formats run scalar.
     */
    static final VectorSpecies<Byte> SB = L >= 8 && 16 % L == 0
            ? ByteVector.SPECIES_PREFERRED.withShape(VectorShape.forBitSize(L * 8)) : null;
    /** Whether the formats' vector paths run: every format's vector step (16 or 32 quants sharing a scale) is whole vectors. */
    static final boolean QVEC = SB != null;

    /**
     * Sixteen bytes, whatever S is: the 16 quant bytes of a 32-element block (Q4_1, Q5_0, Q5_1, IQ4_NL) or of
     * a 16- or 32-element group of the newer formats in one load, widened to fp32 in {@link #P} parts of L lanes.
     */
    static final VectorSpecies<Byte> B16 = ByteVector.SPECIES_128;
    /** Parts of L floats in 16 bytes (1 with AVX-512, 2 with AVX2; only used when {@link #QVEC}). */
    static final int P = QVEC ? 16 / L : 0;

    /**
     * The 16 values of IQ4_NL's and IQ4_XS's non-linear 4-bit grid (llama.cpp's kvalues_iq4nl): a nibble is an
     * index into it, not a value, so that the quants crowd near zero where weights do.
     */
    static final byte[] IQ4_GRID = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
    /** {@link #IQ4_GRID} as one vector: nibbles.selectFrom(IQ4_TABLE) looks 16 nibbles up at once. */
    static final ByteVector IQ4_TABLE = ByteVector.fromArray(B16, IQ4_GRID, 0);

    /**
     * For Q5_0/Q5_1's fifth bits (a uint32 qh, bit i for element i): with raw = 16 bytes loaded from qh,
     * QH_LOW.selectFrom(raw).and(BIT) is nonzero in lane u exactly when element u has its bit, QH_HIGH the same
     * for element 16 + u (lane u reads qh byte u / 8, or 2 + u / 8, and tests bit u mod 8).
     */
    static final ByteVector QH_LOW = ByteVector.fromArray(B16, new byte[] {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1}, 0);
    static final ByteVector QH_HIGH = QH_LOW.add((byte) 2);
    static final ByteVector BIT = ByteVector.fromArray(B16, new byte[] {1, 2, 4, 8, 16, 32, 64, -128, 1, 2, 4, 8, 16, 32, 64, -128}, 0);

    /** Part p (lanes pL .. pL + L) of 16 int8 values as fp32 (15 bytes of bytecode: always inlined, so the vector crosses no real call). */
    static FloatVector part(ByteVector q16, int p) {
        return (FloatVector) q16.convertShape(jdk.incubator.vector.VectorOperators.B2F, S, p);
    }

    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    static final ValueLayout.OfShort I16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);
    static final ValueLayout.OfByte I8 = ValueLayout.JAVA_BYTE;

    /** The fp16 at byte b as fp32 (every block's scales). */
    static float f16(java.lang.foreign.MemorySegment d, long b) {
        return Float.float16ToFloat(d.get(I16, b));
    }

    /** The unsigned byte at b. */
    static int u8(java.lang.foreign.MemorySegment d, long b) {
        return d.get(I8, b) & 0xff;
    }
}

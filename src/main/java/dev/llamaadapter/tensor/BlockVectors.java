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

package dev.llamaadapter.io.gguf;

import dev.llamaadapter.tensor.DType;

/**
 * ggml's tensor types as GGUF numbers them, with their block geometry so that every tensor's byte size
 * (and so its bounds in the file) is known even when the engine cannot compute with it. Only the types
 * with a {@link #dtype} are loadable: F32, F16, BF16, and the block types of {@link DType} (and the integer ones for non-weights);
 * a block type's geometry here must agree with its {@link DType#format()} (GgufKQuantFilesTest checks it).
 */
public enum GgmlType {
    F32(0, 1, 4, DType.F32), F16(1, 1, 2, DType.F16), Q4_0(2, 32, 18, DType.Q4_0), Q4_1(3, 32, 20, DType.Q4_1),
    Q5_0(6, 32, 22, DType.Q5_0), Q5_1(7, 32, 24, DType.Q5_1), Q8_0(8, 32, 34, DType.Q8_0), Q8_1(9, 32, 36, null),
    Q2_K(10, 256, 84, DType.Q2_K), Q3_K(11, 256, 110, DType.Q3_K), Q4_K(12, 256, 144, DType.Q4_K), Q5_K(13, 256, 176, DType.Q5_K),
    Q6_K(14, 256, 210, DType.Q6_K), Q8_K(15, 256, 292, null), IQ2_XXS(16, 256, 66, null), IQ2_XS(17, 256, 74, null),
    IQ3_XXS(18, 256, 98, null), IQ1_S(19, 256, 50, null), IQ4_NL(20, 32, 18, DType.IQ4_NL), IQ3_S(21, 256, 110, null),
    IQ2_S(22, 256, 82, null), IQ4_XS(23, 256, 136, DType.IQ4_XS), I8(24, 1, 1, DType.I8), I16(25, 1, 2, DType.I16),
    I32(26, 1, 4, DType.I32), I64(27, 1, 8, DType.I64), F64(28, 1, 8, DType.F64), IQ1_M(29, 256, 56, null),
    BF16(30, 1, 2, DType.BF16), TQ1_0(34, 256, 54, null), TQ2_0(35, 256, 66, null), MXFP4(39, 32, 17, null);

    /** The number in the file. */
    public final int id;
    /** Elements per block (1 for plain types). */
    public final int blockSize;
    /** Bytes per block. */
    public final int blockBytes;
    /** The engine's type, or null when the engine cannot read this one. */
    public final DType dtype;

    GgmlType(int id, int blockSize, int blockBytes, DType dtype) {
        this.id = id;
        this.blockSize = blockSize;
        this.blockBytes = blockBytes;
        this.dtype = dtype;
    }

    /** The type with this number, or null. */
    public static GgmlType of(long id) {
        for (GgmlType t : values()) if (t.id == id) return t;
        return null;
    }

    /** The GGUF type of an engine dtype; IllegalArgumentException for one GGUF cannot hold (U8, BOOL). */
    public static GgmlType of(DType d) {
        for (GgmlType t : values()) if (t.dtype == d) return t;
        throw new IllegalArgumentException("GGUF has no tensor type for " + d);
    }

    /** Bytes of a row of ne0 elements (ne0 must be whole blocks). */
    public long rowBytes(long ne0) {
        return ne0 / blockSize * blockBytes;
    }
}

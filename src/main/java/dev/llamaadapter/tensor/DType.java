package dev.llamaadapter.tensor;

/**
 * Element types: the safetensors names, plus GGUF's block-quantised weight types (Q8_0, Q4_0,
 * Q4_K, Q5_K, Q6_K, Q2_K, Q3_K, IQ4_NL, IQ4_XS, Q4_1, Q5_0, Q5_1).
 * Frozen weights may be F32, F16, BF16 or a block type (converted to fp32 inside the kernels); the integer
 * types appear in token batches.
 *
 * <p>A block type holds its {@link BlockFormat} ({@link #format}), which alone knows the inside of a block;
 * it stores {@link #blockSize} elements in {@link #blockBytes} bytes, and a tensor row of such a type must
 * hold whole blocks. Their {@link #size} is 0: use {@link #bytes(long)}, which is right for every type.
 */
public enum DType {
    F32(4), F16(2), BF16(2), F64(8), I64(8), I32(4), I16(2), I8(1), U8(1), BOOL(1),
    /** GGUF Q8_0: blocks of 32, an fp16 scale d then 32 int8 q; value = q·d (see {@link BlockQ8_0}). */
    Q8_0(BlockQ8_0.INSTANCE),
    /** GGUF Q4_0: blocks of 32, an fp16 scale d then 16 bytes of nibbles; value = (nibble − 8)·d (see {@link BlockQ4_0}). */
    Q4_0(BlockQ4_0.INSTANCE),
    /** GGUF Q4_K: super-blocks of 256 in 144 bytes, 4-bit quants with a 6-bit scale and min per 32 (see {@link BlockQ4_K}). */
    Q4_K(BlockQ4_K.INSTANCE),
    /** GGUF Q5_K: super-blocks of 256 in 176 bytes, 5-bit quants with a 6-bit scale and min per 32 (see {@link BlockQ5_K}). */
    Q5_K(BlockQ5_K.INSTANCE),
    /** GGUF Q6_K: super-blocks of 256 in 210 bytes, 6-bit quants with an int8 scale per 16 (see {@link BlockQ6_K}). */
    Q6_K(BlockQ6_K.INSTANCE),
    /** GGUF Q2_K: super-blocks of 256 in 84 bytes, 2-bit quants with a 4-bit scale and min per 16 (see {@link BlockQ2_K}). */
    Q2_K(BlockQ2_K.INSTANCE),
    /** GGUF Q3_K: super-blocks of 256 in 110 bytes, 3-bit quants with a 6-bit scale per 16 (see {@link BlockQ3_K}). */
    Q3_K(BlockQ3_K.INSTANCE),
    /** GGUF IQ4_NL: blocks of 32 in 18 bytes, 4-bit indices into a non-linear grid, an fp16 scale (see {@link BlockIQ4_NL}). */
    IQ4_NL(BlockIQ4_NL.INSTANCE),
    /** GGUF IQ4_XS: super-blocks of 256 in 136 bytes, IQ4_NL's grid with a 6-bit scale per 32 (see {@link BlockIQ4_XS}). */
    IQ4_XS(BlockIQ4_XS.INSTANCE),
    /** GGUF Q4_1: blocks of 32 in 20 bytes, 4-bit quants with an fp16 scale and offset (see {@link BlockQ4_1}). */
    Q4_1(BlockQ4_1.INSTANCE),
    /** GGUF Q5_0: blocks of 32 in 22 bytes, 5-bit quants with an fp16 scale (see {@link BlockQ5_0}). */
    Q5_0(BlockQ5_0.INSTANCE),
    /** GGUF Q5_1: blocks of 32 in 24 bytes, 5-bit quants with an fp16 scale and offset (see {@link BlockQ5_1}). */
    Q5_1(BlockQ5_1.INSTANCE);

    /** Bytes per element; 0 for the block types (see {@link #bytes(long)}). */
    public final int size;
    /** Elements per block: 1 for plain types. */
    public final int blockSize;
    /** Bytes per block: {@link #size} for plain types. */
    public final int blockBytes;
    /** The block layout of a block type; null for plain types. */
    private final BlockFormat format;

    DType(int size) {
        this.size = size;
        this.blockSize = 1;
        this.blockBytes = size;
        this.format = null;
    }

    DType(BlockFormat format) {
        this.size = 0;
        this.blockSize = format.blockElements();
        this.blockBytes = format.blockBytes();
        this.format = format;
    }

    /** True for the types a frozen weight may have. */
    public boolean isWeightType() {
        return this == F32 || this == F16 || this == BF16 || format != null;
    }

    /** True for the block-quantised types (those with a {@link BlockFormat}). */
    public boolean isQuantized() {
        return format != null;
    }

    /** The block format of a block type; IllegalStateException for a plain type. */
    public BlockFormat format() {
        if (format == null) throw new IllegalStateException(this + " is not a block type");
        return format;
    }

    /** The weight types, in this order, for messages ("supported: ..."). */
    public static java.util.List<DType> weightTypes() {
        return java.util.Arrays.stream(values()).filter(DType::isWeightType).toList();
    }

    /**
     * Bytes that {@code numel} elements take.
     *
     * @throws IllegalArgumentException for a block type when numel is not a whole number of blocks
     */
    public long bytes(long numel) {
        if (numel % blockSize != 0)
            throw new IllegalArgumentException(numel + " elements of " + this + " are not a whole number of " + blockSize + "-element blocks");
        return Math.multiplyExact(numel / blockSize, (long) blockBytes);
    }

    /** Parses a safetensors dtype string; null when unknown (the caller names the file and tensor). Block types are GGUF-only: null. */
    public static DType parse(String s) {
        for (DType t : values()) if (!t.isQuantized() && t.name().equals(s)) return t;
        return null;
    }

    /** bf16 bits (upper half of an fp32) to fp32: exact. */
    public static float bf16ToFloat(short bits) {
        return Float.intBitsToFloat((bits & 0xffff) << 16);
    }

    /** fp32 to bf16 with round-to-nearest-even (NaN stays NaN). */
    public static short floatToBf16(float f) {
        int b = Float.floatToRawIntBits(f);
        if ((b & 0x7fffffff) > 0x7f800000) return (short) ((b >>> 16) | 0x40);
        int rounding = 0x7fff + ((b >>> 16) & 1);
        return (short) ((b + rounding) >>> 16);
    }
}

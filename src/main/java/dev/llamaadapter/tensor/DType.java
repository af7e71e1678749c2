package dev.llamaadapter.tensor;

/**
 * Element types: the safetensors names, plus GGUF's block-quantised weight types Q8_0 and Q4_0. Frozen
 * weights may be F32, F16, BF16, Q8_0 or Q4_0 (converted to fp32 inside the kernels); the integer types
 * appear in token batches.
 *
 * <p>Block types store {@link #blockSize} elements in {@link #blockBytes} bytes (an fp16 scale, then the
 * quants; see {@link Quant}); a tensor row of such a type must hold whole blocks. Their {@link #size} is
 * 0: use {@link #bytes(long)}, which is right for every type.
 */
public enum DType {
    F32(4), F16(2), BF16(2), F64(8), I64(8), I32(4), I16(2), I8(1), U8(1), BOOL(1),
    /** GGUF Q8_0: blocks of 32, an fp16 scale d then 32 int8 q; value = q·d. */
    Q8_0(32, 34),
    /** GGUF Q4_0: blocks of 32, an fp16 scale d then 16 bytes of nibbles (element i &lt; 16 in the low nibble of byte i, element 16 + i in its high nibble); value = (nibble − 8)·d. */
    Q4_0(32, 18);

    /** Bytes per element; 0 for the block types (see {@link #bytes(long)}). */
    public final int size;
    /** Elements per block: 1 for plain types. */
    public final int blockSize;
    /** Bytes per block: {@link #size} for plain types. */
    public final int blockBytes;

    DType(int size) {
        this.size = size;
        this.blockSize = 1;
        this.blockBytes = size;
    }

    DType(int blockSize, int blockBytes) {
        this.size = 0;
        this.blockSize = blockSize;
        this.blockBytes = blockBytes;
    }

    /** True for the types a frozen weight may have. */
    public boolean isWeightType() {
        return this == F32 || this == F16 || this == BF16 || this == Q8_0 || this == Q4_0;
    }

    /** True for the block-quantised types (Q8_0, Q4_0). */
    public boolean isQuantized() {
        return blockSize > 1;
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

package dev.llamaadapter.tensor;

/**
 * Element types as safetensors names them. Frozen weights may be F32, F16 or BF16 (converted to fp32
 * inside the kernels); the integer types appear in token batches.
 */
public enum DType {
    F32(4), F16(2), BF16(2), F64(8), I64(8), I32(4), I16(2), I8(1), U8(1), BOOL(1);

    /** Bytes per element. */
    public final int size;

    DType(int size) {
        this.size = size;
    }

    /** True for the types a frozen weight may have. */
    public boolean isWeightType() {
        return this == F32 || this == F16 || this == BF16;
    }

    /** Parses a safetensors dtype string; null when unknown (the caller names the file and tensor). */
    public static DType parse(String s) {
        for (DType t : values()) if (t.name().equals(s)) return t;
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

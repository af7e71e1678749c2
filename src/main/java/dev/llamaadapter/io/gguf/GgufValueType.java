package dev.llamaadapter.io.gguf;

/** The types of GGUF metadata values, as numbered in the file. */
public enum GgufValueType {
    UINT8(0, 1), INT8(1, 1), UINT16(2, 2), INT16(3, 2), UINT32(4, 4), INT32(5, 4), FLOAT32(6, 4), BOOL(7, 1),
    STRING(8, 8), ARRAY(9, 12), UINT64(10, 8), INT64(11, 8), FLOAT64(12, 8);

    public final int id;
    /** Bytes of a value (for STRING and ARRAY: the least, an empty one). */
    public final int minBytes;

    GgufValueType(int id, int minBytes) {
        this.id = id;
        this.minBytes = minBytes;
    }

    /** The type with this number, or null. */
    public static GgufValueType of(long id) {
        for (GgufValueType t : values()) if (t.id == id) return t;
        return null;
    }

    /** True for the integer types (read as long; UINT64 above Long.MAX_VALUE comes out negative). */
    public boolean isInteger() {
        return switch (this) {
            case UINT8, INT8, UINT16, INT16, UINT32, INT32, UINT64, INT64 -> true;
            default -> false;
        };
    }
}

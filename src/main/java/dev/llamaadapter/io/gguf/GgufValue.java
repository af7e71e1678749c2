package dev.llamaadapter.io.gguf;

import java.util.Arrays;
import java.util.Objects;

/**
 * One metadata value with its GGUF type, so that it can be written back as it was read. The Java value:
 * integer types are {@link Long}, FLOAT32 {@link Float}, FLOAT64 {@link Double}, BOOL {@link Boolean},
 * STRING {@link String}, ARRAY an {@link Array}.
 */
public record GgufValue(GgufValueType type, Object value) {

    public GgufValue {
        Objects.requireNonNull(type);
        Objects.requireNonNull(value);
        boolean ok = switch (type) {
            case FLOAT32 -> value instanceof Float;
            case FLOAT64 -> value instanceof Double;
            case BOOL -> value instanceof Boolean;
            case STRING -> value instanceof String;
            case ARRAY -> value instanceof Array;
            default -> value instanceof Long;
        };
        if (!ok) throw new IllegalArgumentException(type + " value cannot be a " + value.getClass().getSimpleName());
    }

    /**
     * An array: {@code elements} is long[] for the integer types, float[] (FLOAT32), double[] (FLOAT64),
     * boolean[] (BOOL), String[] (STRING) or Array[] (nested ARRAY).
     */
    public record Array(GgufValueType elementType, Object elements) {
        public Array {
            boolean ok = switch (elementType) {
                case FLOAT32 -> elements instanceof float[];
                case FLOAT64 -> elements instanceof double[];
                case BOOL -> elements instanceof boolean[];
                case STRING -> elements instanceof String[];
                case ARRAY -> elements instanceof Array[];
                default -> elements instanceof long[];
            };
            if (!ok) throw new IllegalArgumentException("array of " + elementType + " cannot hold " + elements.getClass().getSimpleName());
        }

        public int length() {
            return java.lang.reflect.Array.getLength(elements);
        }

        @Override
        public String toString() {
            int n = length();
            return elementType + "[" + n + "]";
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Array a && a.elementType == elementType && Arrays.deepEquals(new Object[] {elements}, new Object[] {a.elements});
        }

        @Override
        public int hashCode() {
            return elementType.hashCode() * 31 + Arrays.deepHashCode(new Object[] {elements});
        }
    }

    public static GgufValue string(String s) {
        return new GgufValue(GgufValueType.STRING, s);
    }

    public static GgufValue uint32(long v) {
        if (v < 0 || v > 0xffffffffL) throw new IllegalArgumentException(v + " does not fit UINT32");
        return new GgufValue(GgufValueType.UINT32, v);
    }

    public static GgufValue int32(int v) {
        return new GgufValue(GgufValueType.INT32, (long) v);
    }

    public static GgufValue float32(float v) {
        return new GgufValue(GgufValueType.FLOAT32, v);
    }

    public static GgufValue bool(boolean v) {
        return new GgufValue(GgufValueType.BOOL, v);
    }

    public static GgufValue strings(String[] v) {
        return new GgufValue(GgufValueType.ARRAY, new Array(GgufValueType.STRING, v));
    }

    public static GgufValue floats(float[] v) {
        return new GgufValue(GgufValueType.ARRAY, new Array(GgufValueType.FLOAT32, v));
    }

    /** An array of INT32 (e.g. tokenizer.ggml.token_type). */
    public static GgufValue int32s(int[] v) {
        long[] l = new long[v.length];
        for (int i = 0; i < v.length; i++) l[i] = v[i];
        return new GgufValue(GgufValueType.ARRAY, new Array(GgufValueType.INT32, l));
    }

    @Override
    public String toString() {
        return type == GgufValueType.STRING ? '"' + (String) value + '"' : String.valueOf(value);
    }
}

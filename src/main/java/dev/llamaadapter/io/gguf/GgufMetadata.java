package dev.llamaadapter.io.gguf;

import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The key-value metadata of a GGUF file, in file order, with typed getters whose errors name the file and
 * the key. Getters return null when a key is absent and throw when it has the wrong type; numeric getters
 * accept any numeric GGUF type that holds the value exactly enough (a UINT32 count read as a long, a
 * FLOAT32 epsilon read as a double).
 */
public final class GgufMetadata {

    private final Path file;
    private final Map<String, GgufValue> values;

    public GgufMetadata(Path file, Map<String, GgufValue> values) {
        this.file = file;
        this.values = Collections.unmodifiableMap(new LinkedHashMap<>(values));
    }

    public Path file() {
        return file;
    }

    /** All entries in file order (read-only). */
    public Map<String, GgufValue> asMap() {
        return values;
    }

    public Set<String> keys() {
        return values.keySet();
    }

    public boolean has(String key) {
        return values.containsKey(key);
    }

    public GgufValue get(String key) {
        return values.get(key);
    }

    public String string(String key) throws GgufException {
        GgufValue v = values.get(key);
        if (v == null) return null;
        if (v.type() != GgufValueType.STRING) throw wrong(key, v, "a string");
        return (String) v.value();
    }

    /** An integer of any GGUF integer type. */
    public Long integer(String key) throws GgufException {
        GgufValue v = values.get(key);
        if (v == null) return null;
        if (!v.type().isInteger()) throw wrong(key, v, "an integer");
        long l = (Long) v.value();
        if (v.type() == GgufValueType.UINT64 && l < 0) throw new GgufException(file, "metadata '" + key + "' = " + Long.toUnsignedString(l) + " is too large");
        return l;
    }

    /** An integer that must lie in [min, max]. */
    public Integer intIn(String key, int min, int max) throws GgufException {
        Long l = integer(key);
        if (l == null) return null;
        if (l < min || l > max) throw new GgufException(file, "metadata '" + key + "' = " + l + " is outside [" + min + ", " + max + "]");
        return (int) (long) l;
    }

    /** A number of any numeric type, as a double. */
    public Double number(String key) throws GgufException {
        GgufValue v = values.get(key);
        if (v == null) return null;
        return switch (v.type()) {
            case FLOAT32 -> (double) (Float) v.value();
            case FLOAT64 -> (Double) v.value();
            default -> {
                if (!v.type().isInteger()) throw wrong(key, v, "a number");
                yield (double) integer(key);
            }
        };
    }

    public Boolean bool(String key) throws GgufException {
        GgufValue v = values.get(key);
        if (v == null) return null;
        if (v.type() != GgufValueType.BOOL) throw wrong(key, v, "a bool");
        return (Boolean) v.value();
    }

    public String[] strings(String key) throws GgufException {
        GgufValue.Array a = array(key, GgufValueType.STRING, "an array of strings");
        return a == null ? null : (String[]) a.elements();
    }

    /** An array of FLOAT32 (FLOAT64 arrays are narrowed). */
    public float[] floats(String key) throws GgufException {
        GgufValue v = values.get(key);
        if (v == null) return null;
        if (v.value() instanceof GgufValue.Array a) {
            if (a.elements() instanceof float[] f) return f;
            if (a.elements() instanceof double[] d) {
                float[] f = new float[d.length];
                for (int i = 0; i < d.length; i++) f[i] = (float) d[i];
                return f;
            }
        }
        throw wrong(key, v, "an array of floats");
    }

    /** An array of any integer type, each element within int range. */
    public int[] ints(String key) throws GgufException {
        GgufValue v = values.get(key);
        if (v == null) return null;
        if (v.value() instanceof GgufValue.Array a && a.elements() instanceof long[] l) {
            int[] out = new int[l.length];
            for (int i = 0; i < l.length; i++) {
                if (l[i] != (int) l[i]) throw new GgufException(file, "metadata '" + key + "' element " + i + " = " + l[i] + " does not fit an int");
                out[i] = (int) l[i];
            }
            return out;
        }
        throw wrong(key, v, "an array of integers");
    }

    private GgufValue.Array array(String key, GgufValueType elem, String what) throws GgufException {
        GgufValue v = values.get(key);
        if (v == null) return null;
        if (v.value() instanceof GgufValue.Array a && a.elementType() == elem) return a;
        throw wrong(key, v, what);
    }

    private GgufException wrong(String key, GgufValue v, String expected) {
        String found = v.value() instanceof GgufValue.Array a ? "an array of " + a.elementType() : v.type().toString();
        return new GgufException(file, "metadata '" + key + "' is " + found + ", expected " + expected);
    }
}

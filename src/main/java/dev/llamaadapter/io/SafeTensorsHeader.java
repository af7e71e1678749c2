package dev.llamaadapter.io;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.llamaadapter.tensor.DType;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Parses and validates the JSON header of a safetensors file. Kept apart from the mapping so every
 * check reads as one rule; each failure is a {@link SafeTensorsException} naming the file and tensor.
 * A tensor that passes lies entirely inside the data buffer, has exactly product(shape) * dtype-size
 * bytes, and overlaps no other tensor, so slicing it can never read outside the file.
 */
final class SafeTensorsHeader {

    static final String METADATA_KEY = "__metadata__";

    /** The reference implementation refuses larger headers; so do we, before allocating anything. */
    static final long MAX_HEADER_BYTES = 100_000_000L;

    // Duplicate keys would silently keep one of two tensors, trailing tokens would hide a corrupt header.
    static final ObjectMapper JSON = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .build();

    /** One validated header entry; offsets are relative to the start of the data buffer. */
    record Entry(String name, DType dtype, long[] shape, long begin, long end) {
    }

    final Map<String, Entry> tensors;     // header order
    final Map<String, String> metadata;

    private final Path file;

    private SafeTensorsHeader(Path file) {
        this.file = file;
        this.tensors = new LinkedHashMap<>();
        this.metadata = new LinkedHashMap<>();
    }

    /**
     * @param json       the N header bytes
     * @param dataBytes  bytes in the file after the header (the data buffer)
     * @param headerSize N, only for the truncation message
     */
    static SafeTensorsHeader parse(Path file, byte[] json, long dataBytes, long headerSize) throws SafeTensorsException {
        SafeTensorsHeader h = new SafeTensorsHeader(file);
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (JacksonException e) {
            throw new SafeTensorsException(file, null, "header is not valid JSON: " + e.getOriginalMessage(), e);
        } catch (java.io.IOException e) { // readTree(byte[]) declares it; only JSON errors can occur on a byte array
            throw new SafeTensorsException(file, null, "header is not valid JSON: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject())
            throw new SafeTensorsException(file, null, "header is not a JSON object"
                    + (root == null || root.isMissingNode() ? " (empty header)" : " (found " + root.getNodeType() + ")"));

        for (Map.Entry<String, JsonNode> e : root.properties()) {
            if (e.getKey().equals(METADATA_KEY)) h.readMetadata(e.getValue());
            else h.tensors.put(e.getKey(), h.readEntry(e.getKey(), e.getValue(), dataBytes, headerSize));
        }
        h.checkNoOverlap();
        return h;
    }

    private void readMetadata(JsonNode m) throws SafeTensorsException {
        if (m.isNull()) return; // the reference writes no key, but accepts null
        if (!m.isObject())
            throw new SafeTensorsException(file, null, METADATA_KEY + " must be an object of strings, found " + m.getNodeType());
        for (Map.Entry<String, JsonNode> e : m.properties()) {
            if (!e.getValue().isTextual())
                throw new SafeTensorsException(file, null, METADATA_KEY + " value '" + e.getKey()
                        + "' must be a string, found " + e.getValue().getNodeType() + " " + e.getValue());
            metadata.put(e.getKey(), e.getValue().textValue());
        }
    }

    private Entry readEntry(String name, JsonNode t, long dataBytes, long headerSize) throws SafeTensorsException {
        if (!t.isObject())
            throw err(name, "must be an object {dtype, shape, data_offsets}, found " + t.getNodeType());

        JsonNode dt = t.get("dtype");
        if (dt == null || !dt.isTextual()) throw err(name, "has no dtype string");
        DType dtype = DType.parse(dt.textValue());
        if (dtype == null)
            throw err(name, "has unknown dtype \"" + dt.textValue() + "\" (known: " + Arrays.stream(DType.values()).filter(d -> !d.isQuantized()).toList() + ")");

        long[] shape = longArray(name, t.get("shape"), "shape", -1);
        long[] offsets = longArray(name, t.get("data_offsets"), "data_offsets", 2);
        long begin = offsets[0], end = offsets[1];
        if (end < begin) throw err(name, "has data_offsets [" + begin + ", " + end + "] with end before begin");

        long numel = 1;
        try {
            for (long d : shape) numel = Math.multiplyExact(numel, d);
            long need = Math.multiplyExact(numel, (long) dtype.size);
            if (end - begin != need)
                throw err(name, "has " + (end - begin) + " bytes (data_offsets [" + begin + ", " + end + "]) but shape "
                        + Arrays.toString(shape) + " of " + dtype + " needs " + need + " bytes");
        } catch (ArithmeticException overflow) {
            throw err(name, "has shape " + Arrays.toString(shape) + " too large to address");
        }
        if (end > dataBytes)
            throw err(name, "needs data bytes [" + begin + ", " + end + ") but the data buffer holds only " + dataBytes
                    + " bytes: file truncated? (expected at least " + (8 + headerSize + end) + " bytes, found "
                    + (8 + headerSize + dataBytes) + ")");
        return new Entry(name, dtype, shape, begin, end);
    }

    /** Reads an array of non-negative integers; {@code length} -1 means any length. */
    private long[] longArray(String name, JsonNode a, String field, int length) throws SafeTensorsException {
        if (a == null || !a.isArray()) throw err(name, "has no " + field + " array");
        if (length >= 0 && a.size() != length)
            throw err(name, "has " + field + " " + a + " with " + a.size() + " entries, expected " + length);
        long[] out = new long[a.size()];
        for (int i = 0; i < out.length; i++) {
            JsonNode v = a.get(i);
            if (!v.isIntegralNumber() || !v.canConvertToLong() || v.longValue() < 0)
                throw err(name, "has " + field + " " + a + ": entries must be non-negative integers");
            out[i] = v.longValue();
        }
        return out;
    }

    /** Two tensors sharing bytes would alias each other; empty tensors occupy nothing and are skipped. */
    private void checkNoOverlap() throws SafeTensorsException {
        List<Entry> byStart = new ArrayList<>();
        for (Entry e : tensors.values()) if (e.end > e.begin) byStart.add(e);
        byStart.sort(Comparator.comparingLong(Entry::begin));
        for (int i = 1; i < byStart.size(); i++) {
            Entry prev = byStart.get(i - 1), cur = byStart.get(i);
            if (cur.begin < prev.end)
                throw err(cur.name, "overlaps tensor '" + prev.name + "' (bytes [" + cur.begin + ", " + cur.end
                        + ") and [" + prev.begin + ", " + prev.end + "])");
        }
    }

    Map<String, String> metadataView() {
        return Collections.unmodifiableMap(metadata);
    }

    private SafeTensorsException err(String tensor, String detail) {
        return new SafeTensorsException(file, tensor, detail);
    }
}

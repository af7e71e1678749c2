package dev.llamaadapter.io;

import dev.llamaadapter.io.gguf.GgmlType;
import dev.llamaadapter.io.gguf.GgufArch;
import dev.llamaadapter.io.gguf.GgufFile;
import dev.llamaadapter.io.gguf.GgufNames;
import dev.llamaadapter.io.gguf.GgufTensor;
import dev.llamaadapter.io.gguf.GgufTokenizer;
import dev.llamaadapter.io.gguf.GgufValue;
import dev.llamaadapter.io.gguf.GgufValueType;
import dev.llamaadapter.tensor.WeightMatrix;
import dev.llamaadapter.tokenizer.Tokenizer;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A GGUF model file seen as the engine's tensors: llama.cpp names become Hugging Face names
 * ({@link GgufNames}), shapes are given outermost first (GGUF lists ne innermost first), and the
 * attention q/k projections, which GGUF keeps in the interleaved-RoPE row order, come back with a row
 * order that presents them in Hugging Face's rotate_half order without copying them
 * ({@link WeightMatrix#interleavedToHalves}). Weights stay in the mapping in their file type (F32, F16,
 * BF16 or a GGUF block type of {@link dev.llamaadapter.tensor.DType}); a tensor of another ggml type is present ({@link #has}) but refused, by
 * name and type, when read.
 */
public final class GgufSource implements TensorSource {

    private static final Pattern Q = Pattern.compile("model\\.layers\\.\\d+\\.self_attn\\.q_proj\\.(weight|bias)");
    private static final Pattern K = Pattern.compile("model\\.layers\\.\\d+\\.self_attn\\.k_proj\\.(weight|bias)");
    /** The weight types the engine reads, for messages. */
    private static final String SUPPORTED = String.join(", ", dev.llamaadapter.tensor.DType.weightTypes().stream().map(Enum::name).toList());

    private final GgufFile file;
    private final Map<String, TensorInfo> tensors = new LinkedHashMap<>();     // HF name, readable types
    private final Map<String, GgufTensor> unreadable = new LinkedHashMap<>();  // HF name, types the engine lacks
    private final Map<String, String> metadata = new LinkedHashMap<>();
    private final Integer heads, kvHeads;                                      // for the q/k row order
    private final GgufArch arch;                                               // names and row order; llama's when unknown

    private GgufSource(GgufFile file) throws SafeTensorsException {
        this.file = file;
        GgufArch a = GgufArch.of(architectureName(file));
        arch = a == null ? GgufArch.LLAMA : a; // an unknown architecture is refused by the config reader, by name
        for (GgufTensor t : file.tensors()) {
            String hf = GgufNames.toHf(t.name(), arch);
            if (tensors.containsKey(hf) || unreadable.containsKey(hf))
                throw new SafeTensorsException(file.path(), t.name(), "maps to " + hf + ", which another tensor already has");
            if (t.type().dtype == null) unreadable.put(hf, t);
            else tensors.put(hf, new TensorInfo(hf, t.type().dtype, t.shape(), t.data()));
        }
        heads = headCount(file, arch.key("attention.head_count"));
        Integer kv = headCount(file, arch.key("attention.head_count_kv"));
        kvHeads = kv != null ? kv : heads;
        for (Map.Entry<String, GgufValue> e : file.metadata().asMap().entrySet())
            if (e.getValue().type() != GgufValueType.ARRAY) metadata.put(e.getKey(), String.valueOf(e.getValue().value()));
    }

    /** Maps and parses the file. */
    public static GgufSource open(Path path) throws IOException {
        GgufFile f = GgufFile.open(path);
        try {
            return new GgufSource(f);
        } catch (IOException | RuntimeException e) {
            f.close();
            throw e;
        }
    }

    /** general.architecture, or null when absent or not a string. */
    private static String architectureName(GgufFile f) {
        try {
            return f.metadata().string("general.architecture");
        } catch (IOException e) {
            return null;
        }
    }

    /** The llama.cpp architecture whose names this file uses (llama's when the file names another). */
    public GgufArch arch() {
        return arch;
    }

    /** The GGUF name of a Hugging Face tensor name in this file's architecture. */
    public String ggufName(String hfName) {
        return GgufNames.toGguf(hfName, arch);
    }

    @Override
    public boolean normsHoldOnePlusW() {
        return arch.normsHoldOnePlusW();
    }

    /** The underlying file (metadata, GGUF names and types). */
    public GgufFile gguf() {
        return file;
    }

    /** The tokenizer the metadata describes, or null when it has none. */
    public Tokenizer tokenizer() throws IOException {
        return GgufTokenizer.read(file.metadata());
    }

    @Override
    public Path path() {
        return file.path();
    }

    /** The scalar metadata entries as strings (arrays such as the vocabulary are left out: see {@link #gguf()}). */
    @Override
    public Map<String, String> metadata() {
        return Collections.unmodifiableMap(metadata);
    }

    @Override
    public Set<String> names() {
        return Collections.unmodifiableSet(tensors.keySet());
    }

    /**
     * Whether the file holds the tensor, readable or not: a weight of an unsupported type (a Q5_K output.weight)
     * is then read, and refused by its type, rather than reported missing (which callers word as a config problem).
     */
    @Override
    public boolean has(String name) {
        return tensors.containsKey(name) || unreadable.containsKey(name);
    }

    @Override
    public TensorInfo info(String name) {
        return tensors.get(name);
    }

    @Override
    public Path fileOf(String name) {
        return file.path();
    }

    /** The tensor; "not found", or for a tensor of a ggml type the engine cannot read, that type by name. */
    @Override
    public TensorInfo require(String name) throws SafeTensorsException {
        GgufTensor u = unreadable.get(name);
        if (u != null)
            throw new SafeTensorsException(file.path(), u.name(), "has type " + u.type()
                    + ", which is not supported (supported: " + SUPPORTED + "): re-quantise the model to one of those");
        TensorInfo t = tensors.get(name);
        if (t == null) throw new SafeTensorsException(file.path(), ggufName(name), "not found (" + name + ")");
        return t;
    }

    /** As {@link TensorSource#matrix}, with q/k projections put back into rotate_half row order. */
    @Override
    public WeightMatrix matrix(String name, int rows, int cols) throws SafeTensorsException {
        TensorInfo t = require(name);
        if (!t.dtype().isWeightType())
            throw new SafeTensorsException(file.path(), ggufName(name), "has type " + t.dtype() + ", not a weight type");
        checkShape(t, rows, cols);
        WeightMatrix w = new WeightMatrix(name, t.data(), t.dtype(), rows, cols);
        int[] order = halvesOrder(name, rows);
        return order == null ? w : w.withRowOrder(order);
    }

    /** As {@link TensorSource#vector}, with llama's q/k biases put back into rotate_half order as their weights are. */
    @Override
    public float[] vector(String name, int n) throws SafeTensorsException {
        float[] v = TensorSource.super.vector(name, n);
        int[] order = halvesOrder(name, n);
        if (order == null) return v;
        float[] out = new float[n];
        for (int r = 0; r < n; r++) out[r] = v[order[r]];
        return out;
    }

    /**
     * For a q/k weight or bias of an architecture whose converter permuted them (llama only), the row order
     * that reads them in rotate_half order; null for every other tensor.
     */
    private int[] halvesOrder(String name, int rows) throws SafeTensorsException {
        if (!arch.permutesQk()) return null;
        boolean q = Q.matcher(name).matches(), k = K.matcher(name).matches();
        if (!q && !k) return null;
        String key = arch.key(q ? "attention.head_count" : "attention.head_count_kv");
        Integer h = q ? heads : kvHeads;
        if (h == null || rows % h != 0 || (rows / h) % 2 != 0)
            throw new SafeTensorsException(file.path(), ggufName(name), "cannot be put in rotate_half order: metadata '" + key
                    + "' = " + h + " does not divide its " + rows + " rows into heads of even size");
        return WeightMatrix.interleavedToHalves(h, rows / h);
    }

    /** A head count from the metadata, or null when absent or invalid (the config reader reports those). */
    private static Integer headCount(GgufFile f, String key) {
        try {
            return f.metadata().intIn(key, 1, 1 << 20);
        } catch (IOException e) {
            return null;
        }
    }

    /** Whether the file's type for this (HF-named) tensor is one the engine reads. */
    public GgmlType ggmlType(String name) {
        GgufTensor u = unreadable.get(name);
        if (u != null) return u.type();
        TensorInfo t = tensors.get(name);
        return t == null ? null : GgmlType.of(t.dtype());
    }

    @Override
    public void close() {
        file.close();
    }

    @Override
    public String toString() {
        return "GgufSource[" + file.path() + ", " + tensors.size() + " tensors]";
    }
}

package dev.llamaadapter.cli;

import dev.llamaadapter.io.gguf.GgmlType;
import dev.llamaadapter.io.gguf.GgufFile;
import dev.llamaadapter.io.gguf.GgufTensor;
import dev.llamaadapter.io.gguf.GgufTokenizer;
import dev.llamaadapter.io.gguf.GgufValue;
import dev.llamaadapter.tensor.DType;
import dev.llamaadapter.tokenizer.Tokenizer;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * What a GGUF file holds, read from its header alone, so that any GGUF is described whether or not this
 * project can run it (another architecture, a quantisation type it does not read, a tokenizer it lacks):
 * architecture, metadata (long arrays summarised), the tokenizer, every tensor's type and shape, and which
 * of its tensor types the engine cannot read.
 */
final class GgufInspect {
    private GgufInspect() {}

    /** Arrays longer than this are shown by type and length only (the vocabulary has thousands of entries). */
    private static final int ARRAY_SHOWN = 8;

    /**
     * Prints the description; returns the tensor types the engine cannot read, each with its tensors' GGUF
     * names (empty when every tensor is readable).
     */
    static Map<GgmlType, List<String>> describe(GgufFile f, PrintWriter out) {
        out.printf("model: %s%n", f.path());
        out.printf("format: GGUF v%d%n", f.version());
        Map<String, GgufValue> md = f.metadata().asMap();
        GgufValue arch = md.get("general.architecture");
        out.printf("architecture: %s%n", arch == null ? "(not stated: no general.architecture)" : arch.value());
        out.printf("metadata: %d entries%n", md.size());
        for (Map.Entry<String, GgufValue> e : md.entrySet()) out.printf("  %s = %s%n", e.getKey(), show(e.getValue()));
        out.printf("tokenizer: %s%n", tokenizer(f));

        List<GgufTensor> tensors = f.tensors();
        Map<GgmlType, Integer> counts = new TreeMap<>();
        Map<GgmlType, List<String>> unreadable = new LinkedHashMap<>();
        long params = 0;
        int w = 0;
        for (GgufTensor t : tensors) {
            counts.merge(t.type(), 1, Integer::sum);
            if (t.type().dtype == null) unreadable.computeIfAbsent(t.type(), k -> new java.util.ArrayList<>()).add(t.name());
            params += t.numel();
            w = Math.max(w, t.name().length());
        }
        StringBuilder types = new StringBuilder();
        counts.forEach((t, n) -> types.append(types.isEmpty() ? "" : ", ").append(t).append(" x").append(n));
        out.printf(Locale.ROOT, "tensors: %d (%s), %,d parameters%n", tensors.size(), types, params);
        for (GgufTensor t : tensors)
            out.printf("  %-" + w + "s  %-6s  %s%s%n", t.name(), t.type(), Arrays.toString(t.shape()), t.type().dtype == null ? "  (type not supported)" : "");
        return unreadable;
    }

    /** The types the engine reads, for the "missing" line. */
    static String supported() {
        return String.join(", ", DType.weightTypes().stream().map(Enum::name).toList());
    }

    private static String tokenizer(GgufFile f) {
        try {
            String model = f.metadata().string("tokenizer.ggml.model");
            if (model == null) return "none (no tokenizer.ggml.model)";
            String pre = f.metadata().string("tokenizer.ggml.pre");
            String kind = model + (pre == null ? "" : ", pre-tokenizer " + pre);
            try {
                Tokenizer t = GgufTokenizer.read(f.metadata());
                return String.format(Locale.ROOT, "%s, %d tokens, bos %d, eos %d", kind, t.vocabSize(), t.bosId(), t.eosId());
            } catch (IOException | RuntimeException e) {
                return kind + ": cannot be used here: " + e.getMessage();
            }
        } catch (IOException e) {
            return "unreadable: " + e.getMessage();
        }
    }

    private static String show(GgufValue v) {
        if (!(v.value() instanceof GgufValue.Array a)) return String.valueOf(v.value());
        if (a.length() > ARRAY_SHOWN) return a.elementType() + "[" + a.length() + "]";
        Object e = a.elements();
        return switch (e) {
            case long[] l -> Arrays.toString(l);
            case float[] x -> Arrays.toString(x);
            case double[] x -> Arrays.toString(x);
            case boolean[] x -> Arrays.toString(x);
            case Object[] x -> Arrays.toString(x);
            default -> a.toString();
        };
    }

    /** Opens the file for {@link #describe} (GGUF header errors name the file). */
    static GgufFile open(Path p) throws IOException {
        return GgufFile.open(p);
    }
}

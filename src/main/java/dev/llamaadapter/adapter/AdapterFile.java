package dev.llamaadapter.adapter;

import dev.llamaadapter.io.SafeTensors;
import dev.llamaadapter.io.SafeTensorsException;
import dev.llamaadapter.io.SafeTensorsWriter;
import dev.llamaadapter.io.TensorInfo;
import dev.llamaadapter.model.AdaptionPrompts;
import dev.llamaadapter.model.BaseModel;
import dev.llamaadapter.model.BaseSketch;
import dev.llamaadapter.model.GateActivation;
import dev.llamaadapter.model.LlamaConfig;
import dev.llamaadapter.model.VisualProjection;
import dev.llamaadapter.tensor.DType;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The native adapter file (spec §6): one safetensors file holding {@code adapter_query.weight} F32
 * [L·K, D] and {@code layers.{i}.attention.gate} F32 [1, H, 1, 1] for the adapted layers, with
 * {@code __metadata__} adapter_len, adapter_layers and gate_activation. Official files also carry
 * all-zero gates for the other layers: those are accepted. Reading checks the adapter against the base.
 * A multimodal adapter adds visual_proj.weight [D, M·Cv], visual_proj.bias, visual_norm.weight,
 * visual_norm.bias [D] and the metadata visual_layers ("1,2,3"); text-only files read as before.
 * Per-layer gates: the metadata gates = per-layer, the same value in every head ({@link GateLayout}).
 * An adapter trained on conversations records its chat template: the metadata chat_template (the Jinja
 * text) and chat_template.special_tokens (JSON), read by {@link dev.llamaadapter.data.chat.ChatTemplate#fromMetadata}.
 */
public final class AdapterFile {
    private AdapterFile() {}

    public static final String PROMPT = "adapter_query.weight";
    /** The multimodal adapter's tensors (spec §6) and its metadata key. */
    public static final String VISUAL_PROJ = "visual_proj.weight", VISUAL_PROJ_BIAS = "visual_proj.bias",
            VISUAL_NORM = "visual_norm.weight", VISUAL_NORM_BIAS = "visual_norm.bias", VISUAL_LAYERS = "visual_layers";
    private static final java.util.Set<String> VISUAL = java.util.Set.of(VISUAL_PROJ, VISUAL_PROJ_BIAS, VISUAL_NORM, VISUAL_NORM_BIAS);
    private static final Pattern GATE = Pattern.compile("layers\\.(\\d{1,9})\\.attention\\.gate"); // longer indices are unexpected names, not a NumberFormatException

    /** Tensor name of the gate of layer i. */
    public static String gateName(int layer) {
        return "layers." + layer + ".attention.gate";
    }

    /** A loaded adapter: its trainable tensors and the file's metadata. */
    public record Adapter(AdaptionPrompts prompts, Map<String, String> metadata, Path path) {}

    /**
     * Metadata keys that tie an adapter to its base model: the architecture's fingerprint, its shape, and a
     * sketch of its weights ({@link BaseSketch#encode()}) that tells models of one architecture apart.
     */
    public static final String BASE_FINGERPRINT = "base_model.fingerprint", BASE_SHAPE = "base_model.shape",
            BASE_SKETCH = "base_model.sketch";
    /** The base's model_type (spec §7), so a PEFT export can refuse the families PEFT does not read. */
    public static final String BASE_FAMILY = "base_model.family";

    /**
     * Reads an adapter for this base model, refusing one trained on another base (by fingerprint, then by
     * the weights' sketch, when the file records them) as well as one whose shapes do not fit.
     */
    public static Adapter read(Path file, BaseModel base) throws IOException {
        Adapter a = read(file, base.config());
        String fp = a.metadata().get(BASE_FINGERPRINT);
        if (fp != null && !fp.equals(base.fingerprint()))
            throw new SafeTensorsException(file, null, "was trained on another base model (" + a.metadata().getOrDefault(BASE_SHAPE, "?")
                    + ", fingerprint " + fp + ") than " + base.dir() + " (" + base.shape() + ", fingerprint " + base.fingerprint() + ")");
        BaseSketch.Match m = baseMatch(file, a.metadata(), base);
        if (m != null && !m.accepted())
            throw new SafeTensorsException(file, null, String.format(Locale.ROOT,
                    "was trained on another base model of the same shape: %s has other weights (weight similarity %.4f in %s, %.2f needed) "
                            + "than the adapter's base %s",
                    base.dir(), m.similarity(), m.weakestKind(), BaseSketch.THRESHOLD, a.metadata().getOrDefault("base_model.path", "(path not recorded)")));
        return a;
    }

    /**
     * How the base's weights compare with the sketch the adapter recorded; null when it records none (files
     * written before sketches, or by a later sketch version): then only the architecture was checked.
     */
    public static BaseSketch.Match baseMatch(Path file, Map<String, String> metadata, BaseModel base) throws SafeTensorsException {
        String s = metadata.get(BASE_SKETCH);
        if (s == null) return null;
        BaseSketch recorded;
        try {
            recorded = BaseSketch.decode(s);
        } catch (IllegalArgumentException e) {
            throw new SafeTensorsException(file, null, "__metadata__ " + BASE_SKETCH + " is malformed: " + e.getMessage());
        }
        return recorded == null ? null : BaseSketch.of(base).compare(recorded);
    }

    public static Adapter read(Path file, LlamaConfig base) throws IOException {
        try (SafeTensors st = SafeTensors.open(file)) {
            return read(st, base);
        }
    }

    static Adapter read(SafeTensors st, LlamaConfig base) throws IOException {
        Path file = st.path();
        int N = base.numHiddenLayers(), D = base.hiddenSize(), H = base.numAttentionHeads();
        Map<String, String> meta = st.metadata();
        TensorInfo pq = st.require(PROMPT);
        if (pq.rank() != 2) throw new SafeTensorsException(file, PROMPT, "has shape " + pq.shapeString() + ", expected [L*K, D]");
        if (pq.shape()[1] != D)
            throw new SafeTensorsException(file, PROMPT, "has D = " + pq.shape()[1] + " columns but the base model's hidden_size is " + D
                    + ": the adapter was made for another base model");
        long rows = pq.shape()[0];

        // gates present in the file, by layer
        Map<Integer, float[]> gates = new LinkedHashMap<>();
        List<String> unknown = new ArrayList<>();
        for (String name : new TreeSet<>(st.names())) {
            if (name.equals(PROMPT) || VISUAL.contains(name)) continue;
            Matcher m = GATE.matcher(name);
            if (!m.matches()) {
                unknown.add(name);
                continue;
            }
            int i = Integer.parseInt(m.group(1));
            if (i >= N)
                throw new SafeTensorsException(file, name, "belongs to layer " + i + " but the base model has " + N + " layers");
            TensorInfo t = st.info(name);
            if (t.numel() != H || t.rank() != 4 || t.shape()[1] != H)
                throw new SafeTensorsException(file, name, "has shape " + t.shapeString() + ", expected [1, " + H + ", 1, 1]: the base model has "
                        + H + " heads");
            gates.put(i, st.floats(name));
        }
        if (!unknown.isEmpty())
            throw new SafeTensorsException(file, unknown.getFirst(), "is not an adapter tensor (unexpected: " + unknown + ")");

        int L = meta.containsKey("adapter_layers") ? metaInt(file, meta, "adapter_layers") : inferLayers(file, gates, N);
        if (L <= 0 || L > N)
            throw new SafeTensorsException(file, null, "adapter_layers " + L + " does not fit the base model's " + N + " layers");
        int K = meta.containsKey("adapter_len") ? metaInt(file, meta, "adapter_len") : (int) (rows / L);
        if (K <= 0 || rows != (long) L * K)
            throw new SafeTensorsException(file, PROMPT, "has " + rows + " rows, expected adapter_layers × adapter_len = " + L + " × " + K);
        String act = meta.get("gate_activation");
        if (act == null)
            throw new SafeTensorsException(file, null, "__metadata__ has no gate_activation (tanh or identity)");
        GateActivation ga;
        try {
            ga = GateActivation.parse(act);
        } catch (IllegalArgumentException e) {
            throw new SafeTensorsException(file, null, "__metadata__ " + e.getMessage());
        }

        AdaptionPrompts p = new AdaptionPrompts(K, L, D, H, ga, GateLayout.sharing(file, meta), readVisual(st, D));
        float[] q = st.floats(PROMPT);
        System.arraycopy(q, 0, p.prompt, 0, q.length);
        for (var e : gates.entrySet()) {
            int i = e.getKey(), j = i - (N - L);
            if (j < 0) {
                for (float g : e.getValue())
                    if (g != 0f)
                        throw new SafeTensorsException(file, gateName(i), "is non-zero but layer " + i + " is below the adapted layers "
                                + (N - L) + ".." + (N - 1) + " (adapter_layers " + L + ")");
                continue;
            }
            System.arraycopy(e.getValue(), 0, p.gate, j * H, H);
        }
        for (int i = N - L; i < N; i++)
            if (!gates.containsKey(i)) throw new SafeTensorsException(file, gateName(i), "not found (adapter_layers " + L + " adapts layer " + i + ")");
        GateLayout.checkShared(file, p, N);
        return new Adapter(p, meta, file);
    }

    /** The visual projection when the file has one (all four tensors and visual_layers, or none of them). */
    private static VisualProjection readVisual(SafeTensors st, int D) throws IOException {
        Path file = st.path();
        List<String> present = new ArrayList<>(), missing = new ArrayList<>();
        for (String n : List.of(VISUAL_PROJ, VISUAL_PROJ_BIAS, VISUAL_NORM, VISUAL_NORM_BIAS)) (st.has(n) ? present : missing).add(n);
        if (present.isEmpty()) return null;
        if (!missing.isEmpty())
            throw new SafeTensorsException(file, missing.getFirst(), "not found: a multimodal adapter needs all of visual_proj.weight, "
                    + "visual_proj.bias, visual_norm.weight, visual_norm.bias (found " + present + ")");
        String layers = st.metadata().get(VISUAL_LAYERS);
        if (layers == null) throw new SafeTensorsException(file, null, "has visual_proj tensors but __metadata__ has no visual_layers (e.g. \"1,2,3\")");
        int[] vl;
        try {
            vl = VisualProjection.parseLayers(layers);
        } catch (IllegalArgumentException e) {
            throw new SafeTensorsException(file, null, "__metadata__ " + e.getMessage());
        }
        TensorInfo w = st.info(VISUAL_PROJ);
        if (w.rank() != 2 || w.shape()[0] != D)
            throw new SafeTensorsException(file, VISUAL_PROJ, "has shape " + w.shapeString() + ", expected [" + D + ", visual_layers × CLIP width]");
        long in = w.shape()[1];
        if (in <= 0 || in % vl.length != 0 || in > Integer.MAX_VALUE / D)
            throw new SafeTensorsException(file, VISUAL_PROJ, "has " + in + " input columns, not a multiple of the " + vl.length + " visual_layers (" + layers + ")");
        VisualProjection v = new VisualProjection(vl, (int) in, D);
        System.arraycopy(st.floats(VISUAL_PROJ), 0, v.weight, 0, v.weight.length);
        System.arraycopy(st.floats(VISUAL_PROJ_BIAS, D), 0, v.bias, 0, D);
        System.arraycopy(st.floats(VISUAL_NORM, D), 0, v.normWeight, 0, D);
        System.arraycopy(st.floats(VISUAL_NORM_BIAS, D), 0, v.normBias, 0, D);
        return v;
    }

    /** Official files without metadata: the adapted layers run from the lowest non-zero gate to the top. */
    private static int inferLayers(Path file, Map<Integer, float[]> gates, int N) throws SafeTensorsException {
        if (gates.size() < N && !gates.isEmpty()) return gates.size();
        for (int i = 0; i < N; i++) {
            float[] g = gates.get(i);
            if (g == null) continue;
            for (float v : g) if (v != 0f) return N - i;
        }
        throw new SafeTensorsException(file, null, "__metadata__ has no adapter_layers and it cannot be inferred from the gates");
    }

    private static int metaInt(Path file, Map<String, String> meta, String key) throws SafeTensorsException {
        try {
            return Integer.parseInt(meta.get(key).trim());
        } catch (NumberFormatException e) {
            throw new SafeTensorsException(file, null, "__metadata__ " + key + " = '" + meta.get(key) + "' is not an integer");
        }
    }

    /** The adapter's tensors under their file names (also used for gradients, prefixed "grad."). */
    public static Map<String, SafeTensorsWriter.Tensor> tensors(AdaptionPrompts p, int nLayers, String prefix) {
        Map<String, SafeTensorsWriter.Tensor> out = new LinkedHashMap<>();
        out.put(prefix + PROMPT, SafeTensorsWriter.Tensor.of(DType.F32, new long[]{(long) p.adapterLayers * p.adapterLen, p.dim}, p.prompt));
        for (int j = 0; j < p.adapterLayers; j++) {
            float[] g = java.util.Arrays.copyOfRange(p.gate, j * p.heads, (j + 1) * p.heads);
            out.put(prefix + gateName(nLayers - p.adapterLayers + j), SafeTensorsWriter.Tensor.of(DType.F32, new long[]{1, p.heads, 1, 1}, g));
        }
        VisualProjection v = p.visual;
        if (v != null) {
            out.put(prefix + VISUAL_PROJ, SafeTensorsWriter.Tensor.of(DType.F32, new long[]{v.dim, v.in}, v.weight));
            out.put(prefix + VISUAL_PROJ_BIAS, SafeTensorsWriter.Tensor.of(DType.F32, new long[]{v.dim}, v.bias));
            out.put(prefix + VISUAL_NORM, SafeTensorsWriter.Tensor.of(DType.F32, new long[]{v.dim}, v.normWeight));
            out.put(prefix + VISUAL_NORM_BIAS, SafeTensorsWriter.Tensor.of(DType.F32, new long[]{v.dim}, v.normBias));
        }
        return out;
    }

    /** Writes the adapter atomically, with its hyper-parameters and any extra metadata. */
    public static void write(Path file, AdaptionPrompts p, int nLayers, Map<String, String> extraMetadata) throws IOException {
        Map<String, String> meta = new LinkedHashMap<>(extraMetadata);
        meta.put("adapter_len", Integer.toString(p.adapterLen));
        meta.put("adapter_layers", Integer.toString(p.adapterLayers));
        meta.put("gate_activation", p.gateActivation.id());
        meta.put(GateLayout.GATES, p.gates.id()); // the tensors are [1, H, 1, 1] either way (GateLayout)
        if (p.visual != null) meta.put(VISUAL_LAYERS, p.visual.layersString());
        meta.putIfAbsent("created_by", "llama-adapter-jvm");
        SafeTensorsWriter.write(file, tensors(p, nLayers, ""), meta);
    }
}

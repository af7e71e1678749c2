package dev.llamaadapter.adapter;

import dev.llamaadapter.io.SafeTensors;
import dev.llamaadapter.io.TensorInfo;
import dev.llamaadapter.io.FileKind;
import dev.llamaadapter.model.AdaptionPrompts;
import dev.llamaadapter.model.BaseModel;
import dev.llamaadapter.model.GateActivation;
import dev.llamaadapter.model.LlamaConfig;
import dev.llamaadapter.tensor.DType;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;

/**
 * Adapters in the formats users have (spec §4, §6), in and out, behind one entry point:
 * <ul>
 *   <li>{@link Format#NATIVE}: this project's safetensors file ({@link AdapterFile}); the gate activation
 *       is in its metadata.</li>
 *   <li>{@link Format#OFFICIAL}: the official LLaMA-Adapter torch.save checkpoint (.pth), read with a
 *       restricted unpickler that executes nothing; gate activation identity (released inference
 *       checkpoints) unless overridden.</li>
 *   <li>{@link Format#PEFT}: a Hugging Face PEFT adaption_prompt directory (adapter_config.json plus
 *       adapter_model.safetensors or .bin); identity gates, one per layer (read as per-layer gates).</li>
 * </ul>
 * Reading needs the base model's N and H where the format does not record them (PEFT has no head count);
 * what a file does record is checked against the base. The gate activation of any source can be
 * overridden by the caller (e.g. an official training checkpoint, which uses tanh).
 */
public final class AdapterFormats {
    private AdapterFormats() {}

    /** An adapter file format. */
    public enum Format {
        NATIVE, PEFT, OFFICIAL;

        /** The lower-case name used on the command line. */
        public String id() {
            return name().toLowerCase(Locale.ROOT);
        }

        public static Format parse(String s) {
            for (Format f : values()) if (f.id().equals(s.toLowerCase(Locale.ROOT))) return f;
            throw new IllegalArgumentException("adapter format '" + s + "': expected native, peft or official");
        }
    }

    /** Metadata keys added to every adapter read here. */
    public static final String FORMAT = "format", GATE_ACTIVATION = "gate_activation", GATE_ACTIVATION_SOURCE = "gate_activation_source";

    /**
     * An adapter read from any format: the engine's tensors (in {@link AdapterFile.Adapter}, whose metadata
     * adds {@link #FORMAT}, {@link #GATE_ACTIVATION} and {@link #GATE_ACTIVATION_SOURCE}), the format and the
     * number of layers N of the model it was read for (the base's, or what the file implies).
     */
    public record Loaded(AdapterFile.Adapter adapter, Format format, int nLayers) {
        public AdaptionPrompts prompts() {
            return adapter.prompts();
        }
    }

    /** A tensor as stored in an adapter file. */
    public record StoredTensor(String name, DType dtype, long[] shape) {
        public long numel() {
            long n = 1;
            for (long d : shape) n *= d;
            return n;
        }
    }

    /** What an adapter file or directory holds, as stored (for {@code inspect}): no base model needed. */
    public record Description(Path path, Format format, String container, Path weights, List<StoredTensor> tensors,
                              Map<String, String> metadata) {
        public long storedParameters() {
            long n = 0;
            for (StoredTensor t : tensors) n += t.numel();
            return n;
        }
    }

    /**
     * Tells the format of {@code path}: a directory with adapter_config.json (or a file adapter_model.* with
     * one beside it) is PEFT; a torch.save zip (or a legacy torch pickle) is official; a safetensors file
     * is native.
     */
    public static Format detect(Path path) throws IOException {
        if (Files.isDirectory(path)) {
            if (PeftAdapter.isPeft(path)) return Format.PEFT;
            if (Files.isRegularFile(path.resolve("config.json")))
                throw new AdapterFormatException(path, "is a model directory (config.json), not an adapter");
            throw new AdapterFormatException(path, "is a directory without " + PeftAdapter.CONFIG + ": not a PEFT adapter directory");
        }
        if (!Files.exists(path)) throw new AdapterFormatException(path, "no such file or directory");
        if (!Files.isRegularFile(path)) throw new AdapterFormatException(path, "is not a regular file (a device, pipe or socket): an adapter is a file or a PEFT directory");
        if (PeftAdapter.isPeft(path)) return Format.PEFT;
        switch (FileKind.of(path)) {
            case SAFETENSORS -> { return Format.NATIVE; }
            case TORCH_ZIP, PICKLE -> { return Format.OFFICIAL; }
            case GGUF, LLAMA2C -> throw new AdapterFormatException(path, "is " + FileKind.of(path).description() + ", a base model, not an adapter");
            case UNKNOWN -> { } // by name below: the reader of that format says what is wrong
        }
        String name = path.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".pth") || name.endsWith(".pt") || name.endsWith(".bin") || name.endsWith(".ckpt")) return Format.OFFICIAL;
        return Format.NATIVE; // safetensors: the reader says so if it is not one
    }

    /** Reads an adapter for {@code base} (its shapes and, for native files, its fingerprint are checked); the drop-in for {@link AdapterFile#read(Path, BaseModel)}. */
    public static AdapterFile.Adapter read(Path path, BaseModel base, GateActivation override) throws IOException {
        return load(path, base, override).adapter();
    }

    /**
     * Reads an adapter in any format. With a base model, the adapter must fit it; without one (null), N, D
     * and H come from the file where it records them (native and official do; PEFT lacks H and then
     * needs the base).
     *
     * @param override the gate activation to use instead of the source's (null: the source's)
     */
    public static Loaded load(Path path, BaseModel base, GateActivation override) throws IOException {
        return load(path, base, base == null ? null : base.config(), override);
    }

    /** As {@link #load(Path, BaseModel, GateActivation)} with a base known by its shape only (cfg); base, when given, is also checked by identity. */
    private static Loaded load(Path path, BaseModel base, LlamaConfig cfg, GateActivation override) throws IOException {
        Format f = detect(path);
        return switch (f) {
            case NATIVE -> {
                AdapterFile.Adapter a = base != null ? AdapterFile.read(path, base)
                        : cfg != null ? AdapterFile.read(path, cfg) : readNativeStandalone(path);
                AdaptionPrompts p = a.prompts();
                int n = cfg != null ? cfg.numHiddenLayers() : nativeLayers(path);
                String source = "file metadata";
                if (override != null && override != p.gateActivation) {
                    p = withActivation(p, override);
                    source = "--gate-activation override (file says " + a.prompts().gateActivation.id() + ")";
                }
                Map<String, String> meta = new LinkedHashMap<>(a.metadata());
                yield loaded(p, f, n, meta, source, path);
            }
            case OFFICIAL -> {
                try (TensorTable t = TensorTable.open(path)) {
                    GateActivation act = override != null ? override : GateActivation.IDENTITY;
                    AdaptionPrompts p = OfficialCheckpoint.read(t, Dims.of(cfg), act);
                    int n = cfg != null ? cfg.numHiddenLayers() : OfficialCheckpoint.inferLayers(t);
                    String source = override != null ? "--gate-activation override"
                            : "default for official checkpoints, as released inference checkpoints; give --gate-activation tanh for a training checkpoint";
                    yield loaded(p, f, n, new LinkedHashMap<>(t.metadata()), source, path);
                }
            }
            case PEFT -> {
                Path dir = PeftAdapter.dirOf(path);
                PeftAdapter.Config c = PeftAdapter.readConfig(dir);
                try (TensorTable t = TensorTable.open(PeftAdapter.weightsFile(dir))) {
                    GateActivation act = override != null ? override : GateActivation.IDENTITY;
                    AdaptionPrompts p = PeftAdapter.read(c, t, Dims.of(cfg), act);
                    int n = cfg != null ? cfg.numHiddenLayers() : PeftAdapter.inferLayers(t);
                    String source = override != null ? "--gate-activation override" : "PEFT applies no activation to its gate";
                    yield loaded(p, f, n, new LinkedHashMap<>(c.fields()), source, dir);
                }
            }
        };
    }

    private static Loaded loaded(AdaptionPrompts p, Format f, int n, Map<String, String> meta, String source, Path path) {
        meta.put(FORMAT, f.id());
        meta.put(GATE_ACTIVATION, p.gateActivation.id());
        meta.put(GATE_ACTIVATION_SOURCE, source);
        return new Loaded(new AdapterFile.Adapter(p, meta, path), f, n);
    }

    /** The same tensors under another gate activation. */
    static AdaptionPrompts withActivation(AdaptionPrompts p, GateActivation act) {
        AdaptionPrompts q = new AdaptionPrompts(p.adapterLen, p.adapterLayers, p.dim, p.heads, act, p.gates, p.visual);
        System.arraycopy(p.prompt, 0, q.prompt, 0, p.prompt.length);
        System.arraycopy(p.gate, 0, q.gate, 0, p.gate.length);
        return q;
    }

    /** A native file read without a base model: N, D and H from its tensors (N = highest gate + 1, the top layer is always adapted). */
    private static AdapterFile.Adapter readNativeStandalone(Path path) throws IOException {
        try (SafeTensors st = SafeTensors.open(path)) {
            TensorInfo pq = st.require(AdapterFile.PROMPT);
            int n = 0, h = 0;
            for (String name : st.names()) {
                Matcher m = OfficialCheckpoint.GATE.matcher(name);
                if (!m.matches()) continue;
                n = Math.max(n, Integer.parseInt(m.group(1)) + 1);
                TensorInfo g = st.info(name);
                if (h == 0 && g.rank() == 4) h = (int) Math.min(Integer.MAX_VALUE, g.shape()[1]);
            }
            if (pq.rank() != 2 || n == 0 || h <= 0)
                throw new AdapterFormatException(path, "cannot tell the base model's shape from the adapter (prompt " + pq.shapeString()
                        + ", " + (n == 0 ? "no gates" : "gates of " + h + " heads") + "): give the base model (--model)");
            LlamaConfig shape;
            try {
                shape = LlamaConfig.of((int) Math.min(Integer.MAX_VALUE, pq.shape()[1]), 1, n, h, h, 1, false);
            } catch (IllegalArgumentException e) {
                throw new AdapterFormatException(path, "its shapes fit no LLaMA (" + e.getMessage() + "): give the base model (--model)");
            }
            return AdapterFile.read(st, shape);
        }
    }

    private static int nativeLayers(Path path) throws IOException {
        try (SafeTensors st = SafeTensors.open(path)) {
            int n = 0;
            for (String name : st.names()) {
                Matcher m = OfficialCheckpoint.GATE.matcher(name);
                if (m.matches()) n = Math.max(n, Integer.parseInt(m.group(1)) + 1);
            }
            return n;
        }
    }

    /**
     * Writes an adapter in {@code to}'s format. {@code nLayers} is the base model's N (the adapted layers
     * are its top {@code p.adapterLayers}). PEFT and official files apply no activation to their gates: a
     * tanh adapter is written with the gate values tanh(g), which is the same model.
     *
     * @param out                 a file (native, official) or a directory (PEFT)
     * @param metadata            extra metadata for a native file (ignored by the other formats)
     * @param baseModelNameOrPath PEFT's base_model_name_or_path (may be null)
     * @return notes for the user (e.g. the gates were rewritten)
     */
    public static List<String> write(Format to, Path out, AdaptionPrompts p, int nLayers, Map<String, String> metadata,
                                     String baseModelNameOrPath) throws IOException {
        if (p.adapterLayers > nLayers)
            throw new AdapterFormatException(out, "adapter_layers " + p.adapterLayers + " does not fit a model of " + nLayers + " layers");
        List<String> notes = new ArrayList<>();
        if (p.visual != null && to != Format.NATIVE)
            throw new AdapterFormatException(out, "the adapter is multimodal (visual_proj, visual_norm): the " + to.id()
                    + " format has no place for its visual projection; keep it native");
        switch (to) {
            case NATIVE -> AdapterFile.write(out, p, nLayers, metadata == null ? Map.of() : metadata);
            case OFFICIAL -> {
                OfficialCheckpoint.write(out, p, nLayers);
                if (p.gateActivation == GateActivation.TANH)
                    notes.add("the gates were written as tanh(g): official checkpoints are read with no activation (as released "
                            + "inference checkpoints), so the model is unchanged");
            }
            case PEFT -> {
                PeftAdapter.write(out, p, nLayers, baseModelNameOrPath);
                if (p.gateActivation == GateActivation.TANH)
                    notes.add("the gates were written as tanh(g): PEFT applies no activation to its gate, so the model is unchanged");
            }
        }
        return notes;
    }

    /**
     * Reads back an adapter just written by {@link #write} and checks it is the same model (same prompts and
     * visual projection bit for bit, the same effective gate weights act(g)), so a file that would not load is
     * an error of the run that wrote it rather than a surprise later.
     *
     * @throws AdapterFormatException naming the file and what differs or why it does not load
     */
    public static void verifyWritten(Format format, Path out, AdaptionPrompts p, int nLayers) throws IOException {
        Format seen = detect(out);
        if (seen != format)
            throw new AdapterFormatException(out, "was written as " + format.id() + " but reads back as " + seen.id() + ": please report this");
        LlamaConfig shape = LlamaConfig.of(p.dim, 1, nLayers, p.heads, p.heads, 1, false);
        AdaptionPrompts q;
        try {
            q = load(out, null, shape, null).prompts();
        } catch (IOException e) {
            throw new AdapterFormatException(out, "was written but does not read back (" + e.getMessage() + "): please report this", e);
        }
        String diff = difference(p, q);
        if (diff == null && format == Format.NATIVE && q.gates != p.gates) // the other formats have no say: PEFT is per-layer, official per-head
            diff = "gates " + q.gates.id() + " instead of " + p.gates.id();
        if (diff != null) throw new AdapterFormatException(out, "was written but reads back different: " + diff + ": please report this");
    }

    /** What makes two adapters different models (null: none). */
    private static String difference(AdaptionPrompts p, AdaptionPrompts q) {
        if (p.adapterLen != q.adapterLen || p.adapterLayers != q.adapterLayers || p.dim != q.dim || p.heads != q.heads)
            return "K " + q.adapterLen + ", L " + q.adapterLayers + ", D " + q.dim + ", H " + q.heads + " instead of K " + p.adapterLen
                    + ", L " + p.adapterLayers + ", D " + p.dim + ", H " + p.heads;
        if (!java.util.Arrays.equals(p.prompt, q.prompt)) return AdapterFile.PROMPT + " values";
        for (int i = 0; i < p.gate.length; i++) {
            float a = p.gateActivation.apply(p.gate[i]), b = q.gateActivation.apply(q.gate[i]);
            if (Math.abs(a - b) > 1e-6f * Math.max(1f, Math.abs(a))) return "gate weight " + i + " (" + b + " instead of " + a + ")";
        }
        if ((p.visual == null) != (q.visual == null)) return "the visual projection " + (p.visual == null ? "appeared" : "is missing");
        if (p.visual != null && !(java.util.Arrays.equals(p.visual.weight, q.visual.weight) && java.util.Arrays.equals(p.visual.bias, q.visual.bias)
                && java.util.Arrays.equals(p.visual.normWeight, q.visual.normWeight) && java.util.Arrays.equals(p.visual.normBias, q.visual.normBias)))
            return "the visual projection's values";
        return null;
    }

    /** The files a PEFT adapter directory written here holds. */
    public static List<String> peftFiles() {
        return List.of(PeftAdapter.CONFIG, PeftAdapter.SAFETENSORS);
    }

    /** Lists what an adapter file or directory holds, without a base model. */
    public static Description describe(Path path) throws IOException {
        Format f = detect(path);
        Path weights = f == Format.PEFT ? PeftAdapter.weightsFile(PeftAdapter.dirOf(path)) : path;
        Map<String, String> meta = new LinkedHashMap<>();
        if (f == Format.PEFT) meta.putAll(PeftAdapter.readConfig(PeftAdapter.dirOf(path)).fields());
        try (TensorTable t = TensorTable.open(weights)) {
            List<StoredTensor> tensors = new ArrayList<>();
            for (String n : t.names()) tensors.add(new StoredTensor(n, t.dtype(n), t.shape(n)));
            meta.putAll(t.metadata());
            return new Description(f == Format.PEFT ? PeftAdapter.dirOf(path) : path, f, t.container(), weights, tensors, meta);
        }
    }
}

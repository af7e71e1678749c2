package dev.llamaadapter.adapter;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llamaadapter.io.AtomicFile;
import dev.llamaadapter.io.SafeTensorsWriter;
import dev.llamaadapter.model.AdaptionPrompts;
import dev.llamaadapter.model.GateActivation;
import dev.llamaadapter.model.GateSharing;
import dev.llamaadapter.tensor.DType;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Hugging Face PEFT {@code adaption_prompt} adapter (spec §4): a directory with
 * {@code adapter_config.json} ({@code "peft_type": "ADAPTION_PROMPT"}, {@code adapter_len} K,
 * {@code adapter_layers} L, {@code target_modules} "self_attn") and {@code adapter_model.safetensors} (or the
 * older torch.save'd {@code adapter_model.bin}) holding, for each of the top L layers i,
 * {@code base_model.model.model.layers.{i}.self_attn.adaption_prompt} [1, K, D] and
 * {@code ….adaption_gate} [1]. PEFT applies no activation to its gate and has one gate per layer: in the
 * engine that is the same value in every head.
 */
final class PeftAdapter {
    private PeftAdapter() {}

    static final String CONFIG = "adapter_config.json";
    static final String SAFETENSORS = "adapter_model.safetensors";
    static final String BIN = "adapter_model.bin";
    static final String PEFT_TYPE = "ADAPTION_PROMPT";
    static final String TARGET_MODULES = "self_attn";
    /**
     * The {@code peft_version} written into adapter_config.json: the first PEFT release that records its
     * version there (0.18.0). The adaption_prompt state dict format written here is the one every PEFT
     * release so far reads; PEFT keeps the field only for information and future format conversions.
     */
    static final String PEFT_VERSION = "0.18.0";
    static final Pattern KEY = Pattern.compile("base_model\\.model\\.model\\.layers\\.(\\d{1,6})\\.self_attn\\.adaption_(prompt|gate)");

    private static final ObjectMapper JSON = new ObjectMapper();

    static String promptKey(int layer) {
        return "base_model.model.model.layers." + layer + ".self_attn.adaption_prompt";
    }

    static String gateKey(int layer) {
        return "base_model.model.model.layers." + layer + ".self_attn.adaption_gate";
    }

    /** adapter_config.json, validated: K, L, and every field as text (for metadata). */
    record Config(Path file, int adapterLen, int adapterLayers, Map<String, String> fields) {}

    /** The directory of a PEFT adapter given as its directory or as one of its files. */
    static Path dirOf(Path path) {
        return Files.isDirectory(path) ? path : path.toAbsolutePath().getParent();
    }

    /** True when {@code path} is a PEFT adapter directory or a weights file with adapter_config.json beside it. */
    static boolean isPeft(Path path) {
        if (Files.isDirectory(path)) return Files.isRegularFile(path.resolve(CONFIG));
        Path name = path.getFileName();
        if (name == null) return false;
        String n = name.toString();
        Path parent = path.toAbsolutePath().getParent();
        return (n.equals(SAFETENSORS) || n.equals(BIN)) && parent != null && Files.isRegularFile(parent.resolve(CONFIG));
    }

    static Config readConfig(Path dir) throws IOException {
        Path file = dir.resolve(CONFIG);
        if (!Files.isRegularFile(file)) throw new AdapterFormatException(dir, "no " + CONFIG + ": not a PEFT adapter directory");
        JsonNode root;
        try {
            root = JSON.readTree(dev.llamaadapter.io.TextFiles.readUtf8(file));
        } catch (JacksonException e) {
            throw new AdapterFormatException(file, "not valid JSON: " + e.getOriginalMessage(), e);
        } catch (java.nio.charset.MalformedInputException e) {
            throw new AdapterFormatException(file, "not valid UTF-8 text", e);
        }
        if (root == null || !root.isObject()) throw new AdapterFormatException(file, "not a JSON object");
        JsonNode type = root.get("peft_type");
        if (type == null || type.isNull()) throw new AdapterFormatException(file, "missing field peft_type (expected \"" + PEFT_TYPE + "\")");
        if (!type.isTextual() || !type.asText().equals(PEFT_TYPE))
            throw new AdapterFormatException(file, "peft_type is " + type + ": only " + PEFT_TYPE
                    + " (LLaMA-Adapter, PEFT's adaption_prompt) adapters can be read");
        int K = positiveInt(file, root, "adapter_len"), L = positiveInt(file, root, "adapter_layers");
        JsonNode tm = root.get("target_modules");
        if (tm != null && !tm.isNull() && !(tm.isTextual() && tm.asText().equals(TARGET_MODULES)))
            throw new AdapterFormatException(file, "target_modules is " + tm + ": only \"" + TARGET_MODULES
                    + "\" (LLaMA's attention, where the adaption prompts sit) is supported");
        Map<String, String> fields = new LinkedHashMap<>();
        for (var it = root.properties().iterator(); it.hasNext(); ) {
            var e = it.next();
            JsonNode v = e.getValue();
            fields.put(e.getKey(), v.isValueNode() ? (v.isNull() ? "null" : v.asText()) : v.toString());
        }
        return new Config(file, K, L, fields);
    }

    private static int positiveInt(Path file, JsonNode root, String field) throws AdapterFormatException {
        JsonNode v = root.get(field);
        if (v == null || v.isNull()) throw new AdapterFormatException(file, "missing field " + field);
        if (!v.isIntegralNumber() || !v.canConvertToInt() || v.asInt() <= 0)
            throw new AdapterFormatException(file, "field " + field + " is " + v + ", expected a positive integer");
        return v.asInt();
    }

    /** The weights file of a PEFT directory: adapter_model.safetensors, else adapter_model.bin. */
    static Path weightsFile(Path dir) throws AdapterFormatException {
        if (Files.isRegularFile(dir.resolve(SAFETENSORS))) return dir.resolve(SAFETENSORS);
        if (Files.isRegularFile(dir.resolve(BIN))) return dir.resolve(BIN);
        throw new AdapterFormatException(dir, "has " + CONFIG + " but neither " + SAFETENSORS + " nor " + BIN);
    }

    /** Number of layers N the adapter implies when no base model is given: PEFT adapts the top layers, so its highest + 1. */
    static int inferLayers(TensorTable t) {
        int max = -1;
        for (String name : t.names()) {
            Matcher m = KEY.matcher(name);
            if (m.matches()) max = Math.max(max, Integer.parseInt(m.group(1)));
        }
        return max + 1;
    }

    /** Reads the weights as engine prompts; {@code dims} fields may be 0 (unknown) except H, which PEFT does not record. */
    static AdaptionPrompts read(Config cfg, TensorTable t, Dims dims, GateActivation act) throws IOException {
        Path file = t.file();
        int K = cfg.adapterLen(), L = cfg.adapterLayers();
        TreeMap<Integer, String[]> layers = new TreeMap<>(); // layer -> {prompt, gate}
        List<String> unknown = new ArrayList<>();
        for (String name : t.names()) {
            Matcher m = KEY.matcher(name);
            if (!m.matches()) {
                unknown.add(name);
                continue;
            }
            String[] pair = layers.computeIfAbsent(Integer.parseInt(m.group(1)), k -> new String[2]);
            pair[m.group(2).equals("prompt") ? 0 : 1] = name;
        }
        if (!unknown.isEmpty())
            throw new AdapterFormatException(file, "tensor '" + unknown.getFirst() + "' is not a PEFT adaption_prompt tensor (unexpected: "
                    + OfficialCheckpoint.list(unknown) + "; expected base_model.model.model.layers.{i}.self_attn.adaption_prompt / adaption_gate)");
        if (layers.isEmpty()) throw new AdapterFormatException(file, "holds no adaption_prompt tensors");
        int N = dims.n() > 0 ? dims.n() : layers.lastKey() + 1;
        if (L > N)
            throw new AdapterFormatException(cfg.file(), "adapter_layers " + L + " does not fit the base model's " + N + " layers");
        List<Integer> expected = new ArrayList<>();
        for (int i = N - L; i < N; i++) expected.add(i);
        if (!new ArrayList<>(layers.keySet()).equals(expected))
            throw new AdapterFormatException(file, "holds adaption prompts for layers " + OfficialCheckpoint.list(layers.keySet().stream().map(String::valueOf).toList())
                    + " but PEFT adapts the top adapter_layers = " + L + " of the base model's " + N + " layers: " + (N - L) + ".." + (N - 1));
        int D = dims.d();
        for (var e : layers.entrySet()) {
            int i = e.getKey();
            if (e.getValue()[0] == null) throw new AdapterFormatException(file, "tensor '" + promptKey(i) + "' not found");
            if (e.getValue()[1] == null) throw new AdapterFormatException(file, "tensor '" + gateKey(i) + "' not found");
            long[] s = t.shape(e.getValue()[0]);
            if (D <= 0 && s.length == 3) D = (int) Math.min(Integer.MAX_VALUE, s[2]);
            if (s.length != 3 || s[0] != 1 || s[1] != K || s[2] != D || D <= 0)
                throw new AdapterFormatException(file, "tensor '" + e.getValue()[0] + "' has shape " + Arrays.toString(s) + ", expected [1, " + K + ", "
                        + (D > 0 ? D : "D") + "] (adapter_len " + K + (dims.d() > 0 ? ", the base model's hidden_size " + D : "") + ")");
            long[] g = t.shape(e.getValue()[1]);
            if (t.numel(e.getValue()[1]) != 1)
                throw new AdapterFormatException(file, "tensor '" + e.getValue()[1] + "' has shape " + Arrays.toString(g) + ", expected [1] (one gate per layer)");
        }
        int H = dims.h();
        if (H <= 0)
            throw new AdapterFormatException(file, "a PEFT adapter has one gate per layer and does not record the number of attention heads: "
                    + "give the base model (--model)");
        Dims.checkSize(file, K, L, D, H);
        AdaptionPrompts p = new AdaptionPrompts(K, L, D, H, act, GateSharing.PER_LAYER, null); // PEFT's one gate per layer
        for (var e : layers.entrySet()) {
            int j = e.getKey() - (N - L);
            float[] prompt = t.floats(e.getValue()[0]);
            System.arraycopy(prompt, 0, p.prompt, j * K * D, K * D);
            float g = t.floats(e.getValue()[1])[0];
            Arrays.fill(p.gate, j * H, (j + 1) * H, g);
        }
        return p;
    }

    /**
     * Writes {@code p} as a PEFT adaption_prompt directory: adapter_model.safetensors (F32, metadata
     * format=pt, as PEFT saves) and adapter_config.json with the fields of PEFT's AdaptionPromptConfig.
     * The gates written are act(g) (PEFT applies none); refused when the heads of a layer differ.
     */
    static void write(Path dir, AdaptionPrompts p, int nLayers, String baseModelNameOrPath) throws IOException {
        if (Files.exists(dir) && !Files.isDirectory(dir))
            throw new AdapterFormatException(dir, "exists and is not a directory: a PEFT adapter is a directory");
        int K = p.adapterLen, L = p.adapterLayers, D = p.dim, H = p.heads, first = nLayers - L;
        Map<String, SafeTensorsWriter.Tensor> tensors = new LinkedHashMap<>();
        for (int j = 0; j < L; j++) {
            int i = first + j;
            float g0 = p.gateActivation.apply(p.gate[j * H]);
            for (int h = 1; h < H; h++) {
                float gh = p.gateActivation.apply(p.gate[j * H + h]);
                if (Float.compare(gh, g0) != 0)
                    throw new AdapterFormatException(dir, "cannot be written as PEFT: layer " + i + " has different gates per head ("
                            + "head 0: " + g0 + ", head " + h + ": " + gh + ") but PEFT's adaption_prompt has one scalar gate per layer "
                            + "(train --peft, or --gates per-layer, trains an adapter PEFT can hold)");
            }
            float[] prompt = Arrays.copyOfRange(p.prompt, j * K * D, (j + 1) * K * D);
            tensors.put(promptKey(i), SafeTensorsWriter.Tensor.of(DType.F32, new long[]{1, K, D}, prompt));
            tensors.put(gateKey(i), SafeTensorsWriter.Tensor.of(DType.F32, new long[]{1}, new float[]{g0}));
        }
        Files.createDirectories(dir);
        SafeTensorsWriter.write(dir.resolve(SAFETENSORS), tensors, Map.of("format", "pt"));
        AtomicFile.write(dir.resolve(CONFIG), configJson(K, L, baseModelNameOrPath).getBytes(StandardCharsets.UTF_8));
    }

    /**
     * adapter_config.json as PEFT's save_pretrained writes an AdaptionPromptConfig: every field of the
     * config, keys sorted, two-space indent, ASCII-escaped strings (Python's json.dumps(indent=2, sort_keys=True)).
     * inference_mode is true, as PeftModel.save_pretrained sets it.
     */
    static String configJson(int adapterLen, int adapterLayers, String baseModelNameOrPath) {
        Map<String, String> f = new TreeMap<>(); // values as JSON text
        f.put("adapter_layers", Integer.toString(adapterLayers));
        f.put("adapter_len", Integer.toString(adapterLen));
        f.put("auto_mapping", "null");
        f.put("base_model_name_or_path", baseModelNameOrPath == null ? "null" : pyString(baseModelNameOrPath));
        f.put("inference_mode", "true");
        f.put("peft_type", pyString(PEFT_TYPE));
        f.put("peft_version", pyString(PEFT_VERSION));
        f.put("revision", "null");
        f.put("target_modules", pyString(TARGET_MODULES));
        f.put("task_type", pyString("CAUSAL_LM"));
        StringBuilder sb = new StringBuilder("{");
        String sep = "\n";
        for (var e : f.entrySet()) {
            sb.append(sep).append("  ").append(pyString(e.getKey())).append(": ").append(e.getValue());
            sep = ",\n";
        }
        return sb.append("\n}").toString();
    }

    /** A JSON string as Python's json.dumps writes it (ensure_ascii). */
    static String pyString(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                default -> {
                    if (c < 0x20 || c > 0x7e && c != 0x7f) sb.append(String.format("\\u%04x", (int) c));
                    else sb.append(c);
                }
            }
        }
        return sb.append('"').toString();
    }
}

package dev.llamaadapter.model;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llamaadapter.io.AtomicFile;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The base model's shape, from a Hugging Face LLaMA {@code config.json} (spec §1). Every instance is
 * valid: the constructor rejects what the kernels cannot run (sizes that do not divide, odd head_dim),
 * and {@link #fromJson} rejects what they would run wrongly (rope_scaling, biases, another head_dim,
 * another architecture), so a model never loads with silently different math. Messages use the JSON
 * key names so a user can find the field in the file.
 *
 * @param numKeyValueHeads Hkv: query head h uses kv head h / (H / Hkv); equals H without GQA
 * @param torchDtype       the dtype the checkpoint was saved in, e.g. "bfloat16"; null when unknown
 * @param eosTokenIds      all end-of-sequence ids (HF allows an int or a list); empty when unknown
 * @param hiddenAct        the family's activation ("silu"; gemma2 "gelu_pytorch_tanh")
 * @param arch             the family and its resolved switches (spec §7); plain LLaMA when built without one
 */
public record LlamaConfig(int hiddenSize,
                          int intermediateSize,
                          int numHiddenLayers,
                          int numAttentionHeads,
                          int numKeyValueHeads,
                          int vocabSize,
                          double rmsNormEps,
                          double ropeTheta,
                          boolean tieWordEmbeddings,
                          String torchDtype,
                          Integer maxPositionEmbeddings,
                          Integer bosTokenId,
                          List<Integer> eosTokenIds,
                          String hiddenAct,
                          Architecture arch) {

    /** transformers' LlamaConfig defaults. */
    public static final double DEFAULT_RMS_NORM_EPS = 1e-6;
    public static final double DEFAULT_ROPE_THETA = 10000.0;

    private static final ObjectMapper JSON = JsonMapper.builder()
            .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY)
            .enable(SerializationFeature.INDENT_OUTPUT)
            .build();

    public LlamaConfig {
        positive("hidden_size", hiddenSize);
        positive("intermediate_size", intermediateSize);
        positive("num_hidden_layers", numHiddenLayers);
        positive("num_attention_heads", numAttentionHeads);
        positive("num_key_value_heads", numKeyValueHeads);
        positive("vocab_size", vocabSize);
        if (arch == null) { // plain LLaMA: hd = D / H
            if (hiddenSize % numAttentionHeads != 0)
                throw new IllegalArgumentException("hidden_size " + hiddenSize + " is not divisible by num_attention_heads "
                        + numAttentionHeads);
            if ((hiddenSize / numAttentionHeads) % 2 != 0)
                throw new IllegalArgumentException("head_dim = hidden_size / num_attention_heads = "
                        + hiddenSize / numAttentionHeads + " is odd: RoPE rotates pairs of dimensions");
            arch = Architecture.llama(hiddenSize / numAttentionHeads);
        }
        if (numAttentionHeads % numKeyValueHeads != 0)
            throw new IllegalArgumentException("num_attention_heads " + numAttentionHeads
                    + " is not divisible by num_key_value_heads " + numKeyValueHeads);
        if (!(rmsNormEps > 0) || Double.isInfinite(rmsNormEps))
            throw new IllegalArgumentException("rms_norm_eps " + rmsNormEps + " must be a positive number");
        if (!(ropeTheta > 0) || Double.isInfinite(ropeTheta))
            throw new IllegalArgumentException("rope_theta " + ropeTheta + " must be a positive number");
        if (maxPositionEmbeddings != null) positive("max_position_embeddings", maxPositionEmbeddings);
        if (bosTokenId != null && bosTokenId < 0)
            throw new IllegalArgumentException("bos_token_id " + bosTokenId + " is negative");
        eosTokenIds = eosTokenIds == null ? List.of() : List.copyOf(eosTokenIds);
        for (int id : eosTokenIds)
            if (id < 0) throw new IllegalArgumentException("eos_token_id " + id + " is negative");
        if (hiddenAct == null) hiddenAct = arch.family().hiddenAct();
        if (!hiddenAct.equals(arch.family().hiddenAct()))
            throw new IllegalArgumentException("hidden_act \"" + hiddenAct + "\" is not supported (" + arch.family() + " uses \""
                    + arch.family().hiddenAct() + "\")");
    }

    /** A plain LLaMA config (spec §1): hd = D / H, no biases, plain RoPE. */
    public LlamaConfig(int hiddenSize, int intermediateSize, int numHiddenLayers, int numAttentionHeads, int numKeyValueHeads, int vocabSize,
                       double rmsNormEps, double ropeTheta, boolean tieWordEmbeddings, String torchDtype, Integer maxPositionEmbeddings,
                       Integer bosTokenId, List<Integer> eosTokenIds, String hiddenAct) {
        this(hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads, numKeyValueHeads, vocabSize, rmsNormEps, ropeTheta,
                tieWordEmbeddings, torchDtype, maxPositionEmbeddings, bosTokenId, eosTokenIds, hiddenAct, null);
    }

    /** A config for tests and benchmarks: eps 1e-5, theta 10000, no dtype or token ids. */
    public static LlamaConfig of(int D, int F, int N, int H, int Hkv, int V, boolean tieWordEmbeddings) {
        return new LlamaConfig(D, F, N, H, Hkv, V, 1e-5, DEFAULT_ROPE_THETA, tieWordEmbeddings,
                null, null, null, List.of(), "silu");
    }

    /** hd: D / H unless the config sets head_dim. */
    public int headDim() {
        return arch.headDim();
    }

    /** The same config with another architecture (tests and benchmarks build families this way). */
    public LlamaConfig withArch(Architecture a) {
        return new LlamaConfig(hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads, numKeyValueHeads, vocabSize, rmsNormEps,
                ropeTheta, tieWordEmbeddings, torchDtype, maxPositionEmbeddings, bosTokenId, eosTokenIds, a.family().hiddenAct(), a);
    }

    /** The same config stopping at these end-of-sequence ids (generation_config.json may declare more than config.json). */
    public LlamaConfig withEosTokenIds(List<Integer> ids) {
        return new LlamaConfig(hiddenSize, intermediateSize, numHiddenLayers, numAttentionHeads, numKeyValueHeads, vocabSize, rmsNormEps,
                ropeTheta, tieWordEmbeddings, torchDtype, maxPositionEmbeddings, bosTokenId, ids, hiddenAct, arch);
    }

    /** Width of the k and v projections: Hkv * hd. */
    public int kvDim() {
        return numKeyValueHeads * headDim();
    }

    /** Query heads per kv head: H / Hkv (1 without GQA). */
    public int kvGroupSize() {
        return numAttentionHeads / numKeyValueHeads;
    }

    /** The first end-of-sequence id, or null. */
    public Integer eosTokenId() {
        return eosTokenIds.isEmpty() ? null : eosTokenIds.getFirst();
    }

    /** Reads and validates a config.json; errors name the file and the field. */
    public static LlamaConfig read(Path configJson) throws IOException {
        String text;
        try {
            text = dev.llamaadapter.io.TextFiles.readUtf8(configJson);
        } catch (NoSuchFileException e) {
            throw new IOException(configJson + ": no such file", e);
        }
        return fromJson(text, configJson.toString());
    }

    /** Parses and validates config.json text; {@code sourceName} (usually the path) starts every message. */
    public static LlamaConfig fromJson(String json, String sourceName) throws IOException {
        JsonNode root;
        try {
            root = JSON.readTree(json);
        } catch (JacksonException e) {
            throw new IOException(sourceName + ": not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (root == null || !root.isObject()) throw new IOException(sourceName + ": not a JSON object");
        return new Reader(root, sourceName).config();
    }

    /** The config as Hugging Face config.json text (keys as transformers writes them). */
    public String toJson() {
        ObjectNode o = JSON.createObjectNode();
        Architecture a = arch;
        o.putArray("architectures").add(a.family().architecture());
        o.put("model_type", a.family().modelType());
        o.put("hidden_size", hiddenSize);
        o.put("intermediate_size", intermediateSize);
        o.put("num_hidden_layers", numHiddenLayers);
        o.put("num_attention_heads", numAttentionHeads);
        o.put("num_key_value_heads", numKeyValueHeads);
        o.put("vocab_size", vocabSize);
        o.put("rms_norm_eps", rmsNormEps);
        o.put("rope_theta", ropeTheta);
        if (maxPositionEmbeddings != null) o.put("max_position_embeddings", maxPositionEmbeddings);
        o.put("tie_word_embeddings", tieWordEmbeddings);
        o.put("hidden_act", hiddenAct);
        if (a.headDim() * numAttentionHeads != hiddenSize || a.family().qkNorm() || a.family().gemma()) o.put("head_dim", a.headDim());
        if (!"none".equals(a.rope().type())) {
            ObjectNode r = o.putObject("rope_scaling");
            r.put("rope_type", a.rope().type());
            r.put("factor", a.rope().factor());
            if ("llama3".equals(a.rope().type())) {
                r.put("low_freq_factor", a.rope().lowFreqFactor());
                r.put("high_freq_factor", a.rope().highFreqFactor());
                r.put("original_max_position_embeddings", a.rope().originalMaxPositions());
            }
        }
        if (a.rotaryDim() != a.headDim()) o.put("partial_rotary_factor", (double) a.rotaryDim() / a.headDim());
        if (a.oBias()) o.put("attention_bias", true);
        if (a.mlpBias()) o.put("mlp_bias", true);
        if (a.slidingWindow() > 0) o.put("sliding_window", a.slidingWindow());
        if (a.family().gemma()) {
            o.put("hidden_activation", hiddenAct);
            o.put("query_pre_attn_scalar", Math.round(1 / (a.queryScale() * a.queryScale())));
            if (a.attnSoftcap() > 0) o.put("attn_logit_softcapping", a.attnSoftcap());
            if (a.finalSoftcap() > 0) o.put("final_logit_softcapping", a.finalSoftcap());
        }
        if (torchDtype != null) o.put("torch_dtype", torchDtype);
        if (bosTokenId != null) o.put("bos_token_id", bosTokenId);
        if (eosTokenIds.size() == 1) o.put("eos_token_id", eosTokenIds.getFirst());
        else if (!eosTokenIds.isEmpty()) {
            ArrayNode ids = o.putArray("eos_token_id");
            eosTokenIds.forEach(ids::add);
        }
        try {
            return JSON.writeValueAsString(o) + "\n";
        } catch (JacksonException e) {
            throw new IllegalStateException(e); // a tree of plain values always serialises
        }
    }

    /** Writes {@link #toJson()} atomically. */
    public void write(Path configJson) throws IOException {
        AtomicFile.write(configJson, toJson().getBytes(StandardCharsets.UTF_8));
    }

    private static void positive(String field, int v) {
        if (v <= 0) throw new IllegalArgumentException(field + " " + v + " must be positive");
    }

    /** Field-by-field extraction from the JSON tree, with HF's defaults and messages naming the field. */
    private record Reader(JsonNode root, String source) {

        LlamaConfig config() throws IOException {
            JsonNode modelType = root.get("model_type");
            String mt = present(modelType) ? text(modelType, "model_type") : "llama";
            Family family = Family.of(mt);
            if (family == null) throw fail("model_type \"" + mt + "\" is not supported (known: " + Family.known() + ")");

            int d = requiredInt("hidden_size");
            int f = requiredInt("intermediate_size");
            int n = requiredInt("num_hidden_layers");
            int h = requiredInt("num_attention_heads");
            Integer hkv = optionalInt("num_key_value_heads");
            int v = requiredInt("vocab_size");
            Integer headDim = optionalInt("head_dim");
            if (headDim == null && h > 0 && d % h != 0)
                throw fail("hidden_size " + d + " is not divisible by num_attention_heads " + h + " and there is no head_dim");
            int hd = headDim != null ? headDim : h > 0 ? d / h : 0;

            JsonNode dtype = present(root.get("torch_dtype")) ? root.get("torch_dtype") : root.get("dtype"); // newer transformers
            JsonNode act = present(root.get("hidden_activation")) ? root.get("hidden_activation") : root.get("hidden_act");
            try {
                Architecture arch = architecture(family, d, hd);
                return new LlamaConfig(d, f, n, h, hkv == null ? h : hkv, v,
                        optionalDouble("rms_norm_eps", DEFAULT_RMS_NORM_EPS),
                        optionalDouble("rope_theta", DEFAULT_ROPE_THETA),
                        optionalBoolean("tie_word_embeddings", family.gemma()),
                        present(dtype) ? text(dtype, "torch_dtype") : null,
                        optionalInt("max_position_embeddings"),
                        optionalInt("bos_token_id"),
                        eosTokenIds(),
                        present(act) ? text(act, present(root.get("hidden_activation")) ? "hidden_activation" : "hidden_act") : null,
                        arch);
            } catch (IllegalArgumentException e) {
                throw fail(e.getMessage());
            }
        }

        /** The family's switches as this config sets them (spec §7); every field it cannot honour is refused by name. */
        private Architecture architecture(Family family, int d, int hd) throws IOException {
            RopeScaling rope = ropeScaling();
            double partial = optionalDouble("partial_rotary_factor", 1.0);
            if (!(partial > 0 && partial <= 1)) throw fail("partial_rotary_factor " + partial + " must be in (0, 1]");
            int rot = (int) Math.round(hd * partial);
            if (Math.abs(rot - hd * partial) > 1e-9) throw fail("partial_rotary_factor " + partial + " × head_dim " + hd + " is not a whole number of dimensions");
            boolean attentionBias = optionalBoolean("attention_bias", false), mlpBias = optionalBoolean("mlp_bias", false);
            int window = 0;
            JsonNode w = root.get("sliding_window");
            if (present(w) && family.window() != Family.Window.NONE) {
                int ws = toInt(w, "sliding_window");
                if (family.window() == Family.Window.OPT_IN) {
                    if (optionalBoolean("use_sliding_window", false))
                        throw fail("use_sliding_window true is not supported (" + family + " windows only its upper layers, from max_window_layers)");
                } else {
                    window = ws;
                }
            }
            double scale = 1 / Math.sqrt(hd), attnCap = 0, finalCap = 0;
            if (family.gemma()) {
                scale = 1 / Math.sqrt(requiredNumber("query_pre_attn_scalar"));
                attnCap = optionalDouble("attn_logit_softcapping", 0);
                finalCap = optionalDouble("final_logit_softcapping", 0);
            }
            return new Architecture(family, hd, rope, rot, family.qkvBias() || attentionBias, attentionBias, mlpBias, window, scale, attnCap, finalCap);
        }

        /** rope_scaling: null, or {rope_type (or the older type): default | linear | llama3, ...}; others are refused, not guessed. */
        private RopeScaling ropeScaling() throws IOException {
            JsonNode rs = root.get("rope_scaling");
            if (!present(rs)) return RopeScaling.NONE;
            if (!rs.isObject()) throw fail("rope_scaling must be an object, found " + rs);
            JsonNode t = present(rs.get("rope_type")) ? rs.get("rope_type") : rs.get("type");
            if (!present(t) || !t.isTextual()) throw fail("rope_scaling " + rs + " has no rope_type");
            String type = t.textValue();
            return switch (type) {
                case "default" -> RopeScaling.NONE;
                case "linear" -> RopeScaling.linear(number(rs, "factor"));
                case "llama3" -> RopeScaling.llama3(number(rs, "factor"), number(rs, "low_freq_factor"), number(rs, "high_freq_factor"),
                        (int) number(rs, "original_max_position_embeddings"));
                default -> throw fail("rope_scaling.rope_type \"" + type + "\" is not supported (linear and llama3 are; "
                        + "dynamic, yarn and longrope are not implemented)");
            };
        }

        private double number(JsonNode obj, String field) throws IOException {
            JsonNode v = obj.get(field);
            if (!present(v)) throw fail("rope_scaling has no '" + field + "'");
            if (!v.isNumber()) throw fail("rope_scaling." + field + " must be a number, found " + v);
            return v.doubleValue();
        }

        private double requiredNumber(String field) throws IOException {
            JsonNode v = root.get(field);
            if (!present(v)) throw fail("missing required field '" + field + "'");
            if (!v.isNumber()) throw fail("field '" + field + "' must be a number, found " + v);
            return v.doubleValue();
        }

        private int requiredInt(String field) throws IOException {
            Integer v = optionalInt(field);
            if (v == null) throw fail("missing required field '" + field + "'");
            return v;
        }

        private Integer optionalInt(String field) throws IOException {
            JsonNode v = root.get(field);
            return present(v) ? toInt(v, field) : null;
        }

        private int toInt(JsonNode v, String field) throws IOException {
            if (!v.isIntegralNumber() || !v.canConvertToInt())
                throw fail("field '" + field + "' must be an integer, found " + v);
            return v.intValue();
        }

        private double optionalDouble(String field, double dflt) throws IOException {
            JsonNode v = root.get(field);
            if (!present(v)) return dflt;
            if (!v.isNumber()) throw fail("field '" + field + "' must be a number, found " + v);
            return v.doubleValue();
        }

        private boolean optionalBoolean(String field, boolean dflt) throws IOException {
            JsonNode v = root.get(field);
            if (!present(v)) return dflt;
            if (!v.isBoolean()) throw fail("field '" + field + "' must be true or false, found " + v);
            return v.booleanValue();
        }

        private String text(JsonNode v, String field) throws IOException {
            if (!v.isTextual()) throw fail("field '" + field + "' must be a string, found " + v);
            return v.textValue();
        }

        /** HF allows one id or a list of ids (Llama 3 instruct stops on several). */
        private List<Integer> eosTokenIds() throws IOException {
            JsonNode v = root.get("eos_token_id");
            if (!present(v)) return List.of();
            if (!v.isArray()) return List.of(toInt(v, "eos_token_id"));
            List<Integer> ids = new ArrayList<>();
            for (JsonNode e : v) ids.add(toInt(e, "eos_token_id"));
            return ids;
        }

        private static boolean present(JsonNode v) {
            return v != null && !v.isNull();
        }

        private IOException fail(String detail) {
            return new IOException(source + ": " + detail);
        }
    }
}

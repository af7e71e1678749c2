package dev.llamaadapter.vision;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/**
 * The shape of a CLIP vision tower (Hugging Face CLIPVisionConfig): from a CLIPVisionModel's config.json,
 * or the {@code vision_config} of a full CLIP config.json. Absent keys take transformers' defaults (old
 * full-CLIP configs list only what differs from them).
 */
public record ClipVisionConfig(int hiddenSize, int intermediateSize, int numLayers, int numHeads, int imageSize,
                               int patchSize, int numChannels, double layerNormEps, String hiddenAct) {

    private static final ObjectMapper JSON = new ObjectMapper();

    public ClipVisionConfig {
        if (hiddenSize <= 0 || intermediateSize <= 0 || numLayers <= 0 || numHeads <= 0 || imageSize <= 0 || patchSize <= 0)
            throw new IllegalArgumentException("CLIP vision config has a non-positive size: " + this);
        if (hiddenSize % numHeads != 0)
            throw new IllegalArgumentException("CLIP vision hidden_size " + hiddenSize + " is not a multiple of num_attention_heads " + numHeads);
        if (imageSize % patchSize != 0)
            throw new IllegalArgumentException("CLIP vision image_size " + imageSize + " is not a multiple of patch_size " + patchSize);
        if (numChannels != 3) throw new IllegalArgumentException("CLIP vision num_channels " + numChannels + ": only RGB (3) images are supported");
        if (!hiddenAct.equals("quick_gelu"))
            throw new IllegalArgumentException("CLIP vision hidden_act '" + hiddenAct + "': only quick_gelu (OpenAI CLIP's) is supported");
    }

    public int headDim() {
        return hiddenSize / numHeads;
    }

    /** Patches per side. */
    public int grid() {
        return imageSize / patchSize;
    }

    /** Tokens per image: the class token and one per patch. */
    public int tokens() {
        return grid() * grid() + 1;
    }

    /**
     * Reads dir/config.json and tells whether it describes a CLIP vision tower: refuses a LLaMA or any other
     * model with a message saying what it is. full[0] is set when the config is a full CLIP one (text + vision).
     */
    static ClipVisionConfig read(Path dir, boolean[] full) throws IOException {
        Path file = dir.resolve("config.json");
        JsonNode root;
        try {
            root = JSON.readTree(dev.llamaadapter.io.TextFiles.readUtf8(file));
        } catch (NoSuchFileException e) {
            throw new IOException(dir + ": no config.json (expected a Hugging Face CLIPVisionModel or CLIP model directory)", e);
        } catch (JacksonException e) {
            throw new IOException(file + ": not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (root == null || !root.isObject()) throw new IOException(file + ": not a JSON object");
        String type = root.path("model_type").asText("");
        JsonNode vc;
        if (root.has("vision_config") && root.get("vision_config").isObject()) {
            vc = root.get("vision_config");
            full[0] = true;
        } else if (type.equals("clip_vision_model") || architecture(root).startsWith("CLIPVision")) {
            vc = root;
        } else {
            String what = type.isEmpty() ? (architecture(root).isEmpty() ? "a model of unknown type" : architecture(root)) : "model_type '" + type + "'";
            throw new IOException(file + ": " + what + " is not a CLIP vision tower (expected model_type clip_vision_model, "
                    + "or a full CLIP config with vision_config)");
        }
        try {
            return new ClipVisionConfig(i(vc, "hidden_size", 768), i(vc, "intermediate_size", 3072), i(vc, "num_hidden_layers", 12),
                    i(vc, "num_attention_heads", 12), i(vc, "image_size", 224), i(vc, "patch_size", 32), i(vc, "num_channels", 3),
                    vc.path("layer_norm_eps").asDouble(1e-5), vc.path("hidden_act").asText("quick_gelu"));
        } catch (IllegalArgumentException e) {
            throw new IOException(file + ": " + e.getMessage(), e);
        }
    }

    private static String architecture(JsonNode root) {
        JsonNode a = root.get("architectures");
        return a != null && a.isArray() && !a.isEmpty() ? a.get(0).asText("") : "";
    }

    private static int i(JsonNode n, String key, int dflt) {
        JsonNode v = n.get(key);
        if (v == null || v.isNull()) return dflt;
        if (!v.canConvertToInt()) throw new IllegalArgumentException(key + " = " + v + " is not an integer");
        return v.asInt();
    }

    /** As a CLIPVisionModel config.json (tests and benchmarks write random towers with it). */
    public String toJson() {
        ObjectNode o = JSON.createObjectNode();
        o.putArray("architectures").add("CLIPVisionModel");
        o.put("model_type", "clip_vision_model").put("hidden_size", hiddenSize).put("intermediate_size", intermediateSize)
                .put("num_hidden_layers", numLayers).put("num_attention_heads", numHeads).put("image_size", imageSize)
                .put("patch_size", patchSize).put("num_channels", numChannels).put("layer_norm_eps", layerNormEps).put("hidden_act", hiddenAct);
        return o.toPrettyString();
    }
}

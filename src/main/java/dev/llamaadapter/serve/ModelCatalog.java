package dev.llamaadapter.serve;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llamaadapter.generate.AdapterRegistry;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The models served, as OpenAI's model objects: the base under its id, then every adapter with the base
 * as its parent. Shared by {@code /v1/models} and the admin routes, which list the same thing.
 */
final class ModelCatalog {
    private final ObjectMapper json;
    private final String baseId;
    private final AdapterRegistry registry;
    private final long createdAt = System.currentTimeMillis() / 1000;

    ModelCatalog(ObjectMapper json, String baseId, AdapterRegistry registry) {
        this.json = json;
        this.baseId = baseId;
        this.registry = registry;
    }

    String baseId() {
        return baseId;
    }

    ObjectNode object(String id, String parent, String path) {
        ObjectNode m = json.createObjectNode().put("id", id).put("object", "model").put("created", createdAt).put("owned_by", "llama-adapter");
        m.put("root", parent == null ? id : parent).put("parent", parent);
        if (path != null) m.put("path", path);
        return m;
    }

    ObjectNode object(AdapterRegistry.Entry e) {
        return object(e.name(), baseId, e.path().toString());
    }

    ObjectNode list() {
        return list(false);
    }

    /**
     * The models served; with details (the admin listing), each adapter also carries an {@code adapter}
     * object: what the page's Adapters view shows.
     */
    ObjectNode list(boolean details) {
        ObjectNode list = json.createObjectNode().put("object", "list");
        ArrayNode data = list.putArray("data");
        data.add(object(baseId, null, null));
        for (AdapterRegistry.Entry e : registry.list()) {
            if (e.name().equals(baseId)) continue;
            ObjectNode m = object(e);
            if (details) m.set("adapter", details(e));
            data.add(m);
        }
        return list;
    }

    /**
     * An adapter's shape and provenance: format, adapter_len K, adapter_layers L (the top L of the base's
     * layers), gate activation, trainable parameters, bytes held once prepared, the template it was trained
     * with when the file says so, and the training summary (the {@code summary.*} and {@code train.*}
     * metadata the trainer writes). The base's fingerprint and sketch are left out: long, and for machines.
     */
    ObjectNode details(AdapterRegistry.Entry e) {
        Map<String, String> meta = e.metadata();
        ObjectNode d = json.createObjectNode();
        d.put("format", meta.getOrDefault("format", "native"));
        d.put("adapter_len", e.prompts().adapterLen);
        d.put("adapter_layers", e.layers());
        d.put("first_layer", e.prompts().firstLayer);
        d.put("gate_activation", meta.get("gate_activation"));
        d.put("parameters", e.parameters());
        d.put("bytes", e.prompts().bytes());
        String template = null;
        for (String k : TEMPLATE_KEYS) if (template == null) template = meta.get(k);
        d.put("template", template);
        ObjectNode summary = d.putObject("training");
        new TreeMap<>(meta).forEach((k, v) -> {
            if (k.startsWith("summary.")) summary.put(k.substring("summary.".length()), v);
            else if (k.startsWith("train.") && !TEMPLATE_KEYS.contains(k)) summary.put(k, v);
            else if (k.equals("created_at") || k.equals("converted_from") || k.equals("base_model.shape")) summary.put(k, v);
        });
        return d;
    }

    /** Where a file may record the prompt template it was trained with (the trainer's key first). */
    private static final List<String> TEMPLATE_KEYS = List.of("train.template", "template", "chat_template");

    /** The model object of id, or a 404 listing what is served. */
    ObjectNode get(String id) {
        if (id.equals(baseId)) return object(baseId, null, null);
        AdapterRegistry.Entry e = registry.get(id);
        if (e == null) throw unknown(id);
        return object(e);
    }

    ApiException unknown(String id) {
        List<String> known = new ArrayList<>();
        known.add(baseId);
        for (AdapterRegistry.Entry e : registry.list()) known.add(e.name());
        return ApiException.notFound("the model '" + id + "' does not exist; served: " + String.join(", ", known), "model", "model_not_found");
    }
}

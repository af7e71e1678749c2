package dev.llamaadapter.serve;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llamaadapter.generate.AdapterRegistry;

import java.util.ArrayList;
import java.util.List;

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
        ObjectNode list = json.createObjectNode().put("object", "list");
        ArrayNode data = list.putArray("data");
        data.add(object(baseId, null, null));
        for (AdapterRegistry.Entry e : registry.list()) if (!e.name().equals(baseId)) data.add(object(e));
        return list;
    }

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

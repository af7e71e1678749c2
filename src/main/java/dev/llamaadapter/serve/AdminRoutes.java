package dev.llamaadapter.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llamaadapter.generate.AdapterRegistry;
import org.eclipse.jetty.server.Request;

import java.io.IOException;
import java.nio.file.Path;
import java.util.function.Supplier;

/**
 * The admin endpoints' work: {@code GET /admin/adapters} (the models served), {@code POST /admin/adapters}
 * {@code {"name", "path"}} (load one from the adapters directory), {@code DELETE /admin/adapters/NAME} and
 * {@code GET /admin/stats}. Who may call them is {@link AdminAccess}'s to say, where files may come from
 * {@link AdapterDirectory}'s; the server's route table calls {@link #check} first.
 *
 * <p>A file that does not load is answered with its name and a fixed reason. The loaders' own messages
 * quote what they read (a header length, metadata, tensor names), which for an arbitrary file is its
 * bytes; those go to the server's log, for the operator, and never to the client.
 */
final class AdminRoutes {
    private static final System.Logger LOG = System.getLogger(AdminRoutes.class.getName());

    private final ObjectMapper json;
    private final ModelCatalog models;
    private final AdapterRegistry registry;
    private final AdapterDirectory dir; // null: adapters cannot be loaded at run time
    private final AdminAccess access;
    private final Supplier<Server.Stats> stats;

    AdminRoutes(ObjectMapper json, ModelCatalog models, AdapterRegistry registry, AdapterDirectory dir, AdminAccess access,
                Supplier<Server.Stats> stats) {
        this.json = json;
        this.models = models;
        this.registry = registry;
        this.dir = dir;
        this.access = access;
        this.stats = stats;
    }

    /** Passes, or throws the 403 saying why this request may not use the admin endpoints. */
    void check(Request req) {
        access.check(req);
    }

    /** The models served, each adapter with its details ({@link ModelCatalog#details}). */
    ObjectNode list() {
        return models.list(true);
    }

    JsonNode stats() {
        return json.valueToTree(stats.get());
    }

    /** Loads (or replaces) an adapter from the adapters directory; answers its model object. */
    ObjectNode load(JsonNode body) throws IOException {
        String name = JsonFields.text(body, "name", null);
        String path = JsonFields.text(body, "path", null);
        if (path != null && path.isBlank()) path = null;
        if (path == null && name == null)
            throw ApiException.badRequest("'path' (an adapter in the adapters directory) or 'name' (an adapter's name there) is required", "path");
        if (dir == null)
            throw new ApiException(403, "invalid_request_error", "this server has no --adapters directory, the only place adapters load from",
                    "path", "path_outside_adapters");
        if (name == null) name = nameOf(path);
        checkName(name);
        Path file = dir.resolve(path, name);
        String given = path != null ? path : name;
        AdapterRegistry.Entry e;
        try {
            e = registry.load(name, file);
        } catch (IOException | RuntimeException failure) {
            LOG.log(System.Logger.Level.WARNING, "adapter " + name + " from " + file + " did not load: " + failure);
            throw ApiException.badRequest("cannot load " + given + ": " + reason(failure), "path");
        }
        LOG.log(System.Logger.Level.INFO, "loaded adapter " + name + " from " + file);
        return models.object(e);
    }

    ObjectNode unload(String name) {
        if (name.equals(models.baseId())) throw ApiException.badRequest("the base model cannot be unloaded", "name");
        if (!registry.unload(name)) throw ApiException.notFound("no adapter '" + name + "' is loaded", "name", "model_not_found");
        LOG.log(System.Logger.Level.INFO, "unloaded adapter " + name);
        return json.createObjectNode().put("id", name).put("object", "model").put("deleted", true);
    }

    /** The adapter's default name: its file's, less a .safetensors or .pth extension, as loading the directory names it. */
    private static String nameOf(String path) {
        String n;
        try {
            n = String.valueOf(Path.of(path).normalize().getFileName());
        } catch (java.nio.file.InvalidPathException e) {
            throw ApiException.badRequest("'" + path + "' is not a path", "path");
        }
        for (String ext : new String[]{".safetensors", ".pth"}) if (n.endsWith(ext)) return n.substring(0, n.length() - ext.length());
        return n;
    }

    private void checkName(String name) {
        if (name.isBlank() || name.startsWith(".") || name.contains("/") || name.contains("\\") || name.chars().anyMatch(c -> Character.isWhitespace(c)
                || Character.isISOControl(c)))
            throw ApiException.badRequest("adapter name '" + name + "' is not usable (no slashes, spaces or leading dot)", "name");
        if (name.equals(models.baseId())) throw ApiException.badRequest("'" + name + "' is the base model's id; pick another name", "name");
    }

    /**
     * A fixed reason for a load that failed. An adapter trained on another base is told apart, as the
     * likeliest mistake with a real adapter; the loaders' wording is matched, but only to choose a fixed text.
     */
    private static String reason(Throwable failure) {
        String m = String.valueOf(failure.getMessage());
        if (m.contains("another base model")) return "the adapter was made for another base model (the server's log has the details)";
        return "not an adapter this server can read for its base model (the server's log has the details)";
    }
}

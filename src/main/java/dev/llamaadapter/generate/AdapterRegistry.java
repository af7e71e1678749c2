package dev.llamaadapter.generate;

import dev.llamaadapter.adapter.AdapterFile;
import dev.llamaadapter.model.BaseModel;
import dev.llamaadapter.model.PreparedPrompts;
import dev.llamaadapter.model.Transformer;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Many adapters over one frozen base: each loaded adapter is kept only as its prepared prompt keys,
 * values and gate weights (a few hundred KB to a few MB); the base weights are shared by all.
 * Thread-safe: requests may look adapters up while others are loaded or unloaded.
 */
public final class AdapterRegistry {
    /**
     * A loaded adapter under its name; layers and parameters are the trainable prompts' (L, and L·K·D plus
     * the gates), kept because only the prepared keys and values stay in memory.
     */
    public record Entry(String name, Path path, PreparedPrompts prompts, java.util.Map<String, String> metadata, int layers, long parameters) {}

    private final BaseModel base;
    private final Transformer model;
    private final ConcurrentHashMap<String, Entry> entries = new ConcurrentHashMap<>();

    public AdapterRegistry(BaseModel base, Transformer model) {
        this.base = base;
        this.model = model;
    }

    /** Loads (or replaces) an adapter under name; errors name the file and what does not fit. */
    public Entry load(String name, Path file) throws IOException {
        if (name == null || name.isBlank() || name.contains("/") && name.equals(base.dir().toString()))
            throw new IllegalArgumentException("adapter name '" + name + "' is not usable");
        AdapterFile.Adapter a = dev.llamaadapter.adapter.AdapterFormats.read(file, base, null); // native, PEFT or official .pth
        Entry e = new Entry(name, file, model.prepare(a.prompts()), a.metadata(), a.prompts().adapterLayers, a.prompts().parameterCount());
        entries.put(name, e);
        return e;
    }

    /**
     * Every adapter in dir: native *.safetensors files (training checkpoints excluded) and official
     * *.pth files, named after the file without its extension, and PEFT directories (holding an
     * adapter_config.json), named after the directory.
     */
    public List<Entry> loadDirectory(Path dir) throws IOException {
        List<Entry> out = new ArrayList<>();
        try (var files = java.nio.file.Files.list(dir)) {
            for (Path f : files.sorted().toList()) {
                String n = f.getFileName().toString();
                if (java.nio.file.Files.isDirectory(f)) {
                    if (java.nio.file.Files.isRegularFile(f.resolve("adapter_config.json"))) out.add(load(n, f));
                } else if (n.endsWith(".safetensors") && !n.endsWith(".ckpt.safetensors")) {
                    out.add(load(n.substring(0, n.length() - ".safetensors".length()), f));
                } else if (n.endsWith(".pth")) {
                    out.add(load(n.substring(0, n.length() - ".pth".length()), f));
                }
            }
        }
        return out;
    }

    public boolean unload(String name) {
        return entries.remove(name) != null;
    }

    /** The adapter, or null when none is loaded under that name. */
    public Entry get(String name) {
        return entries.get(name);
    }

    public List<Entry> list() {
        List<Entry> l = new ArrayList<>(entries.values());
        l.sort(java.util.Comparator.comparing(Entry::name));
        return l;
    }
}

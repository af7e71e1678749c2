package dev.llamaadapter.io;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The weights of a Hugging Face model directory, one file or many: {@code model.safetensors}, or
 * {@code model.safetensors.index.json} whose {@code weight_map} sends each tensor to a shard file, or
 * else the directory's only {@code *.safetensors}. Each shard is mapped once; lookups go to the shard
 * the index names, so errors name that shard. The index is authoritative: a tensor it lists must be in
 * its shard (else an error naming both), and tensors it does not list are not visible.
 */
public final class SafeTensorsDir implements TensorSource {

    public static final String SINGLE_FILE = "model.safetensors";
    public static final String INDEX_FILE = "model.safetensors.index.json";

    private final Path path;
    private final Path index;                          // null unless sharded
    private final List<SafeTensors> shards;            // each file once, in first-use order
    private final Map<String, SafeTensors> byTensor;   // index order
    private final Map<String, String> metadata;

    private SafeTensorsDir(Path path, Path index, List<SafeTensors> shards, Map<String, SafeTensors> byTensor,
                           Map<String, String> metadata) {
        this.path = path;
        this.index = index;
        this.shards = List.copyOf(shards);
        this.byTensor = Collections.unmodifiableMap(byTensor);
        this.metadata = Collections.unmodifiableMap(metadata);
    }

    /**
     * Opens a model directory (or directly a {@code .safetensors} file, or a {@code *.index.json}).
     * Prefers {@code model.safetensors} over the index when both exist, as transformers does.
     */
    public static SafeTensorsDir open(Path dirOrFile) throws IOException {
        if (Files.isRegularFile(dirOrFile)) {
            return dirOrFile.getFileName().toString().endsWith(".index.json")
                    ? openIndex(dirOrFile, dirOrFile) : single(dirOrFile, dirOrFile);
        }
        if (!Files.isDirectory(dirOrFile))
            throw new SafeTensorsException(dirOrFile, null, "no such model directory or file");
        Path file = dirOrFile.resolve(SINGLE_FILE);
        if (Files.isRegularFile(file)) return single(dirOrFile, file);
        Path index = dirOrFile.resolve(INDEX_FILE);
        if (Files.isRegularFile(index)) return openIndex(dirOrFile, index);

        List<Path> candidates;
        try (Stream<Path> s = Files.list(dirOrFile)) {
            candidates = s.filter(p -> p.getFileName().toString().endsWith(".safetensors") && Files.isRegularFile(p))
                    .sorted().toList();
        }
        if (candidates.size() == 1) return single(dirOrFile, candidates.getFirst());
        throw new SafeTensorsException(dirOrFile, null, "has neither " + SINGLE_FILE + " nor " + INDEX_FILE
                + (candidates.isEmpty() ? " nor any *.safetensors file"
                : " and " + candidates.size() + " *.safetensors files " + names(candidates) + ": which one is the model?"));
    }

    private static SafeTensorsDir single(Path path, Path file) throws IOException {
        SafeTensors st = SafeTensors.open(file);
        Map<String, SafeTensors> byTensor = new LinkedHashMap<>();
        for (String n : st.names()) byTensor.put(n, st);
        return new SafeTensorsDir(path, null, List.of(st), byTensor, st.metadata());
    }

    private static SafeTensorsDir openIndex(Path path, Path index) throws IOException {
        JsonNode root = readIndex(index);
        JsonNode map = root.get("weight_map");
        if (map == null || !map.isObject())
            throw new SafeTensorsException(index, null, "has no \"weight_map\" object");

        Map<String, String> metadata = new LinkedHashMap<>();
        JsonNode meta = root.get("metadata");
        if (meta != null && meta.isObject()) // e.g. {"total_size": 123}: numbers kept as their text
            for (Map.Entry<String, JsonNode> e : meta.properties())
                metadata.put(e.getKey(), e.getValue().isTextual() ? e.getValue().textValue() : e.getValue().toString());

        Path dir = index.toAbsolutePath().getParent();
        Map<String, SafeTensors> opened = new LinkedHashMap<>();   // shard file name -> shard
        Map<String, SafeTensors> byTensor = new LinkedHashMap<>();
        try {
            for (Map.Entry<String, JsonNode> e : map.properties()) {
                String tensor = e.getKey();
                if (!e.getValue().isTextual())
                    throw new SafeTensorsException(index, tensor, "has shard " + e.getValue() + " in weight_map, expected a file name");
                String shardName = e.getValue().textValue();
                SafeTensors shard = opened.get(shardName);
                if (shard == null) {
                    shard = SafeTensors.open(resolveShard(index, dir, tensor, shardName));
                    opened.put(shardName, shard);
                }
                if (!shard.has(tensor))
                    throw new SafeTensorsException(index, tensor, "is listed in shard " + shard.path()
                            + " but that shard does not hold it");
                byTensor.put(tensor, shard);
            }
        } catch (IOException | RuntimeException | Error e) {
            opened.values().forEach(SafeTensors::close);
            throw e;
        }
        return new SafeTensorsDir(path, index, new ArrayList<>(opened.values()), byTensor, metadata);
    }

    private static JsonNode readIndex(Path index) throws IOException {
        JsonNode root;
        try {
            root = SafeTensorsHeader.JSON.readTree(Files.readAllBytes(index));
        } catch (JacksonException e) {
            throw new SafeTensorsException(index, null, "is not valid JSON: " + e.getOriginalMessage(), e);
        }
        if (root == null || !root.isObject()) throw new SafeTensorsException(index, null, "is not a JSON object");
        return root;
    }

    /** A shard must be a file next to the index: no absolute paths, no escaping the directory. */
    private static Path resolveShard(Path index, Path dir, String tensor, String shardName) throws SafeTensorsException {
        Path p;
        try {
            p = dir.resolve(shardName).normalize();
        } catch (InvalidPathException e) {
            throw new SafeTensorsException(index, tensor, "names shard '" + shardName + "', not a valid file name", e);
        }
        if (Path.of(shardName).isAbsolute() || !p.startsWith(dir.normalize()))
            throw new SafeTensorsException(index, tensor, "names shard '" + shardName + "' outside the model directory");
        if (!Files.isRegularFile(p))
            throw new SafeTensorsException(index, tensor, "is in shard '" + shardName + "', which does not exist (" + p + ")");
        return p;
    }

    private static String names(List<Path> files) {
        return files.stream().map(p -> p.getFileName().toString()).toList().toString();
    }

    /** The directory (or file) given to {@link #open(Path)}. */
    @Override
    public Path path() {
        return path;
    }

    /** The index file of a sharded model, or null for a single file. */
    public Path indexFile() {
        return index;
    }

    /** The safetensors files in use, each once. */
    public List<Path> files() {
        return shards.stream().map(SafeTensors::path).toList();
    }

    @Override
    public Map<String, String> metadata() {
        return metadata;
    }

    /** Tensor names in index (or file) order. */
    @Override
    public Set<String> names() {
        return byTensor.keySet();
    }

    @Override
    public TensorInfo info(String name) {
        SafeTensors s = byTensor.get(name);
        return s == null ? null : s.info(name);
    }

    /** The shard holding the tensor; for an absent tensor, the index (or the single file). */
    @Override
    public Path fileOf(String name) {
        SafeTensors s = byTensor.get(name);
        if (s != null) return s.path();
        return index != null ? index : shards.getFirst().path();
    }

    @Override
    public void close() {
        shards.forEach(SafeTensors::close);
    }

    @Override
    public String toString() {
        return "SafeTensorsDir[" + path + ", " + shards.size() + " file(s), " + byTensor.size() + " tensors]";
    }
}

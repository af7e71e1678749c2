package dev.llamaadapter.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;

/**
 * A Hugging Face directory's {@code generation_config.json}: only its {@code eos_token_id}, the ids generation
 * stops at. Chat models often declare more there than in config.json (Llama 3.1 Instruct: end_of_text, eom_id and
 * eot_id; Qwen3: im_end and endoftext; Gemma 3: eos and end_of_turn), and transformers' generate stops at all of them.
 */
public final class GenerationConfig {
    private GenerationConfig() {}

    /** The config's ids followed by those generation_config.json adds (none when the file is absent). */
    static LlamaConfig withDeclaredEos(Path dir, LlamaConfig c) throws IOException {
        List<Integer> extra = eosTokenIds(dir.resolve("generation_config.json"));
        if (extra.isEmpty() || c.eosTokenIds().containsAll(extra)) return c;
        LinkedHashSet<Integer> all = new LinkedHashSet<>(c.eosTokenIds());
        all.addAll(extra);
        return c.withEosTokenIds(List.copyOf(all));
    }

    /** eos_token_id of the file: one id or a list; an error names the file. */
    public static List<Integer> eosTokenIds(Path file) throws IOException {
        if (!Files.isRegularFile(file)) return List.of();
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(file.toFile());
        } catch (IOException e) {
            throw new IOException(file + ": not valid JSON: " + e.getMessage(), e);
        }
        JsonNode v = root == null ? null : root.get("eos_token_id");
        if (v == null || v.isNull()) return List.of();
        List<Integer> ids = new ArrayList<>();
        for (JsonNode e : v.isArray() ? v : List.of(v)) {
            if (!e.canConvertToInt() || !e.isIntegralNumber() || e.asInt() < 0)
                throw new IOException(file + ": eos_token_id must be a non-negative integer or a list of them, found " + e);
            ids.add(e.asInt());
        }
        return ids;
    }
}

package dev.llamaadapter.eval;

import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The official ScienceQA files: problems.json (pid → problem), and optionally pid_splits.json (split →
 * [pid]; without it each problem's own "split" field decides), captions.json (pid → caption, or the
 * official {"captions": {...}} wrapper) and an image folder laid out as {@code <root>/<split>/<pid>/<image>}.
 * Every error names the file, and the pid or split at fault.
 */
public final class ScienceQaData {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Path problemsFile;
    private final Path imageRoot;
    private final Map<String, Problem> problems;        // in the file's order
    private final Map<String, List<String>> splits;     // split → pids, in order

    private ScienceQaData(Path problemsFile, Path imageRoot, Map<String, Problem> problems, Map<String, List<String>> splits) {
        this.problemsFile = problemsFile;
        this.imageRoot = imageRoot;
        this.problems = problems;
        this.splits = splits;
    }

    /** Reads problems.json; pidSplits, captions and imageRoot may be null. */
    public static ScienceQaData read(Path problemsFile, Path pidSplits, Path captions, Path imageRoot) throws IOException {
        JsonNode root = readJson(problemsFile, "problems");
        if (!root.isObject()) throw new IOException(problemsFile + ": expected ScienceQA problems {pid: problem}, found a JSON " + kind(root));
        Map<String, String> caps = captions == null ? Map.of() : readCaptions(captions);
        Map<String, Problem> problems = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            var e = it.next();
            Problem p = problem(problemsFile, e.getKey(), e.getValue());
            problems.put(p.pid(), p.withCaption(caps.getOrDefault(p.pid(), "")));
        }
        if (problems.isEmpty()) throw new IOException(problemsFile + ": no problems");
        if (imageRoot != null && !Files.isDirectory(imageRoot)) throw new IOException(imageRoot + ": the image folder does not exist");
        Map<String, List<String>> splits = pidSplits != null ? readSplits(pidSplits, problemsFile, problems) : splitsFromFields(problemsFile, problems);
        return new ScienceQaData(problemsFile, imageRoot, problems, splits);
    }

    public Path file() {
        return problemsFile;
    }

    public List<String> splitNames() {
        return List.copyOf(splits.keySet());
    }

    public int size() {
        return problems.size();
    }

    public Problem problem(String pid) {
        return problems.get(pid);
    }

    /** The problems of a split, in the split's order; an unknown split is refused with the known ones. */
    public List<Problem> split(String name) {
        List<String> pids = splits.get(name);
        if (pids == null)
            throw new IllegalArgumentException(problemsFile + ": no split '" + name + "' (splits: " + String.join(", ", splits.keySet()) + ")");
        List<Problem> out = new ArrayList<>(pids.size());
        for (String pid : pids) out.add(problems.get(pid));
        return out;
    }

    /** Where a problem's picture lives: {@code <root>/<split>/<pid>/<image>}; null without an image or a root. */
    public Path imagePath(Problem p) {
        if (!p.hasImage() || imageRoot == null) return null;
        String split = p.split() != null ? p.split() : splitOf(p.pid());
        return imageRoot.resolve(split == null ? "" : split).resolve(p.pid()).resolve(p.image());
    }

    /** The first of the official splits (train, val, test, minitrain ...) that holds pid. */
    private String splitOf(String pid) {
        for (var e : splits.entrySet()) if (e.getValue().contains(pid)) return e.getKey();
        return null;
    }

    // ---- reading ----

    static JsonNode readJson(Path file, String what) throws IOException {
        if (!Files.isRegularFile(file)) throw new IOException(file + ": no such " + what + " file");
        try {
            JsonNode n = JSON.readTree(file.toFile());
            if (n == null || n.isMissingNode()) throw new IOException(file + ": the " + what + " file is empty");
            return n;
        } catch (JsonParseException e) {
            throw new IOException(file + ":" + e.getLocation().getLineNr() + ":" + e.getLocation().getColumnNr()
                    + ": malformed JSON: " + e.getOriginalMessage(), e);
        }
    }

    private static String kind(JsonNode n) {
        return n.getNodeType().toString().toLowerCase(java.util.Locale.ROOT);
    }

    private static Problem problem(Path file, String pid, JsonNode n) throws IOException {
        String where = file + ": problem " + pid;
        if (!n.isObject()) throw new IOException(where + ": expected an object, found a JSON " + kind(n));
        String question = text(where, n, "question", true);
        JsonNode cs = n.get("choices");
        if (cs == null || !cs.isArray() || cs.isEmpty()) throw new IOException(where + ": 'choices' must be a non-empty array of strings");
        if (cs.size() > 26) throw new IOException(where + ": " + cs.size() + " choices; at most 26 can be lettered");
        List<String> choices = new ArrayList<>();
        for (JsonNode c : cs) {
            if (!c.isTextual()) throw new IOException(where + ": 'choices' must be strings, found a JSON " + kind(c));
            choices.add(c.asText());
        }
        JsonNode a = n.get("answer");
        if (a == null || !a.isIntegralNumber()) throw new IOException(where + ": 'answer' must be the index of the correct choice");
        int answer = a.asInt();
        if (answer < 0 || answer >= choices.size())
            throw new IOException(where + ": 'answer' " + answer + " is not an index of its " + choices.size() + " choices");
        return new Problem(pid, question, choices, answer, text(where, n, "hint", false), text(where, n, "image", false),
                text(where, n, "grade", false), text(where, n, "subject", false), text(where, n, "split", false), "");
    }

    /** A string field; a missing or null optional one is null. */
    private static String text(String where, JsonNode n, String name, boolean required) throws IOException {
        JsonNode v = n.get(name);
        if (v == null || v.isNull()) {
            if (required) throw new IOException(where + ": no '" + name + "' field");
            return null;
        }
        if (!v.isTextual()) throw new IOException(where + ": '" + name + "' must be a string, found a JSON " + kind(v));
        return v.asText();
    }

    private static Map<String, String> readCaptions(Path file) throws IOException {
        JsonNode root = readJson(file, "captions");
        JsonNode caps = root.has("captions") && root.get("captions").isObject() ? root.get("captions") : root;
        if (!caps.isObject()) throw new IOException(file + ": expected captions {pid: caption}");
        Map<String, String> out = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = caps.fields(); it.hasNext(); ) {
            var e = it.next();
            if (!e.getValue().isTextual()) {
                if (caps == root) throw new IOException(file + ": caption of " + e.getKey() + " must be a string");
                continue;
            }
            out.put(e.getKey(), e.getValue().asText());
        }
        return out;
    }

    private static Map<String, List<String>> readSplits(Path file, Path problemsFile, Map<String, Problem> problems) throws IOException {
        JsonNode root = readJson(file, "pid splits");
        if (!root.isObject()) throw new IOException(file + ": expected pid splits {split: [pid, ...]}");
        Map<String, List<String>> out = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            var e = it.next();
            if (!e.getValue().isArray()) throw new IOException(file + ": split '" + e.getKey() + "' must be an array of pids");
            List<String> pids = new ArrayList<>();
            for (JsonNode v : e.getValue()) {
                if (!v.isTextual() && !v.isIntegralNumber()) throw new IOException(file + ": split '" + e.getKey() + "' holds a " + kind(v) + ", not a pid");
                String pid = v.asText();
                if (!problems.containsKey(pid))
                    throw new IOException(file + ": pid " + pid + " of split '" + e.getKey() + "' is not in " + problemsFile);
                pids.add(pid);
            }
            out.put(e.getKey(), pids);
        }
        return out;
    }

    private static Map<String, List<String>> splitsFromFields(Path file, Map<String, Problem> problems) throws IOException {
        Map<String, List<String>> out = new LinkedHashMap<>();
        for (Problem p : problems.values()) {
            if (p.split() == null)
                throw new IOException(file + ": problem " + p.pid() + " has no 'split' field; give the pid splits file (pid_splits.json)");
            out.computeIfAbsent(p.split(), k -> new ArrayList<>()).add(p.pid());
        }
        return out;
    }
}

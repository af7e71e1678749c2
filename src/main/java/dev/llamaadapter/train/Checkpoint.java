package dev.llamaadapter.train;

import dev.llamaadapter.io.SafeTensors;
import dev.llamaadapter.io.SafeTensorsException;
import dev.llamaadapter.io.SafeTensorsWriter;
import dev.llamaadapter.tensor.DType;

import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A training checkpoint: one safetensors file, written atomically, holding every trainable tensor, the
 * optimizer's moments and step, and the run's identity (hyper-parameters, the data's fingerprint, and the
 * base's: its architecture's fingerprint and an exact hash of its sampled weights).
 * The data order needs no saved RNG: it is a pure function of (seed, epoch), and the identity check
 * refuses a resume whose seed, data or configuration differ.
 */
public final class Checkpoint {
    private Checkpoint() {}

    public static final String STEP = "checkpoint.step";
    public static final String IDENTITY = "checkpoint.identity";
    /** The identity's field with the exact hash of the base model's sampled weights (see Trainer.baseIdentity). */
    static final String BASE_WEIGHTS = "base_weights";

    public static void save(Path file, List<Param> params, AdamW adam, long step, String identity, Map<String, String> extra) throws IOException {
        Map<String, SafeTensorsWriter.Tensor> t = new LinkedHashMap<>();
        for (int i = 0; i < params.size(); i++) {
            Param p = params.get(i);
            t.put("param." + p.name(), SafeTensorsWriter.Tensor.of(DType.F32, p.shape(), p.value().clone()));
            t.put("optim.exp_avg." + p.name(), SafeTensorsWriter.Tensor.of(DType.F32, p.shape(), adam.m[i].clone()));
            t.put("optim.exp_avg_sq." + p.name(), SafeTensorsWriter.Tensor.of(DType.F32, p.shape(), adam.v[i].clone()));
        }
        Map<String, String> meta = new LinkedHashMap<>(extra);
        meta.put(STEP, Long.toString(step));
        meta.put("optim.step", Long.toString(adam.step()));
        meta.put(IDENTITY, identity);
        SafeTensorsWriter.write(file, t, meta);
    }

    /** What a checkpoint file holds, in a few words for messages: "step 12, saved 2026-12-06T20:01:02Z" or why it cannot be read. */
    public static String describe(Path file) {
        try (SafeTensors st = SafeTensors.open(file)) {
            String step = st.metadata().get(STEP);
            if (step == null) return "not a training checkpoint: no " + STEP;
            String when;
            try {
                when = ", saved " + java.nio.file.Files.getLastModifiedTime(file).toInstant().truncatedTo(java.time.temporal.ChronoUnit.SECONDS);
            } catch (IOException e) {
                when = "";
            }
            return "step " + step + when;
        } catch (IOException | RuntimeException e) {
            return "unreadable: " + e.getMessage();
        }
    }

    /** Restores params and optimizer from file; returns the number of optimizer steps already taken. */
    public static long load(Path file, List<Param> params, AdamW adam, String identity) throws IOException {
        try (SafeTensors st = SafeTensors.open(file)) {
            Map<String, String> meta = st.metadata();
            String saved = meta.get(IDENTITY);
            if (saved == null || meta.get(STEP) == null) throw new SafeTensorsException(file, null, "is not a training checkpoint (no " + STEP + ")");
            if (!saved.equals(identity) && !olderWithoutWeights(saved, identity))
                throw new SafeTensorsException(file, null, "belongs to a different run" + differences(saved, identity) + ": it was made with\n  " + saved
                        + "\nbut this run is\n  " + identity + "\n(resume needs the same model, data, seed and hyper-parameters)");
            for (int i = 0; i < params.size(); i++) {
                Param p = params.get(i);
                copy(st, file, "param." + p.name(), p.value());
                copy(st, file, "optim.exp_avg." + p.name(), adam.m[i]);
                copy(st, file, "optim.exp_avg_sq." + p.name(), adam.v[i]);
            }
            adam.restore(Long.parseLong(meta.get("optim.step")));
            return Long.parseLong(meta.get(STEP));
        }
    }

    /**
     * A checkpoint written before identities held the base weights' hash: it matches when all else does.
     * It cannot tell which weights it was trained on, so the architecture's fingerprint is all it checks.
     */
    static boolean olderWithoutWeights(String saved, String identity) {
        Map<String, String> a = fields(saved), b = fields(identity);
        if (a.containsKey(BASE_WEIGHTS) || !b.containsKey(BASE_WEIGHTS)) return false;
        b.remove(BASE_WEIGHTS);
        return a.equals(b) && List.copyOf(a.keySet()).equals(List.copyOf(b.keySet()));
    }

    /** " (it differs in x, y)" over the identities' key=value fields, with a plain word when the base weights differ. */
    static String differences(String saved, String identity) {
        Map<String, String> a = fields(saved), b = fields(identity);
        java.util.Set<String> keys = new java.util.LinkedHashSet<>(a.keySet());
        keys.addAll(b.keySet());
        List<String> diff = keys.stream().filter(k -> !java.util.Objects.equals(a.get(k), b.get(k))).toList();
        if (diff.isEmpty()) return "";
        String weights = diff.contains(BASE_WEIGHTS) && !diff.contains("base")
                ? "; the base model's weights are not those it was trained on: another model of the same shape, or the same model in another dtype or format"
                : "";
        return " (it differs in " + String.join(", ", diff) + weights + ")";
    }

    /** An identity's space-separated key=value fields, in order (a value keeps any later '='). */
    private static Map<String, String> fields(String identity) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String t : identity.trim().split(" +")) {
            int eq = t.indexOf('=');
            m.put(eq < 0 ? t : t.substring(0, eq), eq < 0 ? "" : t.substring(eq + 1));
        }
        return m;
    }

    private static void copy(SafeTensors st, Path file, String name, float[] dst) throws IOException {
        float[] v = st.floats(name);
        if (v.length != dst.length) throw new SafeTensorsException(file, name, "has " + v.length + " values, expected " + dst.length);
        System.arraycopy(v, 0, dst, 0, v.length);
    }
}

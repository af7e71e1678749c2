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
 * optimizer's moments and step, and the run's identity (hyper-parameters, data and base fingerprints).
 * The data order needs no saved RNG: it is a pure function of (seed, epoch), and the identity check
 * refuses a resume whose seed, data or configuration differ.
 */
public final class Checkpoint {
    private Checkpoint() {}

    public static final String STEP = "checkpoint.step";
    public static final String IDENTITY = "checkpoint.identity";

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
            if (!saved.equals(identity))
                throw new SafeTensorsException(file, null, "belongs to a different run: it was made with\n  " + saved
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

    private static void copy(SafeTensors st, Path file, String name, float[] dst) throws IOException {
        float[] v = st.floats(name);
        if (v.length != dst.length) throw new SafeTensorsException(file, name, "has " + v.length + " values, expected " + dst.length);
        System.arraycopy(v, 0, dst, 0, v.length);
    }
}

package dev.llamaadapter.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llamaadapter.io.SafeTensorsWriter;
import dev.llamaadapter.model.LlamaConfig;
import dev.llamaadapter.model.LlamaWeights;
import dev.llamaadapter.tensor.DType;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Runs the peer benchmarks of {@code ../shared/peers} (README there) on the same step as bench: libtorch
 * 2.7.1 through DJL ({@code djl-step/run.sh}) and PyTorch 1.13 ({@code torch_step.py}, when Debian's
 * python3-torch is installed). The peers folder is read-only, so it is copied once to a work folder where
 * djl-step is built with Maven (its libtorch jars come from Maven Central, once). Both peers read a model
 * directory: the same random model bench uses is written there as F32 safetensors (the peers make bf16 from
 * it themselves). Peers run one after the other, after our own timing, never beside it.
 */
public final class Peers {
    private Peers() {}

    /** One peer's result: its name and median ms per step, or why it did not run (ms NaN). */
    public record Result(String peer, double msPerStep, String note) {
        public boolean ran() {
            return !Double.isNaN(msPerStep);
        }
    }

    /** Where the peers folder is: the given one, else ../shared/peers from the working directory or from the jar's repository. */
    public static Path locate(Path given) {
        if (given != null) return Files.isDirectory(given) ? given : null;
        List<Path> tries = new ArrayList<>(List.of(Path.of("../shared/peers")));
        try {
            Path jar = Path.of(Peers.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            tries.add(jar.getParent().getParent().resolve("../shared/peers")); // <repo>/target/x.jar -> <repo>/../shared/peers
        } catch (Exception e) {
            // no code source: the working directory is all there is
        }
        for (Path p : tries) if (Files.isDirectory(p.resolve("djl-step")) || Files.isRegularFile(p.resolve("torch_step.py"))) return p.normalize();
        return null;
    }

    /**
     * Runs every peer found on the step [B, T] with K prompts in the top L layers of the model in modelDir
     * (see {@link #writeModel}), for dtype f32 or bf16; a peer that cannot run says why in its note.
     */
    public static List<Result> run(Path peers, Path work, Path modelDir, int B, int T, int K, int L,
                                   String dtype, int steps, int warmup, int threads, java.util.Set<String> which, long timeoutS)
            throws IOException, InterruptedException {
        Path copy = work.resolve("peers");
        if (!Files.isDirectory(copy)) { // copied whole or not at all
            Path tmp = work.resolve("peers.partial");
            copyTree(peers, tmp);
            Files.move(tmp, copy, StandardCopyOption.ATOMIC_MOVE);
        }
        Path parity = work.resolve("parity"); // torch_step.py imports ../parity/llama_adapter_ref.py
        if (!Files.exists(parity) && Files.isDirectory(peers.resolveSibling("parity"))) Files.createSymbolicLink(parity, peers.resolveSibling("parity").toAbsolutePath());
        List<String> step = List.of("--model-dir", modelDir.toString(), "--batch", "" + B, "--seq", "" + T, "--adapter-len", "" + K,
                "--adapter-layers", "" + L, "--steps", "" + steps, "--warmup", "" + warmup, "--threads", "" + threads, "--dtype", dtype);
        List<Result> out = new ArrayList<>();

        Path djl = copy.resolve("djl-step");
        if (which.contains("djl") && Files.isDirectory(djl)) {
            String why = null;
            if (!Files.isRegularFile(djl.resolve("target/djl-step-1.0.jar"))) {
                System.err.println("peers: building djl-step with Maven in " + djl + " (libtorch jars from Maven Central, once) ...");
                int rc = exec(djl, List.of("mvn", "-q", "-B", "package", "-DskipTests"), Map.of(), 1800, null);
                if (rc != 0) why = "djl-step did not build (mvn exit " + rc + "; offline? see its README)";
            }
            if (why == null) {
                List<String> cmd = new ArrayList<>(List.of(djl.resolve("run.sh").toString()));
                cmd.addAll(step);
                out.add(result("libtorch 2.7.1 (DJL)", djl, cmd, Map.of("OMP_NUM_THREADS", "" + threads), timeoutS));
            } else {
                out.add(new Result("libtorch 2.7.1 (DJL)", Double.NaN, why));
            }
        }
        Path torchStep = copy.resolve("torch_step.py");
        if (which.contains("torch") && Files.isRegularFile(torchStep)) {
            if (exec(copy, List.of("/usr/bin/python3", "-c", "import torch"), Map.of(), 60, null) != 0) {
                out.add(new Result("torch 1.13 (python)", Double.NaN, "python3-torch not installed (apt-get install python3-torch)"));
            } else {
                List<String> cmd = new ArrayList<>(List.of("/usr/bin/python3", torchStep.toString()));
                cmd.addAll(step);
                // the README's "tuned" environment: OpenBLAS' AVX-512 kernels, OpenMP workers that sleep
                out.add(result("torch 1.13 (python, tuned)", copy, cmd,
                        Map.of("OPENBLAS_CORETYPE", "SkylakeX", "OMP_WAIT_POLICY", "PASSIVE", "OMP_NUM_THREADS", "" + threads), timeoutS));
            }
        }
        return out;
    }

    /**
     * The PyTorch peer for a family shape (spec §7): scripts/torch_family_step.py, this project's, over
     * ../shared/parity/families_ref.py (transformers' math per family), the second half of each sequence scored as
     * bench scores it. libtorch through DJL builds plain LLaMA only, so it has no run here.
     */
    public static List<Result> runFamily(Path script, Path parityDir, Path modelDir, int B, int T, int K, int L, int steps, int warmup,
                                         int threads, long timeoutS) throws IOException, InterruptedException {
        List<Result> out = new ArrayList<>();
        out.add(new Result("libtorch 2.7.1 (DJL)", Double.NaN, "its step builds plain LLaMA models only"));
        if (exec(modelDir, List.of("/usr/bin/python3", "-c", "import torch"), Map.of(), 60, null) != 0) {
            out.add(new Result("torch (python, families)", Double.NaN, "python3-torch not installed (apt-get install python3-torch)"));
            return out;
        }
        List<String> cmd = List.of("/usr/bin/python3", script.toString(), "--model-dir", modelDir.toString(), "--parity-dir", parityDir.toString(),
                "--batch", "" + B, "--seq", "" + T, "--adapter-len", "" + K, "--adapter-layers", "" + L, "--steps", "" + steps,
                "--warmup", "" + warmup, "--threads", "" + threads);
        out.add(result("torch 1.13 (python, families_ref)", modelDir, cmd,
                Map.of("OPENBLAS_CORETYPE", "SkylakeX", "OMP_WAIT_POLICY", "PASSIVE", "OMP_NUM_THREADS", "" + threads), timeoutS));
        return out;
    }

    /** Runs a peer and reads ms_per_step_median from the JSON line it prints last. */
    private static Result result(String name, Path dir, List<String> cmd, Map<String, String> env, long timeoutS)
            throws IOException, InterruptedException {
        StringBuilder lines = new StringBuilder();
        int rc = exec(dir, cmd, env, timeoutS, lines);
        if (rc == 124) return new Result(name, Double.NaN, "stopped after " + timeoutS + " s (--peer-timeout)");
        String last = null;
        for (String l : lines.toString().split("\n")) if (l.startsWith("{")) last = l;
        if (rc != 0 || last == null) return new Result(name, Double.NaN, "exit " + rc + (last == null ? ", no result line" : ""));
        JsonNode j = new ObjectMapper().enable(com.fasterxml.jackson.core.json.JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS.mappedFeature())
                .readTree(last); // a peer may print NaN (a bf16 loss that overflowed)
        // DJL reads VmHWM, which a new process starts afresh; python's ru_maxrss keeps the parent's (this JVM's) peak across exec
        String rss = name.contains("DJL") ? "peak RSS " + j.path("peak_rss_mb").asInt() + " MB" : "its RSS not comparable: inherits ours";
        double loss = j.path("loss").asDouble(Double.NaN);
        return new Result(name, j.path("ms_per_step_median").asDouble(Double.NaN), rss + (Double.isNaN(loss) ? ", its loss was NaN" : ""));
    }

    static int exec(Path dir, List<String> cmd, Map<String, String> env, long timeoutS, StringBuilder stdout)
            throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(stdout == null);
        if (stdout != null) pb.redirectError(ProcessBuilder.Redirect.DISCARD);
        else pb.redirectOutput(ProcessBuilder.Redirect.DISCARD);
        pb.environment().putAll(env);
        Process p = pb.start();
        Thread reader = null;
        if (stdout != null) { // read beside the wait, so that the timeout holds while the peer prints nothing
            reader = Thread.ofVirtual().start(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String l; (l = r.readLine()) != null; ) synchronized (stdout) { stdout.append(l).append('\n'); }
                } catch (IOException e) {
                    // the peer went away: what was read is all there is
                }
            });
        }
        if (!p.waitFor(timeoutS, TimeUnit.SECONDS)) {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
            return 124;
        }
        if (reader != null) reader.join();
        return p.exitValue();
    }

    /** The model as a Hugging Face directory (config.json, model.safetensors in F32), the weights written where they lie. */
    public static void writeModel(LlamaConfig c, LlamaWeights w, Path dir) throws IOException {
        if (w.embed().dtype() != DType.F32) throw new IllegalArgumentException("peer models are written from F32 weights");
        if (c.arch().family().fusedQkv() || c.arch().family().gemma())
            throw new IllegalArgumentException("peer models of " + c.arch().family() + " are not written (fused or (1+w) weights)");
        Files.createDirectories(dir);
        SafeTensorsWriter out = new SafeTensorsWriter();
        out.put(w.embed());
        for (int i = 0; i < w.layers().length; i++) {
            LlamaWeights.Layer l = w.layers()[i];
            String p = "model.layers." + i + ".";
            out.put(p + "input_layernorm.weight", DType.F32, l.attnNorm(), l.attnNorm().length);
            out.put(p + "post_attention_layernorm.weight", DType.F32, l.mlpNorm(), l.mlpNorm().length);
            for (var m : List.of(l.wq(), l.wk(), l.wv(), l.wo(), l.wGate(), l.wUp(), l.wDown())) out.put(m);
            LlamaWeights.Extras x = l.x(); // a family's biases and q/k norms under their Hugging Face names
            String[] names = {"self_attn.q_proj.bias", "self_attn.k_proj.bias", "self_attn.v_proj.bias", "self_attn.o_proj.bias",
                    "self_attn.q_norm.weight", "self_attn.k_norm.weight", "mlp.gate_proj.bias", "mlp.up_proj.bias", "mlp.down_proj.bias"};
            float[][] vals = {x.bq(), x.bk(), x.bv(), x.bo(), x.qNorm(), x.kNorm(), x.bGate(), x.bUp(), x.bDown()};
            for (int k = 0; k < names.length; k++) if (vals[k] != null) out.put(p + names[k], DType.F32, vals[k], vals[k].length);
        }
        out.put("model.norm.weight", DType.F32, w.finalNorm(), w.finalNorm().length);
        if (!c.tieWordEmbeddings()) out.put(w.head());
        out.metadata("format", "pt").write(dir.resolve("model.safetensors"));
        c.write(dir.resolve("config.json"));
    }

    private static void copyTree(Path from, Path to) throws IOException {
        if (Files.exists(to)) try (Stream<Path> old = Files.walk(to)) {
            for (Path p : (Iterable<Path>) old.sorted(java.util.Comparator.reverseOrder())::iterator) Files.delete(p);
        }
        try (Stream<Path> all = Files.walk(from)) {
            for (Path p : (Iterable<Path>) all::iterator) {
                Path rel = from.relativize(p);
                if (rel.startsWith("results")) continue; // past runs: not needed, and read-only
                Path t = to.resolve(rel.toString());
                if (Files.isDirectory(p)) Files.createDirectories(t);
                else {
                    Files.copy(p, t, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.COPY_ATTRIBUTES);
                    t.toFile().setWritable(true);
                }
            }
        }
    }
}

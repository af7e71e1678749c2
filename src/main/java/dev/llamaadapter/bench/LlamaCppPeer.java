package dev.llamaadapter.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llamaadapter.model.BaseModel;
import dev.llamaadapter.model.GgufExport;
import dev.llamaadapter.model.LlamaConfig;
import dev.llamaadapter.model.LlamaWeights;
import dev.llamaadapter.model.QuantMix;
import dev.llamaadapter.tensor.DType;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;

/**
 * llama.cpp as the inference peer of {@code bench --generate} (../shared/peers/llamacpp/README.md): its source
 * (b4747) is unpacked and built once into the work folder with the README's recipe (cmake, Release, native
 * CPU, about 6 minutes on 2 cores); the benchmark model is written once as a GGUF file of the bench's dtype,
 * which both sides then read, and {@code llama-bench -t THREADS -p 128 -n 64} runs on it after our own timing.
 */
public final class LlamaCppPeer {
    private LlamaCppPeer() {}

    /** The llama.cpp version the figures and cases were made with. */
    public static final String VERSION = "b4747";
    /** Prompt tokens and generated tokens of llama-bench's two tests (pp128, tg64). */
    public static final int PROMPT = 128, GENERATE = 64;

    /** llama-bench's figures: prompt processing and generation tokens/s (means over its repetitions) and their spread. */
    public record Figures(double promptTokensPerS, double promptStdev, double decodeTokensPerS, double decodeStdev, String cpu, String note) {
        public boolean ran() {
            return !Double.isNaN(decodeTokensPerS);
        }

        public static Figures failed(String why) {
            return new Figures(Double.NaN, Double.NaN, Double.NaN, Double.NaN, "", why);
        }
    }

    /**
     * The llama-bench binary, built in {@code work/llama.cpp-b4747} from the tarball in peers/llamacpp when absent.
     *
     * @throws IOException when the source is missing or the build fails (its log is named)
     */
    public static Path llamaBench(Path peers, Path work, long timeoutS) throws IOException, InterruptedException {
        Path src = work.resolve("llama.cpp-" + VERSION);
        Path bin = src.resolve("build/bin/llama-bench");
        if (Files.isExecutable(bin)) return bin;
        Path tar = peers.resolve("llamacpp/llama.cpp-" + VERSION + ".tar.gz");
        if (!Files.isRegularFile(tar)) throw new IOException("no llama.cpp source at " + tar);
        Files.createDirectories(src);
        Path log = work.resolve("llama.cpp-build.log");
        System.err.println("bench: building llama.cpp " + VERSION + " in " + src + " (once, about 6 minutes on 2 cores; log " + log + ") ...");
        List<List<String>> steps = List.of(
                List.of("tar", "xzf", tar.toAbsolutePath().toString(), "-C", src.toString()),
                List.of("cmake", "-B", "build", "-DCMAKE_BUILD_TYPE=Release", "-DGGML_NATIVE=ON", "-DLLAMA_CURL=OFF",
                        "-DLLAMA_BUILD_TESTS=OFF", "-DLLAMA_BUILD_SERVER=OFF"),
                List.of("cmake", "--build", "build", "-j" + Runtime.getRuntime().availableProcessors(), "--target", "llama-bench", "llama-quantize"));
        for (List<String> step : steps) {
            ProcessBuilder pb = new ProcessBuilder(step).directory(src.toFile()).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
            Process p = pb.start();
            if (!p.waitFor(timeoutS, java.util.concurrent.TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException("llama.cpp build step " + String.join(" ", step) + " ran past " + timeoutS + " s (log " + log + ")");
            }
            if (p.exitValue() != 0) throw new IOException("llama.cpp build step " + String.join(" ", step) + " failed with exit " + p.exitValue() + " (log " + log + ")");
        }
        if (!Files.isExecutable(bin)) throw new IOException("llama.cpp built, but " + bin + " is missing (log " + log + ")");
        return bin;
    }

    /**
     * The benchmark model as GGUF of the quantize target t (one type, or a mix such as Q4_K_M): bench's random model (seed 42) written once as an F32 Hugging Face
     * directory with Llama 2's SentencePiece vocabulary (llama.cpp needs a vocabulary; the shape's must be its
     * 32,000 tokens), then through {@link GgufExport} as {@code quantize --to t} writes it. Reused while it exists.
     */
    public static Path benchModel(String shape, LlamaConfig c, QuantMix t, Path peers, Path work) throws IOException {
        Path vocab = peers.resolveSibling("assets/tokenizers/llama2/tokenizer.model");
        if (c.vocabSize() != 32000)
            throw new IOException("the llama.cpp peer runs shapes with Llama 2's 32,000-token vocabulary (tinyllama), not " + c.vocabSize());
        if (!Files.isRegularFile(vocab)) throw new IOException("no Llama 2 tokenizer at " + vocab);
        Path models = work.resolve("models");
        Path gguf = models.resolve(shape + "-seed42-" + t.name().toLowerCase(java.util.Locale.ROOT) + ".gguf");
        if (Files.isRegularFile(gguf)) return gguf;
        Path dir = models.resolve(shape + "-seed42");
        if (!Files.isRegularFile(dir.resolve("config.json"))) {
            System.err.println("bench: writing the benchmark model (F32) to " + dir);
            try (Arena a = Arena.ofShared()) {
                Peers.writeModel(c, LlamaWeights.random(c, DType.F32, 42, a), dir);
            }
        }
        Files.copy(vocab, dir.resolve("tokenizer.model"), StandardCopyOption.REPLACE_EXISTING);
        System.err.println("bench: writing it as " + t + " GGUF to " + gguf);
        Path tmp = gguf.resolveSibling(gguf.getFileName() + ".partial");
        try (BaseModel base = BaseModel.open(dir)) {
            GgufExport.write(base, t, tmp);
        }
        Files.move(tmp, gguf, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        return gguf;
    }

    /** Runs llama-bench on the model with the given threads and repetitions; a run that fails says why in its note. */
    public static Figures run(Path llamaBench, Path model, int threads, int repetitions, long timeoutS) {
        List<String> cmd = List.of(llamaBench.toString(), "-m", model.toString(), "-t", "" + threads,
                "-p", "" + PROMPT, "-n", "" + GENERATE, "-r", "" + repetitions, "-o", "json");
        try {
            StringBuilder out = new StringBuilder();
            int rc = Peers.exec(model.getParent(), cmd, Map.of(), timeoutS, out);
            if (rc != 0) return Figures.failed("llama-bench exit " + rc);
            return parse(out.toString());
        } catch (IOException e) {
            return Figures.failed("llama-bench: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Figures.failed("interrupted");
        }
    }

    /** llama-bench's JSON array: the test with n_prompt &gt; 0 is pp, the one with n_gen &gt; 0 is tg. */
    static Figures parse(String json) throws IOException {
        int at = json.indexOf('[');
        if (at < 0) return Figures.failed("llama-bench printed no JSON");
        JsonNode arr = new ObjectMapper().readTree(json.substring(at));
        double pp = Double.NaN, ppSd = Double.NaN, tg = Double.NaN, tgSd = Double.NaN;
        String cpu = "";
        for (JsonNode r : arr) {
            cpu = r.path("cpu_info").asText("");
            if (r.path("n_prompt").asInt() > 0 && r.path("n_gen").asInt() == 0) {
                pp = r.path("avg_ts").asDouble(Double.NaN);
                ppSd = r.path("stddev_ts").asDouble(Double.NaN);
            } else if (r.path("n_gen").asInt() > 0 && r.path("n_prompt").asInt() == 0) {
                tg = r.path("avg_ts").asDouble(Double.NaN);
                tgSd = r.path("stddev_ts").asDouble(Double.NaN);
            }
        }
        return new Figures(pp, ppSd, tg, tgSd, cpu, "llama.cpp " + VERSION + " llama-bench");
    }
}

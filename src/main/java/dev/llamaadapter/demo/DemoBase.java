package dev.llamaadapter.demo;

import dev.llamaadapter.data.Example;
import dev.llamaadapter.io.AtomicFile;
import dev.llamaadapter.model.LlamaConfig;
import dev.llamaadapter.model.LlamaWeights;
import dev.llamaadapter.model.TrainableWeights;
import dev.llamaadapter.model.Transformer;
import dev.llamaadapter.tensor.DType;
import dev.llamaadapter.tensor.WeightMatrix;
import dev.llamaadapter.tokenizer.Tokenizer;
import dev.llamaadapter.train.Objective;
import dev.llamaadapter.train.TrainConfig;
import dev.llamaadapter.train.Trainer;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.PrintStream;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.function.LongFunction;

/**
 * The demo's base model: a small LLaMA pretrained here, from random weights, on paragraphs about the
 * {@link FactWorld}'s cities (full fine-tuning from scratch through the same engine), then frozen. It is
 * kept as an ordinary Hugging Face directory (config.json, model.safetensors, tokenizer.model) in the
 * user's cache, under a key that hashes everything that shapes it (spec, generator version, the corpus
 * token ids), so a changed generator builds a new one; demo.json holds the files' SHA-256, checked on
 * every use, so a corrupt cache is rebuilt rather than trusted.
 */
public final class DemoBase {
    private DemoBase() {}

    /** Everything that shapes the base model. */
    public record Spec(long seed, int cities, int countries, int rivers, int products, int dim, int layers, int heads,
                       int ffn, int paragraphsPerCity, double fillerShare, int epochs, int batch, double lr) {
        public String describe() {
            return String.format(Locale.ROOT, "seed=%d cities=%d countries=%d rivers=%d products=%d D=%d N=%d H=%d F=%d para=%d filler=%s epochs=%d batch=%d lr=%s",
                    seed, cities, countries, rivers, products, dim, layers, heads, ffn, paragraphsPerCity, fillerShare, epochs, batch, lr);
        }

        public FactWorld world() {
            return FactWorld.generate(seed, cities, countries, rivers, products);
        }
    }

    public static final Spec DEFAULT = new Spec(7, 80, 6, 8, 8, 128, 4, 4, 352, 4, 1.0, 60, 16, 3e-3);

    /** What ensure() found or built. */
    public record Built(Path dir, boolean cached, double seconds, List<Trainer.StepRow> steps) {}

    /** Extra text the tokenizer must cover as whole words (the instruction template). */
    static final String TEMPLATE_WORDS = dev.llamaadapter.data.PromptTemplate.prompt("x", "") + " "
            + dev.llamaadapter.data.PromptTemplate.prompt("x", "y");

    /**
     * The base model's directory under cacheRoot: reused when present and intact, else (re)built.
     * progress makes the pretraining's listener (given the total steps).
     */
    public static Built ensure(Spec spec, Path cacheRoot, PrintStream log, LongFunction<Trainer.Listener> progress) throws IOException {
        FactWorld world = spec.world();
        byte[] tokenizerBytes = DemoTokenizer.build(world.words(TEMPLATE_WORDS));
        Path tmpTok = Files.createTempFile("demo-tokenizer", ".model");
        Tokenizer tok;
        try {
            Files.write(tmpTok, tokenizerBytes);
            tok = Tokenizer.load(tmpTok);
        } finally {
            Files.deleteIfExists(tmpTok);
        }
        List<Example> corpus = corpus(world, spec, tok);
        String key = key(spec, tokenizerBytes, corpus);
        Path dir = cacheRoot.resolve("demo-base-v" + FactWorld.VERSION + "-" + key);
        if (Files.isDirectory(dir)) {
            String problem = verify(dir);
            if (problem == null) return new Built(dir, true, 0, List.of());
            log.println("warning: the cached demo model at " + dir + " is damaged (" + problem + "): rebuilding it");
            deleteTree(dir);
        }

        LlamaConfig c = new LlamaConfig(spec.dim(), spec.ffn(), spec.layers(), spec.heads(), spec.heads(), tok.vocabSize(), 1e-5,
                LlamaConfig.DEFAULT_ROPE_THETA, false, "float32", 512, tok.bosId(), List.of(tok.eosId()), "silu");
        TrainableWeights w = new TrainableWeights(c, init(c, spec.seed()));
        Transformer model = new Transformer(c, w.weights);
        TrainConfig cfg = new TrainConfig(spec.epochs(), 1, spec.batch(), spec.batch(), spec.lr(), spec.lr() / 20, 0.01, 0.9, 0.95, 1e-8,
                1.0, 1, 1, dev.llamaadapter.model.GateActivation.TANH, 512, spec.seed(), true, false, 0, 0);
        List<Trainer.StepRow> steps = new ArrayList<>();
        Trainer.Listener bar = progress.apply((long) Trainer.stepsPerEpoch(corpus, cfg) * spec.epochs());
        Trainer trainer = new Trainer(model, cfg, corpus, List.of(), null, "demo", new Trainer.Listener() {
            @Override
            public void start(long total, long first) {
                bar.start(total, first);
            }

            @Override
            public void step(Trainer.StepRow r) {
                steps.add(r);
                bar.step(r);
            }
        });
        long t0 = System.nanoTime();
        trainer.run(Objective.full(model, w, spec.batch(), longest(corpus)), false);
        double secs = (System.nanoTime() - t0) / 1e9;

        // build beside the final place, then one atomic rename: a crash leaves no half-written cache entry
        Path tmp = Files.createTempDirectory(cacheRoot, ".demo-base-tmp");
        try {
            w.writeHf(tmp, java.util.Map.of("demo.spec", spec.describe(), "demo.final_loss",
                    steps.isEmpty() ? "" : String.format(Locale.ROOT, "%.4f", steps.getLast().loss())));
            AtomicFile.write(tmp.resolve("tokenizer.model"), tokenizerBytes);
            ObjectNode meta = JSON.createObjectNode();
            meta.put("generator_version", FactWorld.VERSION);
            meta.put("key", key);
            meta.put("spec", spec.describe());
            meta.put("pretrain_seconds", secs);
            meta.put("final_loss", steps.isEmpty() ? Double.NaN : steps.getLast().loss());
            ObjectNode sums = meta.putObject("sha256");
            for (String f : FILES) sums.put(f, sha256(tmp.resolve(f)));
            AtomicFile.write(tmp.resolve("demo.json"), JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(meta));
            try {
                Files.move(tmp, dir, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            } catch (java.nio.file.FileAlreadyExistsException | java.nio.file.DirectoryNotEmptyException e) {
                deleteTree(tmp); // another demo run built it meanwhile: theirs is as good
            }
        } catch (IOException | RuntimeException e) {
            deleteTree(tmp);
            throw e;
        }
        return new Built(dir, false, secs, steps);
    }

    static final String[] FILES = {"config.json", "model.safetensors", "tokenizer.model"};
    private static final ObjectMapper JSON = new ObjectMapper();

    /** null when dir holds every file with the recorded checksum, else what is wrong. */
    static String verify(Path dir) {
        try {
            JsonNode meta = JSON.readTree(Files.readAllBytes(dir.resolve("demo.json")));
            for (String f : FILES) {
                Path p = dir.resolve(f);
                if (!Files.isRegularFile(p)) return f + " is missing";
                String want = meta.path("sha256").path(f).asText("");
                if (!want.equals(sha256(p))) return f + " does not match its checksum";
            }
            return null;
        } catch (IOException | RuntimeException e) {
            return "demo.json unreadable: " + e.getMessage();
        }
    }

    /** Pretraining examples: paragraphsPerCity shuffled paragraphs per city, every next token scored. */
    static List<Example> corpus(FactWorld world, Spec spec, Tokenizer tok) {
        Random r = new Random(spec.seed() * 31 + 1);
        List<Example> out = new ArrayList<>();
        for (FactWorld.City city : world.cities)
            for (int k = 0; k < spec.paragraphsPerCity(); k++) {
                int[] body = tok.encode(world.paragraph(city, r, spec.fillerShare()));
                int[] ids = new int[body.length + 2];
                ids[0] = tok.bosId();
                System.arraycopy(body, 0, ids, 1, body.length);
                ids[ids.length - 1] = tok.eosId();
                int[] labels = new int[ids.length];
                for (int t = 0; t < ids.length; t++) labels[t] = t + 1 < ids.length ? ids[t + 1] : -100;
                out.add(new Example(ids, labels, false, city.name() + " #" + k));
            }
        return out;
    }

    static int longest(List<Example> ex) {
        int m = 1;
        for (Example e : ex) m = Math.max(m, e.length());
        return m;
    }

    /** GPT-2's initialisation: N(0, 0.02), the residual outputs scaled by 1/sqrt(2·layers); norms at 1. */
    static LlamaWeights init(LlamaConfig c, long seed) {
        Random r = new Random(seed);
        int D = c.hiddenSize(), F = c.intermediateSize(), V = c.vocabSize(), N = c.numHiddenLayers();
        float resid = (float) (0.02 / Math.sqrt(2.0 * N));
        LlamaWeights.Layer[] layers = new LlamaWeights.Layer[N];
        for (int i = 0; i < N; i++)
            layers[i] = new LlamaWeights.Layer(ones(D), normal("q", D, D, 0.02f, r), normal("k", D, D, 0.02f, r),
                    normal("v", D, D, 0.02f, r), normal("o", D, D, resid, r), ones(D),
                    normal("gate", F, D, 0.02f, r), normal("up", F, D, 0.02f, r), normal("down", D, F, resid, r));
        return new LlamaWeights(normal("embed", V, D, 0.02f, r), layers, ones(D), normal("head", V, D, 0.02f, r));
    }

    private static WeightMatrix normal(String name, int rows, int cols, float std, Random r) {
        float[] v = new float[rows * cols];
        for (int i = 0; i < v.length; i++) v[i] = (float) (r.nextGaussian() * std);
        return new WeightMatrix(name, MemorySegment.ofArray(v), DType.F32, rows, cols);
    }

    private static float[] ones(int n) {
        float[] v = new float[n];
        java.util.Arrays.fill(v, 1f);
        return v;
    }

    static String key(Spec spec, byte[] tokenizer, List<Example> corpus) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(spec.describe().getBytes(java.nio.charset.StandardCharsets.UTF_8));
            md.update(tokenizer);
            for (Example e : corpus) for (int id : e.ids()) md.update(new byte[]{(byte) id, (byte) (id >> 8), (byte) (id >> 16), 0x1f});
            return HexFormat.of().formatHex(md.digest(), 0, 8);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static String sha256(Path p) throws IOException {
        try (var in = Files.newInputStream(p)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) md.update(buf, 0, n);
            return HexFormat.of().formatHex(md.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) return;
        try (var s = Files.walk(dir)) {
            for (Path p : s.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }

    /**
     * The cache root: $XDG_CACHE_HOME/llama-adapter, else ~/.cache/llama-adapter; when that cannot be
     * written, a temporary directory, with a warning (the model is then rebuilt on each run).
     */
    public static Path cacheRoot(Path requested, PrintStream log) throws IOException {
        Path root = requested;
        if (root == null) {
            String xdg = System.getenv("XDG_CACHE_HOME");
            root = (xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache")).resolve("llama-adapter");
        }
        try {
            Files.createDirectories(root);
            Path probe = Files.createTempFile(root, ".write-check", ".tmp");
            Files.delete(probe);
            return root;
        } catch (IOException | SecurityException e) {
            Path tmp = Files.createTempDirectory("llama-adapter-cache");
            log.println("warning: cannot write the cache directory " + root + " (" + e.getMessage() + "); using " + tmp
                    + " for this run, so the demo model will be built again next time");
            return tmp;
        }
    }
}

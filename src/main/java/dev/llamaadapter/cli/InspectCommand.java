package dev.llamaadapter.cli;

import dev.llamaadapter.adapter.AdapterFormats;
import dev.llamaadapter.io.FileKind;
import dev.llamaadapter.model.AdaptionPrompts;
import dev.llamaadapter.model.BaseModel;
import dev.llamaadapter.model.GateActivation;
import dev.llamaadapter.model.LlamaConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/** Says what a file or directory is: an adapter in any format (and whether it fits a model), or a base model. */
@Command(name = "inspect", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Show what an adapter (native, PEFT, official .pth) or a model holds: format, tensors, dtypes, parameters, metadata.")
public final class InspectCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "PATH", description = "adapter file or directory, or model directory / .gguf / llama2.c .bin")
    Path path;
    @Option(names = "--model", description = "base model: also say whether the adapter fits it (exit code 1 when it does not)")
    Path model;
    @Option(names = "--gate-activation", converter = TrainCommand.GateConverter.class, description = "tanh | identity: override the adapter's")
    GateActivation gateActivation;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        try {
            return isModel(path) ? inspectModel(out) : inspectAdapter(out);
        } finally {
            out.flush();
        }
    }

    static boolean isModel(Path p) {
        if (Files.isDirectory(p)) return Files.isRegularFile(p.resolve("config.json")) && !Files.isRegularFile(p.resolve("adapter_config.json"));
        String n = p.getFileName() == null ? "" : p.getFileName().toString().toLowerCase(Locale.ROOT);
        FileKind kind = FileKind.of(p);
        if (kind == FileKind.GGUF || kind == FileKind.LLAMA2C) return true;
        if (kind != FileKind.UNKNOWN) return false;
        Path parent = p.toAbsolutePath().getParent(); // unrecognised: by name, so the model readers say what is wrong
        return (n.endsWith(".gguf") || n.endsWith(".bin") && Files.isRegularFile(p))
                && (parent == null || !Files.isRegularFile(parent.resolve("adapter_config.json")));
    }

    private int inspectModel(PrintWriter out) throws IOException {
        if (FileKind.of(path) == FileKind.GGUF) return inspectGguf(out);
        try (BaseModel base = BaseModel.open(path)) {
            String kind = switch (base.source().getClass().getSimpleName()) {
                case "Llama2cSource" -> "llama2.c checkpoint";
                default -> "Hugging Face directory (safetensors)";
            };
            out.printf("model: %s%n", path);
            out.printf("format: %s%n", kind);
            describeModel(out, base);
            return 0;
        }
    }

    /**
     * A GGUF file is described from its header first (any architecture, any tensor type), then opened as a
     * model: what the engine makes of it, or why it cannot run it and which tensor types it lacks.
     */
    private int inspectGguf(PrintWriter out) throws IOException {
        Map<dev.llamaadapter.io.gguf.GgmlType, java.util.List<String>> unreadable;
        try (var f = GgufInspect.open(path)) {
            unreadable = GgufInspect.describe(f, out);
        }
        unreadable.forEach((t, names) -> out.printf("missing: a reader for %s (%d tensor%s: %s); supported: %s%n", t, names.size(),
                names.size() == 1 ? "" : "s", String.join(", ", names.subList(0, Math.min(3, names.size()))) + (names.size() > 3 ? ", ..." : ""),
                GgufInspect.supported()));
        try (BaseModel base = BaseModel.open(path)) {
            describeModel(out, base);
            out.println("runs here: yes");
        } catch (IOException | RuntimeException e) {
            out.printf("runs here: no: %s%n", e.getMessage());
        }
        return 0;
    }

    /** The engine's view of an opened model: family, config, dtypes, size, fingerprint. */
    private static void describeModel(PrintWriter out, BaseModel base) throws IOException {
        LlamaConfig c = base.config();
        out.printf("family: %s%n", c.arch().describe());
        out.printf("config: %s, head_dim %d, rms_norm_eps %s, rope_theta %s, tie_word_embeddings %s%s%s%n", base.shape(), c.headDim(),
                c.rmsNormEps(), c.ropeTheta(), c.tieWordEmbeddings(),
                c.torchDtype() == null ? "" : ", torch_dtype " + c.torchDtype(),
                c.maxPositionEmbeddings() == null ? "" : ", max_position_embeddings " + c.maxPositionEmbeddings());
        out.printf("tensors: %d%n", base.source().names().size());
        out.printf("dtypes: %s%n", base.dtypes());
        long params = base.parameterCount();
        out.printf(Locale.ROOT, "parameters: %,d (%s)%n", params, human(params, ""));
        long bytes = base.bytesOnDisk();
        out.printf(Locale.ROOT, "size: %,d bytes (%s)%n", bytes, human(bytes, "B"));
        out.printf("fingerprint: %s%n", base.fingerprint());
    }

    private int inspectAdapter(PrintWriter out) throws IOException {
        AdapterFormats.Description d = AdapterFormats.describe(path);
        out.printf("adapter: %s%n", d.path());
        out.printf("format: %s (%s)%n", d.format().id(), d.container());
        if (!d.weights().equals(d.path())) out.printf("weights: %s%n", d.weights());
        out.printf(Locale.ROOT, "tensors: %d, %,d parameters as stored%n", d.tensors().size(), d.storedParameters());
        int w = 0;
        for (var t : d.tensors()) w = Math.max(w, t.name().length());
        for (var t : d.tensors()) out.printf("  %-" + w + "s  %-4s  %s%n", t.name(), t.dtype(), Arrays.toString(t.shape()));
        if (!d.metadata().isEmpty()) {
            out.println(d.format() == AdapterFormats.Format.PEFT ? "config and metadata:" : "metadata:");
            for (Map.Entry<String, String> e : d.metadata().entrySet()) out.printf("  %s = %s%n", e.getKey(), e.getValue());
        }
        if (model == null) {
            try {
                describe(out, AdapterFormats.load(path, null, gateActivation), "");
            } catch (IOException e) {
                out.printf("adapter: cannot be read without its base model: %s%n", e.getMessage());
            }
            return 0;
        }
        try (BaseModel base = BaseModel.open(model)) {
            AdapterFormats.Loaded l;
            try {
                l = AdapterFormats.load(path, base, gateActivation);
            } catch (IOException e) {
                out.printf("fits %s (%s): no: %s%n", model, base.shape(), e.getMessage());
                return 1;
            }
            describe(out, l, "");
            if (l.format() == AdapterFormats.Format.NATIVE) { // only native files record the base's weights
                var m = dev.llamaadapter.adapter.AdapterFile.baseMatch(path, l.adapter().metadata(), base);
                out.printf("base weights: %s%n", m == null ? "not recorded in the adapter (an older file): only the architecture was checked" : m.describe());
            }
            out.printf("fits %s (%s): yes%n", model, base.shape());
            return 0;
        }
    }

    private static void describe(PrintWriter out, AdapterFormats.Loaded l, String indent) {
        AdaptionPrompts p = l.prompts();
        out.printf(Locale.ROOT, "%sadapter: adapter_len K=%d, adapter_layers L=%d (layers %d..%d of %d), D=%d, H=%d%n", indent, p.adapterLen,
                p.adapterLayers, l.nLayers() - p.adapterLayers, l.nLayers() - 1, l.nLayers(), p.dim, p.heads);
        out.printf(Locale.ROOT, "%sgate activation: %s (%s)%n", indent, p.gateActivation.id(),
                l.adapter().metadata().get(AdapterFormats.GATE_ACTIVATION_SOURCE));
        boolean perLayer = p.gates == dev.llamaadapter.model.GateSharing.PER_LAYER;
        out.printf(Locale.ROOT, "%sgates: %s%n", indent, perLayer ? "per-layer (one per adapted layer, shared by its heads, as PEFT holds them)"
                : "per-head (the paper's)");
        out.printf(Locale.ROOT, "%strainable parameters: %,d (%s)%n", indent, p.parameterCount(), perLayer ? "L*K*D + L" : "L*K*D + L*H");
    }

    private static String human(long n, String unit) {
        String[] s = unit.equals("B") ? new String[]{"B", "KiB", "MiB", "GiB", "TiB"} : new String[]{"", "K", "M", "B", "T"};
        double base = unit.equals("B") ? 1024 : 1000, v = n;
        int i = 0;
        while (v >= base && i < s.length - 1) {
            v /= base;
            i++;
        }
        return String.format(Locale.ROOT, i == 0 ? "%.0f%s" : "%.2f %s", v, s[i]).trim();
    }
}

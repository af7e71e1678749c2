package dev.llamaadapter.cli;

import dev.llamaadapter.adapter.AdapterFile;
import dev.llamaadapter.adapter.AdapterFormats;
import dev.llamaadapter.adapter.AdapterFormats.Format;
import dev.llamaadapter.io.OutputGuard;
import dev.llamaadapter.model.AdaptionPrompts;
import dev.llamaadapter.model.BaseModel;
import dev.llamaadapter.model.GateActivation;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/** Converts an adapter between the native, PEFT and official formats (spec §4, §6). */
@Command(name = "convert", mixinStandardHelpOptions = true, sortOptions = false,
        description = "Convert an adapter: native safetensors, PEFT adaption_prompt directory, official LLaMA-Adapter .pth.")
public final class ConvertCommand implements Callable<Integer> {
    @Option(names = "--adapter", required = true, description = "source adapter: .safetensors, .pth or PEFT directory (format detected)")
    Path adapter;
    @Option(names = "--to", required = true, converter = FormatConverter.class, description = "native | peft | official")
    Format to;
    @Option(names = "--out", required = true, description = "output file (native, official) or directory (peft)")
    Path out;
    @Option(names = "--model", description = "base model: checks the adapter fits it; needed for PEFT sources (no head count) "
            + "and recorded in the output")
    Path model;
    @Option(names = "--gate-activation", converter = TrainCommand.GateConverter.class,
            description = "tanh | identity: the source's gate activation, overriding what it records or implies")
    GateActivation gateActivation;

    @Spec
    CommandSpec spec;

    static final class FormatConverter implements ITypeConverter<Format> {
        @Override
        public Format convert(String value) {
            return Format.parse(value);
        }
    }

    @Override
    public Integer call() throws Exception {
        PrintWriter pw = spec.commandLine().getOut();
        OutputGuard g = new OutputGuard().input("--adapter", adapter).input("--model", model);
        if (to == Format.PEFT) g.outputDir("--out", out, AdapterFormats.peftFiles());
        else g.output("--out", out);
        g.check();
        try (BaseModel base = model == null ? null : BaseModel.open(model)) {
            AdapterFormats.Loaded l = AdapterFormats.load(adapter, base, gateActivation);
            AdaptionPrompts p = l.prompts();
            Map<String, String> src = l.adapter().metadata();
            Map<String, String> meta = new LinkedHashMap<>();
            if (base != null) {
                meta.put(AdapterFile.BASE_FINGERPRINT, base.fingerprint());
                meta.put(AdapterFile.BASE_SHAPE, base.shape());
                meta.put(AdapterFile.BASE_FAMILY, base.config().arch().family().modelType());
                meta.put(AdapterFile.BASE_SKETCH, dev.llamaadapter.model.BaseSketch.of(base).encode());
            } else if (l.format() == Format.NATIVE) {
                for (String k : new String[]{AdapterFile.BASE_FINGERPRINT, AdapterFile.BASE_SHAPE, AdapterFile.BASE_SKETCH, AdapterFile.BASE_FAMILY})
                    if (src.containsKey(k)) meta.put(k, src.get(k));
            }
            meta.put("converted_from", l.format().id() + ":" + adapter.toAbsolutePath().normalize());
            String baseName = model != null ? model.toString()
                    : "null".equals(src.getOrDefault("base_model_name_or_path", "null")) ? null : src.get("base_model_name_or_path");
            String family = meta.getOrDefault(AdapterFile.BASE_FAMILY, "llama");
            if (to == Format.PEFT && !family.equals("llama") && !family.equals("mistral"))
                throw new IllegalArgumentException(adapter + ": its base is a " + family + " model; PEFT's adaption_prompt reads and writes "
                        + "llama and mistral adapters only (spec §7): keep it native");
            var notes = AdapterFormats.write(to, out, p, l.nLayers(), meta, baseName);
            AdapterFormats.verifyWritten(to, out, p, l.nLayers());
            pw.printf("convert: %s (%s: K=%d L=%d D=%d H=%d, model of %d layers, gates %s %s) -> %s (%s)%n", adapter, l.format().id(),
                    p.adapterLen, p.adapterLayers, p.dim, p.heads, l.nLayers(), p.gates.id(), p.gateActivation.id(), out, to.id());
            for (String n : notes) pw.println("  note: " + n);
            pw.flush();
            return 0;
        }
    }
}

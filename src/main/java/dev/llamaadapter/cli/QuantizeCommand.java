package dev.llamaadapter.cli;

import dev.llamaadapter.io.OutputGuard;
import dev.llamaadapter.model.BaseModel;
import dev.llamaadapter.model.GgufExport;
import dev.llamaadapter.tensor.DType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;

/** A base model (any format BaseModel opens) written as a GGUF with quantised projection weights. */
@Command(name = "quantize", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Write a base model as GGUF with Q8_0 or Q4_0 projection weights (or converted to f16 / bf16 / f32).",
                "Embedding and head become Q8_0 (f16/bf16/f32: that type), norms stay F32; the tokenizer goes into the metadata when the source has a SentencePiece or GGUF one."})
public final class QuantizeCommand implements Callable<Integer> {
    enum Target { q8_0, q4_0, f16, bf16, f32 }

    @Option(names = "--model", required = true, description = "Hugging Face directory, .gguf file or llama2.c .bin checkpoint") Path model;
    @Option(names = "--to", required = true, description = "q8_0 | q4_0 | f16 | bf16 | f32") Target to;
    @Option(names = "--out", required = true, description = "the GGUF file to write (atomically)") Path out;

    @Override
    public Integer call() throws Exception {
        DType t = DType.valueOf(to.name().toUpperCase(Locale.ROOT));
        if (java.nio.file.Files.isDirectory(out))
            throw new IllegalArgumentException("--out " + out + " is a directory: give the GGUF file to write, e.g. " + out.resolve("model-" + to + ".gguf"));
        new OutputGuard().input("--model", model).output("--out", out).check();
        try (BaseModel base = BaseModel.open(model)) {
            long t0 = System.nanoTime();
            GgufExport.Summary s = GgufExport.write(base, t, out);
            BaseModel.verifyWritten(out, base);
            String already = base.dtypes();
            String types = s.tensorsByType().entrySet().stream().map(e -> e.getValue() + " " + e.getKey()).collect(Collectors.joining(", "));
            System.out.printf(Locale.ROOT, "quantize: %s (%s, %s, %.1f MB) -> %s: %s tensors, %.1f MB, tokenizer %s, %.1f s%n",
                    model, base.shape(), base.dtypes(), base.bytesOnDisk() / 1e6, out, types, s.bytes() / 1e6,
                    s.tokenizer() ? "included" : "not included", (System.nanoTime() - t0) / 1e9);
            for (String n : s.notes()) System.out.println("  note: " + n);
            if (java.util.Arrays.stream(already.split("\\+")).anyMatch(d -> DType.valueOf(d).isQuantized()))
                System.out.println("  note: " + model + " is already quantized (" + already + "): the " + to + " weights are made from its dequantized values"
                        + (t.isQuantized() ? " and carry both roundings; quantize from the F32/F16/BF16 original when you have it" : ", not from the original weights"));
            return 0;
        }
    }
}

package dev.llamaadapter.cli;

import dev.llamaadapter.io.OutputGuard;
import dev.llamaadapter.model.BaseModel;
import dev.llamaadapter.model.GgufExport;
import dev.llamaadapter.model.QuantMix;
import dev.llamaadapter.tensor.DType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;

/** A base model (any format BaseModel opens) written as a GGUF with llama-quantize's mix of tensor types for a target. */
@Command(name = "quantize", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Write a base model as a GGUF file llama.cpp reads, quantized as llama-quantize quantizes it (or converted to f16 / bf16 / f32).",
                "The tensor types follow llama-quantize's mix for the target: the head Q6_K (Q8_0 for q8_0), q4_k_m/q5_k_m raise some attn_v and ffn_down layers to Q6_K,",
                "rows that are not whole 256-element blocks fall back (Q5_0/Q5_1/Q8_0/F16) and the notes say which; norms stay F32.",
                "The tokenizer goes into the metadata when the source has a SentencePiece or GGUF one."})
public final class QuantizeCommand implements Callable<Integer> {
    enum Target { q4_k_m, q5_k_m, q6_k, q8_0, q4_0, f16, bf16, f32 }

    @Option(names = "--model", required = true, description = "Hugging Face directory, .gguf file or llama2.c .bin checkpoint") Path model;
    @Option(names = "--to", required = true, description = "q4_k_m | q5_k_m | q6_k | q8_0 | q4_0 | f16 | bf16 | f32") Target to;
    @Option(names = "--out", required = true, description = "the GGUF file to write (atomically)") Path out;

    @Override
    public Integer call() throws Exception {
        QuantMix mix = QuantMix.parse(to.name());
        if (java.nio.file.Files.isDirectory(out))
            throw new IllegalArgumentException("--out " + out + " is a directory: give the GGUF file to write, e.g. " + out.resolve("model-" + to + ".gguf"));
        new OutputGuard().input("--model", model).output("--out", out).check();
        try (BaseModel base = BaseModel.open(model)) {
            long t0 = System.nanoTime();
            GgufExport.Summary s = GgufExport.write(base, mix, out);
            BaseModel.verifyWritten(out, base);
            String already = base.dtypes();
            String types = s.tensorsByType().entrySet().stream().map(e -> e.getValue() + " " + e.getKey()).collect(Collectors.joining(", "));
            System.out.printf(Locale.ROOT, "quantize: %s (%s, %s, %.1f MB) -> %s: %s tensors, %.1f MB, tokenizer %s, %.1f s%n",
                    model, base.shape(), base.dtypes(), base.bytesOnDisk() / 1e6, out, types, s.bytes() / 1e6,
                    s.tokenizer() ? "included" : "not included", (System.nanoTime() - t0) / 1e9);
            for (String n : s.notes()) System.out.println("  note: " + n);
            if (java.util.Arrays.stream(already.split("\\+")).anyMatch(d -> DType.valueOf(d).isQuantized()))
                System.out.println("  note: " + model + " is already quantized (" + already + "): the " + to + " weights are made from its dequantized values"
                        + (mix.isQuantized() ? " and carry both roundings; quantize from the F32/F16/BF16 original when you have it" : ", not from the original weights"));
            return 0;
        }
    }
}

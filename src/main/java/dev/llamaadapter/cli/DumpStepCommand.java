package dev.llamaadapter.cli;

import dev.llamaadapter.io.OutputGuard;

import dev.llamaadapter.adapter.AdapterFormats;
import dev.llamaadapter.adapter.GateLayout;
import dev.llamaadapter.io.SafeTensorsWriter;
import dev.llamaadapter.model.Activations;
import dev.llamaadapter.model.AdaptionPrompts;
import dev.llamaadapter.model.BaseModel;
import dev.llamaadapter.model.GateActivation;
import dev.llamaadapter.model.TokenBatch;
import dev.llamaadapter.model.Transformer;
import dev.llamaadapter.model.VisualProjection;
import dev.llamaadapter.io.SafeTensors;
import dev.llamaadapter.io.SafeTensorsException;
import dev.llamaadapter.vision.ClipVision;
import dev.llamaadapter.vision.VisualAdapter;
import dev.llamaadapter.tensor.DType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;

/** One forward and backward on a token batch, written out for parity checks against any implementation (spec §6). */
@Command(name = "dump-step", mixinStandardHelpOptions = true,
        description = "One forward + backward on a token batch; writes logits, loss and adapter gradients (safetensors).")
public final class DumpStepCommand implements Callable<Integer> {
    @Option(names = "--model", required = true, description = "base model: a Hugging Face directory, a .gguf file or a llama2.c .bin checkpoint")
    Path model;
    @Option(names = "--adapter", required = true,
            description = "adapter: native .safetensors, official LLaMA-Adapter .pth, or a PEFT adaption_prompt directory")
    Path adapter;
    @Option(names = "--gate-activation", converter = TrainCommand.GateConverter.class,
            description = "tanh | identity: overrides the adapter's (default: native files' metadata; identity for .pth and PEFT)")
    GateActivation gateActivation;
    @Option(names = "--batch", required = true, description = "batch file: input_ids and labels, I32/I64 [B, T]")
    Path batch;
    @Option(names = "--out", required = true, description = "result file: logits [B,T,V], loss [1], grad.<adapter tensor>")
    Path out;
    @Option(names = "--vision", description = "CLIP vision tower (Hugging Face CLIPVisionModel or CLIP directory) for a multimodal adapter; "
            + "the batch then holds pixel_values F32 [B, 3, S, S]")
    Path vision;

    @Override
    public Integer call() throws Exception {
        new OutputGuard().input("--model", model).input("--adapter", adapter).input("--batch", batch).input("--vision", vision).output("--out", out).check();
        try (BaseModel base = BaseModel.open(model); ClipVision tower = vision == null ? null : ClipVision.open(vision)) {
            var cfg = base.config();
            AdaptionPrompts p = AdapterFormats.read(adapter, base, gateActivation).prompts();
            VisualAdapter.check(p, adapter, tower);
            TokenBatch b = TokenBatch.read(batch, cfg.vocabSize());
            Transformer t = base.transformer();
            Activations a = t.activations(b.B(), b.T(), p, true, true);
            AdaptionPrompts grads = p.zerosLike();
            float[] logits, feats = null, tokens = null;
            VisualProjection.Saved vs = null;
            if (tower != null) {
                int S = tower.imageSize();
                float[] pixels;
                try (SafeTensors st = SafeTensors.open(batch)) {
                    if (!st.has("pixel_values"))
                        throw new SafeTensorsException(batch, "pixel_values", "not found (a multimodal step needs pre-processed images F32 [B, 3, S, S])");
                    pixels = st.floats("pixel_values", b.B(), 3, S, S);
                }
                feats = tower.features(pixels, b.B(), p.visual.visualLayers);
                tokens = new float[b.B() * cfg.hiddenSize()]; // [B, D] I_p per sample
                vs = new VisualProjection.Saved(b.B(), cfg.hiddenSize());
                p.visual.forward(feats, null, b.B(), tokens, vs);
            }
            Integer maxPos = cfg.maxPositionEmbeddings();
            if (maxPos != null && b.T() > maxPos)
                System.err.println(dev.llamaadapter.generate.ContextLength.beyond("the batch's T = " + b.T(), maxPos));
            logits = t.forward(a, b.ids(), p, tokens);
            float loss = t.backward(a, b.labels(), p, grads);
            if (tower != null) p.visual.backward(feats, null, b.B(), a.dVisual, vs, grads.visual);

            Map<String, SafeTensorsWriter.Tensor> tensors = new LinkedHashMap<>();
            tensors.put("logits", SafeTensorsWriter.Tensor.of(DType.F32, new long[]{b.B(), b.T(), cfg.vocabSize()}, logits));
            tensors.put("loss", SafeTensorsWriter.Tensor.of(DType.F32, new long[]{1}, new float[]{loss}));
            tensors.putAll(GateLayout.gradients(grads, cfg.numHiddenLayers())); // per-layer gates: the heads' sum, one per layer
            SafeTensorsWriter.write(out, tensors, Map.of("model", model.toString(), "adapter", adapter.toString(), "batch", batch.toString()));
            System.err.printf("dump-step: B=%d T=%d loss=%.6f -> %s%n", b.B(), b.T(), loss, out);
            return 0;
        }
    }
}

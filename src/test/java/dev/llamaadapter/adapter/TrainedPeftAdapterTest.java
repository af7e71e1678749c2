package dev.llamaadapter.adapter;

import dev.llamaadapter.cli.Main;
import dev.llamaadapter.io.SafeTensors;
import dev.llamaadapter.model.Activations;
import dev.llamaadapter.model.AdaptionPrompts;
import dev.llamaadapter.model.BaseModel;
import dev.llamaadapter.model.GateActivation;
import dev.llamaadapter.model.GateSharing;
import dev.llamaadapter.model.Transformer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The user story: train --peft on stories260K, convert --to peft, and the PEFT directory read back is
 * the same model as the native file (logits within 1e-6; in fact identical), in PEFT's exact layout
 * (AdapterFormatsTest's layout check). The native file records per-layer identity gates.
 */
class TrainedPeftAdapterTest {
    static final Path MODEL = Path.of("../shared/assets/stories260K/hf");

    @TempDir
    static Path tmp;
    static Path data;

    @BeforeAll
    static void makeData() throws Exception {
        assumeTrue(Files.isDirectory(MODEL), "../shared is absent");
        String[] names = {"Lily", "Tom", "Ben", "Mia", "Sam", "Anna", "Max", "Lucy"};
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 48; i++) {
            String name = names[i % names.length];
            lines.add("{\"instruction\": \"Continue the story about " + name + ".\", \"input\": \"\", \"output\": \"" + name
                    + " went to the park. " + name + " saw a big dog.\"}");
        }
        data = tmp.resolve("names.jsonl");
        Files.write(data, lines);
    }

    static String cli(String... args) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int rc = cl.execute(args);
        assertThat(rc).as(String.join(" ", args) + "\n" + err).isZero();
        return out.toString();
    }

    @Test
    void aPeftTrainedAdapterConvertsToPeftWithoutLoss() throws Exception {
        Path nat = tmp.resolve("peft-trained.safetensors"), peft = tmp.resolve("peft-dir");
        cli("train", "--model", MODEL.toString(), "--data", data.toString(), "--out", nat.toString(), "--peft", "--epochs", "3",
                "--warmup-epochs", "1", "--batch-size", "8", "--micro-batch-size", "4", "--lr", "2e-2", "--val-split", "8", "--seed", "3", "--quiet");
        try (SafeTensors st = SafeTensors.open(nat)) {
            assertThat(st.metadata()).containsEntry("gates", "per-layer").containsEntry("gate_activation", "identity");
            assertThat(Double.parseDouble(st.metadata().get("summary.final_val_loss")))
                    .isLessThan(Double.parseDouble(st.metadata().get("summary.base_val_loss")));
            for (int i = 2; i < 5; i++) assertThat(st.info("layers." + i + ".attention.gate").shape()).containsExactly(1, 8, 1, 1);
        }
        String msg = cli("convert", "--adapter", nat.toString(), "--to", "peft", "--out", peft.toString(), "--model", MODEL.toString());
        assertThat(msg).contains("gates per-layer identity");
        AdapterFormatsTest.assertPeftLayout(peft, 10, 64, 5, 3, MODEL.toString());

        try (BaseModel base = BaseModel.open(MODEL)) {
            AdaptionPrompts a = AdapterFormats.read(nat, base, null).prompts(), b = AdapterFormats.read(peft, base, null).prompts();
            assertThat(a.gates).isEqualTo(GateSharing.PER_LAYER);
            assertThat(a.gateActivation).isEqualTo(GateActivation.IDENTITY);
            assertThat(a.firstLayerWithUnequalHeads()).isEqualTo(-1);
            assertThat(a.gate[0]).as("training moved the gates").isNotZero();
            assertThat(b.gates).isEqualTo(GateSharing.PER_LAYER);
            float[] la = logits(base, a), lb = logits(base, b);
            double worst = 0, scale = 0;
            for (int i = 0; i < la.length; i++) {
                worst = Math.max(worst, Math.abs(la[i] - lb[i]));
                scale = Math.max(scale, Math.abs(la[i]));
            }
            assertThat(worst).as("native vs PEFT logits, largest |logit| %s", scale).isLessThanOrEqualTo(1e-6 * Math.max(1, scale));
            assertThat(lb).as("the same numbers, in fact").containsExactly(la);
        }

        // and back: PEFT -> native keeps the adapter per-layer
        Path back = tmp.resolve("back.safetensors");
        cli("convert", "--adapter", peft.toString(), "--to", "native", "--out", back.toString(), "--model", MODEL.toString());
        try (SafeTensors st = SafeTensors.open(back)) {
            assertThat(st.metadata()).containsEntry("gates", "per-layer");
        }
    }

    static float[] logits(BaseModel base, AdaptionPrompts p) throws java.io.IOException {
        int[] ids = base.tokenizer().encode("Lily went to the park. Tom saw a big dog and was very happy.");
        Transformer t = base.transformer();
        Activations a = t.activations(1, ids.length, p, false, false);
        return t.forward(a, ids, p).clone();
    }
}

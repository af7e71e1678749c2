package dev.llamaadapter.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llamaadapter.model.GateActivation;
import dev.llamaadapter.train.Trainer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The demo and the ablation run end to end on a tiny world (seconds, not minutes): every output is
 * written, the JSON line has its fields, the reloaded adapter answers the same, a second run reuses the
 * cached base. Whether the adapter wins is the full-size demo's claim, measured by `demo` itself.
 */
class DemoRunTest {
    static Trainer.Listener quiet(long total) {
        return r -> {};
    }

    @Test
    void theDemoRunsEndToEndAndReusesItsBase(@TempDir Path dir) throws Exception {
        DemoBase.Spec spec = new DemoBase.Spec(1, 12, 2, 3, 3, 32, 2, 2, 64, 2, 0.5, 3, 8, 3e-3);
        Demo.Options o = new Demo.Options(spec, dir.resolve("cache"), dir.resolve("out"), 4, 2, 2, 8, 2e-2, GateActivation.TANH, 0, false);
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        Demo.Result r = Demo.run(o, new PrintStream(log, true), DemoRunTest::quiet, s -> quiet(0));
        assertThat(r.cachedBase()).isFalse();
        assertThat(r.reloadSame()).isTrue();
        assertThat(r.trainableParams()).isEqualTo(4L * 2 * 32 + 2 * 2);
        assertThat(r.baseParams()).isGreaterThan(100 * r.trainableParams());
        assertThat(r.baseAccuracy()).isBetween(0.0, 1.0);
        assertThat(r.adapterAccuracy()).isBetween(0.0, 1.0);
        for (String f : List.of("adapter.safetensors", "adapter-loss.png", "pretrain-loss.png", "train.jsonl", "heldout.jsonl", "answers.jsonl"))
            assertThat(o.out().resolve(f)).isNotEmptyFile();
        assertThat(Files.size(o.out().resolve("adapter.safetensors"))).isEqualTo(r.adapterFileBytes());
        assertThat(log.toString()).contains("[1/4]", "[2/4]", "[3/4]", "[4/4]", "plug-and-play");

        JsonNode json = new ObjectMapper().readTree(Demo.json(r));
        for (String k : List.of("base_accuracy", "adapter_accuracy", "trainable_params", "base_params", "adapter_file_bytes"))
            assertThat(json.has(k)).as(k).isTrue();
        assertThat(Demo.json(r)).doesNotContain("\n");

        Demo.Result again = Demo.run(o, new PrintStream(new ByteArrayOutputStream()), DemoRunTest::quiet, s -> quiet(0));
        assertThat(again.cachedBase()).isTrue();
        assertThat(again.adapterAccuracy()).as("seeded: the same run again").isEqualTo(r.adapterAccuracy());
    }

    @Test
    void theAblationWritesItsTableAndCharts(@TempDir Path dir) throws Exception {
        DemoBase.Spec spec = new DemoBase.Spec(1, 12, 2, 3, 3, 32, 2, 2, 64, 2, 0.5, 3, 8, 3e-3);
        Ablation.Options o = new Ablation.Options(null, null, null, dir.resolve("abl"), dir.resolve("cache"), 1, 8, 2e-2, 1e-3, 4, 2,
                List.of(1, 2), List.of(1, 4), 1.0, true, 0, spec);
        List<Ablation.Run> runs = Ablation.run(o, new PrintStream(new ByteArrayOutputStream()), s -> quiet(0));
        // zero-init, random, per-layer, per-layer identity (--peft), L=1, L=2 (= reference), K=1, K=4 (= reference), full
        assertThat(runs).hasSize(9);
        Ablation.Run perLayer = runs.get(2), peft = runs.get(3);
        assertThat(perLayer.setting()).isEqualTo("per-layer gates");
        assertThat(peft.setting()).contains("train --peft");
        assertThat(perLayer.trainableParams()).as("one gate per layer: L·K·D + L").isEqualTo(2L * 4 * 32 + 2);
        assertThat(peft.trainableParams()).isEqualTo(perLayer.trainableParams());
        assertThat(perLayer.valLoss()).as("its own run, not the reference's").isNotEqualTo(runs.getFirst().valLoss());
        assertThat(runs).extracting(Ablation.Run::group).contains("gating", "adapter_layers", "adapter_len", "adapter vs full");
        Ablation.Run ref = runs.getFirst(), full = runs.getLast();
        assertThat(full.trainableParams()).isGreaterThan(100 * ref.trainableParams());
        assertThat(full.memoryBytes()).isGreaterThan(16 * full.trainableParams());
        assertThat(ref.memoryBytes()).isLessThan(full.memoryBytes());
        assertThat(runs.get(5).valLoss()).as("L=2 is the reference run, trained once").isEqualTo(ref.valLoss());
        String md = Files.readString(o.out().resolve("ablation.md"));
        assertThat(md).contains("| gating | zero-init gates |", "random-init gates", "| gating | per-layer gates |", "full fine-tuning", "held-out acc");
        assertThat(o.out().resolve("ablation.png")).isNotEmptyFile();
        assertThat(o.out().resolve("ablation-gating.png")).isNotEmptyFile();
    }
}

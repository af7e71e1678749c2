package dev.llamaadapter.cli;

import dev.llamaadapter.adapter.AdapterFile;
import dev.llamaadapter.io.SafeTensors;
import dev.llamaadapter.model.BaseModel;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import javax.imageio.ImageIO;
import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The multimodal commands as a user meets them: dump-step, train and generate with --vision, and their
 * errors (exit code 2, one message naming the file at fault).
 */
class MultimodalCliTest {
    static final Path CASE = Path.of("src/test/resources/parity/multimodal");
    static final Path TEXT_CASE = Path.of("src/test/resources/parity/mha-tanh");
    static final Path STORIES = Path.of("../shared/assets/stories260K/hf");

    @TempDir
    static Path tmp;

    record Run(int rc, String err) {}

    static Run run(String... args) {
        StringWriter err = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setErr(new PrintWriter(err));
        return new Run(cl.execute(args), err.toString());
    }

    static String fails(String... args) {
        Run r = run(args);
        assertThat(r.rc()).as(r.err()).isEqualTo(2);
        return r.err();
    }

    String[] dump(Path adapter, Path vision) {
        List<String> a = new ArrayList<>(List.of("dump-step", "--model", CASE.resolve("model").toString(), "--adapter", adapter.toString(),
                "--batch", CASE.resolve("batch.safetensors").toString(), "--out", tmp.resolve("out.safetensors").toString()));
        if (vision != null) a.addAll(List.of("--vision", vision.toString()));
        return a.toArray(String[]::new);
    }

    @Test
    void dumpStepRefusesMismatchedTowersAndAdapters() throws Exception {
        Path mm = CASE.resolve("adapter.safetensors");
        assertThat(fails(dump(mm, null))).contains(mm.toString()).contains("multimodal adapter").contains("--vision");
        assertThat(fails(dump(mm, CASE.resolve("model")))).contains("not a CLIP vision tower");
        // a tower of another width
        Path other = dev.llamaadapter.vision.TestClip.write(tmp.resolve("wide"), dev.llamaadapter.vision.TestClip.config(32, 8, 64, 3, 4, 96), 1);
        assertThat(fails(dump(mm, other))).contains("48 features").contains("64 wide");
        // a text-only adapter takes no tower
        Path text = tmp.resolve("text.safetensors");
        try (SafeTensors st = SafeTensors.open(mm)) {
            var w = new dev.llamaadapter.io.SafeTensorsWriter();
            for (String n : st.names()) if (!n.startsWith("visual_")) w.put(n, dev.llamaadapter.io.SafeTensorsWriter.Tensor.of(st.info(n)));
            w.metadata("adapter_len", "4").metadata("adapter_layers", "2").metadata("gate_activation", "tanh").write(text);
        }
        assertThat(fails(dump(text, CASE.resolve("vision")))).contains("text-only adapter");
        // a batch without pixel_values
        List<String> noPixels = new ArrayList<>(List.of(dump(mm, CASE.resolve("vision"))));
        noPixels.set(noPixels.indexOf("--batch") + 1, TEXT_CASE.resolve("batch.safetensors").toString());
        assertThat(fails(noPixels.toArray(String[]::new))).contains("pixel_values").contains("not found");
    }

    @Test
    void anAdapterWithOnlySomeVisualTensorsIsRefused() throws Exception {
        Path part = tmp.resolve("part.safetensors");
        try (SafeTensors st = SafeTensors.open(CASE.resolve("adapter.safetensors"))) {
            var w = new dev.llamaadapter.io.SafeTensorsWriter();
            for (String n : st.names()) if (!n.equals("visual_norm.bias")) w.put(n, dev.llamaadapter.io.SafeTensorsWriter.Tensor.of(st.info(n)));
            w.metadata(st.metadata()).write(part);
        }
        assertThat(fails(dump(part, CASE.resolve("vision")))).contains(part.toString()).contains("visual_norm.bias").contains("not found");
    }

    static Path image(String name, Color c) throws Exception {
        BufferedImage img = new BufferedImage(40, 36, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 36; y++) for (int x = 0; x < 40; x++) img.setRGB(x, y, (x > 8 && x < 30 && y > 6 ? c : Color.GRAY).getRGB());
        Path p = tmp.resolve(name);
        ImageIO.write(img, "png", p.toFile());
        return p;
    }

    @Test
    void trainGenerateAndTheirErrorsOnARealBase() throws Exception {
        assumeTrue(Files.isDirectory(STORIES), "../shared is absent");
        Path tower = dev.llamaadapter.vision.TestClip.write(tmp.resolve("tower"), dev.llamaadapter.vision.TestClip.config(32, 8, 48, 3, 4, 96), 2);
        image("red.png", Color.RED);
        image("blue.png", Color.BLUE);
        List<String> lines = new ArrayList<>();
        for (int i = 0; i < 24; i++) {
            String colour = i % 2 == 0 ? "red" : "blue";
            lines.add("{\"instruction\": \"What colour is the box?\", \"output\": \"The box is " + colour + ".\", \"image\": \"" + colour + ".png\"}");
        }
        Path data = tmp.resolve("boxes.jsonl");
        Files.write(data, lines);
        Path out = tmp.resolve("boxes.safetensors");
        String[] train = {"train", "--model", STORIES.toString(), "--data", data.toString(), "--out", out.toString(), "--vision", tower.toString(),
                "--visual-layers", "1,3", "--epochs", "2", "--batch-size", "8", "--micro-batch-size", "4", "--adapter-len", "4", "--val-split", "4",
                "--quiet"};
        Run r = run(train);
        assertThat(r.rc()).as(r.err()).isZero();
        try (BaseModel base = BaseModel.open(STORIES)) {
            var a = AdapterFile.read(out, base);
            assertThat(a.prompts().visual).isNotNull();
            assertThat(a.prompts().visual.visualLayers).containsExactly(1, 3);
            assertThat(a.metadata()).containsEntry("visual_layers", "1,3");
        }
        try (SafeTensors ck = SafeTensors.open(tmp.resolve("boxes.ckpt.safetensors"))) {
            assertThat(ck.names()).contains("param.visual_proj.weight", "optim.exp_avg.visual_norm.bias");
        }

        // generate: with an image, without one on purpose, and the mistakes
        Path red = tmp.resolve("red.png");
        String[] gen = {"generate", "--model", STORIES.toString(), "--adapter", out.toString(), "--instruction", "What colour is the box?",
                "--greedy", "--max-tokens", "4", "--json"};
        String text = generate(concat(gen, "--image", red.toString(), "--vision", tower.toString()));
        assertThat(text).contains("\"completion_tokens\"");
        assertThat(generate(concat(gen, "--no-image"))).contains("\"completion_tokens\"");
        assertThat(fails(gen)).contains("multimodal adapter").contains("--image");
        assertThat(fails(concat(gen, "--image", red.toString()))).contains("--vision");
        assertThat(fails(concat(gen, "--image", tmp.resolve("gone.png").toString(), "--vision", tower.toString()))).contains("gone.png");

        // a record whose image is missing is named with its line
        lines.set(5, lines.get(5).replace("blue.png", "lost.png"));
        Files.write(data, lines);
        String[] again = concat(train, "--overwrite"); // the run above left its checkpoint
        assertThat(fails(again)).contains("boxes.jsonl:6").contains("lost.png").contains("no such image");
        // an undecodable image
        Files.writeString(tmp.resolve("lost.png"), "text, not pixels");
        assertThat(fails(again)).contains("boxes.jsonl:6").contains("lost.png").contains("not an image");
    }

    @Test
    void scienceQaIsAnsweredWithThePictures() throws Exception {
        Path problems = Path.of("../shared/assets/scienceqa/problems_150.json");
        assumeTrue(Files.isDirectory(STORIES) && Files.isRegularFile(problems), "../shared is absent");
        Path tower = dev.llamaadapter.vision.TestClip.write(tmp.resolve("sqa-tower"), dev.llamaadapter.vision.TestClip.config(32, 8, 48, 3, 4, 96), 5);
        // a multimodal adapter for stories260K with live gates, so the pictures change the prompts
        Path adapter = tmp.resolve("sqa-mm.safetensors");
        try (BaseModel base = BaseModel.open(STORIES)) {
            var c = base.config();
            var p = dev.llamaadapter.model.AdaptionPrompts.init(4, 2, c.hiddenSize(), c.numAttentionHeads(), dev.llamaadapter.model.GateActivation.TANH, 1)
                    .withVisual(dev.llamaadapter.model.VisualProjection.init(new int[]{1, 3}, 96, c.hiddenSize(), 1));
            java.util.Arrays.fill(p.gate, 0.5f);
            AdapterFile.write(adapter, p, c.numHiddenLayers(), java.util.Map.of());
        }
        // pictures for the test split's problems that have one: <root>/test/<pid>/<image>
        Path root = tmp.resolve("sqa-images");
        int pictures = 0;
        for (var pr : dev.llamaadapter.eval.ScienceQaData.read(problems, null, null, null).split("test"))
            if (pr.image() != null) {
                Files.createDirectories(root.resolve("test").resolve(pr.pid()));
                ImageIO.write(new BufferedImage(20 + pictures, 16, BufferedImage.TYPE_INT_RGB), "png", root.resolve("test").resolve(pr.pid()).resolve(pr.image()).toFile());
                pictures++;
            }
        assertThat(pictures).isPositive();
        Path out = tmp.resolve("sqa.json");
        String[] eval = {"eval", "scienceqa", "--model", STORIES.toString(), "--adapter", adapter.toString(), "--data", problems.toString(),
                "--split", "test", "--limit", "12", "--max-tokens", "4", "--quiet"};
        assertThat(fails(eval)).contains("multimodal adapter").contains("--vision");
        assertThat(fails(concat(eval, "--vision", tower.toString()))).contains("--image-root");
        Run r = run(concat(eval, "--vision", tower.toString(), "--image-root", root.toString(), "--out", out.toString()));
        assertThat(r.rc()).as(r.err()).isZero();
        assertThat(Files.readString(out)).contains("\"images\"").contains("true");
    }

    /** generate's JSON output (stdout), failing with its error output when it does not succeed. */
    static String generate(String... args) {
        java.io.ByteArrayOutputStream buf = new java.io.ByteArrayOutputStream();
        StringWriter err = new StringWriter();
        CommandLine cl = Main.commandLine();
        cl.setErr(new PrintWriter(err));
        GenerateCommand g = cl.getSubcommands().get("generate").getCommand();
        g.out = new java.io.PrintStream(buf, true, java.nio.charset.StandardCharsets.UTF_8);
        int rc = cl.execute(args);
        assertThat(rc).as(err.toString()).isZero();
        return buf.toString(java.nio.charset.StandardCharsets.UTF_8);
    }

    static String[] concat(String[] a, String... more) {
        String[] out = java.util.Arrays.copyOf(a, a.length + more.length);
        System.arraycopy(more, 0, out, a.length, more.length);
        return out;
    }
}

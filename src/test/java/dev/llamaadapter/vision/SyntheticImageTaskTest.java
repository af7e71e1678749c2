package dev.llamaadapter.vision;

import dev.llamaadapter.data.Example;
import dev.llamaadapter.model.Activations;
import dev.llamaadapter.model.AdaptionPrompts;
import dev.llamaadapter.model.GateActivation;
import dev.llamaadapter.model.LlamaConfig;
import dev.llamaadapter.model.LlamaWeights;
import dev.llamaadapter.model.Transformer;
import dev.llamaadapter.model.VisualProjection;
import dev.llamaadapter.tensor.DType;
import dev.llamaadapter.train.TrainConfig;
import dev.llamaadapter.train.Trainer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A task only the image answers: the same question for every picture ("which colour is the shape?"),
 * pictures drawn here (a red, green or blue square or disc of random size and place on a grey, noisy
 * background), a random tiny CLIP tower and a random tiny LLaMA. After training the multimodal adapter,
 * held-out pictures are answered well above chance; with the pictures withheld every question looks
 * the same, so the answers fall to chance.
 */
class SyntheticImageTaskTest {
    static final Color[] COLOURS = {new Color(220, 30, 30), new Color(30, 200, 40), new Color(40, 60, 230)};
    static final int V = 32, ANSWER = 20; // answer tokens 20, 21, 22
    static final int[] QUESTION = {1, 5, 6, 7, 8};

    @TempDir
    Path tmp;

    Path draw(Random r, int colour, int n) throws Exception {
        BufferedImage img = new BufferedImage(48, 40, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 40; y++)
            for (int x = 0; x < 48; x++) {
                int g = 110 + r.nextInt(40);
                img.setRGB(x, y, new Color(g, g, g).getRGB());
            }
        Graphics2D gr = img.createGraphics();
        gr.setColor(COLOURS[colour]);
        int s = 10 + r.nextInt(12), x = 4 + r.nextInt(44 - s - 4), y = r.nextInt(40 - s);
        if (r.nextBoolean()) gr.fillRect(x, y, s, s);
        else gr.fillOval(x, y, s, s);
        gr.dispose();
        Path p = tmp.resolve("img" + n + ".png");
        ImageIO.write(img, "png", p.toFile());
        return p;
    }

    static Example example(int colour) {
        int T = QUESTION.length + 1;
        int[] ids = new int[T], labels = new int[T];
        System.arraycopy(QUESTION, 0, ids, 0, QUESTION.length);
        ids[T - 1] = ANSWER + colour;
        java.util.Arrays.fill(labels, -100);
        labels[T - 2] = ANSWER + colour; // only the answer is scored
        return new Example(ids, labels, false, "colour " + colour);
    }

    @Test
    void theImageTellsTheAnswer() throws Exception {
        Random r = new Random(7);
        try (ClipVision tower = ClipVision.open(TestClip.write(tmp.resolve("clip"), TestClip.config(32, 8, 48, 3, 4, 96), 3))) {
            int[] layers = {1, 2, 3};
            ImageFeatures cache = new ImageFeatures(tower, layers);
            List<Example> train = new ArrayList<>(), val = new ArrayList<>();
            List<float[]> trainF = new ArrayList<>(), valF = new ArrayList<>();
            int[] valColour = new int[60];
            for (int i = 0; i < 96 + 60; i++) {
                int c = i % 3;
                float[] f = cache.of(draw(r, c, i));
                if (i < 96) {
                    train.add(example(c));
                    trainF.add(f);
                } else {
                    valColour[i - 96] = c;
                    val.add(example(c));
                    valF.add(f);
                }
            }
            assertThat(cache.size()).isEqualTo(156);

            LlamaConfig cfg = LlamaConfig.of(32, 64, 2, 4, 4, V, false);
            Transformer model = new Transformer(cfg, LlamaWeights.random(cfg, DType.F32, 5, Arena.ofAuto()));
            AdaptionPrompts p = AdaptionPrompts.init(4, 2, 32, 4, GateActivation.TANH, 1)
                    .withVisual(VisualProjection.init(layers, cache.width(), 32, 1));
            TrainConfig tc = new TrainConfig(12, 1, 16, 8, 3e-2, 0, 0.02, 0.9, 0.95, 1e-8, 0, 4, 2, GateActivation.TANH,
                    64, 1, false, false, 0, 0);
            Trainer trainer = new Trainer(model, tc, train, List.of(), null, "test", row -> {}).images(trainF, List.of());
            trainer.run(p, false);

            double with = accuracy(model, p, val, valF, valColour, true), without = accuracy(model, p, val, valF, valColour, false);
            System.err.printf("synthetic colour task: held-out accuracy %.3f with images, %.3f without (chance 0.333)%n", with, without);
            assertThat(with).as("with images").isGreaterThan(0.85);
            assertThat(without).as("images withheld: chance").isCloseTo(1 / 3.0,
                    org.assertj.core.data.Offset.offset(0.01));
        }
    }

    @Test
    void aResumedMultimodalRunEqualsAnUninterruptedOne() throws Exception {
        Random r = new Random(9);
        try (ClipVision tower = ClipVision.open(TestClip.write(tmp.resolve("clip"), TestClip.config(32, 8, 48, 2, 4, 96), 4))) {
            int[] layers = {2, 1};
            ImageFeatures cache = new ImageFeatures(tower, layers);
            List<Example> train = new ArrayList<>(), val = new ArrayList<>();
            List<float[]> trainF = new ArrayList<>(), valF = new ArrayList<>();
            for (int i = 0; i < 24; i++) {
                train.add(example(i % 3));
                trainF.add(i % 5 == 4 ? null : cache.of(draw(r, i % 3, i))); // some records without an image
            }
            val.add(example(1));
            valF.add(cache.of(draw(r, 1, 99)));
            LlamaConfig cfg = LlamaConfig.of(32, 64, 2, 4, 4, V, false);
            Transformer model = new Transformer(cfg, LlamaWeights.random(cfg, DType.F32, 5, Arena.ofAuto()));
            TrainConfig tc = new TrainConfig(3, 1, 8, 4, 3e-2, 0, 0.02, 0.9, 0.95, 1e-8, 0, 4, 2, GateActivation.TANH,
                    64, 1, false, false, 1, 1);
            java.util.function.Supplier<AdaptionPrompts> fresh = () -> AdaptionPrompts.init(4, 2, 32, 4, GateActivation.TANH, 1)
                    .withVisual(VisualProjection.init(layers, cache.width(), 32, 1));
            AdaptionPrompts whole = fresh.get();
            new Trainer(model, tc, train, val, tmp.resolve("a.ckpt"), "test", row -> {}).images(trainF, valF).run(whole, false);

            Path ck = tmp.resolve("b.ckpt");
            AdaptionPrompts crashed = fresh.get();
            Trainer.Listener crashAt4 = new Trainer.Listener() {
                public void step(Trainer.StepRow row) {}

                public void checkpoint(long step, Path file) {
                    if (step == 4) throw new IllegalStateException("killed");
                }
            };
            try {
                new Trainer(model, tc, train, val, ck, "test", crashAt4).images(trainF, valF).run(crashed, false);
            } catch (IllegalStateException expected) {
                // the run stops right after its step-4 checkpoint
            }
            AdaptionPrompts resumed = fresh.get();
            new Trainer(model, tc, train, val, ck, "test", row -> {}).images(trainF, valF).run(resumed, true);
            assertThat(resumed.prompt).containsExactly(whole.prompt);
            assertThat(resumed.gate).containsExactly(whole.gate);
            assertThat(resumed.visual.weight).containsExactly(whole.visual.weight);
            assertThat(resumed.visual.normBias).containsExactly(whole.visual.normBias);
            // other images: the checkpoint belongs to another run
            List<float[]> otherF = new ArrayList<>(trainF);
            otherF.set(0, otherF.get(1));
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> new Trainer(model, tc, train, val, ck, "test", row -> {})
                    .images(otherF, valF).run(fresh.get(), true)).hasMessageContaining("different run");
        }
    }

    /** Share of examples whose most likely answer token is right, with or without their images. */
    static double accuracy(Transformer model, AdaptionPrompts p, List<Example> val, List<float[]> feats, int[] colour, boolean images) {
        int B = val.size(), T = QUESTION.length + 1, D = p.dim, W = p.visual.in;
        int[] ids = new int[B * T];
        float[] f = new float[B * W], tokens = new float[B * D];
        boolean[] has = new boolean[B];
        for (int b = 0; b < B; b++) {
            System.arraycopy(val.get(b).ids(), 0, ids, b * T, T);
            System.arraycopy(feats.get(b), 0, f, b * W, W);
            has[b] = images;
        }
        p.visual.forward(f, has, B, tokens, new VisualProjection.Saved(B, D));
        Activations a = model.activations(B, T, p, false, false);
        float[] logits = model.forward(a, ids, p, tokens);
        int right = 0;
        for (int b = 0; b < B; b++) {
            int o = (b * T + T - 2) * V + ANSWER, best = 0;
            for (int c = 1; c < 3; c++) if (logits[o + c] > logits[o + best]) best = c;
            if (best == colour[b]) right++;
        }
        return (double) right / B;
    }
}

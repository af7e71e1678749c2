package dev.llamaadapter.vision;

import dev.llamaadapter.model.Activations;
import dev.llamaadapter.model.AdaptionPrompts;
import dev.llamaadapter.model.BaseModel;
import dev.llamaadapter.model.GateActivation;
import dev.llamaadapter.model.Transformer;
import dev.llamaadapter.model.VisualProjection;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Random;

/**
 * Throughput of the multimodal pieces (not a test):
 * <ol>
 *   <li>CLIP feature extraction on a random ViT-B/16-shaped tower (12 layers, 768 wide, 224 px), images/s;</li>
 *   <li>a training step (forward + backward) on stories260K with and without visual tokens, same batch.</li>
 * </ol>
 * java --add-modules jdk.incubator.vector -cp target/classes:target/test-classes:$(cat target/cp.txt) dev.llamaadapter.vision.ClipVisionSpeed [images [vision]]
 */
public final class ClipVisionSpeed {
    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 16;
        Path dir = Files.createTempDirectory("vitb16");
        try {
            TestClip.write(dir, TestClip.config(224, 16, 768, 12, 12, 3072), 1);
            try (ClipVision tower = ClipVision.open(dir)) {
                float[] px = new float[n * 3 * 224 * 224];
                Random r = new Random(1);
                for (int i = 0; i < px.length; i++) px[i] = (float) r.nextGaussian();
                int[] layers = {4, 8, 12};
                tower.features(java.util.Arrays.copyOf(px, 8 * 3 * 224 * 224), 8, layers); // warm-up
                for (int rep = 0; rep < 2; rep++) {
                    long t0 = System.nanoTime();
                    tower.features(px, n, layers);
                    double s = (System.nanoTime() - t0) / 1e9;
                    System.out.printf(Locale.ROOT, "ViT-B/16 features (layers 4,8,12): %d images in %.2f s = %.2f images/s (%.1f GFLOP/s)%n",
                            n, s, n / s, n * 17.6 / s);
                }
            }
        } finally {
            try (var files = Files.list(dir)) {
                for (Path f : files.toList()) Files.delete(f);
            }
            Files.delete(dir);
        }

        Path stories = Path.of("../shared/assets/stories260K/hf");
        if (!Files.isDirectory(stories) || args.length > 1 && args[1].equals("vision")) return;
        try (BaseModel base = BaseModel.open(stories)) {
            Transformer t = base.transformer();
            int B = 4, T = 128, D = base.config().hiddenSize(), V = base.config().vocabSize(), W = 3 * 768;
            AdaptionPrompts text = AdaptionPrompts.init(10, 3, D, base.config().numAttentionHeads(), GateActivation.TANH, 1);
            for (int i = 0; i < text.gate.length; i++) text.gate[i] = 0.3f;
            AdaptionPrompts mm = text.withVisual(VisualProjection.init(new int[]{4, 8, 12}, W, D, 1));
            Random r = new Random(2);
            int[] ids = new int[B * T], labels = new int[B * T];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = r.nextInt(V);
                labels[i] = r.nextInt(V);
            }
            float[] feats = new float[B * W], tokens = new float[B * D];
            for (int i = 0; i < feats.length; i++) feats[i] = (float) r.nextGaussian();
            VisualProjection.Saved vs = new VisualProjection.Saved(B, D);
            for (AdaptionPrompts p : new AdaptionPrompts[]{text, mm, text, mm}) {
                Activations a = t.activations(B, T, p, true, false);
                AdaptionPrompts g = p.zerosLike();
                int steps = 200;
                long t0 = 0;
                for (int s = 0; s < steps + 50; s++) {
                    if (s == 50) t0 = System.nanoTime();
                    float[] tok = null;
                    if (p.visual != null) {
                        p.visual.forward(feats, null, B, tokens, vs);
                        tok = tokens;
                    }
                    t.forward(a, ids, p, tok);
                    t.backward(a, labels, p, g);
                    if (p.visual != null) p.visual.backward(feats, null, B, a.dVisual, vs, g.visual);
                }
                double ms = (System.nanoTime() - t0) / 1e6 / steps;
                System.out.printf(Locale.ROOT, "stories260K step [B=%d, T=%d] K=10 L=3 %s: %.2f ms%n", B, T,
                        p.visual == null ? "text-only         " : "multimodal (2304->64)", ms);
            }
        }
    }
}

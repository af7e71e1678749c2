package dev.llamaadapter.vision;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import javax.imageio.ImageIO;
import java.awt.Color;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** CLIP pre-processing: shapes, ranges, a bicubic pixel worked out by hand, the crop, grey and alpha inputs, errors. */
class ImagePreprocessorTest {
    static final Path IMAGES = Path.of("../shared/assets/images");

    @TempDir
    Path tmp;

    /** An 8-bit level as pixel_values, in the same float arithmetic as the pre-processor. */
    static float norm(int c, int v255) {
        return (v255 / 255f - ImagePreprocessor.MEAN[c]) / ImagePreprocessor.STD[c];
    }

    Path save(BufferedImage img, String name, String format) throws Exception {
        Path p = tmp.resolve(name);
        assertThat(ImageIO.write(img, format, p.toFile())).as("writer for " + format).isTrue();
        return p;
    }

    @ParameterizedTest
    @ValueSource(strings = {"astronaut.png", "camera.png", "chelsea.png", "coffee.png", "CLIP.png"})
    void theSharedImagesBecomeNormalisedSquares(String name) throws Exception {
        Path f = IMAGES.resolve(name);
        assumeTrue(Files.isRegularFile(f), "../shared is absent");
        float[] px = ImagePreprocessor.load(f, 224);
        assertThat(px).hasSize(3 * 224 * 224);
        for (int c = 0; c < 3; c++) {
            float lo = norm(c, 0), hi = norm(c, 255);
            double sum = 0, sq = 0;
            for (int i = 0; i < 224 * 224; i++) {
                float v = px[c * 224 * 224 + i];
                assertThat(v).isBetween(lo - 1e-5f, hi + 1e-5f);
                sum += v;
                sq += v * v;
            }
            double mean = sum / (224 * 224), sd = Math.sqrt(sq / (224 * 224) - mean * mean);
            assertThat(sd).as("channel %d is not flat", c).isGreaterThan(0.05);
        }
    }

    @Test
    void jpegAndBmpDecodeLikeThePng() throws Exception {
        Path f = IMAGES.resolve("chelsea.png");
        assumeTrue(Files.isRegularFile(f), "../shared is absent");
        BufferedImage src = ImageIO.read(f.toFile());
        BufferedImage rgb = new BufferedImage(src.getWidth(), src.getHeight(), BufferedImage.TYPE_INT_RGB);
        rgb.getGraphics().drawImage(src, 0, 0, null);
        float[] png = ImagePreprocessor.load(f, 64);
        float[] bmp = ImagePreprocessor.load(save(rgb, "c.bmp", "bmp"), 64);
        float[] jpg = ImagePreprocessor.load(save(rgb, "c.jpg", "jpg"), 64);
        assertThat(bmp).containsExactly(png);
        double diff = 0;
        for (int i = 0; i < png.length; i++) diff += Math.abs(jpg[i] - png[i]);
        assertThat(diff / png.length).as("JPEG is lossy, but close").isLessThan(0.1);
    }

    @Test
    void bicubicUpscalePixelWorkedOutByHand() throws Exception {
        // 2×2, left column 100, right column 200 (grey in RGB), to 4×4. Output column 0: centre 0.25 in the
        // input, taps at input 0 and 1 with PIL's bicubic (a = −0.5) weights k(0.25) = 0.8671875 and
        // k(1.25) = −0.0703125, normalised by their sum 0.796875: 100·1.0882353 − 200·0.0882353 = 91.18 → 91.
        // Rows are all alike, so the vertical pass keeps 91.
        BufferedImage img = new BufferedImage(2, 2, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 2; y++) {
            img.setRGB(0, y, new Color(100, 100, 100).getRGB());
            img.setRGB(1, y, new Color(200, 200, 200).getRGB());
        }
        float[] px = ImagePreprocessor.load(save(img, "two.png", "png"), 4);
        for (int c = 0; c < 3; c++) {
            assertThat(px[c * 16]).isCloseTo(norm(c, 91), within(1e-6f));
            assertThat(px[c * 16 + 3]).as("mirror pixel: 200·1.0882 − 100·0.0882 = 208.8 → 209").isCloseTo(norm(c, 209), within(1e-6f));
        }
    }

    @Test
    void shorterSideIsResizedThenTheCentreIsCropped() throws Exception {
        // 8 wide × 4 high, columns 0-1 red, 2-5 green, 6-7 blue; S = 4 needs no resize, the crop keeps columns 2..5
        BufferedImage img = new BufferedImage(8, 4, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 4; y++)
            for (int x = 0; x < 8; x++) img.setRGB(x, y, (x < 2 ? Color.RED : x < 6 ? Color.GREEN : Color.BLUE).getRGB());
        float[] px = ImagePreprocessor.load(save(img, "bands.png", "png"), 4);
        for (int i = 0; i < 16; i++) {
            assertThat(px[i]).isEqualTo(norm(0, 0));
            assertThat(px[16 + i]).isEqualTo(norm(1, 255));
            assertThat(px[32 + i]).isEqualTo(norm(2, 0));
        }
        // a 20 × 10 image to S = 5: the height halves, width 10, crop columns 2..6 (all green after resize? the
        // bands are wide enough that the centre stays pure green)
        BufferedImage big = new BufferedImage(20, 10, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 10; y++)
            for (int x = 0; x < 20; x++) big.setRGB(x, y, (x < 4 ? Color.RED : x < 16 ? Color.GREEN : Color.BLUE).getRGB());
        float[] p5 = ImagePreprocessor.load(save(big, "big.png", "png"), 5);
        assertThat(p5).hasSize(3 * 25);
        assertThat(p5[25 + 2 * 5 + 2]).isEqualTo(norm(1, 255));
    }

    @Test
    void greyImagesKeepTheirLevelsInEveryChannel() throws Exception {
        BufferedImage g = new BufferedImage(6, 6, BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < 6; y++) for (int x = 0; x < 6; x++) g.getRaster().setSample(x, y, 0, 128);
        float[] px = ImagePreprocessor.load(save(g, "grey.png", "png"), 6);
        for (int c = 0; c < 3; c++) assertThat(px[c * 36 + 7]).as("no gamma curve on grey").isEqualTo(norm(c, 128));
    }

    @Test
    void alphaIsCompositedOverWhite() throws Exception {
        BufferedImage a = new BufferedImage(4, 4, BufferedImage.TYPE_INT_ARGB);
        for (int y = 0; y < 4; y++)
            for (int x = 0; x < 4; x++) a.setRGB(x, y, x < 2 ? 0x00FF0000 : 0x80000000); // transparent red; half-transparent black
        float[] px = ImagePreprocessor.load(save(a, "alpha.png", "png"), 4);
        for (int c = 0; c < 3; c++) {
            assertThat(px[c * 16]).as("fully transparent → white").isEqualTo(norm(c, 255));
            assertThat(px[c * 16 + 3]).as("half black over white").isEqualTo(norm(c, 127));
        }
    }

    @Test
    void missingAndUndecodableImagesAreNamed() throws Exception {
        Path none = tmp.resolve("nope.png");
        assertThatThrownBy(() -> ImagePreprocessor.load(none, 8)).hasMessageContaining(none.toString()).hasMessageContaining("no such image");
        Path text = tmp.resolve("notes.png");
        Files.writeString(text, "not an image at all");
        assertThatThrownBy(() -> ImagePreprocessor.load(text, 8)).hasMessageContaining(text.toString()).hasMessageContaining("not an image");
    }
}

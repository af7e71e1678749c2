package dev.llamaadapter.vision;

import javax.imageio.ImageIO;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.Raster;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * CLIP's image pre-processing (spec §5), as Hugging Face's CLIPImageProcessor does it: to RGB (alpha
 * composited over white, grey replicated), resize so the shorter side is S with PIL's bicubic filter
 * (a = −0.5, widened when shrinking so it antialiases; 8-bit rounding after each pass, as PIL), centre
 * crop S×S, scale to [0, 1] and normalise per channel. Decoding uses the JDK's ImageIO (PNG, JPEG, BMP,
 * GIF, WBMP).
 */
public final class ImagePreprocessor {
    private ImagePreprocessor() {}

    public static final float[] MEAN = {0.48145466f, 0.4578275f, 0.40821073f};
    public static final float[] STD = {0.26862954f, 0.26130258f, 0.27577711f};

    /** The image at path as pixel_values [3, S, S]; every error names the file. */
    public static float[] load(Path image, int size) throws IOException {
        if (size <= 0) throw new IllegalArgumentException("image size must be positive, got " + size);
        if (!Files.isRegularFile(image)) throw new IOException(image + ": no such image file");
        BufferedImage img;
        try {
            img = ImageIO.read(image.toFile());
        } catch (IOException | RuntimeException e) {
            throw new IOException(image + ": cannot decode the image (" + e.getMessage() + ")", e);
        }
        if (img == null) throw new IOException(image + ": not an image this reader decodes (PNG, JPEG, BMP or GIF expected)");
        if (img.getWidth() <= 0 || img.getHeight() <= 0) throw new IOException(image + ": the image is empty");
        return preprocess(rgb(img), img.getWidth(), img.getHeight(), size);
    }

    /**
     * The image as 8-bit RGB planes [3, h, w]. Grey images are read from their raster, since ImageIO's
     * getRGB would pass a linear grey through a gamma curve; alpha is composited over white, as
     * transformers' convert_to_rgb does.
     */
    static int[] rgb(BufferedImage img) {
        int w = img.getWidth(), h = img.getHeight(), n = w * h;
        int[] out = new int[3 * n];
        var cm = img.getColorModel();
        if (cm.getColorSpace().getType() == ColorSpace.TYPE_GRAY && cm.getNumColorComponents() == 1) {
            Raster r = img.getRaster();
            int bits = cm.getComponentSize(0), max = (1 << bits) - 1;
            boolean alpha = cm.hasAlpha() && r.getNumBands() > 1;
            int amax = alpha ? (1 << cm.getComponentSize(1)) - 1 : 1;
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) {
                    double g = r.getSample(x, y, 0) * 255.0 / max;
                    if (alpha) {
                        double a = r.getSample(x, y, 1) / (double) amax;
                        g = g * a + 255 * (1 - a);
                    }
                    int gi = (int) Math.round(g);
                    out[y * w + x] = out[n + y * w + x] = out[2 * n + y * w + x] = gi;
                }
            return out;
        }
        int[] argb = img.getRGB(0, 0, w, h, null, 0, w);
        for (int i = 0; i < n; i++) {
            int px = argb[i], a = px >>> 24;
            int r = (px >> 16) & 255, g = (px >> 8) & 255, b = px & 255;
            if (a != 255) { // over a white background
                r = (r * a + 255 * (255 - a) + 127) / 255;
                g = (g * a + 255 * (255 - a) + 127) / 255;
                b = (b * a + 255 * (255 - a) + 127) / 255;
            }
            out[i] = r;
            out[n + i] = g;
            out[2 * n + i] = b;
        }
        return out;
    }

    /** 8-bit RGB planes [3, h, w] → pixel_values [3, S, S]. */
    static float[] preprocess(int[] rgb, int w, int h, int S) {
        // shorter side to S, the longer one scaled and truncated, as transformers computes it
        int nw, nh;
        if (w <= h) {
            nw = S;
            nh = Math.max(S, (int) ((long) S * h / w));
        } else {
            nh = S;
            nw = Math.max(S, (int) ((long) S * w / h));
        }
        int[] planes = resize(rgb, w, h, nw, nh);
        int top = (nh - S) / 2, left = (nw - S) / 2;
        float[] out = new float[3 * S * S];
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < S; y++)
                for (int x = 0; x < S; x++) {
                    float v = planes[(c * nh + top + y) * nw + left + x] / 255f;
                    out[(c * S + y) * S + x] = (v - MEAN[c]) / STD[c];
                }
        return out;
    }

    /** PIL's separable resampling: horizontal pass, then vertical, each rounded and clipped to 8 bits. */
    static int[] resize(int[] rgb, int w, int h, int nw, int nh) {
        int[] cur = rgb;
        if (nw != w) cur = pass(cur, w, h, nw, true);
        if (nh != h) cur = pass(cur, nw, h, nh, false);
        return cur;
    }

    /** One axis: src planes [3, h, w] to [3, h, outLen] (horizontal) or [3, outLen, w] (vertical). */
    private static int[] pass(int[] src, int w, int h, int outLen, boolean horizontal) {
        int inLen = horizontal ? w : h;
        double scale = (double) inLen / outLen, filterScale = Math.max(scale, 1.0), support = 2.0 * filterScale;
        int ow = horizontal ? outLen : w, oh = horizontal ? h : outLen;
        int[] dst = new int[3 * ow * oh];
        for (int o = 0; o < outLen; o++) {
            double center = (o + 0.5) * scale;
            int lo = Math.max((int) (center - support + 0.5), 0), hi = Math.min((int) (center + support + 0.5), inLen);
            double[] k = new double[hi - lo];
            double sum = 0;
            for (int i = lo; i < hi; i++) sum += k[i - lo] = bicubic((i - center + 0.5) / filterScale);
            for (int i = 0; i < k.length; i++) k[i] /= sum;
            for (int c = 0; c < 3; c++) {
                int across = horizontal ? h : w;
                for (int a = 0; a < across; a++) {
                    double s = 0;
                    for (int i = lo; i < hi; i++)
                        s += k[i - lo] * (horizontal ? src[(c * h + a) * w + i] : src[(c * h + i) * w + a]);
                    int v = (int) Math.max(0, Math.min(255, Math.round(s)));
                    if (horizontal) dst[(c * oh + a) * ow + o] = v;
                    else dst[(c * oh + o) * ow + a] = v;
                }
            }
        }
        return dst;
    }

    /** PIL's bicubic kernel, a = −0.5. */
    static double bicubic(double x) {
        double a = -0.5;
        x = Math.abs(x);
        if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
        if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
        return 0;
    }
}

package dev.llamaadapter.vision;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;

/**
 * CLIP features of images, computed once per distinct file and kept: a training run reads each image's
 * features from here every epoch, and the tower runs over several images per pass.
 */
public final class ImageFeatures {
    private final ClipVision tower;
    private final int[] visualLayers;
    private final Map<Path, float[]> cache = new LinkedHashMap<>();
    private long computeNanos;

    public ImageFeatures(ClipVision tower, int[] visualLayers) {
        tower.checkLayers(visualLayers);
        this.tower = tower;
        this.visualLayers = visualLayers.clone();
    }

    /** Width of one image's features: visual layers × the tower's width. */
    public int width() {
        return visualLayers.length * tower.hiddenSize();
    }

    /** The features [M·Cv] of one image (from the cache when seen before). */
    public synchronized float[] of(Path image) throws IOException {
        Path key = image.toAbsolutePath().normalize();
        float[] f = cache.get(key);
        if (f == null) {
            computeAll(List.of(key));
            f = cache.get(key);
        }
        return f;
    }

    /** Computes the features of every image not yet cached, several per pass through the tower. */
    public synchronized void computeAll(Collection<Path> images) throws IOException {
        List<Path> missing = new ArrayList<>();
        for (Path p : new LinkedHashSet<>(images)) {
            Path key = p.toAbsolutePath().normalize();
            if (!cache.containsKey(key) && !missing.contains(key)) missing.add(key);
        }
        int S = tower.imageSize(), per = 3 * S * S, W = width();
        for (int i = 0; i < missing.size(); i += ClipVision.CHUNK) {
            int n = Math.min(ClipVision.CHUNK, missing.size() - i);
            float[] pixels = new float[n * per]; // [n, 3, S, S]
            for (int b = 0; b < n; b++) System.arraycopy(ImagePreprocessor.load(missing.get(i + b), S), 0, pixels, b * per, per);
            long t0 = System.nanoTime();
            float[] f = tower.features(pixels, n, visualLayers);
            computeNanos += System.nanoTime() - t0;
            for (int b = 0; b < n; b++) cache.put(missing.get(i + b), java.util.Arrays.copyOfRange(f, b * W, (b + 1) * W));
        }
    }

    /** Distinct images computed so far. */
    public synchronized int size() {
        return cache.size();
    }

    /** Seconds spent in the tower (decoding and pre-processing excluded). */
    public synchronized double towerSeconds() {
        return computeNanos / 1e9;
    }
}

package dev.llamaadapter.bench;

import dev.llamaadapter.tensor.Parallel;
import dev.llamaadapter.tensor.Vec;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * The machine's memory bandwidth as this process sees it, for the decoding bound (a decode step reads every
 * weight once): a copy of a buffer far larger than the caches, split over the pool's threads, counted as
 * STREAM counts "Copy" (bytes read + bytes written), and a read-only stream (a vector sum over the buffer),
 * read two ways: one sequential stream per task, and four streams per task interleaved (four regions read side by
 * side, which keeps more cache-line misses in flight than one stream and its prefetcher do); the faster counts.
 * Best of a few repetitions, after one untimed pass that faults the pages in.
 */
public final class MemoryBandwidth {
    private MemoryBandwidth() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final ValueLayout.OfFloat F = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** GB/s of copy (read + written bytes) and of read-only streaming. */
    public record Figures(double copyGBps, double readGBps) {}

    /** Measures over two buffers of `bytes` each (256 MB is far past any L3 here). */
    public static Figures measure(long bytes, int reps) {
        try (Arena arena = Arena.ofShared()) {
            MemorySegment src = arena.allocate(bytes, 64), dst = arena.allocate(bytes, 64); // [bytes] each
            src.fill((byte) 1);
            dst.fill((byte) 2);
            int parts = Parallel.THREADS * 4;
            long chunk = bytes / parts / 64 * 64;
            double bestCopy = Double.MAX_VALUE, bestRead = Double.MAX_VALUE;
            float[] sink = new float[parts]; // [parts] per-chunk sums, so the reads cannot be dropped
            for (int r = -1; r < reps; r++) {
                long t0 = System.nanoTime();
                Parallel.forRange(parts, parts, (lo, hi) -> {
                    for (int p = lo; p < hi; p++) MemorySegment.copy(src, p * chunk, dst, p * chunk, chunk);
                });
                long t1 = System.nanoTime();
                Parallel.forRange(parts, parts, (lo, hi) -> {
                    for (int p = lo; p < hi; p++) sink[p] = sum(src, p * chunk, chunk);
                });
                long t2 = System.nanoTime();
                Parallel.forRange(parts, parts, (lo, hi) -> {
                    for (int p = lo; p < hi; p++) sink[p] += sum4(src, p * chunk, chunk);
                });
                long t3 = System.nanoTime();
                if (r >= 0) {
                    bestCopy = Math.min(bestCopy, t1 - t0);
                    bestRead = Math.min(bestRead, Math.min(t2 - t1, t3 - t2));
                }
            }
            if (Float.isNaN(sink[0])) throw new IllegalStateException(); // keeps the sums alive
            long moved = chunk * parts;
            return new Figures(2.0 * moved / bestCopy, (double) moved / bestRead);
        }
    }

    /** Σ of the floats in [off, off + n) bytes read as four quarter-length streams side by side. */
    private static float sum4(MemorySegment s, long off, long n) {
        long q = n / 4 / 64 * 64, step = S.vectorByteSize();
        FloatVector a = FloatVector.zero(S), b = a, c = a, d = a;
        long i = 0;
        for (; i + step <= q; i += step) {
            a = a.add(FloatVector.fromMemorySegment(S, s, off + i, ByteOrder.LITTLE_ENDIAN));
            b = b.add(FloatVector.fromMemorySegment(S, s, off + q + i, ByteOrder.LITTLE_ENDIAN));
            c = c.add(FloatVector.fromMemorySegment(S, s, off + 2 * q + i, ByteOrder.LITTLE_ENDIAN));
            d = d.add(FloatVector.fromMemorySegment(S, s, off + 3 * q + i, ByteOrder.LITTLE_ENDIAN));
        }
        return Vec.sum(a.add(b).add(c.add(d))) + sum(s, off + 4 * q, n - 4 * q);
    }

    /** Σ of the floats in [off, off + n) bytes, four vectors in flight. */
    private static float sum(MemorySegment s, long off, long n) {
        FloatVector a = FloatVector.zero(S), b = a, c = a, d = a;
        long step = S.vectorByteSize(), end = off + n - 4 * step;
        long i = off;
        for (; i <= end; i += 4 * step) {
            a = a.add(FloatVector.fromMemorySegment(S, s, i, ByteOrder.LITTLE_ENDIAN));
            b = b.add(FloatVector.fromMemorySegment(S, s, i + step, ByteOrder.LITTLE_ENDIAN));
            c = c.add(FloatVector.fromMemorySegment(S, s, i + 2 * step, ByteOrder.LITTLE_ENDIAN));
            d = d.add(FloatVector.fromMemorySegment(S, s, i + 3 * step, ByteOrder.LITTLE_ENDIAN));
        }
        float t = Vec.sum(a.add(b).add(c.add(d)));
        for (; i + 4 <= off + n; i += 4) t += s.get(F, i);
        return t;
    }
}

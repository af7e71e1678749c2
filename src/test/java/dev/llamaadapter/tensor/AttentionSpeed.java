package dev.llamaadapter.tensor;

import java.util.Random;

/**
 * Throughput of the token branch of {@link Attention} (a main, not a test) per form (per-token rows or
 * tiled) and sequence length,
 * on tinyllama's heads (H = 32, Hkv = 4, hd = 64, B = 1: B·H = 32), no prompt branch. This is how
 * {@link Attention#TILED_MIN_T} was chosen.
 *
 * <p>Flops are the causal ones, whatever a path computes: forward 2·T²·hd per head (q·kᵀ and P·v over the
 * T²/2 unmasked pairs), backward 4·T²·hd per head (dP, dv, dq, dk; the tiled path's recomputation of the
 * scores is not counted), so GFLOP/s compare paths as inverse times.
 *
 * <pre>
 * ./build -q test-compile
 * java --add-modules jdk.incubator.vector -cp target/classes:target/test-classes dev.llamaadapter.tensor.AttentionSpeed [T ...]
 * </pre>
 */
public final class AttentionSpeed {
    private AttentionSpeed() {}

    public static void main(String[] args) {
        int B = 1, H = 32, Hkv = 4, hd = 64;
        int[] ts = args.length > 0 ? java.util.Arrays.stream(args).mapToInt(Integer::parseInt).toArray()
                : new int[] {64, 128, 256, 512, 1024};
        Random r = new Random(1);
        System.out.printf("threads %d, B=%d H=%d Hkv=%d hd=%d, no prompt branch%n", Parallel.THREADS, B, H, Hkv, hd);
        for (int round = 0; round < 2; round++) { // round 0 warms every path up at every length (C2), unprinted
            if (round == 1) run(B, H, Hkv, hd, ts, r, 0.8, true);
            else run(B, H, Hkv, hd, ts, r, 0.1, false);
        }
    }

    private static void run(int B, int H, int Hkv, int hd, int[] ts, Random r, double budget, boolean print) {
        for (int T : ts) {
            int M = B * T, qw = H * hd, kw = Hkv * hd;
            float[] q = MatmulSpeed.rand(r, M * qw), k = MatmulSpeed.rand(r, M * kw), v = MatmulSpeed.rand(r, M * kw);
            float[] dout = MatmulSpeed.rand(r, M * qw), out = new float[M * qw];
            float[] dq = new float[M * qw], dk = new float[M * kw], dv = new float[M * kw];
            double fwdFlop = 2.0 * B * H * T * (double) T * hd, bwdFlop = 2 * fwdFlop;
            StringBuilder line = new StringBuilder(String.format("T=%5d", T));
            for (boolean tiled : new boolean[] {false, true}) {
                float[] saved = new float[(int) (tiled ? TiledAttention.savedFloats(B, T, H, hd) : (long) B * H * T * T)];
                Attention att = new Attention(B, T, H, Hkv, hd, 0);
                double f = MatmulSpeed.time(() -> {
                    if (tiled) att.forwardTiled(q, k, v, out, saved, null, null, null, null, null);
                    else att.forwardByRows(q, k, v, out, saved, null, null, null, null, null);
                }, budget);
                double b = MatmulSpeed.time(() -> {
                    if (tiled) att.backwardTiled(q, k, v, saved, dout, dq, dk, dv, null, null, null, null, null, null, null, null);
                    else att.backwardByRows(q, k, v, saved, dout, dq, dk, dv, null, null, null, null, null, null, null, null);
                }, budget);
                line.append(String.format("  %s fwd %6.1f GFLOP/s (%8.3f ms) bwd %6.1f GFLOP/s (%8.3f ms) saved %6.1f MB",
                        tiled ? "tiled" : "rows", fwdFlop / f * 1e-9, f * 1e3, bwdFlop / b * 1e-9, b * 1e3, 4.0 * saved.length / 1e6));
            }
            if (print) System.out.println(line);
        }
    }
}

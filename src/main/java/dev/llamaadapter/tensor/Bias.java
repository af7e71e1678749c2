package dev.llamaadapter.tensor;

/** The bias of a Linear layer over rows: y[m, :] += b, and its gradient db += Σ_m dy[m, :]. */
public final class Bias {
    private Bias() {}

    /** y [M, N] += b [N] per row. */
    public static void add(float[] y, float[] b, int M, int N) {
        Parallel.forRange(M, (lo, hi) -> {
            for (int m = lo; m < hi; m++) Vec.add(b, 0, y, m * N, N);
        });
    }

    /** db [N] += Σ_m dy[m, :], rows in order (deterministic). */
    public static void backwardAccumulate(float[] dy, int M, int N, float[] db) {
        for (int m = 0; m < M; m++) Vec.add(dy, m * N, db, 0, N);
    }
}

package dev.llamaadapter.tensor;

/** Plain double-precision twins of {@link Matmul}, written for clarity only; tests compare against them. */
final class ScalarMatmul {
    private ScalarMatmul() {}

    /** y[m, n] = (accumulate ? y0[m, n] : 0) + Σ_k x[m, k] · w[n, k]. */
    static double[] xwT(float[] x, int M, WeightMatrix w, float[] y0, boolean accumulate) {
        int N = w.rows(), K = w.cols();
        double[] y = new double[M * N];
        for (int m = 0; m < M; m++)
            for (int n = 0; n < N; n++) {
                double s = accumulate ? y0[m * N + n] : 0;
                for (int k = 0; k < K; k++) s += (double) x[m * K + k] * w.get(n, k);
                y[m * N + n] = s;
            }
        return y;
    }

    /** dx[m, k] = (accumulate ? dx0[m, k] : 0) + Σ_n dy[m, n] · w[n, k]. */
    static double[] xw(float[] dy, int M, WeightMatrix w, float[] dx0, boolean accumulate) {
        int N = w.rows(), K = w.cols();
        double[] dx = new double[M * K];
        for (int m = 0; m < M; m++)
            for (int k = 0; k < K; k++) {
                double s = accumulate ? dx0[m * K + k] : 0;
                for (int n = 0; n < N; n++) s += (double) dy[m * N + n] * w.get(n, k);
                dx[m * K + k] = s;
            }
        return dx;
    }

    /** dW[n, k] = dW0[n, k] + Σ_m dy[m, n] · x[m, k]. */
    static double[] weightGrad(float[] dy, float[] x, int M, int N, int K, float[] dW0) {
        double[] dW = new double[N * K];
        for (int n = 0; n < N; n++)
            for (int k = 0; k < K; k++) {
                double s = dW0[n * K + k];
                for (int m = 0; m < M; m++) s += (double) dy[m * N + n] * x[m * K + k];
                dW[n * K + k] = s;
            }
        return dW;
    }
}

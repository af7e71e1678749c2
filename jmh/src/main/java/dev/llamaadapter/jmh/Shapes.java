package dev.llamaadapter.jmh;

/** The shapes every benchmark here runs, and the work (FLOPs or bytes) of one operation of each. */
final class Shapes {
    private Shapes() {}

    // matmul: a tinyllama-sized projection over a training batch (the DESIGN's 512 x 2048 x 2048)
    static final int MM_M = 512, MM_N = 2048, MM_K = 2048;
    // decoding: one token through tinyllama's gate projection [5632, 2048]
    static final int DEC_N = 5632, DEC_K = 2048;
    // element-wise kernels on a tinyllama step: M = 256 rows of D = 2048 (F = 5632), 32 heads of 64, vocab 32000
    static final int EW_M = 256, EW_D = 2048, EW_F = 5632, EW_H = 32, EW_HD = 64, EW_V = 32000;
    // attention: one tinyllama layer's step (B 1, T 256, 32 heads over 4 kv heads, K 10 prompts)
    static final int AT_B = 1, AT_T = 256, AT_H = 32, AT_HKV = 4, AT_HD = 64, AT_K = 10;
    // peak loops
    static final int FMA_ITERS = 1 << 20;
    static final long COPY_BYTES = 256L << 20;

    /** FLOPs (when flops) or bytes moved of one operation of benchmark `method` of class `cls`. */
    static double work(String cls, String method, String dtype) {
        int wb = "BF16".equals(dtype) ? 2 : "Q8_0".equals(dtype) ? 0 : 4;
        return switch (cls + "." + method) {
            case "MatmulBench.xwT", "MatmulBench.xw", "MatmulBench.weightGrad" -> 2.0 * MM_M * MM_N * MM_K;
            case "DecodeBench.xwT" -> "Q8_0".equals(dtype) ? DEC_N * (DEC_K / 32.0) * 34 : (double) DEC_N * DEC_K * wb;
            case "ElementwiseBench.rmsNorm" -> 2.0 * EW_M * EW_D * 4;
            case "ElementwiseBench.swiGlu" -> 3.0 * EW_M * EW_F * 4;
            case "ElementwiseBench.rope" -> 2.0 * EW_M * EW_H * EW_HD * 4;
            case "ElementwiseBench.crossEntropy" -> 2.0 * EW_M * EW_V * 4;
            // causal: T²/2 scores per head, each a dot of hd (2·hd FLOPs) and a weighted sum of hd (2·hd); backward about twice
            case "AttentionBench.forward" -> 2.0 * AT_B * AT_H * AT_T * (double) AT_T * AT_HD;
            case "AttentionBench.backward" -> 4.0 * AT_B * AT_H * AT_T * (double) AT_T * AT_HD;
            case "PeakBench.fma" -> 2.0 * 12 * FMA_ITERS * jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.length()
                    * dev.llamaadapter.tensor.Parallel.THREADS;
            case "PeakBench.copy" -> 2.0 * COPY_BYTES;
            default -> Double.NaN;
        };
    }

    /** Whether work() counts FLOPs (else bytes). */
    static boolean flops(String cls, String method) {
        return cls.equals("MatmulBench") || cls.equals("AttentionBench") || (cls + "." + method).equals("PeakBench.fma");
    }
}

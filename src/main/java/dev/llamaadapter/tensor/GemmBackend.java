package dev.llamaadapter.tensor;

import java.util.Locale;

/**
 * Where the large matrix products run: the pure-Java kernels of {@link Matmul} (always there, the default),
 * or a native library reached through FFM (today oneDNN, see {@link OneDnn}; a cuBLAS backend would plug in
 * here the same way). {@link Matmul#xwT}, {@link Matmul#xw} and {@link Matmul#weightGrad} ask the current
 * backend first; a backend returns false for any product it does not take (a dtype it cannot read, too few
 * rows to be worth a call) and the Java kernels run it instead, so every call has an answer either way.
 *
 * <p>Chosen once, at first use, by the system property {@code llamaadapter.gemm} or else the environment
 * variable {@code LLAMA_ADAPTER_GEMM}: {@code java} (default), {@code onednn} (fp32 products: F32 weights
 * by {@code dnnl_sgemm}, same accuracy as Java), {@code onednn-bf16} (also BF16 weights by
 * {@code dnnl_gemm_bf16bf16f32}, which rounds the activations to bf16: faster, about 3 significant digits
 * instead of 7, as torch's bf16 autocast; opt-in for that reason), {@code int8} (GGUF Q8_0, Q4_0, Q4_K, Q5_K, Q6_K
 * weights times activations quantised to int8 per block of 32, integer dot products in native kernels
 * compiled on first use, see {@link Int8Dot}: llama.cpp's method and speed class, not exact, opt-in). A named native backend whose library is
 * absent falls back to Java with one line on stderr; {@link #name()} says which one ran.
 */
public interface GemmBackend {

    /** The name bench prints: java, onednn, onednn-bf16, int8. */
    String name();

    /** y[M, N] (+)= x[M, K] · wᵀ, as {@link Matmul#xwT}; false when this backend does not take it. */
    boolean xwT(float[] x, int M, WeightMatrix w, float[] y, boolean accumulate);

    /** dx[M, K] (+)= dy[M, N] · w, as {@link Matmul#xw}; false when this backend does not take it. */
    boolean xw(float[] dy, int M, WeightMatrix w, float[] dx, boolean accumulate);

    /** dW[N, K] += dyᵀ · x over M rows, as {@link Matmul#weightGrad}; false when this backend does not take it. */
    boolean weightGrad(float[] dy, float[] x, int M, int N, int K, float[] dW);

    /** The pure-Java kernels: takes nothing, so Matmul runs its own code. */
    GemmBackend JAVA = new GemmBackend() {
        public String name() { return "java"; }
        public boolean xwT(float[] x, int M, WeightMatrix w, float[] y, boolean accumulate) { return false; }
        public boolean xw(float[] dy, int M, WeightMatrix w, float[] dx, boolean accumulate) { return false; }
        public boolean weightGrad(float[] dy, float[] x, int M, int N, int K, float[] dW) { return false; }
    };

    /** The backend Matmul uses now. */
    static GemmBackend current() {
        return Holder.current;
    }

    /** Switches backend by name (java, onednn, onednn-bf16, int8, or a chain such as int8+onednn-bf16); returns the one in use, Java when the library is absent. */
    static GemmBackend use(String name) {
        Holder.current = byName(name);
        return Holder.current;
    }

    /**
     * The backend of that name, or Java (with a line on stderr) when its library cannot be loaded. Names joined by
     * '+' chain backends: each product goes to the first that takes it ({@code int8+onednn-bf16}: quantised
     * decoding on the int8 kernels, prompts on oneDNN's bf16 GEMM), then to the Java kernels.
     */
    static GemmBackend byName(String name) {
        String n = name == null ? "java" : name.trim().toLowerCase(Locale.ROOT);
        if (n.contains("+")) {
            java.util.List<GemmBackend> parts = new java.util.ArrayList<>();
            for (String part : n.split("\\+")) {
                GemmBackend b = byName(part);
                if (b != JAVA) parts.add(b);
            }
            return parts.isEmpty() ? JAVA : parts.size() == 1 ? parts.getFirst() : new Chain(java.util.List.copyOf(parts));
        }
        return switch (n) {
            case "", "java" -> JAVA;
            case "onednn", "onednn-bf16" -> {
                if (!OneDnn.available()) {
                    System.err.println("gemm backend " + n + ": " + OneDnn.unavailableReason() + "; using the Java kernels");
                    yield JAVA;
                }
                yield n.equals("onednn") ? OneDnn.FP32 : OneDnn.BF16;
            }
            case "int8" -> {
                if (!Int8Dot.available()) {
                    System.err.println("gemm backend int8: " + Int8Dot.unavailableReason() + "; using the Java kernels");
                    yield JAVA;
                }
                yield Int8Dot.INSTANCE;
            }
            default -> throw new IllegalArgumentException("unknown gemm backend '" + name + "' (java, onednn, onednn-bf16, int8)");
        };
    }

    /** Backends tried in order for each product; the Java kernels after the last. */
    record Chain(java.util.List<GemmBackend> parts) implements GemmBackend {
        public String name() {
            return String.join("+", parts.stream().map(GemmBackend::name).toList());
        }

        public boolean xwT(float[] x, int M, WeightMatrix w, float[] y, boolean accumulate) {
            for (GemmBackend b : parts) if (b.xwT(x, M, w, y, accumulate)) return true;
            return false;
        }

        public boolean xw(float[] dy, int M, WeightMatrix w, float[] dx, boolean accumulate) {
            for (GemmBackend b : parts) if (b.xw(dy, M, w, dx, accumulate)) return true;
            return false;
        }

        public boolean weightGrad(float[] dy, float[] x, int M, int N, int K, float[] dW) {
            for (GemmBackend b : parts) if (b.weightGrad(dy, x, M, N, K, dW)) return true;
            return false;
        }
    }

    /** Lazily holds the selection so that nothing native is touched unless asked for. */
    final class Holder {
        private Holder() {}

        static volatile GemmBackend current = byName(System.getProperty("llamaadapter.gemm", System.getenv("LLAMA_ADAPTER_GEMM")));
    }
}

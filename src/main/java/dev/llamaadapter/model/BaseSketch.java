package dev.llamaadapter.model;

import dev.llamaadapter.io.TensorSource;
import dev.llamaadapter.tensor.WeightMatrix;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.WeakHashMap;

/**
 * The base model's identity by its weights, where {@link BaseModel#fingerprint()} only sees the
 * architecture. Per tensor kind (embedding, q, k, v, o, gate, up, down, the two per-layer norms, the final
 * norm, an untied head) up to {@value #ROWS} logical rows are drawn by a fixed seed from all layers,
 * dequantised through {@link WeightMatrix#row} (so F32, F16, BF16, Q8_0, Q4_0 and the GGUF q/k row order
 * all give the same logical rows), centred, and projected to {@value #P} numbers: each element, by a fixed
 * hash of its kind, row and column, is added with a ± sign to one of the {@value #P} sums (a count sketch,
 * which keeps inner products as a dense random projection does, at one addition per element). Only the
 * drawn rows are read: a 7B model costs a few hundred rows per kind, never a whole tensor.
 *
 * <p>Two sketches compare by {@link #compare}: per kind 2·a·b / (|a|² + |b|²), which is the cosine when
 * the norms agree, falls when they do not, and is 1 only for equal sketches; the weakest kind is the
 * similarity. The same model in another dtype stays near 1 (quantisation noise of relative size ε costs
 * about ε²/2); an unrelated model of the same shape is near 0. Beside it, {@link #exact()} hashes the
 * drawn rows' dequantised bits: equal only for bit-identical weights in those rows (resume needs that).
 *
 * <p>Deterministic across runs and machines: the seeds are constants, the hash is SplitMix64, the sums
 * run in double in one fixed order, and the values are stored as float32 bits.
 */
public final class BaseSketch {
    /** The encoding's version tag; a sketch of another version is not compared (see {@link #decode}). */
    public static final String VERSION = "bs1";
    /** Rows drawn per kind, and numbers each kind is projected to (a power of two: the hash's low bits pick the sum). */
    static final int ROWS = 256, P = 32;
    /**
     * Accepted as the same base from this similarity up. Measured on stories260K (README): another dtype
     * or format ≥ 0.99 (Q4_0 0.9927), random weights of its shape below 0 in the weakest kind and at most
     * 0.21 in any. 0.9 allows a relative weight difference up to about 0.45 in the weakest kind, well
     * beyond Q4_0's ≈ 0.12, and sits far above the projection's noise for unrelated weights (1/√32 ≈ 0.18
     * per kind), where every kind would have to pass.
     */
    public static final double THRESHOLD = 0.9;

    private static final long SEED = 0x6c6c616d61616461L; // fixed forever for version bs1

    private final List<String> kinds;
    private final float[] values; // [kinds, P]
    private final String exact;   // hex of the first 8 bytes of SHA-256 over the drawn rows' float bits

    BaseSketch(List<String> kinds, float[] values, String exact) {
        if (values.length != kinds.size() * P) throw new IllegalArgumentException(values.length + " values for " + kinds.size() + " kinds");
        this.kinds = List.copyOf(kinds);
        this.values = values;
        this.exact = exact;
    }

    public List<String> kinds() {
        return kinds;
    }

    /** Hash of the drawn rows' exact dequantised values: equal for the same weights in the same dtype. */
    public String exact() {
        return exact;
    }

    // opened models are immutable while open, and serving reads many adapters against one base: compute once
    private static final Map<TensorSource, BaseSketch> CACHE = new WeakHashMap<>();

    /** The sketch of an open base model (computed once per open model). */
    public static BaseSketch of(BaseModel base) {
        synchronized (CACHE) {
            return CACHE.computeIfAbsent(base.source(), s -> compute(base.weights(), base.config().tieWordEmbeddings()));
        }
    }

    /** A kind's rows: count of them over all layers, their length, and row i dequantised into dst. */
    private interface Rows {
        int count();

        int cols();

        void read(int i, float[] dst);
    }

    private static Rows matrices(List<WeightMatrix> ms) {
        int per = ms.getFirst().rows(), cols = ms.getFirst().cols();
        return new Rows() {
            public int count() {
                return per * ms.size();
            }

            public int cols() {
                return cols;
            }

            public void read(int i, float[] dst) {
                ms.get(i / per).row(i % per, dst, 0); // layer-major: row i of the kind is layer i / per
            }
        };
    }

    private static Rows vectors(List<float[]> vs) {
        return new Rows() {
            public int count() {
                return vs.size();
            }

            public int cols() {
                return vs.getFirst().length;
            }

            public void read(int i, float[] dst) {
                System.arraycopy(vs.get(i), 0, dst, 0, dst.length);
            }
        };
    }

    /** The kinds in their fixed order, each over all layers. */
    private static Map<String, Rows> kindsOf(LlamaWeights w, boolean tiedHead) {
        Map<String, Rows> k = new LinkedHashMap<>();
        List<LlamaWeights.Layer> ls = List.of(w.layers());
        k.put("embed", matrices(List.of(w.embed())));
        k.put("q", matrices(ls.stream().map(LlamaWeights.Layer::wq).toList()));
        k.put("k", matrices(ls.stream().map(LlamaWeights.Layer::wk).toList()));
        k.put("v", matrices(ls.stream().map(LlamaWeights.Layer::wv).toList()));
        k.put("o", matrices(ls.stream().map(LlamaWeights.Layer::wo).toList()));
        k.put("gate", matrices(ls.stream().map(LlamaWeights.Layer::wGate).toList()));
        k.put("up", matrices(ls.stream().map(LlamaWeights.Layer::wUp).toList()));
        k.put("down", matrices(ls.stream().map(LlamaWeights.Layer::wDown).toList()));
        k.put("attn_norm", vectors(ls.stream().map(LlamaWeights.Layer::attnNorm).toList()));
        k.put("ffn_norm", vectors(ls.stream().map(LlamaWeights.Layer::mlpNorm).toList()));
        k.put("norm", vectors(List.of(w.finalNorm())));
        if (!tiedHead) k.put("head", matrices(List.of(w.head())));
        return k;
    }

    /** Computes the sketch of these weights (the head is the embedding when tiedHead). */
    public static BaseSketch compute(LlamaWeights w, boolean tiedHead) {
        Map<String, Rows> kinds = kindsOf(w, tiedHead);
        float[] out = new float[kinds.size() * P]; // [kinds, P]
        MessageDigest md = sha256();
        int k = 0;
        for (Map.Entry<String, Rows> e : kinds.entrySet()) {
            long kindSeed = mix(SEED ^ fnv(e.getKey()));
            Rows rows = e.getValue();
            int cols = rows.cols();
            float[] row = new float[cols]; // [cols]: one dequantised row
            ByteBuffer bits = ByteBuffer.allocate(8 + 4 * cols).order(ByteOrder.LITTLE_ENDIAN); // row index, then its float bits
            double[] acc = new double[P];
            long elements = 0;
            md.update(e.getKey().getBytes(StandardCharsets.UTF_8));
            for (int i : draw(rows.count(), kindSeed)) {
                rows.read(i, row);
                bits.clear();
                bits.putLong(i);
                for (float v : row) bits.putFloat(v);
                md.update(bits.array());
                double mean = 0;
                for (float v : row) mean += v;
                mean /= cols;
                long rowSeed = kindSeed + i * 0x9E3779B97F4A7C15L;
                for (int c = 0; c < cols; c++) {
                    double x = row[c] - mean; // centred: a norm's constant level says nothing about which model it is
                    long h = mix(rowSeed + c * 0xC2B2AE3D27D4EB4FL);
                    acc[(int) (h & (P - 1))] += (h & P) == 0 ? x : -x; // one sum per element (a count sketch): 7B costs tens of ms, not seconds
                }
                elements += cols;
            }
            double scale = 1 / Math.sqrt(elements); // values of the order of the weights' spread, whatever the row count
            for (int p = 0; p < P; p++) out[k * P + p] = (float) (acc[p] * scale);
            k++;
        }
        return new BaseSketch(new ArrayList<>(kinds.keySet()), out, HexFormat.of().formatHex(md.digest(), 0, 8));
    }

    /** The rows of a kind to read: all when there are at most ROWS, else ROWS distinct ones (Floyd's sampling), ascending. */
    static int[] draw(int count, long seed) {
        if (count <= ROWS) return java.util.stream.IntStream.range(0, count).toArray();
        TreeSet<Integer> chosen = new TreeSet<>();
        long n = 0;
        for (int j = count - ROWS; j < count; j++) {
            int t = (int) Long.remainderUnsigned(mix(seed + ++n * 0xD1B54A32D192ED03L), j + 1L);
            chosen.add(chosen.contains(t) ? j : t);
        }
        return chosen.stream().mapToInt(Integer::intValue).toArray();
    }

    /** How two sketches compare: the weakest kind's similarity and which kind it is, each kind's, and whether the exact hashes agree. */
    public record Match(double similarity, String weakestKind, Map<String, Double> byKind, boolean exact) {
        public boolean accepted() {
            return similarity >= THRESHOLD;
        }

        /** One line for a user: how close the weights are and what that means. */
        public String describe() {
            if (exact) return "identical to the adapter's base in the sampled rows";
            return String.format(java.util.Locale.ROOT, "similarity %.4f to the adapter's base (weakest: %s; %.2f and up is accepted)%s", similarity,
                    weakestKind, THRESHOLD, accepted() ? ": the same model in another dtype or format, or a close fine-tune of it" : ": another model");
        }
    }

    /** Compares over the kinds both sketches have (the architecture check has already made them the same). */
    public Match compare(BaseSketch other) {
        Map<String, Double> by = new LinkedHashMap<>();
        double worst = Double.POSITIVE_INFINITY;
        String worstKind = null;
        for (int a = 0; a < kinds.size(); a++) {
            int b = other.kinds.indexOf(kinds.get(a));
            if (b < 0) continue;
            double dot = 0, na = 0, nb = 0;
            for (int p = 0; p < P; p++) {
                double x = values[a * P + p], y = other.values[b * P + p];
                dot += x * y;
                na += x * x;
                nb += y * y;
            }
            double s = na + nb == 0 ? 1 : 2 * dot / (na + nb); // two all-constant kinds (e.g. norms left at 1) are alike
            by.put(kinds.get(a), s);
            if (s < worst) {
                worst = s;
                worstKind = kinds.get(a);
            }
        }
        if (worstKind == null) return new Match(0, "(no kind in common)", by, false);
        return new Match(worst, worstKind, by, exact.equals(other.exact));
    }

    /** "bs1;rows=256;p=32;kinds=embed,q,...;exact=HEX;f32=BASE64": the values as little-endian float32 [kinds, P]. */
    public String encode() {
        ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) b.putFloat(v);
        return VERSION + ";rows=" + ROWS + ";p=" + P + ";kinds=" + String.join(",", kinds) + ";exact=" + exact
                + ";f32=" + Base64.getEncoder().encodeToString(b.array());
    }

    /**
     * Reads an encoded sketch. Null for another version, row count or width (a later format this one cannot
     * compare with: the caller falls back to the architecture check).
     *
     * @throws IllegalArgumentException when it is malformed
     */
    public static BaseSketch decode(String s) {
        String[] parts = s.trim().split(";");
        if (!parts[0].equals(VERSION)) return null;
        Map<String, String> f = new LinkedHashMap<>();
        for (int i = 1; i < parts.length; i++) {
            int eq = parts[i].indexOf('=');
            if (eq <= 0) throw new IllegalArgumentException("'" + parts[i] + "' is not key=value");
            f.put(parts[i].substring(0, eq), parts[i].substring(eq + 1));
        }
        for (String key : List.of("rows", "p", "kinds", "exact", "f32"))
            if (!f.containsKey(key)) throw new IllegalArgumentException("no " + key + "=");
        if (!f.get("rows").equals(Integer.toString(ROWS)) || !f.get("p").equals(Integer.toString(P))) return null;
        List<String> kinds = List.of(f.get("kinds").split(","));
        byte[] raw;
        try {
            raw = Base64.getDecoder().decode(f.get("f32"));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("f32= is not base64: " + e.getMessage());
        }
        if (raw.length != 4 * P * kinds.size())
            throw new IllegalArgumentException("f32= holds " + raw.length + " bytes, expected " + 4 * P * kinds.size() + " for " + kinds.size() + " kinds");
        ByteBuffer b = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
        float[] v = new float[raw.length / 4]; // [kinds, P]
        for (int i = 0; i < v.length; i++) v[i] = b.getFloat();
        return new BaseSketch(kinds, v, f.get("exact"));
    }

    // SplitMix64's finaliser: a fixed, well-mixed hash of a long
    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    // FNV-1a over the kind's name: its seed does not move when another kind is absent (a tied head)
    private static long fnv(String s) {
        long h = 0xCBF29CE484222325L;
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) h = (h ^ (b & 0xff)) * 0x100000001B3L;
        return h;
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}

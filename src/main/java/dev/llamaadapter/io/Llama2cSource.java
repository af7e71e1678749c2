package dev.llamaadapter.io;

import dev.llamaadapter.tensor.DType;
import dev.llamaadapter.tensor.WeightMatrix;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A llama2.c checkpoint ({@code .bin}, the legacy format run.c reads), memory-mapped and seen as the
 * engine's tensors under Hugging Face names. Layout, little-endian: seven int32 (dim, hidden_dim,
 * n_layers, n_heads, n_kv_heads, vocab_size, seq_len; a negative vocab_size means the classifier is stored
 * separately, else it is the embedding), then F32 weights: token embedding [V, D]; per-layer stacks of
 * attention norms [N, D], wq [N, H·hd, D], wk [N, Hkv·hd, D], wv, wo [N, D, H·hd], ffn norms [N, D],
 * w1 (gate) [N, F, D], w2 (down) [N, D, F], w3 (up) [N, F, D]; final norm [D]; two RoPE tables
 * [seq_len, hd/2] (unused); then the classifier [V, D] when separate. The q/k projections are in Meta's
 * interleaved-RoPE row order and come back with a row order for rotate_half, as HF's conversion permutes them.
 */
public final class Llama2cSource implements TensorSource {

    /** The header. */
    public record Header(int dim, int hiddenDim, int nLayers, int nHeads, int nKvHeads, int vocabSize, boolean sharedClassifier, int seqLen) {
        public int headDim() {
            return dim / nHeads;
        }
    }

    private static final ValueLayout.OfInt I32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final Pattern Q = Pattern.compile("model\\.layers\\.\\d+\\.self_attn\\.q_proj\\.weight");
    private static final Pattern K = Pattern.compile("model\\.layers\\.\\d+\\.self_attn\\.k_proj\\.weight");
    /** "ak42": the magic of llama2.c's newer export versions, which run.c does not read. */
    private static final int NEW_FORMAT_MAGIC = 0x616b3432;

    private final Path path;
    private final Arena arena;
    private final Header header;
    private final Map<String, TensorInfo> tensors;
    private boolean closed;

    private Llama2cSource(Path path, Arena arena, Header header, Map<String, TensorInfo> tensors) {
        this.path = path;
        this.arena = arena;
        this.header = header;
        this.tensors = Collections.unmodifiableMap(tensors);
    }

    /** Maps and validates the checkpoint; the file size must be exactly what the header implies. */
    public static Llama2cSource open(Path file) throws IOException {
        Arena arena = Arena.ofShared();
        try {
            MemorySegment all;
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
                all = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
            } catch (NoSuchFileException e) {
                throw new SafeTensorsException(file, null, "no such file", e);
            } catch (IOException e) {
                throw new SafeTensorsException(file, null, "cannot be mapped: " + e, e);
            }
            long size = all.byteSize();
            if (size < 28) throw new SafeTensorsException(file, null, "is " + size + " bytes, too short for a llama2.c checkpoint header (28 bytes)");
            int[] h = new int[7];
            for (int i = 0; i < 7; i++) h[i] = all.get(I32, 4L * i);
            if (h[0] == NEW_FORMAT_MAGIC)
                throw new SafeTensorsException(file, null, "is a llama2.c export of version " + h[1]
                        + " (magic \"ak42\"); only the legacy format (export.py --version 0, what run.c reads) is supported");
            String[] names = {"dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "seq_len"};
            for (int i = 0; i < 7; i++)
                if (i != 5 ? h[i] <= 0 : h[i] == 0 || h[i] == Integer.MIN_VALUE)
                    throw new SafeTensorsException(file, null, "header " + names[i] + " = " + h[i] + " is invalid: not a llama2.c checkpoint?");
            Header hd = new Header(h[0], h[1], h[2], h[3], h[4], Math.abs(h[5]), h[5] > 0, h[6]);
            if (hd.dim % hd.nHeads != 0 || hd.nHeads % hd.nKvHeads != 0 || hd.headDim() % 2 != 0)
                throw new SafeTensorsException(file, null, "header dim " + hd.dim + ", n_heads " + hd.nHeads + ", n_kv_heads " + hd.nKvHeads
                        + " do not make whole, even heads: not a llama2.c checkpoint?");

            long D = hd.dim, F = hd.hiddenDim, N = hd.nLayers, V = hd.vocabSize, hs = hd.headDim();
            long qd = hd.nHeads * hs, kd = hd.nKvHeads * hs;
            Map<String, TensorInfo> t = new LinkedHashMap<>();
            long[] off = {28};
            long need;
            try {
                Slicer s = (name, shape) -> {
                    long n = 1;
                    for (long d : shape) n = Math.multiplyExact(n, d);
                    long bytes = Math.multiplyExact(n, 4L);
                    if (name != null) t.put(name, new TensorInfo(name, DType.F32, shape, null));
                    long at = off[0];
                    off[0] = Math.addExact(off[0], bytes);
                    return at;
                };
                Map<String, Long> at = new LinkedHashMap<>();
                at.put("model.embed_tokens.weight", s.slice("model.embed_tokens.weight", V, D));
                String[][] stacks = {
                        {"input_layernorm.weight"}, {"self_attn.q_proj.weight"}, {"self_attn.k_proj.weight"}, {"self_attn.v_proj.weight"},
                        {"self_attn.o_proj.weight"}, {"post_attention_layernorm.weight"}, {"mlp.gate_proj.weight"},
                        {"mlp.down_proj.weight"}, {"mlp.up_proj.weight"}};
                long[][] shapes = {{D}, {qd, D}, {kd, D}, {kd, D}, {D, qd}, {D}, {F, D}, {D, F}, {F, D}};
                for (int k = 0; k < stacks.length; k++)
                    for (int i = 0; i < N; i++) {
                        String name = "model.layers." + i + "." + stacks[k][0];
                        at.put(name, s.slice(name, shapes[k]));
                    }
                at.put("model.norm.weight", s.slice("model.norm.weight", D));
                s.slice(null, hd.seqLen, hs / 2);
                s.slice(null, hd.seqLen, hs / 2);
                if (!hd.sharedClassifier) at.put("lm_head.weight", s.slice("lm_head.weight", V, D));
                need = off[0];
                if (size != need)
                    throw new SafeTensorsException(file, null, "is " + size + " bytes, but its header (dim " + D + ", hidden_dim " + F + ", "
                            + N + " layers, " + hd.nHeads + " heads, " + hd.nKvHeads + " kv heads, vocab " + V + (hd.sharedClassifier ? "" : " + classifier")
                            + ", seq_len " + hd.seqLen + ") needs exactly " + need + (size < need ? ": truncated" : ": not a llama2.c checkpoint of this header?"));
                for (Map.Entry<String, Long> e : at.entrySet()) {
                    TensorInfo ti = t.get(e.getKey());
                    t.put(e.getKey(), new TensorInfo(ti.name(), DType.F32, ti.shape(), all.asSlice(e.getValue(), ti.numel() * 4)));
                }
            } catch (ArithmeticException e) {
                throw new SafeTensorsException(file, null, "header sizes are absurd (byte count overflows): not a llama2.c checkpoint?");
            }
            return new Llama2cSource(file, arena, hd, t);
        } catch (IOException | RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    /**
     * The exact file size a legacy header implies, or -1 when the seven values cannot be a llama2.c header
     * (used to recognise such a file, which has no magic, by {@link FileKind}).
     */
    static long impliedSize(int[] h) {
        for (int i = 0; i < 7; i++)
            if (i != 5 ? h[i] <= 0 : h[i] == 0 || h[i] == Integer.MIN_VALUE) return -1;
        long D = h[0], F = h[1], N = h[2], H = h[3], Hkv = h[4], V = Math.abs((long) h[5]), T = h[6];
        if (D % H != 0 || H % Hkv != 0 || (D / H) % 2 != 0) return -1;
        long hs = D / H, qd = H * hs, kd = Hkv * hs;
        try {
            long perLayer = Math.addExact(Math.addExact(2 * D, Math.multiplyExact(2 * qd, D)),
                    Math.addExact(Math.multiplyExact(2 * kd, D), Math.multiplyExact(3 * F, D)));
            long floats = Math.addExact(Math.multiplyExact(V, D), Math.multiplyExact(N, perLayer));
            floats = Math.addExact(floats, Math.addExact(D, Math.multiplyExact(T, hs)));
            if (h[5] < 0) floats = Math.addExact(floats, Math.multiplyExact(V, D));
            return Math.addExact(28, Math.multiplyExact(floats, 4));
        } catch (ArithmeticException e) {
            return -1;
        }
    }

    private interface Slicer {
        long slice(String name, long... shape);
    }

    public Header header() {
        return header;
    }

    @Override
    public Path path() {
        return path;
    }

    @Override
    public Map<String, String> metadata() {
        return Map.of();
    }

    @Override
    public Set<String> names() {
        return tensors.keySet();
    }

    @Override
    public TensorInfo info(String name) {
        return tensors.get(name);
    }

    @Override
    public Path fileOf(String name) {
        return path;
    }

    /** As {@link TensorSource#matrix}, with q/k projections put into rotate_half row order. */
    @Override
    public WeightMatrix matrix(String name, int rows, int cols) throws SafeTensorsException {
        WeightMatrix w = TensorSource.super.matrix(name, rows, cols);
        if (Q.matcher(name).matches()) return w.withRowOrder(WeightMatrix.interleavedToHalves(header.nHeads, header.headDim()));
        if (K.matcher(name).matches()) return w.withRowOrder(WeightMatrix.interleavedToHalves(header.nKvHeads, header.headDim()));
        return w;
    }

    @Override
    public synchronized void close() {
        if (closed) return;
        closed = true;
        arena.close();
    }

    @Override
    public String toString() {
        return "Llama2cSource[" + path + ", " + header + "]";
    }
}

package dev.llamaadapter.model;

import dev.llamaadapter.io.GgufSource;
import dev.llamaadapter.io.AtomicFile;
import dev.llamaadapter.io.gguf.GgmlType;
import dev.llamaadapter.io.gguf.GgufTokenizer;
import dev.llamaadapter.io.gguf.GgufValue;
import dev.llamaadapter.io.gguf.GgufWriter;
import dev.llamaadapter.tensor.DType;
import dev.llamaadapter.tensor.Parallel;
import dev.llamaadapter.tensor.Quant;
import dev.llamaadapter.tensor.WeightMatrix;
import dev.llamaadapter.tokenizer.Tokenizer;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Writes an open base model as a GGUF file that llama.cpp's conventions describe and {@link BaseModel#open}
 * reads back, for every family: the names, row orders and fused tensors of llama.cpp's architecture for it
 * ({@link GgufLayout}), its config keys ({@link GgufConfig}, {@link GgufFamily}) and tokenizer metadata. Weight
 * types: a {@link QuantMix} chooses each matrix's by its GGUF name (as llama-quantize does for the same target:
 * Q6_K heads, Q6_K attn_v/ffn_down in some layers of the _M mixes, fallbacks for rows that are not whole
 * blocks); norm weights stay F32.
 * Rows already in the wanted type are copied byte for byte; others are dequantised to fp32 and encoded
 * one row at a time, so memory stays at one row plus a write buffer. The file is written atomically.
 */
public final class GgufExport {
    private GgufExport() {}

    /** What was written: tensor counts per ggml type, the size, whether the tokenizer went in, and notes. */
    public record Summary(Path file, long bytes, Map<String, Integer> tensorsByType, boolean tokenizer, List<String> notes) {}

    /** Every matrix as {@code target} where llama-quantize's mix for that type allows (see {@link QuantMix#of}). */
    public static Summary write(BaseModel base, DType target, Path out) throws IOException {
        return write(base, QuantMix.of(target), out);
    }

    public static Summary write(BaseModel base, QuantMix mix, Path out) throws IOException {
        LlamaConfig c = base.config();
        LlamaWeights w = base.weights();
        List<String> notes = new ArrayList<>();
        Map<String, List<String>> keptAs = new LinkedHashMap<>(); // "F16 instead of Q4_0 (rows of 172 ...)" -> tensor names
        Map<String, GgufValue> md = new LinkedHashMap<>();
        boolean tokenizer;
        if (base.source() instanceof GgufSource g) {
            // keep what the source says about itself (name, tokenizer and its special ids, ...); config keys are rewritten below
            for (Map.Entry<String, GgufValue> e : g.gguf().metadata().asMap().entrySet())
                if (!e.getKey().equals("general.alignment") && !e.getKey().startsWith(g.arch().name() + ".")) md.put(e.getKey(), e.getValue());
            tokenizer = md.containsKey("tokenizer.ggml.model");
        } else {
            Tokenizer t = null;
            try {
                t = base.tokenizer();
            } catch (IOException e) {
                notes.add("no tokenizer written: " + e.getMessage());
            }
            tokenizer = t != null && GgufTokenizer.write(t, md);
            if (java.nio.file.Files.isDirectory(base.dir())) { // the chat template goes where llama.cpp's converter puts it
                try {
                    md.put("tokenizer.chat_template", GgufValue.string(dev.llamaadapter.data.chat.ChatTemplate.load(base.dir()).template()));
                } catch (IOException e) {
                    // no tokenizer_config.json or no chat_template: nothing to carry
                }
            }
            if (t != null && !tokenizer)
                notes.add("no tokenizer written: SentencePiece vocabularies and Llama 3 / GPT-2 style tokenizer.json byte-level BPE are translated into GGUF metadata, not this one (keep the source's tokenizer file and pass it with --tokenizer)");
        }
        String name = base.dir().getFileName() == null ? "model" : base.dir().getFileName().toString();
        if (!md.containsKey("general.name")) md.put("general.name", GgufValue.string(name));
        Map<String, GgufValue> cfg = new LinkedHashMap<>();
        ModelFiles.putGguf(c, null, cfg);
        if (c.arch().family() == Family.MISTRAL && c.arch().slidingWindow() > 0)
            notes.add("sliding window " + c.arch().slidingWindow() + " written as llama.attention.sliding_window: llama.cpp (b4747) runs \"llama\" files without one");
        if (cfg.containsKey("gemma2.attention.scale"))
            notes.add("query_pre_attn_scalar written as gemma2.attention.scale: llama.cpp (b4747) scales gemma2 queries by 1/sqrt(head_dim) instead");
        md.putAll(cfg);
        md.put("general.file_type", GgufValue.uint32(mix.fileType));
        if (mix.isQuantized()) md.put("general.quantization_version", GgufValue.uint32(2));

        GgufWriter gw = new GgufWriter();
        // architecture first, as llama.cpp writes it
        gw.put("general.architecture", md.remove("general.architecture"));
        md.forEach(gw::put);

        Map<String, Integer> counts = new TreeMap<>();
        List<GgufLayout.Tensor> layout = GgufLayout.of(c, w);
        // a head of its own: untied, or written anyway where llama.cpp's architecture wants output.weight (phi3)
        boolean separateHead = layout.stream().anyMatch(t -> t.name().equals("output.weight"));
        Types types = new Types(mix, c.numHiddenLayers(), separateHead, keptAs);
        for (GgufLayout.Tensor t : layout) {
            if (t.vector() != null) addVector(gw, t.name(), t.vector(), counts);
            else addMatrix(gw, t, types.of(t.name(), t.cols()), counts);
        }
        for (Map.Entry<String, List<String>> e : keptAs.entrySet())
            notes.add(e.getValue().size() + " tensor(s) " + e.getKey() + ": "
                    + (e.getValue().size() <= 2 ? String.join(", ", e.getValue()) : e.getValue().getFirst() + " ... " + e.getValue().getLast()));
        gw.write(out);
        return new Summary(out, java.nio.file.Files.size(out), counts, tokenizer, notes);
    }

    private static void addVector(GgufWriter gw, String ggufName, float[] v, Map<String, Integer> counts) {
        MemorySegment s = MemorySegment.ofArray(new byte[v.length * 4]);
        for (int i = 0; i < v.length; i++) s.set(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 4L * i, v[i]);
        gw.tensor(ggufName, GgmlType.F32, new long[] {v.length}, s);
        counts.merge("F32", 1, Integer::sum);
    }

    /**
     * The mix's type for each matrix, and which ones differ from what the mix's base type would give and why
     * (llama-quantize's fallbacks, and fallbacks this project cannot write yet), for the notes.
     */
    private record Types(QuantMix mix, int layers, boolean separateHead, Map<String, List<String>> notes) {
        DType of(String ggufName, int cols) {
            GgmlType chosen = mix.typeOf(ggufName, cols, layers, separateHead), t = QuantMix.writable(chosen);
            if (mix.isQuantized() && cols % mix.base.blockSize != 0) { // llama-quantize's own fallback (it warns too)
                String why = chosen == GgmlType.F16 && !mix.base.name().endsWith("_K") ? "llama-quantize refuses such rows for " + mix : "llama-quantize's fallback";
                notes.computeIfAbsent("as " + chosen + " instead of " + mix.base + " (rows of " + cols + ", not whole " + mix.base.blockSize
                        + "-element blocks; " + why + ")", k -> new ArrayList<>()).add(ggufName);
            }
            if (t != chosen)
                notes.computeIfAbsent("as " + t + " where llama-quantize writes " + chosen + " (" + chosen + " cannot be written here yet)", k -> new ArrayList<>()).add(ggufName);
            return t.dtype;
        }
    }

    /**
     * One matrix tensor: the rows of its parts one after the other (phi3's fused qkv and gate_up), each part's
     * file row j being its logical row rowOf[j] (q/k of the llama architecture: the inverse of the rotate_half
     * order, so the file holds them interleaved as llama.cpp does).
     */
    private static void addMatrix(GgufWriter gw, GgufLayout.Tensor t, DType type, Map<String, Integer> counts) {
        long rowBytes = type.bytes(t.cols());
        gw.tensor(t.name(), GgmlType.of(type), new long[] {t.cols(), t.rows()}, rowBytes * t.rows(), out -> {
            for (GgufLayout.Part p : t.parts()) {
                int[] rowOf = p.rowOf();
                if (rowOf == null) {
                    rowOf = new int[p.m().rows()];
                    for (int j = 0; j < rowOf.length; j++) rowOf[j] = j;
                }
                writeRows(out, p.m(), type, rowOf, rowBytes);
            }
        });
        counts.merge(type.name(), 1, Integer::sum);
    }

    /**
     * The rows in chunks of about 1 MB: each chunk's rows are encoded in parallel (the K-quant searches cost
     * far more than the write), then the chunk is written.
     */
    private static void writeRows(FileChannel out, WeightMatrix m, DType type, int[] rowOf, long rowBytes) throws IOException {
        int cols = m.cols();
        int perChunk = (int) Math.max(1, (1 << 20) / rowBytes);
        ByteBuffer buf = ByteBuffer.allocate((int) (perChunk * rowBytes)).order(ByteOrder.LITTLE_ENDIAN); // [perChunk, rowBytes]
        MemorySegment seg = MemorySegment.ofBuffer(buf);
        for (int j0 = 0; j0 < rowOf.length; j0 += perChunk) {
            int first = j0, n = Math.min(perChunk, rowOf.length - j0);
            Parallel.forRange(n, (lo, hi) -> {
                float[] row = new float[cols]; // [cols] one row as fp32
                for (int j = lo; j < hi; j++) encodeRow(m, rowOf[first + j], type, row, buf, seg, j * rowBytes);
            });
            AtomicFile.writeFully(out, buf.duplicate().position(0).limit((int) (n * rowBytes)));
        }
    }

    /** Row r of m, in type, at byte `at` of the chunk (absolute puts only: rows are encoded side by side). */
    private static void encodeRow(WeightMatrix m, int r, DType type, float[] row, ByteBuffer buf, MemorySegment seg, long at) {
        int cols = m.cols();
        if (m.dtype() == type) {
            MemorySegment.copy(m.storedRowBytes(m.storedRow(r)), 0, seg, at, type.bytes(cols));
            return;
        }
        m.row(r, row, 0);
        switch (type) {
            case F32 -> { for (int c = 0; c < cols; c++) buf.putFloat((int) (at + 4L * c), row[c]); }
            case F16 -> { for (int c = 0; c < cols; c++) buf.putShort((int) (at + 2L * c), Float.floatToFloat16(row[c])); }
            case BF16 -> { for (int c = 0; c < cols; c++) buf.putShort((int) (at + 2L * c), DType.floatToBf16(row[c])); }
            default -> Quant.quantize(type, row, 0, cols, seg, at);
        }
    }
}

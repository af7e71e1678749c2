package dev.llamaadapter.model;

import dev.llamaadapter.io.GgufSource;
import dev.llamaadapter.io.AtomicFile;
import dev.llamaadapter.io.gguf.GgmlType;
import dev.llamaadapter.io.gguf.GgufTokenizer;
import dev.llamaadapter.io.gguf.GgufValue;
import dev.llamaadapter.io.gguf.GgufWriter;
import dev.llamaadapter.tensor.DType;
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
 * ({@link GgufLayout}), its config keys ({@link GgufConfig}, {@link GgufFamily}) and tokenizer metadata. Weight types, like llama.cpp's quantiser:
 * <ul>
 * <li>the seven 2-D projections of every layer in the target type (Q8_0, Q4_0, or F32/F16/BF16 for a plain
 * conversion); a projection whose rows are not whole 32-element blocks (e.g. stories260K's down_proj, 172
 * columns) keeps its source float type (F32 if the source was quantised, which cannot happen: quantised
 * rows are always whole blocks);</li>
 * <li>token embedding and output head: Q8_0 whenever the target is a block type (Q4_0 costs too much
 * accuracy there; llama.cpp likewise keeps the head at a higher precision), else the target type;</li>
 * <li>norm weights: F32.</li>
 * </ul>
 * Rows already in the wanted type are copied byte for byte; others are dequantised to fp32 and encoded
 * one row at a time, so memory stays at one row plus a write buffer. The file is written atomically.
 */
public final class GgufExport {
    private GgufExport() {}

    /** What was written: tensor counts per ggml type, the size, whether the tokenizer went in, and notes. */
    public record Summary(Path file, long bytes, Map<String, Integer> tensorsByType, boolean tokenizer, List<String> notes) {}

    /** llama.cpp's general.file_type (llama_ftype) for a target type. */
    static int fileType(DType t) {
        return switch (t) {
            case F32 -> 0;
            case F16 -> 1;
            case Q4_0 -> 2;
            case Q8_0 -> 7;
            case BF16 -> 32;
            default -> throw new IllegalArgumentException("cannot write weights as " + t);
        };
    }

    public static Summary write(BaseModel base, DType target, Path out) throws IOException {
        if (!target.isWeightType()) throw new IllegalArgumentException("cannot write weights as " + target);
        LlamaConfig c = base.config();
        LlamaWeights w = base.weights();
        List<String> notes = new ArrayList<>();
        Map<String, List<String>> keptAs = new LinkedHashMap<>(); // "F32, 172 columns" -> tensor names
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
        md.put("general.file_type", GgufValue.uint32(fileType(target)));
        if (target.isQuantized()) md.put("general.quantization_version", GgufValue.uint32(2));

        GgufWriter gw = new GgufWriter();
        // architecture first, as llama.cpp writes it
        gw.put("general.architecture", md.remove("general.architecture"));
        md.forEach(gw::put);

        Map<String, Integer> counts = new TreeMap<>();
        DType edge = target.isQuantized() ? DType.Q8_0 : target;
        for (GgufLayout.Tensor t : GgufLayout.of(c, w)) {
            if (t.vector() != null) addVector(gw, t.name(), t.vector(), counts);
            else addMatrix(gw, t, t.edge() ? edge : target, counts, keptAs);
        }
        for (Map.Entry<String, List<String>> e : keptAs.entrySet())
            notes.add(e.getValue().size() + " tensor(s) kept as " + e.getKey() + " (rows not whole " + target.blockSize + "-element blocks): "
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
     * One matrix tensor: the rows of its parts one after the other (phi3's fused qkv and gate_up), each part's
     * file row j being its logical row rowOf[j] (q/k of the llama architecture: the inverse of the rotate_half
     * order, so the file holds them interleaved as llama.cpp does).
     */
    private static void addMatrix(GgufWriter gw, GgufLayout.Tensor t, DType want, Map<String, Integer> counts,
                                  Map<String, List<String>> keptAs) {
        WeightMatrix first = t.parts().getFirst().m();
        DType type = want;
        if (type.isQuantized() && t.cols() % type.blockSize != 0) {
            type = first.dtype().isQuantized() ? DType.F32 : first.dtype();
            keptAs.computeIfAbsent(type + ", " + t.cols() + " columns", k -> new ArrayList<>()).add(t.name());
        }
        final DType ty = type;
        long rowBytes = ty.bytes(t.cols());
        gw.tensor(t.name(), GgmlType.of(ty), new long[] {t.cols(), t.rows()}, rowBytes * t.rows(), out -> {
            for (GgufLayout.Part p : t.parts()) {
                int[] rowOf = p.rowOf();
                if (rowOf == null) {
                    rowOf = new int[p.m().rows()];
                    for (int j = 0; j < rowOf.length; j++) rowOf[j] = j;
                }
                writeRows(out, p.m(), ty, rowOf, rowBytes);
            }
        });
        counts.merge(ty.name(), 1, Integer::sum);
    }

    private static void writeRows(FileChannel out, WeightMatrix m, DType type, int[] rowOf, long rowBytes) throws IOException {
        int cols = m.cols();
        int perChunk = (int) Math.max(1, (1 << 20) / rowBytes);
        ByteBuffer buf = ByteBuffer.allocate((int) (perChunk * rowBytes)).order(ByteOrder.LITTLE_ENDIAN);
        MemorySegment seg = MemorySegment.ofBuffer(buf);
        float[] row = new float[cols];
        int inChunk = 0;
        for (int j = 0; j < rowOf.length; j++) {
            long at = inChunk * rowBytes;
            int r = rowOf[j];
            if (m.dtype() == type) {
                MemorySegment.copy(m.storedRowBytes(m.storedRow(r)), 0, seg, at, rowBytes);
            } else {
                m.row(r, row, 0);
                switch (type) {
                    case F32 -> { for (int c = 0; c < cols; c++) buf.putFloat((int) (at + 4L * c), row[c]); }
                    case F16 -> { for (int c = 0; c < cols; c++) buf.putShort((int) (at + 2L * c), Float.floatToFloat16(row[c])); }
                    case BF16 -> { for (int c = 0; c < cols; c++) buf.putShort((int) (at + 2L * c), DType.floatToBf16(row[c])); }
                    default -> Quant.quantize(type, row, 0, cols, seg, at);
                }
            }
            if (++inChunk == perChunk || j == rowOf.length - 1) {
                AtomicFile.writeFully(out, buf.duplicate().position(0).limit((int) (inChunk * rowBytes)));
                inChunk = 0;
            }
        }
    }
}

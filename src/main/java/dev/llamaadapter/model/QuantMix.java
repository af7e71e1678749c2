package dev.llamaadapter.model;

import dev.llamaadapter.io.gguf.GgmlType;
import dev.llamaadapter.tensor.DType;

import java.util.Locale;

/**
 * A quantization target as llama-quantize names it (its llama_ftype) and the type it gives each weight
 * matrix: the "mix". The rules are llama.cpp's (b4747, src/llama-quant.cpp, for dense models without an
 * importance matrix), so that a file written here has the tensor types a downloaded file of that name has:
 * <ul>
 * <li>the output head (or the token embedding when the head is tied to it) is Q6_K for every quantized target
 * but Q8_0, which keeps Q8_0; Q8_0 also when its rows are not whole blocks of the target's type;</li>
 * <li>Q4_K_M and Q5_K_M raise attn_v and ffn_down to Q6_K in the layers {@link #moreBits} picks (the first
 * and last eighth of the stack, and every third layer in between);</li>
 * <li>every other matrix takes the target's type;</li>
 * <li>a row that is not whole blocks of the chosen type falls back as llama-quantize does: Q4_K to Q5_0,
 * Q5_K to Q5_1, Q6_K to Q8_0 (blocks of 32), and to F16 when even those do not fit (llama-quantize refuses
 * such a tensor for Q4_0 and Q8_0; F16 is written here).</li>
 * </ul>
 * 1-D tensors (norms) stay F32; that is the writer's business, not the mix's.
 */
public enum QuantMix {
    Q4_K_M(15, GgmlType.Q4_K), Q5_K_M(17, GgmlType.Q5_K), Q6_K(18, GgmlType.Q6_K), Q8_0(7, GgmlType.Q8_0), Q4_0(2, GgmlType.Q4_0),
    F16(1, GgmlType.F16), BF16(32, GgmlType.BF16), F32(0, GgmlType.F32);

    /** llama.cpp's general.file_type (llama_ftype) for this target. */
    public final int fileType;
    /** The type most matrices get. */
    public final GgmlType base;

    QuantMix(int fileType, GgmlType base) {
        this.fileType = fileType;
        this.base = base;
    }

    /** The mix for a command-line name (q4_k_m, q8_0, f16, ...), any case; IllegalArgumentException naming the choices. */
    public static QuantMix parse(String s) {
        for (QuantMix m : values()) if (m.name().equalsIgnoreCase(s)) return m;
        throw new IllegalArgumentException("unknown quantization target '" + s + "': one of " + java.util.Arrays.stream(values())
                .map(m -> m.name().toLowerCase(Locale.ROOT)).toList());
    }

    /** The mix whose every matrix is this type (the quantize command's older targets). */
    public static QuantMix of(DType t) {
        return switch (t) {
            case Q8_0 -> Q8_0;
            case Q4_0 -> Q4_0;
            case Q6_K -> Q6_K;
            case F16 -> F16;
            case BF16 -> BF16;
            case F32 -> F32;
            default -> throw new IllegalArgumentException("no quantize target writes weights as " + t);
        };
    }

    /** Whether the target block-quantizes (false for the plain conversions F16, BF16, F32). */
    public boolean isQuantized() {
        return base.blockSize > 1;
    }

    /**
     * llama-quantize's choice of layers that get more bits in the _M mixes: the first and last eighth of the n
     * layers and every third one between them (layer i with (i − n/8) mod 3 = 2), integer division throughout.
     */
    static boolean moreBits(int i, int n) {
        return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
    }

    /**
     * The type of the 2-D weight {@code name} (its GGUF name: token_embd.weight, blk.3.attn_v.weight,
     * output.weight, ...) whose rows hold {@code cols} elements, in a model of {@code layers} layers that has
     * its own output.weight ({@code separateHead}) or ties it to the embedding.
     */
    public GgmlType typeOf(String name, long cols, int layers, boolean separateHead) {
        if (!isQuantized()) return base;
        GgmlType t = base;
        boolean head = name.equals("output.weight") || (!separateHead && name.equals("token_embd.weight"));
        if (head) {
            if (cols % base.blockSize != 0) t = GgmlType.Q8_0;
            else if (base != GgmlType.Q8_0) t = GgmlType.Q6_K;
        } else if (this == Q4_K_M || this == Q5_K_M) {
            int layer = layerOf(name);
            if (layer >= 0 && (name.endsWith(".attn_v.weight") || name.endsWith(".ffn_down.weight")) && moreBits(layer, layers))
                t = GgmlType.Q6_K;
        }
        if (cols % t.blockSize == 0) return t;
        GgmlType fallback = switch (t) {
            case Q4_K -> GgmlType.Q5_0;
            case Q5_K -> GgmlType.Q5_1;
            case Q6_K -> GgmlType.Q8_0;
            default -> GgmlType.F16;
        };
        return cols % fallback.blockSize == 0 ? fallback : GgmlType.F16;
    }

    /** The layer number of a blk.N.* name, or −1. */
    static int layerOf(String name) {
        if (!name.startsWith("blk.")) return -1;
        int dot = name.indexOf('.', 4);
        try {
            return dot < 0 ? -1 : Integer.parseInt(name.substring(4, dot));
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    /**
     * The type actually written for a chosen type: itself when this project can encode it, else the nearest
     * one it can that has at least as many bits (Q5_0 and Q5_1, llama-quantize's fallbacks for rows that are
     * not whole 256-blocks, become Q8_0 until their quantizers exist).
     */
    public static GgmlType writable(GgmlType t) {
        if (t.dtype != null && (!t.dtype.isQuantized() || t.dtype.format().canQuantize())) return t;
        return GgmlType.Q8_0;
    }
}

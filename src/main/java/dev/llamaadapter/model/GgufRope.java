package dev.llamaadapter.model;

import dev.llamaadapter.io.gguf.GgmlType;
import dev.llamaadapter.io.gguf.GgufException;
import dev.llamaadapter.io.gguf.GgufFile;
import dev.llamaadapter.io.gguf.GgufMetadata;
import dev.llamaadapter.io.gguf.GgufTensor;

import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * llama's RoPE scaling as a GGUF stores it: linear through {@code llama.rope.scaling.type}/{@code factor};
 * Llama 3's through the {@code rope_freqs.weight} tensor, one divisor per frequency ([rot/2], F32), which
 * llama.cpp's converter computes from rope_scaling. The divisors are what the engine runs; when they are
 * exactly (to float32) those of llama3 parameters found among the released ones, the scaling is reported as
 * llama3 with those parameters, so that the fingerprint of the GGUF copy is the Hugging Face copy's.
 */
final class GgufRope {
    private GgufRope() {}

    /** llama3 parameter sets tried when naming rope_freqs: (low, high) band edges, original context lengths. */
    private static final double[][] BANDS = {{1, 4}, {1, 2}, {2, 4}};
    private static final int[] ORIGINAL = {8192, 4096, 2048, 16384, 32768, 131072};

    static RopeScaling read(GgufFile f, GgufConfig.Shape s) throws GgufException {
        GgufMetadata md = f.metadata();
        String type = md.string("llama.rope.scaling.type");
        GgufTensor freqs = f.tensor("rope_freqs.weight");
        if (freqs != null) {
            if (type != null && !type.equals("none"))
                throw new GgufException(f.path(), "both llama.rope.scaling.type \"" + type + "\" and tensor 'rope_freqs.weight': not supported");
            return fromTensor(f, freqs, s);
        }
        if (type == null || type.equals("none")) return RopeScaling.NONE;
        if (type.equals("linear")) {
            Double factor = md.has("llama.rope.scaling.factor") ? GgufConfig.shortest(md, "llama.rope.scaling.factor", 1)
                    : md.has("llama.rope.scale_linear") ? GgufConfig.shortest(md, "llama.rope.scale_linear", 1) : null;
            if (factor == null) throw new GgufException(f.path(), "llama.rope.scaling.type is \"linear\" but 'llama.rope.scaling.factor' is missing");
            return RopeScaling.linear(factor);
        }
        throw new GgufException(f.path(), "RoPE scaling (llama.rope.scaling.type = \"" + type + "\") is not supported (linear, and llama3 "
                + "through rope_freqs.weight, are)");
    }

    private static RopeScaling fromTensor(GgufFile f, GgufTensor t, GgufConfig.Shape s) throws GgufException {
        int n = s.rotaryDim() / 2;
        if (t.type() != GgmlType.F32 || t.ne().length != 1 || t.ne()[0] != n)
            throw new GgufException(f.path(), "tensor 'rope_freqs.weight' is " + t.type() + " " + java.util.Arrays.toString(t.ne())
                    + ", expected F32 [" + n + "] (one divisor per RoPE frequency)");
        double[] div = new double[n]; // [rot/2]
        var f32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
        for (int j = 0; j < n; j++) div[j] = t.data().getAtIndex(f32, j);
        double theta = GgufConfig.shortest(f.metadata(), "llama.rope.freq_base", LlamaConfig.DEFAULT_ROPE_THETA);
        RopeScaling named = asLlama3(div, theta, s.rotaryDim(), f.metadata().intIn("llama.rope.scaling.original_context_length", 1, Integer.MAX_VALUE));
        try {
            return named != null ? named : RopeScaling.freqs(div);
        } catch (IllegalArgumentException e) {
            throw new GgufException(f.path(), "tensor 'rope_freqs.weight': " + e.getMessage());
        }
    }

    /** llama3 parameters whose divisors, rounded to float32, are div exactly; null when none is found. */
    static RopeScaling asLlama3(double[] div, double theta, int rot, Integer original) {
        double factor = 1;
        for (double d : div) factor = Math.max(factor, d);
        if (factor == 1) return null;
        int[] originals = original == null ? ORIGINAL : java.util.stream.IntStream.concat(java.util.stream.IntStream.of(original),
                java.util.Arrays.stream(ORIGINAL)).toArray();
        for (int orig : originals)
            for (double[] band : BANDS) {
                RopeScaling r = RopeScaling.llama3(factor, band[0], band[1], orig);
                double[] d = r.divisorsFor(theta, rot);
                boolean same = true;
                for (int j = 0; j < d.length && same; j++) same = Math.abs((float) d[j] - (float) div[j]) <= 2 * Math.ulp((float) div[j]);
                if (same) return r;
            }
        return null;
    }

    /** The rope_freqs.weight values llama.cpp's converter writes for a llama3 scaling, [rot/2]. */
    static float[] tensorOf(RopeScaling r, double theta, int rot) {
        double[] d = r.divisorsFor(theta, rot);
        float[] out = new float[d.length];
        for (int j = 0; j < d.length; j++) out[j] = (float) d[j];
        return out;
    }
}

package dev.llamaadapter.model;

import dev.llamaadapter.io.SafeTensorsWriter;
import dev.llamaadapter.tensor.DType;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;

/** Writes random Hugging Face style model directories for tests. */
public final class TestModels {
    private TestModels() {}

    public static Path write(Path dir, LlamaConfig c, DType dtype, long seed) throws IOException {
        Files.createDirectories(dir);
        c.write(dir.resolve("config.json"));
        LlamaWeights w = LlamaWeights.random(c, dtype, seed, Arena.ofAuto());
        SafeTensorsWriter st = new SafeTensorsWriter().put(w.embed());
        int D = c.hiddenSize();
        for (int i = 0; i < w.layers().length; i++) {
            LlamaWeights.Layer l = w.layers()[i];
            String p = "model.layers." + i + ".";
            st.put(p + "input_layernorm.weight", DType.F32, l.attnNorm(), D).put(p + "post_attention_layernorm.weight", DType.F32, l.mlpNorm(), D);
            st.put(l.wq()).put(l.wk()).put(l.wv()).put(l.wo()).put(l.wGate()).put(l.wUp()).put(l.wDown());
        }
        st.put("model.norm.weight", DType.F32, w.finalNorm(), D);
        if (!c.tieWordEmbeddings()) st.put(w.head());
        st.write(dir.resolve("model.safetensors"));
        return dir;
    }
}

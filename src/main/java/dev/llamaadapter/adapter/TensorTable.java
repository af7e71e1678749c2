package dev.llamaadapter.adapter;

import dev.llamaadapter.io.FileKind;
import dev.llamaadapter.io.SafeTensors;
import dev.llamaadapter.io.torch.TorchUnpickler.TensorRef;
import dev.llamaadapter.io.torch.TorchZip;
import dev.llamaadapter.tensor.DType;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

/** The named tensors of one adapter weights file, whatever its container: safetensors or a torch.save zip. */
interface TensorTable extends AutoCloseable {

    Path file();

    /** Tensor names in file order. */
    Set<String> names();

    DType dtype(String name);

    long[] shape(String name);

    /** The tensor as fp32, row-major (float dtypes only). */
    float[] floats(String name) throws IOException;

    /** String metadata (safetensors __metadata__; for torch archives: archive, version, byteorder). */
    Map<String, String> metadata();

    /** A short name of the container, e.g. "safetensors" or "torch.save zip (archive 'archive', version 3)". */
    String container();

    @Override
    void close();

    default long numel(String name) {
        long n = 1;
        for (long d : shape(name)) n *= d;
        return n;
    }

    /** Opens a safetensors file or a torch.save zip, told apart by the first bytes. */
    static TensorTable open(Path file) throws IOException {
        FileKind kind = FileKind.of(file);
        if (kind == FileKind.SAFETENSORS) return safetensors(SafeTensors.open(file));
        if (kind == FileKind.TORCH_ZIP || kind == FileKind.PICKLE) return torch(TorchZip.open(file));
        String n = file.getFileName() == null ? "" : file.getFileName().toString().toLowerCase(java.util.Locale.ROOT);
        if (n.endsWith(".pth") || n.endsWith(".pt") || n.endsWith(".bin") || n.endsWith(".ckpt")) return torch(TorchZip.open(file)); // says what it is not
        return safetensors(SafeTensors.open(file));
    }

    static TensorTable safetensors(SafeTensors st) {
        return new TensorTable() {
            public Path file() { return st.path(); }
            public Set<String> names() { return st.names(); }
            public DType dtype(String n) { return st.info(n).dtype(); }
            public long[] shape(String n) { return st.info(n).shape().clone(); }
            public float[] floats(String n) throws IOException { return st.floats(n); }
            public Map<String, String> metadata() { return st.metadata(); }
            public String container() { return "safetensors"; }
            public void close() { st.close(); }
        };
    }

    static TensorTable torch(TorchZip z) {
        return new TensorTable() {
            public Path file() { return z.path(); }
            public Set<String> names() { return z.tensors().keySet(); }
            public DType dtype(String n) { return ref(n).storage().dtype(); }
            public long[] shape(String n) { return ref(n).shape().clone(); }
            public float[] floats(String n) throws IOException { return z.floats(n); }
            public Map<String, String> metadata() {
                Map<String, String> m = new java.util.LinkedHashMap<>();
                m.put("archive", z.archiveName());
                if (z.version() != null) m.put("version", z.version());
                m.put("byteorder", z.byteOrder().toString().equals("BIG_ENDIAN") ? "big" : "little");
                return m;
            }
            public String container() {
                return "torch.save zip (archive '" + z.archiveName() + "'" + (z.version() == null ? "" : ", version " + z.version()) + ")";
            }
            public void close() { z.close(); }
            TensorRef ref(String n) { return z.tensors().get(n); }
        };
    }
}

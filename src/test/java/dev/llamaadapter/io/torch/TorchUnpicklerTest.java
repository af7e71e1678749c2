package dev.llamaadapter.io.torch;

import dev.llamaadapter.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The restricted unpickler and the torch.save zip reader: real torch output reads; hostile pickles (a
 * GLOBAL os.system / builtins.eval REDUCE, object-building opcodes) are refused before anything could run;
 * broken pickles and archives give errors that name the file.
 */
class TorchUnpicklerTest {
    static final Path REAL = Path.of("src/test/resources/parity/interop-identity/formats/official.pth");
    static final Path FILE = Path.of("test.pkl");

    @TempDir
    Path tmp;

    /** Hand-written pickle bytes. */
    static final class P {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();

        P op(int... bytes) {
            for (int b : bytes) out.write(b);
            return this;
        }

        P raw(byte[] bytes) {
            out.writeBytes(bytes);
            return this;
        }

        P str(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            op('X', b.length, b.length >> 8, b.length >> 16, b.length >> 24);
            out.writeBytes(b);
            return this;
        }

        P global(String module, String name) {
            op('c');
            out.writeBytes((module + "\n" + name + "\n").getBytes(StandardCharsets.US_ASCII));
            return this;
        }

        P k(int v) {
            return op('K', v);
        }

        /** _rebuild_tensor_v2(('storage', torch.<type>, key, 'cpu', numel), offset, size, stride, False, OrderedDict()). */
        P tensor(String storageType, String key, int numel, int offset, int[] size, int[] stride) {
            global("torch._utils", "_rebuild_tensor_v2").op('(');
            op('(').str("storage").global("torch", storageType).str(key).str("cpu").k(numel).op('t', 'Q');
            k(offset).op('(');
            for (int s : size) k(s);
            op('t', '(');
            for (int s : stride) k(s);
            op('t', 0x89).global("collections", "OrderedDict").op(')', 'R');
            return op('t', 'R');
        }

        byte[] bytes() {
            return out.toByteArray();
        }
    }

    static Object load(byte[] pickle) throws TorchFormatException {
        return TorchUnpickler.load(pickle, FILE, "data.pkl", (pid, where) -> {
            throw new TorchFormatException(FILE, "no storages here");
        });
    }

    Path zip(String name, byte[] pickle, Map<String, byte[]> storages) throws Exception {
        Path f = tmp.resolve(name);
        try (ZipOutputStream z = new ZipOutputStream(Files.newOutputStream(f))) {
            z.putNextEntry(new ZipEntry("archive/data.pkl"));
            z.write(pickle);
            for (var e : storages.entrySet()) {
                z.putNextEntry(new ZipEntry("archive/" + e.getKey()));
                z.write(e.getValue());
            }
            z.putNextEntry(new ZipEntry("archive/version"));
            z.write("3\n".getBytes(StandardCharsets.US_ASCII));
        }
        return f;
    }

    static byte[] floats(ByteOrder order, float... v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(order);
        for (float x : v) b.putFloat(x);
        return b.array();
    }

    // --- torch's own output ---

    @Test
    void readsARealTorchSaveCheckpoint() throws Exception {
        try (TorchZip z = TorchZip.open(REAL)) {
            assertThat(z.archiveName()).isEqualTo("official");
            assertThat(z.version()).isEqualTo("3");
            assertThat(z.tensors().keySet()).containsExactly("adapter_query.weight", "layers.0.attention.gate", "layers.1.attention.gate",
                    "layers.2.attention.gate");
            assertThat(z.tensors().get("adapter_query.weight").shape()).containsExactly(6, 64);
            assertThat(z.tensors().get("layers.1.attention.gate").shape()).containsExactly(1, 4, 1, 1);
            assertThat(z.tensors().get("adapter_query.weight").storage().dtype()).isEqualTo(DType.F32);
            assertThat(z.floats("layers.0.attention.gate")).containsOnly(0f);
            assertThat(z.floats("adapter_query.weight")).hasSize(384);
        }
    }

    @Test
    void writerOutputReadsBackAndUsesOnlyTheAllowedGlobals() throws Exception {
        Map<String, TorchZipWriter.FloatTensor> t = new LinkedHashMap<>();
        t.put("a", new TorchZipWriter.FloatTensor(new long[]{2, 3}, new float[]{1, 2, 3, 4, 5, 6}));
        t.put("b", new TorchZipWriter.FloatTensor(new long[]{1, 70000, 1, 1}, new float[70000]));
        t.put("s", new TorchZipWriter.FloatTensor(new long[]{}, new float[]{7}));
        Path f = tmp.resolve("w.pth");
        TorchZipWriter.write(f, t);
        try (TorchZip z = TorchZip.open(f)) {
            assertThat(z.archiveName()).isEqualTo("archive");
            assertThat(z.tensors().keySet()).containsExactly("a", "b", "s");
            assertThat(z.floats("a")).containsExactly(1, 2, 3, 4, 5, 6);
            assertThat(z.tensors().get("a").stride()).containsExactly(3, 1);
            assertThat(z.tensors().get("b").shape()).containsExactly(1, 70000, 1, 1);
            assertThat(z.floats("s")).containsExactly(7);
        }
        String pkl = new String(TorchZipWriter.pickle(t), StandardCharsets.ISO_8859_1);
        assertThat(pkl).startsWith("\u0080\u0002").contains("torch._utils\n_rebuild_tensor_v2\n").contains("torch\nFloatStorage\n")
                .contains("collections\nOrderedDict\n").doesNotContain("builtins");
    }

    // --- hostile pickles ---

    @Test
    void globalOsSystemIsRefusedWithoutRunningIt() throws Exception {
        Path marker = tmp.resolve("pwned");
        byte[] evil = new P().op(0x80, 2).global("os", "system").op('(').str("touch " + marker).op('t', 'R', '.').bytes();
        assertThatThrownBy(() -> load(evil)).isInstanceOf(TorchFormatException.class).hasMessageContaining(FILE.toString())
                .hasMessageContaining("global os.system is not allowed").hasMessageContaining("nothing was executed");
        Path pth = zip("evil.pth", evil, Map.of());
        assertThatThrownBy(() -> TorchZip.open(pth)).isInstanceOf(TorchFormatException.class).hasMessageContaining(pth.toString())
                .hasMessageContaining("os.system");
        assertThat(marker).doesNotExist();
    }

    @Test
    void builtinsEvalThroughStackGlobalIsRefused() {
        byte[] evil = new P().op(0x80, 4).op(0x8c, 8).raw("builtins".getBytes(StandardCharsets.US_ASCII)).op(0x94)
                .op(0x8c, 4).raw("eval".getBytes(StandardCharsets.US_ASCII)).op(0x94, 0x93).str("__import__('os').system('id')")
                .op(0x85, 'R', '.').bytes();
        assertThatThrownBy(() -> load(evil)).hasMessageContaining("builtins.eval is not allowed");
    }

    @Test
    void allowedGlobalsCannotBeCalledAsSomethingElse() {
        byte[] p = new P().op(0x80, 2).global("torch", "FloatStorage").op(')', 'R', '.').bytes();
        assertThatThrownBy(() -> load(p)).hasMessageContaining("REDUCE calls a torch.FloatStorage");
        byte[] q = new P().op(0x80, 2).global("collections", "OrderedDict").str("x").op(0x85, 'R', '.').bytes();
        assertThatThrownBy(() -> load(q)).hasMessageContaining("OrderedDict");
    }

    @Test
    void objectBuildingOpcodesAreRefused() {
        byte[] newobj = new P().op(0x80, 2).global("collections", "OrderedDict").op(')', 0x81, '.').bytes();
        assertThatThrownBy(() -> load(newobj)).hasMessageContaining("NEWOBJ").hasMessageContaining("not allowed");
        byte[] inst = new P().op('(').raw("ios\nsystem\n".getBytes(StandardCharsets.US_ASCII)).op('.').bytes();
        assertThatThrownBy(() -> load(inst)).hasMessageContaining("INST");
        byte[] ext = new P().op(0x80, 2, 0x82, 1, '.').bytes();
        assertThatThrownBy(() -> load(ext)).hasMessageContaining("EXT1");
    }

    // --- broken pickles ---

    @Test
    void brokenPicklesGiveClearErrors() {
        assertThatThrownBy(() -> load(new P().op(0x80, 2, '}').bytes())).hasMessageContaining("without a STOP");
        assertThatThrownBy(() -> load(new P().op(0x80, 2, 'X', 0xff, 0xff, 0xff, 0xff, 'a').bytes())).hasMessageContaining("truncated");
        assertThatThrownBy(() -> load(new P().op(0x80, 2, 0xfe, '.').bytes())).hasMessageContaining("0xfe").hasMessageContaining("not supported");
        assertThatThrownBy(() -> load(new P().op(0x80, 9, '.').bytes())).hasMessageContaining("protocol 9");
        assertThatThrownBy(() -> load(new P().op('h', 5, '.').bytes())).hasMessageContaining("memo entry 5");
        assertThatThrownBy(() -> load(new P().op('t', '.').bytes())).hasMessageContaining("no MARK");
        assertThatThrownBy(() -> load(new P().op('0', '.').bytes())).hasMessageContaining("underflow");
        assertThatThrownBy(() -> load(new P().op(']', 'K', 1, 'K', 2, 's', '.').bytes())).hasMessageContaining("SETITEM on a list");
        assertThatThrownBy(() -> load(new P().op('}', ']', 'K', 1, 's', '.').bytes())).hasMessageContaining("dict key of type list");
        assertThatThrownBy(() -> load(new P().op('X', 2, 0, 0, 0, 0xc3, 0x28, '.').bytes())).hasMessageContaining("UTF-8");
        assertThatThrownBy(() -> load(new P().op(0x8b, 0xff, 0xff, 0xff, 0x7f, '.').bytes())).hasMessageContaining("LONG4");
        assertThatThrownBy(() -> load(new P().op('c').raw("torch".getBytes(StandardCharsets.US_ASCII)).bytes())).hasMessageContaining("newline");
    }

    @Test
    void plainValuesUnpickle() throws Exception {
        byte[] p = new P().op(0x80, 2, '}', '(').str("a").op('J', 0xff, 0xff, 0xff, 0xff).str("b").op(0x8a, 9, 0, 0, 0, 0, 0, 0, 0, 0, 1)
                .str("c").op(']', '(', 'N', 0x88, 'G', 0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 'e').op('u', '.').bytes();
        @SuppressWarnings("unchecked")
        Map<Object, Object> m = (Map<Object, Object>) load(p);
        @SuppressWarnings("unchecked")
        List<Object> c = (List<Object>) m.get("c");
        assertThat(m.get("a")).isEqualTo(-1L);
        assertThat(m.get("b")).isEqualTo(java.math.BigInteger.ONE.shiftLeft(64));
        assertThat(c).containsExactly(null, true, 1.0);
    }

    // --- tensors ---

    @Test
    void stridedHalfAndBigEndianStoragesAreRead() throws Exception {
        // a transposed view: size (3, 2), stride (1, 3) over 0..5 -> rows [0, 3], [1, 4], [2, 5]
        byte[] pkl = new P().op(0x80, 2, '}', '(').str("t").tensor("FloatStorage", "0", 6, 0, new int[]{3, 2}, new int[]{1, 3})
                .str("h").tensor("HalfStorage", "1", 2, 1, new int[]{1}, new int[]{1})
                .str("b").tensor("BFloat16Storage", "2", 1, 0, new int[]{}, new int[]{}).op('u', '.').bytes();
        ByteBuffer half = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putShort(Float.floatToFloat16(1.5f)).putShort(Float.floatToFloat16(-2f));
        ByteBuffer bf = ByteBuffer.allocate(2).order(ByteOrder.LITTLE_ENDIAN).putShort(DType.floatToBf16(3f));
        Path f = zip("s.pth", pkl, Map.of("data/0", floats(ByteOrder.LITTLE_ENDIAN, 0, 1, 2, 3, 4, 5), "data/1", half.array(), "data/2", bf.array()));
        try (TorchZip z = TorchZip.open(f)) {
            assertThat(z.floats("t")).containsExactly(0, 3, 1, 4, 2, 5);
            assertThat(z.tensors().get("t").isContiguous()).isFalse();
            assertThat(z.floats("h")).containsExactly(-2f);
            assertThat(z.floats("b")).containsExactly(3f);
        }
        byte[] pkl2 = new P().op(0x80, 2, '}', '(').str("t").tensor("FloatStorage", "0", 2, 0, new int[]{2}, new int[]{1}).op('u', '.').bytes();
        Path big = tmp.resolve("big.pth");
        try (ZipOutputStream z = new ZipOutputStream(Files.newOutputStream(big))) {
            z.putNextEntry(new ZipEntry("x/data.pkl"));
            z.write(pkl2);
            z.putNextEntry(new ZipEntry("x/byteorder"));
            z.write("big".getBytes(StandardCharsets.US_ASCII));
            z.putNextEntry(new ZipEntry("x/data/0"));
            z.write(floats(ByteOrder.BIG_ENDIAN, 1.25f, -7f));
        }
        try (TorchZip z = TorchZip.open(big)) {
            assertThat(z.floats("t")).containsExactly(1.25f, -7f);
        }
    }

    @Test
    void orderedDictStateDictsWithMetadataAndWrappersAreRead() throws Exception {
        // OrderedDict() + SETITEMS + BUILD {'_metadata': OrderedDict()}, wrapped as {'model': ..., 'epoch': 3}
        byte[] pkl = new P().op(0x80, 2, '}', '(').str("model").global("collections", "OrderedDict").op(')', 'R', '(').str("w")
                .tensor("FloatStorage", "0", 2, 0, new int[]{2}, new int[]{1}).op('u', '}').str("_metadata")
                .global("collections", "OrderedDict").op(')', 'R', 's', 'b').str("epoch").k(3).op('u', '.').bytes();
        Path f = zip("sd.pth", pkl, Map.of("data/0", floats(ByteOrder.LITTLE_ENDIAN, 4, 5)));
        try (TorchZip z = TorchZip.open(f)) {
            assertThat(z.tensors().keySet()).containsExactly("w");
            assertThat(z.floats("w")).containsExactly(4, 5);
        }
    }

    @Test
    void tensorsThatDoNotFitTheirStorageAreRefused() throws Exception {
        byte[] over = new P().op(0x80, 2, '}', '(').str("t").tensor("FloatStorage", "0", 4, 2, new int[]{3}, new int[]{1}).op('u', '.').bytes();
        Path f = zip("over.pth", over, Map.of("data/0", floats(ByteOrder.LITTLE_ENDIAN, 0, 1, 2, 3)));
        assertThatThrownBy(() -> TorchZip.open(f)).hasMessageContaining(f.toString()).hasMessageContaining("reaches element 4")
                .hasMessageContaining("holds 4");
        byte[] sized = new P().op(0x80, 2, '}', '(').str("t").tensor("FloatStorage", "0", 4, 0, new int[]{4}, new int[]{1}).op('u', '.').bytes();
        Path g = zip("short.pth", sized, Map.of("data/0", floats(ByteOrder.LITTLE_ENDIAN, 0, 1)));
        assertThatThrownBy(() -> TorchZip.open(g)).hasMessageContaining("holds 8 bytes").hasMessageContaining("16 bytes");
        Path h = zip("missing.pth", sized, Map.of());
        assertThatThrownBy(() -> TorchZip.open(h)).hasMessageContaining("archive/data/0 is missing");
        byte[] ints = new P().op(0x80, 2, '}', '(').str("t").tensor("LongStorage", "0", 1, 0, new int[]{1}, new int[]{1}).op('u', '.').bytes();
        Path i = zip("ints.pth", ints, Map.of("data/0", new byte[8]));
        try (TorchZip z = TorchZip.open(i)) {
            assertThatThrownBy(() -> z.floats("t")).hasMessageContaining("dtype I64");
        }
    }

    @Test
    void archivesThatAreNotTorchCheckpointsAreNamed() throws Exception {
        Path legacy = tmp.resolve("legacy.pth");
        Files.write(legacy, new byte[]{(byte) 0x80, 2, (byte) 0x8a, 10});
        assertThatThrownBy(() -> TorchZip.open(legacy)).hasMessageContaining("legacy torch.save format");
        Path flat = tmp.resolve("flat.pth");
        try (ZipOutputStream z = new ZipOutputStream(Files.newOutputStream(flat))) {
            z.putNextEntry(new ZipEntry("data.pkl"));
            z.write('.');
        }
        assertThatThrownBy(() -> TorchZip.open(flat)).hasMessageContaining("not in a folder");
        byte[] all = Files.readAllBytes(REAL);
        Path cut = tmp.resolve("cut.pth");
        Files.write(cut, java.util.Arrays.copyOf(all, 1000));
        assertThatThrownBy(() -> TorchZip.open(cut)).isInstanceOf(TorchFormatException.class).hasMessageContaining(cut.toString())
                .hasMessageContaining("zip");
    }
}

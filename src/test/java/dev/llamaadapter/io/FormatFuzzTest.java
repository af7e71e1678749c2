package dev.llamaadapter.io;

import dev.llamaadapter.adapter.AdapterFormats;
import dev.llamaadapter.io.gguf.GgmlType;
import dev.llamaadapter.io.gguf.GgufFile;
import dev.llamaadapter.io.gguf.GgufTensor;
import dev.llamaadapter.io.torch.TorchFormatException;
import dev.llamaadapter.io.torch.TorchUnpickler;
import dev.llamaadapter.io.torch.TorchZip;
import dev.llamaadapter.io.torch.TorchZipWriter;
import dev.llamaadapter.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipOutputStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A bounded mutation fuzzer over the file readers (about 10 s in all; {@code -Dfuzz.seconds=N} for
 * longer, {@code -Dfuzz.seed=S} for another sequence): valid seed files — safetensors adapters and a
 * model, the pickle and the zip of torch.save checkpoints, GGUF files (one with K-quant tensors, which are
 * also dequantised), a PEFT directory — are mutated
 * (bit flips, interesting bytes, truncations, 4- and 8-byte length-field edits, deleted and duplicated
 * ranges) and read. Every failure must be an IOException (SafeTensorsException, TorchFormatException,
 * GgufException, AdapterFormatException, ZipException…) with a message; any other exception, an
 * error or a hang fails the test and leaves the input under target/fuzz-failures/ to reproduce it.
 */
class FormatFuzzTest {
    static final Path PARITY = Path.of("src/test/resources/parity/interop-identity");
    static final double SECONDS = Double.parseDouble(System.getProperty("fuzz.seconds", "10"));
    static final long SEED = Long.getLong("fuzz.seed", 20240611L);

    @TempDir
    Path tmp;

    /** Reads one candidate input; must throw only IOException. */
    @FunctionalInterface
    interface Target {
        void read(byte[] input, Path scratch) throws IOException;
    }

    record Stats(String name, int runs, int rejected) {}

    final List<Stats> stats = new ArrayList<>();

    // --- mutations ---

    static final long[] INTERESTING = {0, 1, -1, 2, 7, 8, 16, 64, 127, 128, 255, 256, 4096, 65535, 65536, Integer.MAX_VALUE,
            Integer.MIN_VALUE, 0xffffffffL, 1L << 32, Long.MAX_VALUE, Long.MIN_VALUE, 1L << 40, (1L << 31) - 8};

    static byte[] mutate(byte[] seed, Random r) {
        byte[] b = seed.clone();
        int n = 1 + r.nextInt(3);
        for (int k = 0; k < n && b.length > 0; k++) {
            int at = r.nextInt(b.length);
            switch (r.nextInt(8)) {
                case 0 -> b[at] ^= (byte) (1 << r.nextInt(8)); // bit flip
                case 1 -> b[at] = (byte) INTERESTING[r.nextInt(INTERESTING.length)]; // interesting byte
                case 2 -> b = java.util.Arrays.copyOf(b, r.nextInt(b.length)); // truncation
                case 3 -> put(b, at, 4, r.nextBoolean() ? INTERESTING[r.nextInt(INTERESTING.length)] : get(b, at, 4) + r.nextInt(33) - 16);
                case 4 -> put(b, at, 8, r.nextBoolean() ? INTERESTING[r.nextInt(INTERESTING.length)] : get(b, at, 8) + r.nextInt(33) - 16);
                case 5 -> { // delete a range
                    int len = Math.min(b.length - at, 1 + r.nextInt(16));
                    byte[] c = new byte[b.length - len];
                    System.arraycopy(b, 0, c, 0, at);
                    System.arraycopy(b, at + len, c, at, b.length - at - len);
                    b = c;
                }
                case 6 -> { // duplicate a range in place
                    int len = Math.min(b.length - at, 1 + r.nextInt(16));
                    int to = r.nextInt(b.length);
                    byte[] c = new byte[b.length + len];
                    System.arraycopy(b, 0, c, 0, to);
                    System.arraycopy(b, at, c, to, len);
                    System.arraycopy(b, to, c, to + len, b.length - to);
                    b = c;
                }
                default -> b[at] = (byte) r.nextInt(256); // random byte
            }
        }
        return b;
    }

    static long get(byte[] b, int at, int n) {
        long v = 0;
        for (int i = Math.min(n, b.length - at) - 1; i >= 0; i--) v = (v << 8) | (b[at + i] & 0xff);
        return v;
    }

    static void put(byte[] b, int at, int n, long v) {
        for (int i = 0; i < n && at + i < b.length; i++) b[at + i] = (byte) (v >>> (8 * i));
    }

    // --- the loop ---

    void fuzz(String name, List<byte[]> seeds, Target target, double seconds) throws Exception {
        fuzz(name, seeds, target, seconds, true);
    }

    void fuzz(String name, List<byte[]> seeds, Target target, double seconds, boolean seedsRead) throws Exception {
        Random r = new Random(SEED ^ name.hashCode());
        long end = System.nanoTime() + (long) (seconds * 1e9);
        Path scratch = Files.createDirectories(tmp.resolve(name));
        // the seeds themselves must read
        if (seedsRead) for (byte[] s : seeds) target.read(s, scratch);
        int runs = 0, rejected = 0;
        while (System.nanoTime() < end) {
            byte[] input = mutate(seeds.get(r.nextInt(seeds.size())), r);
            runs++;
            try {
                target.read(input, scratch);
            } catch (IOException e) {
                rejected++;
                if (e.getMessage() == null || e.getMessage().isBlank()) fail(name, runs, input, e, "an IOException without a message");
            } catch (Throwable t) {
                fail(name, runs, input, t, "not an IOException");
            }
        }
        stats.add(new Stats(name, runs, rejected));
        System.err.printf("fuzz %s: %d inputs, %d rejected with an IOException, seed %d%n", name, runs, rejected, SEED);
        assertThat(runs).as("%s ran", name).isPositive();
    }

    static void fail(String name, int run, byte[] input, Throwable t, String why) throws IOException {
        Path dir = Files.createDirectories(Path.of("target/fuzz-failures"));
        Path f = dir.resolve(name + "-" + SEED + "-" + run + ".bin");
        Files.write(f, input);
        throw new AssertionError("fuzz " + name + ": input " + run + " (saved to " + f + ", seed " + SEED + ") threw " + why + ": " + t, t);
    }

    static Path write(Path dir, String file, byte[] b) throws IOException {
        Path f = dir.resolve(file);
        Files.write(f, b);
        return f;
    }

    // --- targets ---

    static void readSafetensors(Path f) throws IOException {
        try (SafeTensors st = SafeTensors.open(f)) {
            st.metadata().size();
            for (String n : st.names()) {
                DType dt = st.info(n).dtype();
                if (dt == DType.F32 || dt == DType.F16 || dt == DType.BF16) st.floats(n);
                else if (dt == DType.I32 || dt == DType.I64) st.ints(n);
                else st.info(n).data().toArray(ValueLayout.JAVA_BYTE);
            }
        }
    }

    static void readTorchZip(Path f) throws IOException {
        try (TorchZip z = TorchZip.open(f)) {
            for (String n : z.tensors().keySet()) {
                DType dt = z.tensors().get(n).storage().dtype();
                if (dt == DType.F32 || dt == DType.F16 || dt == DType.BF16 || dt == DType.F64) z.floats(n);
                else z.storageBytes(z.tensors().get(n).storage());
            }
        }
    }

    /** A loader that checks persistent ids the way TorchZip does, without an archive. */
    static Object storage(Object pid, String where) throws TorchFormatException {
        if (pid instanceof TorchUnpickler.Tuple t && t.size() == 5 && t.get(1) instanceof TorchUnpickler.StorageType st
                && t.get(2) instanceof String key && t.get(4) instanceof Long n && n >= 0)
            return new TorchUnpickler.StorageRef(key, st.dtype(), n, "cpu");
        throw new TorchFormatException(Path.of("fuzz.pkl"), where + ": bad persistent id");
    }

    static byte[] pickleOf(Path pth) throws IOException {
        try (ZipFile z = new ZipFile(pth.toFile())) {
            ZipEntry e = z.stream().filter(x -> x.getName().endsWith("/data.pkl")).findFirst().orElseThrow();
            return z.getInputStream(e).readAllBytes();
        }
    }

    static byte[] ourPth() {
        Map<String, TorchZipWriter.FloatTensor> t = new LinkedHashMap<>();
        t.put("adapter_query.weight", new TorchZipWriter.FloatTensor(new long[]{4, 8}, new float[32]));
        t.put("layers.0.attention.gate", new TorchZipWriter.FloatTensor(new long[]{1, 2, 1, 1}, new float[]{0.5f, -0.5f}));
        t.put("big", new TorchZipWriter.FloatTensor(new long[]{300}, new float[300]));
        return TorchZipWriter.bytes(t);
    }

    /** A small GGUF v3 file written byte by byte: three metadata values (string, u32, f32 array) and two F32 tensors. */
    static byte[] gguf() {
        ByteBuffer b = ByteBuffer.allocate(1024).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(GgufFile.MAGIC).putInt(3).putLong(2).putLong(3);
        str(b, "general.architecture").putInt(8);
        str(b, "llama");
        str(b, "llama.block_count").putInt(4).putInt(1);
        str(b, "xs").putInt(9).putInt(6).putLong(3).putFloat(1).putFloat(2).putFloat(3);
        str(b, "a.weight").putInt(2).putLong(4).putLong(2).putInt(0).putLong(0);
        str(b, "b.weight").putInt(1).putLong(4).putInt(0).putLong(32);
        while (b.position() % 32 != 0) b.put((byte) 0);
        for (int i = 0; i < 12; i++) b.putFloat(i);
        byte[] out = new byte[b.position()];
        b.flip().get(out);
        return out;
    }

    /**
     * A GGUF v3 file with one tensor of each K-quant the engine reads: a Q4_K [2, 256], a Q6_K [1, 256] and a Q5_K [1, 256]
     * (random quants, finite scales), so mutations reach the super-block geometry and the formats' readers.
     */
    static byte[] ggufKQuants() {
        ByteBuffer b = ByteBuffer.allocate(2048).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(GgufFile.MAGIC).putInt(3).putLong(3).putLong(1);
        str(b, "general.architecture").putInt(8);
        str(b, "llama");
        str(b, "q4k.weight").putInt(2).putLong(256).putLong(2).putInt(12).putLong(0);
        str(b, "q6k.weight").putInt(2).putLong(256).putLong(1).putInt(14).putLong(288);
        str(b, "q5k.weight").putInt(2).putLong(256).putLong(1).putInt(13).putLong(512); // after the Q6_K's 210 bytes, aligned to 32
        while (b.position() % 32 != 0) b.put((byte) 0);
        Random r = new Random(1);
        byte[] q = new byte[512 + 176]; // [Q4_K 288 | Q6_K 210 | pad 14 | Q5_K 176]
        r.nextBytes(q);
        for (int at : new int[] {0, 2, 144, 146, 288 + 208, 512, 514}) { // the fp16 scales: 1/64
            q[at] = 0;
            q[at + 1] = 0x24;
        }
        b.put(q);
        byte[] out = new byte[b.position()];
        b.flip().get(out);
        return out;
    }

    /**
     * A GGUF v3 file with one [2, 256] tensor of every other block type the engine reads (Q2_K, Q3_K, IQ4_XS,
     * IQ4_NL, Q4_1, Q5_0, Q5_1; random bytes, so some scales are NaN or infinite, which must only give NaNs),
     * so that mutations reach each format's geometry, dequantize and dot.
     */
    static byte[] ggufBlockTypes() {
        GgmlType[] types = {GgmlType.Q2_K, GgmlType.Q3_K, GgmlType.IQ4_XS, GgmlType.IQ4_NL, GgmlType.Q4_1, GgmlType.Q5_0, GgmlType.Q5_1};
        ByteBuffer b = ByteBuffer.allocate(4096).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(GgufFile.MAGIC).putInt(3).putLong(types.length).putLong(1);
        str(b, "general.architecture").putInt(8);
        str(b, "llama");
        long off = 0;
        for (GgmlType t : types) {
            str(b, t.name().toLowerCase(java.util.Locale.ROOT) + ".weight").putInt(2).putLong(256).putLong(2).putInt(t.id).putLong(off);
            off += (2 * t.rowBytes(256) + 31) / 32 * 32;
        }
        while (b.position() % 32 != 0) b.put((byte) 0);
        byte[] q = new byte[(int) off];
        new Random(2).nextBytes(q);
        b.put(q);
        byte[] out = new byte[b.position()];
        b.flip().get(out);
        return out;
    }

    /**
     * Every small 2-D tensor of a block type the engine reads, dequantised through its format and each row
     * dotted with a vector (the decode kernel), bounds coming from the file.
     */
    static void dequantizeBlocks(GgufFile g) {
        for (GgufTensor t : g.tensors())
            if (t.type().dtype != null && t.type().dtype.isQuantized() && t.ne().length == 2 && t.ne()[0] < 4096 && t.ne()[1] < 64) {
                int rows = (int) t.ne()[1], cols = (int) t.ne()[0];
                new dev.llamaadapter.tensor.WeightMatrix(t.name(), t.data(), t.type().dtype, rows, cols).toFloats();
                float[] x = new float[cols]; // [cols]
                java.util.Arrays.fill(x, 0.5f);
                for (int r = 0; r < rows; r++) t.type().dtype.format().dot(x, 0, t.data(), r * t.type().rowBytes(cols), cols);
            }
    }

    static ByteBuffer str(ByteBuffer b, String s) {
        byte[] u = s.getBytes(StandardCharsets.UTF_8);
        return b.putLong(u.length).put(u);
    }

    dev.llamaadapter.model.BaseModel base;

    /** Describes an adapter, and reads it without a base and for the interop-identity case's base. */
    void readAdapter(Path p) throws IOException {
        AdapterFormats.describe(p);
        try {
            AdapterFormats.load(p, null, null);
        } catch (IOException e) {
            if (e.getMessage() == null || e.getMessage().isBlank()) throw e;
        }
        AdapterFormats.load(p, base, null);
    }

    @Test
    void readersOnlyEverThrowIOExceptionsOnMutatedInputs() throws Exception {
        double each = SECONDS / 6;
        fuzz("safetensors", List.of(Files.readAllBytes(PARITY.resolve("adapter.safetensors")),
                        Files.readAllBytes(PARITY.resolve("formats/peft/adapter_model.safetensors")),
                        Files.readAllBytes(PARITY.resolve("batch.safetensors"))),
                (in, dir) -> readSafetensors(write(dir, "f.safetensors", in)), each);

        byte[] realPth = Files.readAllBytes(PARITY.resolve("formats/official.pth"));
        byte[] ours = ourPth();
        Path oursFile = write(tmp, "ours.pth", ours);
        fuzz("pickle", List.of(pickleOf(PARITY.resolve("formats/official.pth")), pickleOf(oursFile)),
                (in, dir) -> TorchUnpickler.load(in, Path.of("fuzz.pkl"), "data.pkl", FormatFuzzTest::storage), each);

        fuzz("torch-zip", List.of(realPth, ours), (in, dir) -> readTorchZip(write(dir, "f.pth", in)), each);

        // a valid zip around a mutated pickle reaches the storage checks and the tensor reads
        byte[] storage0 = new byte[1536];
        fuzz("torch-pickle-in-zip", List.of(pickleOf(PARITY.resolve("formats/official.pth"))), (in, dir) -> {
            ByteArrayOutputStream bos = new ByteArrayOutputStream();
            try (ZipOutputStream z = new ZipOutputStream(bos)) {
                z.putNextEntry(new ZipEntry("official/data.pkl"));
                z.write(in);
                for (int k = 0; k < 4; k++) {
                    z.putNextEntry(new ZipEntry("official/data/" + k));
                    z.write(k == 0 ? storage0 : new byte[16]);
                }
            }
            readTorchZip(write(dir, "f.pth", bos.toByteArray()));
        }, each);

        fuzz("gguf", List.of(gguf(), ggufKQuants(), ggufBlockTypes()), (in, dir) -> {
            try (GgufFile g = GgufFile.open(write(dir, "f.gguf", in))) {
                g.metadata().asMap().values().forEach(String::valueOf);
                for (GgufTensor t : g.tensors()) t.data().toArray(ValueLayout.JAVA_BYTE);
                dequantizeBlocks(g);
            }
        }, each);

        // whole family models through the GGUF config and weight readers (llama with rope_freqs and biases, phi3, gemma2)
        List<byte[]> families = new java.util.ArrayList<>();
        for (String fam : new String[] {"llama", "phi3", "gemma2"})
            families.add(Files.readAllBytes(Path.of("src/test/resources/families-gguf", fam, "model.gguf")));
        fuzz("gguf-family-model", families, (in, dir) -> {
            Path f = write(dir, "m.gguf", in);
            try (dev.llamaadapter.model.BaseModel m = dev.llamaadapter.model.BaseModel.open(f)) {
                m.fingerprint();
                m.tokenizer();
            }
        }, each / 3);

        // whole adapters through AdapterFormats: an official checkpoint, a PEFT config, PEFT weights
        base = dev.llamaadapter.model.BaseModel.open(PARITY.resolve("model"));
        byte[] config = Files.readAllBytes(PARITY.resolve("formats/peft/adapter_config.json"));
        byte[] peftWeights = Files.readAllBytes(PARITY.resolve("formats/peft/adapter_model.safetensors"));
        fuzz("official-adapter", List.of(realPth), (in, dir) -> readAdapter(write(dir, "a.pth", in)), each / 3);
        fuzz("peft-config", List.of(config), (in, dir) -> {
            Path peft = Files.createDirectories(dir.resolve("peft"));
            Files.write(peft.resolve("adapter_config.json"), in);
            Files.write(peft.resolve("adapter_model.safetensors"), peftWeights);
            readAdapter(peft);
        }, each / 3);
        fuzz("peft-weights", List.of(peftWeights), (in, dir) -> {
            Path peft = Files.createDirectories(dir.resolve("peft"));
            Files.write(peft.resolve("adapter_config.json"), config);
            Files.write(peft.resolve("adapter_model.safetensors"), in);
            readAdapter(peft);
        }, each / 3);

        base.close();
        assertThat(stats).hasSize(9);
    }
}

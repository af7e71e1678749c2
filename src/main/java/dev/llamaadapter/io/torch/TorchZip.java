package dev.llamaadapter.io.torch;

import dev.llamaadapter.io.FileKind;

import dev.llamaadapter.io.torch.TorchUnpickler.StorageRef;
import dev.llamaadapter.io.torch.TorchUnpickler.StorageType;
import dev.llamaadapter.io.torch.TorchUnpickler.TensorRef;
import dev.llamaadapter.io.torch.TorchUnpickler.Tuple;
import dev.llamaadapter.tensor.DType;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * A checkpoint written by {@code torch.save} (PyTorch ≥ 1.6): a zip archive whose entries all sit in one
 * folder {@code <archive>/} — {@code data.pkl} (the pickled object), {@code data/<key>} (one raw storage per
 * key, in the byte order of {@code byteorder}, little-endian when absent), {@code version} and others.
 * The pickle is read by the restricted {@link TorchUnpickler}: nothing in the file is executed. Storages
 * are read on demand, so listing a large checkpoint is cheap. Every problem is a
 * {@link TorchFormatException} naming the file.
 */
public final class TorchZip implements AutoCloseable {

    /** data.pkl larger than this is not a state dict of tensors. */
    public static final long MAX_PICKLE_BYTES = 256L << 20;
    private static final Pattern STORAGE_KEY = Pattern.compile("[A-Za-z0-9_.\\-]{1,128}");

    private final Path path;
    private final ZipFile zip;
    private final String archive;
    private final ByteOrder order;
    private final String version;
    private final Object root;
    private final Map<String, StorageRef> storages;
    private final Map<String, TensorRef> stateDict;
    private final Map<String, byte[]> cache = new HashMap<>();

    private TorchZip(Path path, ZipFile zip, String archive, ByteOrder order, String version, Object root,
                     Map<String, StorageRef> storages, Map<String, TensorRef> stateDict) {
        this.path = path;
        this.zip = zip;
        this.archive = archive;
        this.order = order;
        this.version = version;
        this.root = root;
        this.storages = storages;
        this.stateDict = stateDict;
    }

    /** Opens the archive and unpickles data.pkl (storages are read later, on demand). */
    public static TorchZip open(Path file) throws TorchFormatException {
        if (!Files.exists(file)) throw new TorchFormatException(file, "no such file");
        FileKind kind = FileKind.of(file);
        if (kind == FileKind.PICKLE)
            throw new TorchFormatException(file, "is in the legacy torch.save format (before PyTorch 1.6), which is not supported: "
                    + "re-save it with a recent torch.save (the zip format)");
        if (kind != FileKind.TORCH_ZIP)
            throw new TorchFormatException(file, "is not a torch.save checkpoint (a zip archive starting with 'PK')"
                    + (kind == FileKind.UNKNOWN ? "" : ": it is " + kind.description()));
        ZipFile zip;
        try {
            zip = new ZipFile(file.toFile());
        } catch (NoSuchFileException e) {
            throw new TorchFormatException(file, "no such file", e);
        } catch (IOException | RuntimeException e) {
            throw new TorchFormatException(file, "is not a readable zip archive (truncated or corrupt?): " + e.getMessage(), e);
        }
        try {
            return read(file, zip);
        } catch (TorchFormatException | RuntimeException | Error e) {
            closeQuietly(zip);
            if (e instanceof TorchFormatException t) throw t;
            if (e instanceof StackOverflowError || e instanceof OutOfMemoryError)
                throw new TorchFormatException(file, "is too deeply nested or too large to read: " + e, e);
            if (e instanceof Error err) throw err;
            throw new TorchFormatException(file, "is corrupt: " + e, e);
        }
    }

    private static TorchZip read(Path file, ZipFile zip) throws TorchFormatException {
        List<String> names = new ArrayList<>();
        Enumeration<? extends ZipEntry> en = zip.entries();
        while (en.hasMoreElements()) names.add(en.nextElement().getName());
        if (names.isEmpty()) throw new TorchFormatException(file, "the zip archive is empty: not a torch.save checkpoint");
        String first = names.getFirst();
        int slash = first.indexOf('/');
        if (slash <= 0) throw new TorchFormatException(file, "entry '" + first + "' is not in a folder: not a torch.save checkpoint");
        String archive = first.substring(0, slash);
        String prefix = archive + "/";
        ZipEntry pkl = zip.getEntry(prefix + "data.pkl");
        if (pkl == null) throw new TorchFormatException(file, "has no " + prefix + "data.pkl: not a torch.save checkpoint");

        ByteOrder order = ByteOrder.LITTLE_ENDIAN;
        ZipEntry bo = zip.getEntry(prefix + "byteorder");
        if (bo != null) {
            String s = new String(readEntry(file, zip, bo, 16), StandardCharsets.US_ASCII).trim();
            order = switch (s) {
                case "little" -> ByteOrder.LITTLE_ENDIAN;
                case "big" -> ByteOrder.BIG_ENDIAN;
                default -> throw new TorchFormatException(file, prefix + "byteorder is '" + s + "', expected 'little' or 'big'");
            };
        }
        String version = null;
        ZipEntry ver = zip.getEntry(prefix + "version");
        if (ver == null) ver = zip.getEntry(prefix + ".data/version");
        if (ver != null) version = new String(readEntry(file, zip, ver, 64), StandardCharsets.US_ASCII).trim();

        byte[] pickle = readEntry(file, zip, pkl, MAX_PICKLE_BYTES);
        Map<String, StorageRef> storages = new LinkedHashMap<>();
        TorchUnpickler.PersistentLoader loader = (pid, where) -> storage(file, zip, prefix, storages, pid, where);
        Object root = TorchUnpickler.load(pickle, file, prefix + "data.pkl", loader);
        return new TorchZip(file, zip, archive, order, version, root, storages, stateDict(root));
    }

    private static StorageRef storage(Path file, ZipFile zip, String prefix, Map<String, StorageRef> seen, Object pid, String where)
            throws TorchFormatException {
        if (!(pid instanceof Tuple t) || t.size() != 5 || !"storage".equals(t.get(0)))
            throw new TorchFormatException(file, where + ": persistent id is not a ('storage', type, key, location, size) tuple");
        if (!(t.get(1) instanceof StorageType type))
            throw new TorchFormatException(file, where + ": storage type is " + TorchUnpickler.typeName(t.get(1)) + ", expected a torch.*Storage class");
        if (!(t.get(2) instanceof String key) || !STORAGE_KEY.matcher(key).matches())
            throw new TorchFormatException(file, where + ": storage key is not a plain name");
        if (!(t.get(3) instanceof String location))
            throw new TorchFormatException(file, where + ": storage location is " + TorchUnpickler.typeName(t.get(3)) + ", expected a str");
        if (!(t.get(4) instanceof Long numel) || numel < 0)
            throw new TorchFormatException(file, where + ": storage size is not a non-negative int");
        StorageRef prev = seen.get(key);
        if (prev != null) {
            if (prev.dtype() != type.dtype() || prev.numel() != numel)
                throw new TorchFormatException(file, where + ": storage '" + key + "' is described twice, differently");
            return prev;
        }
        ZipEntry e = zip.getEntry(prefix + "data/" + key);
        if (e == null) throw new TorchFormatException(file, "storage " + prefix + "data/" + key + " is missing from the archive");
        long bytes;
        try {
            bytes = Math.multiplyExact(numel, (long) type.dtype().size);
        } catch (ArithmeticException x) {
            throw new TorchFormatException(file, "storage " + prefix + "data/" + key + " of " + numel + " elements overflows");
        }
        if (e.getSize() >= 0 && e.getSize() != bytes)
            throw new TorchFormatException(file, "storage " + prefix + "data/" + key + " holds " + e.getSize() + " bytes, but the pickle says "
                    + numel + " × " + type.dtype() + " = " + bytes + " bytes");
        StorageRef s = new StorageRef(key, type.dtype(), numel, location);
        seen.put(key, s);
        return s;
    }

    /** The tensors of the state dict: the top-level dict, or the one under "model" / "state_dict" of a wrapper dict. */
    private static Map<String, TensorRef> stateDict(Object root) {
        Map<String, TensorRef> out = new LinkedHashMap<>();
        if (!(root instanceof Map<?, ?> top)) return out;
        Map<?, ?> m = top;
        for (String wrap : new String[]{"model", "state_dict", "module"})
            if (top.get(wrap) instanceof Map<?, ?> inner && !hasTensors(top)) {
                m = inner;
                break;
            }
        for (Map.Entry<?, ?> e : m.entrySet())
            if (e.getKey() instanceof String k && e.getValue() instanceof TensorRef t) out.put(k, t);
        return out;
    }

    private static boolean hasTensors(Map<?, ?> m) {
        for (Object v : m.values()) if (v instanceof TensorRef) return true;
        return false;
    }

    private static byte[] readEntry(Path file, ZipFile zip, ZipEntry e, long limit) throws TorchFormatException {
        long size = e.getSize();
        if (size > limit)
            throw new TorchFormatException(file, "entry " + e.getName() + " is " + size + " bytes, more than the " + limit + " allowed");
        try (InputStream in = zip.getInputStream(e)) {
            byte[] b = in.readNBytes((int) Math.min(limit + 1, size >= 0 ? size + 1 : limit + 1));
            if (b.length > limit) throw new TorchFormatException(file, "entry " + e.getName() + " is more than the " + limit + " bytes allowed");
            if (size >= 0 && b.length != size)
                throw new TorchFormatException(file, "entry " + e.getName() + " has " + b.length + " bytes where the zip directory says " + size
                        + ": truncated or corrupt archive");
            return b;
        } catch (TorchFormatException x) {
            throw x;
        } catch (IOException | RuntimeException x) {
            throw new TorchFormatException(file, "entry " + e.getName() + " cannot be read (truncated or corrupt archive): " + x.getMessage(), x);
        }
    }

    public Path path() {
        return path;
    }

    /** The folder the entries sit in (torch uses the file's base name or "archive"). */
    public String archiveName() {
        return archive;
    }

    /** The archive's format version record ("3" for current torch), or null when it has none. */
    public String version() {
        return version;
    }

    public ByteOrder byteOrder() {
        return order;
    }

    /** The unpickled object (usually a dict of tensors); see {@link TorchUnpickler} for the Java types. */
    public Object root() {
        return root;
    }

    /** The state dict's tensors by name, in file order (the tensors of the top dict, or of its "model" / "state_dict"). */
    public Map<String, TensorRef> tensors() {
        return Collections.unmodifiableMap(stateDict);
    }

    /** The storages the pickle refers to, by key. */
    public Map<String, StorageRef> storages() {
        return Collections.unmodifiableMap(storages);
    }

    /** A tensor of the state dict as fp32 values in row-major order (F32, F16, BF16 or F64 storages). */
    public float[] floats(String name) throws TorchFormatException {
        TensorRef t = stateDict.get(name);
        if (t == null) throw new TorchFormatException(path, "tensor '" + name + "' not found");
        return floats(name, t);
    }

    /** Any tensor rebuilt from this archive as fp32 values in row-major order. */
    public float[] floats(String name, TensorRef t) throws TorchFormatException {
        DType dt = t.storage().dtype();
        if (dt != DType.F32 && dt != DType.F16 && dt != DType.BF16 && dt != DType.F64)
            throw new TorchFormatException(path, "tensor '" + name + "' has dtype " + dt + ", expected a float type (F32, F16, BF16 or F64)");
        long n = t.numel();
        if (n > Integer.MAX_VALUE - 16) throw new TorchFormatException(path, "tensor '" + name + "' has " + n + " elements, too many to read");
        ByteBuffer b = ByteBuffer.wrap(storageBytes(t.storage())).order(order);
        float[] out = new float[(int) n];
        if (n == 0) return out;
        int rank = t.shape().length;
        long[] idx = new long[rank];
        long off = t.offset();
        for (int i = 0; i < out.length; i++) {
            int e = Math.toIntExact(off);
            out[i] = switch (dt) {
                case F32 -> b.getFloat(e * 4);
                case F16 -> Float.float16ToFloat(b.getShort(e * 2));
                case BF16 -> DType.bf16ToFloat(b.getShort(e * 2));
                default -> (float) b.getDouble(e * 8);
            };
            // advance the row-major index, keeping off = offset + sum(idx * stride)
            for (int d = rank - 1; d >= 0; d--) {
                if (++idx[d] < t.shape()[d]) {
                    off += t.stride()[d];
                    break;
                }
                off -= (idx[d] - 1) * t.stride()[d];
                idx[d] = 0;
            }
        }
        return out;
    }

    /** The raw bytes of a storage, in the archive's byte order. */
    public synchronized byte[] storageBytes(StorageRef s) throws TorchFormatException {
        byte[] b = cache.get(s.key());
        if (b != null) return b;
        long bytes = s.numel() * s.dtype().size;
        if (bytes > Integer.MAX_VALUE - 16)
            throw new TorchFormatException(path, "storage data/" + s.key() + " is " + bytes + " bytes, too large to read into memory");
        ZipEntry e = zip.getEntry(archive + "/data/" + s.key());
        if (e == null) throw new TorchFormatException(path, "storage " + archive + "/data/" + s.key() + " is missing from the archive");
        try {
            b = readEntry(path, zip, e, bytes);
        } catch (OutOfMemoryError oom) { // one large allocation: the heap is fine once it fails
            throw new TorchFormatException(path, "storage " + e.getName() + " of " + bytes + " bytes does not fit in memory (raise -Xmx)");
        }
        if (b.length != bytes)
            throw new TorchFormatException(path, "storage " + e.getName() + " holds " + b.length + " bytes, expected " + bytes);
        cache.put(s.key(), b);
        return b;
    }

    @Override
    public void close() {
        closeQuietly(zip);
    }

    private static void closeQuietly(ZipFile z) {
        try {
            z.close();
        } catch (IOException ignored) {
            // read-only: nothing to lose
        }
    }

    @Override
    public String toString() {
        return "TorchZip[" + path + ", " + stateDict.size() + " tensors]";
    }
}

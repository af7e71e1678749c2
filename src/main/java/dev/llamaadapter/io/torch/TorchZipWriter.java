package dev.llamaadapter.io.torch;

import dev.llamaadapter.io.AtomicFile;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32;

/**
 * Writes a dict of fp32 tensors the way {@code torch.save(dict, path)} does, so that {@code torch.load}
 * (also with {@code weights_only=True}) reads it back: a stored (uncompressed) zip whose entries sit in
 * the folder {@code archive/}: {@code data.pkl} — a protocol-2 pickle of the dict in which each tensor is
 * {@code torch._utils._rebuild_tensor_v2(storage, 0, size, stride, False, collections.OrderedDict())}
 * and each storage the persistent id {@code ('storage', torch.FloatStorage, key, 'cpu', numel)} —, then
 * {@code byteorder} ("little"), one {@code data/<key>} entry per tensor (raw little-endian fp32, its data
 * aligned to 64 bytes with a "FB" padding extra field as torch's writer does) and {@code version} ("3").
 * The file is written atomically.
 */
public final class TorchZipWriter {
    private TorchZipWriter() {}

    /** One fp32 tensor: row-major values of the given shape. */
    public record FloatTensor(long[] shape, float[] values) {
        public FloatTensor {
            long n = 1;
            for (long d : shape) {
                if (d < 0) throw new IllegalArgumentException("negative dimension");
                n = Math.multiplyExact(n, d);
            }
            if (n != values.length) throw new IllegalArgumentException(values.length + " values for a tensor of " + n + " elements");
            shape = shape.clone();
        }
    }

    /** The folder torch.save uses for entries when it writes to a stream, and that this writer always uses. */
    public static final String ARCHIVE = "archive";
    /** The archive format version torch writes. */
    public static final String VERSION = "3";
    private static final int ALIGN = 64;

    /** Writes {@code tensors} (in map order) as a torch.save checkpoint. */
    public static void write(Path file, Map<String, FloatTensor> tensors) throws IOException {
        AtomicFile.write(file, bytes(tensors));
    }

    /** The checkpoint's bytes. */
    public static byte[] bytes(Map<String, FloatTensor> tensors) {
        Map<String, byte[]> records = new LinkedHashMap<>();
        records.put("data.pkl", pickle(tensors));
        records.put("byteorder", "little".getBytes(StandardCharsets.US_ASCII));
        int key = 0;
        for (FloatTensor t : tensors.values()) {
            ByteBuffer b = ByteBuffer.allocate(Math.multiplyExact(t.values().length, 4)).order(ByteOrder.LITTLE_ENDIAN);
            b.asFloatBuffer().put(t.values());
            records.put("data/" + key++, b.array());
        }
        records.put("version", (VERSION + "\n").getBytes(StandardCharsets.US_ASCII));
        return zip(records);
    }

    // --- pickle (protocol 2) ---

    static byte[] pickle(Map<String, FloatTensor> tensors) {
        Pickler p = new Pickler();
        p.op(0x80).op(2); // PROTO 2
        p.op('}'); // EMPTY_DICT
        if (!tensors.isEmpty()) {
            p.op('('); // MARK
            int key = 0;
            for (Map.Entry<String, FloatTensor> e : tensors.entrySet()) {
                FloatTensor t = e.getValue();
                p.str(e.getKey());
                p.global("torch._utils", "_rebuild_tensor_v2");
                p.op('('); // MARK: the arguments
                p.op('('); // MARK: the persistent id
                p.str("storage").global("torch", "FloatStorage").str(Integer.toString(key++)).str("cpu").integer(t.values().length);
                p.op('t'); // TUPLE
                p.op('Q'); // BINPERSID
                p.integer(0); // storage_offset
                p.tuple(t.shape());
                p.tuple(strides(t.shape()));
                p.op(0x89); // NEWFALSE: requires_grad
                p.global("collections", "OrderedDict").op(')').op('R'); // backward_hooks = OrderedDict()
                p.op('t'); // TUPLE of the arguments
                p.op('R'); // REDUCE
            }
            p.op('u'); // SETITEMS
        }
        p.op('.'); // STOP
        return p.out.toByteArray();
    }

    private static long[] strides(long[] shape) {
        long[] s = new long[shape.length];
        long acc = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            s[i] = acc;
            acc *= Math.max(1, shape[i]);
        }
        return s;
    }

    private static final class Pickler {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Pickler op(int b) {
            out.write(b);
            return this;
        }

        Pickler str(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            op('X').le(b.length, 4);
            out.writeBytes(b);
            return this;
        }

        Pickler global(String module, String name) {
            op('c');
            out.writeBytes((module + "\n" + name + "\n").getBytes(StandardCharsets.US_ASCII));
            return this;
        }

        Pickler integer(long v) {
            if (v >= 0 && v < 256) return op('K').le(v, 1);
            if (v >= 0 && v < 65536) return op('M').le(v, 2);
            if (v >= Integer.MIN_VALUE && v <= Integer.MAX_VALUE) return op('J').le(v, 4);
            return op(0x8a).op(8).le(v, 8); // LONG1, 8 bytes two's complement
        }

        Pickler tuple(long[] items) {
            switch (items.length) {
                case 0 -> op(')');
                case 1 -> { integer(items[0]); op(0x85); }
                case 2 -> { integer(items[0]); integer(items[1]); op(0x86); }
                case 3 -> { integer(items[0]); integer(items[1]); integer(items[2]); op(0x87); }
                default -> {
                    op('(');
                    for (long v : items) integer(v);
                    op('t');
                }
            }
            return this;
        }

        Pickler le(long v, int n) {
            for (int i = 0; i < n; i++) out.write((int) (v >>> (8 * i)) & 0xff);
            return this;
        }
    }

    // --- zip (stored entries, 64-byte aligned data, no data descriptors) ---

    private record Central(byte[] name, long crc, long size, long offset) {}

    static byte[] zip(Map<String, byte[]> records) {
        if (records.size() > 65535) throw new IllegalArgumentException(records.size() + " records: more than a zip without zip64 holds");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        List<Central> central = new ArrayList<>();
        for (Map.Entry<String, byte[]> r : records.entrySet()) {
            byte[] name = (ARCHIVE + "/" + r.getKey()).getBytes(StandardCharsets.UTF_8);
            byte[] data = r.getValue();
            CRC32 crc = new CRC32();
            crc.update(data);
            long offset = out.size();
            if (offset + data.length > 0xffffffffL - 1024) throw new IllegalArgumentException("checkpoint over 4 GiB: not supported");
            long dataStart = offset + 30 + name.length + 4;
            int pad = (int) ((ALIGN - dataStart % ALIGN) % ALIGN);
            ByteBuffer h = ByteBuffer.allocate(30 + name.length + 4 + pad).order(ByteOrder.LITTLE_ENDIAN);
            h.putInt(0x04034b50).putShort((short) 20).putShort((short) 0).putShort((short) 0) // signature, version needed, flags, stored
                    .putShort((short) 0).putShort((short) 0x21) // time 00:00, date 1980-01-01
                    .putInt((int) crc.getValue()).putInt(data.length).putInt(data.length)
                    .putShort((short) name.length).putShort((short) (4 + pad)).put(name)
                    .put((byte) 'F').put((byte) 'B').putShort((short) pad);
            for (int i = 0; i < pad; i++) h.put((byte) 'Z');
            out.writeBytes(h.array());
            out.writeBytes(data);
            central.add(new Central(name, crc.getValue(), data.length, offset));
        }
        long cdStart = out.size();
        for (Central c : central) {
            ByteBuffer h = ByteBuffer.allocate(46 + c.name().length).order(ByteOrder.LITTLE_ENDIAN);
            h.putInt(0x02014b50).putShort((short) 20).putShort((short) 20).putShort((short) 0).putShort((short) 0)
                    .putShort((short) 0).putShort((short) 0x21)
                    .putInt((int) c.crc()).putInt((int) c.size()).putInt((int) c.size())
                    .putShort((short) c.name().length).putShort((short) 0).putShort((short) 0) // name, extra, comment lengths
                    .putShort((short) 0).putShort((short) 0).putInt(0) // disk, internal and external attributes
                    .putInt((int) c.offset()).put(c.name());
            out.writeBytes(h.array());
        }
        long cdSize = out.size() - cdStart;
        ByteBuffer end = ByteBuffer.allocate(22).order(ByteOrder.LITTLE_ENDIAN);
        end.putInt(0x06054b50).putShort((short) 0).putShort((short) 0).putShort((short) central.size()).putShort((short) central.size())
                .putInt((int) cdSize).putInt((int) cdStart).putShort((short) 0);
        out.writeBytes(end.array());
        return out.toByteArray();
    }
}

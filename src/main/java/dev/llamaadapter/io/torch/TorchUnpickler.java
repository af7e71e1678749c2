package dev.llamaadapter.io.torch;

import dev.llamaadapter.tensor.DType;

import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A restricted unpickler for the {@code data.pkl} of a torch.save checkpoint: it understands the pickle
 * opcodes (protocols 0–5) that a state dict of tensors needs, and it resolves only the globals torch uses
 * to rebuild tensors — {@code torch._utils._rebuild_tensor_v2} (and {@code _rebuild_tensor},
 * {@code _rebuild_parameter}), the typed storage classes {@code torch.FloatStorage},
 * {@code HalfStorage}, {@code BFloat16Storage}, … and {@code collections.OrderedDict}. Nothing is ever
 * imported or executed: any other global ({@code os.system}, {@code builtins.eval}, …) and the opcodes
 * that build arbitrary objects (NEWOBJ, INST, OBJ, EXT*) are refused with an error that names the file
 * and the global or opcode. Every length and index is checked against the input, so a broken or hostile
 * pickle gives a {@link TorchFormatException}, never another exception.
 *
 * <p>Python values become: None → null, bool → Boolean, int → Long (BigInteger when it does not fit),
 * float → Double, str → String, bytes → {@link Bytes}, tuple → {@link Tuple}, list → ArrayList,
 * dict / OrderedDict → LinkedHashMap (keys must be str, int, float, bool or None), a rebuilt tensor →
 * {@link TensorRef}. Values may share structure (the memo), even cyclically: never print or hash them.
 */
public final class TorchUnpickler {

    /** Python tuple; compared and printed by identity only (a hostile pickle may nest it deeply). */
    public static final class Tuple {
        private final List<Object> items;

        Tuple(List<Object> items) {
            this.items = List.copyOf(nullSafe(items));
        }

        private static List<Object> nullSafe(List<Object> l) {
            // List.copyOf refuses nulls (None): wrap them
            List<Object> out = new ArrayList<>(l.size());
            for (Object o : l) out.add(o == null ? NONE : o);
            return out;
        }

        public int size() {
            return items.size();
        }

        public Object get(int i) {
            Object o = items.get(i);
            return o == NONE ? null : o;
        }

        @Override
        public String toString() {
            return "tuple[" + items.size() + "]";
        }
    }

    private static final Object NONE = new Object() {
        @Override
        public String toString() {
            return "None";
        }
    };

    /** Python bytes. */
    public record Bytes(byte[] value) {
        @Override
        public String toString() {
            return "bytes[" + value.length + "]";
        }
    }

    /** A storage class global such as torch.FloatStorage: it only names the element type of a storage. */
    public record StorageType(String name, DType dtype) {}

    /** One storage of the archive ({@code data/<key>}), as the pickle's persistent id describes it. */
    public record StorageRef(String key, DType dtype, long numel, String location) {}

    /** A tensor rebuilt from the pickle: a strided view of one storage (offsets and strides in elements). */
    public record TensorRef(StorageRef storage, long offset, long[] shape, long[] stride) {
        public long numel() {
            long n = 1;
            for (long d : shape) n *= d; // checked when it was built
            return n;
        }

        public boolean isContiguous() {
            long expect = 1;
            for (int i = shape.length - 1; i >= 0; i--) {
                if (shape[i] != 1 && stride[i] != expect) return false;
                expect *= shape[i];
            }
            return true;
        }

        @Override
        public String toString() {
            return "tensor " + storage.dtype() + " " + Arrays.toString(shape);
        }
    }

    /** Turns a persistent id (BINPERSID) into an object; for torch archives, a storage. */
    @FunctionalInterface
    public interface PersistentLoader {
        Object load(Object pid, String where) throws TorchFormatException;
    }

    private enum Fn { REBUILD_TENSOR_V2, REBUILD_TENSOR, REBUILD_PARAMETER, ORDERED_DICT }

    private record Global(String qualifiedName, Fn fn) {}

    /** The only globals a pickle may name. */
    private static final Map<String, Object> GLOBALS = new HashMap<>();

    static {
        GLOBALS.put("torch._utils._rebuild_tensor_v2", new Global("torch._utils._rebuild_tensor_v2", Fn.REBUILD_TENSOR_V2));
        GLOBALS.put("torch._utils._rebuild_tensor", new Global("torch._utils._rebuild_tensor", Fn.REBUILD_TENSOR));
        GLOBALS.put("torch._utils._rebuild_parameter", new Global("torch._utils._rebuild_parameter", Fn.REBUILD_PARAMETER));
        GLOBALS.put("collections.OrderedDict", new Global("collections.OrderedDict", Fn.ORDERED_DICT));
        Object[][] storages = {{"FloatStorage", DType.F32}, {"HalfStorage", DType.F16}, {"BFloat16Storage", DType.BF16},
                {"DoubleStorage", DType.F64}, {"LongStorage", DType.I64}, {"IntStorage", DType.I32}, {"ShortStorage", DType.I16},
                {"CharStorage", DType.I8}, {"ByteStorage", DType.U8}, {"BoolStorage", DType.BOOL}};
        for (Object[] s : storages)
            GLOBALS.put("torch." + s[0], new StorageType("torch." + s[0], (DType) s[1]));
    }

    /** The storage class torch writes for a dtype (torch.FloatStorage for F32, …), or null. */
    public static String storageClass(DType dtype) {
        for (Object g : GLOBALS.values())
            if (g instanceof StorageType st && st.dtype() == dtype) return st.name().substring("torch.".length());
        return null;
    }

    private static final int MAX_LINE = 4096;
    private static final int MAX_LONG_BYTES = 1024;
    private static final int MAX_RANK = 64;

    private final byte[] in;
    private final Path file;
    private final String entry;
    private final PersistentLoader loader;
    private int pos;
    private int opStart;
    private final ArrayList<Object> stack = new ArrayList<>();
    private final ArrayList<Integer> marks = new ArrayList<>();
    private final HashMap<Long, Object> memo = new HashMap<>();

    private TorchUnpickler(byte[] in, Path file, String entry, PersistentLoader loader) {
        this.in = in;
        this.file = file;
        this.entry = entry;
        this.loader = loader;
    }

    /**
     * Unpickles {@code pickle} (the bytes of {@code entry} in {@code file}, both only for messages).
     *
     * @param loader resolves persistent ids (BINPERSID); null refuses them
     */
    public static Object load(byte[] pickle, Path file, String entry, PersistentLoader loader) throws TorchFormatException {
        return new TorchUnpickler(pickle, file, entry, loader).run();
    }

    private TorchFormatException error(String detail) {
        return new TorchFormatException(file, entry + ": " + detail + " (pickle byte " + opStart + ")");
    }

    private Object run() throws TorchFormatException {
        while (true) {
            if (pos >= in.length) throw error("ends without a STOP opcode: truncated pickle");
            opStart = pos;
            int op = in[pos++] & 0xff;
            switch (op) {
                case 0x80 -> { // PROTO
                    int p = u8();
                    if (p > 5) throw error("pickle protocol " + p + " is not supported (0 to 5)");
                }
                case 0x95 -> skip(8); // FRAME: a length hint only
                case '.' -> { // STOP
                    return pop();
                }
                case '(' -> marks.add(stack.size()); // MARK
                case '0' -> pop(); // POP
                case '1' -> popMark(); // POP_MARK
                case '2' -> push(peek()); // DUP
                case 'N' -> push(null);
                case 0x88 -> push(Boolean.TRUE);
                case 0x89 -> push(Boolean.FALSE);
                case 'J' -> push((long) i32()); // BININT
                case 'K' -> push((long) u8()); // BININT1
                case 'M' -> push((long) u16()); // BININT2
                case 0x8a -> push(longLE(u8())); // LONG1
                case 0x8b -> { // LONG4
                    long n = i32();
                    if (n < 0 || n > MAX_LONG_BYTES) throw error("LONG4 of " + n + " bytes is not supported (at most " + MAX_LONG_BYTES + ")");
                    push(longLE((int) n));
                }
                case 'I' -> push(textInt(line(), false)); // INT
                case 'L' -> push(textInt(line(), true)); // LONG
                case 'G' -> { // BINFLOAT, big-endian
                    need(8);
                    long bits = 0;
                    for (int i = 0; i < 8; i++) bits = (bits << 8) | (in[pos++] & 0xff);
                    push(Double.longBitsToDouble(bits));
                }
                case 'F' -> { // FLOAT (text)
                    String s = line();
                    try {
                        push(Double.parseDouble(s.trim()));
                    } catch (NumberFormatException e) {
                        throw error("FLOAT '" + clip(s) + "' is not a number");
                    }
                }
                case 'X' -> push(utf8(u32())); // BINUNICODE
                case 0x8c -> push(utf8(u8())); // SHORT_BINUNICODE
                case 0x8d -> push(utf8(u64())); // BINUNICODE8
                case 'T' -> push(latin1(i32())); // BINSTRING (Python 2 str)
                case 'U' -> push(latin1(u8())); // SHORT_BINSTRING
                case 'B' -> push(new Bytes(bytes(u32()))); // BINBYTES
                case 'C' -> push(new Bytes(bytes(u8()))); // SHORT_BINBYTES
                case 0x8e -> push(new Bytes(bytes(u64()))); // BINBYTES8
                case '}' -> push(new LinkedHashMap<Object, Object>()); // EMPTY_DICT
                case ']' -> push(new ArrayList<>()); // EMPTY_LIST
                case ')' -> push(new Tuple(List.of())); // EMPTY_TUPLE
                case 't' -> push(new Tuple(popMark())); // TUPLE
                case 0x85 -> push(tupleOf(1)); // TUPLE1
                case 0x86 -> push(tupleOf(2)); // TUPLE2
                case 0x87 -> push(tupleOf(3)); // TUPLE3
                case 'l' -> push(new ArrayList<>(popMark())); // LIST
                case 'd' -> { // DICT
                    Map<Object, Object> d = new LinkedHashMap<>();
                    putPairs(d, popMark());
                    push(d);
                }
                case 's' -> { // SETITEM
                    Object v = pop(), k = pop();
                    dictOnTop("SETITEM").put(key(k), v);
                }
                case 'u' -> { // SETITEMS
                    List<Object> items = popMark();
                    putPairs(dictOnTop("SETITEMS"), items);
                }
                case 'a' -> { // APPEND
                    Object v = pop();
                    listOnTop("APPEND").add(v);
                }
                case 'e' -> { // APPENDS
                    List<Object> items = popMark();
                    listOnTop("APPENDS").addAll(items);
                }
                case 'q' -> memo.put((long) u8(), peek()); // BINPUT
                case 'r' -> memo.put(u32(), peek()); // LONG_BINPUT
                case 0x94 -> memo.put((long) memo.size(), peek()); // MEMOIZE
                case 'p' -> memo.put(memoIndex(line()), peek()); // PUT
                case 'h' -> push(memoGet(u8())); // BINGET
                case 'j' -> push(memoGet(u32())); // LONG_BINGET
                case 'g' -> push(memoGet(memoIndex(line()))); // GET
                case 'c' -> { // GLOBAL
                    String module = line(), name = line();
                    push(global(module, name));
                }
                case 0x93 -> { // STACK_GLOBAL
                    Object name = pop(), module = pop();
                    if (!(module instanceof String m) || !(name instanceof String n))
                        throw error("STACK_GLOBAL needs two strings, got " + typeName(module) + " and " + typeName(name));
                    push(global(m, n));
                }
                case 'R' -> { // REDUCE
                    Object args = pop(), fn = pop();
                    push(reduce(fn, args));
                }
                case 'b' -> { // BUILD: only the attributes (e.g. _metadata) of an OrderedDict state dict, which are ignored
                    Object state = pop();
                    Object target = peek();
                    if (!(target instanceof Map)) throw error("BUILD on a " + typeName(target) + " is not supported (only on a dict)");
                    if (state != null && !(state instanceof Map) && !(state instanceof Tuple))
                        throw error("BUILD with a " + typeName(state) + " state is not supported");
                }
                case 'Q' -> { // BINPERSID
                    Object pid = pop();
                    if (loader == null) throw error("persistent ids (BINPERSID) are not allowed here");
                    push(loader.load(pid, entry + " (pickle byte " + opStart + ")"));
                }
                case 'P' -> throw error("text persistent ids (PERSID) are not used by torch.save and are not supported");
                case 0x81, 0x92, 'i', 'o' -> throw error("opcode " + opName(op)
                        + " (it instantiates arbitrary classes) is not allowed in a tensor state dict; refusing to load (nothing was executed)");
                case 0x82, 0x83, 0x84 -> throw error("opcode " + opName(op) + " (extension registry) is not allowed; refusing to load");
                default -> throw error("opcode " + opName(op) + " is not supported in a tensor state dict (not a torch checkpoint, or corrupt)");
            }
        }
    }

    // --- stack ---

    private void push(Object o) {
        stack.add(o);
    }

    private int floor() {
        return marks.isEmpty() ? 0 : marks.getLast();
    }

    private Object pop() throws TorchFormatException {
        if (stack.size() <= floor()) throw error("stack underflow (corrupt pickle)");
        return stack.removeLast();
    }

    private Object peek() throws TorchFormatException {
        if (stack.size() <= floor()) throw error("stack underflow (corrupt pickle)");
        return stack.getLast();
    }

    private List<Object> popMark() throws TorchFormatException {
        if (marks.isEmpty()) throw error("no MARK on the stack (corrupt pickle)");
        int m = marks.removeLast();
        List<Object> items = new ArrayList<>(stack.subList(m, stack.size()));
        stack.subList(m, stack.size()).clear();
        return items;
    }

    private Tuple tupleOf(int n) throws TorchFormatException {
        Object[] items = new Object[n];
        for (int i = n - 1; i >= 0; i--) items[i] = pop();
        return new Tuple(Arrays.asList(items));
    }

    @SuppressWarnings("unchecked")
    private Map<Object, Object> dictOnTop(String op) throws TorchFormatException {
        Object top = peek();
        if (!(top instanceof Map)) throw error(op + " on a " + typeName(top) + ", expected a dict");
        return (Map<Object, Object>) top;
    }

    @SuppressWarnings("unchecked")
    private List<Object> listOnTop(String op) throws TorchFormatException {
        Object top = peek();
        if (!(top instanceof ArrayList)) throw error(op + " on a " + typeName(top) + ", expected a list");
        return (List<Object>) top;
    }

    private void putPairs(Map<Object, Object> d, List<Object> items) throws TorchFormatException {
        if (items.size() % 2 != 0) throw error("odd number of items (" + items.size() + ") for a dict (corrupt pickle)");
        for (int i = 0; i < items.size(); i += 2) d.put(key(items.get(i)), items.get(i + 1));
    }

    /** Only hashable scalars as keys: a hostile pickle must not make us hash a deep or cyclic structure. */
    private Object key(Object k) throws TorchFormatException {
        if (k == null || k instanceof String || k instanceof Long || k instanceof BigInteger || k instanceof Boolean || k instanceof Double)
            return k;
        throw error("dict key of type " + typeName(k) + " is not supported (a state dict has str keys)");
    }

    private Object memoGet(long idx) throws TorchFormatException {
        if (!memo.containsKey(idx)) throw error("memo entry " + idx + " was never stored (corrupt pickle)");
        return memo.get(idx);
    }

    private long memoIndex(String s) throws TorchFormatException {
        try {
            long v = Long.parseLong(s.trim());
            if (v < 0) throw new NumberFormatException();
            return v;
        } catch (NumberFormatException e) {
            throw error("memo index '" + clip(s) + "' is not a non-negative integer");
        }
    }

    // --- globals and calls ---

    private Object global(String module, String name) throws TorchFormatException {
        String q = module + "." + name;
        Object g = GLOBALS.get(q);
        if (g == null)
            throw error("global " + clip(q) + " is not allowed: a tensor state dict only needs torch._utils._rebuild_tensor_v2, "
                    + "torch.*Storage and collections.OrderedDict; refusing to load the file (nothing was executed)");
        return g;
    }

    private Object reduce(Object fn, Object argsObj) throws TorchFormatException {
        if (!(fn instanceof Global g)) throw error("REDUCE calls a " + typeName(fn) + ", which is not an allowed function");
        if (!(argsObj instanceof Tuple args)) throw error("REDUCE of " + g.qualifiedName() + " with " + typeName(argsObj) + " arguments, expected a tuple");
        return switch (g.fn()) {
            case REBUILD_TENSOR_V2 -> {
                if (args.size() != 6 && args.size() != 7) throw error(g.qualifiedName() + " takes 6 or 7 arguments, got " + args.size());
                if (!(args.get(4) instanceof Boolean)) throw error(g.qualifiedName() + ": requires_grad is a " + typeName(args.get(4)) + ", expected a bool");
                yield tensor(g, args);
            }
            case REBUILD_TENSOR -> {
                if (args.size() != 4) throw error(g.qualifiedName() + " takes 4 arguments, got " + args.size());
                yield tensor(g, args);
            }
            case REBUILD_PARAMETER -> {
                if (args.size() != 3) throw error(g.qualifiedName() + " takes 3 arguments, got " + args.size());
                if (!(args.get(0) instanceof TensorRef t)) throw error(g.qualifiedName() + " of a " + typeName(args.get(0)) + ", expected a tensor");
                yield t;
            }
            case ORDERED_DICT -> {
                Map<Object, Object> d = new LinkedHashMap<>();
                if (args.size() == 1 && args.get(0) instanceof List<?> pairs) {
                    for (Object p : pairs) {
                        if (!(p instanceof Tuple t && t.size() == 2) && !(p instanceof List<?> l && l.size() == 2))
                            throw error("OrderedDict item is a " + typeName(p) + ", expected a (key, value) pair");
                        Object k = p instanceof Tuple t ? t.get(0) : ((List<?>) p).get(0);
                        Object v = p instanceof Tuple t ? t.get(1) : ((List<?>) p).get(1);
                        d.put(key(k), v);
                    }
                } else if (args.size() != 0) {
                    throw error("collections.OrderedDict with " + args.size() + " arguments is not supported");
                }
                yield d;
            }
        };
    }

    private TensorRef tensor(Global g, Tuple args) throws TorchFormatException {
        if (!(args.get(0) instanceof StorageRef s)) throw error(g.qualifiedName() + ": storage is a " + typeName(args.get(0)) + ", expected a storage");
        long offset = nonNegative(args.get(1), "storage_offset");
        long[] shape = longs(args.get(2), "size");
        long[] stride = longs(args.get(3), "stride");
        if (shape.length != stride.length)
            throw error("tensor has " + shape.length + " sizes but " + stride.length + " strides");
        long numel = 1, last = offset;
        try {
            for (int i = 0; i < shape.length; i++) {
                numel = Math.multiplyExact(numel, shape[i]);
                if (shape[i] > 0) last = Math.addExact(last, Math.multiplyExact(shape[i] - 1, stride[i]));
            }
        } catch (ArithmeticException e) {
            throw error("tensor of size " + Arrays.toString(shape) + " and stride " + Arrays.toString(stride) + " overflows");
        }
        if (numel > 0 && last >= s.numel())
            throw error("tensor of size " + Arrays.toString(shape) + ", stride " + Arrays.toString(stride) + " at offset " + offset
                    + " reaches element " + last + " of storage '" + s.key() + "', which holds " + s.numel());
        return new TensorRef(s, offset, shape, stride);
    }

    private long nonNegative(Object o, String what) throws TorchFormatException {
        if (!(o instanceof Long v) || v < 0) throw error("tensor " + what + " is " + describe(o) + ", expected a non-negative int");
        return v;
    }

    private long[] longs(Object o, String what) throws TorchFormatException {
        if (!(o instanceof Tuple t)) throw error("tensor " + what + " is a " + typeName(o) + ", expected a tuple of ints");
        if (t.size() > MAX_RANK) throw error("tensor " + what + " has " + t.size() + " dimensions (at most " + MAX_RANK + ")");
        long[] out = new long[t.size()];
        for (int i = 0; i < out.length; i++) out[i] = nonNegative(t.get(i), what);
        return out;
    }

    private static String describe(Object o) {
        return o instanceof Long || o instanceof Boolean ? String.valueOf(o) : "a " + typeName(o);
    }

    /** Python's name for a value's type, for messages (never the value itself: it may be huge or cyclic). */
    public static String typeName(Object o) {
        if (o == null) return "None";
        return switch (o) {
            case String s -> "str";
            case Long l -> "int";
            case BigInteger b -> "int";
            case Double d -> "float";
            case Boolean b -> "bool";
            case Tuple t -> "tuple";
            case List<?> l -> "list";
            case Map<?, ?> m -> "dict";
            case Bytes b -> "bytes";
            case TensorRef t -> "tensor";
            case StorageRef s -> "storage";
            case StorageType s -> s.name();
            case Global g -> g.qualifiedName();
            default -> o.getClass().getSimpleName();
        };
    }

    // --- reading ---

    private void need(long n) throws TorchFormatException {
        if (n < 0 || n > in.length - pos)
            throw error("opcode " + opName(in[opStart] & 0xff) + " needs " + n + " more bytes but only " + (in.length - pos) + " are left: truncated pickle");
    }

    private void skip(int n) throws TorchFormatException {
        need(n);
        pos += n;
    }

    private int u8() throws TorchFormatException {
        need(1);
        return in[pos++] & 0xff;
    }

    private int u16() throws TorchFormatException {
        need(2);
        int v = (in[pos] & 0xff) | (in[pos + 1] & 0xff) << 8;
        pos += 2;
        return v;
    }

    private int i32() throws TorchFormatException {
        need(4);
        int v = (in[pos] & 0xff) | (in[pos + 1] & 0xff) << 8 | (in[pos + 2] & 0xff) << 16 | (in[pos + 3] & 0xff) << 24;
        pos += 4;
        return v;
    }

    private long u32() throws TorchFormatException {
        return i32() & 0xffffffffL;
    }

    private long u64() throws TorchFormatException {
        long lo = u32(), hi = u32();
        long v = (hi << 32) | lo;
        if (v < 0) throw error("length " + Long.toUnsignedString(v) + " is absurd: corrupt pickle");
        return v;
    }

    private byte[] bytes(long n) throws TorchFormatException {
        need(n);
        byte[] b = Arrays.copyOfRange(in, pos, pos + (int) n);
        pos += (int) n;
        return b;
    }

    private String utf8(long n) throws TorchFormatException {
        byte[] b = bytes(n);
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b)).toString();
        } catch (CharacterCodingException e) {
            throw error("string is not valid UTF-8");
        }
    }

    private String latin1(long n) throws TorchFormatException {
        if (n < 0) throw error("negative string length " + n + ": corrupt pickle");
        return new String(bytes(n), StandardCharsets.ISO_8859_1);
    }

    private Object longLE(int n) throws TorchFormatException {
        byte[] b = bytes(n);
        if (n == 0) return 0L;
        if (n <= 8) {
            long v = 0;
            for (int i = n - 1; i >= 0; i--) v = (v << 8) | (b[i] & 0xff);
            int shift = 64 - 8 * n;
            return shift == 0 ? v : (v << shift) >> shift; // sign-extend
        }
        byte[] be = new byte[n];
        for (int i = 0; i < n; i++) be[i] = b[n - 1 - i];
        BigInteger big = new BigInteger(be);
        return big.bitLength() < 64 ? (Object) big.longValue() : big;
    }

    private String line() throws TorchFormatException {
        int end = pos;
        while (end < in.length && in[end] != '\n') {
            if (end - pos >= MAX_LINE) throw error("text argument longer than " + MAX_LINE + " bytes: corrupt pickle");
            end++;
        }
        if (end >= in.length) throw error("text argument without a newline: truncated pickle");
        String s = new String(in, pos, end - pos, StandardCharsets.UTF_8);
        pos = end + 1;
        return s;
    }

    private Object textInt(String s, boolean isLong) throws TorchFormatException {
        String t = s.trim();
        if (!isLong && t.equals("00")) return Boolean.FALSE;
        if (!isLong && t.equals("01")) return Boolean.TRUE;
        if (t.endsWith("L")) t = t.substring(0, t.length() - 1);
        if (t.length() > MAX_LONG_BYTES) throw error("integer of " + t.length() + " digits is not supported");
        try {
            BigInteger v = new BigInteger(t);
            return v.bitLength() < 64 ? (Object) v.longValue() : v;
        } catch (NumberFormatException e) {
            throw error("'" + clip(s) + "' is not an integer");
        }
    }

    private static String clip(String s) {
        String t = s.length() > 80 ? s.substring(0, 80) + "…" : s;
        StringBuilder sb = new StringBuilder();
        for (char c : t.toCharArray()) sb.append(c < 0x20 || c == 0x7f ? '?' : c);
        return sb.toString();
    }

    private static String opName(int op) {
        String name = switch (op) {
            case 0x81 -> "NEWOBJ";
            case 0x92 -> "NEWOBJ_EX";
            case 'i' -> "INST";
            case 'o' -> "OBJ";
            case 0x82 -> "EXT1";
            case 0x83 -> "EXT2";
            case 0x84 -> "EXT4";
            case 0x8f -> "EMPTY_SET";
            case 0x90 -> "ADDITEMS";
            case 0x91 -> "FROZENSET";
            case 0x96 -> "BYTEARRAY8";
            case 0x97 -> "NEXT_BUFFER";
            case 0x98 -> "READONLY_BUFFER";
            case 'S' -> "STRING";
            case 'V' -> "UNICODE";
            case 'P' -> "PERSID";
            case 'R' -> "REDUCE";
            case 'c' -> "GLOBAL";
            case 0x93 -> "STACK_GLOBAL";
            case 'X' -> "BINUNICODE";
            case 0x8c -> "SHORT_BINUNICODE";
            case 0x8d -> "BINUNICODE8";
            case 'B' -> "BINBYTES";
            case 'C' -> "SHORT_BINBYTES";
            case 0x8e -> "BINBYTES8";
            case 'T' -> "BINSTRING";
            case 'U' -> "SHORT_BINSTRING";
            case 'J' -> "BININT";
            case 'K' -> "BININT1";
            case 'M' -> "BININT2";
            case 0x8a -> "LONG1";
            case 0x8b -> "LONG4";
            case 'G' -> "BINFLOAT";
            case 'q' -> "BINPUT";
            case 'r' -> "LONG_BINPUT";
            case 'h' -> "BINGET";
            case 'j' -> "LONG_BINGET";
            case 0x80 -> "PROTO";
            case 0x95 -> "FRAME";
            default -> null;
        };
        String hex = String.format("0x%02x", op);
        if (name != null) return name + " (" + hex + ")";
        return op >= 0x21 && op < 0x7f ? "'" + (char) op + "' (" + hex + ")" : hex;
    }
}

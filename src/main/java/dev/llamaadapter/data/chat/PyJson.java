package dev.llamaadapter.data.chat;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.filter.Filter;

import java.util.Collection;
import java.util.Map;
import java.util.Objects;

/**
 * The {@code tojson} filter as transformers defines it for chat templates: Python's
 * {@code json.dumps(x, ensure_ascii=False, indent=indent)}, so ", " between items and ": " after keys (","
 * when indenting), keys in their given order, non-ASCII text as itself. Jinjava's own tojson writes compact
 * Jackson output, which would change every tool definition a template prints.
 */
final class PyJson implements Filter {

    @Override
    public String getName() {
        return "tojson";
    }

    @Override
    public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
        Object indent = kwargs.containsKey("indent") ? kwargs.get("indent") : args.length > 0 ? args[0] : null;
        int n = indent instanceof Number num ? num.intValue() : indent == null ? -1 : Integer.parseInt(indent.toString());
        StringBuilder sb = new StringBuilder();
        write(var, n, 0, sb);
        return sb.toString();
    }

    @Override
    public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
        return filter(var, interpreter, args, Map.of());
    }

    /** Appends {@code v} as JSON; {@code indent} < 0 means one line. */
    static void write(Object v, int indent, int depth, StringBuilder sb) {
        if (v == null) sb.append("null");
        else if (v instanceof CharSequence s) quote(s.toString(), sb);
        else if (v instanceof Boolean || v instanceof Number) sb.append(number(v));
        else if (v instanceof Map<?, ?> map) {
            if (map.isEmpty()) { sb.append("{}"); return; }
            sb.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> e : map.entrySet()) {
                separate(first, indent, depth + 1, sb);
                first = false;
                quote(Objects.toString(e.getKey()), sb);
                sb.append(": ");
                write(e.getValue(), indent, depth + 1, sb);
            }
            close('}', indent, depth, sb);
        } else if (v instanceof Collection<?> || v instanceof Object[]) {
            Collection<?> items = v instanceof Object[] a ? java.util.Arrays.asList(a) : (Collection<?>) v;
            if (items.isEmpty()) { sb.append("[]"); return; }
            sb.append('[');
            boolean first = true;
            for (Object item : items) {
                separate(first, indent, depth + 1, sb);
                first = false;
                write(item, indent, depth + 1, sb);
            }
            close(']', indent, depth, sb);
        } else quote(v.toString(), sb);
    }

    private static void separate(boolean first, int indent, int depth, StringBuilder sb) {
        if (!first) sb.append(indent >= 0 ? "," : ", ");
        if (indent >= 0) sb.append('\n').append(" ".repeat(indent * depth));
    }

    private static void close(char bracket, int indent, int depth, StringBuilder sb) {
        if (indent >= 0) sb.append('\n').append(" ".repeat(indent * depth));
        sb.append(bracket);
    }

    /** Integers as digits, booleans as true/false, other numbers as Python writes a float (1.0, 1e-05 aside). */
    private static String number(Object v) {
        if (v instanceof Double d && (d.isNaN() || d.isInfinite())) return d.isNaN() ? "NaN" : d > 0 ? "Infinity" : "-Infinity";
        return v.toString();
    }

    /** A JSON string as Python writes it with ensure_ascii=False: quote, backslash and control characters escaped. */
    static void quote(String s, StringBuilder sb) {
        sb.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                case '\b' -> sb.append("\\b");
                case '\f' -> sb.append("\\f");
                default -> {
                    if (c < 0x20) sb.append(String.format("\\u%04x", (int) c));
                    else sb.append(c);
                }
            }
        }
        sb.append('"');
    }
}

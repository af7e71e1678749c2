package dev.llamaadapter.data.chat;

import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;

import java.beans.FeatureDescriptor;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;

/**
 * Python's {@code str} methods on Jinja strings ({@code content.startswith('<tool_response>')},
 * {@code content.split('</think>')[-1].lstrip('\n')}): chat templates are written for Python's Jinja, where a
 * string is a {@code str}, while Jinjava would otherwise call Java's {@code String} methods, whose names and
 * meanings differ ({@code split} takes a regex, {@code strip} no argument). Placed before Jinjava's own
 * resolvers, it answers only for a string receiver and a method named here; everything else falls through.
 */
final class PyStrings extends ELResolver {

    @Override
    public Object invoke(ELContext context, Object base, Object method, Class<?>[] paramTypes, Object[] params) {
        if (!(base instanceof CharSequence cs) || method == null) return null;
        String s = cs.toString();
        Object[] p = params == null ? new Object[0] : params;
        Object result = switch (method.toString()) {
            case "startswith" -> p.length == 1 ? s.startsWith(str(p[0])) : null;
            case "endswith" -> p.length == 1 ? s.endsWith(str(p[0])) : null;
            case "strip" -> strip(s, chars(p), true, true);
            case "lstrip" -> strip(s, chars(p), true, false);
            case "rstrip" -> strip(s, chars(p), false, true);
            case "split" -> split(s, p);
            case "upper" -> s.toUpperCase(Locale.ROOT);
            case "lower" -> s.toLowerCase(Locale.ROOT);
            case "replace" -> p.length == 2 ? s.replace(str(p[0]), str(p[1])) : null;
            case "find" -> p.length == 1 ? s.indexOf(str(p[0])) : null;
            case "count" -> p.length == 1 ? count(s, str(p[0])) : null;
            case "title" -> title(s);
            case "capitalize" -> s.isEmpty() ? s : s.substring(0, 1).toUpperCase(Locale.ROOT) + s.substring(1).toLowerCase(Locale.ROOT);
            case "isspace" -> !s.isEmpty() && s.chars().allMatch(PyStrings::isSpace);
            default -> null;
        };
        if (result != null) context.setPropertyResolved(true);
        return result;
    }

    /** Python's {@code str.isspace} for one character: Java's whitespace plus the no-break spaces and NEL. */
    static boolean isSpace(int c) {
        return Character.isWhitespace(c) || Character.isSpaceChar(c) || c == 0x85;
    }

    /** Python's strip: the given characters, or whitespace when none (or None) is given. */
    static String strip(String s, String chars, boolean left, boolean right) {
        int start = 0, end = s.length();
        while (left && start < end && strips(s.charAt(start), chars)) start++;
        while (right && end > start && strips(s.charAt(end - 1), chars)) end--;
        return s.substring(start, end);
    }

    private static boolean strips(char c, String chars) {
        return chars == null ? isSpace(c) : chars.indexOf(c) >= 0;
    }

    private static String chars(Object[] p) {
        return p.length == 0 || p[0] == null ? null : str(p[0]);
    }

    /** {@code split()} on whitespace runs, dropping empty ends; {@code split(sep[, maxsplit])} on the literal separator. */
    private static List<String> split(String s, Object[] p) {
        int max = p.length > 1 && p[1] instanceof Number n ? n.intValue() : -1;
        List<String> out = new ArrayList<>();
        if (p.length == 0 || p[0] == null) {
            int i = 0;
            while (true) {
                while (i < s.length() && isSpace(s.charAt(i))) i++;
                if (i == s.length()) break;
                if (max >= 0 && out.size() == max) {
                    out.add(s.substring(i)); // Python keeps the rest as it is, trailing space included
                    break;
                }
                int j = i;
                while (j < s.length() && !isSpace(s.charAt(j))) j++;
                out.add(s.substring(i, j));
                i = j;
            }
            return out;
        }
        String sep = str(p[0]);
        if (sep.isEmpty()) throw new IllegalArgumentException("empty separator");
        int from = 0;
        for (int at; (max < 0 || out.size() < max) && (at = s.indexOf(sep, from)) >= 0; from = at + sep.length())
            out.add(s.substring(from, at));
        out.add(s.substring(from));
        return out;
    }

    private static int count(String s, String sub) {
        if (sub.isEmpty()) return s.length() + 1;
        int n = 0;
        for (int at = s.indexOf(sub); at >= 0; at = s.indexOf(sub, at + sub.length())) n++;
        return n;
    }

    private static String title(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        boolean previousCased = false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            sb.append(previousCased ? Character.toLowerCase(c) : Character.toUpperCase(c));
            previousCased = Character.isLetter(c);
        }
        return sb.toString();
    }

    private static String str(Object o) {
        return String.valueOf(o);
    }

    // Property access is left to Jinjava's resolvers.
    @Override
    public Object getValue(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public Class<?> getType(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public void setValue(ELContext context, Object base, Object property, Object value) {}

    @Override
    public boolean isReadOnly(ELContext context, Object base, Object property) {
        return true;
    }

    @Override
    public Iterator<FeatureDescriptor> getFeatureDescriptors(ELContext context, Object base) {
        return null;
    }

    @Override
    public Class<?> getCommonPropertyType(ELContext context, Object base) {
        return null;
    }
}

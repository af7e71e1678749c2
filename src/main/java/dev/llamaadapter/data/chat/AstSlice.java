package dev.llamaadapter.data.chat;

import jinjava.de.odysseus.el.tree.Bindings;
import jinjava.de.odysseus.el.tree.impl.ast.AstNode;
import jinjava.de.odysseus.el.tree.impl.ast.AstRightValue;
import jinjava.javax.el.ELContext;

import java.util.ArrayList;
import java.util.List;

/** {@code seq[start:stop:step]} with a step, as Python slices a list or a string ({@code [::-1]} reverses). */
final class AstSlice extends AstRightValue {

    private final AstNode base, start, stop, step;

    AstSlice(AstNode base, AstNode start, AstNode stop, AstNode step) {
        this.base = base;
        this.start = start;
        this.stop = stop;
        this.step = step;
    }

    @Override
    public Object eval(Bindings bindings, ELContext context) {
        Object seq = base.eval(bindings, context);
        Integer from = index(start, bindings, context), to = index(stop, bindings, context), by = index(step, bindings, context);
        if (seq instanceof CharSequence s) {
            StringBuilder sb = new StringBuilder();
            for (int i : indices(s.length(), from, to, by)) sb.append(s.charAt(i));
            return sb.toString();
        }
        List<?> items = seq instanceof List<?> l ? l : seq instanceof Iterable<?> it ? toList(it) : null;
        if (items == null) return null;
        List<Object> out = new ArrayList<>();
        for (int i : indices(items.size(), from, to, by)) out.add(items.get(i));
        return out;
    }

    /** The positions Python's slice(start, stop, step).indices(n) walks. */
    static List<Integer> indices(int n, Integer start, Integer stop, Integer step) {
        int by = step == null ? 1 : step;
        if (by == 0) throw new IllegalArgumentException("slice step cannot be zero");
        int lo = by > 0 ? 0 : -1, hi = by > 0 ? n : n - 1;
        int from = start == null ? (by > 0 ? lo : hi) : clamp(start < 0 ? start + n : start, lo, hi);
        int to = stop == null ? (by > 0 ? hi : lo) : clamp(stop < 0 ? stop + n : stop, lo, hi);
        List<Integer> out = new ArrayList<>();
        for (int i = from; by > 0 ? i < to : i > to; i += by) out.add(i);
        return out;
    }

    private static int clamp(int i, int lo, int hi) {
        return Math.max(lo, Math.min(hi, i));
    }

    private static Integer index(AstNode node, Bindings bindings, ELContext context) {
        if (node == null) return null;
        Object v = node.eval(bindings, context);
        return v instanceof Number n ? n.intValue() : v == null ? null : Integer.parseInt(v.toString());
    }

    private static List<Object> toList(Iterable<?> it) {
        List<Object> out = new ArrayList<>();
        it.forEach(out::add);
        return out;
    }

    @Override
    public void appendStructure(StringBuilder sb, Bindings bindings) {
        base.appendStructure(sb, bindings);
        sb.append('[');
        if (start != null) start.appendStructure(sb, bindings);
        sb.append(':');
        if (stop != null) stop.appendStructure(sb, bindings);
        sb.append(':');
        step.appendStructure(sb, bindings);
        sb.append(']');
    }

    @Override
    public String toString() {
        return "[::]";
    }

    @Override
    public int getCardinality() {
        return 4;
    }

    @Override
    public AstNode getChild(int i) {
        return switch (i) {
            case 0 -> base;
            case 1 -> start;
            case 2 -> stop;
            case 3 -> step;
            default -> null;
        };
    }
}

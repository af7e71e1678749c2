package dev.llamaadapter.data.chat;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.tag.ForTag;
import com.hubspot.jinjava.tree.TagNode;
import com.hubspot.jinjava.tree.parse.TagToken;
import com.hubspot.jinjava.util.ForLoop;
import com.hubspot.jinjava.util.ObjectIterator;
import com.hubspot.jinjava.util.ObjectTruthValue;
import org.apache.commons.lang3.tuple.Pair;

import java.util.ArrayList;
import java.util.List;

/**
 * {@code {% for m in messages if m.role != 'system' %}}: Jinja's loop filter, which skips items before the
 * loop sees them (so {@code loop.index} and {@code loop.last} count only the kept ones). Jinjava reads the
 * "if" as a conditional expression over the whole list and loops over every item.
 */
final class FilteredForTag extends ForTag {
    private static final long serialVersionUID = 1L;

    @Override
    public Pair<List<String>, String> getLoopVarsAndExpression(TagToken tagToken) {
        Pair<List<String>, String> p = super.getLoopVarsAndExpression(tagToken);
        int at = topLevelIf(p.getRight());
        return at < 0 ? p : Pair.of(p.getLeft(), p.getRight().substring(0, at).trim());
    }

    @Override
    public String renderForCollection(TagNode tagNode, JinjavaInterpreter interpreter, List<String> loopVars, Object collection) {
        String expression = super.getLoopVarsAndExpression((TagToken) tagNode.getMaster()).getRight();
        int at = topLevelIf(expression);
        if (at < 0) return super.renderForCollection(tagNode, interpreter, loopVars, collection);
        String condition = expression.substring(at + 2).trim();
        List<Object> kept = new ArrayList<>();
        ForLoop items = ObjectIterator.getLoop(collection);
        while (items.hasNext()) {
            Object item = items.next();
            try (var scope = interpreter.enterScope()) {
                bind(interpreter, loopVars, item);
                if (ObjectTruthValue.evaluate(interpreter.resolveELExpression(condition, tagNode.getLineNumber()))) kept.add(item);
            }
        }
        return super.renderForCollection(tagNode, interpreter, loopVars, kept);
    }

    /** One variable takes the item; several unpack it, as {@code for k, v in pairs}. */
    private static void bind(JinjavaInterpreter interpreter, List<String> vars, Object item) {
        if (vars.size() == 1) {
            interpreter.getContext().put(vars.get(0), item);
            return;
        }
        List<?> parts = item instanceof List<?> l ? l : List.of();
        for (int i = 0; i < vars.size(); i++) interpreter.getContext().put(vars.get(i), i < parts.size() ? parts.get(i) : null);
    }

    /**
     * Where the loop filter's "if" starts in the text after "in", or -1: the first "if" word outside quotes
     * and brackets. Jinja parses a loop's iterable without conditional expressions, so such an "if" can only
     * be the filter.
     */
    static int topLevelIf(String s) {
        int depth = 0;
        char quote = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (quote != 0) {
                if (c == '\\') i++;
                else if (c == quote) quote = 0;
            } else if (c == '\'' || c == '"') {
                quote = c;
            } else if (c == '(' || c == '[' || c == '{') {
                depth++;
            } else if (c == ')' || c == ']' || c == '}') {
                depth--;
            } else if (depth == 0 && s.startsWith("if", i) && (i == 0 || Character.isWhitespace(s.charAt(i - 1)))
                    && (i + 2 == s.length() || Character.isWhitespace(s.charAt(i + 2)) || s.charAt(i + 2) == '(')) {
                return i;
            }
        }
        return -1;
    }
}

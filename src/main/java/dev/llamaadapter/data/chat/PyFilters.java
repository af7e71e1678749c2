package dev.llamaadapter.data.chat;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.exptest.ExpTest;
import com.hubspot.jinjava.lib.filter.Filter;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Jinja filters and tests that Jinjava lacks or defines otherwise, as Python's Jinja defines them. */
final class PyFilters {
    private PyFilters() {}

    /**
     * {@code trim}: Python's {@code str.strip()}, which takes off Unicode whitespace (a no-break or an
     * ideographic space at the edge of a message); Jinjava's stops at the ASCII control range.
     */
    static final class Trim implements Filter {
        @Override
        public String getName() {
            return "trim";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            String chars = args.length > 0 ? args[0] : null;
            return PyStrings.strip(var == null ? "None" : var.toString(), chars, true, true);
        }
    }

    /** {@code items} (Jinja 3.1): a mapping's (key, value) pairs, for {@code for k, v in args | items}. */
    static final class Items implements Filter {
        @Override
        public String getName() {
            return "items";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
            List<List<Object>> pairs = new ArrayList<>();
            if (var instanceof Map<?, ?> map) for (Map.Entry<?, ?> e : map.entrySet()) pairs.add(java.util.Arrays.asList(e.getKey(), e.getValue()));
            return pairs;
        }
    }

    /**
     * {@code is iterable}: what Python can iterate, strings and mappings included. Llama 3.2's template
     * writes a tool result that {@code is iterable} as JSON, so a plain-text result comes out quoted.
     */
    static final class Iterable implements ExpTest {
        @Override
        public String getName() {
            return "iterable";
        }

        @Override
        public boolean evaluate(Object var, JinjavaInterpreter interpreter, Object... args) {
            return var instanceof CharSequence || var instanceof java.lang.Iterable<?> || var instanceof Map<?, ?>
                    || var != null && var.getClass().isArray();
        }
    }
}

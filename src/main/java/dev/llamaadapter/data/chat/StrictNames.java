package dev.llamaadapter.data.chat;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.interpret.Context;
import com.hubspot.jinjava.interpret.InterpreterFactory;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.exptest.ExpTest;
import com.hubspot.jinjava.lib.filter.Filter;

/**
 * Makes a filter or test that no scope defines an error, as Python's Jinja does ("no filter named ..."):
 * Jinjava would render such an expression as nothing, so a template using a filter it lacks would come out
 * silently wrong. Each render gets an outermost scope that refuses unknown names.
 */
final class StrictNames implements InterpreterFactory {

    /** A name the template uses that neither Jinjava nor this package defines. */
    static final class Unknown extends RuntimeException {
        Unknown(String message) {
            super(message);
        }
    }

    private static final class Scope extends Context {
        Scope(Context parent) {
            super(parent);
        }

        @Override
        public Filter getFilter(String name) {
            Filter f = super.getFilter(name);
            if (f == null) throw new Unknown("no filter named '" + name + "'");
            return f;
        }

        @Override
        public ExpTest getExpTest(String name) {
            ExpTest t = super.getExpTest(name);
            if (t == null) throw new Unknown("no test named '" + name + "'");
            return t;
        }
    }

    @Override
    public JinjavaInterpreter newInstance(JinjavaInterpreter orig) {
        return new JinjavaInterpreter(orig);
    }

    @Override
    public JinjavaInterpreter newInstance(Jinjava application, Context context, JinjavaConfig renderConfig) {
        return new JinjavaInterpreter(application, new Scope(context), renderConfig);
    }
}

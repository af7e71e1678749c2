package dev.llamaadapter.data.chat;

import com.hubspot.jinjava.el.ExtendedSyntaxBuilder;
import jinjava.de.odysseus.el.tree.impl.Parser;

/** Jinjava's expression syntax with {@link PyExpressionParser}'s Python additions (public: JUEL instantiates it by name). */
public final class PySyntaxBuilder extends ExtendedSyntaxBuilder {
    private static final long serialVersionUID = 1L;

    public PySyntaxBuilder(Feature... features) {
        super(features);
    }

    @Override
    protected Parser createParser(String expression) {
        return new PyExpressionParser(this, expression);
    }
}

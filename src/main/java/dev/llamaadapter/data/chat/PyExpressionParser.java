package dev.llamaadapter.data.chat;

import com.hubspot.jinjava.el.ext.ExtendedParser;
import com.hubspot.jinjava.el.ext.NamedParameterOperator;
import jinjava.de.odysseus.el.tree.impl.Builder;
import jinjava.de.odysseus.el.tree.impl.Scanner;
import jinjava.de.odysseus.el.tree.impl.Scanner.Symbol;
import jinjava.de.odysseus.el.tree.impl.ast.AstNode;
import jinjava.de.odysseus.el.tree.impl.ast.AstUnary;

/**
 * Jinjava's expression parser with three pieces of Python syntax that chat templates use and Jinjava parses
 * otherwise: {@code not} applies to a whole comparison, tests and filters included ({@code not x is defined}
 * is {@code not (x is defined)}, {@code not calls|length == 1} is {@code not (calls|length == 1)}; Jinjava
 * binds {@code not} to the nearest value); a keyword argument's value is a whole expression
 * ({@code namespace(i=messages|length - 1)} would bind as {@code (i=messages|length) - 1}); and a slice may
 * have a step ({@code messages[::-1]}).
 * Everything else is Jinjava's own parsing. Expects Python's operator precedence
 * ({@code LegacyOverrides.useNaturalOperatorPrecedence}), under which a postfix chain ends at the first
 * token that is not {@code .} or {@code [}.
 */
public final class PyExpressionParser extends ExtendedParser {

    public PyExpressionParser(Builder context, String input) {
        super(context, input);
    }

    /** Python's not_test, between {@code and} and the comparisons. */
    @Override
    protected AstNode eq(boolean required) throws Scanner.ScanException, ParseException {
        if (getToken().getSymbol() == Symbol.NOT) {
            consumeToken();
            return createAstUnary(eq(true), AstUnary.NOT);
        }
        return super.eq(required);
    }

    @Override
    protected AstNode add(boolean required) throws Scanner.ScanException, ParseException {
        if (getToken().getSymbol() == Symbol.IDENTIFIER && isNamedParameterToken(lookahead(0))) {
            AstNode name = identifier(consumeToken().getImage());
            consumeToken(); // '='
            return NamedParameterOperator.HANDLER.createAstNode(name, expr(true));
        }
        return super.add(required);
    }

    private static boolean isNamedParameterToken(Scanner.Token t) {
        return t.getSymbol() == Symbol.EXTENSION && t.getImage().equals(NamedParameterOperator.TOKEN.getImage());
    }

    /** A value and its postfix chain: {@code .name}, {@code .name(args)}, {@code [key]}, {@code [start:stop:step]}. */
    @Override
    protected AstNode value() throws Scanner.ScanException, ParseException {
        boolean lvalue = true;
        AstNode v = nonliteral();
        if (v == null) {
            v = literal();
            if (v == null) return null;
            lvalue = false;
        }
        boolean strict = !context.isEnabled(Builder.Feature.NULL_PROPERTIES);
        boolean methods = context.isEnabled(Builder.Feature.METHOD_INVOCATIONS);
        while (true) {
            if (getToken().getSymbol() == Symbol.DOT) {
                consumeToken();
                var dot = createAstDot(v, consumeToken(Symbol.IDENTIFIER).getImage(), lvalue);
                v = methods && getToken().getSymbol() == Symbol.LPAREN ? createAstMethod(dot, params()) : dot;
            } else if (getToken().getSymbol() == Symbol.LBRACK) {
                consumeToken();
                AstNode start = getToken().getSymbol() == Symbol.COLON ? null : expr(true);
                if (getToken().getSymbol() == Symbol.RBRACK) {
                    consumeToken();
                    var bracket = createAstBracket(v, start, lvalue, strict);
                    v = methods && getToken().getSymbol() == Symbol.LPAREN ? createAstMethod(bracket, params()) : bracket;
                    continue;
                }
                consumeToken(Symbol.COLON);
                AstNode stop = atSliceEnd() ? null : expr(true);
                AstNode step = null;
                if (getToken().getSymbol() == Symbol.COLON) {
                    consumeToken();
                    step = getToken().getSymbol() == Symbol.RBRACK ? null : expr(true);
                }
                consumeToken(Symbol.RBRACK);
                v = step == null ? createAstRangeBracket(v, start, stop, lvalue, strict) : new AstSlice(v, start, stop, step);
            } else {
                return v;
            }
        }
    }

    private boolean atSliceEnd() {
        Symbol s = getToken().getSymbol();
        return s == Symbol.COLON || s == Symbol.RBRACK;
    }
}

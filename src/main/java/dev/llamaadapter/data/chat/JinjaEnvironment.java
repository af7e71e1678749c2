package dev.llamaadapter.data.chat;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.el.JinjavaInterpreterResolver;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import com.hubspot.jinjava.el.TruthyTypeConverter;
import jinjava.de.odysseus.el.ExpressionFactoryImpl;
import jinjava.de.odysseus.el.tree.TreeBuilder;
import jinjava.javax.el.CompositeELResolver;
import jinjava.javax.el.ExpressionFactory;

import java.util.Properties;
import java.util.regex.Pattern;

/**
 * Jinjava set up as transformers sets up Jinja for chat templates: trim_blocks and lstrip_blocks ({@link
 * #lstripBlocks}), Python's
 * operator precedence and whitespace control, Python's string methods ({@link PyStrings}), its
 * {@code tojson} ({@link PyJson}), {@code trim}, {@code items} and {@code is iterable} ({@link PyFilters}), {@code raise_exception} and {@code strftime_now}, and no second
 * rendering of the output: a message that contains "{{ ... }}" is text, not template (Jinjava would
 * otherwise interpret it again). An unknown filter or test is an error ({@link StrictNames}); a for loop
 * may filter its items ({@link FilteredForTag}).
 */
final class JinjaEnvironment {
    private JinjaEnvironment() {}

    /** Jinjava whose expressions are parsed by {@link PySyntaxBuilder}; the factory is the one hook Jinjava offers for that. */
    private static final class PythonSyntaxJinjava extends Jinjava {
        private final ExpressionFactory expressions;

        PythonSyntaxJinjava(JinjavaConfig config) {
            super(config);
            Properties properties = new Properties();
            properties.setProperty(TreeBuilder.class.getName(), PySyntaxBuilder.class.getName());
            expressions = new ExpressionFactoryImpl(properties, new TruthyTypeConverter());
        }

        @Override
        public ExpressionFactory getExpressionFactory() {
            return expressions;
        }
    }

    private static final Jinjava JINJAVA = create();

    static Jinjava get() {
        return JINJAVA;
    }

    /** Spaces and tabs that start a line and end at a block tag or comment: what lstrip_blocks removes. */
    private static final Pattern LINE_START_BEFORE_TAG = Pattern.compile("(?m)^[ \\t]+(?=\\{[%#])");

    /**
     * The template as Jinja's lstrip_blocks reads it: whitespace between the start of a line and a block tag
     * goes. Jinjava's own option strips it before every tag, mid-line too, so that
     * {@code {% if not loop.last %}, {% endif %}} would lose its space.
     */
    static String lstripBlocks(String template) {
        return LINE_START_BEFORE_TAG.matcher(template).replaceAll("");
    }

    private static Jinjava create() {
        CompositeELResolver resolver = new CompositeELResolver();
        resolver.add(new PyStrings());
        resolver.add(JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_ONLY);
        JinjavaConfig config = JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(false) // see lstripBlocks
                .withNestedInterpretationEnabled(false)
                .withFailOnUnknownTokens(false)
                .withElResolver(resolver)
                .withInterperterFactory(new StrictNames())
                .withLegacyOverrides(LegacyOverrides.newBuilder()
                        .withUseNaturalOperatorPrecedence(true)
                        .withParseWhitespaceControlStrictly(true)
                        .withUseTrimmingForNotesAndExpressions(true)
                        .withAllowAdjacentTextNodes(true)
                        .withEvaluateMapKeys(true)
                        .withKeepNullableLoopValues(true)
                        .withUsePyishObjectMapper(true)
                        .build())
                .build();
        Jinjava jinjava = new PythonSyntaxJinjava(config);
        jinjava.getGlobalContext().registerFilter(new PyJson());
        jinjava.getGlobalContext().registerFilter(new PyFilters.Trim());
        jinjava.getGlobalContext().registerFilter(new PyFilters.Items());
        jinjava.getGlobalContext().registerExpTest(new PyFilters.Iterable());
        jinjava.getGlobalContext().registerTag(new FilteredForTag());
        jinjava.getGlobalContext().registerFunction(
                new ELFunctionDefinition("", "raise_exception", TemplateFunctions.class, "raiseException", Object.class));
        jinjava.getGlobalContext().registerFunction(
                new ELFunctionDefinition("", "strftime_now", TemplateFunctions.class, "strftimeNow", Object.class));
        return jinjava;
    }
}

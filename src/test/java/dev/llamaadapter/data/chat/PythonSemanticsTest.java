package dev.llamaadapter.data.chat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.nio.file.Path;
import java.time.LocalDateTime;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * What Jinjava gains for chat templates, checked against Python's own results (written out here, from
 * Python's str and slice semantics). Some are where @huggingface/jinja, the reference of the vector tests,
 * is itself not Python: its strip/lstrip/rstrip ignore their argument, so Qwen3's
 * {@code content.lstrip('\n')} would also take spaces off there; transformers, whose rendering this follows,
 * keeps them.
 */
class PythonSemanticsTest {

    static String render(String template) throws ChatTemplateException {
        return new ChatTemplate(Path.of("test.jinja"), template, Map.of()).render(Map.of("messages", List.of()), false);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiterString = "=>", quoteCharacter = '`', value = {
            // strip family: an argument names the characters; none means whitespace
            "{{ '\\n\\n  x \\n'.lstrip('\\n') }}                => `  x \n`",
            "{{ '\\n  x \\n\\n'.rstrip('\\n') }}                => `\n  x `",
            "{{ '--x--'.strip('-') }}                          => x",
            "{{ '\u00a0 x\\t'.strip() }}                      => x",
            // split: a literal separator keeps empty fields; no separator splits whitespace runs
            "{{ 'a.b,,c'.split(',') | join('|') }}             => a.b||c",
            "{{ ' a  b '.split() | join('|') }}                => a|b",
            "{{ 'a</think>b</think>c'.split('</think>')[-1] }} => c",
            "{{ 'x y z'.split(' ', 1) | join('|') }}           => x|y z",
            "{% if 'abc'.startswith('ab') and 'abc'.endswith('bc') and not 'abc'.startswith('b') %}yes{% endif %} => yes",
            "{{ 'hello world'.title() }}                       => Hello World",
            // slices with a step, and the ones Jinjava already had
            "{{ [1, 2, 3, 4, 5][::2] | join(',') }}            => 1,3,5",
            "{{ [1, 2, 3, 4, 5][::-1] | join(',') }}           => 5,4,3,2,1",
            "{{ [1, 2, 3, 4, 5][3:0:-1] | join(',') }}         => 4,3,2",
            "{{ 'abc'[::-1] }}                                 => cba",
            "{{ [1, 2, 3][1:] | join(',') }}                   => 2,3",
            // a keyword argument's value is a whole expression
            "{% set ns = namespace(n=1 + 2 * 3, m=[1, 2]|length - 1) %}{{ ns.n }},{{ ns.m }} => 7,1",
            // tojson as Python's json.dumps(ensure_ascii=False)
            "{{ {'a': [1, 'é\"'], 'b': none} | tojson }}       => `{\"a\": [1, \"é\\\\\"\"], \"b\": null}`",
            "{{ {'a': [1, 2]} | tojson(indent=2) }}           => `{\n  \"a\": [\n    1,\n    2\n  ]\n}`",
            // trim as str.strip(); items as Jinja 3.1's filter
            "{{ '\u00a0\u3000 x\u2003\t' | trim }}|{{ 'xxaxx' | trim('x') }} => x|a",
            "{% for k, v in {'a': 1, 'b': 'c'} | items %}{{ k }}={{ v }};{% endfor %} => a=1;b=c;",
            // not applies to the whole comparison, test and filter included (Python's not_test)
            "{% set x = 1 %}{% if not x is defined %}a{% else %}b{% endif %} => b",
            "{% if not [1, 2]|length == 1 %}yes{% endif %}|{% if not not 1 %}yes{% endif %}|{% if not 1 and 2 %}no{% endif %} => yes|yes|",
            "{% set tools = [1] %}{% if not tools is none and 'x' is iterable and not 5 is iterable %}yes{% endif %} => yes",
            // the globals are defined, as Llama 3.2's template asks before dating its prompt
            "{% if strftime_now is defined and raise_exception is defined %}yes{% endif %} => yes",
            // lstrip_blocks takes only the whitespace that starts a line; mid-line text before a tag stays
            "{% for i in [1, 2] %}{{ i }}{% if not loop.last %}, {% endif %}{% endfor %}| => 1, 2|",
            "`x\n  {% if true %}\n  y\n  {% endif %}\nz` => `x\n  y\nz`",
            // a loop filter skips items before the loop counts them
            "{% for x in [1, 2, 3, 4] if x % 2 == 0 %}{{ loop.index }}:{{ x }}{{ '.' if loop.last else ',' }}{% endfor %} => 1:2,2:4.",
            "{% for k, v in {'a': 1, 'b': 2} | items if v > 1 %}{{ k }}{% endfor %}|{% for s in ['if', 'x'] if s != 'if' %}{{ s }}{% endfor %} => b|x",
            // what Llama 3.1's template does with its tools and date
            "{{ ['code_interpreter', 'brave_search', 'wolfram_alpha'] | reject('equalto', 'code_interpreter') | join(', ') }} => `brave_search, wolfram_alpha`",
            "{% if not date_string is defined %}{% set date_string = '26 Jul 2024' %}{% endif %}{{ date_string }} => 26 Jul 2024",
    })
    void rendersAsPython(String template, String expected) throws ChatTemplateException {
        assertThat(render(template.strip())).isEqualTo(expected.translateEscapes());
    }

    /** Python's Jinja refuses a filter or test it does not know; Jinjava alone would print nothing. */
    @Test
    void anUnknownFilterOrTestIsAnErrorNamingIt() {
        assertThatThrownBy(() -> render("{{ 'x' | no_such_filter }}"))
                .isInstanceOf(ChatTemplateException.class).hasMessage("test.jinja: no filter named 'no_such_filter'");
        assertThatThrownBy(() -> render("{% if 'x' is no_such_test %}{% endif %}"))
                .isInstanceOf(ChatTemplateException.class).hasMessage("test.jinja: no test named 'no_such_test'");
    }

    @Test
    void strftimeWritesDatesAsPython() throws ChatTemplateException {
        LocalDateTime t = LocalDateTime.of(2024, 7, 3, 21, 5, 9);
        assertThat(TemplateFunctions.strftime("%d %b %Y", t)).isEqualTo("03 Jul 2024");
        assertThat(TemplateFunctions.strftime("%A %B %H:%M:%S %I%p %y %j 100%%", t)).isEqualTo("Wednesday July 21:05:09 09PM 24 185 100%");
        String year = render("{{ strftime_now('%Y') }}");
        assertThat(year).isIn(String.valueOf(LocalDateTime.now().getYear()), String.valueOf(LocalDateTime.now().getYear() - 1));
    }
}

package dev.llamaadapter.eval;

import dev.llamaadapter.eval.AnswerExtractor.Method;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The trained form first, then the fallbacks, and what must not count as an answer. */
class AnswerExtractorTest {
    static final List<String> CHOICES = List.of("red", "red panda", "blue whale", "green");

    @ParameterizedTest(name = "[{index}] {0}")
    @CsvSource(delimiter = '|', textBlock = """
            The answer is (B).                          | 1  | PATTERN
            the answer is C                             | 2  | PATTERN
            The answer is: (D) green                    | 3  | PATTERN
            The answer is (B). The answer is (A).       | 1  | PATTERN
            The answer is (E). I pick (C) instead.      | 2  | PARENTHESISED
            I would say (D), because                    | 3  | PARENTHESISED
            B                                           | 1  | LETTER
            '  C.'                                      | 2  | LETTER
            D) green                                    | 3  | LETTER
            (A                                          | 0  | LETTER
            A dog saw a blue whale.                     | 2  | OPTION_TEXT
            it is the Red Panda of course               | 1  | OPTION_TEXT
            redness is not an option                    | -1 | NONE
            The answer is Alaska.                       | -1 | NONE
            E                                           | -1 | NONE
            ''                                          | -1 | NONE
            Once upon a time there was a cat            | -1 | NONE
            """)
    void readsTheChosenOption(String text, int index, Method method) {
        var a = AnswerExtractor.extract(text, CHOICES);
        assertThat(a.index()).isEqualTo(index);
        assertThat(a.method()).isEqualTo(method);
        assertThat(a.parsed()).isEqualTo(index >= 0);
    }
}

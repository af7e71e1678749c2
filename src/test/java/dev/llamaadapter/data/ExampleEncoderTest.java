package dev.llamaadapter.data;

import dev.llamaadapter.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/** BOS + prompt + output + EOS, labels shifted to targets, the prompt unscored, cut at the limit. */
class ExampleEncoderTest {
    static final Path TOK = Path.of("../shared/assets/stories260K/hf/tokenizer.model");

    @Test
    void scoresTheResponseAndEosOnly() throws Exception {
        assumeTrue(Files.exists(TOK), "../shared is absent");
        Tokenizer tok = Tokenizer.load(TOK);
        Instruction r = new Instruction("Tell a story.", "", "Tom was happy.", "t:1");
        Example e = new ExampleEncoder(tok, 512, false).encode(r);
        int[] prompt = tok.encode(PromptTemplate.prompt(r)), whole = tok.encode(PromptTemplate.prompt(r) + r.output());
        assertThat(e.ids()[0]).isEqualTo(tok.bosId());
        assertThat(e.ids()[e.length() - 1]).isEqualTo(tok.eosId());
        assertThat(Arrays.copyOfRange(e.ids(), 1, e.length() - 1)).containsExactly(whole);
        int firstTarget = 1 + prompt.length; // the first token after BOS + prompt
        for (int t = 0; t < e.length(); t++) {
            int want = t + 1 < e.length() && t + 1 >= firstTarget ? e.ids()[t + 1] : -100;
            assertThat(e.labels()[t]).as("label %d", t).isEqualTo(want);
        }
        assertThat(e.labels()[e.length() - 2]).isEqualTo(tok.eosId());
        assertThat(e.scored()).isEqualTo(e.length() - firstTarget);
        assertThat(e.truncated()).isFalse();

        Example all = new ExampleEncoder(tok, 512, true).encode(r);
        assertThat(all.scored()).isEqualTo(all.length() - 1);

        Example cut = new ExampleEncoder(tok, firstTarget + 2, false).encode(r);
        assertThat(cut.truncated()).isTrue();
        assertThat(cut.length()).isEqualTo(firstTarget + 2);
        assertThat(cut.scored()).isEqualTo(2); // only the two targets inside the window
    }
}

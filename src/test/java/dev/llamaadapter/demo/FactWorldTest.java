package dev.llamaadapter.demo;

import dev.llamaadapter.tokenizer.Tokenizer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** The demo's generated world: reproducible, names distinct, answers scored strictly, words whole tokens. */
class FactWorldTest {

    @Test
    void theSameSeedGivesTheSameWorldAndText() {
        FactWorld a = FactWorld.generate(3, 40, 5, 6, 7), b = FactWorld.generate(3, 40, 5, 6, 7), c = FactWorld.generate(4, 40, 5, 6, 7);
        assertThat(a.cities).isEqualTo(b.cities);
        assertThat(a.cities).isNotEqualTo(c.cities);
        assertThat(a.paragraph(a.cities.get(5), new Random(9))).isEqualTo(b.paragraph(b.cities.get(5), new Random(9)));
        Set<String> names = new HashSet<>(a.countries);
        names.addAll(a.rivers);
        for (FactWorld.City city : a.cities) assertThat(names.add(city.name())).as("distinct %s", city.name()).isTrue();
        assertThat(a.rivers).hasSize(6);
        assertThat(a.products).hasSize(7).doesNotHaveDuplicates();
    }

    @Test
    void aParagraphStatesEveryFactOfItsCity() {
        FactWorld w = FactWorld.generate(1, 10, 3, 3, 3);
        FactWorld.City c = w.cities.getFirst();
        for (int i = 0; i < 20; i++) {
            String p = w.paragraph(c, new Random(i));
            assertThat(p).contains(c.country()).contains(c.river()).contains(c.product());
            for (FactWorld.City other : w.cities.subList(1, w.cities.size())) assertThat(p).doesNotContain(other.name());
        }
    }

    @Test
    void answersAreJudgedByTheirFirstSentence() {
        FactWorld w = FactWorld.generate(1, 10, 3, 3, 3);
        FactWorld.City c = w.cities.getFirst();
        String other = w.rivers.stream().filter(r -> !r.equals(c.river())).findFirst().orElseThrow();
        var river = FactWorld.Attribute.RIVER;
        assertThat(w.correct(c, river, " The river of " + c.name() + " is the " + c.river() + ".")).isTrue();
        assertThat(w.correct(c, river, c.river())).isTrue();
        assertThat(w.correct(c, river, "The " + other + " flows there. The " + c.river() + " too.")).as("first sentence only").isFalse();
        assertThat(w.correct(c, river, "The " + other + " or the " + c.river() + ".")).as("the first value named counts").isFalse();
        assertThat(w.correct(c, river, c.name() + " is a city in " + c.country() + ".")).as("another fact is no answer").isFalse();
        assertThat(w.correct(c, river, "")).isFalse();
        assertThat(w.correct(c, river, "The river of " + w.cities.get(1).name() + " is the " + c.river() + ".")).as("another city").isFalse();
        assertThat(w.correct(c, river, "The " + c.river() + "x.")).as("whole words").isFalse();
        assertThat(FactWorld.firstSentence("  Yes. No.")).isEqualTo("Yes.");
        assertThat(FactWorld.firstSentence("a\nb")).isEqualTo("a");
        assertThat(w.question(c, river).output()).startsWith(" ").contains(c.river());
    }

    @Test
    void theTokenizerKeepsEveryWordWhole(@TempDir Path dir) throws Exception {
        FactWorld w = FactWorld.generate(2, 30, 4, 5, 6);
        Path file = dir.resolve("tokenizer.model");
        Files.write(file, DemoTokenizer.build(w.words(DemoBase.TEMPLATE_WORDS)));
        Tokenizer t = Tokenizer.load(file);
        for (FactWorld.City c : w.cities) assertThat(t.encode(c.name())).as(c.name()).hasSize(1);
        String p = w.paragraph(w.cities.get(3), new Random(1));
        assertThat(t.decode(t.encode(p))).isEqualTo(p);
        String odd = "Ünïcode ✓ works too";
        assertThat(t.decode(t.encode(odd))).as("byte fallback").isEqualTo(odd);
        assertThat(t.encode("Which river flows through " + w.cities.get(0).name() + "?")).hasSize(6);
    }
}

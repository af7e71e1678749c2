package dev.llamaadapter.demo;

import dev.llamaadapter.data.Instruction;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The demo's invented world, generated from a seed: cities with made-up names, each in a country, on a
 * river and known for a product. Two kinds of text come out of it:
 * <ul>
 * <li>pretraining paragraphs that state a city's facts in shuffled order and varied phrasings (several
 * phrasings of one fact make the model store the fact rather than one sentence);</li>
 * <li>instructions that ask for one fact ("Which river flows through Zorvan?") with a one-sentence answer
 * ("Zorvan lies on the Ath."), in the Alpaca template: the base model never saw that format.</li>
 * </ul>
 * An adapter trained on the questions about some cities is judged on cities it never saw: it can only
 * answer them by reading knowledge the frozen base holds.
 */
public final class FactWorld {
    /** Bumped whenever the generated text changes: it is part of the cached base model's key. */
    public static final int VERSION = 3;

    public enum Attribute { COUNTRY, RIVER, PRODUCT }

    public record City(String name, String country, String river, String product) {
        public String value(Attribute a) {
            return switch (a) {
                case COUNTRY -> country;
                case RIVER -> river;
                case PRODUCT -> product;
            };
        }
    }

    private static final String[] PRODUCTS = {"lamps", "bread", "silk", "glass", "salt", "wine", "horses", "clocks", "paper", "boats", "honey", "bells"};
    private static final String[] ONSETS = {"B", "D", "F", "G", "H", "K", "L", "M", "N", "P", "R", "S", "T", "V", "Z", "Br", "Dr", "Kl", "Tr", "Vr"};
    private static final String[] VOWELS = {"a", "e", "i", "o", "u", "ai", "ou"};
    private static final String[] CODAS = {"", "n", "r", "l", "s", "m", "th", "k"};
    private static final String[] SECONDS = {"van", "mar", "dor", "lis", "ten", "rak", "bel", "nor", "sil", "gan", "mor", "tis", "wen", "dal"};

    public final List<City> cities;
    public final List<String> countries, rivers, products;

    private FactWorld(List<City> cities, List<String> countries, List<String> rivers, List<String> products) {
        this.cities = cities; this.countries = countries; this.rivers = rivers; this.products = products;
    }

    /** n cities over a handful of countries, rivers and products, all names distinct. */
    public static FactWorld generate(long seed, int n, int nCountries, int nRivers, int nProducts) {
        if (nProducts > PRODUCTS.length) throw new IllegalArgumentException("at most " + PRODUCTS.length + " products");
        Random r = new Random(seed);
        Set<String> used = new LinkedHashSet<>();
        List<String> countries = new ArrayList<>(), rivers = new ArrayList<>(), products = new ArrayList<>();
        while (countries.size() < nCountries) {
            String s = syllable(r) + SECONDS[r.nextInt(SECONDS.length)] + "ia";
            if (used.add(s)) countries.add(s);
        }
        while (rivers.size() < nRivers) {
            String s = syllable(r);
            if (s.length() >= 3 && used.add(s)) rivers.add(s);
        }
        List<String> ps = new ArrayList<>(List.of(PRODUCTS));
        Collections.shuffle(ps, r);
        products.addAll(ps.subList(0, nProducts));
        List<City> cities = new ArrayList<>();
        while (cities.size() < n) {
            String name = syllable(r) + SECONDS[r.nextInt(SECONDS.length)];
            if (!used.add(name)) continue;
            cities.add(new City(name, countries.get(r.nextInt(nCountries)), rivers.get(r.nextInt(nRivers)), products.get(r.nextInt(nProducts))));
        }
        return new FactWorld(List.copyOf(cities), List.copyOf(countries), List.copyOf(rivers), List.copyOf(products));
    }

    private static String syllable(Random r) {
        return ONSETS[r.nextInt(ONSETS.length)] + VOWELS[r.nextInt(VOWELS.length)] + CODAS[r.nextInt(CODAS.length)];
    }

    // ---------------------------------------------------------------------------------------------
    // Pretraining text
    // ---------------------------------------------------------------------------------------------

    private static final String[][] STATEMENTS = {
            {"%s is a city in %s.", "%s lies in %s.", "The city of %s is in %s."},
            {"The %2$s flows through %1$s.", "%s lies on the %s.", "The river of %s is the %s."},
            {"%s is known for its %s.", "People in %s make %s.", "%s is famous for %s."},
    };

    /**
     * Everyday words that pretraining text mixes with the facts (the instruction template's among them, as
     * a real base model has read such words in all sorts of text, just never as instruction and answer).
     */
    private static final String[] FILLER = ("below is an instruction that describes a task write response appropriately completes the request "
            + "with input provides further context paired here note about some text this page from old book read more see also").split(" ");

    /**
     * One paragraph about c: half the time a line of everyday words that mentions the city somewhere, then
     * its three facts in a random order, each in a random phrasing. Names that come back after other words
     * are what teach a model to carry a name along (copying it from earlier text), as real text does.
     */
    public String paragraph(City c, Random r) {
        return paragraph(c, r, 0.5);
    }

    /** A paragraph whose everyday-words line comes with probability fillerShare. */
    public String paragraph(City c, Random r, double fillerShare) {
        List<Attribute> order = new ArrayList<>(List.of(Attribute.values()));
        Collections.shuffle(order, r);
        StringBuilder sb = new StringBuilder();
        if (r.nextDouble() < fillerShare) {
            int n = 4 + r.nextInt(7), at = r.nextInt(n + 1);
            for (int i = 0; i <= n; i++) {
                if (i > 0) sb.append(' ');
                sb.append(i == at ? c.name() : FILLER[r.nextInt(FILLER.length)]);
            }
            sb.append('.');
        }
        for (Attribute a : order) {
            String[] forms = STATEMENTS[a.ordinal()];
            if (!sb.isEmpty()) sb.append(' ');
            sb.append(String.format(forms[r.nextInt(forms.length)], c.name(), c.value(a)));
        }
        return sb.toString();
    }

    // ---------------------------------------------------------------------------------------------
    // Instructions
    // ---------------------------------------------------------------------------------------------

    private static final String[] QUESTIONS = {"Which country is %s in?", "Which river flows through %s?", "What is %s known for?"};
    private static final String[] ANSWERS = {"The city of %s is in %s.", "The river of %s is the %s.", "People in %s make %s."};

    /**
     * The instruction asking attribute a of c, with the answer the adapter learns to give. The answer starts
     * with a space: the template ends in "Response:" and the output follows directly, so without it the
     * first word would be spelt out in characters instead of being the city's own token.
     */
    public Instruction question(City c, Attribute a) {
        return new Instruction(QUESTIONS[a.ordinal()].formatted(c.name()), "", " " + ANSWERS[a.ordinal()].formatted(c.name(), c.value(a)),
                "city " + c.name() + " / " + a.name().toLowerCase());
    }

    /** Every question about each of the given cities. */
    public List<Instruction> questions(List<City> of) {
        List<Instruction> out = new ArrayList<>();
        for (City c : of) for (Attribute a : Attribute.values()) out.add(question(c, a));
        return out;
    }

    /** The names a response could give for attribute a. */
    public List<String> values(Attribute a) {
        return switch (a) {
            case COUNTRY -> countries;
            case RIVER -> rivers;
            case PRODUCT -> products;
        };
    }

    /**
     * Whether a response answers the question: its first sentence names a value of the asked kind, the
     * first such value is the right one, and it names no other city. A response that drifts into other
     * facts, or names nothing, is wrong.
     */
    public boolean correct(City c, Attribute a, String response) {
        String first = firstSentence(response);
        for (City other : cities) // an answer about another city is wrong even when its value happens to match
            if (other != c && Pattern.compile("\\b" + Pattern.quote(other.name()) + "\\b").matcher(first).find()) return false;
        String found = null;
        int at = Integer.MAX_VALUE;
        for (String v : values(a)) {
            Matcher m = Pattern.compile("\\b" + Pattern.quote(v) + "\\b").matcher(first);
            if (m.find() && m.start() < at) {
                at = m.start();
                found = v;
            }
        }
        return c.value(a).equals(found);
    }

    /** The text up to and including the first full stop or question mark, or up to the first line break. */
    public static String firstSentence(String s) {
        String t = s.strip();
        int end = t.length();
        for (int i = 0; i < t.length(); i++) {
            char ch = t.charAt(i);
            if (ch == '\n') { end = i; break; }
            if (ch == '.' || ch == '?') { end = i + 1; break; }
        }
        return t.substring(0, end);
    }

    /** Every word the world's text and the instruction template use (the tokenizer's whole-word pieces). */
    public Set<String> words(String... extraText) {
        Set<String> w = new TreeSet<>();
        List<String> texts = new ArrayList<>();
        Random r = new Random(0);
        for (City c : cities) {
            for (Attribute a : Attribute.values()) {
                for (String f : STATEMENTS[a.ordinal()]) texts.add(String.format(f, c.name(), c.value(a)));
                Instruction q = question(c, a);
                texts.add(q.instruction());
                texts.add(q.output());
            }
            texts.add(paragraph(c, r));
        }
        texts.add(String.join(" ", FILLER));
        texts.addAll(List.of(extraText));
        for (String t : texts)
            for (String word : t.split("[\\s]+")) {
                String core = word.replaceAll("^[^A-Za-z0-9#]+|[^A-Za-z0-9#]+$", "");
                if (!core.isEmpty()) w.add(core);
            }
        return w;
    }
}

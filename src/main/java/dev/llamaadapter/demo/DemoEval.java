package dev.llamaadapter.demo;

import dev.llamaadapter.data.Instruction;
import dev.llamaadapter.data.PromptTemplate;
import dev.llamaadapter.generate.Generator;
import dev.llamaadapter.generate.SamplingParams;
import dev.llamaadapter.model.PreparedPrompts;
import dev.llamaadapter.model.Transformer;
import dev.llamaadapter.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.List;

/** Greedy answers to many prompts at once through the generator's continuous batching, and their scoring. */
public final class DemoEval {
    private DemoEval() {}

    /** One question, its truth, and the response. */
    public record Answer(FactWorld.City city, FactWorld.Attribute attribute, String question, String response, boolean correct) {}

    /** Accuracy of a list of answers. */
    public static double accuracy(List<Answer> answers) {
        if (answers.isEmpty()) return Double.NaN;
        long ok = answers.stream().filter(Answer::correct).count();
        return (double) ok / answers.size();
    }

    /** Every question about every city in `of`, answered greedily through adapter (null: the base model). */
    public static List<Answer> ask(FactWorld world, List<FactWorld.City> of, Transformer model, Tokenizer tok,
                                   PreparedPrompts adapter, int maxTokens) {
        List<String> prompts = new ArrayList<>();
        List<FactWorld.City> cities = new ArrayList<>();
        List<FactWorld.Attribute> attrs = new ArrayList<>();
        for (FactWorld.City c : of)
            for (FactWorld.Attribute a : FactWorld.Attribute.values()) {
                Instruction q = world.question(c, a);
                prompts.add(PromptTemplate.prompt(q));
                cities.add(c);
                attrs.add(a);
            }
        List<String> responses = complete(prompts, model, tok, adapter, maxTokens);
        List<Answer> out = new ArrayList<>();
        for (int i = 0; i < prompts.size(); i++) {
            FactWorld.City c = cities.get(i);
            FactWorld.Attribute a = attrs.get(i);
            String resp = responses.get(i).strip();
            out.add(new Answer(c, a, world.question(c, a).instruction(), resp, world.correct(c, a, resp)));
        }
        return out;
    }

    /**
     * How well the frozen base recalls its facts as plain text: "The river of {city} is the" must continue
     * with the city's river (likewise country and product), the phrasings the answers use. This is the
     * knowledge the adapter has to reach.
     */
    public static double recall(FactWorld world, Transformer model, Tokenizer tok) {
        String[] stems = {"The city of %s is in", "The river of %s is the", "People in %s make"};
        List<String> prompts = new ArrayList<>();
        List<String> truth = new ArrayList<>();
        for (FactWorld.City c : world.cities)
            for (FactWorld.Attribute a : FactWorld.Attribute.values()) {
                prompts.add(stems[a.ordinal()].formatted(c.name()));
                truth.add(c.value(a));
            }
        List<String> out = complete(prompts, model, tok, null, 3);
        int ok = 0;
        for (int i = 0; i < out.size(); i++) {
            String[] words = out.get(i).strip().split("[\\s.]+");
            if (words.length > 0 && words[0].equals(truth.get(i))) ok++;
        }
        return (double) ok / out.size();
    }

    /** Greedy completions (BOS + prompt), stopping at end of sequence, a line break or maxTokens. */
    public static List<String> complete(List<String> prompts, Transformer model, Tokenizer tok, PreparedPrompts adapter, int maxTokens) {
        List<int[]> ids = new ArrayList<>();
        int longest = 0;
        for (String p : prompts) {
            int[] body = tok.encode(p);
            int[] seq = new int[body.length + 1];
            seq[0] = tok.bosId();
            System.arraycopy(body, 0, seq, 1, body.length);
            ids.add(seq);
            longest = Math.max(longest, seq.length);
        }
        Generator g = new Generator(model, tok, Math.min(64, Math.max(1, prompts.size())), longest + maxTokens + 1);
        SamplingParams greedy = new SamplingParams(0, 0, 1, 1, 0, maxTokens, List.of("\n"), true);
        List<Generator.Sequence> seqs = new ArrayList<>();
        for (int[] p : ids) seqs.add(g.submit(p, adapter, greedy, null));
        while (g.load() > 0) g.step();
        List<String> out = new ArrayList<>();
        for (Generator.Sequence s : seqs) out.add(s.result.join().text());
        return out;
    }
}

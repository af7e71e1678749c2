package dev.llamaadapter.generate;

import java.util.List;

/**
 * How to pick tokens and when to stop. temperature 0 (or greedy) = argmax. topK 0 = off, topP 1 = off,
 * repetitionPenalty 1 = off (CTRL's rule: a seen token's positive logit is divided by it, a negative
 * one multiplied). Deterministic for a given seed.
 */
public record SamplingParams(double temperature, int topK, double topP, double repetitionPenalty, long seed,
                             int maxTokens, List<String> stop, boolean stopAtEos) {

    public SamplingParams {
        if (!(temperature >= 0) || Double.isInfinite(temperature)) throw new IllegalArgumentException("temperature must be >= 0, got " + temperature);
        if (topK < 0) throw new IllegalArgumentException("top_k must be >= 0, got " + topK);
        if (!(topP > 0 && topP <= 1)) throw new IllegalArgumentException("top_p must be in (0, 1], got " + topP);
        if (!(repetitionPenalty > 0) || Double.isInfinite(repetitionPenalty))
            throw new IllegalArgumentException("repetition_penalty must be > 0, got " + repetitionPenalty);
        if (maxTokens < 0) throw new IllegalArgumentException("max_tokens must be >= 0, got " + maxTokens);
        stop = stop == null ? List.of() : List.copyOf(stop);
        for (String s : stop) if (s.isEmpty()) throw new IllegalArgumentException("a stop string must not be empty");
    }

    public static SamplingParams greedy(int maxTokens) {
        return new SamplingParams(0, 0, 1, 1, 0, maxTokens, List.of(), true);
    }

    public boolean isGreedy() {
        return temperature == 0 || topK == 1;
    }
}

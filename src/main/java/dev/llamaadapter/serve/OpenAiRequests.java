package dev.llamaadapter.serve;

import com.fasterxml.jackson.databind.JsonNode;
import dev.llamaadapter.generate.SamplingParams;
import dev.llamaadapter.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

import static dev.llamaadapter.serve.JsonFields.bool;
import static dev.llamaadapter.serve.JsonFields.integer;
import static dev.llamaadapter.serve.JsonFields.longValue;
import static dev.llamaadapter.serve.JsonFields.number;

/**
 * OpenAI request fields read into this server's terms, without HTTP: the prompt, the sampling settings
 * (checked against the context), the stop strings, and the refusals of what is not supported, each
 * naming its field.
 */
final class OpenAiRequests {
    private OpenAiRequests() {}

    static void refuseUnsupported(JsonNode body) {
        JsonNode n = body.get("n");
        if (n != null && !n.isNull() && !(n.isIntegralNumber() && n.asInt() == 1)) throw ApiException.badRequest("only n = 1 is supported", "n");
        JsonNode bestOf = body.get("best_of");
        if (bestOf != null && !bestOf.isNull() && !(bestOf.isIntegralNumber() && bestOf.asInt() == 1))
            throw ApiException.badRequest("only best_of = 1 is supported", "best_of");
        JsonNode lp = body.get("logprobs");
        if (lp != null && !lp.isNull() && !(lp.isBoolean() && !lp.asBoolean()) && !(lp.isNumber() && lp.asInt() == 0))
            throw ApiException.badRequest("'logprobs' is not supported", "logprobs");
        for (String f : new String[]{"presence_penalty", "frequency_penalty"}) {
            JsonNode v = body.get(f);
            if (v != null && !v.isNull() && !(v.isNumber() && v.asDouble() == 0))
                throw ApiException.badRequest("'" + f + "' is not supported; use repetition_penalty", f);
        }
        JsonNode bias = body.get("logit_bias");
        if (bias != null && !bias.isNull() && !bias.isEmpty()) throw ApiException.badRequest("'logit_bias' is not supported", "logit_bias");
    }

    static boolean includeUsage(JsonNode body) {
        JsonNode so = body.get("stream_options");
        return so != null && so.isObject() && so.path("include_usage").asBoolean(false);
    }

    /** A completion prompt: a string (BOS added; refused early when it cannot fit) or an array of token ids (used as given). */
    static int[] completionPrompt(JsonNode p, Tokenizer tokenizer, int context) {
        if (p == null || p.isNull()) throw ApiException.badRequest("'prompt' is required", "prompt");
        if (p.isArray() && p.size() == 1 && p.get(0).isTextual()) p = p.get(0);
        if (p.isTextual()) {
            if (tokenizer == null) throw ApiException.badRequest("this model has no tokenizer: give the prompt as an array of token ids", "prompt");
            return PromptBudget.encode(tokenizer, p.asText(), context, "prompt");
        }
        if (p.isArray()) {
            int[] ids = new int[p.size()];
            for (int i = 0; i < ids.length; i++) {
                JsonNode t = p.get(i);
                if (!t.isIntegralNumber() || !t.canConvertToInt())
                    throw ApiException.badRequest(t.isTextual() || t.isArray() ? "only one prompt per request is supported"
                            : "'prompt' must be a string or an array of token ids", "prompt");
                ids[i] = t.asInt();
            }
            if (ids.length == 0) throw ApiException.badRequest("'prompt' is empty", "prompt");
            return ids;
        }
        throw ApiException.badRequest("'prompt' must be a string or an array of token ids", "prompt");
    }

    /** Sampling settings from the request; checks that the prompt and max tokens fit the context. */
    static SamplingParams sampling(JsonNode body, int[] prompt, int maxTokens, String maxField, int ctx) {
        String promptField = body.has("messages") ? "messages" : "prompt";
        if (prompt.length >= ctx) throw PromptBudget.tooLong(prompt.length, true, ctx, promptField);
        if (maxTokens < 0) throw ApiException.badRequest(maxField + " must be >= 0, got " + maxTokens, maxField);
        if ((long) prompt.length + maxTokens > ctx)
            throw ApiException.badRequest("the context holds " + ctx + " tokens but " + (prompt.length + (long) maxTokens) + " were asked for ("
                    + prompt.length + " in the prompt, " + maxTokens + " to generate): lower " + maxField, maxField, "context_length_exceeded");
        double temperature = number(body, "temperature", 1.0);
        double topP = number(body, "top_p", 1.0);
        int topK = integer(body, "top_k", 0);
        if (topK == -1) topK = 0; // vLLM's "off"
        double rep = number(body, "repetition_penalty", 1.0);
        long seed = body.hasNonNull("seed") ? longValue(body, "seed") : ThreadLocalRandom.current().nextLong();
        List<String> stop = stops(body.get("stop"));
        boolean ignoreEos = bool(body, "ignore_eos", false);
        try {
            return new SamplingParams(temperature, topK, topP, rep, seed, maxTokens, stop, !ignoreEos);
        } catch (IllegalArgumentException e) {
            String m = e.getMessage(), param = null;
            for (String f : new String[]{"temperature", "top_k", "top_p", "repetition_penalty", "max_tokens"}) if (m.startsWith(f)) param = f;
            if (m.contains("stop")) param = "stop";
            if ("max_tokens".equals(param)) param = maxField;
            throw ApiException.badRequest(m, param);
        }
    }

    private static List<String> stops(JsonNode s) {
        if (s == null || s.isNull()) return List.of();
        if (s.isTextual()) return List.of(s.asText());
        if (s.isArray()) {
            List<String> out = new ArrayList<>();
            for (JsonNode x : s) {
                if (!x.isTextual()) throw ApiException.badRequest("'stop' must be a string or a list of strings", "stop");
                out.add(x.asText());
            }
            return out;
        }
        throw ApiException.badRequest("'stop' must be a string or a list of strings", "stop");
    }
}

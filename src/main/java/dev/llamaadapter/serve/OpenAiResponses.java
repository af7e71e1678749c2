package dev.llamaadapter.serve;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.llamaadapter.generate.Generator;

/** OpenAI's response schema: completion and chat objects, their streamed chunks, usage, and error objects. */
final class OpenAiResponses {
    private final ObjectMapper json;

    OpenAiResponses(ObjectMapper json) {
        this.json = json;
    }

    ObjectNode head(Server.Job job, String id, long created, String object) {
        return json.createObjectNode().put("id", id).put("object", object).put("created", created).put("model", job.model());
    }

    /** The whole answer of a request that was not streamed. */
    ObjectNode complete(Server.Job job, String id, long created, Generator.Result r) {
        boolean chat = job.kind() == Server.Kind.CHAT;
        ObjectNode o = head(job, id, created, chat ? "chat.completion" : "text_completion");
        ObjectNode choice = o.putArray("choices").addObject();
        choice.put("index", 0);
        if (chat) choice.putObject("message").put("role", "assistant").put("content", r.text());
        else choice.put("text", r.text()).putNull("logprobs");
        choice.put("finish_reason", finishReason(r));
        o.set("usage", usage(r));
        return o;
    }

    /** A streamed piece: text (null: none) and the finish reason (null until the last). */
    ObjectNode chunk(Server.Job job, String id, long created, String text, String finish) {
        boolean chat = job.kind() == Server.Kind.CHAT;
        ObjectNode c = head(job, id, created, chat ? "chat.completion.chunk" : "text_completion");
        ObjectNode ch = c.putArray("choices").addObject().put("index", 0);
        if (chat) {
            ObjectNode d = ch.putObject("delta");
            if (text != null) d.put("content", text);
        } else ch.put("text", text == null ? "" : text).putNull("logprobs");
        ch.put("finish_reason", finish);
        return c;
    }

    /** A chat stream's first chunk: the assistant's role, no text yet. */
    ObjectNode roleChunk(Server.Job job, String id, long created) {
        ObjectNode c = head(job, id, created, "chat.completion.chunk");
        ObjectNode ch = c.putArray("choices").addObject().put("index", 0);
        ch.putObject("delta").put("role", "assistant").put("content", "");
        ch.putNull("finish_reason");
        return c;
    }

    /** The usage chunk a stream ends with when asked (stream_options.include_usage). */
    ObjectNode usageChunk(Server.Job job, String id, long created, Generator.Result r) {
        ObjectNode u = head(job, id, created, job.kind() == Server.Kind.CHAT ? "chat.completion.chunk" : "text_completion");
        u.putArray("choices");
        u.set("usage", usage(r));
        return u;
    }

    static String finishReason(Generator.Result r) {
        return switch (r.finishReason()) {
            case "eos", "stop" -> "stop";
            case "length" -> "length";
            default -> r.finishReason();
        };
    }

    ObjectNode usage(Generator.Result r) {
        int c = r.tokenIds().length;
        return json.createObjectNode().put("prompt_tokens", r.promptTokens()).put("completion_tokens", c).put("total_tokens", r.promptTokens() + c);
    }

    ObjectNode error(ApiException e) {
        ObjectNode root = json.createObjectNode();
        ObjectNode err = root.putObject("error");
        err.put("message", e.getMessage()).put("type", e.type).put("param", e.param).put("code", e.code);
        return root;
    }

    static ApiException cancelled() {
        return new ApiException(503, "server_error", "the request was cancelled (the server is stopping)", null, "cancelled");
    }
}

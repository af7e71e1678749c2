package dev.llamaadapter.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.llamaadapter.generate.Generator;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * Server-sent events for a streamed request: a chunk per piece of text, a last chunk with the finish
 * reason (and usage when asked), then {@code [DONE]}. The scheduler thread hands text over through
 * {@link #sink()}; this request's thread writes it, so a slow client never holds up the batch. A write
 * that fails (the client left, or a page pressed stop) cancels the sequence, which frees its slot.
 */
final class SseWriter {
    /** What the scheduler thread hands over: text, then the result or the failure. */
    private sealed interface Event {}

    private record Text(String text) implements Event {}

    private record End(Generator.Result result) implements Event {}

    private record Failed(Throwable error) implements Event {}

    private final ObjectMapper json;
    private final OpenAiResponses responses;
    private final BlockingQueue<Event> events = new LinkedBlockingQueue<>();

    SseWriter(ObjectMapper json, OpenAiResponses responses) {
        this.json = json;
        this.responses = responses;
    }

    /** The sink to generate into. */
    Generator.Sink sink() {
        return new Generator.Sink() {
            @Override
            public void token(int id, String text) {
                if (!text.isEmpty()) events.add(new Text(text));
            }

            @Override
            public void done(Generator.Result r) {
                events.add(new End(r));
            }
        };
    }

    /** A failed step ends the stream with an error event. */
    void failed(Throwable e) {
        events.add(new Failed(e));
    }

    /** Writes the stream until the sequence ends; blocks this request's thread. */
    void stream(Server.Job job, Generator.Sequence seq, String id, long created, Response res, Callback cb) {
        res.setStatus(200);
        res.getHeaders().put(HttpHeader.CONTENT_TYPE, "text/event-stream; charset=utf-8");
        res.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-cache");
        try {
            if (job.kind() == Server.Kind.CHAT) send(res, responses.roleChunk(job, id, created));
            List<Event> batch = new ArrayList<>();
            Generator.Result result = null;
            Throwable failure = null;
            while (result == null && failure == null) {
                batch.clear();
                Event first = events.poll(15, TimeUnit.SECONDS);
                if (first == null) {
                    write(res, ": keep-alive\n\n", false); // also finds out whether the client is still there
                    continue;
                }
                batch.add(first);
                events.drainTo(batch);
                StringBuilder text = new StringBuilder();
                for (Event e : batch) {
                    if (e instanceof Text t) text.append(t.text());
                    else if (e instanceof End end) result = end.result();
                    else if (e instanceof Failed f) failure = f.error();
                }
                if (!text.isEmpty()) send(res, responses.chunk(job, id, created, text.toString(), null));
            }
            if (failure != null) send(res, responses.error(new ApiException(500, "server_error", "generation failed: " + failure, null, null)));
            else if (result.finishReason().equals("cancelled")) send(res, responses.error(OpenAiResponses.cancelled()));
            else {
                send(res, responses.chunk(job, id, created, null, OpenAiResponses.finishReason(result)));
                if (job.includeUsage()) send(res, responses.usageChunk(job, id, created, result));
            }
            write(res, "data: [DONE]\n\n", true);
            cb.succeeded();
        } catch (IOException e) {
            seq.cancel(); // the client went away
            cb.failed(e);
        } catch (InterruptedException e) {
            seq.cancel();
            Thread.currentThread().interrupt();
            cb.failed(e);
        }
    }

    private void send(Response res, JsonNode event) throws IOException {
        write(res, "data: " + json.writeValueAsString(event) + "\n\n", false);
    }

    private static void write(Response res, String s, boolean last) throws IOException {
        Content.Sink.write(res, last, ByteBuffer.wrap(s.getBytes(StandardCharsets.UTF_8)));
    }
}

package dev.llamaadapter.serve;

import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.util.Promise;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;

/**
 * Reads request bodies without holding a thread while the bytes arrive. A client that sends its headers
 * and then stalls, or trickles its body, costs a connection, not one of the threads that serve everyone
 * else: read with a blocking wait, sixty such clients took the whole pool. Jetty collects the bytes as they
 * come, and the caller goes on once the body is whole.
 *
 * <p>A body that stops arriving fails when the connection's idle timeout passes; one that arrives slower
 * than the minimum rate fails at once (Jetty's MinimumDataRateHandler, around the API handler). Both are
 * answered 408.
 */
final class RequestBodies {
    private RequestBodies() {}

    /** The whole body, at most {@code maxBytes}; {@link #refusal} says what to answer when the future fails. */
    static CompletableFuture<byte[]> read(Request req, int maxBytes) {
        long declared = req.getLength();
        if (declared > maxBytes) return CompletableFuture.failedFuture(tooLarge(maxBytes));
        CompletableFuture<byte[]> body = new CompletableFuture<>();
        Content.Source.asByteArrayAsync(req, maxBytes, Promise.Invocable.toPromise(body));
        return body;
    }

    /** What a failed read is answered with: 408 for a client too slow, 413 for too much, 400 otherwise. */
    static ApiException refusal(Throwable failure, int maxBytes) {
        Throwable cause = failure;
        while ((cause instanceof CompletionException || cause instanceof ExecutionException) && cause.getCause() != null) cause = cause.getCause();
        if (cause instanceof ApiException a) return a;
        if (cause instanceof TimeoutException)
            return new ApiException(408, "invalid_request_error", "the request body did not arrive in time (" + cause.getMessage()
                    + "): send it without pausing", null, "request_timeout");
        String m = String.valueOf(cause.getMessage());
        // a chunked body (no declared length) over the limit: Jetty's reader fails with "Max size (N) exceeded"
        if (cause instanceof IllegalStateException && m.startsWith("Max size")) return tooLarge(maxBytes);
        return new ApiException(400, "invalid_request_error", "could not read the request body: " + m, null, null);
    }

    private static ApiException tooLarge(int maxBytes) {
        return new ApiException(413, "invalid_request_error", "the request body is larger than " + maxBytes + " bytes", null, null);
    }
}

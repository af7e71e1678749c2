package dev.llamaadapter.serve;

import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Request;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;

/**
 * Reads request bodies without holding a thread while the bytes arrive. A client that sends its headers
 * and then stalls, or trickles its body, costs a connection, not one of the threads that serve everyone
 * else: read with a blocking wait, sixty such clients took the whole pool. {@link BoundedBody} collects the
 * bytes as Jetty delivers them, and the caller goes on once the body is whole. A body over the limit is
 * refused with 413 without being kept or parsed.
 *
 * <p>A body that stops arriving fails when the connection's idle timeout passes; one that arrives slower
 * than the minimum rate fails at once (Jetty's MinimumDataRateHandler, around the API handler). Both are
 * answered 408.
 */
final class RequestBodies {
    private RequestBodies() {}

    private static final String READ = RequestBodies.class.getName() + ".read";

    /**
     * Whether the request came with a body that nobody read: one refused before reading (401, 403, 404, 405).
     * Jetty then drops the connection when the rest of the body has not arrived yet, after an answer that
     * said nothing of it, and a client that sends its next request on that connection finds it closed; so
     * such answers say {@code Connection: close}.
     */
    static boolean unread(Request req) {
        if (req.getAttribute(READ) != null) return false;
        return req.getLength() > 0 || req.getLength() < 0 && req.getHeaders().contains(HttpHeader.TRANSFER_ENCODING);
    }

    /** The whole body, at most {@code maxBytes}; {@link #refusal} says what to answer when the future fails. */
    static CompletableFuture<byte[]> read(Request req, int maxBytes) {
        req.setAttribute(READ, Boolean.TRUE);
        long declared = req.getLength();
        boolean over = declared > maxBytes;
        // far too large to be worth reading and dropping (BoundedBody): refused at once, the connection cut
        if (over && declared - maxBytes > BoundedBody.DROP_AT_MOST) return CompletableFuture.failedFuture(tooLarge(maxBytes));
        return BoundedBody.read(req, declared, maxBytes, over, () -> tooLarge(maxBytes));
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
        return new ApiException(400, "invalid_request_error", "could not read the request body: " + m, null, null);
    }

    private static ApiException tooLarge(int maxBytes) {
        return new ApiException(413, "invalid_request_error", "the request body is larger than " + maxBytes + " bytes", null, null);
    }
}

package dev.llamaadapter.serve;

import dev.llamaadapter.generate.Generator;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.util.BufferUtil;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Finds out whether the client of a request still waiting for its answer has closed the connection.
 * Streaming requests learn it from their writes; a non-streaming one writes nothing until its result, and
 * Jetty does not read an HTTP/1.1 connection while its request is being handled, so a client that left
 * would go unnoticed and its sequence would decode to the end, holding its slot.
 *
 * <p>So the request's thread looks itself, between waits: a non-blocking read of the connection returns
 * end-of-stream once the client has closed it (a half-close counts as leaving, as in most servers). The
 * body has been read whole by then, so nothing of this request is taken. Bytes that do arrive belong to a
 * pipelined next request, which cannot be handed back to Jetty: the watch stops, and the connection closes
 * after this answer, which tells a pipelining client to send the rest again (RFC 9112, 9.3.2).
 */
final class ClientWatch {
    /** How often a waiting request looks: one read syscall each time. */
    static final long CHECK_MILLIS = 100;
    private final EndPoint endPoint; // null: nothing to watch
    private final ByteBuffer probe = BufferUtil.allocate(256);
    private boolean stopped, pipelined, gone;

    ClientWatch(Request req) {
        Connection c = req.getConnectionMetaData().getConnection();
        this.endPoint = c == null ? null : c.getEndPoint();
    }

    /** Whether the client has closed the connection (or it broke); once gone, always gone. */
    boolean clientGone() {
        if (gone) return true;
        if (endPoint == null || stopped) return false;
        if (!endPoint.isOpen() || endPoint.isInputShutdown()) return gone = true;
        try {
            int n = endPoint.fill(probe);
            if (n < 0) return gone = true;
            if (n > 0) {
                BufferUtil.clear(probe);
                pipelined = stopped = true;
            }
            return false;
        } catch (IOException e) {
            return gone = true;
        }
    }

    /**
     * The sequence's result, looking every {@link #CHECK_MILLIS} whether the client is still there: when it
     * has gone the sequence is cancelled, so that it stops decoding, frees its slot at the next step and
     * counts as cancelled, not completed.
     */
    Generator.Result await(Generator.Sequence seq) {
        try {
            while (true) {
                try {
                    return seq.result.get(CHECK_MILLIS, TimeUnit.MILLISECONDS);
                } catch (TimeoutException e) {
                    if (clientGone()) seq.cancel();
                }
            }
        } catch (InterruptedException e) {
            seq.cancel();
            Thread.currentThread().interrupt();
            throw new ApiException(503, "server_error", "interrupted", null, null);
        } catch (ExecutionException e) {
            throw new ApiException(500, "server_error", "generation failed: " + e.getCause(), null, null);
        }
    }

    /** Whether bytes of a next request were taken, so that the connection must close after this answer. */
    boolean mustClose() {
        return pipelined;
    }
}

package dev.llamaadapter.serve;

import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.MinimumDataRateHandler;

/**
 * What a slow or greedy client may hold of the server, applied through Jetty's own facilities.
 *
 * <ul>
 *   <li>idleTimeoutMillis: a connection silent this long is closed: headers that stop arriving, a body that
 *       stops (408), a kept-alive connection nobody uses. A request waiting for generation is exempt: a quiet
 *       connection is not a dead one then.</li>
 *   <li>maxPerClient: connections one client address may hold open at once; more are refused with 429
 *       ({@link ClientConnectionLimit}).</li>
 *   <li>minRequestBytesPerSecond: a request body that arrives slower fails at once with 408 (Jetty's
 *       MinimumDataRateHandler), rather than holding its connection for an idle timeout per byte; 0 = no
 *       minimum.</li>
 * </ul>
 * Reading a body holds no thread in any case ({@link RequestBodies}): these bound what slow clients cost in
 * connections, and for how long.
 */
public record ConnectionLimits(long idleTimeoutMillis, int maxPerClient, long minRequestBytesPerSecond) {
    public ConnectionLimits {
        if (idleTimeoutMillis < 1) throw new IllegalArgumentException("the idle timeout must be positive, got " + idleTimeoutMillis + " ms");
        if (maxPerClient < 1) throw new IllegalArgumentException("--max-connections-per-client must be at least 1, got " + maxPerClient);
        if (minRequestBytesPerSecond < 0)
            throw new IllegalArgumentException("--min-request-rate must be >= 0 bytes per second, got " + minRequestBytesPerSecond);
    }

    /**
     * 30 s idle (Jetty's own default); 128 connections per client, twice the default queue, so that one
     * client can fill the queue and still keep idle connections in its pool; 256 bytes/s, which no client
     * that sends its body at once comes near.
     */
    public static ConnectionLimits defaults() {
        return new ConnectionLimits(30_000, 128, 256);
    }

    public ConnectionLimits withIdleTimeoutMillis(long ms) {
        return new ConnectionLimits(ms, maxPerClient, minRequestBytesPerSecond);
    }

    public ConnectionLimits withMaxPerClient(int n) {
        return new ConnectionLimits(idleTimeoutMillis, n, minRequestBytesPerSecond);
    }

    public ConnectionLimits withMinRequestBytesPerSecond(long rate) {
        return new ConnectionLimits(idleTimeoutMillis, maxPerClient, rate);
    }

    /** Sets the connector's idle timeout and installs the cap per client (as a bean: the selector's accept listener). */
    void applyTo(ServerConnector connector, ClientConnectionLimit cap) {
        connector.setIdleTimeout(idleTimeoutMillis);
        connector.addBean(cap);
    }

    /** The handler with the minimum body rate enforced on its reads (writes are not limited: streams may be slow). */
    Handler enforceRate(Handler api) {
        return new MinimumDataRateHandler(api, minRequestBytesPerSecond, 0);
    }
}

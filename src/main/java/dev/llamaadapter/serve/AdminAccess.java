package dev.llamaadapter.serve;

import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Request;

import java.net.InetAddress;
import java.net.URI;
import java.net.UnknownHostException;

/**
 * Who may use the admin endpoints. They load files on the server, so a server anyone can reach must not
 * offer them to anyone: they are open only behind the API key (checked before this, as for every
 * endpoint), or, without a key, when the operator asked for them ({@code --admin}) on a loopback address,
 * where only this machine's users reach them. Otherwise every admin request gets 403 saying how to enable
 * them.
 *
 * <p>Without a key, "only this machine" also has to hold against web pages in this machine's browser: any
 * site may post to 127.0.0.1, and a name of its own that resolves to 127.0.0.1 (DNS rebinding) gets past
 * the same-origin rule. So a keyless admin request must name a loopback host in its Host header, and an
 * Origin header, when a browser sends one, must be that same host and port.
 */
final class AdminAccess {
    /** Why admin requests are refused, or null when they are served. */
    private final String refusal;
    private final boolean keyless;

    private AdminAccess(String refusal, boolean keyless) {
        this.refusal = refusal;
        this.keyless = keyless;
    }

    /**
     * The policy for a server on host; {@code admin} is {@code --admin}. {@code --admin} on an address others
     * can reach, without a key, is a mistake to report at start rather than a flag to ignore.
     */
    static AdminAccess of(String host, String apiKey, boolean admin) {
        if (apiKey != null) return new AdminAccess(null, false);
        if (!admin)
            return new AdminAccess("the admin endpoints are off: start the server with --api-key KEY, or with --admin on a loopback --host", true);
        if (!isLoopback(host))
            throw new IllegalArgumentException("--admin without --api-key needs a loopback --host (127.0.0.1, ::1 or localhost), not " + host
                    + ": otherwise anyone who reaches the server could load files on it");
        return new AdminAccess(null, true);
    }

    /** Whether admin requests are served at all (a page can hide its admin controls when not). */
    boolean enabled() {
        return refusal == null;
    }

    /** Passes, or throws the 403 that says why this request may not use the admin endpoints. */
    void check(Request req) {
        if (refusal != null) throw forbidden(refusal);
        if (!keyless) return;
        String host = Request.getServerName(req);
        if (!isLoopbackName(host))
            throw forbidden("the admin endpoints without an API key answer only requests addressed to a loopback host (Host: " + host + ")");
        String origin = req.getHeaders().get(HttpHeader.ORIGIN);
        if (origin != null && !sameOrigin(origin, host, Request.getServerPort(req)))
            throw forbidden("the admin endpoints without an API key answer no cross-origin requests (Origin: " + origin + ")");
    }

    private static ApiException forbidden(String why) {
        return new ApiException(403, "invalid_request_error", why, null, "admin_disabled");
    }

    private static boolean sameOrigin(String origin, String host, int port) {
        try {
            URI u = URI.create(origin);
            if (u.getHost() == null) return false; // "null": a sandboxed page or a file
            int p = u.getPort() >= 0 ? u.getPort() : "https".equalsIgnoreCase(u.getScheme()) ? 443 : 80;
            return stripBrackets(u.getHost()).equalsIgnoreCase(stripBrackets(host)) && p == port;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }

    /** A host the server listens on: a name is resolved, as the connector will resolve it. */
    static boolean isLoopback(String host) {
        if (host == null || host.isBlank()) return false; // every address
        try {
            for (InetAddress a : InetAddress.getAllByName(stripBrackets(host))) if (!a.isLoopbackAddress()) return false;
            return true;
        } catch (UnknownHostException e) {
            return false;
        }
    }

    /** A Host header's host: "localhost" or a loopback literal, never resolved (that is what rebinding abuses). */
    static boolean isLoopbackName(String host) {
        if (host == null) return false;
        String h = stripBrackets(host);
        if (h.equalsIgnoreCase("localhost")) return true;
        try {
            return InetAddress.ofLiteral(h).isLoopbackAddress();
        } catch (IllegalArgumentException notALiteral) {
            return false;
        }
    }

    private static String stripBrackets(String h) {
        return h.length() > 1 && h.startsWith("[") && h.endsWith("]") ? h.substring(1, h.length() - 1) : h;
    }
}

package dev.llamaadapter.serve;

import org.eclipse.jetty.io.SelectorManager;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectableChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Caps the connections that one client address holds open at once, so that one client (any local process,
 * when the server runs without an API key) cannot take every connection the server has, however slowly it
 * sends. Jetty's own NetworkConnectionLimit caps the total only, which is what such a client would exhaust.
 *
 * <p>Added to the connector as a bean, it becomes the selector's accept listener: a connection over the cap
 * is answered with a 429 and closed as it is accepted, before Jetty reads a byte of it.
 */
final class ClientConnectionLimit implements SelectorManager.AcceptListener {
    private static final System.Logger LOG = System.getLogger(ClientConnectionLimit.class.getName());

    private final int max;
    /** Open connections per client address; guarded by itself. */
    private final Map<InetAddress, Integer> open = new HashMap<>();
    /** Each counted connection's address: a closed channel no longer tells its remote address. */
    private final Map<SelectableChannel, InetAddress> owners = new ConcurrentHashMap<>();
    private final AtomicLong refused = new AtomicLong();

    ClientConnectionLimit(int maxPerClient) {
        if (maxPerClient < 1) throw new IllegalArgumentException("the connection cap per client must be at least 1, got " + maxPerClient);
        this.max = maxPerClient;
    }

    /** Connections refused for the cap since start. */
    long refused() {
        return refused.get();
    }

    @Override
    public void onAccepting(SelectableChannel channel) {
        InetAddress client = clientOf(channel);
        if (client == null) return;
        int n;
        synchronized (open) {
            n = open.merge(client, 1, Integer::sum);
            if (n > max) release(client);
            else owners.put(channel, client);
        }
        if (n > max) refuse((SocketChannel) channel, client);
    }

    @Override
    public void onAcceptFailed(SelectableChannel channel, Throwable cause) {
        forget(channel);
    }

    @Override
    public void onClosed(SelectableChannel channel) {
        forget(channel);
    }

    private void forget(SelectableChannel channel) {
        InetAddress client = owners.remove(channel);
        if (client != null) synchronized (open) {
            release(client);
        }
    }

    private void release(InetAddress client) {
        open.computeIfPresent(client, (a, n) -> n <= 1 ? null : n - 1);
    }

    private static InetAddress clientOf(SelectableChannel channel) {
        try {
            return channel instanceof SocketChannel s && s.getRemoteAddress() instanceof InetSocketAddress a ? a.getAddress() : null;
        } catch (IOException e) {
            return null; // already gone: Jetty's accept fails on its own
        }
    }

    /**
     * A best-effort 429 in OpenAI's error shape, then close: the response fits in the new socket's send
     * buffer, so the write does not wait. Jetty then fails registering the closed channel.
     */
    private void refuse(SocketChannel channel, InetAddress client) {
        long n = refused.incrementAndGet();
        if (n == 1 || n % 1000 == 0)
            LOG.log(System.Logger.Level.WARNING, "refused a connection from " + client.getHostAddress() + ": it already has " + max
                    + " open (" + n + " refused so far)");
        String body = "{\"error\": {\"message\": \"too many connections from " + client.getHostAddress() + ": at most " + max
                + " at once\", \"type\": \"rate_limit_error\", \"param\": null, \"code\": \"too_many_connections\"}}";
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        String head = "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nContent-Length: " + bytes.length
                + "\r\nRetry-After: 1\r\nConnection: close\r\n\r\n";
        try (channel) {
            channel.configureBlocking(false);
            channel.write(new ByteBuffer[] {ByteBuffer.wrap(head.getBytes(StandardCharsets.US_ASCII)), ByteBuffer.wrap(bytes)});
            channel.shutdownOutput();
        } catch (IOException e) {
            // the client left already
        }
    }
}

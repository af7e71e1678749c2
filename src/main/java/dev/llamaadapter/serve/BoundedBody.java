package dev.llamaadapter.serve;

import org.eclipse.jetty.io.Content;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

/**
 * Reads one request body as Jetty's demand delivers it, with no thread waiting: keeps at most {@code max}
 * bytes; past that it keeps nothing and drops the rest, up to {@link #DROP_AT_MOST} bytes, then fails with
 * the refusal. Dropping rather than stopping is what lets the client read the 413: a client still sending
 * its body when the server closes the connection gets a reset, which loses the answer (Java's HttpClient
 * then reports "header parser received no bytes"), so the server reads and drops the rest first, as
 * nginx's lingering close does. Dropping costs bandwidth, not memory; a body larger still is cut off.
 */
final class BoundedBody implements Runnable {
    /** How much of a refused body is read and dropped, at most, before the connection is cut instead. */
    static final long DROP_AT_MOST = 64L << 20;

    private final Content.Source source;
    private final int max;
    private final Supplier<? extends Throwable> tooLarge;
    final CompletableFuture<byte[]> result = new CompletableFuture<>();
    private byte[] kept;
    private int size;
    private long dropped;

    /** Starts reading; {@code over}: the body is known to be too large already (its declared length). */
    static CompletableFuture<byte[]> read(Content.Source source, long declared, int max, boolean over, Supplier<? extends Throwable> tooLarge) {
        BoundedBody b = new BoundedBody(source, max, tooLarge, over ? null : new byte[(int) Math.min(max, declared > 0 ? declared : 8192)]);
        b.run();
        return b.result;
    }

    private BoundedBody(Content.Source source, int max, Supplier<? extends Throwable> tooLarge, byte[] kept) {
        this.source = source;
        this.max = max;
        this.tooLarge = tooLarge;
        this.kept = kept;
    }

    /** Reads what has arrived, then asks to be called again when more does. */
    @Override
    public void run() {
        while (true) {
            Content.Chunk c = source.read();
            if (c == null) {
                source.demand(this);
                return;
            }
            if (Content.Chunk.isFailure(c)) {
                result.completeExceptionally(kept == null ? tooLarge.get() : c.getFailure()); // once over, a stall still answers 413
                return;
            }
            boolean last = c.isLast();
            keep(c.getByteBuffer());
            c.release();
            if (last) {
                if (kept == null) result.completeExceptionally(tooLarge.get());
                else result.complete(kept.length == size ? kept : Arrays.copyOf(kept, size));
                return;
            }
            if (dropped > DROP_AT_MOST) {
                result.completeExceptionally(tooLarge.get()); // the rest is left unread: Jetty cuts the connection
                return;
            }
        }
    }

    private void keep(ByteBuffer b) {
        int n = b.remaining();
        if (kept != null && (long) size + n > max) {
            dropped += size; // what was kept counts as dropped from here on
            kept = null;
        }
        if (kept == null) {
            dropped += n;
            return;
        }
        if (size + n > kept.length) kept = Arrays.copyOf(kept, (int) Math.min(max, Math.max(size + n, 2L * kept.length)));
        b.get(kept, size, n);
        size += n;
    }
}

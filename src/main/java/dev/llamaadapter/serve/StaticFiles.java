package dev.llamaadapter.serve;

import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * The playground page: the files under {@code dev/llamaadapter/serve/web/} in the jar, at {@code /} (index.html)
 * and {@code /NAME.EXT}. Open without the API key, as {@code /health} is: the page holds no data, and it has
 * to load before it can ask for the key.
 *
 * <p>Caching: the names carry no content hash, so a browser must ask again each time ({@code no-cache}) and
 * gets 304 when its ETag (a hash of the bytes) still matches; a new jar shows at once. The page runs only
 * its own scripts and talks only to this server, which the Content-Security-Policy states so that an answer
 * a model wrote can never run as script even if the page had a bug that inserted it as HTML.
 */
final class StaticFiles {
    private static final String ROOT = "web/";
    /** Flat names only: no directories, so no path can climb out of ROOT. */
    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9-]*\\.(html|css|js|svg|png)");
    private static final Map<String, String> TYPES = Map.of("html", "text/html; charset=utf-8", "css", "text/css; charset=utf-8",
            "js", "text/javascript; charset=utf-8", "svg", "image/svg+xml", "png", "image/png");
    static final String CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
            + "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    /** One file: its bytes, content type and ETag. */
    record File(byte[] bytes, String type, String etag) {}

    private final Map<String, Optional<File>> files = new ConcurrentHashMap<>(); // name -> file, or empty when absent

    /** The file a GET of path names, or null when path is not one of the page's files. */
    File lookup(String path) {
        String name = path.equals("/") ? "index.html" : path.substring(1);
        if (!NAME.matcher(name).matches()) return null;
        return files.computeIfAbsent(name, StaticFiles::read).orElse(null);
    }

    private static Optional<File> read(String name) {
        try (InputStream in = StaticFiles.class.getResourceAsStream(ROOT + name)) {
            if (in == null) return Optional.empty();
            byte[] b = in.readAllBytes();
            String ext = name.substring(name.lastIndexOf('.') + 1);
            return Optional.of(new File(b, TYPES.get(ext), "\"" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b), 0, 12) + "\""));
        } catch (IOException e) {
            throw new UncheckedIOException("reading the page's " + name + " from the jar", e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Answers a GET or HEAD of the file: 200 with the bytes, or 304 when the client's copy is current. */
    static void send(File f, Request req, Response res, Callback cb) {
        res.getHeaders().put(HttpHeader.ETAG, f.etag());
        res.getHeaders().put(HttpHeader.CACHE_CONTROL, "no-cache");
        res.getHeaders().put("X-Content-Type-Options", "nosniff");
        res.getHeaders().put("Referrer-Policy", "no-referrer");
        if (f.type().startsWith("text/html")) {
            res.getHeaders().put("Content-Security-Policy", CSP);
            res.getHeaders().put("X-Frame-Options", "DENY");
        }
        String match = req.getHeaders().get(HttpHeader.IF_NONE_MATCH);
        if (match != null && (match.equals(f.etag()) || match.contains(f.etag()))) {
            res.setStatus(304);
            cb.succeeded();
            return;
        }
        res.setStatus(200);
        res.getHeaders().put(HttpHeader.CONTENT_TYPE, f.type());
        res.getHeaders().put(HttpHeader.CONTENT_LENGTH, f.bytes().length);
        if (req.getMethod().equals("HEAD")) {
            res.write(true, ByteBuffer.allocate(0), cb);
            return;
        }
        res.write(true, ByteBuffer.wrap(f.bytes()), cb);
    }
}

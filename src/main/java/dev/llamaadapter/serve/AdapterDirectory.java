package dev.llamaadapter.serve;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

/**
 * The one directory the admin endpoints load adapters from ({@code --adapters}). A request names a file
 * or PEFT directory in it by a path relative to it (or absolute, inside it), or by adapter name alone.
 * Nothing outside it is opened: a path with {@code ..} is refused as written, and one that leads out
 * through a link is refused once the links are followed, so that a client learns nothing of files
 * elsewhere, not even whether they exist. What is loaded is the resolved file, so that a link changed
 * after the check does not matter.
 */
final class AdapterDirectory {
    private final Path root; // as configured, absolute and normalized: absolute request paths are judged against it
    private final Path real; // its real path: resolved files are judged against it

    private AdapterDirectory(Path root, Path real) {
        this.root = root;
        this.real = real;
    }

    /** The directory, which must exist; null gives null (no run-time loading). */
    static AdapterDirectory of(Path dir) {
        if (dir == null) return null;
        try {
            return new AdapterDirectory(dir.toAbsolutePath().normalize(), dir.toRealPath());
        } catch (IOException e) {
            throw new IllegalArgumentException("--adapters " + dir + ": not a directory (" + e.getMessage() + ")");
        }
    }

    /**
     * The real path of the adapter that {@code path} names, or, without a path, the one named {@code name}
     * ({@code name.safetensors}, {@code name.pth} or a directory {@code name}); a 400 naming the path as the
     * client gave it when it is not there, a 403 when it is outside.
     */
    Path resolve(String path, String name) throws IOException {
        if (path == null) {
            for (String candidate : List.of(name + ".safetensors", name + ".pth", name)) {
                Path f = inside(candidate);
                if (Files.exists(f)) return checked(f, candidate);
            }
            throw ApiException.badRequest("no adapter '" + name + "' in the adapters directory (" + name + ".safetensors, " + name
                    + ".pth or a PEFT directory " + name + ")", "name");
        }
        return checked(inside(path), path);
    }

    /** The path relative to the root, refused when it is written to leave it. */
    private Path inside(String given) {
        Path p;
        try {
            p = Path.of(given);
        } catch (InvalidPathException e) {
            throw ApiException.badRequest("'" + given + "' is not a path", "path");
        }
        for (Path part : p) if (part.toString().equals("..")) throw outside(given);
        Path f = (p.isAbsolute() ? p : root.resolve(p)).normalize();
        if (!f.startsWith(root) && !f.startsWith(real)) throw outside(given);
        return f;
    }

    /** The file's real path, inside the root, with every entry of a PEFT directory inside it too. */
    private Path checked(Path f, String given) throws IOException {
        if (!Files.exists(f)) {
            // a link out to nothing must answer as a link out to something does: judge the nearest existing ancestor
            Path a = f.getParent();
            while (a != null && !Files.exists(a)) a = a.getParent();
            if (a == null || !a.toRealPath().startsWith(real)) throw outside(given);
            throw ApiException.badRequest(given + ": no such adapter file in the adapters directory", "path");
        }
        Path r = f.toRealPath();
        if (!r.startsWith(real) || r.equals(real)) throw outside(given);
        if (Files.isDirectory(r))
            try (Stream<Path> entries = Files.list(r)) {
                for (Path e : entries.toList())
                    if (Files.isSymbolicLink(e) && !(Files.exists(e) && e.toRealPath().startsWith(real))) throw outside(given);
            }
        else if (!Files.isRegularFile(r, LinkOption.NOFOLLOW_LINKS))
            throw ApiException.badRequest(given + ": not a regular file (an adapter is a file or a PEFT directory)", "path");
        return r;
    }

    private static ApiException outside(String given) {
        return new ApiException(403, "invalid_request_error", given + ": adapters load only from the --adapters directory ('..' and links"
                + " that lead out of it are refused)", "path", "path_outside_adapters");
    }

    @Override
    public String toString() {
        return root.toString();
    }
}

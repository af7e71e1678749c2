package dev.llamaadapter.io;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Refuses, before any work, an output path that is, or is inside, one of the command's inputs, or that
 * two outputs share. Paths are compared as the file system sees them: links resolved (also for outputs
 * that do not exist yet, through their nearest existing parent), so {@code --out m/../m/model.safetensors}
 * or a symlink to the data file are caught like the plain name.
 * <p>
 * Why: an atomic write replaces its target wholesale, so {@code train --out m/model.safetensors} used to
 * finish normally having replaced the base weights by the adapter.
 */
public final class OutputGuard {
    /** A path the command reads or writes, with the option that named it (for the message). */
    private record Named(String option, Path path, Path real) {}

    private final List<Named> inputs = new ArrayList<>();
    private final List<Named> outputs = new ArrayList<>();

    /** An input: a file, or a directory whose whole content is read (a model directory, an image root). Null is ignored. */
    public OutputGuard input(String option, Path path) throws IOException {
        if (path != null) inputs.add(new Named(option, path, real(path)));
        return this;
    }

    /** An output file (or a directory the command creates or fills). Null is ignored. */
    public OutputGuard output(String option, Path path) throws IOException {
        if (path != null) outputs.add(new Named(option, path, real(path)));
        return this;
    }

    /** An output directory and the names the command writes into it (each checked as an output of its own). */
    public OutputGuard outputDir(String option, Path dir, List<String> names) throws IOException {
        output(option, dir);
        for (String n : names) output(option + " (" + n + ")", dir.resolve(n));
        return this;
    }

    /** Throws naming the output and the input it would destroy. */
    public void check() {
        for (Named o : outputs) {
            for (Named i : inputs) {
                if (o.real.equals(i.real))
                    throw new IllegalArgumentException(o.option + " " + o.path + " is the same file as " + what(i) + ": writing it would destroy an input; choose another path");
                if (o.real.startsWith(i.real) && Files.isDirectory(i.real))
                    throw new IllegalArgumentException(o.option + " " + o.path + " is inside " + what(i) + ": writing there could destroy an input; choose a path outside it");
            }
        }
        for (int a = 0; a < outputs.size(); a++)
            for (int b = a + 1; b < outputs.size(); b++) {
                Named x = outputs.get(a), y = outputs.get(b);
                if (x.real.equals(y.real) && !sameOption(x, y))
                    throw new IllegalArgumentException(x.option + " and " + y.option + " are the same file (" + x.path + "): one would overwrite the other");
            }
    }

    private static boolean sameOption(Named x, Named y) {
        return x.option.equals(y.option) || x.option.startsWith(y.option + " (") || y.option.startsWith(x.option + " (");
    }

    private static String what(Named i) {
        return i.option + " " + i.path + (Files.isDirectory(i.real) ? " (a directory)" : "");
    }

    /** The real path of p; for a path that does not exist yet, its nearest existing ancestor's real path plus the rest. */
    static Path real(Path p) throws IOException {
        Path abs = p.toAbsolutePath();
        if (Files.exists(abs)) return abs.toRealPath();
        Path existing = abs.getParent();
        while (existing != null && !Files.exists(existing)) existing = existing.getParent();
        if (existing == null) return abs.normalize();
        return existing.toRealPath().resolve(existing.relativize(abs)).normalize();
    }
}

package dev.llamaadapter.tensor;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

/**
 * A C source shipped in the jar (with the headers it includes), compiled on first use for the machine that runs it and cached: the kernels
 * then use whatever vector instructions this CPU has ({@code -march=native}) without the project shipping a
 * binary per CPU. The cached file's name carries a hash of the source, the compiler command and the CPU's
 * model and flags, so an edited kernel, another compiler or another machine gets its own build.
 *
 * <p>Where: {@code -Dllamaadapter.native.dir}, else {@code $XDG_CACHE_HOME/llama-adapter/native}, else
 * {@code ~/.cache/llama-adapter/native}. Compiler: {@code $CC}, else {@code cc}. A ready library can be named
 * instead with {@code -Dllamaadapter.NAME.lib=PATH} (or {@code LLAMA_ADAPTER_NAME_LIB}); then nothing is compiled.
 * Two processes compiling at once each write their own temporary file and move it into place atomically.
 */
final class NativeBuild {
    private NativeBuild() {}

    static final List<String> FLAGS = List.of("-O3", "-march=native", "-shared", "-fPIC", "-std=c11");

    /** The library built from resource NAME.c beside this class and the headers it includes (compiled now if not cached). */
    static Path library(String name, String... headers) throws IOException {
        String given = System.getProperty("llamaadapter." + name + ".lib", System.getenv("LLAMA_ADAPTER_" + name.toUpperCase(Locale.ROOT) + "_LIB"));
        if (given != null && !given.isBlank()) {
            Path p = Path.of(given);
            if (!Files.isRegularFile(p)) throw new IOException(name + " library " + p + " (named by llamaadapter." + name + ".lib) does not exist");
            return p;
        }
        byte[] source = resource(name + ".c");
        java.util.Map<String, byte[]> parts = new java.util.LinkedHashMap<>();
        for (String h : headers) parts.put(h, resource(h));
        String cc = System.getenv().getOrDefault("CC", "cc");
        Path dir = cacheDir();
        Path lib = dir.resolve(name + "-" + key(source, parts, cc) + ".so");
        if (Files.isRegularFile(lib)) return lib;
        Files.createDirectories(dir);
        Path work = Files.createTempDirectory(dir, name + "-"); // the source and its headers side by side
        Path src = work.resolve(name + ".c");
        Path tmp = Files.createTempFile(dir, name + "-", ".so.part");
        try {
            Files.write(src, source);
            for (var e : parts.entrySet()) Files.write(work.resolve(e.getKey()), e.getValue());
            List<String> cmd = new java.util.ArrayList<>(List.of(cc));
            cmd.addAll(FLAGS);
            cmd.addAll(List.of("-o", tmp.toString(), src.toString(), "-lm"));
            Process p;
            try {
                p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            } catch (IOException e) {
                throw new IOException("no C compiler to build " + name + ".c (" + cc + ": " + e.getMessage() + "); install gcc or set CC", e);
            }
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            boolean done = p.waitFor(120, TimeUnit.SECONDS);
            if (!done) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", cmd) + " took over 120 s");
            }
            if (p.exitValue() != 0)
                throw new IOException(String.join(" ", cmd) + " failed (exit " + p.exitValue() + "): " + out.strip().lines().limit(8).toList());
            Files.move(tmp, lib, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            return lib;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while compiling " + name + ".c", e);
        } finally {
            try (var files = Files.list(work)) {
                for (Path f : files.toList()) Files.deleteIfExists(f);
            }
            Files.deleteIfExists(work);
            Files.deleteIfExists(tmp);
        }
    }

    private static byte[] resource(String file) throws IOException {
        try (InputStream in = NativeBuild.class.getResourceAsStream(file)) {
            if (in == null) throw new IOException("the kernel source " + file + " is not on the class path");
            return in.readAllBytes();
        }
    }

    static Path cacheDir() {
        String d = System.getProperty("llamaadapter.native.dir");
        if (d != null && !d.isBlank()) return Path.of(d);
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("llama-adapter").resolve("native");
    }

    /** 16 hex digits of SHA-256 over the sources, the compiler command and this CPU's identity (-march=native depends on it). */
    private static String key(byte[] source, java.util.Map<String, byte[]> headers, String cc) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(source);
            for (var e : headers.entrySet()) {
                md.update(e.getKey().getBytes(StandardCharsets.UTF_8));
                md.update(e.getValue());
            }
            md.update((cc + " " + FLAGS + "\n" + cpuIdentity()).getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(md.digest(), 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The first "model name" and "flags" lines of /proc/cpuinfo (the architecture's name elsewhere). */
    private static String cpuIdentity() {
        StringBuilder id = new StringBuilder(System.getProperty("os.arch"));
        try {
            List<String> info = Files.readAllLines(Path.of("/proc/cpuinfo"));
            for (String prefix : List.of("model name", "flags", "Features"))
                info.stream().filter(l -> l.startsWith(prefix)).findFirst().ifPresent(l -> id.append('\n').append(l));
        } catch (IOException | RuntimeException e) {
            // not Linux: the architecture alone
        }
        return id.toString();
    }
}

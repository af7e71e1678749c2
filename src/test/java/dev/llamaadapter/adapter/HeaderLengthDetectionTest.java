package dev.llamaadapter.adapter;

import dev.llamaadapter.io.FileKind;
import dev.llamaadapter.model.AdaptionPrompts;
import dev.llamaadapter.model.GateActivation;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue #19: a native adapter's safetensors header length is its first 8 bytes, so the metadata's length
 * decides how the file begins (1408 reads 80 05, a pickle PROTO opcode). Every header length from 8 to
 * 70,000 bytes, in the writer's steps of 8, is detected as safetensors; where an adapter's tensors fit in
 * that length it is a native adapter that loads with its values; shorter headers hold metadata only.
 */
class HeaderLengthDetectionTest {
    static final int K = 2, L = 1, N = 2, D = 8, H = 2;

    @TempDir
    Path tmp;

    @Test
    void everyHeaderLengthIsDetectedAsNativeAndLoads() throws IOException {
        AdaptionPrompts p = AdaptionPrompts.init(K, L, D, H, GateActivation.TANH, 7);
        for (int i = 0; i < p.gate.length; i++) p.gate[i] = 0.25f * (i + 1);
        Path f = tmp.resolve("adapter.safetensors");
        int smallest = jsonLength(f, p, ""); // the adapter's header with an empty pad
        int loaded = 0, metadataOnly = 0;
        for (int n = 8; n <= 70_000; n += 8) {
            if (n >= smallest + 16) { // room for ,"pad":"" plus at least one character
                int padLength = n - jsonLength(f, p, "x");
                AdapterFile.write(f, p, N, Map.of("pad", "x".repeat(1 + padLength)));
                assertThat(headerLength(f)).isEqualTo(n);
                assertThat(FileKind.of(f)).as("header %d", n).isEqualTo(FileKind.SAFETENSORS);
                assertThat(AdapterFormats.detect(f)).as("header %d", n).isEqualTo(AdapterFormats.Format.NATIVE);
                AdaptionPrompts q = AdapterFormats.load(f, null, null).prompts();
                assertThat(q.prompt).as("header %d", n).containsExactly(p.prompt);
                assertThat(q.gate).as("header %d", n).containsExactly(p.gate);
                loaded++;
            } else {
                writeMetadataOnly(f, n);
                assertThat(FileKind.of(f)).as("header %d", n).isEqualTo(FileKind.SAFETENSORS);
                assertThat(AdapterFormats.detect(f)).as("header %d", n).isEqualTo(AdapterFormats.Format.NATIVE);
                metadataOnly++;
            }
        }
        assertThat(loaded).isGreaterThan(8_000);
        assertThat(metadataOnly + loaded).isEqualTo(70_000 / 8);
    }

    /** The unpadded JSON length of the adapter's header with metadata pad = {@code pad}. */
    private static int jsonLength(Path f, AdaptionPrompts p, String pad) throws IOException {
        AdapterFile.write(f, p, N, pad.isEmpty() ? Map.of() : Map.of("pad", pad));
        int n = headerLength(f);
        ByteBuffer tail = ByteBuffer.allocate(8);
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
            ch.read(tail, n); // the header's last 8 bytes: '}' then the writer's spaces
        }
        int spaces = 0;
        for (int i = 7; i >= 0 && tail.get(i) == ' '; i--) spaces++;
        return n - spaces;
    }

    private static int headerLength(Path f) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
            ch.read(b, 0);
        }
        return (int) b.getLong(0);
    }

    /** A safetensors file without tensors whose header is exactly n bytes: {"__metadata__":{"p":"xx"}} or {} padded with spaces. */
    private static void writeMetadataOnly(Path f, int n) throws IOException {
        String json = "{\"__metadata__\":{\"p\":\"\"}}";
        json = n >= json.length() ? json.replace("\"\"", "\"" + "x".repeat(n - json.length()) + "\"") : "{}" + " ".repeat(n - 2);
        ByteBuffer b = ByteBuffer.allocate(8 + n).order(ByteOrder.LITTLE_ENDIAN).putLong(n).put(json.getBytes());
        java.nio.file.Files.write(f, b.array());
    }
}

package dev.llamaadapter.data;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads instruction data: a JSON array of records (Alpaca's own format) or JSON Lines, one record per
 * line. Every error names the file and the line of the record at fault. A record may carry an
 * "image" path (multimodal data); a relative one is resolved against the data file's directory.
 */
public final class InstructionFile {
    private InstructionFile() {}

    private static final ObjectMapper JSON = new ObjectMapper();

    /** What was read: the usable records, and those skipped because their output is empty. */
    public record Contents(List<Instruction> records, List<String> emptyOutputs) {}

    /** Writes records as JSON Lines {instruction, input, output}, atomically. */
    public static void writeJsonl(Path file, List<Instruction> records) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (Instruction r : records) {
            com.fasterxml.jackson.databind.node.ObjectNode o = JSON.createObjectNode();
            o.put("instruction", r.instruction());
            o.put("input", r.input());
            o.put("output", r.output());
            sb.append(JSON.writeValueAsString(o)).append('\n');
        }
        dev.llamaadapter.io.AtomicFile.write(file, sb.toString().getBytes(StandardCharsets.UTF_8));
    }

    public static Contents read(Path file) throws IOException {
        if (!Files.isRegularFile(file)) throw new IOException(file + ": no such data file");
        String text = dev.llamaadapter.io.TextFiles.readUtf8(file);
        int i = 0;
        while (i < text.length() && Character.isWhitespace(text.charAt(i))) i++;
        if (i == text.length()) throw new IOException(file + ": the data file is empty");
        List<Instruction> out = new ArrayList<>();
        List<String> empty = new ArrayList<>();
        if (text.charAt(i) == '[') readArray(file, text, out, empty);
        else readLines(file, text, out, empty);
        if (out.isEmpty()) throw new IOException(file + ": no records with a non-empty output");
        return new Contents(out, empty);
    }

    private static void readArray(Path file, String text, List<Instruction> out, List<String> empty) throws IOException {
        JsonFactory f = JSON.getFactory();
        try (Reader r = new java.io.StringReader(text); JsonParser p = f.createParser(r)) {
            p.nextToken(); // START_ARRAY
            while (true) {
                JsonToken t;
                try {
                    t = p.nextToken();
                } catch (JsonParseException e) {
                    throw malformed(file, e);
                }
                if (t == JsonToken.END_ARRAY) break;
                if (t == null) throw new IOException(file + ":" + p.currentLocation().getLineNr() + ": the JSON array is not closed");
                int line = p.currentLocation().getLineNr();
                if (t != JsonToken.START_OBJECT) throw new IOException(file + ":" + line + ": expected a record {instruction, input, output}, found " + t);
                JsonNode node;
                try {
                    node = JSON.readTree(p);
                } catch (JsonParseException e) {
                    throw malformed(file, e);
                }
                add(file, file + ":" + line, node, out, empty);
            }
            if (p.nextToken() != null) throw new IOException(file + ":" + p.currentLocation().getLineNr() + ": text after the closing ]");
        } catch (JsonParseException e) {
            throw malformed(file, e);
        }
    }

    private static void readLines(Path file, String text, List<Instruction> out, List<String> empty) throws IOException {
        String[] lines = text.split("\n", -1);
        for (int n = 0; n < lines.length; n++) {
            String line = lines[n].strip();
            if (line.isEmpty()) continue;
            JsonNode node;
            try {
                node = JSON.readTree(line);
            } catch (JsonParseException e) {
                throw new IOException(file + ":" + (n + 1) + ": malformed JSON: " + e.getOriginalMessage(), e);
            }
            add(file, file + ":" + (n + 1), node, out, empty);
        }
    }

    private static IOException malformed(Path file, JsonParseException e) {
        return new IOException(file + ":" + e.getLocation().getLineNr() + ":" + e.getLocation().getColumnNr()
                + ": malformed JSON: " + e.getOriginalMessage(), e);
    }

    private static void add(Path file, String where, JsonNode node, List<Instruction> out, List<String> empty) throws IOException {
        if (node == null || !node.isObject()) throw new IOException(where + ": expected a record {instruction, input, output}");
        String instruction = field(where, node, "instruction", true);
        String input = field(where, node, "input", false);
        String output = field(where, node, "output", true);
        if (output.isBlank()) {
            empty.add(where);
            return;
        }
        String image = field(where, node, "image", false);
        out.add(new Instruction(instruction, input, output, where, image.isEmpty() ? null : resolve(file, where, image)));
    }

    /** An image path: relative ones are taken from the data file's directory. */
    private static Path resolve(Path file, String where, String image) throws IOException {
        try {
            Path p = Path.of(image);
            if (p.isAbsolute()) return p;
            Path dir = file.toAbsolutePath().getParent();
            return dir == null ? p : dir.resolve(p).normalize();
        } catch (java.nio.file.InvalidPathException e) {
            throw new IOException(where + ": 'image' is not a usable path: " + e.getMessage(), e);
        }
    }

    private static String field(String where, JsonNode node, String name, boolean required) throws IOException {
        JsonNode v = node.get(name);
        if (v == null || v.isNull()) {
            if (required) throw new IOException(where + ": the record has no '" + name + "' field");
            return "";
        }
        if (!v.isTextual()) throw new IOException(where + ": '" + name + "' must be a string, found " + v.getNodeType());
        return v.asText();
    }
}

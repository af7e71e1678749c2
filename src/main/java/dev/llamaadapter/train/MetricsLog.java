package dev.llamaadapter.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * The metrics file: JSON Lines, one row per optimizer step ("type":"train") and per validation
 * ("type":"val"), flushed as written so a killed run keeps its history. A resumed run first drops the
 * rows after its checkpoint, so the file reads as one uninterrupted run.
 */
public final class MetricsLog implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final BufferedWriter out;
    public final List<Trainer.StepRow> steps = new ArrayList<>();
    public final List<Trainer.ValRow> vals = new ArrayList<>();

    public MetricsLog(Path file, long resumeStep) throws IOException {
        List<String> keep = new ArrayList<>();
        if (resumeStep > 0 && Files.exists(file)) {
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                if (line.isBlank()) continue;
                JsonNode n;
                try {
                    n = JSON.readTree(line);
                } catch (IOException e) {
                    continue; // a line cut by the kill
                }
                if (n.path("step").asLong(Long.MAX_VALUE) > resumeStep) continue;
                keep.add(line);
                if ("train".equals(n.path("type").asText()))
                    steps.add(new Trainer.StepRow(n.get("step").asLong(), n.path("total_steps").asLong(), n.path("epoch").asDouble(),
                            n.path("loss").asDouble(), n.path("lr").asDouble(), n.path("grad_norm").asDouble(), n.path("tokens").asLong(),
                            n.path("tokens_per_s").asDouble(), n.path("elapsed_s").asDouble()));
                else
                    vals.add(new Trainer.ValRow(n.get("step").asLong(), n.path("epoch").asDouble(), n.path("loss").asDouble(),
                            n.path("perplexity").asDouble(), n.path("tokens").asLong()));
            }
        }
        Files.write(file, keep, StandardCharsets.UTF_8);
        out = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.APPEND);
    }

    public void step(Trainer.StepRow r) throws IOException {
        steps.add(r);
        ObjectNode n = JSON.createObjectNode().put("type", "train").put("step", r.step()).put("total_steps", r.totalSteps())
                .put("epoch", r.epoch()).put("loss", r.loss()).put("lr", r.lr()).put("grad_norm", r.gradNorm())
                .put("tokens", r.tokens()).put("tokens_per_s", r.tokensPerS()).put("elapsed_s", r.elapsedS());
        write(n);
    }

    public void validation(Trainer.ValRow r) throws IOException {
        vals.add(r);
        write(JSON.createObjectNode().put("type", "val").put("step", r.step()).put("epoch", r.epoch()).put("loss", r.loss())
                .put("perplexity", r.perplexity()).put("tokens", r.tokens()));
    }

    private void write(ObjectNode n) throws IOException {
        out.write(JSON.writeValueAsString(n));
        out.newLine();
        out.flush();
    }

    @Override
    public void close() throws IOException {
        out.close();
    }
}

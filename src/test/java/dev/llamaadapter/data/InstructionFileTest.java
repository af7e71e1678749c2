package dev.llamaadapter.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Alpaca JSON and JSON Lines, and errors that name the file and the line. */
class InstructionFileTest {
    @TempDir
    Path tmp;

    Path write(String name, String text) throws Exception {
        Path f = tmp.resolve(name);
        Files.writeString(f, text);
        return f;
    }

    @Test
    void readsAJsonArrayWithLineNumbers() throws Exception {
        Path f = write("a.json", """
                [
                  {"instruction": "Say hi", "input": "", "output": "Hi"},
                  {"instruction": "Add", "input": "1 and 2", "output": "3"}
                ]
                """);
        var c = InstructionFile.read(f);
        assertThat(c.records()).hasSize(2);
        assertThat(c.records().get(0).where()).isEqualTo(f + ":2");
        assertThat(c.records().get(1).hasInput()).isTrue();
        assertThat(PromptTemplate.prompt(c.records().get(0))).isEqualTo(
                "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n"
                        + "### Instruction:\nSay hi\n\n### Response:");
        assertThat(PromptTemplate.prompt(c.records().get(1))).endsWith("### Instruction:\nAdd\n\n### Input:\n1 and 2\n\n### Response:")
                .startsWith("Below is an instruction that describes a task, paired with an input that provides further context.");
    }

    @Test
    void readsJsonLinesAndTheRealAlpacaSubset() throws Exception {
        Path f = write("a.jsonl", "{\"instruction\": \"a\", \"output\": \"b\"}\n\n{\"instruction\": \"c\", \"input\": \"d\", \"output\": \"e\"}\n");
        var c = InstructionFile.read(f);
        assertThat(c.records()).extracting(Instruction::where).containsExactly(f + ":1", f + ":3");
        Path alpaca = Path.of("../shared/assets/alpaca/alpaca_en_demo_999.json");
        if (Files.exists(alpaca)) assertThat(InstructionFile.read(alpaca).records().size() + InstructionFile.read(alpaca).emptyOutputs().size()).isEqualTo(999);
    }

    @Test
    void malformedJsonNamesFileAndLine() throws Exception {
        Path f = write("bad.json", "[\n {\"instruction\": \"a\", \"output\": \"b\"},\n {\"instruction\": \"c\" \"output\": \"d\"}\n]\n");
        assertThatThrownBy(() -> InstructionFile.read(f)).hasMessageContaining(f + ":3").hasMessageContaining("malformed JSON");
        Path g = write("bad.jsonl", "{\"instruction\": \"a\", \"output\": \"b\"}\n{\"instruction\": \n");
        assertThatThrownBy(() -> InstructionFile.read(g)).hasMessageContaining(g + ":2").hasMessageContaining("malformed JSON");
    }

    @Test
    void missingFieldsAndWrongTypesAreNamed() throws Exception {
        Path f = write("m.jsonl", "{\"instruction\": \"a\", \"output\": \"b\"}\n{\"instruction\": \"a\"}\n");
        assertThatThrownBy(() -> InstructionFile.read(f)).hasMessageContaining(f + ":2").hasMessageContaining("'output'");
        Path g = write("t.jsonl", "{\"instruction\": 3, \"output\": \"b\"}\n");
        assertThatThrownBy(() -> InstructionFile.read(g)).hasMessageContaining(g + ":1").hasMessageContaining("'instruction' must be a string");
    }

    @Test
    void emptyOutputsAreSkippedAndCounted() throws Exception {
        Path f = write("e.jsonl", "{\"instruction\": \"a\", \"output\": \"b\"}\n{\"instruction\": \"c\", \"output\": \"  \"}\n");
        var c = InstructionFile.read(f);
        assertThat(c.records()).hasSize(1);
        assertThat(c.emptyOutputs()).containsExactly(f + ":2");
        Path g = write("none.jsonl", "{\"instruction\": \"c\", \"output\": \"\"}\n");
        assertThatThrownBy(() -> InstructionFile.read(g)).hasMessageContaining("no records with a non-empty output");
    }

    @Test
    void batchesAreSeededBucketedAndCoverEveryExampleOnce() {
        List<Example> ex = new java.util.ArrayList<>();
        for (int i = 0; i < 37; i++) {
            int n = 3 + (i * 7) % 20;
            ex.add(new Example(new int[n], new int[n], false, "x:" + i));
        }
        List<int[]> a = Batches.batches(ex, 4, 1, 0, true), b = Batches.batches(ex, 4, 1, 0, true);
        assertThat(a).hasSize(b.size());
        for (int i = 0; i < a.size(); i++) assertThat(a.get(i)).containsExactly(b.get(i));
        assertThat(a.stream().flatMapToInt(java.util.Arrays::stream).sorted().toArray()).containsExactly(java.util.stream.IntStream.range(0, 37).toArray());
        assertThat(Batches.paddingShare(ex, a)).isLessThan(Batches.paddingShare(ex, Batches.batches(ex, 4, 1, 0, false)));
        List<int[]> other = Batches.batches(ex, 4, 1, 1, true);
        assertThat(java.util.Arrays.equals(other.getFirst(), a.getFirst()) && java.util.Arrays.equals(other.get(1), a.get(1))).isFalse();
    }

    @Test
    void microBatchPadsRightWithUnscoredLabels() {
        Example e1 = new Example(new int[]{1, 5, 6}, new int[]{-100, 6, 2}, false, "a"), e2 = new Example(new int[]{1, 7}, new int[]{7, -100}, false, "b");
        MicroBatch m = MicroBatch.of(List.of(e1, e2), 0);
        assertThat(m.T()).isEqualTo(3);
        assertThat(m.ids()).containsExactly(1, 5, 6, 1, 7, 0);
        assertThat(m.labels()).containsExactly(-100, 6, 2, 7, -100, -100);
        assertThat(m.scored()).isEqualTo(3);
    }
}

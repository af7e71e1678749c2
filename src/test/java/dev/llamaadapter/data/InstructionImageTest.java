package dev.llamaadapter.data;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The optional "image" of a record: relative to the data file, absolute as given, absent as null. */
class InstructionImageTest {
    @TempDir
    Path tmp;

    @Test
    void imagePathsResolveAgainstTheDataFile() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("data"));
        Path abs = tmp.resolve("elsewhere/pic.png").toAbsolutePath();
        Path f = dir.resolve("mm.jsonl");
        Files.writeString(f, "{\"instruction\": \"a\", \"output\": \"b\", \"image\": \"images/1.png\"}\n"
                + "{\"instruction\": \"c\", \"output\": \"d\", \"image\": \"" + abs + "\"}\n"
                + "{\"instruction\": \"e\", \"output\": \"f\"}\n");
        var r = InstructionFile.read(f).records();
        assertThat(r.get(0).image()).isEqualTo(dir.toAbsolutePath().resolve("images/1.png"));
        assertThat(r.get(1).image()).isEqualTo(abs);
        assertThat(r.get(2).image()).isNull();
        assertThat(new Instruction("a", "", "b", "w").image()).isNull();
    }

    @Test
    void aNonStringImageNamesTheLine() throws Exception {
        Path f = tmp.resolve("bad.jsonl");
        Files.writeString(f, "{\"instruction\": \"a\", \"output\": \"b\"}\n{\"instruction\": \"a\", \"output\": \"b\", \"image\": 3}\n");
        assertThatThrownBy(() -> InstructionFile.read(f)).hasMessageContaining(f + ":2").hasMessageContaining("'image' must be a string");
    }
}

package dev.llamaadapter.data;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Reads a data file into instruction records: Alpaca JSON / JSON Lines by default, or a benchmark's own
 * format (ScienceQA's problems.json) turned into records by the package that knows it.
 */
@FunctionalInterface
public interface InstructionReader {
    InstructionFile.Contents read(Path file) throws IOException;

    InstructionReader ALPACA = InstructionFile::read;
}

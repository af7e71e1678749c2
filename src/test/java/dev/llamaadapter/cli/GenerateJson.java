package dev.llamaadapter.cli;

/** What {@code generate} prints for these arguments, for tests outside this package (the serve tests compare with it). */
public final class GenerateJson {
    private GenerateJson() {}

    public static String run(String... args) {
        return GenerateCommand.runForTest(args);
    }
}

package dev.llamaadapter.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The command line: one small class per command; parsing and printing only. */
@Command(name = "llama-adapter", mixinStandardHelpOptions = true, version = "llama-adapter 0.1.0",
        description = "LLaMA-Adapter for the JVM: train and serve zero-init attention adapters over a frozen LLaMA.",
        subcommands = {TrainCommand.class, GenerateCommand.class, ChatCommand.class, ChatTemplateCommand.class, DumpStepCommand.class, BenchCommand.class, QuantizeCommand.class, ConvertCommand.class, InspectCommand.class, ServeCommand.class, DemoCommand.class, AblateCommand.class, EvalCommand.class})
public final class Main implements Runnable {
    @Override
    public void run() {
        CommandLine.usage(this, System.out);
    }

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** The configured command line; errors print as one line naming the file or tensor at fault, not a stack trace. */
    public static CommandLine commandLine() {
        CommandLine cl = new CommandLine(new Main());
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            cmd.getErr().println("error: " + (ex.getMessage() == null ? ex.toString() : ex.getMessage()));
            if (Boolean.getBoolean("llamaadapter.trace")) ex.printStackTrace(cmd.getErr());
            return 2;
        });
        return cl;
    }
}

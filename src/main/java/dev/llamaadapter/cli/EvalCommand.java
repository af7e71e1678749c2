package dev.llamaadapter.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** Benchmarks, one subcommand each. */
@Command(name = "eval", mixinStandardHelpOptions = true, description = "Evaluate a base model or an adapter on a benchmark.",
        subcommands = {EvalScienceQaCommand.class})
public final class EvalCommand implements Runnable {
    @Spec CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "name a benchmark: scienceqa");
    }
}

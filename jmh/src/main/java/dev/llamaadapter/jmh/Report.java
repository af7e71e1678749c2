package dev.llamaadapter.jmh;

import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.openjdk.jmh.runner.options.OptionsBuilder;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;

/**
 * Runs the benchmarks (JMH's own command-line options pass through, e.g. a regex of benchmarks, -f, -wi,
 * -i) and prints each one's rate, GFLOP/s or GB/s, beside the machine's peak measured here: PeakBench.fma
 * for FLOPs, PeakBench.copy for bytes.
 */
public final class Report {
    private Report() {}

    public static void main(String[] args) throws Exception {
        CommandLineOptions cl = new CommandLineOptions(args);
        Collection<RunResult> results = new Runner(new OptionsBuilder().parent(cl).build()).run();
        record Row(String name, String params, double ms, double rate, boolean flops) {}
        List<Row> rows = new ArrayList<>();
        double fmaPeak = Double.NaN, copyPeak = Double.NaN;
        for (RunResult r : results) {
            var p = r.getParams();
            String full = p.getBenchmark();
            String[] parts = full.split("\\.");
            String cls = parts[parts.length - 2], method = parts[parts.length - 1];
            StringBuilder ps = new StringBuilder();
            for (String k : p.getParamsKeys()) ps.append(ps.isEmpty() ? "" : " ").append(k).append('=').append(p.getParam(k));
            double ms = r.getPrimaryResult().getScore();
            double work = Shapes.work(cls, method, p.getParam("dtype"));
            double rate = work / (ms / 1000) / 1e9;
            boolean flops = Shapes.flops(cls, method);
            if ((cls + "." + method).equals("PeakBench.fma")) fmaPeak = rate;
            if ((cls + "." + method).equals("PeakBench.copy")) copyPeak = rate;
            rows.add(new Row(cls + "." + method, ps.toString(), ms, rate, flops));
        }
        System.out.printf(Locale.ROOT, "%n%-30s %-26s %10s %12s %8s%n", "benchmark", "params", "ms/op", "rate", "of peak");
        for (Row r : rows) {
            double peak = r.flops ? fmaPeak : copyPeak;
            System.out.printf(Locale.ROOT, "%-30s %-26s %10.3f %7.1f %s %7s%n", r.name, r.params, r.ms, r.rate, r.flops ? "GFLOP/s" : "GB/s   ",
                    Double.isNaN(peak) ? "-" : String.format(Locale.ROOT, "%.0f%%", 100 * r.rate / peak));
        }
    }
}

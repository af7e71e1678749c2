package dev.llamaadapter.train;

import org.jfree.chart.ChartFactory;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

import java.io.IOException;
import dev.llamaadapter.io.AtomicFile;
import java.nio.file.Path;
import java.util.List;

/** The loss curve of a run (train loss per step, validation loss where measured) as a PNG. */
public final class LossChart {
    private LossChart() {}

    public static void write(Path png, String title, List<Trainer.StepRow> train, List<Trainer.ValRow> val) throws IOException {
        System.setProperty("java.awt.headless", "true");
        XYSeries t = new XYSeries("train");
        for (Trainer.StepRow r : train) t.add(r.step(), r.loss());
        XYSeries v = new XYSeries("validation");
        for (Trainer.ValRow r : val) if (Double.isFinite(r.loss())) v.add(r.step(), r.loss());
        XYSeriesCollection data = new XYSeriesCollection();
        data.addSeries(t);
        if (v.getItemCount() > 0) data.addSeries(v);
        JFreeChart chart = ChartFactory.createXYLineChart(title, "optimizer step", "cross-entropy loss", data,
                PlotOrientation.VERTICAL, true, false, false);
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        ChartUtils.writeChartAsPNG(bytes, chart, 900, 500);
        AtomicFile.write(png, bytes.toByteArray());
    }
}

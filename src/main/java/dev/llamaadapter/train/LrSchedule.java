package dev.llamaadapter.train;

/**
 * The official schedule: linear warm-up from 0 over warmupEpochs, then a half-cycle cosine to minLr at
 * the last epoch, as a function of the fractional epoch at which a step starts (the official code sets
 * it before every optimizer step from data_iter_step / len(loader) + epoch).
 */
public record LrSchedule(double lr, double minLr, double warmupEpochs, double epochs) {

    /** Peak learning rate from the base rate: lr = blr × effective batch / 256 (spec §3). */
    public static double scaled(double blr, int effectiveBatch) {
        return blr * effectiveBatch / 256.0;
    }

    public double at(double epoch) {
        if (epoch < warmupEpochs) return lr * epoch / warmupEpochs;
        double span = epochs - warmupEpochs;
        if (span <= 0) return lr;
        double progress = Math.min(1.0, (epoch - warmupEpochs) / span);
        return minLr + (lr - minLr) * 0.5 * (1 + Math.cos(Math.PI * progress));
    }
}

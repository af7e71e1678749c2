package dev.llamaadapter.model;

import java.util.function.DoubleSupplier;

/** The central difference every gradient test of the engine compares its backward with. */
final class FiniteDifferences {
    private FiniteDifferences() {}

    /** (f(x + eps·e_i) − f(x − eps·e_i)) / 2eps, with x[i] restored afterwards. */
    static double central(float[] x, int i, float eps, DoubleSupplier f) {
        float old = x[i];
        x[i] = old + eps;
        double up = f.getAsDouble();
        x[i] = old - eps;
        double down = f.getAsDouble();
        x[i] = old;
        return (up - down) / (2.0 * eps);
    }
}

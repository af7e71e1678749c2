package dev.llamaadapter.model;

import dev.llamaadapter.io.SafeTensors;
import dev.llamaadapter.io.SafeTensorsException;
import dev.llamaadapter.io.TensorInfo;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A [B, T] batch of token ids and labels (label t is the target of position t; −100 = not scored), as
 * the step-dump batch file holds them (spec §6: {@code input_ids}, {@code labels}, I32 or I64).
 */
public record TokenBatch(int B, int T, int[] ids, int[] labels) {

    public static final int IGNORE = -100;

    /** Reads and checks a batch file against a vocabulary of V ids; errors name the file, tensor and position. */
    public static TokenBatch read(Path file, int V) throws IOException {
        try (SafeTensors st = SafeTensors.open(file)) {
            TensorInfo ids = st.require("input_ids");
            if (ids.rank() != 2) throw new SafeTensorsException(file, "input_ids", "has shape " + ids.shapeString() + ", expected [B, T]");
            int B = (int) ids.shape()[0], T = (int) ids.shape()[1];
            if (B <= 0 || T <= 0) throw new SafeTensorsException(file, "input_ids", "is empty: shape " + ids.shapeString());
            int[] idv = st.ints("input_ids");
            int[] lab;
            if (st.has("labels")) {
                st.checkShape(st.info("labels"), B, T);
                lab = st.ints("labels");
            } else {
                throw new SafeTensorsException(file, "labels", "not found (a step needs labels; use -100 for positions that are not scored)");
            }
            for (int m = 0; m < B * T; m++) {
                if (idv[m] < 0 || idv[m] >= V)
                    throw new SafeTensorsException(file, "input_ids", "id " + idv[m] + " at [" + m / T + ", " + m % T
                            + "] is outside the model's vocabulary [0, " + V + ")");
                if (lab[m] != IGNORE && (lab[m] < 0 || lab[m] >= V))
                    throw new SafeTensorsException(file, "labels", "label " + lab[m] + " at [" + m / T + ", " + m % T
                            + "] is outside the model's vocabulary [0, " + V + ") and is not -100");
            }
            return new TokenBatch(B, T, idv, lab);
        }
    }
}

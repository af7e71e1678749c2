package dev.llamaadapter.spark;

import dev.llamaadapter.model.GateActivation;
import dev.llamaadapter.model.GateSharing;

import java.io.Serializable;

/**
 * What an executor needs to build its replicas of the training objective: the base model's path (read
 * on the executor's own node, never shipped) and the driver's fingerprint of it, the adapter's shape (its
 * gates per head or per layer included: the params the driver sends have that shape) and the buffers'
 * capacity [maxB, maxT].
 */
record WorkerSpec(String model, String baseFingerprint, int adapterLen, int adapterLayers, GateActivation gate,
                  GateSharing gates, int maxB, int maxT) implements Serializable {}

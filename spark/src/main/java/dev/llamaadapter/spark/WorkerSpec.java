package dev.llamaadapter.spark;

import dev.llamaadapter.model.GateActivation;

import java.io.Serializable;

/**
 * What an executor needs to build its replicas of the training objective: the base model's path (read
 * on the executor's own node, never shipped) and the driver's fingerprint of it, the adapter's shape and
 * the buffers' capacity [maxB, maxT].
 */
record WorkerSpec(String model, String baseFingerprint, int adapterLen, int adapterLayers, GateActivation gate,
                  int maxB, int maxT) implements Serializable {}

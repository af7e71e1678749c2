package dev.llamaadapter.spark;

/** A task failed for a reason the user must fix (the message names the node and the file); the driver reports it as is. */
public final class ExecutorFailure extends RuntimeException {
    ExecutorFailure(String message, Throwable cause) {
        super(message, cause);
    }
}

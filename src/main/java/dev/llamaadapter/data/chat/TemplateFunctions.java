package dev.llamaadapter.data.chat;

/** The globals transformers gives chat templates besides the variables: {@code raise_exception(message)}. */
final class TemplateFunctions {
    private TemplateFunctions() {}

    /** What a template raises to refuse a conversation (roles out of order, an unknown content type). */
    static final class Raised extends RuntimeException {
        Raised(String message) {
            super(message);
        }
    }

    public static Object raiseException(Object message) {
        throw new Raised(String.valueOf(message));
    }
}

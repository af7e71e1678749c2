package dev.llamaadapter.data.chat;

import java.io.IOException;
import java.nio.file.Path;

/** A chat template that cannot be read or rendered; the message names the file and the reason, on one line. */
public final class ChatTemplateException extends IOException {
    public ChatTemplateException(Path file, String reason) {
        super(file + ": " + oneLine(reason));
    }

    public ChatTemplateException(Path file, String reason, Throwable cause) {
        super(file + ": " + oneLine(reason), cause);
    }

    private static String oneLine(String s) {
        return s == null ? "(no reason given)" : s.strip().replaceAll("\\s*\\R\\s*", " ");
    }
}

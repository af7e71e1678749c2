package dev.llamaadapter.data.chat;

import java.time.LocalDateTime;
import java.time.format.TextStyle;
import java.util.Locale;

/**
 * The globals transformers gives chat templates besides the variables: {@code raise_exception(message)}, and
 * {@code strftime_now(format)}, with which Llama 3.1's and 3.2's templates write today's date into the system
 * prompt.
 */
final class TemplateFunctions {
    private TemplateFunctions() {}

    /** Their names in templates. */
    static final java.util.List<String> GLOBALS = java.util.List.of("raise_exception", "strftime_now");

    /** What a template raises to refuse a conversation (roles out of order, an unknown content type). */
    static final class Raised extends RuntimeException {
        Raised(String message) {
            super(message);
        }
    }

    public static Object raiseException(Object message) {
        throw new Raised(String.valueOf(message));
    }

    public static String strftimeNow(Object format) {
        return strftime(String.valueOf(format), LocalDateTime.now());
    }

    /** Python's strftime for the directives dates are written with (C locale); others are kept as written. */
    static String strftime(String format, LocalDateTime t) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < format.length(); i++) {
            char c = format.charAt(i);
            if (c != '%' || i + 1 == format.length()) {
                sb.append(c);
                continue;
            }
            char d = format.charAt(++i);
            switch (d) {
                case 'd' -> sb.append(String.format("%02d", t.getDayOfMonth()));
                case 'm' -> sb.append(String.format("%02d", t.getMonthValue()));
                case 'Y' -> sb.append(t.getYear());
                case 'y' -> sb.append(String.format("%02d", t.getYear() % 100));
                case 'H' -> sb.append(String.format("%02d", t.getHour()));
                case 'I' -> sb.append(String.format("%02d", (t.getHour() + 11) % 12 + 1));
                case 'M' -> sb.append(String.format("%02d", t.getMinute()));
                case 'S' -> sb.append(String.format("%02d", t.getSecond()));
                case 'p' -> sb.append(t.getHour() < 12 ? "AM" : "PM");
                case 'j' -> sb.append(String.format("%03d", t.getDayOfYear()));
                case 'b' -> sb.append(t.getMonth().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
                case 'B' -> sb.append(t.getMonth().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
                case 'a' -> sb.append(t.getDayOfWeek().getDisplayName(TextStyle.SHORT, Locale.ENGLISH));
                case 'A' -> sb.append(t.getDayOfWeek().getDisplayName(TextStyle.FULL, Locale.ENGLISH));
                case '%' -> sb.append('%');
                default -> sb.append('%').append(d);
            }
        }
        return sb.toString();
    }
}

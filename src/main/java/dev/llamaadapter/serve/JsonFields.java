package dev.llamaadapter.serve;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Typed fields of a request's JSON object: each reader answers the default for a field that is absent or
 * null, and a 400 naming the field for one of the wrong type, so that every endpoint words it alike.
 */
final class JsonFields {
    private JsonFields() {}

    static String text(JsonNode body, String f, String dflt) {
        JsonNode v = body.get(f);
        if (v == null || v.isNull()) return dflt;
        if (!v.isTextual()) throw ApiException.badRequest("'" + f + "' must be a string", f);
        return v.asText();
    }

    static double number(JsonNode body, String f, double dflt) {
        JsonNode v = body.get(f);
        if (v == null || v.isNull()) return dflt;
        if (!v.isNumber()) throw ApiException.badRequest("'" + f + "' must be a number, got " + v, f);
        return v.asDouble();
    }

    static int integer(JsonNode body, String f, int dflt) {
        JsonNode v = body.get(f);
        if (v == null || v.isNull()) return dflt;
        if (!v.isIntegralNumber() || !v.canConvertToInt()) throw ApiException.badRequest("'" + f + "' must be an integer, got " + v, f);
        return v.asInt();
    }

    /** The field, which must be present. */
    static long longValue(JsonNode body, String f) {
        JsonNode v = body.get(f);
        if (!v.isIntegralNumber() || !v.canConvertToLong()) throw ApiException.badRequest("'" + f + "' must be an integer, got " + v, f);
        return v.asLong();
    }

    static boolean bool(JsonNode body, String f, boolean dflt) {
        JsonNode v = body.get(f);
        if (v == null || v.isNull()) return dflt;
        if (!v.isBoolean()) throw ApiException.badRequest("'" + f + "' must be true or false, got " + v, f);
        return v.asBoolean();
    }
}

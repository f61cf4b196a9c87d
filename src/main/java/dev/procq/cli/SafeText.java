package dev.procq.cli;

/**
 * Text from the server (targets, errors, output) made safe to print: a target is any string,
 * and an escape sequence in one must not reach the operator's terminal as a command.
 */
final class SafeText {
    private SafeText() {
    }

    static String of(String text) {
        if (text == null) return "";
        StringBuilder safe = new StringBuilder(text.length());
        text.codePoints().forEach(cp -> {
            if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0)) {
                switch (cp) {
                    case '\n' -> safe.append("\\n");
                    case '\t' -> safe.append("\\t");
                    case '\r' -> safe.append("\\r");
                    default -> safe.append(String.format("\\x%02x", cp));
                }
            } else if ((cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 || cp == 0x2029) {
                // bidirectional overrides and line separators: they reorder or break what follows
                safe.append(String.format("\\u%04x", cp));
            } else {
                safe.appendCodePoint(cp);
            }
        });
        return safe.toString();
    }
}

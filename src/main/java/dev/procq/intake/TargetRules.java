package dev.procq.intake;

import dev.procq.config.JobType;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What a target may be. A target becomes one argv element and never passes a shell, but
 * a program can still read "-rf" as an option, and control characters have no place in a
 * file name, URL or id, so both are refused before anything is recorded.
 */
public final class TargetRules {
    /** How much of a bad target an error message repeats. */
    private static final int ECHO_LIMIT = 200;

    private final int maxLength;

    public TargetRules(int maxLength) {
        this.maxLength = maxLength;
    }

    public int maxLength() {
        return maxLength;
    }

    /** Throws an IntakeException naming the position and the reason when the target is refused. */
    public void check(JobType type, String target, String position) {
        String reason = reasonToRefuse(type, target);
        if (reason != null) {
            Map<String, Object> detail = new LinkedHashMap<>();
            detail.put("position", position);
            detail.put("target", echo(target));
            int status = reason.startsWith("longer than") ? 413 : 400;
            throw new IntakeException(status, position + ": " + reason, detail);
        }
    }

    String reasonToRefuse(JobType type, String target) {
        if (target.isEmpty()) return "empty target";
        if (target.length() > maxLength) {
            return "longer than " + maxLength + " characters (" + target.length() + ")";
        }
        for (int i = 0; i < target.length(); i++) {
            char c = target.charAt(i);
            if (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0)) {
                return "control character U+%04X at offset %d".formatted((int) c, i);
            }
            if (Character.isSurrogate(c)) {
                boolean paired = Character.isHighSurrogate(c) && i + 1 < target.length()
                        && Character.isLowSurrogate(target.charAt(i + 1));
                if (!paired) return "not valid Unicode (lone surrogate at offset " + i + ")";
                i++;
            }
        }
        if (target.charAt(0) == '-' && !type.allowDashTargets()) {
            return "starts with '-' and could be read as an option; type '" + type.name() + "' does not allow that";
        }
        if (type.targetPattern() != null && !type.targetPattern().matcher(target).find()) {
            return "does not match the targetPattern of type '" + type.name() + "': " + type.targetPattern().pattern();
        }
        return null;
    }

    private static String echo(String target) {
        String shown = target.length() > ECHO_LIMIT ? target.substring(0, ECHO_LIMIT) + "..." : target;
        StringBuilder safe = new StringBuilder(shown.length());
        shown.codePoints().forEach(cp -> {
            if (cp < 0x20 || cp == 0x7f) {
                safe.append("\\u%04x".formatted(cp));
            } else {
                safe.appendCodePoint(cp);
            }
        });
        return safe.toString();
    }
}

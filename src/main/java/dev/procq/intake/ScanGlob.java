package dev.procq.intake;

import java.nio.file.FileSystems;
import java.nio.file.Path;
import java.nio.file.PathMatcher;
import java.util.regex.PatternSyntaxException;

/**
 * A glob relative to a scan root, matched against each file's path relative to that root.
 * Java's glob syntax, with one change users expect from shells and .gitignore: a segment
 * "**" followed by a slash also matches no directory at all, so "**&#47;*.jpg" finds a.jpg
 * at the top of the root as well as below it.
 */
final class ScanGlob {
    static final int MAX_LENGTH = 1024;

    private final String text;
    private final PathMatcher matcher;

    private ScanGlob(String text, PathMatcher matcher) {
        this.text = text;
        this.matcher = matcher;
    }

    static ScanGlob parse(String glob) {
        if (glob.isEmpty()) throw IntakeException.badRequest("scan.glob is empty; give a pattern such as **/*.jpg");
        if (glob.length() > MAX_LENGTH) {
            throw IntakeException.badRequest("scan.glob is longer than " + MAX_LENGTH + " characters");
        }
        for (int i = 0; i < glob.length(); i++) {
            if (Character.isISOControl(glob.charAt(i))) {
                throw IntakeException.badRequest("scan.glob contains a control character at offset " + i);
            }
        }
        if (glob.startsWith("/")) {
            throw IntakeException.badRequest("scan.glob must be relative to the root, got '" + glob + "'");
        }
        // Matches only ever see paths below the root, but a pattern that names a parent says
        // the caller expects to leave it: refuse it plainly rather than silently match nothing.
        if (glob.contains("..")) {
            throw IntakeException.badRequest("scan.glob may not contain '..': a scan never leaves its root");
        }
        try {
            return new ScanGlob(glob, FileSystems.getDefault().getPathMatcher("glob:" + allowZeroDirectories(glob)));
        } catch (PatternSyntaxException e) {
            throw IntakeException.badRequest("scan.glob is not a valid glob: " + e.getDescription()
                    + " at offset " + e.getIndex() + " in '" + glob + "'");
        } catch (IllegalArgumentException e) {
            throw IntakeException.badRequest("scan.glob is not a valid glob: " + e.getMessage());
        }
    }

    boolean matches(Path relative) {
        return matcher.matches(relative);
    }

    String text() {
        return text;
    }

    /**
     * The leading directories the glob names literally ("2024/june" in "2024/june/*.jpg"), or
     * "" when it starts with a pattern: nothing outside them can match, so the walk starts there.
     */
    String literalDirectories() {
        int end = 0;
        int segmentStart = 0;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if ("*?[]{}\\".indexOf(c) >= 0) break;
            if (c == '/') {
                if (i > segmentStart) end = i;
                segmentStart = i + 1;
            }
        }
        return text.substring(0, end);
    }

    /**
     * Rewrites each "**" plus slash that starts a path segment, outside brackets and braces,
     * as a group of itself or nothing, so it matches any number of directories including none.
     */
    static String allowZeroDirectories(String glob) {
        StringBuilder out = new StringBuilder(glob.length() + 8);
        boolean inBracket = false;
        boolean inBrace = false;
        for (int i = 0; i < glob.length(); i++) {
            char c = glob.charAt(i);
            if (c == '\\' && i + 1 < glob.length()) {
                out.append(c).append(glob.charAt(++i));
                continue;
            }
            if (inBracket) {
                if (c == ']') inBracket = false;
            } else if (c == '[') {
                inBracket = true;
            } else if (c == '{') {
                inBrace = true;
            } else if (c == '}') {
                inBrace = false;
            } else if (!inBrace && glob.startsWith("**/", i) && (i == 0 || glob.charAt(i - 1) == '/')) {
                out.append("{**/,}");
                i += 2;
                continue;
            }
            out.append(c);
        }
        return out.toString();
    }
}

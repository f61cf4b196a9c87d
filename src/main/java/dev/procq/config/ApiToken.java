package dev.procq.config;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * One entry of PROCQ_API_TOKENS: a secret, what it may do, and a stable id that is safe to log
 * and to store with the batches it submits. Written {@code TOKEN} (admin, as before scopes
 * existed), {@code SCOPE:TOKEN} or {@code SCOPE:NAME=TOKEN}, where SCOPE is read, submit or admin.
 * The id is NAME when given, else {@code sha256:} and the first 12 hex digits of the token's
 * SHA-256, which identifies a token without revealing it.
 */
public record ApiToken(Scope scope, String id, String secret) {
    private static final Pattern NAME = Pattern.compile("^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$");
    static final int ID_HEX_DIGITS = 12;

    /** What a token may do. */
    public enum Scope {
        /** read every batch, job and type */
        READ,
        /** submit batches, and read and steer only the batches it submitted */
        SUBMIT,
        /** everything: every batch, job types, and whatever comes later */
        ADMIN;

        public String setting() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    @Override
    public String toString() {
        return "ApiToken[" + scope.setting() + ", id=" + id + "]"; // never the secret
    }

    /** Every entry of PROCQ_API_TOKENS; fails naming the entry by position, never by its secret. */
    static List<ApiToken> parseAll(List<String> entries) {
        List<ApiToken> tokens = new ArrayList<>();
        Set<String> ids = new HashSet<>();
        Set<String> secrets = new HashSet<>();
        for (int i = 0; i < entries.size(); i++) {
            ApiToken token = parse(entries.get(i), i + 1);
            if (!secrets.add(token.secret)) {
                throw new ConfigException("PROCQ_API_TOKENS: entry " + (i + 1) + " repeats the token of an earlier entry");
            }
            if (!ids.add(token.id)) {
                throw new ConfigException("PROCQ_API_TOKENS: entry " + (i + 1) + " repeats the name '" + token.id
                        + "'; each token needs its own, since batches are owned by it");
            }
            tokens.add(token);
        }
        return List.copyOf(tokens);
    }

    static ApiToken parse(String entry, int position) {
        int colon = entry.indexOf(':');
        Scope scope = colon < 0 ? null : scopeOf(entry.substring(0, colon).trim());
        if (scope == null) {
            // A bare token, as before scopes: admin. A token that happens to hold ':' stays whole.
            return new ApiToken(Scope.ADMIN, idOf(entry), entry);
        }
        String rest = entry.substring(colon + 1).trim();
        String name = null;
        int equals = rest.indexOf('=');
        if (equals > 0 && NAME.matcher(rest.substring(0, equals).trim()).matches()) {
            name = rest.substring(0, equals).trim();
            rest = rest.substring(equals + 1).trim();
        }
        if (rest.isEmpty()) {
            throw new ConfigException("PROCQ_API_TOKENS: entry " + position + " (" + scope.setting()
                    + (name == null ? "" : ":" + name + "=") + ") has no token after it");
        }
        return new ApiToken(scope, name != null ? name : idOf(rest), rest);
    }

    private static Scope scopeOf(String word) {
        for (Scope scope : Scope.values()) {
            if (scope.setting().equalsIgnoreCase(word)) return scope;
        }
        return null;
    }

    /** The SHA-256 of a token. */
    public static byte[] digest(String secret) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(secret.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
        }
    }

    private static String idOf(String secret) {
        return "sha256:" + HexFormat.of().formatHex(digest(secret)).substring(0, ID_HEX_DIGITS);
    }
}

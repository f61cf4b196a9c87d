package dev.procq.api;

import dev.procq.config.ApiToken;
import dev.procq.config.ApiToken.Scope;
import io.javalin.http.Context;

/**
 * Who is calling, once {@link TokenAuth} has checked: the token's id (never the token) and scope.
 * Without tokens every caller is {@link #LOCAL}, an admin who owns nothing (the API then listens on
 * loopback only and serves this machine, as before scopes).
 */
record Caller(String id, Scope scope) {
    static final Caller LOCAL = new Caller(null, Scope.ADMIN);
    private static final String ATTRIBUTE = "procq.caller";

    static Caller of(ApiToken token) {
        return new Caller(token.id(), token.scope());
    }

    /** The owner recorded with a batch this caller submits: its token id, null without tokens. */
    String owner() {
        return id;
    }

    /**
     * The owner whose batches alone this caller may see and steer, or null for every batch: a
     * submit token sees its own, read and admin tokens see all.
     */
    String ownerFilter() {
        return scope == Scope.SUBMIT ? id : null;
    }

    void attachTo(Context ctx) {
        ctx.attribute(ATTRIBUTE, this);
    }

    /** The caller of a request that passed authentication. */
    static Caller of(Context ctx) {
        Caller caller = ctx.attribute(ATTRIBUTE);
        if (caller == null) throw new IllegalStateException("no caller: the route was reached without TokenAuth");
        return caller;
    }

    static boolean isKnown(Context ctx) {
        return ctx.attribute(ATTRIBUTE) != null;
    }
}

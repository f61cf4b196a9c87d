package dev.procq.api;

import dev.procq.config.ApiToken.Scope;
import io.javalin.security.RouteRole;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * What a route needs, given to each route where {@link ApiServer#routes} lists it, e.g.
 * {@code routes.post("/api/v1/batches/{id}/cancel", batches::cancel, Access.STEER)}. A route
 * without exactly one is refused to every caller ({@link #of}), and {@code ScopesTest} fails on it.
 *
 * <p>Which batches a caller sees is the handlers' part ({@link Caller#ownerFilter}): a submit
 * token passes READ and STEER only for batches it submitted, and any other batch is 404 to it.
 */
public enum Access implements RouteRole {
    /** no token: health checks, metrics, the dashboard's files (they hold no targets) */
    PUBLIC(EnumSet.noneOf(Scope.class)),
    /** read batches, jobs, types and workers */
    READ(EnumSet.allOf(Scope.class)),
    /** submit a batch */
    SUBMIT(EnumSet.of(Scope.SUBMIT, Scope.ADMIN)),
    /** cancel, retry, pause or resume a batch */
    STEER(EnumSet.of(Scope.SUBMIT, Scope.ADMIN)),
    /** change job types, and anything else that is not about one's own batches */
    ADMIN(EnumSet.of(Scope.ADMIN));

    private final Set<Scope> scopes;

    Access(Set<Scope> scopes) {
        this.scopes = scopes;
    }

    /** True when a token of this scope may call a route that needs this. */
    public boolean allows(Scope scope) {
        return this == PUBLIC || scopes.contains(scope);
    }

    /** The token scopes that may call a route that needs this (none needed for PUBLIC). */
    public List<Scope> scopes() {
        return List.copyOf(scopes);
    }

    /** The one Access among a route's roles; null when it has none or several. */
    static Access of(Set<? extends RouteRole> roles) {
        List<Access> found = roles.stream().filter(Access.class::isInstance).map(Access.class::cast).toList();
        return found.size() == 1 ? found.get(0) : null;
    }
}

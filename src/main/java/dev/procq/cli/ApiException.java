package dev.procq.cli;

/** The API refused a request (its {"error"} text is the message), or could not be reached (status 0). */
public final class ApiException extends RuntimeException {
    private final int status;

    ApiException(int status, String message) {
        super(message);
        this.status = status;
    }

    /** The HTTP status, or 0 when no answer came. */
    public int status() {
        return status;
    }

    /** Worth waiting out: no answer, or the API said the database is briefly unavailable. */
    boolean isTransient() {
        return status == 0 || status == 502 || status == 503 || status == 504;
    }
}

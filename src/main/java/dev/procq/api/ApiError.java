package dev.procq.api;

import java.util.Map;

/** A request the API refuses with a given status; mapped to {"error", "detail"} in one place. */
final class ApiError extends RuntimeException {
    private final int status;
    private final Object detail;

    ApiError(int status, String message, Object detail) {
        super(message);
        this.status = status;
        this.detail = detail;
    }

    static ApiError notFound(String what) {
        return new ApiError(404, what + " not found", Map.of());
    }

    static ApiError badRequest(String message) {
        return new ApiError(400, message, Map.of());
    }

    int status() {
        return status;
    }

    Object detail() {
        return detail;
    }
}

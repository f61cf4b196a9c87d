package dev.procq.pool;

/**
 * The backends the conformance suite runs against: every test class that starts children is a
 * {@code @ParameterizedClass} over these, so both must behave the same.
 */
enum Backends {
    NATIVE, JAVA;

    ChildLauncher open() {
        return ChildLauncher.open(ChildLauncher.Backend.valueOf(name()));
    }
}

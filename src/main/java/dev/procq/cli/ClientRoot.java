package dev.procq.cli;

/**
 * The command the client commands run under, as they see it: what gives them this run's streams
 * and environment. Main implements it; naming it here keeps the client free of the root package.
 */
public interface ClientRoot {
    Shell shell();
}

package dev.procq.pool;

/** A child that cannot be started; the message is the human reason that ends up in its result. */
final class CannotSpawn extends Exception {

    CannotSpawn(String reason) {
        super(reason, null, false, false);
    }
}

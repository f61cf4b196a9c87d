/**
 * Webhooks on batch end: the sender that delivers procq.webhook_delivery rows (the outbox the batch
 * trigger fills) to their allowlisted destinations, signed, at least once. Runs in every API and
 * worker process; uses {@code store} and {@code config}, and is wired by the root package.
 */
package dev.procq.webhook;

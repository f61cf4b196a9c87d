package dev.procq.webhook;

import dev.procq.config.WebhookSettings;
import dev.procq.store.WebhookClaim;
import dev.procq.store.WebhookDao;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivers the webhook outbox. Every API and worker process with PROCQ_WEBHOOK_ALLOWLIST runs one;
 * each round takes at most {@link #PER_ROUND} due rows (SKIP LOCKED, so senders never wait on each
 * other), leases them past its request timeout, POSTs them all at once, and records every try.
 * A 2xx is DELIVERED; anything else is tried again after an exponential backoff with jitter, until
 * {@link #GIVE_UP_AFTER} has passed since the batch's change. Redirects are never followed.
 */
public final class WebhookSender implements AutoCloseable {
    static final int PER_ROUND = 16;
    /** How long a batch's end keeps being announced before the delivery is given up. */
    public static final Duration GIVE_UP_AFTER = Duration.ofDays(1);
    /** The longest wait between two tries, however many failed. */
    public static final Duration MAX_BACKOFF = Duration.ofHours(1);
    /** How often the outbox's backlog is counted for procq_webhook_outbox_pending. */
    static final Duration PENDING_REFRESH = Duration.ofSeconds(5);
    private static final Logger log = LoggerFactory.getLogger(WebhookSender.class);

    private final Jdbi jdbi;
    private final WebhookSettings settings;
    private final WebhookSignature signature;
    private final String senderName;
    private final HttpClient http;
    private final Duration lease;
    private final Counter delivered;
    private final Counter failed;
    private final Counter gaveUp;
    private final Timer latency;
    private final Timer requestTime;
    private final AtomicLong pending = new AtomicLong();
    private long pendingCountedAt;
    private ScheduledExecutorService loop;

    public WebhookSender(Jdbi jdbi, WebhookSettings settings, String component, MeterRegistry registry) {
        this.jdbi = jdbi;
        this.settings = settings;
        this.signature = new WebhookSignature(settings.secret());
        this.senderName = component + "@" + host() + ":" + ProcessHandle.current().pid();
        this.http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER)
                .connectTimeout(settings.timeout()).build();
        // Longer than any one request can take, so a live sender always records its try before the row is due again.
        this.lease = settings.timeout().multipliedBy(2).plusSeconds(5);
        delivered = outcome(registry, "delivered");
        failed = outcome(registry, "failed");
        gaveUp = outcome(registry, "gave_up");
        latency = Timer.builder("procq_webhook_delivery_latency_seconds")
                .description("from the batch's state change (the outbox row's commit) to the receiver's 2xx")
                .publishPercentileHistogram().register(registry);
        requestTime = Timer.builder("procq_webhook_request_seconds")
                .description("how long each webhook request took, until its answer or error").register(registry);
        Gauge.builder("procq_webhook_outbox_pending", pending, AtomicLong::doubleValue)
                .description("webhook deliveries not yet delivered or given up, database-wide (aggregate with max)")
                .register(registry);
    }

    private static Counter outcome(MeterRegistry registry, String outcome) {
        return Counter.builder("procq_webhook_attempts").tag("outcome", outcome)
                .description("webhook tries by outcome: delivered (2xx), failed (tried again later), gave_up").register(registry);
    }

    /** Starts the loop on its own thread, a round every {@code interval}. */
    public WebhookSender start(Duration interval) {
        loop = Executors.newSingleThreadScheduledExecutor(task -> {
            Thread thread = new Thread(task, "procq-webhooks");
            thread.setDaemon(true);
            return thread;
        });
        loop.scheduleWithFixedDelay(() -> {
            try {
                while (runOnce() == PER_ROUND) {
                    // a full round: more may be due at once
                }
            } catch (Throwable e) {
                log.warn("webhook round failed, trying again in {}: {}", interval, e.toString());
            }
        }, 0, interval.toMillis(), TimeUnit.MILLISECONDS);
        return this;
    }

    /** One round: takes the due deliveries, sends them, records what came of each; returns how many it took. */
    public int runOnce() {
        refreshPending();
        UUID claim = UUID.randomUUID();
        List<WebhookClaim> due = jdbi.withExtension(WebhookDao.class, dao -> dao.claimDue(PER_ROUND, lease.toMillis(), claim));
        CompletableFuture<?>[] sends = due.stream().map(row -> send(row, claim)).toArray(CompletableFuture[]::new);
        CompletableFuture.allOf(sends).join();
        return due.size();
    }

    private CompletableFuture<Void> send(WebhookClaim row, UUID claim) {
        if (!settings.destinations().allows(row.url())) {
            finishFailed(row, claim, 0, null, "the destination is no longer in PROCQ_WEBHOOK_ALLOWLIST", true);
            return CompletableFuture.completedFuture(null);
        }
        byte[] body = WebhookPayload.of(row, settings.publicUrl());
        long unixSeconds = System.currentTimeMillis() / 1000;
        HttpRequest request = HttpRequest.newBuilder(URI.create(row.url()))
                .timeout(settings.timeout())
                .header("Content-Type", "application/json")
                .header("User-Agent", "procq-webhook")
                .header("Procq-Delivery", Long.toString(row.id()))
                .header("Procq-Event", row.event())
                .header("Procq-Attempt", Integer.toString(row.attempts()))
                .header(WebhookSignature.HEADER, signature.header(unixSeconds, body))
                .POST(HttpRequest.BodyPublishers.ofByteArray(body))
                .build();
        long started = System.nanoTime();
        return http.sendAsync(request, HttpResponse.BodyHandlers.discarding()).handle((response, error) -> {
            long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);
            requestTime.record(Duration.ofMillis(millis));
            try {
                if (error == null && response.statusCode() / 100 == 2) {
                    finishDelivered(row, millis, response.statusCode());
                } else if (error == null) {
                    int status = response.statusCode();
                    finishFailed(row, claim, millis, status, "HTTP " + status
                            + (status / 100 == 3 ? " (redirects are not followed)" : ""), false);
                } else {
                    finishFailed(row, claim, millis, null, describe(error), false);
                }
            } catch (RuntimeException e) {
                // The row stays leased and is tried again when the lease passes.
                log.warn("could not record webhook delivery {}: {}", row.id(), e.toString());
            }
            return null;
        });
    }

    private void finishDelivered(WebhookClaim row, long millis, int status) {
        List<Double> ages = jdbi.inTransaction(handle -> {
            WebhookDao dao = handle.attach(WebhookDao.class);
            dao.recordAttempt(row.id(), row.attempts(), millis, status, null, senderName);
            return dao.markDelivered(row.id());
        });
        delivered.increment();
        ages.forEach(seconds -> latency.record(Duration.ofMillis((long) (seconds * 1000))));
    }

    private void finishFailed(WebhookClaim row, UUID claim, long millis, Integer status, String error, boolean now) {
        Duration age = Duration.between(row.createdAt().toInstant(), java.time.Instant.now());
        boolean giveUp = now || age.compareTo(GIVE_UP_AFTER) >= 0;
        jdbi.useTransaction(handle -> {
            WebhookDao dao = handle.attach(WebhookDao.class);
            dao.recordAttempt(row.id(), row.attempts(), millis, status, error, senderName);
            if (giveUp) {
                dao.giveUp(row.id(), claim, error);
            } else {
                dao.scheduleRetry(row.id(), claim, backoff(settings.backoff(), row.attempts()).toMillis(), error);
            }
        });
        if (giveUp) {
            gaveUp.increment();
            log.warn("gave up webhook delivery {} of batch {} ({}) after {} tries: {}", row.id(), row.batchId(), row.event(),
                    row.attempts(), error);
        } else {
            failed.increment();
        }
    }

    /**
     * The wait after the {@code attempt}-th failed try: {@code first} doubled for each try before,
     * at most {@link #MAX_BACKOFF}, with "equal jitter" (half of it fixed, half random) so that the
     * deliveries of many batches that failed together do not all come back at once.
     */
    static Duration backoff(Duration first, int attempt) {
        long base = first.toMillis() << Math.min(Math.max(attempt - 1, 0), 20);
        long capped = Math.min(base, MAX_BACKOFF.toMillis());
        return Duration.ofMillis(capped / 2 + ThreadLocalRandom.current().nextLong(capped / 2 + 1));
    }

    private String describe(Throwable error) {
        Throwable cause = error instanceof java.util.concurrent.CompletionException && error.getCause() != null
                ? error.getCause() : error;
        if (cause instanceof HttpTimeoutException) return "no answer within " + settings.timeout().toMillis() + " ms";
        if (cause instanceof IOException) {
            return "connection failed: " + (cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage());
        }
        return cause.toString();
    }

    private void refreshPending() {
        long now = System.nanoTime();
        if (pendingCountedAt != 0 && now - pendingCountedAt < PENDING_REFRESH.toNanos()) return;
        pendingCountedAt = now;
        pending.set(jdbi.withExtension(WebhookDao.class, WebhookDao::countPending));
    }

    private static String host() {
        try {
            return java.net.InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "unknown";
        }
    }

    @Override
    public void close() {
        if (loop != null) loop.shutdownNow();
    }
}

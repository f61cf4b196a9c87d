package dev.procq.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.procq.pool.ResourceUsage;
import dev.procq.testing.Chromium;
import dev.procq.testing.PostgresExtension;
import dev.procq.testing.Procq;
import dev.procq.worker.RecordedAttempts;
import dev.procq.worker.Worker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.awaitility.core.ConditionFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.NoAlertPresentException;
import org.openqa.selenium.WebDriverException;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.support.ui.Select;

/**
 * The dashboard in a real headless Chromium against a real API, worker and PostgreSQL: what an
 * operator sees, that data stays text, and that the page works behind a token.
 * Screenshots land in target/screenshots/.
 */
class DashboardTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    static final String POLICY = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            + "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

    static final String TYPES = """
            types:
              # Sleeps, then fails for targets that contain "bad": a batch whose progress takes a few seconds.
              photo:
                command: ["sh", "-c", "sleep 0.4; case \\"$1\\" in *bad*) echo \\"reading $1\\"; echo \\"$1: not a JPEG file\\" >&2; exit 2;; esac; echo \\"wrote $1.thumb.jpg\\"", "photo", "{target}"]
                concurrency: 2
                targetPattern: '^[a-z0-9-]+\\.jpg$'
              exit:
                command: ["sh", "-c", "echo \\"out-$1\\"; echo \\"err-$1\\" >&2; exit \\"$1\\"", "exit", "{target}"]
                concurrency: 4
                targetPattern: '^[0-9]+$'
              # Any target at all: prints it back and fails, so it shows up in every place the page shows data.
              shout:
                command: ["sh", "-c", "printf '%s\\\\n' \\"$1\\"; printf 'rejected %s\\\\n' \\"$1\\" >&2; exit 1", "shout", "{target}"]
                concurrency: 2
              sleep:
                command: ["sleep", "{target}"]
                concurrency: 2
                timeout: 60s
                targetPattern: '^[0-9.]+$'
              # Keyed by the name before the slash, at most two running per key: what the types page shows.
              render:
                command: ["sh", "-c", "sleep 30", "render", "{target}"]
                concurrency: 3
                globalConcurrency: 5
                key: {regex: '^([a-z]+)/'}
                keyConcurrency: 2
                timeout: 60s
            """;

    static Procq procq;
    static Worker worker;
    static Chromium browser;
    static ChromeDriver driver;

    @BeforeAll
    static void start() throws Exception {
        if (Chromium.unavailable().isPresent()) return;
        browser = Chromium.start();
        driver = browser.driver();
        procq = new Procq(postgres, TYPES, Map.of("PROCQ_WORKER_CONCURRENCY", "6", "PROCQ_WORKER_METRICS_PORT", "off"))
                .startApi();
        worker = procq.startWorker();
    }

    @AfterAll
    static void stop() throws Exception {
        if (procq != null) procq.close();
        if (browser != null) browser.close();
    }

    @BeforeEach
    void needsChromium() {
        assumeTrue(browser != null, () -> Chromium.unavailable().orElse("the browser did not start"));
    }

    @AfterEach
    void pictureAndPolicy(TestInfo test) {
        if (browser == null) return;
        browser.screenshot(test.getTestMethod().orElseThrow().getName());
        // An inline style or script would work in a lax page and be blocked here; the console says so.
        assertThat(browser.newPolicyViolations()).as("CSP violations reported by Chromium").isEmpty();
    }

    @Test
    void aRunningBatchsProgressMovesWhileThePageIsOpen() {
        List<String> targets = new ArrayList<>();
        for (int i = 1; i <= 24; i++) targets.add(i % 7 == 3 ? "bad-scan-%03d.jpg".formatted(i) : "img-%03d.jpg".formatted(i));
        long id = procq.submit("photo", targets);
        long willBeOk = targets.stream().filter(target -> !target.contains("bad")).count();

        driver.get(procq.baseUrl() + "/");
        By row = By.cssSelector("#batches tr[data-batch='" + id + "']");
        eventually().until(() -> !driver.findElements(row).isEmpty());
        assertThat(driver.findElement(row).getText()).contains("photo");
        browser.screenshot("batches");
        driver.findElement(row).findElement(By.linkText("#" + id)).click();
        eventually().until(() -> driver.getCurrentUrl().endsWith("#/batches/" + id));

        // Seen part-way: some finished, some not. Nothing below reloads the page.
        AtomicLong firstOk = new AtomicLong();
        AtomicReference<Integer> firstWidth = new AtomicReference<>();
        eventually().until(() -> {
            long ok = count("OK");
            if (ok <= 0 || ok >= willBeOk) return false;
            firstOk.set(ok);
            firstWidth.set(segmentWidth("OK"));
            return true;
        });
        assertThat(firstWidth.get()).isPositive();
        eventually().until(() -> count("FAILED") > 0 && !driver.findElements(By.cssSelector("#failures .tail")).isEmpty());
        browser.screenshot("batch-running");

        eventually().until(() -> count("OK") > firstOk.get() && segmentWidth("OK") > firstWidth.get());
        assertThat(text("#batch-rate")).matches("[0-9.]+/(s|min|h)");

        eventually().until(() -> driver.findElement(By.cssSelector(".batch-view h1")).getText().contains("DONE"));
        assertThat(count("OK")).isEqualTo(willBeOk).isEqualTo(20);
        assertThat(count("FAILED")).isEqualTo(4);
        assertThat(count("PENDING")).isZero();
        assertThat(text("#batch-eta")).isEqualTo("done");
        int whole = driver.findElement(By.id("batch-bar")).getRect().getWidth();
        // The bar eases into its new widths, so wait for it to settle: finished work fills it.
        eventually().until(() -> segmentWidth("OK") + segmentWidth("FAILED") >= whole - 4
                && segmentWidth("RUNNING") + segmentWidth("PENDING") == 0);
        browser.screenshot("batch-done");
    }

    @Test
    void aFailedTargetIsListedWithItsReasonAndOutputTail() {
        long id = procq.submit("exit", List.of("0", "0", "7", "0"));
        awaitFinished(id);

        driver.get(procq.baseUrl() + "/#/batches/" + id);
        By failure = By.cssSelector("#failures .failure");
        eventually().until(() -> driver.findElements(failure).size() == 1
                && !driver.findElements(By.cssSelector("#failures .tail")).isEmpty());
        WebElement card = driver.findElement(failure);
        assertThat(card.findElement(By.cssSelector(".target")).getText()).isEqualTo("7");
        assertThat(card.findElement(By.cssSelector(".reason")).getText()).isEqualTo("exit code 7");
        assertThat(card.findElement(By.cssSelector(".tail")).getText()).contains("out-7").contains("err-7");
        assertThat(driver.findElement(By.cssSelector("#failures-panel h2")).getText()).isEqualTo("Failed targets (1)");

        // The job list, filtered to FAILED, shows only that target.
        new Select(driver.findElement(By.id("job-filter"))).selectByValue("FAILED");
        eventually().until(() -> driver.findElements(By.cssSelector("#jobs tbody tr")).size() == 1);
        assertThat(driver.findElement(By.cssSelector("#jobs tbody td.target")).getText()).isEqualTo("7");
        assertThat(driver.getCurrentUrl()).endsWith("#/batches/" + id + "?state=FAILED");

        // Its job page: every attempt with outcome, exit code, error and output.
        driver.findElement(By.cssSelector("#failures .failure")).findElement(By.partialLinkText("job #")).click();
        eventually().until(() -> !driver.findElements(By.cssSelector("#attempts .attempt")).isEmpty());
        assertThat(text("#job-target")).isEqualTo("7");
        WebElement attempt = driver.findElement(By.cssSelector("#attempts .attempt"));
        assertThat(attempt.findElement(By.cssSelector(".outcome")).getText()).isEqualTo("FAILED");
        assertThat(attempt.getText()).contains("exit 7").contains("exit code 7");
        assertThat(attempt.findElement(By.cssSelector(".decided-by")).getText()).isEqualTo("decided by default: exit 7");
        assertThat(attempt.findElement(By.cssSelector(".tail")).getText()).contains("out-7").contains("err-7");
    }

    @Test
    void anAttemptShowsItsCpuAndPeakMemoryOrThatTheyWereNotMeasured() throws Exception {
        // An API that also knows "costed", which this class's worker does not run: its attempts end
        // with the costs this test chooses, through the worker's own write path.
        String costedTypes = RecordedAttempts.withCostedType(TYPES);
        try (Procq costs = new Procq(postgres, costedTypes, Map.of("PROCQ_WORKER_METRICS_PORT", "off")).startApi()) {
            RecordedAttempts attempts = RecordedAttempts.of(costs, costedTypes);
            costs.submit("costed", List.of("heavy.bin", "unmeasured.bin"));
            long heavy = attempts.finishNext("costed", RecordedAttempts.exited(0, new ResourceUsage(12_345, 3_999, 4_198)));
            long unmeasured = attempts.finishNext("costed", RecordedAttempts.exited(5, null));

            driver.get(procq.baseUrl() + "/#/jobs/" + heavy);
            eventually().until(() -> text("#job-target").equals("heavy.bin")
                    && !driver.findElements(By.cssSelector("#attempts .attempt .cost")).isEmpty());
            assertThat(text("#attempts .attempt .cost")).isEqualTo("CPU 12 ms user / 3 ms sys, peak 4.1 MiB");
            browser.screenshot("job-with-costs");

            driver.get(procq.baseUrl() + "/#/jobs/" + unmeasured);
            eventually().until(() -> text("#job-target").equals("unmeasured.bin")
                    && !driver.findElements(By.cssSelector("#attempts .attempt .cost")).isEmpty());
            WebElement attempt = driver.findElement(By.cssSelector("#attempts .attempt"));
            // Unknown is said as unknown, never as 0, and the rest of the attempt is there as always.
            assertThat(attempt.findElement(By.cssSelector(".cost")).getText()).isEqualTo("CPU —");
            assertThat(attempt.findElement(By.cssSelector(".cost")).getAttribute("title")).contains("not measured");
            assertThat(attempt.getText()).doesNotContain("0 ms user").contains("exit 5").contains("exit code 5");
            assertThat(attempt.findElement(By.cssSelector(".tail")).getText()).contains("exited with 5");
        }
    }

    @Test
    void retryAndCancelButtonsActOnTheBatch() {
        long failing = procq.submit("exit", List.of("3", "0"));
        awaitFinished(failing);
        driver.get(procq.baseUrl() + "/#/batches/" + failing);
        eventually().until(() -> driver.findElement(By.id("retry-batch")).isEnabled());
        driver.findElement(By.id("retry-batch")).click();
        driver.findElement(By.id("confirm-retry")).click();
        // The FAILED job ran a second time (and failed again, as "exit 3" does).
        eventually().until(() -> procq.get("/api/v1/batches/" + failing + "/jobs?state=FAILED").json()
                .get("items").path(0).path("attemptCount").asInt() == 2);
        eventually().until(() -> driver.findElement(By.cssSelector("#failures .failure")).getText().contains("attempt 2 of"));

        long slow = procq.submit("sleep", List.of("30", "30", "30", "30", "30", "30"));
        driver.get(procq.baseUrl() + "/#/batches/" + slow);
        eventually().until(() -> count("RUNNING") == 2);
        driver.findElement(By.id("cancel-batch")).click();
        driver.findElement(By.id("confirm-cancel")).click();
        // Pending jobs are cancelled at once, running children are stopped: nothing waits out its 30 s.
        eventually().until(() -> driver.findElement(By.cssSelector(".batch-view h1")).getText().contains("CANCELLED")
                && count("RUNNING") == 0 && count("PENDING") == 0);
        JsonNode batch = procq.batch(slow);
        assertThat(batch.get("state").asText()).isEqualTo("CANCELLED");
        assertThat(batch.get("counts").get("OK").asLong()).isZero();
        assertThat(count("CANCELLED")).isEqualTo(batch.get("counts").get("CANCELLED").asLong()).isGreaterThanOrEqualTo(4);
        assertThat(driver.findElement(By.id("cancel-batch")).isEnabled()).isFalse();
    }

    @Test
    void pauseAndResumeButtonsAndTheHaltReason() {
        long slow = procq.submit("sleep", List.of("0.3", "0.3", "0.3", "0.3", "0.3", "0.3", "0.3", "0.3", "0.3", "0.3",
                "0.3", "0.3", "0.3", "0.3", "0.3", "0.3", "0.3", "0.3", "0.3", "0.3"));
        driver.get(procq.baseUrl() + "/#/batches/" + slow);
        eventually().until(() -> driver.findElement(By.id("pause-batch")).isEnabled());
        driver.findElement(By.id("pause-batch")).click();
        eventually().until(() -> driver.findElement(By.cssSelector(".batch-view h1")).getText().contains("PAUSED")
                && driver.findElement(By.id("resume-batch")).isDisplayed() && count("RUNNING") == 0);
        assertThat(procq.batch(slow).get("state").asText()).isEqualTo("PAUSED");
        assertThat(driver.findElement(By.id("pause-batch")).isDisplayed()).isFalse();
        assertThat(text("#halt-reason")).contains("Paused");
        assertThat(count("PENDING")).isGreaterThan(0);
        driver.findElement(By.id("resume-batch")).click();
        eventually().until(() -> driver.findElement(By.cssSelector(".batch-view h1")).getText().contains("DONE"));
        assertThat(driver.findElement(By.id("halt-reason")).isDisplayed()).isFalse();

        // A budget of two failures: the page says the batch halted and why, and Resume lifts it.
        // 40 targets: enough that some still wait after each halt (4 run at once).
        Procq.Response halting = procq.postJson("/api/v1/batches",
                "{\"type\": \"exit\", \"halt\": {\"failed\": 2}, \"targets\": [" + "\"1\", ".repeat(39) + "\"1\"]}");
        long halted = halting.json().get("id").asLong();
        driver.get(procq.baseUrl() + "/#/batches/" + halted);
        eventually().until(() -> driver.findElement(By.cssSelector(".batch-view h1")).getText().contains("HALTED"));
        eventually().until(() -> text("#halt-reason").contains("targets failed (budget: failed 2)"));
        assertThat(text("#batch-eta")).isEqualTo("halted");
        assertThat(driver.findElement(By.id("cancel-batch")).isEnabled()).isTrue();
        driver.findElement(By.id("resume-batch")).click();
        // Resumed with its budget counted afresh, it halts again two failures later.
        eventually().until(() -> procq.batch(halted).get("counts").get("FAILED").asLong() >= 4
                && procq.batch(halted).get("state").asText().equals("HALTED"));
        driver.findElement(By.id("cancel-batch")).click();
        driver.findElement(By.id("confirm-cancel")).click();
        eventually().until(() -> driver.findElement(By.cssSelector(".batch-view h1")).getText().contains("CANCELLED"));
    }

    @Test
    void hostileTargetsAndOutputShowAsLiteralText() {
        String image = "<img src=x onerror=alert(1)>";
        String script = "\"><script>alert(2)</script><b id=bold>x</b>";
        long id = procq.submit("shout", List.of(image, script));
        awaitFinished(id);

        driver.get(procq.baseUrl() + "/#/batches/" + id);
        eventually().until(() -> driver.findElements(By.cssSelector("#failures .tail")).size() == 2);
        List<String> shownTargets = driver.findElements(By.cssSelector("#failures .target")).stream().map(WebElement::getText).toList();
        assertThat(shownTargets).containsExactlyInAnyOrder(image, script);
        List<String> tails = driver.findElements(By.cssSelector("#failures .tail")).stream().map(WebElement::getText).toList();
        assertThat(tails).anySatisfy(tail -> assertThat(tail).contains(image).contains("rejected " + image));
        assertThat(tails).anySatisfy(tail -> assertThat(tail).contains(script));
        List<String> tableTargets = driver.findElements(By.cssSelector("#jobs td.target")).stream()
                .map(cell -> cell.getAttribute("title")).toList();
        assertThat(tableTargets).containsExactlyInAnyOrder(image, script);
        assertNothingWasInjected();

        driver.findElement(By.cssSelector("#jobs tbody tr td a")).click();
        eventually().until(() -> !driver.findElements(By.cssSelector("#attempts .tail")).isEmpty());
        assertThat(text("#job-target")).isIn(image, script);
        assertNothingWasInjected();

        Procq.Response page = procq.get("/");
        assertThat(page.status()).isEqualTo(200);
        assertThat(page.header("Content-Type")).startsWith("text/html");
        assertThat(page.header("Content-Security-Policy")).isEqualTo(POLICY);
        assertThat(page.header("X-Content-Type-Options")).isEqualTo("nosniff");
        assertThat(page.header("Referrer-Policy")).isEqualTo("no-referrer");
        assertThat(page.body()).doesNotContain("<style").doesNotContain(" style=").doesNotContainPattern("<script>[^<]");
        assertThat(procq.get("/app.js").header("Content-Security-Policy")).isEqualTo(POLICY);
        // Serving files at / leaves the API's own answers alone.
        assertThat(procq.get("/healthz").json().get("status").asText()).isEqualTo("ok");
        assertThat(procq.get("/metrics").header("Content-Type")).startsWith("text/plain");
        assertThat(procq.get("/api/v1/no-such-thing").status()).isEqualTo(404);
        assertThat(procq.get("/no-such-file.js").status()).isEqualTo(404);

        // The policy is a second line of defence, and the browser applies it: markup that a script
        // did inject could not run its inline handler.
        assertThat(browser.newPolicyViolations()).isEmpty();
        driver.executeScript("window.probeRan = false; const box = document.createElement('div');"
                + "box.innerHTML = '<img src=x onerror=\"window.probeRan = true\">'; document.body.append(box);");
        eventually().until(() -> browser.newPolicyViolations().stream().anyMatch(m -> m.contains("inline event handler")));
        assertThat(driver.executeScript("return window.probeRan")).isEqualTo(false);
    }

    @Test
    void withTokensThePageAsksForOneAndThenShowsTheBatches() throws Exception {
        long id = procq.submit("exit", List.of("0", "5"));
        try (Procq guarded = new Procq(postgres, TYPES, Map.of("PROCQ_API_TOKENS", "first-token,second-token")).startApi()) {
            assertThat(guarded.get("/api/v1/batches").status()).isEqualTo(401);
            assertThat(guarded.get("/").status()).isEqualTo(200);
            assertThat(guarded.get("/app.js").status()).isEqualTo(200);

            driver.get(guarded.baseUrl() + "/");
            eventually().until(() -> driver.findElement(By.id("token-panel")).isDisplayed());
            assertThat(driver.findElement(By.id("main")).isDisplayed()).isFalse();
            browser.screenshot("token-asked");

            driver.findElement(By.id("token-input")).sendKeys("a-wrong-token");
            driver.findElement(By.id("token-submit")).click();
            eventually().until(() -> driver.findElement(By.id("token-panel")).isDisplayed()
                    && text("#token-message").contains("rejected"));

            driver.findElement(By.id("token-input")).sendKeys("second-token");
            driver.findElement(By.id("token-submit")).click();
            By row = By.cssSelector("#batches tr[data-batch='" + id + "']");
            eventually().until(() -> !driver.findElements(row).isEmpty() && driver.findElement(row).isDisplayed());
            assertThat(driver.findElement(By.id("token-panel")).isDisplayed()).isFalse();
            assertThat(driver.executeScript("return sessionStorage.getItem('procq.apiToken')")).isEqualTo("second-token");

            // Asked once: moving to another page uses the kept token.
            driver.get(guarded.baseUrl() + "/#/batches/" + id);
            eventually().until(() -> !driver.findElements(By.cssSelector("#failures .failure")).isEmpty());
            assertThat(driver.findElement(By.id("token-panel")).isDisplayed()).isFalse();
            assertThat(driver.findElement(By.cssSelector("#failures .target")).getText()).isEqualTo("5");
        }
    }

    @Test
    void aHiddenPageStopsAskingAndCatchesUpWhenShownAgain() {
        long id = procq.submit("exit", List.of("4"));
        awaitFinished(id);
        driver.get(procq.baseUrl() + "/#/batches/" + id);
        By failure = By.cssSelector("#failures .failure");
        eventually().until(() -> driver.findElement(failure).getText().contains("attempt 1 of 1"));

        // The page may be long-lived (earlier tests only changed its #address): empty the browser's
        // request record so it has room for whatever happens next.
        driver.executeScript("performance.clearResourceTimings()");
        driver.manage().window().minimize();
        assertThat(driver.executeScript("return document.visibilityState")).isEqualTo("hidden");
        double hiddenAt = ((Number) driver.executeScript("return performance.now()")).doubleValue();
        // While nobody looks, the batch changes: its failure runs a second attempt.
        assertThat(procq.post("/api/v1/batches/" + id + "/retry", null, "", Map.of()).status()).isEqualTo(200);
        await().atMost(Duration.ofSeconds(30)).until(() -> procq.get("/api/v1/batches/" + id + "/jobs?state=FAILED").json()
                .get("items").path(0).path("attemptCount").asInt() == 2);
        // Two polling periods and more without a single request.
        await().during(Duration.ofSeconds(4)).atMost(Duration.ofSeconds(6)).pollInterval(Duration.ofMillis(250))
                .until(() -> apiRequestsSince(hiddenAt) == 0);
        assertThat(text("#live")).isEqualTo("paused while hidden");
        assertThat(driver.findElement(failure).getText()).contains("attempt 1 of 1");

        driver.manage().window().setSize(new Dimension(1280, 1000));
        eventually().until(() -> driver.findElement(failure).getText().contains("attempt 2 of 2")
                && text("#live").startsWith("live"));
        assertThat(apiRequestsSince(hiddenAt)).as("requests once shown, recorded like the ones not made").isPositive();
    }

    @Test
    void theTypesPageShowsLimitsAndUseAndSteersTheType() {
        long finished = procq.submit("exit", List.of("0", "0", "0"));
        awaitFinished(finished);
        long rendering = procq.submit("render", List.of("alpha/1", "alpha/2", "alpha/3", "alpha/4", "beta/1", "beta/2"));
        try {
            driver.get(procq.baseUrl() + "/");
            driver.findElement(By.cssSelector("#pages a[data-page='types']")).click();
            eventually().until(() -> driver.getCurrentUrl().endsWith("#/types"));
            By row = By.cssSelector("#types tr[data-type='render']");
            // Three per worker, two per key: both alphas and one beta run, the rest wait.
            eventually().until(() -> text("#types tr[data-type='render'] .running .n").equals("3"));
            assertThat(procq.get("/api/v1/types").json().findValues("name").stream().map(JsonNode::asText)).contains("render");
            WebElement render = driver.findElement(row);
            assertThat(render.findElement(By.cssSelector(".running")).getText()).contains("of 5").contains("#" + worker.id() + ": 3");
            assertThat(render.findElements(By.cssSelector(".limits .limit")).stream().map(WebElement::getText))
                    .containsExactly("3 per worker", "5 in all", "2 per key");
            assertThat(render.findElement(By.cssSelector(".state")).getText()).isEqualTo("ACTIVE");
            eventually().until(() -> text("#types tr[data-keys-of='render'] .key[data-key='alpha'] .muted").startsWith("2 running · "));
            assertThat(text("#types tr[data-keys-of='render'] .key[data-key='beta'] .muted")).startsWith("1 running · ");
            // Throughput: the three attempts of the exit batch ended within the last minute.
            String lastMinute = text("#types tr[data-type='exit'] .last-minute .n");
            assertThat(lastMinute).matches("[0-9,]+/min");
            assertThat(Long.parseLong(lastMinute.replaceAll("[^0-9]", ""))).isGreaterThanOrEqualTo(3);
            browser.screenshot("types");

            driver.findElement(By.cssSelector("#types tr[data-type='render'] .pause-type")).click();
            eventually().until(() -> typeRow("render").get("paused").equals(true));
            eventually().until(() -> text("#types tr[data-type='render'] .state").equals("PAUSED")
                    && text("#types tr[data-type='render'] .pause-type").equals("Resume"));
            assertThat(text("#types tr[data-type='render'] .type-result")).startsWith("Paused");

            WebElement input = driver.findElement(By.cssSelector("#types tr[data-type='render'] .concurrency-input"));
            assertThat(input.getAttribute("value")).isEqualTo("3");
            input.clear();
            input.sendKeys("0");
            driver.findElement(By.cssSelector("#types tr[data-type='render'] .set-concurrency")).click();
            eventually().until(() -> text("#types tr[data-type='render'] .type-result")
                    .equals("not changed: concurrency must be a whole number from 1 to 100000, got 0"));
            assertThat(typeRow("render")).containsEntry("concurrency", 3);
            input.clear();
            input.sendKeys("1");
            driver.findElement(By.cssSelector("#types tr[data-type='render'] .set-concurrency")).click();
            eventually().until(() -> typeNamed("render").get("concurrency").asInt() == 1);
            assertThat(typeRow("render")).containsEntry("concurrency", 1);
            eventually().until(() -> text("#types tr[data-type='render'] .type-result").equals("Concurrency 1 per worker.")
                    && text("#types tr[data-type='render'] .limits .limit").equals("1 per worker"));

            driver.findElement(By.cssSelector("#types tr[data-type='render'] .pause-type")).click();
            eventually().until(() -> typeRow("render").get("paused").equals(false));
            eventually().until(() -> text("#types tr[data-type='render'] .state").equals("ACTIVE"));
        } finally {
            procq.post("/api/v1/batches/" + rendering + "/cancel", null, "", Map.of());
        }
    }

    @Test
    void aReadTokensTypeChangeIsRefusedWithTheApisReason() throws Exception {
        try (Procq guarded = new Procq(postgres, TYPES, Map.of("PROCQ_API_TOKENS", "read:viewer=look-only")).startApi()) {
            driver.get(guarded.baseUrl() + "/#/types");
            eventually().until(() -> driver.findElement(By.id("token-panel")).isDisplayed());
            driver.findElement(By.id("token-input")).sendKeys("look-only");
            driver.findElement(By.id("token-submit")).click();
            eventually().until(() -> !driver.findElements(By.cssSelector("#types tr[data-type='exit'] .pause-type")).isEmpty());
            driver.findElement(By.cssSelector("#types tr[data-type='exit'] .pause-type")).click();
            eventually().until(() -> text("#types tr[data-type='exit'] .type-result").startsWith("not changed: "));
            assertThat(text("#types tr[data-type='exit'] .type-result"))
                    .isEqualTo("not changed: this token's scope (read) may not do this: it needs admin");
            assertThat(typeRow("exit")).containsEntry("paused", false);
        }
    }

    @Test
    void theWorkersPageListsWorkersWithTheirHeartbeatAge() {
        long quiet = WorkersApiTest.insertWorker(procq.database().jdbi(), "render-07", "42 seconds", null);
        long late = WorkersApiTest.insertWorker(procq.database().jdbi(), "render-08", "3 minutes", null);

        driver.get(procq.baseUrl() + "/#/workers");
        By other = By.cssSelector("#workers tr[data-worker='" + quiet + "']");
        eventually().until(() -> !driver.findElements(other).isEmpty());
        assertThat(driver.findElement(By.cssSelector("#pages a[aria-current='page']")).getText()).isEqualTo("Workers");
        WebElement row = driver.findElement(other);
        assertThat(row.findElement(By.cssSelector(".host")).getText()).isEqualTo("render-07");
        assertThat(row.findElement(By.cssSelector(".pid")).getText()).isEqualTo("4242");
        assertThat(row.findElement(By.cssSelector(".version")).getText()).isEqualTo("0.9.1");
        assertThat(row.findElement(By.cssSelector(".metrics-port")).getText()).isEqualTo(":9470");
        assertThat(row.findElement(By.cssSelector(".running")).getText()).isEqualTo("0 of 8");
        assertThat(row.findElement(By.cssSelector(".heartbeat .badge")).getText()).isEqualTo("LIVE");
        assertThat(ageShown(quiet)).isBetween(42L, 59L);
        assertThat(text("#workers tr[data-worker='" + late + "'] .heartbeat .badge")).isEqualTo("LATE");
        assertThat(ageShown(late)).isBetween(180L, 240L);

        // This class's own worker, running in this JVM: its heartbeat is seconds old, and the age moves on by itself.
        String self = "#workers tr[data-worker='" + worker.id() + "']";
        assertThat(text(self + " .pid")).isEqualTo(String.valueOf(ProcessHandle.current().pid()));
        assertThat(text(self + " .heartbeat .badge")).isEqualTo("LIVE");
        assertThat(ageShown(worker.id())).isLessThan(15L);
        long first = ageShown(quiet);
        eventually().until(() -> ageShown(quiet) > first);
        browser.screenshot("workers");
    }

    /** The heartbeat age the workers page shows for a worker, in seconds ("42 s ago", "3m 05s ago"). */
    private static long ageShown(long workerId) {
        String age = text("#workers tr[data-worker='" + workerId + "'] .age");
        Matcher parts = Pattern.compile("(?:(\\d+)m )?(\\d+) ?s ago").matcher(age);
        assertThat(parts.matches()).as(age).isTrue();
        return (parts.group(1) == null ? 0 : Long.parseLong(parts.group(1)) * 60) + Long.parseLong(parts.group(2));
    }

    private static JsonNode typeNamed(String name) {
        for (JsonNode type : procq.get("/api/v1/types").json()) {
            if (type.get("name").asText().equals(name)) return type;
        }
        throw new AssertionError("no type " + name);
    }

    private static Map<String, Object> typeRow(String name) {
        return procq.database().jdbi().withHandle(h -> h.createQuery("SELECT concurrency, paused FROM procq.job_type WHERE name = :n")
                .bind("n", name).mapToMap().one());
    }

    /** API requests the page started after the given performance.now() time, as the browser recorded them. */
    private static long apiRequestsSince(double pageTime) {
        Object count = driver.executeScript("return performance.getEntriesByType('resource')"
                + ".filter(e => e.name.includes('/api/') && e.startTime > arguments[0] + 100).length", pageTime);
        return ((Number) count).longValue();
    }

    @Test
    void theThroughputChartsShowAnHourOfMinutesWithTheJobsThatEnded() {
        long id = procq.submit("exit", List.of("0", "0", "0", "3", "10", "11", "12"));
        awaitFinished(id);

        driver.get(procq.baseUrl() + "/#/batches/" + id);
        By buckets = By.cssSelector("#throughput-chart g.bucket");
        eventually().until(() -> driver.findElements(buckets).size() == 60);
        // They ended a moment ago: in the minute in progress, or in the one before if it just turned.
        assertThat(endedIn(buckets, "ok")).isEqualTo(3);
        assertThat(endedIn(buckets, "failed")).isEqualTo(4);
        List<WebElement> all = driver.findElements(buckets);
        WebElement busiest = all.stream().filter(b -> Long.parseLong(b.getAttribute("data-failed")) > 0).findFirst().orElseThrow();
        assertThat(busiest.findElement(By.cssSelector("rect.bar-FAILED")).getRect().getHeight()).as("a drawn bar").isPositive();
        assertThat(all.indexOf(busiest)).isGreaterThanOrEqualTo(58);
        assertThat(all.get(0).findElement(By.cssSelector("rect.bar-OK")).getAttribute("height")).as("an empty minute").isEqualTo("0");
        assertThat(text("#throughput-summary")).startsWith("7 ended (3 OK, 4 FAILED)");

        // The whole queue's, on the batches page: this batch's jobs and any other test's.
        driver.get(procq.baseUrl() + "/#/");
        eventually().until(() -> driver.findElements(buckets).size() == 60);
        assertThat(endedIn(buckets, "ok")).isGreaterThanOrEqualTo(3);
        assertThat(driver.findElement(By.cssSelector("#throughput h2")).getText()).contains("all batches");
    }

    @Test
    void typingInTheSearchBoxNarrowsTheJobsToTheTargetsStartingWithIt() {
        long id = procq.submit("exit", List.of("0", "3", "10", "11", "12", "110"));
        awaitFinished(id);
        driver.get(procq.baseUrl() + "/#/batches/" + id);
        By rows = By.cssSelector("#jobs tbody tr");
        eventually().until(() -> driver.findElements(rows).size() == 6);

        WebElement search = driver.findElement(By.id("job-search"));
        search.sendKeys("1");
        eventually().until(() -> jobTargets().equals(List.of("10", "11", "12", "110")));
        search.sendKeys("1");
        eventually().until(() -> jobTargets().equals(List.of("11", "110")));
        assertThat(driver.getCurrentUrl()).endsWith("#/batches/" + id + "?target=11");
        new Select(driver.findElement(By.id("job-filter"))).selectByValue("FAILED");
        eventually().until(() -> jobTargets().equals(List.of("11", "110")) && driver.getCurrentUrl().endsWith("?state=FAILED&target=11"));
        search.sendKeys("9");
        eventually().until(() -> driver.findElements(rows).isEmpty());
        assertThat(text("#jobs + .empty")).isEqualTo("No job in state FAILED has a target starting with “119”.");
        browser.screenshot("search-none");

        // The address keeps the search: opened afresh, the page shows the same list.
        driver.get(procq.baseUrl() + "/#/batches/" + id + "?target=1");
        driver.navigate().refresh();
        eventually().until(() -> jobTargets().equals(List.of("10", "11", "12", "110")));
        assertThat(driver.findElement(By.id("job-search")).getAttribute("value")).isEqualTo("1");
        driver.findElement(By.id("job-search")).clear();
        driver.findElement(By.id("job-search")).sendKeys(" ");
        driver.findElement(By.id("job-search")).sendKeys(org.openqa.selenium.Keys.BACK_SPACE);
        eventually().until(() -> driver.findElements(rows).size() == 6);

        // A pasted tab is refused by the API: the list says why and the page keeps updating.
        driver.executeScript("const box = document.getElementById('job-search'); box.value = '1\\t'; box.dispatchEvent(new Event('input'));");
        eventually().until(() -> driver.findElement(By.id("job-search-note")).isDisplayed());
        assertThat(text("#job-search-note")).isEqualTo("Not searched: target must not contain control characters (found U+0009 at position 1)");
        assertThat(driver.findElements(rows)).isEmpty();
        assertThat(driver.findElement(By.id("problem")).isDisplayed()).isFalse();
    }

    private static List<String> jobTargets() {
        return driver.findElements(By.cssSelector("#jobs tbody td.target")).stream().map(WebElement::getText).toList();
    }

    private static long endedIn(By buckets, String outcome) {
        return driver.findElements(buckets).stream().mapToLong(b -> Long.parseLong(b.getAttribute("data-" + outcome))).sum();
    }

    private void assertNothingWasInjected() {
        assertThatThrownBy(() -> driver.switchTo().alert()).isInstanceOf(NoAlertPresentException.class);
        assertThat(driver.findElements(By.tagName("img"))).isEmpty();
        assertThat(driver.findElements(By.id("bold"))).isEmpty();
        assertThat(driver.findElements(By.tagName("script"))).hasSize(1);
        assertThat(driver.findElement(By.tagName("script")).getAttribute("src")).endsWith("/app.js");
    }

    private static ConditionFactory eventually() {
        // The page polls every 1.5 s and rows are redrawn, so an element found a moment ago may be gone.
        return await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
                .ignoreExceptionsInstanceOf(WebDriverException.class);
    }

    private static long count(String state) {
        String shown = driver.findElement(By.cssSelector("#batch-counts [data-state='" + state + "'] .n")).getText();
        return Long.parseLong(shown.replaceAll("[^0-9]", ""));
    }

    private static int segmentWidth(String state) {
        return driver.findElement(By.cssSelector("#batch-bar .seg-" + state)).getRect().getWidth();
    }

    private static String text(String css) {
        return driver.findElement(By.cssSelector(css)).getText();
    }

    private static void awaitFinished(long id) {
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(100))
                .until(() -> procq.batch(id).get("state").asText().equals("DONE"));
    }
}

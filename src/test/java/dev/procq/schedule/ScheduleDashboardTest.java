package dev.procq.schedule;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.procq.testing.Chromium;
import dev.procq.testing.PostgresExtension;
import dev.procq.testing.Procq;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.chrome.ChromeDriver;

/** The dashboard's Schedules page in a real headless Chromium, over a real API, worker, scheduler and PostgreSQL. */
class ScheduleDashboardTest {
    @RegisterExtension
    static final PostgresExtension postgres = new PostgresExtension();

    static final String TYPES = """
            types:
              healthcheck:
                command: ["true", "{target}"]
              thumbnail:
                command: ["true", "{target}"]
            """;

    static Chromium browser;
    static Procq procq;

    @BeforeAll
    static void start() throws Exception {
        if (Chromium.unavailable().isPresent()) return;
        browser = Chromium.start();
        procq = new Procq(postgres, TYPES, Map.of("PROCQ_WORKER_METRICS_PORT", "off")).startApi();
        procq.startWorker();
        procq.startScheduler();
    }

    @AfterAll
    static void stop() throws Exception {
        if (procq != null) procq.close();
        if (browser != null) browser.close();
    }

    /** The text of what the selector finds, read again if the page redrew it meanwhile. */
    private static String text(ChromeDriver driver, String css) {
        return await().atMost(Duration.ofSeconds(10)).ignoreExceptions()
                .until(() -> driver.findElement(By.cssSelector(css)).getText(), t -> t != null);
    }

    @Test
    void theSchedulesPageShowsNextRunPoliciesPauseAndLastBatches() throws Exception {
        assumeTrue(browser != null, () -> Chromium.unavailable().orElse("the browser did not start"));
        long health = procq.postJson("/api/v1/schedules", """
                {"name": "health-every-second", "cron": "* * * * * *", "overlap": "skip",
                 "batch": {"type": "healthcheck", "targets": ["https://a.example/", "https://b.example/", "https://c.example/"]}}""")
                .json().get("id").asLong();
        long nightly = procq.postJson("/api/v1/schedules", """
                {"name": "nightly-thumbnails", "cron": "0 2 * * *", "timeZone": "Europe/Berlin", "overlap": "queue-one",
                 "catchUp": "run-once", "paused": true, "batch": {"type": "thumbnail", "targets": ["a.jpg"]}}""").json().get("id").asLong();
        await().atMost(Duration.ofSeconds(30)).until(() ->
                procq.get("/api/v1/schedules/" + health).json().get("lastBatches").size() >= 3);

        ChromeDriver driver = browser.driver();
        driver.manage().window().setSize(new Dimension(1280, 600));
        driver.get(procq.baseUrl() + "/#/schedules");
        By row = By.cssSelector("#schedules tr[data-schedule='" + health + "']");
        await().atMost(Duration.ofSeconds(20)).until(() -> driver.findElements(row).size() == 1
                && driver.findElement(row).findElements(By.cssSelector(".scheduled-batch a")).size() >= 3);

        assertThat(driver.findElement(By.cssSelector("#pages a[aria-current='page']")).getText()).isEqualTo("Schedules");
        // The row of a schedule every second is redrawn as its next run moves: each look finds it afresh.
        String active = "#schedules tr[data-schedule='" + health + "'] ";
        assertThat(text(driver, active + ".cron code")).isEqualTo("* * * * * *");
        assertThat(text(driver, active + ".source")).contains("healthcheck").contains("3 targets");
        assertThat(text(driver, active + ".overlap")).isEqualTo("skip");
        assertThat(text(driver, active + ".state .badge")).isEqualTo("ACTIVE");
        assertThat(text(driver, active + ".next-run")).isNotEqualTo("—");
        String paused = "#schedules tr[data-schedule='" + nightly + "'] ";
        assertThat(text(driver, paused + ".state .badge")).isEqualTo("PAUSED");
        assertThat(text(driver, paused + ".catch-up")).isEqualTo("run-once");
        assertThat(text(driver, paused + ".last-batches")).isEqualTo("none yet");
        assertThat(text(driver, paused + ".cron")).contains("Europe/Berlin");

        Path picture = browser.screenshot("schedules");
        Files.copy(picture, Path.of("docs", "dashboard-schedules.png"), StandardCopyOption.REPLACE_EXISTING);

        // A batch link leads to that batch's page.
        String href = await().atMost(Duration.ofSeconds(10)).ignoreExceptions().until(() -> driver.findElement(
                By.cssSelector(active + ".scheduled-batch a")).getAttribute("href"), h -> h != null);
        assertThat(href).matches(".*#/batches/[0-9]+$");
        driver.get(href);
        await().atMost(Duration.ofSeconds(10)).until(() -> driver.findElements(By.cssSelector("#pages a[aria-current='page']"))
                .stream().anyMatch(a -> a.getText().equals("Batches")));
        assertThat(browser.newPolicyViolations()).as("CSP violations reported by Chromium").isEmpty();
    }
}
